//! NF028: an `[audit] allow` entry has no reason. Reported by the
//! suppression pass (`audit::suppress`), not by a check of its own.

use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF028",
    name: "suppression-without-reason",
    severity: Severity::Medium,
    title: "A suppression has no reason",
    asvs: &["V1.1.2"],
    docs: "An entry of `[audit] allow` in `nestflux.toml` accepts a finding on purpose, and the reason is what a reviewer checks: \"TLS ends at the load balancer\", \"turned off at `nestflux new`\". An entry without a reason (or with a blank one) suppresses nothing, so the finding it names is still reported, and the entry is reported too.",
    fix: "add `reason = \"…\"` to the entry, saying why the finding is acceptable, or remove the entry",
    check,
};

fn check(_: &Project, _: &mut Findings) {}

#[cfg(test)]
mod tests {
    use crate::audit::testing::{ALL_FEATURES_TOML, TestProject, places};
    use crate::audit::{Audit, Severity};

    #[test]
    fn it_fires_on_an_entry_without_a_reason_which_then_suppresses_nothing() {
        let toml = ALL_FEATURES_TOML.replace("\"headers\", ", "").replace(
            "allow = []",
            "allow = [\n  { rule = \"NF001\" },\n  { rule = \"NF001\", reason = \" \" },\n]",
        );
        let project = TestProject::new()
            .file("nestflux.toml", &toml)
            .file(".gitignore", ".env\n")
            .load();
        let audit = Audit::run(&project, crate::audit::Date::parse("2030-01-01").unwrap());
        let ids: Vec<_> = audit.findings.iter().map(|f| f.rule.id).collect();
        assert_eq!(ids, ["NF001", "NF028", "NF028"]);
        assert_eq!(
            places(&audit.findings[1..]),
            ["nestflux.toml:11:3", "nestflux.toml:12:3"]
        );
        assert!(!audit.passes(Severity::Medium));
    }

    #[test]
    fn it_is_silent_for_an_entry_with_a_reason() {
        let toml = ALL_FEATURES_TOML.replace("\"headers\", ", "").replace(
            "allow = []",
            "allow = [{ rule = \"NF001\", reason = \"a proxy sets them\" }]",
        );
        let project = TestProject::new()
            .file("nestflux.toml", &toml)
            .file(".gitignore", ".env\n")
            .load();
        let audit = Audit::run(&project, crate::audit::Date::parse("2030-01-01").unwrap());
        assert!(audit.findings.is_empty(), "{:?}", places(&audit.findings));
        assert_eq!(audit.suppressed[0].reason, "a proxy sets them");
    }
}
