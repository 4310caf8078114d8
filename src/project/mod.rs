//! A generated project on disk: finding it, and reading its answers.
//!
//! Every command that works on an existing project (`add`, `audit-config`,
//! and those to come: `dev`, `add resource`, `upgrade`, `add deploy`) finds
//! it the same way, with the same messages:
//!
//! ```text
//! let root = project::locate(args.project.as_deref(), project::PROJECT_FLAG)?;
//! let project = Project::open(&root)?;      // every answer present, or an error
//! ```
//!
//! - Given a path (`--project DIR`, or `audit-config`'s PATH): that
//!   directory, or the directory of a `nestflux.toml` given as a file. No
//!   search: a path that is not a project is an error, whose help names the
//!   project above it when there is one.
//! - Given nothing: the nearest directory at or above the current one that
//!   holds a `nestflux.toml`, like cargo finds `Cargo.toml`.
//!
//! Every error is a usage error (exit 2) naming the fix.

pub mod env;
pub mod file;

use std::path::{Path, PathBuf};

pub use file::{PROJECT_FILE, ProjectFile};

use crate::answers::Answers;
use crate::error::UserError;

/// Where a project keeps its baseline, every file as nestflux last wrote it
/// (committed; `nestflux upgrade` merges against it): written by `new`
/// beside the rendered files, kept by `add` and `upgrade`. The format is
/// [`crate::upgrade::baseline`]'s; the README's layout lists the file.
pub const BASELINE_FILE: &str = ".nestflux/baseline.tar.gz";

/// How most commands take the project on their command line, for messages.
pub const PROJECT_FLAG: &str = "`--project DIR`";

/// The root of the project a command works on: `given` (a directory or its
/// `nestflux.toml`), or else the nearest directory at or above the current
/// one holding a `nestflux.toml`. `how` says how the command takes a project
/// on its command line (usually [`PROJECT_FLAG`]); messages name it.
pub fn locate(given: Option<&Path>, how: &str) -> Result<PathBuf, UserError> {
    match given {
        Some(path) => locate_given(path, how),
        None => {
            let cwd = std::env::current_dir().map_err(|e| {
                UserError::usage(format!("cannot read the current directory: {e}"))
                    .with_help(format!("name the project's directory with {how}"))
            })?;
            locate_upwards(&cwd, how)
        }
    }
}

/// The nearest directory at or above `start` holding a `nestflux.toml`.
pub fn locate_upwards(start: &Path, how: &str) -> Result<PathBuf, UserError> {
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_owned());
    start
        .ancestors()
        .find(|dir| dir.join(PROJECT_FILE).is_file())
        .map(Path::to_owned)
        .ok_or_else(|| {
            UserError::usage(format!(
                "`{}` is not inside a nestflux project: no `{PROJECT_FILE}` here or in any parent directory",
                start.display()
            ))
            .with_help(format!(
                "run it inside a project made by `nestflux new`, or name the project's directory with {how}"
            ))
        })
}

/// `path` itself when it is a project's directory or its `nestflux.toml`.
fn locate_given(path: &Path, how: &str) -> Result<PathBuf, UserError> {
    if path.is_file() && path.file_name().is_some_and(|n| n == PROJECT_FILE) {
        let parent = path.parent().unwrap_or(Path::new("."));
        return Ok(if parent.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            parent.to_owned()
        });
    }
    if !path.exists() {
        return Err(
            UserError::usage(format!("`{}` does not exist", path.display())).with_help(format!(
                "name the directory `nestflux new` created (the one holding `{PROJECT_FILE}`) with {how}"
            )),
        );
    }
    if path.join(PROJECT_FILE).is_file() {
        return Ok(path.to_owned());
    }
    let above = std::path::absolute(path).ok().and_then(|p| {
        p.ancestors()
            .skip(1)
            .find(|a| a.join(PROJECT_FILE).is_file())
            .map(Path::to_owned)
    });
    let help = match above {
        Some(root) => format!(
            "`{}` is the nestflux project holding it; name that directory with {how}",
            root.display()
        ),
        None => format!(
            "name the directory `nestflux new` created (the one holding `{PROJECT_FILE}`) with {how}"
        ),
    };
    Err(UserError::usage(format!(
        "`{}` is not a nestflux project: it has no `{PROJECT_FILE}`",
        path.display()
    ))
    .with_help(help))
}

/// A generated project on disk: its root and the answers it was made with.
#[derive(Clone, Debug)]
pub struct Project {
    pub root: PathBuf,
    pub answers: Answers,
}

impl Project {
    /// Opens the project whose root is `root` (see [`locate`]); every answer
    /// must be written in its `nestflux.toml`.
    pub fn open(root: &Path) -> anyhow::Result<Project> {
        let path = root.join(PROJECT_FILE);
        let (_, file) = ProjectFile::read(&path)?;
        let partial = file.answers;
        let missing: Vec<&str> = [
            ("name", partial.name.is_none()),
            ("idp", partial.idp.is_none()),
            ("database", partial.database.is_none()),
            ("features", partial.features.is_none()),
        ]
        .into_iter()
        .filter_map(|(key, absent)| absent.then_some(key))
        .collect();
        let (Some(name), true) = (partial.name.clone(), missing.is_empty()) else {
            return Err(UserError::failure(format!(
                "`{}` lacks `[project]` keys: {}",
                path.display(),
                missing.join(", ")
            ))
            .with_help("restore them from the file `nestflux new` wrote")
            .into());
        };
        Ok(Project {
            root: root.to_path_buf(),
            answers: partial.with_defaults(name),
        })
    }

    /// [`locate`] then [`Project::open`].
    pub fn locate(given: Option<&Path>, how: &str) -> anyhow::Result<Project> {
        Self::open(&locate(given, how)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_in(dir: &Path) {
        std::fs::write(dir.join(PROJECT_FILE), "[project]\n").unwrap();
    }

    #[test]
    fn upwards_finds_the_nearest_project_file() {
        let dir = tempfile::tempdir().unwrap();
        project_in(dir.path());
        let deep = dir.path().join("src/routes");
        std::fs::create_dir_all(&deep).unwrap();
        let root = locate_upwards(&deep, PROJECT_FLAG).unwrap();
        assert_eq!(root, std::path::absolute(dir.path()).unwrap());
    }

    #[test]
    fn upwards_without_a_project_names_the_way_to_give_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate_upwards(dir.path(), PROJECT_FLAG).unwrap_err();
        assert!(err.usage);
        assert!(err.message.contains("is not inside a nestflux project"));
        assert!(err.help[0].contains("`--project DIR`"), "{:?}", err.help);
    }

    #[test]
    fn a_given_directory_or_its_project_file_is_the_root() {
        let dir = tempfile::tempdir().unwrap();
        project_in(dir.path());
        assert_eq!(locate(Some(dir.path()), PROJECT_FLAG).unwrap(), dir.path());
        assert_eq!(
            locate(Some(&dir.path().join(PROJECT_FILE)), PROJECT_FLAG).unwrap(),
            dir.path()
        );
    }

    #[test]
    fn a_given_directory_inside_a_project_names_the_project_but_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        project_in(dir.path());
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let err = locate(Some(&src), "PATH").unwrap_err();
        assert!(err.usage);
        assert!(err.message.contains("is not a nestflux project"));
        assert!(
            err.help[0].contains("is the nestflux project holding it")
                && err.help[0].ends_with("with PATH"),
            "{:?}",
            err.help
        );
        let err = locate(Some(&dir.path().join("nowhere")), PROJECT_FLAG).unwrap_err();
        assert!(err.usage && err.message.contains("does not exist"));
    }

    #[test]
    fn open_names_every_missing_answer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(PROJECT_FILE),
            "[project]\nname = \"x\"\nidp = \"oidc\"\n",
        )
        .unwrap();
        let err = Project::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("lacks `[project]` keys: database, features"),
            "{err}"
        );
    }
}
