//! NF007: CORS allows any origin together with credentials.

use crate::audit::scan::find_word;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF007",
    name: "cors-wildcard-with-credentials",
    severity: Severity::Critical,
    title: "CORS allows any origin together with credentials",
    asvs: &["V14.5.3"],
    docs: "Reflecting any origin while allowing credentials lets every web site make authenticated calls to the API with the visitor's cookies or HTTP authentication, and read the answers: a full cross-site account takeover for anything cookie-based.\n\nThe generated service never allows credentials (callers send bearer tokens, which CORS credentials do not cover) and accepts only exact origins from CORS_ALLOWED_ORIGINS, so this can only come from code added to it. The check reads the service's Rust sources for tower-http's `CorsLayer::very_permissive()` (which does both) or `allow_credentials(true)` in a file that also mirrors or allows any origin.",
    fix: "allow credentials only with an exact-origin allowlist, or drop credentials: the service authenticates with bearer tokens, which CORS credentials do not cover",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    for source in project.rust_sources() {
        let code = &source.code;
        if !code.contains("permissive") && !code.contains("allow_credentials") {
            continue;
        }
        for at in find_word(code, "very_permissive") {
            out.add(
                &source.path,
                source.at(at),
                "`CorsLayer::very_permissive()` mirrors any origin and allows credentials",
            );
        }
        if !code.contains("allow_credentials") {
            continue;
        }
        let compact = code.replace(' ', "");
        let any_origin = ["mirror_request", "AllowOrigin::any", "allow_origin(Any)"]
            .iter()
            .any(|p| compact.contains(p));
        if any_origin {
            for at in find_word(code, "allow_credentials") {
                if code[at..]
                    .replace(' ', "")
                    .starts_with("allow_credentials(true)")
                {
                    out.add(
                        &source.path,
                        source.at(at),
                        "`allow_credentials(true)` with an origin policy that accepts any origin",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_a_wildcard_origin_with_credentials() {
        let found = TestProject::new()
            .file(
                "src/cors.rs",
                "let c = CorsLayer::new()\n    .allow_origin(AllowOrigin::mirror_request())\n    .allow_credentials(true);\n",
            )
            .check(&RULE);
        assert_eq!(places(&found), ["src/cors.rs:3:6"]);
    }

    #[test]
    fn it_is_silent_for_credentials_with_exact_origins() {
        let found = TestProject::new()
            .file(
                "src/cors.rs",
                "CorsLayer::new().allow_origin(origins).allow_credentials(true);\n",
            )
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
