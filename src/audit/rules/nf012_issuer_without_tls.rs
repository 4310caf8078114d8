//! NF012: the identity provider's issuer is plain `http://` in production.

use crate::audit::formats::env;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF012",
    name: "issuer-without-tls",
    severity: Severity::High,
    title: "The token issuer is reached without TLS in production",
    asvs: &["V9.2.2", "V3.5.3"],
    docs: "The service fetches the identity provider's discovery document and signing keys (JWKS) from AUTH_ISSUER_URL. Over plain `http://`, anyone on the network path can substitute their own keys and mint tokens the service accepts for any user and role.\n\nThe check reads AUTH_ISSUER_URL in committed production configuration: env files named for production (`.env.production`, `.env.prod`) or that set APP_ENV=production, and Dockerfiles and compose files that set APP_ENV=production. Loopback issuers (`localhost`, `127.0.0.1`, `[::1]`) are not reported.",
    fix: "use the issuer's `https://` URL",
    check,
};

/// The host of a URL (`scheme://user@host:port/path`), lowercased.
pub fn url_host(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    Some(host.to_ascii_lowercase())
}

pub fn is_loopback(host: &str) -> bool {
    host.is_empty() || host == "localhost" || host.starts_with("127.") || host == "::1"
}

/// Whether `url` is plain `http://` to a host other than this machine.
pub fn is_remote_http(url: &str) -> bool {
    let plain = url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    plain && !url_host(url).is_some_and(|h| is_loopback(&h))
}

fn check(project: &Project, out: &mut Findings) {
    for (file, assignments) in project.env_sources() {
        if !file.is_production() {
            continue;
        }
        for a in assignments.iter().filter(|a| a.key == env::ISSUER) {
            if is_remote_http(&a.value) {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!(
                        "{} is `{}`, plain HTTP, in production configuration",
                        env::ISSUER,
                        a.value
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
    fn it_fires_on_an_http_issuer_in_production_files() {
        let found = TestProject::new()
            .file(
                ".env.production",
                "AUTH_ISSUER_URL=http://sso.example.com/realms/app\n",
            )
            .file(
                "deploy/app.env",
                "APP_ENV=production\nAUTH_ISSUER_URL=HTTP://sso.example.com\n",
            )
            .check(&RULE);
        assert_eq!(places(&found), [".env.production:1:17"]);
        let found = TestProject::new()
            .file(
                "deploy/.env.eu",
                "APP_ENV=production\nAUTH_ISSUER_URL=HTTP://sso.example.com\n",
            )
            .check(&RULE);
        assert_eq!(places(&found), ["deploy/.env.eu:2:17"]);
    }

    #[test]
    fn it_is_silent_for_https_development_and_loopback_issuers() {
        let found = TestProject::new()
            .file(
                ".env.production",
                "AUTH_ISSUER_URL=https://sso.example.com/realms/app\n",
            )
            .file(
                ".env.example",
                "APP_ENV=development\nAUTH_ISSUER_URL=http://localhost:8081/realms/app\n",
            )
            .file(
                ".env.prod",
                "AUTH_ISSUER_URL=http://127.0.0.1:8081/realms/app\n",
            )
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
