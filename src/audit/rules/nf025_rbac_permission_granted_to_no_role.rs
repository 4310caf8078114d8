//! NF025: a route guard requires a permission that no role grants.

use crate::audit::formats::{guards, rbac};
use crate::audit::scan::string_calls;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF025",
    name: "rbac-permission-granted-to-no-role",
    severity: Severity::Low,
    title: "A guard requires a permission that no role grants",
    asvs: &["V4.1.3"],
    docs: "When the code requires `items:archive` but no role in `config/rbac.toml` grants it, the route refuses everyone: it fails closed, hence the low severity. It is still a defect (a typo in the guard or the policy), and the usual quick fix, a wildcard on some role, grants far more than intended.\n\nThe check reads the service's Rust sources (not tests) for guard calls with a permission literal (`require(\"items:read\")` and the other spellings listed in the audit's formats module) and `config/rbac.toml` (only when it exists); wildcards count as grants.",
    fix: "grant the permission to the roles that need it in `config/rbac.toml` (`nestflux add permission resource:action --roles …`), or fix the name in the guard",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    let Some(policy) = &project.rbac else { return };
    for source in project.rust_sources() {
        for call in guards::PERMISSION_CALLS {
            for (at, permission) in string_calls(&source.code, call) {
                if !permission.contains(':') {
                    continue;
                }
                let granted = policy
                    .roles
                    .iter()
                    .flat_map(|r| &r.permissions)
                    .any(|p| rbac::grants(&p.value, permission));
                if !granted {
                    out.add(
                        &source.path,
                        source.at(at - 1),
                        format!(
                            "`{permission}` is required here but no role in `{}` grants it",
                            policy.path
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    const POLICY: &str = "[roles.editor]\npermissions = [\"items:read\", \"items:write\"]\n[roles.admin]\npermissions = [\"users:*\"]\n";

    #[test]
    fn it_fires_on_a_permission_no_role_grants() {
        let found = TestProject::new()
            .file("config/rbac.toml", POLICY)
            .file("src/routes/items.rs", ".route(\"/items/{id}\", delete(delete_item).route_layer(require(\"items:delete\")))\n")
            .check(&RULE);
        assert_eq!(places(&found), ["src/routes/items.rs:1:63"]);
    }

    #[test]
    fn it_is_silent_when_a_role_grants_it_or_there_is_no_policy() {
        let code = ".route(\"/items\", get(list).route_layer(require(\"items:read\")))\n.route(\"/users\", get(users).route_layer(require_permission(\"users:read\")))\n";
        let found = TestProject::new()
            .file("config/rbac.toml", POLICY)
            .file("src/routes/items.rs", code)
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
        let found = TestProject::new()
            .file("src/routes/items.rs", "require(\"x:y\")")
            .check(&RULE);
        assert!(found.is_empty());
    }
}
