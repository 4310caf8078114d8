//! NF031: production settings point the token issuer at this machine.

use super::nf012_issuer_without_tls::{is_loopback, url_host};
use crate::audit::formats::env;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF031",
    name: "issuer-on-loopback",
    severity: Severity::High,
    title: "The token issuer is on loopback in production settings",
    asvs: &["V14.3.2", "V3.5.3"],
    docs: "AUTH_ISSUER_URL names the identity provider whose keys the service trusts. A loopback issuer (`localhost`, `127.0.0.1`, `[::1]`) is a development setup: the Keycloak or Authentik of compose.yaml, or `nestflux dev`'s provider, which signs a token for anyone who has a test user's password. In production it means that whatever listens on that port of the server, such a development provider or any local process, can mint tokens the service accepts for any user and role; or, with nothing there, that no token is ever accepted.\n\nThe check reads AUTH_ISSUER_URL in committed production configuration: env files named for production (`.env.production`, `.env.prod`) or that set APP_ENV=production, and Dockerfiles and compose files that set APP_ENV=production, over http and https alike (NF012 reports plain http to other hosts). The generated service refuses the same hosts at start with APP_ENV=production (`src/config/auth.rs`); this rule finds them in committed settings before a deployment does.",
    fix: "set AUTH_ISSUER_URL to the production identity provider's `https://` issuer",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    for (file, assignments) in project.env_sources() {
        if !file.is_production() {
            continue;
        }
        for a in assignments.iter().filter(|a| a.key == env::ISSUER) {
            let on_loopback = url_host(&a.value).is_some_and(|h| !h.is_empty() && is_loopback(&h));
            if on_loopback {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!(
                        "{} is `{}`, this machine, in production configuration: a development identity provider",
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
    fn it_fires_on_a_loopback_issuer_in_production_files() {
        let found = TestProject::new()
            .file(
                ".env.production",
                "AUTH_ISSUER_URL=http://localhost:8180/realms/app\n",
            )
            .file(
                "deploy/.env.eu",
                "APP_ENV=production\nAUTH_ISSUER_URL=https://127.0.0.1:8443/realms/app\n",
            )
            .file(
                "Dockerfile",
                "FROM scratch\nENV APP_ENV=production\nENV AUTH_ISSUER_URL=http://[::1]:8190\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                ".env.production:1:17",
                "Dockerfile:3:21",
                "deploy/.env.eu:2:17"
            ]
        );
    }

    #[test]
    fn it_is_silent_for_remote_issuers_and_development_files() {
        let found = TestProject::new()
            .file(
                ".env.production",
                "AUTH_ISSUER_URL=https://sso.example.com/realms/app\n",
            )
            .file(
                ".env.example",
                "APP_ENV=development\nAUTH_ISSUER_URL=http://localhost:8180/realms/app\n",
            )
            .file(
                "deploy/staging.env",
                "AUTH_ISSUER_URL=http://localhost:8190\n",
            )
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
