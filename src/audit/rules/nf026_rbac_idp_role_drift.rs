//! NF026: the identity provider's roles and `config/rbac.toml` differ.

use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF026",
    name: "rbac-idp-role-drift",
    severity: Severity::Medium,
    title: "The identity provider's roles and the RBAC policy differ",
    asvs: &["V4.1.3"],
    docs: "Roles live in two places: the identity provider assigns them to users, and `config/rbac.toml` maps them to permissions. A role only the provider knows gives its users nothing (or worse, someone later maps it in a hurry); a role only the policy knows can never be assigned, so its permissions drift unreviewed. Either way the two files no longer describe the same system.\n\nThe check compares the roles of `config/rbac.toml` with those of `deploy/keycloak/realm.json` (realm roles and client roles, Keycloak's built-in roles excepted) and of `deploy/authentik/blueprint.yaml` (groups), when those files exist.",
    fix: "add the role to the other file, or remove it from both (`nestflux add role` keeps them in step)",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    let Some(file) = &project.rbac else { return };
    for idp in &project.idp_roles {
        for role in idp
            .roles
            .iter()
            .filter(|r| file.policy.role(&r.value).is_none())
        {
            out.add(
                &idp.path,
                role.at,
                format!(
                    "role `{}` is defined here but not in `{}`",
                    role.value, file.path
                ),
            );
        }
        for role in file
            .policy
            .roles
            .iter()
            .filter(|r| !idp.roles.iter().any(|i| i.value == r.name))
        {
            out.add(
                &file.path,
                file.at(role.name_span.as_ref()),
                format!("role `{}` is not defined in `{}`", role.name, idp.path),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    const POLICY: &str = "permissions = [\"items:read\"]\n[roles.admin]\npermissions = [\"*\"]\n[roles.viewer]\npermissions = [\"items:read\"]\n";

    #[test]
    fn it_fires_on_roles_missing_on_either_side() {
        let realm = "{\n  \"realm\": \"demo\",\n  \"roles\": {\n    \"realm\": [\n      { \"name\": \"admin\" },\n      { \"name\": \"auditor\" },\n      { \"name\": \"offline_access\" }\n    ]\n  }\n}\n";
        let found = TestProject::new()
            .file("config/rbac.toml", POLICY)
            .file("deploy/keycloak/realm.json", realm)
            .check(&RULE);
        assert_eq!(
            places(&found),
            ["config/rbac.toml:4:8", "deploy/keycloak/realm.json:6:17"]
        );
    }

    #[test]
    fn it_is_silent_when_both_sides_agree() {
        let blueprint = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: admin\n  - model: authentik_core.group\n    identifiers:\n      name: viewer\n";
        let realm = "{ \"roles\": { \"realm\": [ { \"name\": \"admin\" }, { \"name\": \"viewer\" }, { \"name\": \"default-roles-demo\" } ],\n  \"client\": { \"demo-api\": [], \"account\": [ { \"name\": \"manage-account\" } ] } } }\n";
        let found = TestProject::new()
            .file("config/rbac.toml", POLICY)
            .file("deploy/authentik/blueprint.yaml", blueprint)
            .file("deploy/keycloak/realm.json", realm)
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
