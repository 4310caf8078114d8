//! Role-based access control: the policy in `config/rbac.toml`.
//!
//! The file is embedded at build time ([`POLICY_SOURCE`]) and checked once at
//! start-up by [`Policy::parse`]. Inheritance is flattened there, so asking
//! whether a set of roles holds a permission is a set lookup per role.
//! Deny by default: a role the policy does not define grants nothing, and a
//! permission no role holds is granted to nobody.
//!
//! nestflux reads the same file (`nestflux add role`, `nestflux audit-config`)
//! with a parser of its own; the two accept and refuse the same policies,
//! which nestflux's test suite proves over a shared set of examples through
//! `check-policy` (see `cli.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

/// The policy as written in `config/rbac.toml`, compiled into the binary so
/// that a deployed service cannot run with a policy other than the one
/// reviewed and tested with its code.
pub const POLICY_SOURCE: &str = include_str!("../config/rbac.toml");

/// Grants every declared permission; meant for `admin`. The only wildcard:
/// `items:*` is not a permission.
pub const WILDCARD: &str = "*";

/// The longest role name, resource or action.
pub const MAX_NAME_LEN: usize = 64;

/// A problem in the policy, naming the role (when there is one) and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config/rbac.toml line {line}: {message}")]
pub struct PolicyError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    permissions: Vec<Spanned<String>>,
    #[serde(default)]
    roles: BTreeMap<String, Spanned<RoleFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    #[serde(default)]
    #[allow(dead_code)] // documentation for people and IdP setup files
    description: Option<String>,
    permissions: Vec<Spanned<String>>,
    #[serde(default)]
    inherits: Vec<Spanned<String>>,
}

/// The checked policy: every role's effective permissions, inheritance
/// already applied.
#[derive(Debug, Clone)]
pub struct Policy {
    permissions: BTreeSet<String>,
    effective: BTreeMap<String, BTreeSet<String>>,
}

impl Policy {
    /// The embedded policy. Called once at start-up.
    pub fn embedded() -> Result<Self, PolicyError> {
        Self::parse(POLICY_SOURCE)
    }

    /// Parses and checks a policy: syntax, unknown keys, permission and role
    /// names, duplicates, grants of undeclared permissions, parents that do not
    /// exist, and inheritance cycles.
    pub fn parse(source: &str) -> Result<Self, PolicyError> {
        let line_of =
            |span: Range<usize>| source[..span.start.min(source.len())].matches('\n').count() + 1;
        let file: PolicyFile = toml::from_str(source).map_err(|e| PolicyError {
            line: e.span().map_or(1, line_of),
            message: e.message().trim_end().to_owned(),
        })?;
        let error = |span: Range<usize>, message: String| PolicyError {
            line: line_of(span),
            message,
        };

        let mut permissions = BTreeSet::new();
        for permission in &file.permissions {
            check_permission(permission.get_ref()).map_err(|m| error(permission.span(), m))?;
            if !permissions.insert(permission.get_ref().clone()) {
                return Err(error(
                    permission.span(),
                    format!("permission `{}` is declared twice", permission.get_ref()),
                ));
            }
        }

        for (name, role) in &file.roles {
            check_role_name(name).map_err(|m| error(role.span(), m))?;
            let role_error =
                |span: Range<usize>, what: String| error(span, format!("role `{name}` {what}"));
            let mut granted = BTreeSet::new();
            for permission in &role.get_ref().permissions {
                let p = permission.get_ref();
                if p != WILDCARD && !permissions.contains(p) {
                    return Err(role_error(
                        permission.span(),
                        format!("grants `{p}`, which is not in the top-level `permissions` list"),
                    ));
                }
                if !granted.insert(p) {
                    return Err(role_error(permission.span(), format!("grants `{p}` twice")));
                }
            }
            for parent in &role.get_ref().inherits {
                if !file.roles.contains_key(parent.get_ref()) {
                    return Err(role_error(
                        parent.span(),
                        format!("inherits `{}`, which is not defined", parent.get_ref()),
                    ));
                }
            }
        }

        let mut effective = BTreeMap::new();
        for (name, role) in &file.roles {
            let mut path = vec![name.clone()];
            let mut out = BTreeSet::new();
            flatten(&file, name, &permissions, &mut path, &mut out).map_err(|cycle| {
                error(role.span(), format!("roles inherit in a cycle: {cycle}"))
            })?;
            effective.insert(name.clone(), out);
        }
        Ok(Self {
            permissions,
            effective,
        })
    }

    /// Every declared permission.
    pub fn permissions(&self) -> &BTreeSet<String> {
        &self.permissions
    }

    /// The defined roles.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.effective.keys().map(String::as_str)
    }

    /// The permissions a caller with `roles` holds. Unknown roles add nothing.
    pub fn permissions_of<'a>(&self, roles: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        roles
            .into_iter()
            .filter_map(|role| self.effective.get(role))
            .flatten()
            .cloned()
            .collect()
    }
}

/// Adds the permissions of `name` and its ancestors to `out`; `Err` holds
/// the cycle, written `a → b → a`.
fn flatten(
    file: &PolicyFile,
    name: &str,
    declared: &BTreeSet<String>,
    path: &mut Vec<String>,
    out: &mut BTreeSet<String>,
) -> Result<(), String> {
    let role = file.roles[name].get_ref();
    for permission in &role.permissions {
        if permission.get_ref() == WILDCARD {
            out.extend(declared.iter().cloned());
        } else {
            out.insert(permission.get_ref().clone());
        }
    }
    for parent in &role.inherits {
        let parent = parent.get_ref();
        if path.iter().any(|p| p == parent) {
            path.push(parent.clone());
            let start = path.iter().position(|p| p == parent).unwrap_or(0);
            return Err(path[start..].join(" → "));
        }
        path.push(parent.clone());
        flatten(file, parent, declared, path, out)?;
        path.pop();
    }
    Ok(())
}

/// `resource:action`, each a lowercase word (see [`check_word`]).
pub fn check_permission(permission: &str) -> Result<(), String> {
    let Some((resource, action)) = permission.split_once(':') else {
        return Err(format!(
            "`{permission}` is not a permission: permissions have the form `resource:action`, such as `items:read`"
        ));
    };
    for (part, what) in [(resource, "resource"), (action, "action")] {
        if let Err(rule) = check_word(part) {
            return Err(format!(
                "`{permission}` is not a permission: its {what} {rule}"
            ));
        }
    }
    Ok(())
}

/// A role name: a lowercase word, like a permission's parts.
pub fn check_role_name(name: &str) -> Result<(), String> {
    check_word(name).map_err(|rule| format!("`{name}` is not a valid role name: it {rule}"))
}

/// A lowercase ASCII word of letters, digits, `-` and `_`, starting with a
/// letter, at most [`MAX_NAME_LEN`] characters.
fn check_word(word: &str) -> Result<(), String> {
    let mut chars = word.chars();
    match chars.next() {
        None => Err("is empty".to_owned()),
        Some(c) if !c.is_ascii_lowercase() => Err("must start with a lowercase letter".to_owned()),
        _ if !chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') =>
        {
            Err("may only hold lowercase letters, digits, `-` and `_`".to_owned())
        }
        _ if word.len() > MAX_NAME_LEN => Err(format!("is longer than {MAX_NAME_LEN} characters")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(source: &str) -> String {
        Policy::parse(source).unwrap_err().to_string()
    }

    #[test]
    fn the_embedded_policy_is_valid() {
        let policy = Policy::embedded().expect("config/rbac.toml is valid");
        assert!(policy.roles().count() > 0);
    }

    #[test]
    fn inheritance_is_flattened_and_the_wildcard_grants_everything() {
        let policy = Policy::parse(
            r#"
permissions = ["a:read", "a:write", "b:read"]
[roles.reader]
permissions = ["a:read"]
[roles.writer]
permissions = ["a:write"]
inherits = ["reader"]
[roles.root]
permissions = ["*"]
"#,
        )
        .unwrap();
        let of = |roles: &[&str]| policy.permissions_of(roles.iter().copied());
        assert_eq!(
            of(&["writer"]),
            BTreeSet::from(["a:read".into(), "a:write".into()])
        );
        assert_eq!(of(&["root"]), *policy.permissions());
        assert!(
            of(&["intruder"]).is_empty(),
            "an unknown role grants nothing"
        );
        assert_eq!(
            of(&["reader", "intruder"]),
            BTreeSet::from(["a:read".into()])
        );
    }

    #[test]
    fn an_undeclared_permission_is_named_with_its_role_and_line() {
        let e = error("permissions = [\"a:read\"]\n\n[roles.x]\npermissions = [\"a:write\"]\n");
        assert_eq!(
            e,
            "config/rbac.toml line 4: role `x` grants `a:write`, which is not in the top-level `permissions` list"
        );
    }

    #[test]
    fn a_cycle_is_named() {
        let e = error(
            "permissions = []\n[roles.a]\npermissions = []\ninherits = [\"b\"]\n[roles.b]\npermissions = []\ninherits = [\"a\"]\n",
        );
        assert!(e.contains("roles inherit in a cycle: a → b → a"), "{e}");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn a_missing_parent_is_named() {
        let e = error("permissions = []\n[roles.a]\npermissions = []\ninherits = [\"ghost\"]\n");
        assert_eq!(
            e,
            "config/rbac.toml line 4: role `a` inherits `ghost`, which is not defined"
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let e =
            error("permissions = []\n[roles.a]\npermissions = []\n[roles.a]\npermissions = []\n");
        assert!(e.contains("line 4") && e.contains("duplicate"), "{e}");
        let e = error("permissions = [\"a:b\", \"a:b\"]\n");
        assert!(e.contains("declared twice"), "{e}");
        let e = error("permissions = [\"a:b\"]\n[roles.r]\npermissions = [\"a:b\", \"a:b\"]\n");
        assert!(e.contains("role `r` grants `a:b` twice"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_names_are_refused() {
        assert!(
            error("permissions = []\n[roles.a]\npermissions = []\ncolour = 1\n").contains("line 4")
        );
        assert!(error("permissions = [\"Items\"]\n").contains("is not a permission"));
        assert!(
            error("permissions = []\n[roles.Admin]\npermissions = []\n")
                .contains("`Admin` is not a valid role name")
        );
    }
}
