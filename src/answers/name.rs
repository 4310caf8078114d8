//! Project names: the rules a name must follow (it is also a directory, a
//! Cargo package, a crate, a database, a realm and an image name) and a
//! nearby valid name to suggest when it breaks one.

use std::fmt;

use serde::Deserialize;

/// A validated project name: usable as a directory, a Cargo package name
/// and (with `-` turned into `_`) a Rust crate name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName(String);

/// Why a name was refused, and a fixed name to suggest when one exists.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a valid project name: {rule}")]
pub struct NameError {
    pub name: String,
    pub rule: String,
    pub suggestion: Option<String>,
}

/// The name is also the crate, database, realm and image name, and it
/// appears in generated Rust code; 30 characters keep every generated line
/// within rustfmt's width, so a new project passes `cargo fmt --check`
/// whatever its name (the build matrix uses a 30-character name).
const MAX_NAME_LEN: usize = 30;

/// Rust's strict and reserved keywords (2024 edition). A crate cannot be
/// named after one: `use fn::…` would not parse.
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names of crates that ship with Rust; a package with such a name shadows them.
const BUILTIN_CRATES: &[&str] = &["alloc", "core", "proc_macro", "std", "test"];

/// Names cargo reserves for its own output directories.
const CARGO_ARTIFACT_NAMES: &[&str] = &["build", "deps", "examples", "incremental"];

/// Device names Windows refuses as file names.
const WINDOWS_RESERVED: &[&str] = &[
    "aux", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "con", "lpt1",
    "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "nul", "prn",
];

impl ProjectName {
    /// Validates `name` with a rule set like cargo's, stricter where a
    /// service name ends up elsewhere too (container images, realm names):
    /// lowercase ASCII letters, digits, `-` and `_`, starting with a letter.
    pub fn parse(name: &str) -> Result<Self, NameError> {
        match broken_rule(name) {
            None => Ok(Self(name.to_owned())),
            Some(rule) => Err(NameError {
                name: name.to_owned(),
                rule,
                suggestion: suggest(name),
            }),
        }
    }

    /// The package name, as written in `Cargo.toml` and used for directories.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Rust crate name: `my-api` becomes `my_api`.
    pub fn crate_name(&self) -> String {
        self.0.replace('-', "_")
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ProjectName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for ProjectName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(|e| {
            let mut msg = e.to_string();
            if let Some(s) = e.suggestion {
                msg.push_str(&format!(" (try `{s}`)"));
            }
            serde::de::Error::custom(msg)
        })
    }
}

/// The first rule `name` breaks, phrased to finish "… is not a valid project name: ".
fn broken_rule(name: &str) -> Option<String> {
    let Some(first) = name.chars().next() else {
        return Some("the name is empty".to_owned());
    };
    if name.contains(['/', '\\']) {
        return Some("a name cannot contain a path separator".to_owned());
    }
    if let Some(c) = name.chars().find(|c| c.is_ascii_uppercase()) {
        return Some(format!("it must be lowercase (`{c}` is uppercase)"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        let shown = if c.is_whitespace() {
            "a space".to_owned()
        } else {
            format!("`{c}`")
        };
        return Some(format!(
            "only lowercase ASCII letters, digits, `-` and `_` are allowed, and it contains {shown}"
        ));
    }
    if first.is_ascii_digit() {
        return Some("it cannot start with a digit".to_owned());
    }
    if !first.is_ascii_lowercase() {
        return Some(format!("it must start with a letter, not `{first}`"));
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!(
            "it is {} characters long; the maximum is {MAX_NAME_LEN}",
            name.len()
        ));
    }
    let crate_name = name.replace('-', "_");
    if RUST_KEYWORDS.contains(&crate_name.as_str()) {
        return Some(format!("`{crate_name}` is a Rust keyword"));
    }
    if BUILTIN_CRATES.contains(&crate_name.as_str()) {
        return Some(format!(
            "`{crate_name}` is reserved: it names a crate that ships with Rust"
        ));
    }
    if CARGO_ARTIFACT_NAMES.contains(&name) {
        return Some(format!(
            "`{name}` is reserved by cargo for its build directories"
        ));
    }
    if WINDOWS_RESERVED.contains(&name) {
        return Some(format!("`{name}` is a reserved file name on Windows"));
    }
    if let Some(what) = crate::render::taken_names().get(&crate_name) {
        return Some(format!("`{crate_name}` is already {what}"));
    }
    None
}

/// A nearby valid name, or `None` when no obvious fix exists.
fn suggest(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut fixed: String = last
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Leading digits or separators: move the digits to the end so "1api"
    // becomes "api1" rather than losing them.
    let lead: String = fixed
        .chars()
        .take_while(|c| !c.is_ascii_lowercase())
        .collect();
    if !lead.is_empty() {
        let digits: String = lead.chars().filter(char::is_ascii_digit).collect();
        fixed = fixed[lead.len()..].to_owned();
        if fixed.is_empty() {
            fixed = format!("app-{digits}");
        } else if !digits.is_empty() {
            fixed.push_str(&digits);
        }
    }
    while fixed.contains("--") {
        fixed = fixed.replace("--", "-");
    }
    fixed.truncate(MAX_NAME_LEN);
    let fixed = fixed.trim_end_matches('-').to_owned();
    if broken_rule(&fixed).is_some() && !fixed.is_empty() {
        // Keywords and reserved names: keep the word, make it a distinct name.
        let with_suffix = format!("{fixed}-api");
        return (broken_rule(&with_suffix).is_none()).then_some(with_suffix);
    }
    (!fixed.is_empty() && fixed != name && broken_rule(&fixed).is_none()).then_some(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn rule(name: &str) -> String {
        ProjectName::parse(name).unwrap_err().rule
    }

    #[test]
    fn valid_names_are_accepted() {
        for name in ["my-api", "api", "billing_service", "a1", "x-2-y"] {
            assert!(ProjectName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn each_broken_rule_is_named() {
        assert_eq!(rule(""), "the name is empty");
        assert!(rule("a/b").contains("path separator"));
        assert!(rule("My-Api").contains("lowercase"));
        assert!(rule("my api").contains("a space"));
        assert!(rule("my.api").contains("`.`"));
        assert!(rule("1api").contains("cannot start with a digit"));
        assert!(rule("-api").contains("must start with a letter"));
        assert!(rule("fn").contains("Rust keyword"));
        assert!(rule("async").contains("Rust keyword"));
        assert!(rule("test").contains("ships with Rust"));
        assert!(rule("std").contains("ships with Rust"));
        assert!(rule("core").contains("ships with Rust"));
        assert!(rule("proc-macro").contains("ships with Rust"));
        assert!(rule("deps").contains("reserved by cargo"));
        assert!(rule("con").contains("Windows"));
        assert!(rule(&"a".repeat(31)).contains("maximum is 30"));
        assert!(ProjectName::parse(&"a".repeat(30)).is_ok());
    }

    #[test]
    fn names_of_generated_modules_and_dependencies_are_refused_with_a_suggestion() {
        // A crate named like a module of its own tests makes `use audit::…`
        // ambiguous there; one named like a dependency cannot depend on it.
        for (name, named) in [
            ("audit", "module"),
            ("health", "`tests/api/health`"),
            ("config", "`src/config`"),
            ("axum", "dependency"),
            ("serde-json", "dependency"),
        ] {
            assert!(rule(name).contains(named), "{name}: {}", rule(name));
        }
        let error = ProjectName::parse("audit").unwrap_err();
        assert_eq!(error.suggestion.as_deref(), Some("audit-api"));
        // Names that only contain a taken one stay free.
        for name in ["audit-log-api", "my-items", "shop"] {
            assert!(ProjectName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn suggestions_are_valid_names_close_to_the_input() {
        let suggestion = |n: &str| ProjectName::parse(n).unwrap_err().suggestion;
        assert_eq!(suggestion("My-Api").as_deref(), Some("my-api"));
        assert_eq!(suggestion("my api").as_deref(), Some("my-api"));
        assert_eq!(suggestion("1api").as_deref(), Some("api1"));
        assert_eq!(suggestion("123").as_deref(), Some("app-123"));
        assert_eq!(suggestion("fn").as_deref(), Some("fn-api"));
        assert_eq!(suggestion("test").as_deref(), Some("test-api"));
        assert_eq!(suggestion("a/b").as_deref(), Some("b"));
        assert_eq!(suggestion(""), None);
        for bad in [
            "My-Api", "my api", "1api", "123", "fn", "test", "a/b", "x.y.z",
        ] {
            if let Some(s) = suggestion(bad) {
                assert!(ProjectName::parse(&s).is_ok(), "{bad} suggested {s}");
            }
        }
    }

    #[test]
    fn crate_name_replaces_dashes() {
        assert_eq!(ProjectName::parse("my-api").unwrap().crate_name(), "my_api");
    }
}
