//! NF005: Encryption at rest is turned off.

use crate::answers::Feature;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF005",
    name: "encryption-off",
    severity: Severity::Medium,
    title: "Encryption at rest is turned off",
    asvs: &["V6.1.1"],
    docs: "The `encryption` feature is not in `features` in `nestflux.toml`. Without it, sensitive fields (the `notes` of an item, and whatever you mark sensitive) are stored in plain text: a copied database file or backup discloses them.\n\nThe check reads `features` in `nestflux.toml`.",
    fix: "add \"encryption\" to `features` in `nestflux.toml` and set DATA_ENCRYPTION_KEYS; if the data holds nothing sensitive, suppress this finding with that reason",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    super::check_feature_on(project, out, Feature::Encryption);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{ALL_FEATURES_TOML, TestProject, places};

    #[test]
    fn it_fires_when_the_feature_is_missing_from_nestflux_toml() {
        let toml = ALL_FEATURES_TOML
            .replace("\"encryption\", ", "")
            .replace(", \"encryption\"", "");
        let found = TestProject::new().file("nestflux.toml", &toml).check(&RULE);
        assert_eq!(places(&found), ["nestflux.toml:7:12"]);
    }

    #[test]
    fn it_is_silent_when_the_feature_is_on() {
        assert!(TestProject::new().check(&RULE).is_empty());
    }
}
