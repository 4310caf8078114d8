//! NF024: a role inherits from a role that does not exist.

use crate::audit::{Findings, Project, Rule, Severity};
use crate::rbac::ErrorKind;

pub static RULE: Rule = Rule {
    id: "NF024",
    name: "rbac-missing-parent",
    severity: Severity::Medium,
    title: "A role inherits from a role that does not exist",
    asvs: &["V4.1.3"],
    docs: "An `inherits` entry naming no role is a typo or a leftover of a removed role. The role then lacks permissions its authors expected it to have, and whoever adds a role by that name later grants them by accident. The generated service refuses such a policy at start.\n\nThe check reads `config/rbac.toml` (only when it exists).",
    fix: "fix the role name in `inherits`, or remove the entry",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    super::report_policy_problems(project, out, ErrorKind::MissingParent);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_an_undefined_parent() {
        let found = TestProject::new()
            .file(
                "config/rbac.toml",
                "permissions = [\"items:write\"]\n[roles.editor]\npermissions = [\"items:write\"]\ninherits = [\"viewr\"]\n",
            )
            .check(&RULE);
        assert_eq!(places(&found), ["config/rbac.toml:4:13"]);
    }

    #[test]
    fn it_is_silent_when_every_parent_exists() {
        let found = TestProject::new()
            .file("config/rbac.toml", "permissions = [\"items:read\", \"items:write\"]\n[roles.editor]\npermissions = [\"items:write\"]\ninherits = [\"viewer\"]\n[roles.viewer]\npermissions = [\"items:read\"]\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
