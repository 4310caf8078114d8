//! NF029: an `[audit] allow` entry is past its `expires` date. Reported by
//! the suppression pass (`audit::suppress`), not by a check of its own.

use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF029",
    name: "suppression-expired",
    severity: Severity::Medium,
    title: "A suppression has expired",
    asvs: &["V1.1.2"],
    docs: "`expires = \"YYYY-MM-DD\"` makes a suppression temporary: a risk accepted until a fix lands. From the day after that date the entry suppresses nothing, so the finding it names is reported again, and the entry is reported too, so that someone decides: fix the finding, or renew the suppression with a new date and a reason that still holds.",
    fix: "fix the finding and remove the entry, or set a new `expires` date if the reason still holds",
    check,
};

fn check(_: &Project, _: &mut Findings) {}

#[cfg(test)]
mod tests {
    use crate::audit::Audit;
    use crate::audit::Date;
    use crate::audit::testing::{ALL_FEATURES_TOML, TestProject, places};

    fn audit_on(today: &str) -> Audit {
        let toml = ALL_FEATURES_TOML.replace("\"headers\", ", "").replace(
            "allow = []",
            "allow = [{ rule = \"NF001\", reason = \"until the proxy lands\", expires = \"2027-03-31\" }]",
        );
        let project = TestProject::new()
            .file("nestflux.toml", &toml)
            .file(".gitignore", ".env\n")
            .load();
        Audit::run(&project, Date::parse(today).unwrap())
    }

    #[test]
    fn it_fires_after_the_date_and_the_finding_comes_back() {
        let audit = audit_on("2027-04-01");
        let ids: Vec<_> = audit.findings.iter().map(|f| f.rule.id).collect();
        assert_eq!(ids, ["NF001", "NF029"]);
        assert_eq!(places(&audit.findings[1..]), ["nestflux.toml:10:10"]);
        assert!(audit.findings[1].message.contains("expired on 2027-03-31"));
    }

    #[test]
    fn it_is_silent_up_to_and_on_the_date() {
        let audit = audit_on("2027-03-31");
        assert!(audit.findings.is_empty(), "{:?}", places(&audit.findings));
        assert_eq!(audit.suppressed.len(), 1);
    }
}
