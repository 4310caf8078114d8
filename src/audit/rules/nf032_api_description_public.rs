//! NF032: production settings serve the API description to anyone.

use crate::audit::formats::env;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF032",
    name: "api-description-public",
    severity: Severity::Low,
    title: "The API description is served in production",
    asvs: &["V14.3.2"],
    docs: "The generated service describes its API in OpenAPI 3.1: every route, its parameters and bodies, the permission it needs. `GET /openapi.json` serves that description in development, and in production only with OPENAPI_PUBLIC=true. A public description maps the whole API, its guarded routes included, for whoever asks: an attacker's first reconnaissance step done for them. It is a choice for a public API whose clients read it; a private API ships the committed `openapi.json` to its clients instead (`<binary> openapi` prints it).\n\nThe check reads OPENAPI_PUBLIC in committed production configuration: env files named for production (`.env.production`, `.env.prod`) or that set APP_ENV=production, and Dockerfiles and compose files that set APP_ENV=production.",
    fix: "remove OPENAPI_PUBLIC=true from production settings and give clients the committed openapi.json, or suppress this finding with the reason the API is public",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    for (file, assignments) in project.env_sources() {
        if !file.is_production() {
            continue;
        }
        for a in assignments.iter().filter(|a| a.key == env::OPENAPI_PUBLIC) {
            if a.value.trim() == "true" {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!(
                        "{}=true in production configuration: the API description is served to anyone",
                        env::OPENAPI_PUBLIC
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
    fn it_fires_when_production_settings_publish_the_description() {
        let found = TestProject::new()
            .file(".env.production", "OPENAPI_PUBLIC=true\n")
            .file(
                "Dockerfile",
                "FROM scratch\nENV APP_ENV=production\nENV OPENAPI_PUBLIC=true\n",
            )
            .check(&RULE);
        assert_eq!(places(&found), [".env.production:1:16", "Dockerfile:3:20"]);
    }

    #[test]
    fn it_is_silent_in_development_and_when_switched_off() {
        let found = TestProject::new()
            .file(".env.production", "OPENAPI_PUBLIC=false\n")
            .file(".env.example", "APP_ENV=development\nOPENAPI_PUBLIC=true\n")
            .file("deploy/.env.eu", "APP_ENV=production\nOPENAPI_PUBLIC=\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
