//! The baseline: every file nestflux manages in a project, as nestflux last
//! wrote it. `nestflux upgrade` merges three-way against it, so it must
//! survive a fresh clone: it is kept *in* the project, committed, as one
//! deterministic file, [`BASELINE_FILE`].
//!
//! The format is a gzip-compressed tar archive (`tar tzf` lists it), written
//! so that the same files always give the same bytes: entries sorted by
//! path, regular files only, mode 0644, owner 0, mtime 0, empty user and
//! group names, and a gzip header without a timestamp. It holds only files
//! that are committed: the rendered `.gitignore` decides (so `.env`, the
//! local secrets, is never in it), and never the baseline itself.
//!
//! Who keeps it:
//! - `nestflux new` writes it beside the project ([`attach`]);
//! - `nestflux add` applies each of its edits to the baseline's copy of the
//!   file too ([`replace_files`]), so the baseline stays "what nestflux
//!   would have written" and the edit never looks like the user's own;
//! - `nestflux upgrade` replaces it with the new render.

use std::io::{Read as _, Write as _};
use std::path::{Component, Path};

use anyhow::Context as _;
use ignore::gitignore::GitignoreBuilder;

use super::apply::{self, Op};
use crate::error::UserError;
use crate::render::FileSet;
use crate::write::FileChange;

/// Where the baseline lives, relative to the project root.
pub use crate::project::BASELINE_FILE;

/// The directory nestflux keeps its own state in; never a managed file.
pub const STATE_DIR: &str = ".nestflux/";

/// An upper bound on the unpacked baseline, so that a corrupted or hostile
/// archive cannot exhaust memory. A generated project is well under 1 MiB.
const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;

/// The files of `rendered` that nestflux manages: every rendered file that
/// would be committed. Files the rendered `.gitignore` ignores (`.env`,
/// which holds the project's local secrets) are not managed: `upgrade`
/// never writes them and the baseline never holds them.
pub fn managed(mut rendered: FileSet) -> FileSet {
    let ignored = ignore_rules(&rendered);
    rendered.retain(|path, _| {
        !path.starts_with(STATE_DIR)
            && !ignored
                .matched_path_or_any_parents(Path::new(path), false)
                .is_ignore()
    });
    rendered
}

/// The rules of the rendered `.gitignore` (none when there is none).
fn ignore_rules(rendered: &FileSet) -> ignore::gitignore::Gitignore {
    let mut builder = GitignoreBuilder::new("");
    if let Some(text) = rendered
        .get(".gitignore")
        .and_then(|b| std::str::from_utf8(b).ok())
    {
        for line in text.lines() {
            // A line that is not a valid pattern ignores nothing, as in git.
            let _ = builder.add_line(None, line);
        }
    }
    builder
        .build()
        .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty())
}

/// The rendered files of a new project, with the baseline of its managed
/// files added: the one call `nestflux new` makes.
pub fn attach(mut rendered: FileSet) -> anyhow::Result<FileSet> {
    let baseline = encode(&managed(rendered.clone()))?;
    rendered.insert(BASELINE_FILE.to_owned(), baseline);
    Ok(rendered)
}

/// Packs `files` into the baseline format. Deterministic.
pub fn encode(files: &FileSet) -> anyhow::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    // BTreeMap iteration is sorted by path.
    for (path, contents) in files {
        check_path(path)?;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        tar.append_data(&mut header, path, contents.as_slice())
            .with_context(|| format!("failed to pack `{path}` into the baseline"))?;
    }
    let archive = tar.into_inner().context("failed to finish the baseline")?;
    // No file name and mtime 0 in the gzip header: the bytes depend on the
    // contents alone.
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&archive)
        .context("failed to compress the baseline")?;
    gz.finish().context("failed to compress the baseline")
}

/// Unpacks a baseline. Only regular files with plain relative paths are
/// accepted: the archive is committed, so it is input like any other, and a
/// path such as `../x` or `/etc/x` must never become a file `upgrade`
/// writes or deletes.
pub fn decode(bytes: &[u8]) -> anyhow::Result<FileSet> {
    let corrupt = |what: String| {
        UserError::failure(format!("`{BASELINE_FILE}` is not a valid baseline: {what}"))
            .with_help(format!(
                "restore it from version control (git checkout -- {BASELINE_FILE}), or delete it and run `nestflux upgrade` for the review of a project without one"
            ))
    };
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(gz.take(MAX_UNPACKED_BYTES));
    let mut files = FileSet::new();
    let entries = archive.entries().map_err(|e| corrupt(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(e.to_string()))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(corrupt("it holds something other than regular files".into()).into());
        }
        let path = entry.path().map_err(|e| corrupt(e.to_string()))?;
        let path = path
            .to_str()
            .ok_or_else(|| corrupt("a path is not UTF-8".into()))?
            .to_owned();
        check_path(&path).map_err(|e| corrupt(e.to_string()))?;
        let mut contents = Vec::new();
        entry
            .read_to_end(&mut contents)
            .map_err(|e| corrupt(e.to_string()))?;
        if files.insert(path.clone(), contents).is_some() {
            return Err(corrupt(format!("`{path}` is in it twice")).into());
        }
    }
    Ok(files)
}

/// A managed path: relative, `/`-separated, no `.`/`..`, not inside `.git/`
/// or nestflux's own state.
fn check_path(path: &str) -> anyhow::Result<()> {
    let plain = !path.is_empty()
        && !path.contains('\\')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != ".git")
        && !path.starts_with(STATE_DIR);
    if plain {
        Ok(())
    } else {
        Err(UserError::failure(format!("`{path}` is not a plain relative path")).into())
    }
}

/// Reads the baseline of the project at `root`; `None` when it has none.
pub fn read(root: &Path) -> anyhow::Result<Option<FileSet>> {
    let path = root.join(BASELINE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => decode(&bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to read `{}`", path.display())),
    }
}

/// Replaces the files of one `nestflux add` command together, and applies
/// the same edits to the baseline's copies of those files: the one call
/// `nestflux add` makes instead of [`crate::write::replace_files`].
///
/// An edit is carried to the baseline as a three-way merge (the project's
/// old text → its new text, applied to the baseline's copy): exact when the
/// user never touched the file, and correct when they changed other lines.
/// When it does not apply cleanly, the baseline's copy stays as it was, so
/// the added lines count as the user's own in the next upgrade: kept, never
/// lost. A project without a baseline (made before nestflux kept one) is
/// edited as before.
pub fn replace_files(changes: &[FileChange]) -> anyhow::Result<()> {
    let Some(root) = project_root(changes) else {
        return crate::write::replace_files(changes);
    };
    let Some(mut baseline) = read(&root)? else {
        return crate::write::replace_files(changes);
    };
    let mut ops = Vec::new();
    for change in changes {
        let rel = display_path(&change.display);
        follow_edit(&mut baseline, &rel, &change.old, &change.new);
        ops.push(Op::write(&rel, change.new.as_bytes().to_vec()));
    }
    ops.push(Op::write(BASELINE_FILE, encode(&baseline)?));
    apply::apply(&root, &ops)
}

/// Applies the edit `old → new` of the project's file `rel` to the
/// baseline's copy (see [`replace_files`]).
pub fn follow_edit(baseline: &mut FileSet, rel: &str, old: &str, new: &str) {
    match baseline.get(rel).map(|b| std::str::from_utf8(b)) {
        // A file nestflux never wrote (the user's own) stays out of it.
        None => {}
        Some(Ok(copy)) => {
            if let Ok(merged) = super::merge::merge_text(old, copy, new) {
                baseline.insert(rel.to_owned(), merged.into_bytes());
            }
        }
        Some(Err(_)) => {}
    }
}

/// The project root the changes belong to: each change's path is the root
/// joined with its display path.
fn project_root(changes: &[FileChange]) -> Option<std::path::PathBuf> {
    let first = changes.first()?;
    let depth = first.display.components().count();
    let root = first.path.ancestors().nth(depth)?.to_path_buf();
    changes
        .iter()
        .all(|c| root.join(&c.display) == c.path)
        .then_some(root)
}

fn display_path(display: &Path) -> String {
    display
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> FileSet {
        FileSet::from([
            ("b.txt".to_owned(), b"b\n".to_vec()),
            ("a/deep/x.rs".to_owned(), b"fn x() {}\n".to_vec()),
            (format!("{}/long.txt", "d".repeat(120)), b"long\n".to_vec()),
        ])
    }

    #[test]
    fn the_same_files_always_give_the_same_bytes_and_read_back() {
        let a = encode(&files()).unwrap();
        let b = encode(&files()).unwrap();
        assert_eq!(a, b);
        assert_eq!(decode(&a).unwrap(), files());
        // gzip header: magic, deflate, no flags, mtime 0.
        assert_eq!(&a[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn paths_that_leave_the_project_are_refused_on_read() {
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../x",
            ".git/config",
            ".nestflux/x",
        ] {
            // Build the archive by hand: `encode` refuses these already.
            let mut tar = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_gnu();
            header.set_size(1);
            header.set_entry_type(tar::EntryType::Regular);
            // `set_path` refuses `..`; write the name bytes directly.
            header.as_old_mut().name[..bad.len()].copy_from_slice(bad.as_bytes());
            header.set_cksum();
            tar.append(&header, &b"x"[..]).unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&tar.into_inner().unwrap()).unwrap();
            let err = decode(&gz.finish().unwrap()).unwrap_err();
            assert!(
                err.to_string().contains("is not a valid baseline"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn garbage_is_reported_as_a_broken_baseline() {
        let err = decode(b"not gzip at all").unwrap_err();
        assert!(err.to_string().contains("is not a valid baseline"), "{err}");
    }

    #[test]
    fn git_ignored_files_are_not_managed() {
        let rendered = FileSet::from([
            (".gitignore".to_owned(), b"/target\n.env\n/data\n".to_vec()),
            (".env".to_owned(), b"SECRET=1\n".to_vec()),
            (".env.example".to_owned(), b"SECRET=\n".to_vec()),
            ("data/app.db".to_owned(), b"".to_vec()),
            ("src/main.rs".to_owned(), b"fn main() {}\n".to_vec()),
        ]);
        let kept: Vec<String> = managed(rendered).into_keys().collect();
        assert_eq!(kept, [".env.example", ".gitignore", "src/main.rs"]);
    }

    #[test]
    fn an_edit_follows_into_the_baseline_around_the_users_own_lines() {
        let mut baseline = FileSet::from([("f.txt".to_owned(), b"a\nb\nc\n".to_vec())]);
        // The user changed `a` before the command appended `d`.
        follow_edit(&mut baseline, "f.txt", "A\nb\nc\n", "A\nb\nc\nd\n");
        assert_eq!(baseline["f.txt"], b"a\nb\nc\nd\n");
        // A file nestflux did not write is not adopted into the baseline.
        follow_edit(&mut baseline, "mine.txt", "", "x\n");
        assert!(!baseline.contains_key("mine.txt"));
    }
}
