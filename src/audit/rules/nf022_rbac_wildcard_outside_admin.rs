//! NF022: a wildcard permission held by a role other than admin.

use crate::audit::{Findings, Project, Rule, Severity};
use crate::rbac::WILDCARD;

pub static RULE: Rule = Rule {
    id: "NF022",
    name: "rbac-wildcard-outside-admin",
    severity: Severity::High,
    title: "A role other than admin holds a wildcard permission",
    asvs: &["V4.1.3"],
    docs: "The wildcard `*` grants every declared permission, including the ones added tomorrow: a role meant to edit items silently gains `items:delete` or `users:write` when those are declared. Least privilege needs explicit lists; only `admin` is allowed the wildcard, by design. (`*` is the only wildcard: `items:*` is not a permission, and the service refuses a policy granting it.)\n\nThe check reads `config/rbac.toml` (only when it exists).",
    fix: "list the permissions the role needs explicitly",
    check,
};

/// The one role allowed to hold the wildcard.
const ADMIN_ROLE: &str = "admin";

fn check(project: &Project, out: &mut Findings) {
    let Some(file) = &project.rbac else { return };
    for role in file.policy.roles.iter().filter(|r| r.name != ADMIN_ROLE) {
        for permission in role.permissions.iter().filter(|p| p.value == WILDCARD) {
            out.add(
                &file.path,
                file.at(permission.span.as_ref()),
                format!(
                    "role `{}` holds the wildcard `{}`",
                    role.name, permission.value
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_a_wildcard_outside_admin() {
        let found = TestProject::new()
            .file("config/rbac.toml", "permissions = [\"items:read\"]\n[roles.admin]\npermissions = [\"*\"]\n[roles.editor]\npermissions = [\"items:read\", \"*\"]\n")
            .check(&RULE);
        assert_eq!(places(&found), ["config/rbac.toml:5:30"]);
    }

    #[test]
    fn it_is_silent_for_admin_wildcards_and_explicit_lists() {
        let found = TestProject::new()
            .file("config/rbac.toml", "permissions = [\"items:read\", \"items:write\"]\n[roles.admin]\npermissions = [\"*\"]\n[roles.editor]\npermissions = [\"items:read\", \"items:write\"]\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
