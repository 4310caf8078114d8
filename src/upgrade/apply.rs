//! Writes and deletes in a project, applied together or not at all.
//!
//! Like [`crate::write::replace_files`], but for new files, deleted files
//! and bytes too: every new content is first written to a temporary file
//! beside its target, and only then are all of them renamed into place (a
//! file to delete is renamed aside, not removed, until the end). If any step
//! fails, everything done so far is taken back: old contents restored, new
//! files and the directories created for them removed.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// One change to a file of the project, by path relative to its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Create or replace the file with these bytes.
    Write { path: String, contents: Vec<u8> },
    /// Remove the file (and the directories it leaves empty).
    Delete { path: String },
}

impl Op {
    pub fn write(path: &str, contents: Vec<u8>) -> Op {
        Op::Write {
            path: path.to_owned(),
            contents,
        }
    }

    pub fn path(&self) -> &str {
        match self {
            Op::Write { path, .. } | Op::Delete { path } => path,
        }
    }
}

/// What was done to one target, to undo it.
enum Done {
    /// The file did not exist: remove it.
    Created(PathBuf),
    /// The file existed with these bytes: write them back.
    Replaced(PathBuf, Vec<u8>, Option<fs::Permissions>),
    /// The file was moved aside to the second path: move it back.
    MovedAside(PathBuf, PathBuf),
}

/// Applies every op under `root`, all or nothing.
pub fn apply(root: &Path, ops: &[Op]) -> anyhow::Result<()> {
    let mut created_dirs = Vec::new();
    let result = stage_and_commit(root, ops, &mut created_dirs);
    if result.is_err() {
        for dir in created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

fn stage_and_commit(
    root: &Path,
    ops: &[Op],
    created_dirs: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    // Stage: every new content in a temporary file beside its target.
    let mut staged = Vec::new();
    for op in ops {
        let Op::Write { path, contents } = op else {
            staged.push(None);
            continue;
        };
        let target = root.join(path);
        let dir = target.parent().unwrap_or(root).to_path_buf();
        create_dirs(&dir, created_dirs)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".nestflux-upgrade-")
            .tempfile_in(&dir)
            .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
        std::io::Write::write_all(&mut tmp, contents)
            .with_context(|| format!("failed to write a temporary file in `{}`", dir.display()))?;
        let permissions = fs::metadata(&target).ok().map(|m| m.permissions());
        match &permissions {
            Some(p) => {
                let _ = fs::set_permissions(tmp.path(), p.clone());
            }
            // tempfile creates private (0600) files; a new project file gets
            // the usual permissions.
            None => set_default_permissions(tmp.path()),
        }
        staged.push(Some((tmp, permissions)));
    }

    // Commit: rename into place (or aside), remembering how to undo.
    let mut done: Vec<Done> = Vec::new();
    for (op, staged) in ops.iter().zip(staged) {
        let target = root.join(op.path());
        let step = match (op, staged) {
            (Op::Write { .. }, Some((tmp, permissions))) => {
                let old = match fs::read(&target) {
                    Ok(bytes) => Some(bytes),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => {
                        undo(done);
                        return Err(e).with_context(|| {
                            format!("failed to read `{}`; nothing was changed", target.display())
                        });
                    }
                };
                tmp.persist(&target)
                    .map(|_| match old {
                        Some(old) => Done::Replaced(target.clone(), old, permissions),
                        None => Done::Created(target.clone()),
                    })
                    .map_err(|e| e.error)
            }
            (Op::Delete { .. }, _) => {
                let aside = aside_path(&target);
                fs::rename(&target, &aside).map(|()| Done::MovedAside(target.clone(), aside))
            }
            (Op::Write { .. }, None) => unreachable!("every write was staged"),
        };
        match step {
            Ok(step) => done.push(step),
            Err(e) => {
                undo(done);
                return Err(e).with_context(|| {
                    format!(
                        "failed to update `{}`; nothing was changed",
                        target.display()
                    )
                });
            }
        }
    }

    // Done: drop what was moved aside, and directories left empty.
    for step in done {
        if let Done::MovedAside(target, aside) = step {
            let _ = fs::remove_file(&aside);
            remove_empty_parents(root, &target);
        }
    }
    Ok(())
}

fn undo(done: Vec<Done>) {
    for step in done.into_iter().rev() {
        match step {
            Done::Created(path) => {
                let _ = fs::remove_file(path);
            }
            Done::Replaced(path, old, permissions) => {
                let _ = fs::write(&path, old);
                if let Some(p) = permissions {
                    let _ = fs::set_permissions(&path, p);
                }
            }
            Done::MovedAside(path, aside) => {
                let _ = fs::rename(aside, path);
            }
        }
    }
}

/// A free name beside `target` to park it under until the end.
fn aside_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = target.parent().unwrap_or(Path::new("."));
    (0u32..)
        .map(|i| dir.join(format!(".{name}.nestflux-deleted-{i}")))
        .find(|p| p.symlink_metadata().is_err())
        .expect("a free name")
}

fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    missing.reverse();
    for d in missing {
        fs::create_dir(d).with_context(|| format!("failed to create `{}`", d.display()))?;
        created.push(d.to_path_buf());
    }
    Ok(())
}

fn remove_empty_parents(root: &Path, file: &Path) {
    for dir in file.ancestors().skip(1) {
        if dir == root || !dir.starts_with(root) || fs::remove_dir(dir).is_err() {
            break;
        }
    }
}

#[cfg(unix)]
fn set_default_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    // What a file created with the usual umask (022) gets.
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o644));
}

#[cfg(not(unix))]
fn set_default_permissions(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(root: &Path, rel: &str) -> Option<String> {
        fs::read_to_string(root.join(rel)).ok()
    }

    #[test]
    fn writes_creates_and_deletes_apply_together() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a.txt"), "old").unwrap();
        fs::create_dir_all(root.join("gone/deeper")).unwrap();
        fs::write(root.join("gone/deeper/x.txt"), "x").unwrap();
        apply(
            root,
            &[
                Op::write("a.txt", b"new".to_vec()),
                Op::write("new/dir/b.txt", b"b".to_vec()),
                Op::Delete {
                    path: "gone/deeper/x.txt".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(read(root, "a.txt").as_deref(), Some("new"));
        assert_eq!(read(root, "new/dir/b.txt").as_deref(), Some("b"));
        assert!(!root.join("gone").exists(), "emptied directories go too");
        let names: Vec<_> = fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
    }

    #[test]
    fn a_failure_takes_back_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a.txt"), "old").unwrap();
        fs::write(root.join("d.txt"), "keep me").unwrap();
        // A directory where a file should go: its rename fails last.
        fs::create_dir_all(root.join("z/blocked/inner")).unwrap();
        let err = apply(
            root,
            &[
                Op::write("a.txt", b"new".to_vec()),
                Op::write("n/new.txt", b"n".to_vec()),
                Op::Delete {
                    path: "d.txt".into(),
                },
                Op::write("z/blocked", b"file".to_vec()),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("nothing was changed"), "{err}");
        assert_eq!(read(root, "a.txt").as_deref(), Some("old"));
        assert_eq!(read(root, "d.txt").as_deref(), Some("keep me"));
        assert!(!root.join("n").exists());
        let mut names: Vec<_> = fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.txt", "d.txt", "z"]);
    }
}
