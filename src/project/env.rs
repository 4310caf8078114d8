//! The `.env` format: a project's local settings, one `KEY=VALUE` a line.
//!
//! `nestflux new` writes `.env` (git-ignored: it holds the project's local
//! passwords); the generated service reads it in development (dotenvy);
//! `nestflux dev` reads the issuer, the client and the test users'
//! passwords from it; `nestflux add role` appends the new test user's
//! password to it; and `audit-config` reads every committed env file
//! (`.env.example`, `.env.production`, …) the same way. This module is the
//! one reader and writer of the format for all of them.
//!
//! What is read: `KEY=VALUE` and `export KEY=VALUE`; blank lines and lines
//! starting with `#` are skipped, as are lines without `=` or whose key is
//! not a name. A value loses surrounding quotes (`"…"` or `'…'`) or, when
//! unquoted, a trailing ` # comment`, and surrounding whitespace.

use crate::diagnostics::char_column;

/// The local settings file of a project, at its root.
pub const ENV_FILE: &str = ".env";

/// A `KEY=VALUE` assignment and where it is. The audit's readers of other
/// configuration files (YAML, TOML, Dockerfile `ENV`) give the same shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub key: String,
    /// The value without surrounding quotes or a trailing comment.
    pub value: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters, of the key and of the value's first
    /// character.
    pub key_column: usize,
    pub value_column: usize,
}

impl Assignment {
    /// Line and column of the key.
    pub fn key_at(&self) -> (usize, usize) {
        (self.line, self.key_column)
    }

    /// Line and column of the value.
    pub fn value_at(&self) -> (usize, usize) {
        (self.line, self.value_column)
    }
}

/// Every assignment of an env file's `text`, in the order of the file.
pub fn parse(text: &str) -> Vec<Assignment> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let mut rest = &line[indent..];
        let mut start = indent;
        if let Some(after) = rest.strip_prefix("export ") {
            start += rest.len() - after.trim_start().len();
            rest = after.trim_start();
        }
        if rest.starts_with('#') {
            continue;
        }
        let Some(eq) = rest.find('=') else { continue };
        let key = rest[..eq].trim_end();
        if !is_key(key) {
            continue;
        }
        let raw = &rest[eq + 1..];
        let value_start = start + eq + 1 + (raw.len() - raw.trim_start().len());
        out.push(Assignment {
            key: key.to_owned(),
            value: unquote(raw.trim(), true),
            line: index + 1,
            key_column: char_column(line, start),
            value_column: char_column(line, value_start),
        });
    }
    out
}

/// Whether `text` assigns `key` (even an empty value).
pub fn sets(text: &str, key: &str) -> bool {
    parse(text).iter().any(|a| a.key == key)
}

/// `text` with `KEY=value` appended after a blank line and the `comment`
/// (one line, without its `# `); `None` when `text` assigns `key` already.
/// A missing final newline is added first, so no line is joined.
pub fn append(text: &str, comment: &str, key: &str, value: &str) -> Option<String> {
    if sets(text, key) {
        return None;
    }
    let mut new = text.to_owned();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&format!("\n# {comment}\n{key}={value}\n"));
    Some(new)
}

/// The variable holding the password of `role`'s test user (`test-<role>`):
/// `DEV_PASSWORD_<ROLE>`, upper case with `-` as `_` (a shell name), as
/// `nestflux new` and `nestflux add role` write it and `nestflux dev` reads it.
pub fn password_var(role: &str) -> String {
    format!(
        "DEV_PASSWORD_{}",
        role.to_ascii_uppercase().replace('-', "_")
    )
}

/// Whether `key` can be an assignment's key: letters, digits, `_`, `-` and
/// `.`, not starting with `-` or `.` (env files hold shell names; the
/// configuration files the audit reads also dotted and dashed keys).
pub(crate) fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !key.starts_with(['-', '.'])
}

/// A value as written after its `=` (trimmed): without matching quotes or,
/// unquoted, without a trailing ` # comment` (for a value starting with `#`
/// only when `hash_comments` says env-file rules apply).
pub(crate) fn unquote(raw: &str, hash_comments: bool) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = raw.strip_prefix(quote)
            && let Some(end) = inner.find(quote)
        {
            return inner[..end].to_owned();
        }
    }
    let raw = match raw.find(" #") {
        Some(i) if hash_comments || !raw.starts_with('#') => &raw[..i],
        _ => raw,
    };
    raw.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_keep_columns_and_lose_quotes_and_comments() {
        let found = parse("# c\nA=1\n  export B = \"two words\"\nC=x # note\nnot a line\n");
        assert_eq!(found.len(), 3);
        assert_eq!((found[0].key.as_str(), found[0].value.as_str()), ("A", "1"));
        assert_eq!(found[0].value_at(), (2, 3));
        assert_eq!(found[1].value, "two words");
        assert_eq!(found[1].key_at(), (3, 10));
        assert_eq!(found[2].value, "x");
    }

    #[test]
    fn lines_that_are_not_assignments_are_skipped() {
        let found = parse("\n#A=1\n  # B=2\n=3\n-D=4\nE F=5\nG='x' # y\nH=\n");
        let pairs: Vec<_> = found
            .iter()
            .map(|a| (a.key.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(pairs, [("G", "x"), ("H", "")]);
        assert!(sets("H=\n", "H"));
        assert!(!sets("# H=1\n", "H"));
    }

    #[test]
    fn a_variable_is_appended_once_after_a_comment() {
        let text = "A=1";
        let new = append(text, "Added for a test.", "B", "two").unwrap();
        assert_eq!(new, "A=1\n\n# Added for a test.\nB=two\n");
        assert_eq!(parse(&new)[1].value, "two");
        assert_eq!(append(&new, "again", "B", "three"), None);
        assert_eq!(append("", "c", "B", "x").unwrap(), "\n# c\nB=x\n");
    }

    #[test]
    fn a_roles_password_variable_is_a_shell_name() {
        assert_eq!(password_var("editor"), "DEV_PASSWORD_EDITOR");
        assert_eq!(password_var("read-only"), "DEV_PASSWORD_READ_ONLY");
    }
}
