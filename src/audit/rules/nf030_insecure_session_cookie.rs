//! NF030: browser-session cookies can travel without TLS in production.

use super::nf012_issuer_without_tls::is_remote_http;
use crate::audit::formats::env;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF030",
    name: "insecure-session-cookie",
    severity: Severity::High,
    title: "Session cookies can travel without TLS in production",
    asvs: &["V3.4.1", "V3.4.4"],
    docs: "With the `session` feature a browser holds a session cookie that is as good as the user's tokens. `COOKIE_SECURE=false` drops the cookie's `Secure` attribute and its `__Host-` prefix, so the browser also sends it over plain `http://` and a sibling subdomain can overwrite it; a `PUBLIC_BASE_URL` on `http://` sends the whole login over plain HTTP. Both are for a developer's machine only (the service refuses them at start with APP_ENV=production, so this rule catches the configuration before a deployment fails).\n\nThe check reads COOKIE_SECURE and PUBLIC_BASE_URL in committed production configuration: env files named for production (`.env.production`, `.env.prod`) or that set APP_ENV=production, and Dockerfiles and compose files that set APP_ENV=production. Loopback addresses (`localhost`, `127.0.0.1`, `[::1]`) are not reported.",
    fix: "remove COOKIE_SECURE (it defaults to `true`) and serve PUBLIC_BASE_URL over `https://`",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    for (file, assignments) in project.env_sources() {
        if !file.is_production() {
            continue;
        }
        for a in &assignments {
            if a.key == env::COOKIE_SECURE && a.value.trim().eq_ignore_ascii_case("false") {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!(
                        "{}=false drops the session cookie's Secure attribute in production configuration",
                        env::COOKIE_SECURE
                    ),
                );
            }
            if a.key == env::PUBLIC_BASE_URL && is_remote_http(&a.value) {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!(
                        "{} is `{}`, plain HTTP, in production configuration",
                        env::PUBLIC_BASE_URL,
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
    fn it_fires_on_insecure_cookies_or_an_http_base_url_in_production() {
        let found = TestProject::new()
            .file(
                ".env.production",
                "COOKIE_SECURE=false\nPUBLIC_BASE_URL=http://app.example.com\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&found),
            [".env.production:1:15", ".env.production:2:17"]
        );
    }

    #[test]
    fn it_is_silent_in_development_on_loopback_and_with_https() {
        let found = TestProject::new()
            .file(
                ".env.example",
                "APP_ENV=development\nCOOKIE_SECURE=false\nPUBLIC_BASE_URL=http://app.example.com\n",
            )
            .file(
                ".env.prod",
                "COOKIE_SECURE=true\nPUBLIC_BASE_URL=https://app.example.com\n",
            )
            .file(
                "deploy/local.env",
                "APP_ENV=production\nPUBLIC_BASE_URL=http://localhost:8080\n",
            )
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
