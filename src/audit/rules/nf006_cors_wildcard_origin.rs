//! NF006: CORS allows any origin, or the `null` origin.

use crate::audit::formats::env;
use crate::audit::scan::find_word;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF006",
    name: "cors-wildcard-origin",
    severity: Severity::High,
    title: "CORS allows any origin or the `null` origin",
    asvs: &["V14.5.3"],
    docs: "CORS must name the exact origins that may call the API from a browser. `*` lets every web site read the API's responses with the user's network position (intranet APIs, IP-based trust), and the `null` origin is sent by sandboxed iframes and local files, which any attacker can produce.\n\nThe check reads CORS_ALLOWED_ORIGINS in committed env files, Dockerfiles and compose files (`*` or `null` among the origins), and the service's Rust sources (not tests) for tower-http's `CorsLayer::permissive()`, `CorsLayer::very_permissive()`, `AllowOrigin::any()`, `AllowOrigin::mirror_request()` and `allow_origin(Any)`.",
    fix: "list the exact origins, comma-separated, e.g. CORS_ALLOWED_ORIGINS=https://app.example.com; never `*` or `null`",
    check,
};

/// tower-http calls that accept every origin.
pub const PERMISSIVE_CALLS: &[&str] = &[
    "CorsLayer::permissive",
    "CorsLayer::very_permissive",
    "AllowOrigin::any",
    "AllowOrigin::mirror_request",
    "allow_origin(Any)",
    "allow_origin(cors::Any)",
    "allow_origin(tower_http::cors::Any)",
];

/// The origins in a CORS_ALLOWED_ORIGINS value that are `*` or `null`, with
/// their byte offset in the value.
fn open_origins(value: &str) -> Vec<(usize, &str)> {
    let mut offset = 0;
    let mut out = Vec::new();
    for part in value.split(',') {
        let origin = part.trim();
        if origin == "*" || origin.eq_ignore_ascii_case("null") {
            out.push((offset + part.find(origin).unwrap_or(0), origin));
        }
        offset += part.len() + 1;
    }
    out
}

fn check(project: &Project, out: &mut Findings) {
    for (file, assignments) in project.env_sources() {
        for a in assignments.iter().filter(|a| a.key == env::CORS_ORIGINS) {
            for (offset, origin) in open_origins(&a.value) {
                out.add(
                    &file.path,
                    (a.line, a.value_column + a.value[..offset].chars().count()),
                    format!("{} allows the origin `{origin}`", env::CORS_ORIGINS),
                );
            }
        }
    }
    for source in project.rust_sources() {
        let compact = &source.code;
        if !compact.contains("permissive")
            && !compact.contains("Any")
            && !compact.contains("mirror_request")
        {
            continue;
        }
        for call in PERMISSIVE_CALLS {
            let word = call.split('(').next().unwrap_or(call);
            for at in find_word(compact, word) {
                if call.contains('(') && !compact[at..].replace(' ', "").starts_with(call) {
                    continue;
                }
                out.add(
                    &source.path,
                    source.at(at),
                    format!("`{call}` accepts every origin"),
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
    fn it_fires_on_a_wildcard_or_null_origin_in_an_env_file_and_permissive_layers_in_code() {
        let found = TestProject::new()
            .file(
                ".env.example",
                "CORS_ALLOWED_ORIGINS=https://a.example, *\n",
            )
            .file("deploy/.env.staging", "CORS_ALLOWED_ORIGINS=null\n")
            .file(
                "src/startup.rs",
                "fn cors() -> CorsLayer {\n    CorsLayer::permissive()\n}\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                ".env.example:1:41",
                "deploy/.env.staging:1:22",
                "src/startup.rs:2:5"
            ]
        );
    }

    #[test]
    fn it_is_silent_for_exact_origins_and_test_code() {
        let found = TestProject::new()
            .file(
                ".env.example",
                "CORS_ALLOWED_ORIGINS=https://app.example.com,https://admin.example.com\n",
            )
            .file(
                "src/startup.rs",
                "#[cfg(test)]\nmod tests { fn f() { CorsLayer::permissive(); } }\n",
            )
            .file("tests/api/cors.rs", "CorsLayer::permissive()")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
