//! What `upgrade` asks git: whether the working tree is clean, and, after
//! a merge with conflicts, marking each conflicted file as unmerged in git's
//! index with its three versions, so that `git status` shows it as "both
//! modified", `git commit` refuses it until it is resolved, and
//! `git mergetool` and editors' merge views show the real base, yours and
//! the new version (copier's markers were invisible to git, #1350, and then
//! showed the same version three times, #1833).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context as _;

use crate::error::UserError;

/// Whether `root` is in a git working tree: `None` when it is not (or git
/// is not installed and no `.git` is above it).
pub fn work_tree(root: &Path) -> anyhow::Result<Option<GitTree>> {
    let output = Command::new("git")
        .args(["rev-parse", "--is-inside-work-tree", "--show-prefix"])
        .current_dir(root)
        .stderr(Stdio::null())
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            if lines.next() != Some("true") {
                return Ok(None);
            }
            Ok(Some(GitTree {
                root: root.to_path_buf(),
                prefix: lines.next().unwrap_or("").to_owned(),
            }))
        }
        Ok(_) => Ok(None),
        Err(_) => {
            if let Some(repo) = std::path::absolute(root)?
                .ancestors()
                .find(|dir| dir.join(".git").exists())
            {
                return Err(UserError::failure(format!(
                    "`{}` is a git repository, but git could not be run to check for uncommitted changes",
                    repo.display()
                ))
                .with_help("install git, or pass --allow-dirty to upgrade without the check")
                .into());
            }
            Ok(None)
        }
    }
}

/// A project inside a git working tree.
#[derive(Clone, Debug)]
pub struct GitTree {
    root: std::path::PathBuf,
    /// The project's path inside the repository (`""` at the top, or
    /// `services/api/`), as git's index names files.
    prefix: String,
}

impl GitTree {
    /// Uncommitted changes under the project (modified, staged, untracked
    /// and not ignored), as `git status --porcelain` lists them.
    pub fn uncommitted(&self) -> anyhow::Result<Vec<String>> {
        let out = self
            .git(&[
                "status",
                "--porcelain=v1",
                "--untracked-files=all",
                "--",
                ".",
            ])
            .context("failed to run `git status`")?;
        Ok(out.lines().map(str::to_owned).collect())
    }

    /// Marks `path` (relative to the project) as unmerged with the three
    /// versions; `base` is `None` when both sides added the file.
    pub fn mark_unmerged(
        &self,
        path: &str,
        base: Option<&[u8]>,
        ours: &[u8],
        theirs: &[u8],
    ) -> anyhow::Result<()> {
        let full = format!("{}{path}", self.prefix);
        let mut info = format!("0 {}\t{full}\n", "0".repeat(40));
        for (stage, blob) in [(1, base), (2, Some(ours)), (3, Some(theirs))] {
            if let Some(blob) = blob {
                let id = self.hash_object(blob)?;
                info.push_str(&format!("100644 {id} {stage}\t{full}\n"));
            }
        }
        self.git_with_input(&["update-index", "--index-info"], info.as_bytes())
            .with_context(|| format!("failed to mark `{path}` as unmerged in git's index"))?;
        Ok(())
    }

    fn hash_object(&self, blob: &[u8]) -> anyhow::Result<String> {
        let id = self.git_with_input(&["hash-object", "-w", "--stdin"], blob)?;
        Ok(id.trim().to_owned())
    }

    fn git(&self, args: &[&str]) -> anyhow::Result<String> {
        self.git_with_input(args, &[])
    }

    fn git_with_input(&self, args: &[&str], input: &[u8]) -> anyhow::Result<String> {
        let mut child = Command::new("git")
            .args(args)
            .current_dir(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("failed to run git")?;
        let mut stdin = child.stdin.take().context("git's stdin")?;
        let input = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().context("failed to run git")?;
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("writing to git panicked"))??;
        if !out.status.success() {
            anyhow::bail!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `git` in `dir`, for tests; panics on failure.
    pub fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git is installed");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// A committed repository holding `files`.
    pub fn repo(dir: &Path) {
        git(dir, &["init", "-q"]);
        git(dir, &["add", "-A"]);
        git(
            dir,
            &[
                "-c",
                "commit.gpgsign=false",
                "commit",
                "-qm",
                "generated",
                "--allow-empty",
            ],
        );
    }

    #[test]
    fn a_folder_outside_git_is_no_work_tree() {
        let dir = tempfile::tempdir().unwrap();
        assert!(work_tree(dir.path()).unwrap().is_none());
    }

    #[test]
    fn changes_and_untracked_files_are_uncommitted_but_ignored_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        std::fs::write(dir.path().join(".gitignore"), ".env\n").unwrap();
        repo(dir.path());
        let tree = work_tree(dir.path()).unwrap().unwrap();
        assert!(tree.uncommitted().unwrap().is_empty());
        std::fs::write(dir.path().join(".env"), "SECRET=1").unwrap();
        assert!(tree.uncommitted().unwrap().is_empty());
        std::fs::write(dir.path().join("a.txt"), "b").unwrap();
        std::fs::write(dir.path().join("new.txt"), "n").unwrap();
        assert_eq!(tree.uncommitted().unwrap(), [" M a.txt", "?? new.txt"]);
    }

    #[test]
    fn a_conflicted_file_in_a_subdirectory_project_shows_as_both_modified() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("services/api");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(project.join("f.txt"), "base\n").unwrap();
        repo(dir.path());
        let tree = work_tree(&project).unwrap().unwrap();
        tree.mark_unmerged("f.txt", Some(b"base\n"), b"ours\n", b"theirs\n")
            .unwrap();
        let status = git(dir.path(), &["status", "--porcelain"]);
        assert_eq!(status, "UU services/api/f.txt\n");
        let stages = git(dir.path(), &["ls-files", "-s"]);
        assert_eq!(stages.lines().count(), 3, "{stages}");
        assert_eq!(
            git(dir.path(), &["show", ":3:services/api/f.txt"]),
            "theirs\n"
        );
    }
}
