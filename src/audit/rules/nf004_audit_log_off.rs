//! NF004: The audit log is turned off.

use crate::answers::Feature;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF004",
    name: "audit-log-off",
    severity: Severity::Medium,
    title: "The audit log is turned off",
    asvs: &["V7.1.3", "V7.2.2"],
    docs: "The `audit-log` feature is not in `features` in `nestflux.toml`. Without it, security events (authentication failures, access-control denials, changes to data) are not recorded as structured audit events, so an incident cannot be reconstructed and an attack in progress is not visible.\n\nThe check reads `features` in `nestflux.toml`.",
    fix: "add \"audit-log\" to `features` in `nestflux.toml`",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    super::check_feature_on(project, out, Feature::AuditLog);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{ALL_FEATURES_TOML, TestProject, places};

    #[test]
    fn it_fires_when_the_feature_is_missing_from_nestflux_toml() {
        let toml = ALL_FEATURES_TOML
            .replace("\"audit-log\", ", "")
            .replace(", \"audit-log\"", "");
        let found = TestProject::new().file("nestflux.toml", &toml).check(&RULE);
        assert_eq!(places(&found), ["nestflux.toml:7:12"]);
    }

    #[test]
    fn it_is_silent_when_the_feature_is_on() {
        assert!(TestProject::new().check(&RULE).is_empty());
    }
}
