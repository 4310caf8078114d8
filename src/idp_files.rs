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
//!
//! It is also the one reader of the roles these files define
//! ([`keycloak_roles`], [`authentik_roles`]), which `add` and the audit
//! (NF026, roles that drift from the policy) both use.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::error::UserError;
use crate::project::Project;
use crate::project::env::{self, ENV_FILE, password_var};
use crate::write::FileChange;

/// A Keycloak realm export: roles at `roles.realm[].name` and
/// `roles.client.<client>[].name`.
pub const KEYCLOAK_REALM: &str = "deploy/keycloak/realm.json";
/// Roles every Keycloak realm has, which no policy needs to name.
const KEYCLOAK_BUILTIN_ROLES: &[&str] = &["offline_access", "uma_authorization"];
const KEYCLOAK_BUILTIN_ROLE_PREFIXES: &[&str] = &["default-roles-"];
/// Keycloak's own clients, whose roles are not the service's.
const KEYCLOAK_BUILTIN_CLIENTS: &[&str] = &[
    "account",
    "account-console",
    "admin-cli",
    "broker",
    "realm-management",
    "security-admin-console",
];

/// An Authentik blueprint: every entry with the model
/// [`AUTHENTIK_GROUP_MODEL`] is a group (a role), named by
/// `identifiers.name` (or `attrs.name`).
pub const AUTHENTIK_BLUEPRINT: &str = "deploy/authentik/blueprint.yaml";
const AUTHENTIK_GROUP_MODEL: &str = "authentik_core.group";

/// The test user of `role` in the setup files (and of `nestflux dev`):
/// `test-<role>`, holding that role only.
pub fn test_username(role: &str) -> String {
    format!("test-{role}")
}

/// A role an identity provider's file defines, and the byte offset of its
/// name in the file (for messages; the file's start when not found).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleName {
    pub name: String,
    pub offset: usize,
}

/// A setup file that cannot be read as what it should be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{file}` {problem}")]
pub struct UnreadableFile {
    pub file: &'static str,
    pub problem: String,
}

impl UnreadableFile {
    fn new(file: &'static str, problem: impl std::fmt::Display) -> Self {
        Self {
            file,
            problem: problem.to_string(),
        }
    }
}

/// The service's roles in a Keycloak realm export: realm roles and the roles
/// of the service's own clients, without Keycloak's built-in ones, each once.
pub fn keycloak_roles(text: &str) -> Result<Vec<RoleName>, UnreadableFile> {
    let realm: Value = parse_realm(text)?;
    Ok(keycloak_role_names(&realm)
        .into_iter()
        .map(|name| RoleName {
            offset: json_name_offset(text, &name),
            name,
        })
        .collect())
}

fn parse_realm(text: &str) -> Result<Value, UnreadableFile> {
    serde_json::from_str(text)
        .map_err(|e| UnreadableFile::new(KEYCLOAK_REALM, format_args!("is not valid JSON ({e})")))
}

fn keycloak_role_names(realm: &Value) -> Vec<String> {
    let builtin = |name: &str| {
        KEYCLOAK_BUILTIN_ROLES.contains(&name)
            || KEYCLOAK_BUILTIN_ROLE_PREFIXES
                .iter()
                .any(|p| name.starts_with(p))
    };
    let roles = &realm["roles"];
    let mut lists: Vec<&Value> = vec![&roles["realm"]];
    if let Some(clients) = roles["client"].as_object() {
        lists.extend(
            clients
                .iter()
                .filter(|(client, _)| !KEYCLOAK_BUILTIN_CLIENTS.contains(&client.as_str()))
                .map(|(_, list)| list),
        );
    }
    let mut names: Vec<String> = Vec::new();
    for name in lists
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|r| r["name"].as_str())
    {
        if !builtin(name) && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// The place of `"name": "<value>"` in a JSON text, or the file's start.
fn json_name_offset(text: &str, value: &str) -> usize {
    let quoted = format!("\"{value}\"");
    text.match_indices(&quoted)
        .find(|(i, _)| {
            let before = text[..*i].trim_end();
            before
                .strip_suffix(':')
                .is_some_and(|b| b.trim_end().ends_with("\"name\""))
        })
        .map_or(0, |(i, _)| i)
}

/// The groups of an Authentik blueprint, each once.
pub fn authentik_roles(text: &str) -> Result<Vec<RoleName>, UnreadableFile> {
    Ok(authentik_group_names(&parse_blueprint(text)?)
        .into_iter()
        .map(|name| RoleName {
            offset: yaml_name_offset(text, &name),
            name,
        })
        .collect())
}

fn parse_blueprint(text: &str) -> Result<serde_norway::Value, UnreadableFile> {
    serde_norway::from_str(text).map_err(|e| {
        UnreadableFile::new(AUTHENTIK_BLUEPRINT, format_args!("is not valid YAML ({e})"))
    })
}

fn authentik_group_names(blueprint: &serde_norway::Value) -> Vec<String> {
    use serde_norway::Value as Yaml;
    let entries = blueprint
        .get("entries")
        .and_then(Yaml::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    for entry in entries {
        if entry.get("model").and_then(Yaml::as_str) != Some(AUTHENTIK_GROUP_MODEL) {
            continue;
        }
        let name = ["identifiers", "attrs"]
            .iter()
            .find_map(|table| entry.get(table)?.get("name")?.as_str());
        if let Some(name) = name
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
    }
    names
}

/// The place of the value of the first `name: <value>` line (quoted or not)
/// in a YAML text, or the file's start.
fn yaml_name_offset(text: &str, value: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let item = trimmed.strip_prefix("- ").unwrap_or(trimmed).trim_start();
        if let Some(rest) = item.strip_prefix("name:") {
            let written = rest.trim();
            let unquoted = written.trim_matches(|c| c == '"' || c == '\'');
            if unquoted == value {
                let value_at = line.len() - rest.trim_start().len();
                return offset + value_at;
            }
        }
        offset += line.len();
    }
    0
}

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
    let comment = format!(
        "Added by `nestflux add role {name}`: the password of {user}.",
        name = role.name,
        user = test_username(role.name)
    );
    Ok(
        env::append(&old, &comment, &password_var(role.name), role.password)
            .map(|new| change(path, ENV_FILE, old, new)),
    )
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

fn unreadable(file: &'static str, what: impl std::fmt::Display) -> anyhow::Error {
    UnreadableFile::new(file, what).into_edit_error()
}

impl UnreadableFile {
    /// The error `add` reports: nothing was changed, fix the file by hand.
    fn into_edit_error(self) -> anyhow::Error {
        UserError::failure(format!("{self}; nothing was changed"))
            .with_help(format!(
                "fix `{}` by hand (or restore it from version control), then run the command again",
                self.file
            ))
            .into()
    }
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
    let mut realm: Value = parse_realm(text).map_err(UnreadableFile::into_edit_error)?;
    if keycloak_role_names(&realm).iter().any(|r| r == role.name) {
        return Ok(None);
    }
    let roles = realm
        .pointer_mut("/roles/realm")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| unreadable(KEYCLOAK_REALM, "has no `roles.realm` list"))?;
    roles.push(json!({ "name": role.name, "description": description(project, role) }));

    let users = realm
        .get_mut("users")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| unreadable(KEYCLOAK_REALM, "has no `users` list"))?;
    let username = test_username(role.name);
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
        let doc = parse_blueprint(text).map_err(UnreadableFile::into_edit_error)?;
        if doc
            .get("entries")
            .and_then(serde_norway::Value::as_sequence)
            .is_none()
        {
            return Err(unreadable(AUTHENTIK_BLUEPRINT, "has no `entries` list"));
        }
        Ok(authentik_group_names(&doc).iter().any(|n| n == role.name))
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
         \x20 - model: {AUTHENTIK_GROUP_MODEL}\n\
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
        username = quoted(&test_username(name)),
        display = quoted(&format!("Test {}", capitalize(name))),
        email = quoted(&format!("{}@example.com", test_username(name))),
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

    fn located(text: &str, roles: Vec<RoleName>) -> Vec<(String, (usize, usize))> {
        roles
            .into_iter()
            .map(|r| (r.name, crate::diagnostics::line_column(text, r.offset)))
            .collect()
    }

    #[test]
    fn authentik_groups_are_read_with_the_place_of_their_name() {
        let text = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: editor\n  - model: authentik_core.application\n    attrs:\n      name: app\n  - identifiers:\n      name: \"viewer\"\n    model: authentik_core.group\n  - model: authentik_core.group\n    attrs:\n      name: ops\n";
        assert_eq!(
            located(text, authentik_roles(text).unwrap()),
            [
                ("editor".to_owned(), (5, 13)),
                ("viewer".to_owned(), (10, 13)),
                ("ops".to_owned(), (14, 13)),
            ]
        );
        assert!(
            authentik_roles("entries: [")
                .unwrap_err()
                .to_string()
                .starts_with("`deploy/authentik/blueprint.yaml` is not valid YAML")
        );
    }

    #[test]
    fn keycloak_roles_leave_out_the_builtin_ones() {
        let text = "{ \"roles\": { \"realm\": [ { \"name\": \"admin\" }, { \"name\": \"offline_access\" }, { \"name\": \"default-roles-demo\" } ],\n  \"client\": { \"demo\": [ { \"name\": \"ops\" }, { \"name\": \"admin\" } ], \"account\": [ { \"name\": \"manage-account\" } ] } } }\n";
        assert_eq!(
            located(text, keycloak_roles(text).unwrap()),
            [("admin".to_owned(), (1, 35)), ("ops".to_owned(), (2, 35))]
        );
        assert!(
            keycloak_roles("{")
                .unwrap_err()
                .to_string()
                .contains("is not valid JSON")
        );
    }

    #[test]
    fn a_role_the_realm_has_as_a_client_role_is_not_added_again() {
        let realm =
            r#"{"roles": {"realm": [], "client": {"shop": [{"name": "auditor"}]}}, "users": []}"#;
        assert_eq!(keycloak_add_role(realm, "shop", &ROLE).unwrap(), None);
    }
}
