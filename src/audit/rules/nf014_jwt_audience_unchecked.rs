//! NF014: the JWT audience check is disabled.

use super::jwt;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF014",
    name: "jwt-audience-unchecked",
    severity: Severity::High,
    title: "The JWT audience check is disabled",
    asvs: &["V3.5.3"],
    docs: "An identity provider issues tokens for many clients and APIs. Without the audience check, a token issued to any other application of the same provider (a low-privilege front end, a third-party integration) is accepted by this service as if it were meant for it.\n\nThe check reads the service's Rust sources (not tests, not `#[cfg(test)]` code) for jsonwebtoken's `validate_aud = false`.",
    fix: "keep `validate_aud` on and set the expected audience (`validation.set_audience(&[audience])`) from AUTH_AUDIENCE",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    jwt::report_disabled(
        project,
        out,
        "validate_aud",
        "the audience (`aud`) of tokens is not checked",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_when_validate_aud_is_turned_off() {
        let found = TestProject::new()
            .file("src/auth/jwt.rs", "fn v() -> Validation {\n    let mut v = Validation::new(Algorithm::RS256);\n    v.validate_aud = false;\n    v\n}\n")
            .check(&RULE);
        assert_eq!(places(&found), ["src/auth/jwt.rs:3:7"]);
    }

    #[test]
    fn it_is_silent_when_the_audience_is_checked_or_only_tests_turn_it_off() {
        let found = TestProject::new()
            .file("src/auth/jwt.rs", "fn v(aud: &str) { let mut v = Validation::new(Algorithm::RS256); v.set_audience(&[aud]); assert!(v.validate_aud == true); }\n// v.validate_aud = false;\n")
            .file("tests/api/auth.rs", "v.validate_aud = false;\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
