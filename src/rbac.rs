//! The access-control policy of a generated project, `config/rbac.toml`:
//! the one reader of the format in nestflux (for `add`, and for the audit,
//! which needs the place of every name), its checks, and editing it with
//! `toml_edit` so that every comment, blank line and key order the user
//! wrote survives byte for byte outside the lines added.
//!
//! The file's shape:
//!
//! ```toml
//! permissions = ["items:read", "items:write", "items:delete"]
//!
//! [roles.viewer]
//! description = "Reads items"
//! permissions = ["items:read"]
//!
//! [roles.editor]
//! permissions = ["items:write"]
//! inherits = ["viewer"]
//! ```
//!
//! `permissions` at the top lists every permission the service knows; a role
//! grants some of them (`"*"`, the only wildcard, grants all) and inherits
//! the grants of others. Both `permissions` lists are required (`[]` for
//! none). Names are lowercase words of at most [`MAX_NAME_LEN`] characters.
//!
//! The generated service reads the same file with its own parser
//! (`templates/src/rbac.rs`, copied into every project). The two accept and
//! refuse the same inputs: both run over `tests/fixtures/rbac/`, this one in
//! `tests/rbac_fixtures.rs`, the generated one through its `check-policy`
//! command in the build matrix.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

use toml_edit::{Array, DocumentMut, Item, Table, TableLike, Value};

use crate::diagnostics::line_column;

/// Where the policy lives inside a project.
pub const RBAC_FILE: &str = "config/rbac.toml";

/// Grants every declared permission; meant for `admin` only. The only
/// wildcard: `items:*` is not a permission.
pub const WILDCARD: &str = "*";

/// The longest role name, resource or action.
pub const MAX_NAME_LEN: usize = 64;

/// What is wrong with a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Not TOML, an unknown key, a value of the wrong type, a missing list.
    Structure,
    /// A declared permission that is not `resource:action`.
    PermissionName,
    /// A permission declared twice.
    DuplicatePermission,
    /// A role granting a permission that is not declared.
    UndeclaredGrant,
    /// A role granting a permission twice.
    DuplicateGrant,
    /// A role whose name is not a lowercase word.
    RoleName,
    /// A role inheriting a role that is not defined.
    MissingParent,
    /// Roles inheriting from each other in a cycle.
    Cycle,
}

/// A problem in the policy, located in the file when possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub kind: ErrorKind,
    pub message: String,
    pub span: Option<Range<usize>>,
}

impl PolicyError {
    fn at(kind: ErrorKind, message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Self {
            kind,
            message: message.into(),
            span,
        }
    }

    fn structure(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Self::at(ErrorKind::Structure, message, span)
    }

    /// `config/rbac.toml line 3, column 1: message`.
    pub fn render(&self, text: &str) -> String {
        match &self.span {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                format!(
                    "`{RBAC_FILE}` line {line}, column {column}: {}",
                    self.message
                )
            }
            None => format!("`{RBAC_FILE}`: {}", self.message),
        }
    }
}

/// A name as written in the file, with its byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub value: String,
    pub span: Option<Range<usize>>,
}

impl Located {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// One role as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// Where the role's name is written (`viewer` in `[roles.viewer]`).
    pub name_span: Option<Range<usize>>,
    pub description: Option<String>,
    pub permissions: Vec<Located>,
    pub inherits: Vec<Located>,
    /// Where the role's table starts.
    pub span: Option<Range<usize>>,
}

impl Role {
    /// The permissions the role lists itself (not those it inherits).
    pub fn permission_names(&self) -> Vec<String> {
        self.permissions.iter().map(|p| p.value.clone()).collect()
    }

    /// The roles it inherits, by name.
    pub fn parent_names(&self) -> Vec<String> {
        self.inherits.iter().map(|p| p.value.clone()).collect()
    }

    /// Whether the role lists `permission` itself, or the wildcard.
    pub fn lists(&self, permission: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| p.value == permission || p.value == WILDCARD)
    }
}

/// The whole policy, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub permissions: Vec<Located>,
    pub roles: Vec<Role>,
}

/// Checks the `resource:action` form: lowercase ASCII words of letters,
/// digits, `-` and `_`, each starting with a letter.
pub fn check_permission_name(name: &str) -> Result<(), String> {
    let Some((resource, action)) = name.split_once(':') else {
        return Err(format!(
            "`{name}` is not a permission: permissions have the form `resource:action`, such as `items:read`"
        ));
    };
    for (part, what) in [(resource, "resource"), (action, "action")] {
        if let Err(rule) = check_word(part) {
            return Err(format!("`{name}` is not a permission: its {what} {rule}"));
        }
    }
    Ok(())
}

/// Checks a role name: a lowercase word, like a permission's parts.
pub fn check_role_name(name: &str) -> Result<(), String> {
    check_word(name).map_err(|rule| format!("`{name}` is not a valid role name: it {rule}"))
}

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

impl Policy {
    /// Parses the file's structure. Unknown keys, wrong types and missing
    /// lists are errors with their location; the checks of names, grants
    /// and inheritance are [`Policy::problems`].
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let doc = toml_edit::Document::parse(text)
            .map_err(|e| PolicyError::structure(e.message().trim_end().to_owned(), e.span()))?;
        let mut policy = Policy::default();
        let mut has_permissions = false;
        for (key, item) in doc.iter() {
            match key {
                "permissions" => {
                    policy.permissions = strings(item, "permissions")?;
                    has_permissions = true;
                }
                "roles" => {
                    let roles = item.as_table_like().ok_or_else(|| {
                        PolicyError::structure("`roles` must be a table of roles", item.span())
                    })?;
                    for (name, role) in roles.iter() {
                        let name_span = roles.key(name).and_then(toml_edit::Key::span);
                        policy.roles.push(parse_role(name, name_span, role)?);
                    }
                }
                other => {
                    let span = doc.key(other).and_then(|k| k.span());
                    return Err(PolicyError::structure(
                        format!(
                            "unknown key `{other}`; expected `permissions` or `[roles.<name>]`"
                        ),
                        span,
                    ));
                }
            }
        }
        if !has_permissions {
            return Err(PolicyError::structure(
                "the policy has no top-level `permissions` list (write `permissions = []` for none)",
                None,
            ));
        }
        Ok(policy)
    }

    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// Whether `permission` is in the top-level list.
    pub fn declares(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p.value == permission)
    }

    /// Every check of names, grants and inheritance, each problem once and
    /// in file order within its kind: bad or duplicate permissions, grants
    /// of undeclared permissions, duplicate grants, bad role names, parents
    /// that are not defined, and cycles. The generated service refuses to
    /// start on any of them.
    pub fn problems(&self) -> Vec<PolicyError> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for permission in &self.permissions {
            if let Err(e) = check_permission_name(&permission.value) {
                problems.push(PolicyError::at(
                    ErrorKind::PermissionName,
                    e,
                    permission.span.clone(),
                ));
            }
            if !seen.insert(permission.as_str()) {
                problems.push(PolicyError::at(
                    ErrorKind::DuplicatePermission,
                    format!("permission `{}` is declared twice", permission.value),
                    permission.span.clone(),
                ));
            }
        }
        for role in &self.roles {
            if let Err(e) = check_role_name(&role.name) {
                problems.push(PolicyError::at(
                    ErrorKind::RoleName,
                    e,
                    role.name_span.clone().or(role.span.clone()),
                ));
            }
            let mut granted = BTreeSet::new();
            for permission in &role.permissions {
                let p = permission.as_str();
                if p != WILDCARD && !seen.contains(p) {
                    problems.push(PolicyError::at(
                        ErrorKind::UndeclaredGrant,
                        format!(
                            "role `{}` grants `{p}`, which is not in the top-level `permissions` list",
                            role.name
                        ),
                        permission.span.clone(),
                    ));
                }
                if !granted.insert(p) {
                    problems.push(PolicyError::at(
                        ErrorKind::DuplicateGrant,
                        format!("role `{}` grants `{p}` twice", role.name),
                        permission.span.clone(),
                    ));
                }
            }
            for parent in &role.inherits {
                if self.role(&parent.value).is_none() {
                    problems.push(PolicyError::at(
                        ErrorKind::MissingParent,
                        format!(
                            "role `{}` inherits `{}`, which is not defined",
                            role.name, parent.value
                        ),
                        parent.span.clone(),
                    ));
                }
            }
        }
        for (role, cycle) in self.cycles() {
            // At the `inherits` entry that starts the cycle.
            let span = role
                .inherits
                .iter()
                .find(|p| p.value == cycle[1])
                .and_then(|p| p.span.clone())
                .or(role.span.clone());
            problems.push(PolicyError::at(
                ErrorKind::Cycle,
                format!("roles inherit in a cycle: {}", cycle.join(" → ")),
                span,
            ));
        }
        problems
    }

    /// Every inheritance cycle once, from the first of its roles in file
    /// order back to that role: `editor → viewer → editor`.
    pub fn cycles(&self) -> Vec<(&Role, Vec<String>)> {
        let mut found: Vec<(&Role, Vec<String>)> = Vec::new();
        let mut reported: Vec<BTreeSet<String>> = Vec::new();
        for role in &self.roles {
            let Some(cycle) = self.cycle_from(&role.name) else {
                continue;
            };
            let members: BTreeSet<String> = cycle.iter().cloned().collect();
            if !reported.contains(&members) {
                reported.push(members);
                found.push((role, cycle));
            }
        }
        found
    }

    /// The roles on an inheritance path from `start` back to itself, if any.
    fn cycle_from(&self, start: &str) -> Option<Vec<String>> {
        fn walk(policy: &Policy, name: &str, start: &str, path: &mut Vec<String>) -> bool {
            let Some(role) = policy.role(name) else {
                return false;
            };
            for parent in &role.inherits {
                let parent = &parent.value;
                if parent == start {
                    return true;
                }
                if path.contains(parent) {
                    continue; // a cycle not through `start`; found from its own roles
                }
                path.push(parent.clone());
                if walk(policy, parent, start, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        let mut path = vec![start.to_owned()];
        walk(self, start, start, &mut path).then(|| {
            path.push(start.to_owned());
            path
        })
    }

    /// Each role's effective permissions: its own, its ancestors', and every
    /// declared permission for `*`. Terminates on any policy; meaningful when
    /// [`Policy::problems`] is empty.
    pub fn effective(&self) -> BTreeMap<String, BTreeSet<String>> {
        fn collect(
            policy: &Policy,
            name: &str,
            out: &mut BTreeSet<String>,
            seen: &mut BTreeSet<String>,
        ) {
            if !seen.insert(name.to_owned()) {
                return;
            }
            let Some(role) = policy.role(name) else {
                return;
            };
            for permission in &role.permissions {
                if permission.value == WILDCARD {
                    out.extend(policy.permissions.iter().map(|p| p.value.clone()));
                } else {
                    out.insert(permission.value.clone());
                }
            }
            for parent in &role.inherits {
                collect(policy, &parent.value, out, seen);
            }
        }
        self.roles
            .iter()
            .map(|role| {
                let mut out = BTreeSet::new();
                collect(self, &role.name, &mut out, &mut BTreeSet::new());
                (role.name.clone(), out)
            })
            .collect()
    }

    /// Whether some role holds `permission`, inheritance and `*` applied.
    pub fn is_granted(&self, permission: &str) -> bool {
        self.effective().values().any(|p| p.contains(permission))
    }
}

fn parse_role(
    name: &str,
    name_span: Option<Range<usize>>,
    item: &Item,
) -> Result<Role, PolicyError> {
    let table = item.as_table_like().ok_or_else(|| {
        PolicyError::structure(format!("role `{name}` must be a table"), item.span())
    })?;
    let span = item.span().or(name_span.clone());
    let mut role = Role {
        name: name.to_owned(),
        name_span,
        description: None,
        permissions: Vec::new(),
        inherits: Vec::new(),
        span: span.clone(),
    };
    let mut has_permissions = false;
    for (key, value) in table.iter() {
        match key {
            "description" => {
                role.description = Some(
                    value
                        .as_str()
                        .ok_or_else(|| {
                            PolicyError::structure(
                                format!("role `{name}`: `description` must be a string"),
                                value.span(),
                            )
                        })?
                        .to_owned(),
                );
            }
            "permissions" => {
                role.permissions = strings(value, &format!("roles.{name}.permissions"))?;
                has_permissions = true;
            }
            "inherits" => role.inherits = strings(value, &format!("roles.{name}.inherits"))?,
            other => {
                return Err(PolicyError::structure(
                    format!(
                        "role `{name}` has an unknown key `{other}`; expected `description`, `permissions` or `inherits`"
                    ),
                    value.span().or(span),
                ));
            }
        }
    }
    if !has_permissions {
        return Err(PolicyError::structure(
            format!("role `{name}` has no `permissions` list (write `permissions = []` for none)"),
            span,
        ));
    }
    Ok(role)
}

fn strings(item: &Item, what: &str) -> Result<Vec<Located>, PolicyError> {
    let array = item.as_array().ok_or_else(|| {
        PolicyError::structure(format!("`{what}` must be an array of strings"), item.span())
    })?;
    array
        .iter()
        .map(|v| {
            v.as_str()
                .map(|s| Located {
                    value: s.to_owned(),
                    span: v.span(),
                })
                .ok_or_else(|| {
                    PolicyError::structure(format!("`{what}` must hold only strings"), v.span())
                })
        })
        .collect()
}

/// What a role should look like after `nestflux add role`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSpec {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub inherits: Vec<String>,
}

impl RoleSpec {
    /// Whether `role` already has this definition. Order does not matter; a
    /// description not given on the command line is not compared.
    pub fn matches(&self, role: &Role) -> bool {
        let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
        set(&self.permissions) == set(&role.permission_names())
            && set(&self.inherits) == set(&role.parent_names())
            && (self.description.is_none() || self.description == role.description)
    }
}

impl fmt::Display for RoleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "permissions = {:?}, inherits = {:?}",
            self.permissions, self.inherits
        )?;
        if let Some(d) = &self.description {
            write!(f, ", description = {d:?}")?;
        }
        Ok(())
    }
}

/// Edits on the text of `config/rbac.toml`, preserving everything else.
pub struct PolicyEditor {
    doc: DocumentMut,
}

impl PolicyEditor {
    pub fn new(text: &str) -> Result<Self, PolicyError> {
        let doc = text
            .parse::<DocumentMut>()
            .map_err(|e| PolicyError::structure(e.message().trim_end().to_owned(), e.span()))?;
        Ok(Self { doc })
    }

    pub fn finish(self) -> String {
        self.doc.to_string()
    }

    /// Adds `permission` to the top-level list (if missing).
    pub fn declare_permission(&mut self, permission: &str) {
        let item = self
            .doc
            .entry("permissions")
            .or_insert_with(|| Item::Value(Value::Array(Array::new())));
        if let Some(array) = item.as_array_mut() {
            append_unique(array, permission);
        }
    }

    /// Grants `permission` to an existing role (if it lacks it).
    pub fn grant(&mut self, role: &str, permission: &str) {
        if let Some(table) = self.role_table(role) {
            let item = table
                .entry("permissions")
                .or_insert_with(|| Item::Value(Value::Array(Array::new())));
            if let Some(array) = item.as_array_mut() {
                append_unique(array, permission);
            }
        }
    }

    /// Writes `spec` as a new `[roles.<name>]` table after the last role, or
    /// replaces the values of an existing one (keeping its comments).
    pub fn put_role(&mut self, spec: &RoleSpec) {
        if let Some(table) = self.role_table(&spec.name) {
            if let Some(description) = &spec.description {
                set_value(table, "description", Value::from(description.as_str()));
            }
            set_value(table, "permissions", string_array(&spec.permissions));
            if spec.inherits.is_empty() {
                table.remove("inherits");
            } else {
                set_value(table, "inherits", string_array(&spec.inherits));
            }
            return;
        }
        let mut table = Table::new();
        if let Some(description) = &spec.description {
            table.insert(
                "description",
                Item::Value(Value::from(description.as_str())),
            );
        }
        table.insert("permissions", Item::Value(string_array(&spec.permissions)));
        if !spec.inherits.is_empty() {
            table.insert("inherits", Item::Value(string_array(&spec.inherits)));
        }
        table.decor_mut().set_prefix("\n");

        // `[roles]` is usually implicit (only `[roles.x]` headers). Assigning
        // through the index operator would create an explicit `[roles]` header
        // placed before the file's leading comment, so go through entry() and
        // give the new table the position of the last role: tables are written
        // in position order and ties keep insertion order.
        let position = self.last_role_position();
        let roles = self.doc.entry("roles").or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        if let Some(roles) = roles.as_table_mut() {
            table.set_position(position);
            roles.insert(&spec.name, Item::Table(table));
        }
    }

    /// The role's table, written either as `[roles.<name>]` or inline.
    fn role_table(&mut self, name: &str) -> Option<&mut dyn TableLike> {
        self.doc
            .get_mut("roles")?
            .as_table_like_mut()?
            .get_mut(name)?
            .as_table_like_mut()
    }

    fn last_role_position(&self) -> Option<isize> {
        let roles = self.doc.get("roles")?.as_table()?;
        roles
            .iter()
            .filter_map(|(_, item)| item.as_table()?.position())
            .max()
            .or_else(|| roles.position())
    }
}

fn string_array(values: &[String]) -> Value {
    let mut array = Array::new();
    for v in values {
        array.push(v.as_str());
    }
    Value::Array(array)
}

/// Replaces a key's value, keeping the comments around the old value.
fn set_value(table: &mut dyn TableLike, key: &str, mut value: Value) {
    if let Some(Item::Value(old)) = table.get(key) {
        *value.decor_mut() = old.decor().clone();
    }
    table.insert(key, Item::Value(value));
}

/// Appends `value` unless present, in the style of the existing elements.
/// In a one-per-line array the new element gets its own line with the same
/// indentation, and a comment after the old last element stays on that line.
fn append_unique(array: &mut Array, value: &str) {
    if array.iter().any(|v| v.as_str() == Some(value)) {
        return;
    }
    let mut new = Value::from(value);
    let Some(last) = array.iter().last() else {
        array.push(value);
        return;
    };
    let last_prefix = last
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_owned();
    match last_prefix.rfind('\n') {
        Some(newline) if array.trailing_comma() => {
            let indent = &last_prefix[newline + 1..];
            // `trailing` is what follows the last comma: a comment and the
            // newline before `]`. The part up to its last newline stays with
            // the old last line; the new element starts a line after it.
            let trailing = array.trailing().as_str().unwrap_or("\n").to_owned();
            let (head, tail) = match trailing.rfind('\n') {
                Some(i) => (trailing[..=i].to_owned(), trailing[i + 1..].to_owned()),
                None => ("\n".to_owned(), trailing.clone()),
            };
            new.decor_mut().set_prefix(format!("{head}{indent}"));
            new.decor_mut().set_suffix("");
            array.push_formatted(new);
            array.set_trailing(format!("\n{tail}"));
        }
        _ => {
            // One line: `[a, b]` becomes `[a, b, c]`; any space before `]`
            // stays before `]`.
            let last_index = array.len() - 1;
            let suffix = array
                .get(last_index)
                .and_then(|v| v.decor().suffix().and_then(|s| s.as_str()))
                .unwrap_or("")
                .to_owned();
            if let Some(last) = array.get_mut(last_index) {
                last.decor_mut().set_suffix("");
            }
            new.decor_mut().set_prefix(" ");
            new.decor_mut().set_suffix(suffix);
            array.push_formatted(new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = r#"# Who may do what.
permissions = [
    "items:read",
    "items:write",
    "items:delete",
]

# Full access.
[roles.admin]
description = "Every permission"
permissions = ["*"]

[roles.editor]
description = "Reads and writes items"
permissions = ["items:write"]
inherits = ["viewer"]

[roles.viewer]
description = "Reads items"
permissions = ["items:read"]
"#;

    fn problems(text: &str) -> Vec<String> {
        Policy::parse(text)
            .unwrap()
            .problems()
            .into_iter()
            .map(|p| p.render(text))
            .collect()
    }

    #[test]
    fn the_default_policy_is_valid_and_flattens_inheritance() {
        let policy = Policy::parse(DEFAULT).unwrap();
        assert!(policy.problems().is_empty());
        let effective = policy.effective();
        assert_eq!(effective["admin"].len(), 3);
        assert_eq!(
            effective["editor"].iter().collect::<Vec<_>>(),
            ["items:read", "items:write"]
        );
        assert_eq!(
            effective["viewer"].iter().collect::<Vec<_>>(),
            ["items:read"]
        );
    }

    #[test]
    fn unknown_permissions_missing_parents_and_cycles_are_named() {
        let text = "permissions = [\"a:read\"]\n\n[roles.x]\npermissions = [\"a:write\"]\ninherits = [\"y\"]\n\n[roles.y]\npermissions = []\ninherits = [\"x\"]\n\n[roles.z]\npermissions = []\ninherits = [\"ghost\"]\n";
        let found = problems(text);
        assert!(
            found
                .iter()
                .any(|p| p.contains("line 4, column 16") && p.contains("role `x` grants `a:write`")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.contains("cycle: x → y → x")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains("role `z` inherits `ghost`, which is not defined")),
            "{found:?}"
        );
        assert_eq!(
            found.iter().filter(|p| p.contains("cycle")).count(),
            1,
            "{found:?}"
        );
    }

    #[test]
    fn duplicates_are_errors() {
        let err = Policy::parse("[roles.a]\npermissions = []\n[roles.a]\npermissions = []\n")
            .unwrap_err();
        assert!(err.render("").contains("duplicate"), "{err:?}");
        let found = problems(
            "permissions = [\"a:b\", \"a:b\"]\n[roles.r]\npermissions = [\"a:b\", \"a:b\"]\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn unknown_keys_are_located() {
        let text = "permissions = []\n[roles.a]\npermissions = []\ncolour = \"red\"\n";
        let err = Policy::parse(text).unwrap_err();
        assert!(
            err.render(text)
                .contains("line 4, column 10: role `a` has an unknown key `colour`"),
            "{}",
            err.render(text)
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(check_permission_name("items:read").is_ok());
        assert!(
            check_permission_name("items")
                .unwrap_err()
                .contains("resource:action")
        );
        assert!(
            check_permission_name("Items:read")
                .unwrap_err()
                .contains("resource must start with a lowercase")
        );
        assert!(check_role_name("auditor").is_ok());
        assert!(check_role_name("Auditor").is_err());
        assert!(check_role_name("a b").is_err());
    }

    #[test]
    fn a_new_role_goes_after_the_last_role_and_keeps_everything_else() {
        let mut editor = PolicyEditor::new(DEFAULT).unwrap();
        editor.put_role(&RoleSpec {
            name: "auditor".into(),
            description: Some("Reads everything".into()),
            permissions: vec!["items:read".into()],
            inherits: vec![],
        });
        let out = editor.finish();
        assert_eq!(
            out,
            format!(
                "{DEFAULT}\n[roles.auditor]\ndescription = \"Reads everything\"\npermissions = [\"items:read\"]\n"
            )
        );
    }

    #[test]
    fn a_permission_is_appended_in_the_array_style_it_finds() {
        let mut editor = PolicyEditor::new(DEFAULT).unwrap();
        editor.declare_permission("reports:read");
        editor.grant("viewer", "reports:read");
        editor.grant("viewer", "reports:read"); // idempotent
        let out = editor.finish();
        assert!(
            out.contains("    \"items:delete\",\n    \"reports:read\",\n]"),
            "{out}"
        );
        assert!(
            out.contains("permissions = [\"items:read\", \"reports:read\"]\n"),
            "{out}"
        );
    }

    /// The fixtures shared with the generated service's parser (see
    /// `tests/fixtures/rbac/README.md`), as (file name, text).
    fn fixtures(kind: &str) -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rbac")
            .join(kind);
        let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect();
        out.sort();
        assert!(out.len() >= 5, "too few fixtures in {}", dir.display());
        out
    }

    /// Every message the policy gets: its parse error, or its problems.
    fn verdict(text: &str) -> Vec<String> {
        match Policy::parse(text) {
            Err(e) => vec![e.render(text)],
            Ok(policy) => policy.problems().iter().map(|p| p.render(text)).collect(),
        }
    }

    #[test]
    fn the_shared_fixtures_to_accept_are_accepted() {
        for (name, text) in fixtures("accept") {
            assert_eq!(verdict(&text), Vec::<String>::new(), "{name}");
        }
        let template = include_str!("../templates/config/rbac.toml");
        assert_eq!(
            verdict(template),
            Vec::<String>::new(),
            "the template's policy"
        );
    }

    #[test]
    fn the_shared_fixtures_to_refuse_are_refused_with_their_message() {
        for (name, text) in fixtures("refuse") {
            let expected = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# refuse:"))
                .unwrap_or_else(|| panic!("{name} does not start with `# refuse:`"))
                .trim();
            let messages = verdict(&text);
            assert!(!messages.is_empty(), "{name} is accepted");
            assert!(
                messages.iter().any(|m| m.contains(expected)),
                "{name}: no message contains `{expected}`: {messages:?}"
            );
        }
    }
}
