//! From an in-memory file set to disk. The whole project is written to a
//! staging directory beside the target and renamed into place in one step
//! (into an existing empty directory: entry by entry, taken back on failure),
//! so a failure at any point leaves no partial project behind, and nothing
//! that already exists is ever overwritten.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::error::UserError;
use crate::render::FileSet;
use crate::ui::Ui;

/// What is at the target path before anything is written.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// Nothing: the directory will be created.
    Missing,
    /// An empty directory: the project takes its place.
    EmptyDir,
}

/// Refuses a target that is a file or a non-empty directory, before any
/// question is asked or anything is written.
pub fn check_target(path: &Path) -> Result<Target, UserError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Target::Missing),
        Err(e) => {
            return Err(UserError::failure(format!(
                "cannot inspect `{}`: {e}",
                path.display()
            )));
        }
    };
    if !meta.is_dir() {
        return Err(UserError::failure(format!(
            "`{}` already exists and is not a directory",
            path.display()
        ))
        .with_help("choose a PATH that does not exist yet"));
    }
    let mut entries = fs::read_dir(path)
        .map_err(|e| UserError::failure(format!("cannot read `{}`: {e}", path.display())))?;
    if entries.next().is_some() {
        return Err(UserError::failure(format!(
            "destination `{}` already exists and is not empty; nothing was written",
            path.display()
        ))
        .with_help("choose a new PATH, or empty that directory first"));
    }
    Ok(Target::EmptyDir)
}

/// Writes `files` into a new directory at `target`, atomically.
pub fn write_project(target: &Path, files: &FileSet, ui: &Ui) -> anyhow::Result<()> {
    let state = check_target(target)?;
    let target = &resolve(target)?;
    let parent = parent_of(target);
    let created_parents = create_parents(&parent)?;
    let result = stage_and_move(target, &parent, files, state, ui);
    if result.is_err() {
        // Remove only the (still empty) directories this run created.
        for dir in created_parents.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

fn stage_and_move(
    target: &Path,
    parent: &Path,
    files: &FileSet,
    state: Target,
    ui: &Ui,
) -> anyhow::Result<()> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The staging directory is dropped (deleted) on every early return.
    let staging = staging_dir(parent, &name)?;
    for (rel, contents) in files {
        let path = staging.path().join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .with_context(|| format!("failed to create directory `{}`", dir.display()))?;
        }
        fs::write(&path, contents)
            .with_context(|| format!("failed to write `{}`", path.display()))?;
        ui.detail(format_args!("wrote {rel}"));
    }
    match state {
        Target::Missing => {
            let staged = staging.keep();
            // One rename: the project appears whole or not at all. rename()
            // fails rather than replace a directory that appeared meanwhile.
            if let Err(e) = fs::rename(&staged, target) {
                let _ = fs::remove_dir_all(&staged);
                return Err(e).with_context(|| {
                    format!(
                        "failed to move the new project into `{}`; nothing was written",
                        target.display()
                    )
                });
            }
            Ok(())
        }
        // The directory is kept (it may be the user's working directory):
        // its new entries move in one by one and leave again on failure.
        Target::EmptyDir => move_entries_into(staging.path(), target),
    }
}

fn move_entries_into(staged: &Path, target: &Path) -> anyhow::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(staged)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    let mut moved: Vec<PathBuf> = Vec::new();
    for name in entries {
        let dest = target.join(&name);
        // rename() would silently replace a file created meanwhile.
        let result = if dest.symlink_metadata().is_ok() {
            Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("`{}` appeared while writing", dest.display()),
            ))
        } else {
            fs::rename(staged.join(&name), &dest)
        };
        if let Err(e) = result {
            for path in moved.iter().rev() {
                remove_any(path);
            }
            return Err(e).with_context(|| {
                format!(
                    "failed to move the new project into `{}`; nothing was written",
                    target.display()
                )
            });
        }
        moved.push(dest);
    }
    Ok(())
}

fn remove_any(path: &Path) {
    let _ = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
}

/// An absolute form of `target`. `.` and `..` (no last component) are
/// resolved to the directory they stand for, so the staging directory goes
/// beside it rather than inside it.
fn resolve(target: &Path) -> anyhow::Result<PathBuf> {
    let resolved = if target.file_name().is_none() {
        target.canonicalize()
    } else {
        std::path::absolute(target)
    };
    resolved.with_context(|| format!("cannot resolve `{}`", target.display()))
}

fn staging_dir(parent: &Path, name: &str) -> anyhow::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    let prefix = format!(".{name}.nestflux-staging-");
    builder.prefix(&prefix);
    // tempfile creates private (0700) directories; the project should get
    // the usual permissions the user's umask gives a new directory.
    #[cfg(unix)]
    let builder = {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(fs::Permissions::from_mode(0o777))
    };
    builder.tempdir_in(parent).with_context(|| {
        format!(
            "failed to create a staging directory in `{}`",
            parent.display()
        )
    })
}

/// The directory that will hold the target; `.` for a bare name.
fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates missing ancestors of the target and returns those it created,
/// outermost first, so a failed run can remove them again.
fn create_parents(parent: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut missing: Vec<PathBuf> = parent
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    for (i, dir) in missing.iter().enumerate() {
        if let Err(e) = fs::create_dir(dir) {
            for created in missing[..i].iter().rev() {
                let _ = fs::remove_dir(created);
            }
            return Err(e).with_context(|| format!("failed to create `{}`", dir.display()));
        }
    }
    Ok(missing)
}

/// A new text for an existing file of a project.
#[derive(Clone, Debug)]
pub struct FileChange {
    pub path: PathBuf,
    /// The path shown to the user (relative to the project).
    pub display: PathBuf,
    pub old: String,
    pub new: String,
}

impl FileChange {
    /// A unified diff of the change, for `--dry-run`.
    pub fn diff(&self) -> String {
        let name = self.display.display().to_string();
        similar::TextDiff::from_lines(&self.old, &self.new)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string()
    }
}

/// Replaces several files together: every new text is written to a
/// temporary file beside its target first, then all are renamed into place.
/// If a rename fails, the files already replaced get their old text back,
/// so the files of one command change together or not at all.
pub fn replace_files(changes: &[FileChange]) -> anyhow::Result<()> {
    let mut staged = Vec::new();
    for change in changes {
        let dir = parent_of(&change.path);
        let mut tmp = tempfile::Builder::new()
            .prefix(".nestflux-edit-")
            .tempfile_in(&dir)
            .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
        io::Write::write_all(&mut tmp, change.new.as_bytes())
            .with_context(|| format!("failed to write a temporary file in `{}`", dir.display()))?;
        // Keep the original's permissions.
        if let Ok(meta) = fs::metadata(&change.path) {
            let _ = fs::set_permissions(tmp.path(), meta.permissions());
        }
        staged.push(tmp);
    }
    for (i, (tmp, change)) in staged.into_iter().zip(changes).enumerate() {
        if let Err(e) = tmp.persist(&change.path) {
            for done in &changes[..i] {
                let _ = fs::write(&done.path, &done.old);
            }
            return Err(e.error).with_context(|| {
                format!(
                    "failed to replace `{}`; nothing was changed",
                    change.path.display()
                )
            });
        }
    }
    Ok(())
}

/// Adds new files to an existing project at `root` and replaces `changes`
/// together: all of them or none. A file is never created where something
/// already exists (checked again at the moment of writing), and on any
/// failure the files and directories this call created are removed and the
/// replaced files get their old text back.
pub fn add_files(root: &Path, files: &FileSet, changes: &[FileChange]) -> anyhow::Result<()> {
    let mut created: Vec<PathBuf> = Vec::new();
    let result = create_files(root, files, &mut created).and_then(|()| replace_files(changes));
    if result.is_err() {
        // Newest first: files, then the directories that held them.
        for path in created.iter().rev() {
            let _ = if path.is_dir() {
                fs::remove_dir(path)
            } else {
                fs::remove_file(path)
            };
        }
    }
    result
}

fn create_files(root: &Path, files: &FileSet, created: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for (rel, contents) in files {
        let path = root.join(rel);
        let dir = parent_of(&path);
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
            .map(Path::to_path_buf)
            .collect();
        for new_dir in missing.into_iter().rev() {
            fs::create_dir(&new_dir)
                .with_context(|| format!("failed to create `{}`", new_dir.display()))?;
            created.push(new_dir);
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".nestflux-new-")
            .tempfile_in(&dir)
            .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
        io::Write::write_all(&mut tmp, contents)
            .with_context(|| format!("failed to write a temporary file in `{}`", dir.display()))?;
        // The usual permissions of a new file, not tempfile's private 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644));
        }
        // `persist_noclobber` fails rather than replace a file that appeared
        // since the caller looked.
        tmp.persist_noclobber(&path).map_err(|e| {
            anyhow::Error::new(e.error).context(format!(
                "`{rel}` exists (or cannot be written); nothing was written"
            ))
        })?;
        created.push(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{ColorChoice, GlobalArgs};

    fn ui() -> Ui {
        Ui::new(&GlobalArgs {
            color: ColorChoice::Never,
            quiet: true,
            verbose: 0,
        })
    }

    fn files() -> FileSet {
        FileSet::from([
            ("a.txt".to_owned(), b"a\n".to_vec()),
            ("src/b.rs".to_owned(), b"fn b() {}\n".to_vec()),
        ])
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut out: Vec<String> = walk(dir)
            .into_iter()
            .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
            .collect();
        out.sort();
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.clone());
            if path.is_dir() {
                out.extend(walk(&path));
            }
        }
        out
    }

    #[test]
    fn a_missing_target_is_created_with_every_file() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("nested/deeper/app");
        write_project(&target, &files(), &ui()).unwrap();
        assert_eq!(
            fs::read_to_string(target.join("src/b.rs")).unwrap(),
            "fn b() {}\n"
        );
        assert_eq!(
            listing(tmp.path()),
            [
                "nested",
                "nested/deeper",
                "nested/deeper/app",
                "nested/deeper/app/a.txt",
                "nested/deeper/app/src",
                "nested/deeper/app/src/b.rs"
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_project_directory_is_not_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        write_project(&target, &files(), &ui()).unwrap();
        let mode = fs::metadata(&target).unwrap().permissions().mode();
        assert_ne!(mode & 0o077, 0, "mode {mode:o}");
    }

    #[test]
    fn an_empty_directory_is_filled() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        fs::create_dir(&target).unwrap();
        write_project(&target, &files(), &ui()).unwrap();
        assert!(target.join("a.txt").is_file());
    }

    #[test]
    fn a_non_empty_directory_is_refused_and_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("a.txt"), "mine").unwrap();
        let err = write_project(&target, &files(), &ui()).unwrap_err();
        assert!(
            err.to_string().contains("already exists and is not empty"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "mine");
        assert_eq!(listing(tmp.path()), ["app", "app/a.txt"]);
    }

    #[test]
    fn a_file_as_target_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        fs::write(&target, "mine").unwrap();
        let err = check_target(&target).unwrap_err();
        assert!(
            err.message.contains("is not a directory"),
            "{}",
            err.message
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "mine");
    }

    #[test]
    fn added_files_are_created_with_their_directories_and_never_replace_one() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("keep.txt"), "old\n").unwrap();
        let change = FileChange {
            path: tmp.path().join("keep.txt"),
            display: PathBuf::from("keep.txt"),
            old: "old\n".to_owned(),
            new: "new\n".to_owned(),
        };
        add_files(tmp.path(), &files(), std::slice::from_ref(&change)).unwrap();
        assert_eq!(
            listing(tmp.path()),
            ["a.txt", "keep.txt", "src", "src/b.rs"]
        );
        assert_eq!(
            fs::read_to_string(tmp.path().join("keep.txt")).unwrap(),
            "new\n"
        );

        // `src/b.rs` exists now: a second run creates nothing and leaves
        // every file as it was, the one it would have replaced included.
        fs::remove_file(tmp.path().join("a.txt")).unwrap();
        let again = FileChange {
            old: "new\n".to_owned(),
            new: "newer\n".to_owned(),
            ..change
        };
        assert!(add_files(tmp.path(), &files(), &[again]).is_err());
        assert_eq!(listing(tmp.path()), ["keep.txt", "src", "src/b.rs"]);
        assert_eq!(
            fs::read_to_string(tmp.path().join("keep.txt")).unwrap(),
            "new\n"
        );
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("new/app");
        // A file whose path runs through another file cannot be written.
        let bad = FileSet::from([
            ("a.txt".to_owned(), b"a".to_vec()),
            ("a.txt/b.txt".to_owned(), b"b".to_vec()),
        ]);
        assert!(write_project(&target, &bad, &ui()).is_err());
        assert_eq!(listing(tmp.path()), Vec::<String>::new());
    }
}
