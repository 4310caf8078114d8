//! NF003: The CORS allowlist is turned off.

use crate::answers::Feature;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF003",
    name: "cors-off",
    severity: Severity::Low,
    title: "The CORS allowlist is turned off",
    asvs: &["V14.5.3"],
    docs: "The `cors` feature is not in `features` in `nestflux.toml`. Without it the service sends no CORS headers, so browsers refuse every cross-origin call: the strictest setting, which is why this finding is only low. It is reported because teams that later need a browser front end on another origin tend to bolt on a permissive layer (`CorsLayer::permissive()`) instead of an exact-origin allowlist, which rules NF006 and NF007 then catch.\n\nThe check reads `features` in `nestflux.toml`.",
    fix: "add \"cors\" to `features` in `nestflux.toml` and list exact origins in CORS_ALLOWED_ORIGINS; if no browser on another origin will ever call the API, suppress this finding with that reason",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    super::check_feature_on(project, out, Feature::Cors);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{ALL_FEATURES_TOML, TestProject, places};

    #[test]
    fn it_fires_when_the_feature_is_missing_from_nestflux_toml() {
        let toml = ALL_FEATURES_TOML
            .replace("\"cors\", ", "")
            .replace(", \"cors\"", "");
        let found = TestProject::new().file("nestflux.toml", &toml).check(&RULE);
        assert_eq!(places(&found), ["nestflux.toml:7:12"]);
    }

    #[test]
    fn it_is_silent_when_the_feature_is_on() {
        assert!(TestProject::new().check(&RULE).is_empty());
    }
}
