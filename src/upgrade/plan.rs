//! The per-file decisions of an upgrade: for every file in the baseline or
//! the new render, what the user did to it (compared with the baseline) and
//! what the templates did to it (the baseline compared with the new render)
//! decide what happens, before anything is written.

use std::fmt;
use std::path::Path;

use super::apply::Op;
use super::data;
use super::merge::{self, Labels};
use crate::project::PROJECT_FILE;
use crate::rbac::RBAC_FILE;
use crate::render::FileSet;

/// Generated database migrations: never rewritten, never deleted, only new
/// ones added (a migration that has run must stay as it ran).
pub const MIGRATIONS_DIR: &str = "migrations/";

/// What happens to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    /// The project already has the new version.
    UpToDate,
    /// Unchanged by you, changed by the templates: the new version.
    Updated,
    /// Changed by you, unchanged by the templates: yours, as it is.
    Kept,
    /// Changed by you and by the templates, in different places: both.
    Merged,
    /// New in the templates: added.
    Added,
    /// Removed from the templates and unchanged by you: deleted.
    Deleted,
    /// Removed from the templates but changed by you: kept, now yours.
    KeptRemoved,
    /// Deleted by you: stays deleted.
    StaysDeleted,
    /// A migration the templates changed or removed: kept as it is.
    MigrationKept,
    /// `nestflux.toml` or `config/rbac.toml` gained what the new version
    /// needs; nothing of yours changed.
    Extended,
    /// Changed by both in the same place, or a file of yours where the
    /// templates now add one: written with conflict markers, or left for
    /// you when markers cannot help (see the entry's note).
    Conflict,
}

impl Decision {
    /// In the order the summary lists them.
    pub const ALL: [Decision; 11] = [
        Decision::Conflict,
        Decision::Updated,
        Decision::Merged,
        Decision::Added,
        Decision::Deleted,
        Decision::Extended,
        Decision::Kept,
        Decision::KeptRemoved,
        Decision::StaysDeleted,
        Decision::MigrationKept,
        Decision::UpToDate,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Decision::UpToDate => "up to date",
            Decision::Updated => "updated",
            Decision::Kept => "kept yours",
            Decision::Merged => "merged",
            Decision::Added => "added",
            Decision::Deleted => "deleted",
            Decision::KeptRemoved => "kept (removed from templates)",
            Decision::StaysDeleted => "stays deleted",
            Decision::MigrationKept => "migration kept",
            Decision::Extended => "extended",
            Decision::Conflict => "conflict",
        }
    }

    /// Whether the file is listed one by one (the others are only counted).
    pub fn is_listed(self) -> bool {
        !matches!(self, Decision::UpToDate | Decision::Kept)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The decision for one file, with the three versions it was made from.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: String,
    pub decision: Decision,
    pub base: Option<Vec<u8>>,
    pub ours: Option<Vec<u8>>,
    pub theirs: Option<Vec<u8>>,
    /// What to write (`None`: the file is left as it is).
    pub op: Option<Op>,
    /// Said beside the file in the report.
    pub note: Option<String>,
}

impl Entry {
    /// The project's text after the upgrade (`None`: no such file).
    pub fn result(&self) -> Option<&[u8]> {
        match &self.op {
            Some(Op::Write { contents, .. }) => Some(contents),
            Some(Op::Delete { .. }) => None,
            None => self.ours.as_deref(),
        }
    }

    /// Whether the entry writes conflict markers (rather than leaving the
    /// file for the user).
    pub fn has_markers(&self) -> bool {
        self.decision == Decision::Conflict && self.op.is_some()
    }
}

/// Every decision of one upgrade, sorted by path.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

impl Plan {
    pub fn count(&self, decision: Decision) -> usize {
        self.entries
            .iter()
            .filter(|e| e.decision == decision)
            .count()
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| e.decision == Decision::Conflict)
    }

    pub fn has_conflicts(&self) -> bool {
        self.conflicts().next().is_some()
    }

    /// The writes and deletions, in path order.
    pub fn ops(&self) -> Vec<Op> {
        self.entries.iter().filter_map(|e| e.op.clone()).collect()
    }

    /// Whether the upgrade changes any file of the project.
    pub fn changes_files(&self) -> bool {
        self.entries.iter().any(|e| e.op.is_some())
    }
}

/// What the plan is made from.
pub struct Sides<'a> {
    /// The project root (rustfmt runs there, with its `rustfmt.toml`).
    pub root: &'a Path,
    /// The baseline: the managed files as nestflux last wrote them.
    pub base: &'a FileSet,
    /// The new render of the same inputs with this nestflux.
    pub theirs: &'a FileSet,
    /// The project's files at those paths (a missing path: no such file).
    pub ours: &'a FileSet,
    /// The labels of conflict markers.
    pub labels: &'a Labels,
}

/// Decides every file of `base` ∪ `theirs`.
pub fn plan(sides: &Sides<'_>) -> anyhow::Result<Plan> {
    let mut paths: Vec<&String> = sides.base.keys().chain(sides.theirs.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut entries = Vec::new();
    for path in paths {
        let base = sides.base.get(path);
        let theirs = sides.theirs.get(path);
        // A checkout with CRLF line endings (git's autocrlf on Windows) is
        // compared and merged with LF, as nestflux writes, and what is
        // written goes back to CRLF: line endings alone are no edit.
        let crlf = sides.ours.get(path).is_some_and(|o| is_crlf(o));
        let ours_lf = sides
            .ours
            .get(path)
            .map(|o| if crlf { to_lf(o) } else { o.clone() });
        let ours_lf = ours_lf.as_ref();
        let (decision, mut op, note) = if path == PROJECT_FILE || path == RBAC_FILE {
            decide_data(path, base, ours_lf, theirs)?
        } else if path.starts_with(MIGRATIONS_DIR) {
            decide_migration(path, base, ours_lf, theirs)
        } else {
            decide(sides, path, base, ours_lf, theirs)
        };
        if crlf && let Some(Op::Write { contents, .. }) = &mut op {
            *contents = to_crlf(contents);
        }
        let ours = sides.ours.get(path);
        entries.push(Entry {
            path: path.clone(),
            decision,
            base: base.cloned(),
            ours: ours.cloned(),
            theirs: theirs.cloned(),
            op,
            note,
        });
    }
    Ok(Plan { entries })
}

type Outcome = (Decision, Option<Op>, Option<String>);

/// Files the templates stopped writing because their code moved, and where
/// it went: `items` became a resource in 0.4.0.
const MOVED: &[(&str, &str)] = &[
    ("src/routes/items.rs", "src/resources/items/mod.rs"),
    (
        "src/repo/items.rs",
        "src/resources/items/repo.rs and model.rs",
    ),
    (
        "tests/api/items.rs",
        "tests/api/resources/items.rs and tests/api/requests.rs",
    ),
];

/// Every line ends with CRLF (and there is at least one).
fn is_crlf(bytes: &[u8]) -> bool {
    let newlines = bytes.iter().filter(|b| **b == b'\n').count();
    newlines > 0 && bytes.windows(2).filter(|w| w == b"\r\n").count() == newlines
}

fn to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, b) in bytes.iter().enumerate() {
        if !(*b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            out.push(*b);
        }
    }
    out
}

fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    for b in bytes {
        if *b == b'\n' {
            out.push(b'\r');
        }
        out.push(*b);
    }
    out
}

fn write(path: &str, contents: &[u8]) -> Option<Op> {
    Some(Op::write(path, contents.to_vec()))
}

fn decide(
    sides: &Sides<'_>,
    path: &str,
    base: Option<&Vec<u8>>,
    ours: Option<&Vec<u8>>,
    theirs: Option<&Vec<u8>>,
) -> Outcome {
    match (base, ours, theirs) {
        (_, Some(o), Some(t)) if o == t => (Decision::UpToDate, None, None),
        (Some(b), Some(o), Some(t)) if o == b => (Decision::Updated, write(path, t), None),
        (Some(b), Some(_), Some(t)) if b == t => (Decision::Kept, None, None),
        (Some(b), Some(o), Some(t)) => merge(sides, path, b, o, t),
        (Some(b), None, Some(t)) => {
            let note = (b != t).then(|| {
                "the templates changed it since; `nestflux upgrade --dry-run` shows how".to_owned()
            });
            (Decision::StaysDeleted, None, note)
        }
        (Some(b), Some(o), None) if o == b => (
            Decision::Deleted,
            Some(Op::Delete {
                path: path.to_owned(),
            }),
            None,
        ),
        (Some(_), Some(_), None) => (
            Decision::KeptRemoved,
            None,
            Some(match MOVED.iter().find(|(old, _)| *old == path) {
                Some((_, new)) => format!(
                    "no longer generated: its code is now in {new}; kept because you changed it (it is no longer compiled): carry your change over, then delete it"
                ),
                None => {
                    "no longer generated; kept because you changed it, it is yours now".to_owned()
                }
            }),
        ),
        (None, None, Some(t)) => (Decision::Added, write(path, t), None),
        (None, Some(o), Some(t)) => {
            // A file of yours where the templates now add one: both sides
            // added it, as git calls it; the markers hold both versions.
            let note = Some(format!(
                "you created this file, and nestflux {} generates one too: both are in the file between markers",
                sides.labels.theirs.trim_start_matches("nestflux ")
            ));
            match (std::str::from_utf8(o), std::str::from_utf8(t)) {
                (Ok(o), Ok(t)) => {
                    let marked = merge::merge_labelled("", o, t, sides.labels)
                        .unwrap_or_else(|clean| clean);
                    (Decision::Conflict, write(path, marked.as_bytes()), note)
                }
                _ => (
                    Decision::Conflict,
                    None,
                    Some("you created this binary file, and nestflux generates one too: left as it is".to_owned()),
                ),
            }
        }
        // Gone on every side, or never there: nothing to decide.
        (_, None, None) | (None, Some(_), None) => (Decision::UpToDate, None, None),
    }
}

fn merge(sides: &Sides<'_>, path: &str, base: &[u8], ours: &[u8], theirs: &[u8]) -> Outcome {
    let (Ok(b), Ok(o), Ok(t)) = (
        std::str::from_utf8(base),
        std::str::from_utf8(ours),
        std::str::from_utf8(theirs),
    ) else {
        return (
            Decision::Conflict,
            None,
            Some("a binary file changed by you and by the templates: left as it is".to_owned()),
        );
    };
    match merge::merge_labelled(b, o, t, sides.labels) {
        Ok(merged) => (Decision::Merged, write(path, merged.as_bytes()), None),
        Err(marked) => {
            if path.ends_with(".rs")
                && let Some(merged) = merge::merge_formatted(sides.root, b, o, t)
            {
                return (
                    Decision::Merged,
                    write(path, merged.as_bytes()),
                    Some("merged after formatting all three versions with rustfmt".to_owned()),
                );
            }
            (Decision::Conflict, write(path, marked.as_bytes()), None)
        }
    }
}

fn decide_migration(
    path: &str,
    base: Option<&Vec<u8>>,
    ours: Option<&Vec<u8>>,
    theirs: Option<&Vec<u8>>,
) -> Outcome {
    const NEVER: &str =
        "migrations are never rewritten or deleted: one that has run must stay as it ran";
    match (base, ours, theirs) {
        (_, Some(o), Some(t)) if o == t => (Decision::UpToDate, None, None),
        (Some(b), Some(_), Some(t)) if b == t => (Decision::Kept, None, None),
        (Some(_), Some(_), Some(_)) => (
            Decision::MigrationKept,
            None,
            Some(format!(
                "the templates changed this migration; {NEVER} (write a new migration for what you need)"
            )),
        ),
        (Some(_), Some(_), None) => (
            Decision::MigrationKept,
            None,
            Some(format!("no longer generated; {NEVER}")),
        ),
        (None, None, Some(t)) => (Decision::Added, write(path, t), None),
        (Some(_), None, Some(_)) => (
            Decision::StaysDeleted,
            None,
            Some("a generated migration you deleted".to_owned()),
        ),
        (None, Some(_), Some(_)) => (
            Decision::Conflict,
            None,
            Some(
                "a migration of yours has the name of a new generated one: rename yours (a later number), then run `nestflux upgrade` again"
                    .to_owned(),
            ),
        ),
        (_, None, None) | (None, Some(_), None) => (Decision::UpToDate, None, None),
    }
}

/// `nestflux.toml` and `config/rbac.toml` hold the user's data: never
/// merged as text, only extended with what the new version adds.
fn decide_data(
    path: &str,
    base: Option<&Vec<u8>>,
    ours: Option<&Vec<u8>>,
    theirs: Option<&Vec<u8>>,
) -> anyhow::Result<Outcome> {
    fn text(bytes: Option<&Vec<u8>>) -> Option<&str> {
        bytes.and_then(|b| std::str::from_utf8(b).ok())
    }
    let (Some(ours), Some(theirs)) = (text(ours), text(theirs)) else {
        return Ok(match ours {
            None if theirs.is_some() => (
                Decision::StaysDeleted,
                None,
                Some("the service needs it: restore it from version control".to_owned()),
            ),
            _ => (Decision::UpToDate, None, None),
        });
    };
    let extended = if path == RBAC_FILE {
        data::extend_policy(text(base), ours, theirs)
    } else {
        data::extend_project_file(text(base), ours, theirs)
    };
    Ok(match extended {
        Ok(None) => (Decision::UpToDate, None, None),
        Ok(Some((new, added))) => (
            Decision::Extended,
            write(path, new.as_bytes()),
            Some(added.join("; ")),
        ),
        Err(why) => (Decision::Conflict, None, Some(why)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> FileSet {
        files
            .iter()
            .map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec()))
            .collect()
    }

    /// The plan for these sides, in a project directory of its own.
    fn plan_of(base: &[(&str, &str)], ours: &[(&str, &str)], theirs: &[(&str, &str)]) -> Plan {
        let dir = tempfile::tempdir().unwrap();
        let (base, ours, theirs) = (set(base), set(ours), set(theirs));
        plan(&Sides {
            root: dir.path(),
            base: &base,
            theirs: &theirs,
            ours: &ours,
            labels: &Labels::default(),
        })
        .unwrap()
    }

    fn decisions(
        base: &[(&str, &str)],
        ours: &[(&str, &str)],
        theirs: &[(&str, &str)],
    ) -> Vec<(String, Decision)> {
        plan_of(base, ours, theirs)
            .entries
            .into_iter()
            .map(|e| (e.path, e.decision))
            .collect()
    }

    #[test]
    fn each_combination_of_sides_has_its_decision() {
        let got = decisions(
            &[
                ("same", "a\n"),
                ("fixed", "a\n"),
                ("edited", "a\n"),
                ("gone", "a\n"),
                ("gone-edited", "a\n"),
                ("deleted", "a\n"),
            ],
            &[
                ("same", "a\n"),
                ("fixed", "a\n"),
                ("edited", "mine\n"),
                ("gone", "a\n"),
                ("gone-edited", "mine\n"),
                ("new-mine", "x\n"),
            ],
            &[
                ("same", "a\n"),
                ("fixed", "b\n"),
                ("edited", "a\n"),
                ("deleted", "b\n"),
                ("new", "n\n"),
                ("new-mine", "y\n"),
            ],
        );
        let expected = [
            ("deleted", Decision::StaysDeleted),
            ("edited", Decision::Kept),
            ("fixed", Decision::Updated),
            ("gone", Decision::Deleted),
            ("gone-edited", Decision::KeptRemoved),
            ("new", Decision::Added),
            ("new-mine", Decision::Conflict),
            ("same", Decision::UpToDate),
        ];
        let expected: Vec<(String, Decision)> = expected
            .iter()
            .map(|(p, d)| ((*p).to_owned(), *d))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn crlf_line_endings_alone_are_no_edit_and_stay_crlf() {
        let plan = plan_of(
            &[("a.rs", "one\ntwo\n")],
            &[("a.rs", "one\r\ntwo\r\n")],
            &[("a.rs", "one\nTWO\n")],
        );
        assert_eq!(plan.entries[0].decision, Decision::Updated);
        assert_eq!(plan.entries[0].result(), Some(&b"one\r\nTWO\r\n"[..]));
    }

    #[test]
    fn migrations_are_only_ever_added() {
        let m = "migrations/sqlite/0001_x.sql";
        let n = "migrations/sqlite/0002_y.sql";
        let got = decisions(
            &[(m, "create a;\n")],
            &[(m, "create a;\n")],
            &[(m, "create a2;\n"), (n, "create b;\n")],
        );
        assert_eq!(
            got,
            [
                (m.to_owned(), Decision::MigrationKept),
                (n.to_owned(), Decision::Added)
            ]
        );
        let got = decisions(&[(m, "create a;\n")], &[(m, "create a;\n")], &[]);
        assert_eq!(got, [(m.to_owned(), Decision::MigrationKept)]);
        let got = decisions(&[], &[(n, "mine;\n")], &[(n, "create b;\n")]);
        assert_eq!(got, [(n.to_owned(), Decision::Conflict)]);
    }
}
