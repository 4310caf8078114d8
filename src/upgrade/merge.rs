//! Three-way text merges (the `diffy` crate) with git's diff3 conflict
//! markers, the rustfmt fallback for Rust files, and the one detector of
//! leftover conflict markers (used by `upgrade` and by audit rule NF033).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use diffy::{ConflictStyle, IncompleteHunkStyle, MergeOptions};

/// The labels written after the markers. diffy writes `ours`, `original`
/// and `theirs`; `upgrade` names the sides for the person resolving them.
#[derive(Clone, Debug)]
pub struct Labels {
    /// The project's version: `yours`.
    pub ours: String,
    /// The baseline: `nestflux 0.1.0`.
    pub base: String,
    /// The new render: `nestflux 0.2.0`.
    pub theirs: String,
}

impl Default for Labels {
    fn default() -> Self {
        Self {
            ours: "ours".to_owned(),
            base: "original".to_owned(),
            theirs: "theirs".to_owned(),
        }
    }
}

/// Merges the changes `base → ours` and `base → theirs`. `Err` holds the
/// text with diff3 conflict markers (as `git merge-file --diff3` writes
/// them: every marker on a line of its own, the base between `|||||||` and
/// `=======`).
pub fn merge_text(base: &str, ours: &str, theirs: &str) -> Result<String, String> {
    let mut options = MergeOptions::new();
    options
        .set_conflict_style(ConflictStyle::Diff3)
        .set_incomplete_hunk_style(IncompleteHunkStyle::Git);
    options.merge(base, ours, theirs)
}

/// [`merge_text`] with the markers carrying `labels`. Callers have checked
/// that none of the inputs has conflict markers already, so the marker lines
/// diffy writes are the only ones in the output.
pub fn merge_labelled(
    base: &str,
    ours: &str,
    theirs: &str,
    labels: &Labels,
) -> Result<String, String> {
    merge_text(base, ours, theirs).map_err(|conflicted| relabel(&conflicted, labels))
}

fn relabel(text: &str, labels: &Labels) -> String {
    let defaults = Labels::default();
    text.split_inclusive('\n')
        .map(|line| {
            let (body, end) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            for (marker, default, label) in [
                ("<<<<<<<", &defaults.ours, &labels.ours),
                ("|||||||", &defaults.base, &labels.base),
                (">>>>>>>", &defaults.theirs, &labels.theirs),
            ] {
                if body == format!("{marker} {default}") {
                    return format!("{marker} {label}{end}");
                }
            }
            line.to_owned()
        })
        .collect()
}

/// A Rust file's merge that conflicts is tried again with all three sides
/// formatted by rustfmt (edition 2024, the project's own `rustfmt.toml`
/// applies): a conflict that was only a matter of layout then disappears,
/// as JHipster does with prettier on both sides. Only a merge that becomes
/// clean this way is taken (the user's file then comes out formatted); a
/// real conflict keeps the markers of the unformatted merge, and nothing
/// changes when rustfmt is not installed.
pub fn merge_formatted(root: &Path, base: &str, ours: &str, theirs: &str) -> Option<String> {
    let base = rustfmt(root, base)?;
    let ours = rustfmt(root, ours)?;
    let theirs = rustfmt(root, theirs)?;
    merge_text(&base, &ours, &theirs).ok()
}

/// `text` formatted by rustfmt, run in the project directory so that its
/// `rustfmt.toml` counts; `None` when rustfmt is missing or fails.
pub fn rustfmt(root: &Path, text: &str) -> Option<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = text.to_owned();
    // Write from another thread: rustfmt may fill its stdout pipe before it
    // has read all of its input.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

/// Lines (1-based) where a conflict block starts: `<<<<<<<` at the start of
/// a line, followed in order by a `=======` line and a `>>>>>>>` line, as
/// git and `upgrade` write them. A lone `=======` (a Markdown underline) is
/// not a conflict.
pub fn conflict_markers(text: &str) -> Vec<usize> {
    #[derive(PartialEq)]
    enum State {
        Outside,
        Ours(usize),
        Theirs(usize),
    }
    let is = |line: &str, marker: &str| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    };
    let mut found = Vec::new();
    let mut state = State::Outside;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        state = match state {
            _ if is(line, "<<<<<<<") => State::Ours(i + 1),
            State::Ours(start) if is(line, "=======") => State::Theirs(start),
            State::Theirs(start) if is(line, ">>>>>>>") => {
                found.push(start);
                State::Outside
            }
            other => other,
        };
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `git merge-file -p --diff3` on the same three texts: the oracle.
    fn git_merge_file(base: &str, ours: &str, theirs: &str) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let (o, b, t) = (
            path("ours", ours),
            path("base", base),
            path("theirs", theirs),
        );
        let out = Command::new("git")
            .args(["merge-file", "-p", "--diff3"])
            .args(["-L", "ours", "-L", "original", "-L", "theirs"])
            .arg(&o)
            .arg(&b)
            .arg(&t)
            .output()
            .expect("git is installed (the CI installs it)");
        (
            out.status.code() == Some(0),
            String::from_utf8(out.stdout).unwrap(),
        )
    }

    const BASE: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n";

    #[test]
    fn changes_in_different_places_merge_like_git() {
        let ours = "one\ntwo (yours)\nthree\nfour\nfive\nsix\nseven\n";
        let theirs = "one\ntwo\nthree\nfour\nfive\nsix (fixed)\nseven\n";
        let merged = merge_text(BASE, ours, theirs).unwrap();
        assert_eq!(
            merged,
            "one\ntwo (yours)\nthree\nfour\nfive\nsix (fixed)\nseven\n"
        );
        assert_eq!(git_merge_file(BASE, ours, theirs), (true, merged));
    }

    #[test]
    fn overlapping_changes_give_the_same_diff3_markers_as_git() {
        let ours = "one\ntwo\nthree (yours)\nfour\nfive\nsix\nseven\n";
        let theirs = "one\ntwo\nthree (fixed)\nfour\nfive\nsix\nseven\n";
        let conflicted = merge_text(BASE, ours, theirs).unwrap_err();
        assert_eq!(
            conflicted,
            "one\ntwo\n<<<<<<< ours\nthree (yours)\n||||||| original\nthree\n=======\nthree (fixed)\n>>>>>>> theirs\nfour\nfive\nsix\nseven\n"
        );
        assert_eq!(git_merge_file(BASE, ours, theirs), (false, conflicted));
    }

    #[test]
    fn a_conflict_at_the_end_of_a_file_without_newline_keeps_markers_on_their_own_lines() {
        let conflicted = merge_text("a\nb", "a\nB", "a\nc").unwrap_err();
        assert_eq!(conflicted, git_merge_file("a\nb", "a\nB", "a\nc").1);
        assert_eq!(conflict_markers(&conflicted), [2]);
    }

    #[test]
    fn markers_name_the_sides() {
        let labels = Labels {
            ours: "yours".into(),
            base: "nestflux 0.1.0".into(),
            theirs: "nestflux 0.2.0".into(),
        };
        let text = merge_labelled("a\n", "b\n", "c\n", &labels).unwrap_err();
        assert_eq!(
            text,
            "<<<<<<< yours\nb\n||||||| nestflux 0.1.0\na\n=======\nc\n>>>>>>> nestflux 0.2.0\n"
        );
    }

    #[test]
    fn a_conflict_that_is_only_layout_merges_after_rustfmt() {
        let base =
            "fn total(first: u32, second: u32) -> u32 {\n    first + second\n}\n\nfn other() {}\n";
        // The user wrote the function on one line (their own layout) and
        // changed `other`; the template changed the body of `total`.
        let ours = "fn total(first: u32, second: u32) -> u32 { first + second }\n\nfn other() { println!(\"mine\"); }\n";
        let theirs = "fn total(first: u32, second: u32) -> u32 {\n    first.saturating_add(second)\n}\n\nfn other() {}\n";
        assert!(merge_text(base, ours, theirs).is_err());
        let dir = tempfile::tempdir().unwrap();
        let merged = merge_formatted(dir.path(), base, ours, theirs)
            .expect("rustfmt is installed (the CI installs it) and the merge is clean");
        assert_eq!(
            merged,
            "fn total(first: u32, second: u32) -> u32 {\n    first.saturating_add(second)\n}\n\nfn other() {\n    println!(\"mine\");\n}\n"
        );
    }

    #[test]
    fn a_real_conflict_stays_one_after_rustfmt() {
        let dir = tempfile::tempdir().unwrap();
        let base = "fn f() -> u32 {\n    1\n}\n";
        assert_eq!(
            merge_formatted(
                dir.path(),
                base,
                "fn f() -> u32 {\n    2\n}\n",
                "fn f() -> u32 {\n    3\n}\n"
            ),
            None
        );
    }

    #[test]
    fn conflict_blocks_are_found_and_lone_markers_are_not() {
        let text = "# Title\n=======\nok\n<<<<<<< yours\na\n||||||| base\nb\n=======\nc\n>>>>>>> nestflux\n";
        assert_eq!(conflict_markers(text), [4]);
        assert!(conflict_markers("a\n<<<<<<< only the start\nb\n").is_empty());
        assert!(conflict_markers("x <<<<<<< y\n=======\n>>>>>>> z\n").is_empty());
    }
}
