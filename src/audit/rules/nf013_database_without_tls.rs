//! NF013: the database is reached without TLS in production.

use super::nf012_issuer_without_tls::{is_loopback, url_host};
use crate::audit::formats::env;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF013",
    name: "database-without-tls",
    severity: Severity::Medium,
    title: "The database is reached without TLS in production",
    asvs: &["V9.2.2"],
    docs: "Without TLS, the database password and every row travel in clear text between the service and a networked database. sqlx's default for PostgreSQL (`sslmode=prefer`) silently falls back to plain text, so TLS must be required explicitly.\n\nThe check reads DATABASE_URL in committed production configuration (as NF012 defines it). A PostgreSQL URL passes with `sslmode=require`, `verify-ca` or `verify-full`; a MySQL or MariaDB URL with `ssl-mode=required`, `verify_ca` or `verify_identity`. SQLite files, Unix sockets and loopback hosts are not reported.",
    fix: "require TLS in the URL, e.g. `postgres://app@db.internal/app?sslmode=verify-full` (with the server's CA available to the service)",
    check,
};

fn tls_required(url: &str) -> Option<bool> {
    let lower = url.to_ascii_lowercase();
    let scheme = lower.split("://").next()?;
    let query = lower.split_once('?').map_or("", |(_, q)| q);
    let param = |names: &[&str]| {
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            names.contains(&k).then(|| v.to_owned())
        })
    };
    match scheme {
        "postgres" | "postgresql" => Some(
            param(&["sslmode"])
                .is_some_and(|v| matches!(v.as_str(), "require" | "verify-ca" | "verify-full")),
        ),
        "mysql" | "mariadb" => {
            Some(param(&["ssl-mode", "sslmode"]).is_some_and(|v| {
                matches!(v.as_str(), "required" | "verify_ca" | "verify_identity")
            }))
        }
        _ => None, // sqlite and others: no network
    }
}

fn check(project: &Project, out: &mut Findings) {
    for (file, assignments) in project.env_sources() {
        if !file.is_production() {
            continue;
        }
        for a in assignments.iter().filter(|a| a.key == env::DATABASE_URL) {
            let local = url_host(&a.value).is_none_or(|h| is_loopback(&h));
            if tls_required(&a.value) == Some(false) && !local {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!(
                        "{} does not require TLS in production configuration",
                        env::DATABASE_URL
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_a_networked_database_without_required_tls() {
        let found = TestProject::new()
            .file(
                ".env.production",
                "DATABASE_URL=postgres://app@db.internal:5432/app\n",
            )
            .file(
                "deploy/.env.prod",
                "DATABASE_URL=postgres://app@db.internal/app?sslmode=prefer\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&found),
            [".env.production:1:14", "deploy/.env.prod:1:14"]
        );
    }

    #[test]
    fn it_is_silent_for_tls_sqlite_loopback_and_development() {
        let found = TestProject::new()
            .file(
                ".env.production",
                "DATABASE_URL=postgres://app@db.internal/app?sslmode=verify-full\n",
            )
            .file(
                ".env.prod",
                "DATABASE_URL=sqlite:///app/data/app.db?mode=rwc\n",
            )
            .file(
                "deploy/.env.production",
                "DATABASE_URL=postgres://app@localhost/app\n",
            )
            .file(
                ".env.example",
                "DATABASE_URL=postgres://app@db.internal/app\n",
            )
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
