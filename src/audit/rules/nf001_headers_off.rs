//! NF001: Security headers are turned off.

use crate::answers::Feature;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF001",
    name: "headers-off",
    severity: Severity::Medium,
    title: "Security headers are turned off",
    asvs: &["V14.4.3", "V14.4.4", "V14.4.5", "V14.4.7"],
    docs: "The `headers` feature is not in `features` in `nestflux.toml`. Without it, responses carry none of the headers browsers use to protect users: Content-Security-Policy, X-Content-Type-Options: nosniff, Strict-Transport-Security, Referrer-Policy and frame-ancestors / X-Frame-Options. An API answering JSON is less exposed than an HTML site, but any response a browser renders (an error page, a file) can then be framed, sniffed as HTML or loaded over plain HTTP.\n\nThe check reads `features` in `nestflux.toml`.",
    fix: "add \"headers\" to `features` in `nestflux.toml`; if the service sits behind a proxy that sets these headers, suppress this finding in `[audit] allow` with that reason",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    super::check_feature_on(project, out, Feature::Headers);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{ALL_FEATURES_TOML, TestProject, places};

    #[test]
    fn it_fires_when_the_feature_is_missing_from_nestflux_toml() {
        let toml = ALL_FEATURES_TOML
            .replace("\"headers\", ", "")
            .replace(", \"headers\"", "");
        let found = TestProject::new().file("nestflux.toml", &toml).check(&RULE);
        assert_eq!(places(&found), ["nestflux.toml:7:12"]);
    }

    #[test]
    fn it_is_silent_when_the_feature_is_on() {
        assert!(TestProject::new().check(&RULE).is_empty());
    }
}
