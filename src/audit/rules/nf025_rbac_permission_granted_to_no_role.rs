//! NF025: a route guard requires a permission that no role grants.

use std::collections::BTreeSet;

use crate::audit::formats::guards;
use crate::audit::scan::string_calls;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF025",
    name: "rbac-permission-granted-to-no-role",
    severity: Severity::Low,
    title: "A guard requires a permission that no role grants",
    asvs: &["V4.1.3"],
    docs: "When the code requires `items:archive` but no role in `config/rbac.toml` grants it, the route refuses everyone: it fails closed, hence the low severity. It is still a defect (a typo in the guard or the policy), and the usual quick fix, a wildcard on some role, grants far more than intended.\n\nThe check reads the service's Rust sources (not tests) for the permissions routes require (`require(\"items:read\")`) and `config/rbac.toml` (only when it exists), with inheritance applied and `*` granting every declared permission, as the service does.",
    fix: "grant the permission to the roles that need it in `config/rbac.toml` (`nestflux add permission resource:action --roles …`), or fix the name in the guard",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    let Some(file) = &project.rbac else { return };
    let granted: BTreeSet<String> = file.policy.effective().into_values().flatten().collect();
    for source in project.rust_sources() {
        for (at, permission) in string_calls(&source.code, guards::REQUIRE) {
            if permission.contains(':') && !granted.contains(permission) {
                out.add(
                    &source.path,
                    source.at(at - 1),
                    format!(
                        "`{permission}` is required here but no role in `{}` grants it",
                        file.path
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    const POLICY: &str = "permissions = [\"items:read\", \"items:write\", \"users:read\"]\n[roles.editor]\npermissions = [\"items:read\", \"items:write\"]\n[roles.admin]\npermissions = [\"*\"]\n";

    #[test]
    fn it_fires_on_a_permission_no_role_grants() {
        let found = TestProject::new()
            .file("config/rbac.toml", POLICY)
            .file(
                "src/routes/items.rs",
                "        .delete(\"/items/{id}\", require(\"items:delete\"), delete_item)\n",
            )
            .check(&RULE);
        assert_eq!(places(&found), ["src/routes/items.rs:1:40"]);
    }

    #[test]
    fn it_is_silent_when_a_role_grants_it_or_there_is_no_policy() {
        let code = ".get(\"/items\", require(\"items:read\"), list)\n.get(\"/users\", require(\"users:read\"), users)\n";
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
