//! NF023: RBAC roles inherit from each other in a cycle.

use crate::audit::project::RbacPolicy;
use crate::audit::{Findings, Project, Rule, Severity};

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

/// A path of roles from `start` back to `start`, if there is one.
fn cycle_from(policy: &RbacPolicy, start: &str) -> Option<Vec<String>> {
    fn visit(policy: &RbacPolicy, start: &str, at: &str, path: &mut Vec<String>) -> bool {
        let Some(role) = policy.role(at) else {
            return false;
        };
        for parent in &role.inherits {
            if parent.value == start {
                path.push(parent.value.clone());
                return true;
            }
            if path.contains(&parent.value) {
                continue;
            }
            path.push(parent.value.clone());
            if visit(policy, start, &parent.value, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.to_owned()];
    visit(policy, start, start, &mut path).then_some(path)
}

fn check(project: &Project, out: &mut Findings) {
    let Some(policy) = &project.rbac else { return };
    let mut reported: Vec<Vec<String>> = Vec::new();
    for role in &policy.roles {
        let Some(cycle) = cycle_from(policy, &role.name) else {
            continue;
        };
        let mut members = cycle.clone();
        members.sort();
        members.dedup();
        if reported.contains(&members) {
            continue;
        }
        reported.push(members);
        let first = role
            .inherits
            .iter()
            .find(|p| p.value == cycle[1])
            .map_or(role.at, |p| p.at);
        out.add(
            &policy.path,
            first,
            format!("roles inherit in a cycle: {}", cycle.join(" → ")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_once_per_cycle() {
        let found = TestProject::new()
            .file("config/rbac.toml", "[roles.editor]\npermissions = [\"items:write\"]\ninherits = [\"viewer\"]\n[roles.viewer]\npermissions = [\"items:read\"]\ninherits = [\"editor\"]\n[roles.self]\npermissions = [\"a:b\"]\ninherits = [\"self\"]\n")
            .check(&RULE);
        assert_eq!(
            places(&found),
            ["config/rbac.toml:3:13", "config/rbac.toml:9:13"]
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
            .file("config/rbac.toml", "[roles.admin]\npermissions = [\"*\"]\ninherits = [\"editor\"]\n[roles.editor]\npermissions = [\"items:write\"]\ninherits = [\"viewer\"]\n[roles.viewer]\npermissions = [\"items:read\"]\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
