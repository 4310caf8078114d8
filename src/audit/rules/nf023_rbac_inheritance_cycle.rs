//! NF023: RBAC roles inherit from each other in a cycle.

use crate::audit::{Findings, Project, Rule, Severity};
use crate::rbac::ErrorKind;

pub static RULE: Rule = Rule {
    id: "NF023",
    name: "rbac-inheritance-cycle",
    severity: Severity::Medium,
    title: "RBAC roles inherit from each other in a cycle",
    asvs: &["V4.1.3"],
    docs: "Inheritance is meant to be a hierarchy: `admin` inherits `editor`, `editor` inherits `viewer`. A cycle (`editor` → `viewer` → `editor`) makes every role in it hold the permissions of all the others, which is rarely what was meant, and it stops the generated service from starting.\n\nThe check reads `config/rbac.toml` (only when it exists) and reports each cycle once, at the `inherits` entry of its first role.",
    fix: "remove one `inherits` entry of the cycle so that roles form a hierarchy",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    super::report_policy_problems(project, out, ErrorKind::Cycle);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_once_per_cycle() {
        let found = TestProject::new()
            .file("config/rbac.toml", "permissions = [\"items:read\", \"items:write\", \"a:b\"]\n[roles.editor]\npermissions = [\"items:write\"]\ninherits = [\"viewer\"]\n[roles.viewer]\npermissions = [\"items:read\"]\ninherits = [\"editor\"]\n[roles.self]\npermissions = [\"a:b\"]\ninherits = [\"self\"]\n")
            .check(&RULE);
        assert_eq!(
            places(&found),
            ["config/rbac.toml:4:13", "config/rbac.toml:10:13"]
        );
        assert!(
            found[0].message.contains("editor → viewer → editor"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn it_is_silent_for_a_hierarchy() {
        let found = TestProject::new()
            .file("config/rbac.toml", "permissions = [\"items:read\", \"items:write\"]\n[roles.admin]\npermissions = [\"*\"]\ninherits = [\"editor\"]\n[roles.editor]\npermissions = [\"items:write\"]\ninherits = [\"viewer\"]\n[roles.viewer]\npermissions = [\"items:read\"]\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
