//! NF021: an RBAC role grants nothing.

use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF021",
    name: "rbac-empty-role",
    severity: Severity::Low,
    title: "An RBAC role has no permissions",
    asvs: &["V4.1.3"],
    docs: "A role that neither lists permissions nor inherits any grants nothing. It is harmless by itself, but it is usually a sign that the policy and the code drifted apart (a permission renamed, a list emptied by mistake), and such roles tend to get a wildcard later \"to make it work\".\n\nThe check reads `config/rbac.toml` (only when it exists): every `[roles.<name>]` needs a non-empty `permissions` or `inherits`.",
    fix: "give the role the permissions it exists for, or remove it (from the identity provider too)",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    let Some(file) = &project.rbac else { return };
    for role in &file.policy.roles {
        if role.permissions.is_empty() && role.inherits.is_empty() {
            out.add(
                &file.path,
                file.at(role.name_span.as_ref()),
                format!("role `{}` has no permissions and inherits none", role.name),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_a_role_that_grants_nothing() {
        let found = TestProject::new()
            .file("config/rbac.toml", "permissions = [\"items:read\"]\n[roles.viewer]\npermissions = [\"items:read\"]\n\n[roles.guest]\npermissions = []\ndescription = \"nothing yet\"\n")
            .check(&RULE);
        assert_eq!(places(&found), ["config/rbac.toml:5:8"]);
    }

    #[test]
    fn it_is_silent_when_every_role_grants_something() {
        let found = TestProject::new()
            .file("config/rbac.toml", "permissions = [\"items:read\"]\n[roles.viewer]\npermissions = [\"items:read\"]\n[roles.auditor]\npermissions = []\ninherits = [\"viewer\"]\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
