//! Keeps the identity provider's setup files under `deploy/` in step with
//! `config/rbac.toml`: a role added to the policy is added to the Keycloak
//! realm export or the Authentik blueprint too, with a test user holding it,
//! so the provider and the service never disagree about which roles exist.
//!
//! - `deploy/keycloak/realm.json` is JSON, which has no comments: it is parsed,
//!   extended and written back in the layout `nestflux new` generates
//!   (two-space indentation, keys in their order).
//! - `deploy/authentik/blueprint.yaml` has comments worth keeping, so new
//!   entries are appended as text at the end of its `entries` list (the last
//!   key of the file), and the result is parsed again to prove it is still a
//!   blueprint holding the new group.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::answers::Project;
use crate::audit::scan::env_assignments;
use crate::dev::config::{ENV_FILE, password_var};
use crate::error::UserError;
use crate::write::FileChange;

pub const KEYCLOAK_REALM: &str = "deploy/keycloak/realm.json";
pub const AUTHENTIK_BLUEPRINT: &str = "deploy/authentik/blueprint.yaml";

/// A role to add to the provider's setup.
pub struct NewRole<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    /// The password of its test user, random per role.
    pub password: &'a str,
}

/// The changes that add `role` to whichever setup files the project has.
/// Files that already hold the role are left alone. The local `.env` gains
/// the new test user's password (`DEV_PASSWORD_<ROLE>`), for `nestflux dev`
/// and the README's token commands.
pub fn add_role(project: &Project, role: &NewRole<'_>) -> anyhow::Result<Vec<FileChange>> {
    let mut changes = Vec::new();
    let realm = project.root.join(KEYCLOAK_REALM);
    let blueprint = project.root.join(AUTHENTIK_BLUEPRINT);
    let has_setup = realm.is_file() || blueprint.is_file();
    if realm.is_file() {
        let old = read(&realm)?;
        if let Some(new) = keycloak_add_role(&old, project.answers.name.as_str(), role)? {
            changes.push(change(realm, KEYCLOAK_REALM, old, new));
        }
    }
    if blueprint.is_file() {
        let old = read(&blueprint)?;
        if let Some(new) = authentik_add_role(&old, project.answers.name.as_str(), role)? {
            changes.push(change(blueprint, AUTHENTIK_BLUEPRINT, old, new));
        }
    }
    // The password goes where the setup files put the user, or, without
    // setup files (generic OIDC), where `nestflux dev` finds it.
    if (!changes.is_empty() || !has_setup)
        && let Some(env) = env_add_password(project, role)?
    {
        changes.push(env);
    }
    Ok(changes)
}

/// Appends `DEV_PASSWORD_<ROLE>` to `.env` when the file exists (it is
/// local: a fresh clone has none) and lacks it.
fn env_add_password(project: &Project, role: &NewRole<'_>) -> anyhow::Result<Option<FileChange>> {
    let path = project.root.join(ENV_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let old = read(&path)?;
    let var = password_var(role.name);
    if env_assignments(&old).iter().any(|a| a.key == var) {
        return Ok(None);
    }
    let mut new = old.clone();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&format!(
        "\n# Added by `nestflux add role {name}`: the password of test-{name}.\n{var}={password}\n",
        name = role.name,
        password = role.password
    ));
    Ok(Some(change(path, ENV_FILE, old, new)))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("failed to read `{}`", path.display()))
}

fn change(path: PathBuf, display: &str, old: String, new: String) -> FileChange {
    FileChange {
        path,
        display: PathBuf::from(display),
        old,
        new,
    }
}

fn unreadable(file: &str, what: impl std::fmt::Display) -> anyhow::Error {
    UserError::failure(format!("`{file}` {what}; nothing was changed"))
        .with_help(format!(
            "fix `{file}` by hand (or restore it from version control), then run the command again"
        ))
        .into()
}

fn description(project: &str, role: &NewRole<'_>) -> String {
    role.description
        .map(str::to_owned)
        .unwrap_or_else(|| format!("The {} role of {project}", role.name))
}

/// Adds the realm role and a `test-<role>` user holding it; `None` when the
/// realm already has the role.
fn keycloak_add_role(
    text: &str,
    project: &str,
    role: &NewRole<'_>,
) -> anyhow::Result<Option<String>> {
    let mut realm: Value = serde_json::from_str(text)
        .map_err(|e| unreadable(KEYCLOAK_REALM, format_args!("is not valid JSON ({e})")))?;
    let roles = realm
        .pointer_mut("/roles/realm")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| unreadable(KEYCLOAK_REALM, "has no `roles.realm` list"))?;
    if roles.iter().any(|r| r["name"] == role.name) {
        return Ok(None);
    }
    roles.push(json!({ "name": role.name, "description": description(project, role) }));

    let users = realm
        .get_mut("users")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| unreadable(KEYCLOAK_REALM, "has no `users` list"))?;
    let username = format!("test-{}", role.name);
    if !users.iter().any(|u| u["username"] == username.as_str()) {
        users.push(json!({
            "username": username,
            "enabled": true,
            "email": format!("{username}@example.com"),
            "emailVerified": true,
            "firstName": "Test",
            "lastName": capitalize(role.name),
            "credentials": [
                { "type": "password", "value": role.password, "temporary": false }
            ],
            "realmRoles": [role.name],
        }));
    }
    let mut out = serde_json::to_string_pretty(&realm).context("serialize the realm")?;
    out.push('\n');
    Ok(Some(out))
}

/// Appends a group for the role, a `test-<role>` user in it and the user's
/// app password; `None` when the blueprint already has the group.
fn authentik_add_role(
    text: &str,
    project: &str,
    role: &NewRole<'_>,
) -> anyhow::Result<Option<String>> {
    let has_group = |text: &str| -> anyhow::Result<bool> {
        let doc: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
            unreadable(AUTHENTIK_BLUEPRINT, format_args!("is not valid YAML ({e})"))
        })?;
        let entries = doc
            .get("entries")
            .and_then(serde_norway::Value::as_sequence)
            .ok_or_else(|| unreadable(AUTHENTIK_BLUEPRINT, "has no `entries` list"))?;
        Ok(entries.iter().any(|entry| {
            entry.get("model").and_then(serde_norway::Value::as_str) == Some("authentik_core.group")
                && entry
                    .get("identifiers")
                    .and_then(|i| i.get("name"))
                    .and_then(serde_norway::Value::as_str)
                    == Some(role.name)
        }))
    };
    if has_group(text)? {
        return Ok(None);
    }
    // Appending text only works while `entries` is the file's last key: the
    // new items must land inside that list.
    let last_top_level_key = text
        .lines()
        .rfind(|l| !l.starts_with([' ', '#', '-']) && !l.trim().is_empty());
    if last_top_level_key.map(str::trim_end) != Some("entries:") {
        return Err(unreadable(
            AUTHENTIK_BLUEPRINT,
            "does not end with its `entries` list, so the new role cannot be appended safely",
        ));
    }
    let name = role.name;
    let quoted = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let mut out = text.trim_end().to_owned();
    out.push_str(&format!(
        "\n\n  # Added by `nestflux add role {name}`.\n\
         \x20 - model: authentik_core.group\n\
         \x20   id: {group_id}\n\
         \x20   identifiers:\n\
         \x20     name: {name_q}\n\
         \x20   attrs:\n\
         \x20     name: {name_q}\n\
         \x20 - model: authentik_core.user\n\
         \x20   id: {user_id}\n\
         \x20   identifiers:\n\
         \x20     username: {username}\n\
         \x20   attrs:\n\
         \x20     username: {username}\n\
         \x20     name: {display}\n\
         \x20     email: {email}\n\
         \x20     is_active: true\n\
         \x20     password: {password}\n\
         \x20     groups:\n\
         \x20       - !KeyOf group-{name}\n\
         \x20 - model: authentik_core.token\n\
         \x20   identifiers:\n\
         \x20     identifier: {token_id}\n\
         \x20   attrs:\n\
         \x20     user: !KeyOf user-{name}\n\
         \x20     intent: app_password\n\
         \x20     key: {password}\n\
         \x20     expiring: false\n\
         \x20     description: \"Local development app password\"\n",
        group_id = quoted(&format!("group-{name}")),
        user_id = quoted(&format!("user-{name}")),
        name_q = quoted(name),
        username = quoted(&format!("test-{name}")),
        display = quoted(&format!("Test {}", capitalize(name))),
        email = quoted(&format!("test-{name}@example.com")),
        password = quoted(role.password),
        token_id = quoted(&format!("{project}-test-{name}-app-password")),
    ));
    if !has_group(&out)? {
        return Err(unreadable(
            AUTHENTIK_BLUEPRINT,
            "could not be extended: the appended group was not read back",
        ));
    }
    Ok(Some(out))
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: NewRole<'static> = NewRole {
        name: "auditor",
        description: None,
        password: "pw-1234567890",
    };

    #[test]
    fn keycloak_gains_the_role_and_a_test_user_once() {
        let realm = r#"{"realm": "shop", "roles": {"realm": [{"name": "admin"}]}, "users": []}"#;
        let out = keycloak_add_role(realm, "shop", &ROLE).unwrap().unwrap();
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["roles"]["realm"][1]["name"], "auditor");
        assert_eq!(value["users"][0]["username"], "test-auditor");
        assert_eq!(value["users"][0]["realmRoles"][0], "auditor");
        assert_eq!(keycloak_add_role(&out, "shop", &ROLE).unwrap(), None);
    }

    #[test]
    fn authentik_gains_the_group_and_keeps_every_comment() {
        let blueprint = "# my notes\nversion: 1\nentries:\n  # groups\n  - model: authentik_core.group\n    identifiers:\n      name: admin\n";
        let out = authentik_add_role(blueprint, "shop", &ROLE)
            .unwrap()
            .unwrap();
        assert!(out.starts_with(blueprint.trim_end()), "{out}");
        assert!(out.contains("      - !KeyOf group-auditor\n"), "{out}");
        assert_eq!(authentik_add_role(&out, "shop", &ROLE).unwrap(), None);
    }

    #[test]
    fn a_blueprint_that_does_not_end_with_entries_is_refused() {
        let blueprint = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: admin\ncontext:\n  x: 1\n";
        let err = authentik_add_role(blueprint, "shop", &ROLE).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not end with its `entries` list"),
            "{err}"
        );
    }
}
