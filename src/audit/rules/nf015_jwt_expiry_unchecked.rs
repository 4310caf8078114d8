//! NF015: the JWT expiry check is disabled.

use super::jwt;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF015",
    name: "jwt-expiry-unchecked",
    severity: Severity::High,
    title: "The JWT expiry check is disabled",
    asvs: &["V3.5.3"],
    docs: "Access tokens are short-lived so that a leaked one (from a log, a proxy, a browser extension) stops working within minutes. Without the expiry check, every token ever issued works forever.\n\nThe check reads the service's Rust sources (not tests) for jsonwebtoken's `validate_exp = false`.",
    fix: "keep `validate_exp` on (jsonwebtoken's default) and keep `exp` among the required claims",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    jwt::report_disabled(
        project,
        out,
        "validate_exp",
        "the expiry (`exp`) of tokens is not checked",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_when_validate_exp_is_turned_off() {
        let found = TestProject::new()
            .file(
                "src/auth.rs",
                "let mut v = Validation::default();\nv.validate_exp=false;\n",
            )
            .check(&RULE);
        assert_eq!(places(&found), ["src/auth.rs:2:3"]);
    }

    #[test]
    fn it_is_silent_when_expiry_is_checked() {
        let found = TestProject::new()
            .file("src/auth.rs", "let mut v = Validation::default();\nv.validate_exp = true;\nv.validate_nbf = false;\n")
            .file("src/lib.rs", "#[cfg(test)]\nmod tests {\n    fn expired() { let mut v = Validation::default(); v.validate_exp = false; }\n}\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
