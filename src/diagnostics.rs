//! Places in files, for messages: line and column of a byte offset, and the
//! error that shows the offending line. Every reader of a user's file (the
//! project file, presets, the RBAC policy, the identity provider's files,
//! the audit) points at problems the same way.

use std::path::Path;

use crate::error::UserError;

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// 1-based column, in characters, of byte `offset` within `line`.
pub fn char_column(line: &str, offset: usize) -> usize {
    line[..offset.min(line.len())].chars().count() + 1
}

/// An error about the text at byte `offset` of a file: `file line L,
/// column C: message`, with the line shown and a help line. A failure (exit
/// 1) unless the caller decides otherwise with [`UserError::into_usage`].
pub fn located_error(
    text: &str,
    path: &Path,
    offset: usize,
    message: &str,
    help: &str,
) -> UserError {
    let (line, column) = line_column(text, offset);
    let source_line = text.lines().nth(line - 1).unwrap_or_default();
    UserError::failure(format!(
        "`{}` line {line}, column {column}: {message}",
        path.display()
    ))
    .with_detail(format!("{line:>4} | {source_line}"))
    .with_help(help.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one_in_characters() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nxé!", 6), (2, 3));
    }

    #[test]
    fn a_located_error_names_the_place_and_shows_the_line() {
        let err = located_error("a = 1\nb = ?\n", Path::new("f.toml"), 10, "bad", "fix it");
        assert_eq!(err.message, "`f.toml` line 2, column 5: bad");
        assert_eq!(err.detail.as_deref(), Some("   2 | b = ?"));
        assert_eq!(err.help, ["fix it"]);
        assert!(!err.usage);
    }
}
