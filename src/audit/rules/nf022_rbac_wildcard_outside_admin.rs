//! NF022: a wildcard permission held by a role other than admin.

use crate::audit::formats::rbac;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF022",
    name: "rbac-wildcard-outside-admin",
    severity: Severity::High,
    title: "A role other than admin holds a wildcard permission",
    asvs: &["V4.1.3"],
    docs: "A wildcard (`*`, `items:*`, `*:read`) grants every permission that matches it, including the ones added tomorrow: a role meant to edit items silently gains `items:delete` or `users:write` when those appear. Least privilege needs explicit lists; only `admin` is allowed a wildcard, by design.\n\nThe check reads `config/rbac.toml` (only when it exists).",
    fix: "list the permissions the role needs explicitly",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    let Some(policy) = &project.rbac else { return };
    for role in policy.roles.iter().filter(|r| r.name != rbac::ADMIN_ROLE) {
        for permission in role
            .permissions
            .iter()
            .filter(|p| rbac::is_wildcard(&p.value))
        {
            out.add(
                &policy.path,
                permission.at,
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
            .file("config/rbac.toml", "[roles.admin]\npermissions = [\"*\"]\n[roles.editor]\npermissions = [\"items:read\", \"items:*\"]\n")
            .check(&RULE);
        assert_eq!(places(&found), ["config/rbac.toml:4:30"]);
    }

    #[test]
    fn it_is_silent_for_admin_wildcards_and_explicit_lists() {
        let found = TestProject::new()
            .file("config/rbac.toml", "[roles.admin]\npermissions = [\"*\"]\n[roles.editor]\npermissions = [\"items:read\", \"items:write\"]\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
