//! `nestflux.toml` and `config/rbac.toml` are the user's data: `upgrade`
//! never merges them as text and never removes or changes a value in them.
//! It only adds, through `toml_edit` (every comment and layout kept), what
//! the new templates added since the baseline and the user does not have:
//! a key or table of `nestflux.toml`, a permission, a grant or a role of
//! the policy. Something the user removed on purpose stays removed when the
//! baseline had it already.

use std::collections::BTreeSet;

use toml_edit::{DocumentMut, Item, Table};

use crate::project::PROJECT_FILE;
use crate::rbac::{Located, Policy, PolicyEditor, RBAC_FILE, RoleSpec, WILDCARD};

/// The key `upgrade` moves once an upgrade completed without conflicts.
pub const VERSION_KEY: &str = "nestflux-version";

/// What to add to the user's policy `ours`: permissions, grants and roles
/// the new render `theirs` has and the baseline `base` had not. `Ok(None)`:
/// nothing to add; `Err`: the additions would break the policy (said why).
pub fn extend_policy(
    base: Option<&str>,
    ours: &str,
    theirs: &str,
) -> Result<Option<(String, Vec<String>)>, String> {
    let unreadable = |e: crate::rbac::PolicyError, text: &str| {
        format!(
            "{}; fix it, then run `nestflux upgrade` again",
            e.render(text)
        )
    };
    let ours_policy = Policy::parse(ours).map_err(|e| unreadable(e, ours))?;
    // The templates' own files always parse; an unreadable baseline adds
    // everything the new version has that the user lacks.
    let base_policy = base.and_then(|b| Policy::parse(b).ok()).unwrap_or_default();
    let theirs_policy = Policy::parse(theirs).map_err(|e| unreadable(e, theirs))?;

    let mut editor = PolicyEditor::new(ours).map_err(|e| unreadable(e, ours))?;
    let mut added = Vec::new();
    for permission in theirs_policy.permissions.iter().map(Located::as_str) {
        if !base_policy.declares(permission) && !ours_policy.declares(permission) {
            editor.declare_permission(permission);
            added.push(format!("permission `{permission}`"));
        }
    }
    for role in &theirs_policy.roles {
        let base_role = base_policy.role(&role.name);
        match (base_role, ours_policy.role(&role.name)) {
            // A role new in the templates, which the user does not have.
            (None, None) => {
                editor.put_role(&RoleSpec {
                    name: role.name.clone(),
                    description: role.description.clone(),
                    permissions: role.permission_names(),
                    inherits: role.parent_names(),
                });
                added.push(format!("role `{}`", role.name));
            }
            // Grants new in the templates, for a role the user has.
            (base_role, Some(mine)) => {
                let had: BTreeSet<&str> = base_role
                    .map(|r| r.permissions.iter().map(Located::as_str).collect())
                    .unwrap_or_default();
                for permission in role.permissions.iter().map(Located::as_str) {
                    let holds = mine
                        .permissions
                        .iter()
                        .any(|p| p.as_str() == permission || p.as_str() == WILDCARD);
                    if !had.contains(permission) && !holds {
                        editor.grant(&role.name, permission);
                        added.push(format!("`{permission}` granted to `{}`", role.name));
                    }
                }
            }
            // The user removed a role the baseline had: it stays removed.
            (Some(_), None) => {}
        }
    }
    if added.is_empty() {
        return Ok(None);
    }
    let new = editor.finish();
    let problems = Policy::parse(&new)
        .map(|p| p.problems())
        .map_err(|e| unreadable(e, &new))?;
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| p.render(&new)).collect();
        return Err(format!(
            "the new version adds {} to `{RBAC_FILE}`, which would leave it invalid ({}); add them by hand",
            added.join(", "),
            list.join("; ")
        ));
    }
    Ok(Some((new, added)))
}

/// What to add to the user's `nestflux.toml`: keys and tables the new
/// render has, the baseline had not and the user lacks. The recorded
/// version is not touched here ([`set_version`] moves it).
pub fn extend_project_file(
    base: Option<&str>,
    ours: &str,
    theirs: &str,
) -> Result<Option<(String, Vec<String>)>, String> {
    let parse = |text: &str| {
        text.parse::<DocumentMut>().map_err(|e| {
            format!(
                "`{PROJECT_FILE}` is not valid TOML: {}",
                e.message().trim_end()
            )
        })
    };
    let mut ours_doc = parse(ours)?;
    let theirs_doc = parse(theirs)?;
    let base_doc = base.and_then(|b| parse(b).ok());
    let mut added = Vec::new();
    add_missing(
        ours_doc.as_table_mut(),
        theirs_doc.as_table(),
        base_doc.as_ref().map(|d| d.as_table()),
        "",
        &mut added,
    );
    if added.is_empty() {
        return Ok(None);
    }
    Ok(Some((ours_doc.to_string(), added)))
}

fn add_missing(
    ours: &mut Table,
    theirs: &Table,
    base: Option<&Table>,
    prefix: &str,
    added: &mut Vec<String>,
) {
    for (key, item) in theirs.iter() {
        if prefix.is_empty() && key == VERSION_KEY {
            continue;
        }
        let name = format!("{prefix}{key}");
        let in_base = base.and_then(|b| b.get(key));
        match (ours.get_mut(key), item) {
            (Some(Item::Table(mine)), Item::Table(new)) => {
                let base_table = in_base.and_then(Item::as_table);
                add_missing(mine, new, base_table, &format!("{name}."), added);
            }
            // `[[resources]]`: the entries the new render has (by `name`)
            // that neither the user nor the baseline has (an entry the user
            // removed stays removed).
            (Some(Item::ArrayOfTables(mine)), Item::ArrayOfTables(new)) => {
                let named = |tables: &toml_edit::ArrayOfTables, wanted: &str| {
                    tables
                        .iter()
                        .any(|t| t.get("name").and_then(Item::as_str) == Some(wanted))
                };
                let base_tables = in_base.and_then(Item::as_array_of_tables);
                for table in new.iter() {
                    let Some(entry) = table.get("name").and_then(Item::as_str) else {
                        continue;
                    };
                    if !named(mine, entry) && !base_tables.is_some_and(|b| named(b, entry)) {
                        mine.push(table.clone());
                        added.push(format!("`{name}` `{entry}`"));
                    }
                }
            }
            (Some(_), _) => {}
            (None, _) if in_base.is_some() => {}
            (None, item) => {
                ours.insert(key, item.clone());
                added.push(format!("`{name}`"));
            }
        }
    }
}

/// `nestflux.toml` with `nestflux-version` set to `version`, comments and
/// layout kept; `None` when it says so already.
pub fn set_version(text: &str, version: &str) -> Result<Option<String>, String> {
    let mut doc = text.parse::<DocumentMut>().map_err(|e| {
        format!(
            "`{PROJECT_FILE}` is not valid TOML: {}",
            e.message().trim_end()
        )
    })?;
    if doc.get(VERSION_KEY).and_then(Item::as_str) == Some(version) {
        return Ok(None);
    }
    match doc.get_mut(VERSION_KEY).and_then(Item::as_value_mut) {
        Some(value) => {
            let decor = value.decor().clone();
            *value = toml_edit::Value::from(version);
            *value.decor_mut() = decor;
        }
        None => {
            doc.insert(VERSION_KEY, toml_edit::value(version));
        }
    }
    Ok(Some(doc.to_string()))
}

/// The version recorded in `nestflux.toml` (`None`: absent or not semver).
pub fn recorded_version(text: &str) -> Option<semver::Version> {
    let doc = text.parse::<DocumentMut>().ok()?;
    semver::Version::parse(doc.get(VERSION_KEY)?.as_str()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "# mine\npermissions = [\"items:read\", \"items:write\"]\n\n[roles.viewer]\npermissions = [\"items:read\"] # keep\n\n[roles.admin]\npermissions = [\"*\"]\n";

    #[test]
    fn the_policy_gains_new_permissions_grants_and_roles_and_keeps_every_line() {
        let base = "permissions = [\"items:read\", \"items:write\"]\n\n[roles.viewer]\npermissions = [\"items:read\"]\n\n[roles.editor]\npermissions = [\"items:write\"]\n\n[roles.admin]\npermissions = [\"*\"]\n";
        let theirs = "permissions = [\"items:read\", \"items:write\", \"items:export\"]\n\n[roles.viewer]\npermissions = [\"items:read\", \"items:export\"]\n\n[roles.editor]\npermissions = [\"items:write\"]\n\n[roles.admin]\npermissions = [\"*\"]\n\n[roles.auditor]\npermissions = [\"items:export\"]\n";
        // The user removed `editor` on purpose: it does not come back.
        let (new, added) = extend_policy(Some(base), POLICY, theirs).unwrap().unwrap();
        assert_eq!(
            added,
            [
                "permission `items:export`",
                "`items:export` granted to `viewer`",
                "role `auditor`"
            ]
        );
        assert!(new.starts_with("# mine\n"), "{new}");
        assert!(new.contains("# keep"), "{new}");
        assert!(!new.contains("editor"), "{new}");
        let policy = Policy::parse(&new).unwrap();
        assert!(policy.problems().is_empty());
        assert_eq!(
            policy.role("auditor").unwrap().permission_names(),
            ["items:export"]
        );
        // Once added, nothing more to add.
        assert_eq!(extend_policy(Some(theirs), &new, theirs).unwrap(), None);
    }

    #[test]
    fn nothing_is_added_when_the_templates_did_not_change_the_policy() {
        assert_eq!(extend_policy(Some(POLICY), POLICY, POLICY).unwrap(), None);
    }

    #[test]
    fn the_project_file_gains_new_keys_but_not_ones_the_user_removed() {
        let base = "schema = 1\nnestflux-version = \"0.1.0\"\n\n[project]\nname = \"x\"\nold = 1\n";
        let ours =
            "# my notes\nschema = 1\nnestflux-version = \"0.1.0\"\n\n[project]\nname = \"x\"\n";
        let theirs = "schema = 1\nnestflux-version = \"0.2.0\"\n\n[project]\nname = \"x\"\nold = 1\nresources = []\n\n[deploy]\nkind = \"none\"\n";
        let (new, added) = extend_project_file(Some(base), ours, theirs)
            .unwrap()
            .unwrap();
        assert_eq!(added, ["`project.resources`", "`deploy`"]);
        assert!(new.starts_with("# my notes\n"), "{new}");
        assert!(new.contains("nestflux-version = \"0.1.0\""), "{new}");
        assert!(!new.contains("old"), "{new}");
    }

    #[test]
    fn a_resource_the_new_render_records_joins_the_users_list_unless_they_removed_it() {
        let entry = |name: &str| format!("\n[[resources]]\nname = \"{name}\"\nmigration = 1\n");
        let head = "schema = 1\nnestflux-version = \"0.3.0\"\n\n[project]\nname = \"x\"\n";
        // Made before `items` was recorded: the new render records it.
        let base = format!("{head}{}", entry("customers"));
        let ours = format!("{head}# mine\n{}", entry("customers"));
        let theirs = format!("{head}{}{}", entry("items"), entry("customers"));
        let (new, added) = extend_project_file(Some(&base), &ours, &theirs)
            .unwrap()
            .unwrap();
        assert_eq!(added, ["`resources` `items`"]);
        assert!(new.contains("# mine"), "{new}");
        let file: toml::Table = new.parse().unwrap();
        let names: Vec<&str> = file["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["customers", "items"]);
        // Once there, nothing more to add.
        assert_eq!(
            extend_project_file(Some(&base), &new, &theirs).unwrap(),
            None
        );
        // A resource the user took out of their list stays out.
        let base = format!("{head}{}{}", entry("items"), entry("customers"));
        assert_eq!(
            extend_project_file(Some(&base), &ours, &theirs).unwrap(),
            None
        );
    }

    #[test]
    fn the_version_moves_and_keeps_its_comment() {
        let text = "schema = 1\nnestflux-version = \"0.1.0\" # by new\n\n[project]\nname = \"x\"\n";
        let new = set_version(text, "0.2.0").unwrap().unwrap();
        assert_eq!(
            new,
            "schema = 1\nnestflux-version = \"0.2.0\" # by new\n\n[project]\nname = \"x\"\n"
        );
        assert_eq!(set_version(&new, "0.2.0").unwrap(), None);
        assert_eq!(recorded_version(&new), Some(semver::Version::new(0, 2, 0)));
    }
}
