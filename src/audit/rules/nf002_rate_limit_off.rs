//! NF002: Rate limiting is turned off.

use crate::answers::Feature;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF002",
    name: "rate-limit-off",
    severity: Severity::Medium,
    title: "Rate limiting is turned off",
    asvs: &["V11.1.4"],
    docs: "The `rate-limit` feature is not in `features` in `nestflux.toml`. Without it, one client can send requests as fast as the network allows: credential stuffing against anything that checks secrets, scraping of whole collections, and exhaustion of the database or CPU.\n\nThe check reads `features` in `nestflux.toml`.",
    fix: "add \"rate-limit\" to `features` in `nestflux.toml`; if a gateway in front of the service limits rates, suppress this finding with that reason",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    super::check_feature_on(project, out, Feature::RateLimit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{ALL_FEATURES_TOML, TestProject, places};

    #[test]
    fn it_fires_when_the_feature_is_missing_from_nestflux_toml() {
        let toml = ALL_FEATURES_TOML
            .replace("\"rate-limit\", ", "")
            .replace(", \"rate-limit\"", "");
        let found = TestProject::new().file("nestflux.toml", &toml).check(&RULE);
        assert_eq!(places(&found), ["nestflux.toml:7:12"]);
    }

    #[test]
    fn it_is_silent_when_the_feature_is_on() {
        assert!(TestProject::new().check(&RULE).is_empty());
    }
}
