//! The project as the rules see it: its `nestflux.toml`, and the text of
//! every file that is (or would be) committed, read once.
//!
//! "Committed" means: not ignored by `.gitignore` (the `ignore` crate, the
//! walker of ripgrep), plus, in a git checkout, every file in git's index,
//! ignored or not: a `.env` added before `.gitignore` listed it is still
//! committed. `target/`, `.git/` and `node_modules/` are never walked, and
//! files larger than [`files::MAX_FILE_BYTES`] or binary are never read.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ignore::WalkBuilder;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::config::ProjectConfig;
use super::formats::{self, files};
use super::scan::{self, Assignment};
use crate::diagnostics::{line_column, located_error};
use crate::error::UserError;
use crate::idp_files::{self, RoleName, UnreadableFile};
use crate::kubernetes::ManifestFile;
use crate::project::{PROJECT_FILE, env};
use crate::rbac::{Policy, RBAC_FILE};

/// A text file of the project.
#[derive(Debug)]
pub struct SourceFile {
    /// Relative to the project root, with `/` separators.
    pub path: String,
    pub text: String,
}

impl SourceFile {
    /// Whether the file says it configures production (`APP_ENV=production`)
    /// or is named so (`.env.production`).
    pub fn is_production(&self) -> bool {
        files::is_production_name(&self.path)
            || scan::config_assignments(&self.text).iter().any(|a| {
                a.key == formats::env::APP_ENV && a.value.eq_ignore_ascii_case("production")
            })
    }
}

/// A Rust source of the service, with comments and test code blanked.
#[derive(Debug)]
pub struct RustSource {
    pub path: String,
    pub code: String,
}

impl RustSource {
    pub fn at(&self, offset: usize) -> (usize, usize) {
        scan::line_column(&self.code, offset)
    }
}

/// A name with its place in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub value: String,
    pub at: (usize, usize),
}

/// `config/rbac.toml`, read with the one parser of the format
/// ([`crate::rbac::Policy`]), and its text to place findings in.
#[derive(Clone, Debug)]
pub struct PolicyFile {
    pub path: String,
    pub text: String,
    pub policy: Policy,
}

impl PolicyFile {
    /// Line and column of a place in the policy, or of its first line when
    /// the place is unknown.
    pub fn at(&self, span: Option<&std::ops::Range<usize>>) -> (usize, usize) {
        span.map_or((1, 1), |s| line_column(&self.text, s.start))
    }
}

/// The roles an identity-provider setup file defines.
#[derive(Clone, Debug)]
pub struct IdpRoles {
    pub path: String,
    pub roles: Vec<Located>,
}

pub struct Project {
    pub root: PathBuf,
    pub config: ProjectConfig,
    /// Every committed text file, sorted by path.
    pub files: Vec<SourceFile>,
    /// Files left unread because they are larger than the bound.
    pub too_large: Vec<String>,
    /// The entries of `[audit] allow`, checked.
    pub allow: Vec<super::suppress::Allow>,
    gitignore: Gitignore,
    pub rbac: Option<PolicyFile>,
    pub idp_roles: Vec<IdpRoles>,
    /// Kubernetes manifests and kustomizations (YAML files that are not
    /// are left out), read with [`crate::kubernetes`].
    pub kubernetes: Vec<ManifestFile>,
    rust: Vec<RustSource>,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("root", &self.root)
            .field("files", &self.files.len())
            .finish()
    }
}

impl Project {
    /// Reads the project at `root` (a directory holding `nestflux.toml`; see
    /// [`crate::project::locate`]). A project whose files cannot be read as
    /// what they are (`nestflux.toml`, `config/rbac.toml`, the identity
    /// provider's files) cannot be audited: that is a usage error (exit 2),
    /// kept apart from findings (exit 1). Failing to read a file at all is a
    /// failure (exit 1).
    pub fn load(root: &Path) -> anyhow::Result<Project> {
        let config_path = root.join(PROJECT_FILE);
        let text = fs::read_to_string(&config_path)
            .with_context(|| format!("failed to read `{}`", config_path.display()))?;
        let config = ProjectConfig::parse(text, &config_path).map_err(UserError::into_usage)?;
        let allow = super::suppress::compile(&config).map_err(UserError::into_usage)?;
        let (mut paths, mut too_large) = walk(root)?;
        let mut gitignore = GitignoreBuilder::new(root);
        if root.join(".gitignore").is_file() {
            // A malformed line is skipped, as git does.
            let _ = gitignore.add(root.join(".gitignore"));
        }
        let gitignore = gitignore.build().unwrap_or_else(|_| Gitignore::empty());

        // Tracked files that `.gitignore` hides from the walk still count.
        if let Some(tracked) = git_tracked(root) {
            for path in tracked {
                let skipped = path
                    .split('/')
                    .any(|part| files::SKIPPED_DIRS.contains(&part));
                if !skipped && !paths.contains_key(&path) {
                    let full = root.join(&path);
                    if let Ok(meta) = fs::metadata(&full)
                        && meta.is_file()
                    {
                        paths.insert(path, meta.len());
                    }
                }
            }
        }

        // Reading (and preparing Rust sources) dominates on large projects:
        // spread it over the available cores.
        let paths: Vec<(String, u64)> = paths.into_iter().collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let chunk = paths.len().div_ceil(threads).max(1);
        let parts: Vec<anyhow::Result<Vec<Read>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = paths
                .chunks(chunk)
                .map(|part| scope.spawn(move || read_files(root, part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a file-reading thread panicked"))
                .collect()
        });
        let mut files = Vec::with_capacity(paths.len());
        let mut rust = Vec::new();
        for part in parts {
            for read in part? {
                match read {
                    Read::Text(file, code) => {
                        rust.extend(code);
                        files.push(file);
                    }
                    Read::TooLarge(path) => too_large.push(path),
                    Read::Binary => {}
                }
            }
        }
        too_large.sort();

        let rbac = files
            .iter()
            .find(|f| f.path == RBAC_FILE)
            .map(|f| read_policy(f, root))
            .transpose()?;
        let idp_roles = files
            .iter()
            .filter_map(|f| {
                let read: fn(&str) -> Result<Vec<RoleName>, UnreadableFile> = match f.path.as_str()
                {
                    idp_files::KEYCLOAK_REALM => idp_files::keycloak_roles,
                    idp_files::AUTHENTIK_BLUEPRINT => idp_files::authentik_roles,
                    _ => return None,
                };
                Some(read(&f.text).map(|roles| IdpRoles {
                    path: f.path.clone(),
                    roles: roles
                        .into_iter()
                        .map(|r| Located {
                            at: line_column(&f.text, r.offset),
                            value: r.name,
                        })
                        .collect(),
                }))
            })
            .collect::<Result<Vec<_>, UnreadableFile>>()
            .map_err(|e| {
                UserError::usage(e.to_string()).with_help(
                    "fix the file: `nestflux audit-config` compares the roles it defines with config/rbac.toml",
                )
            })?;

        let kubernetes = files
            .iter()
            .filter(|f| {
                f.path.ends_with(".yaml")
                    || f.path.ends_with(".yml")
                    || crate::kubernetes::is_kustomization_path(&f.path)
            })
            .filter_map(|f| ManifestFile::read(&f.path, &f.text))
            .collect();

        Ok(Project {
            root: root.to_owned(),
            config,
            files,
            too_large,
            allow,
            gitignore,
            rbac,
            idp_roles,
            kubernetes,
            rust,
        })
    }

    pub fn file(&self, path: &str) -> Option<&SourceFile> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }

    /// Committed env files (`.env`, `.env.production`, `.env.example`, …).
    pub fn env_files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter().filter(|f| files::is_env_file(&f.path))
    }

    /// Files that set environment variables: env files, Dockerfiles and
    /// compose files, each with its assignments.
    pub fn env_sources(&self) -> impl Iterator<Item = (&SourceFile, Vec<Assignment>)> {
        self.files.iter().filter_map(|f| {
            if files::is_env_file(&f.path) {
                Some((f, env::parse(&f.text)))
            } else if files::is_dockerfile(&f.path) || files::is_compose_file(&f.path) {
                Some((f, scan::config_assignments(&f.text)))
            } else {
                None
            }
        })
    }

    /// The Kubernetes manifest at `path`, if the project has one there.
    pub fn manifest(&self, path: &str) -> Option<&ManifestFile> {
        self.kubernetes.iter().find(|m| m.path == path)
    }

    /// Whether the root `.gitignore` ignores `path` (relative).
    pub fn is_gitignored(&self, path: &str) -> bool {
        self.gitignore
            .matched_path_or_any_parents(path, false)
            .is_ignore()
    }

    pub fn has_gitignore(&self) -> bool {
        !self.gitignore.is_empty()
    }

    /// The service's Rust sources (not tests), comments and test code blanked.
    pub fn rust_sources(&self) -> &[RustSource] {
        &self.rust
    }
}

/// What reading one file gave.
enum Read {
    /// A text file, and the prepared code when it is a service Rust source.
    Text(SourceFile, Option<RustSource>),
    TooLarge(String),
    Binary,
}

fn read_files(root: &Path, paths: &[(String, u64)]) -> anyhow::Result<Vec<Read>> {
    let mut out = Vec::with_capacity(paths.len());
    for (path, len) in paths {
        if *len > files::MAX_FILE_BYTES {
            out.push(Read::TooLarge(path.clone()));
            continue;
        }
        let full = root.join(path);
        let bytes =
            fs::read(&full).with_context(|| format!("failed to read `{}`", full.display()))?;
        if bytes[..bytes.len().min(8000)].contains(&0) {
            out.push(Read::Binary);
            continue;
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        let code = files::is_service_rust(path).then(|| RustSource {
            path: path.clone(),
            code: scan::rust_code(&text),
        });
        out.push(Read::Text(
            SourceFile {
                path: path.clone(),
                text,
            },
            code,
        ));
    }
    Ok(out)
}

/// Every file the walk reaches (relative path → size), and those above the
/// size bound.
fn walk(root: &Path) -> anyhow::Result<(BTreeMap<String, u64>, Vec<String>)> {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .ignore(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .parents(false)
        .follow_links(false)
        .filter_entry(|entry| {
            !(entry.file_type().is_some_and(|t| t.is_dir())
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| files::SKIPPED_DIRS.contains(&name)))
        });
    let mut paths = BTreeMap::new();
    let too_large = Vec::new();
    for entry in builder.build() {
        let entry = entry.with_context(|| format!("failed to walk `{}`", root.display()))?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let len = entry.metadata().map_or(0, |m| m.len());
        paths.insert(rel, len);
    }
    Ok((paths, too_large))
}

/// The paths in git's index under `root`, relative to `root`, when `root`
/// is inside a git work tree whose index can be read; `None` otherwise.
fn git_tracked(root: &Path) -> Option<Vec<String>> {
    let root = fs::canonicalize(root).ok()?;
    let (work_tree, git_dir) = root.ancestors().find_map(|dir| {
        let dot_git = dir.join(".git");
        if dot_git.is_dir() {
            Some((dir.to_owned(), dot_git))
        } else if dot_git.is_file() {
            // A worktree or submodule: `gitdir: <path>`.
            let text = fs::read_to_string(&dot_git).ok()?;
            let target = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
            Some((dir.to_owned(), dir.join(target)))
        } else {
            None
        }
    })?;
    let index = fs::read(git_dir.join("index")).ok()?;
    let prefix = root.strip_prefix(&work_tree).ok()?;
    let prefix = prefix
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let entries = parse_git_index(&index)?;
    Some(
        entries
            .into_iter()
            .filter_map(|p| {
                if prefix.is_empty() {
                    Some(p)
                } else {
                    p.strip_prefix(&prefix)?
                        .strip_prefix('/')
                        .map(str::to_owned)
                }
            })
            .collect(),
    )
}

/// The paths of a git index file (versions 2 to 4), or `None` when it is
/// not one this reader understands.
fn parse_git_index(data: &[u8]) -> Option<Vec<String>> {
    if data.len() < 12 || &data[..4] != b"DIRC" {
        return None;
    }
    let version = u32::from_be_bytes(data[4..8].try_into().ok()?);
    let count = u32::from_be_bytes(data[8..12].try_into().ok()?) as usize;
    if !(2..=4).contains(&version) {
        return None;
    }
    let mut paths = Vec::with_capacity(count);
    let mut at = 12;
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = at;
        let flags = u16::from_be_bytes(data.get(at + 60..at + 62)?.try_into().ok()?);
        at += 62;
        if version >= 3 && flags & 0x4000 != 0 {
            at += 2;
        }
        let path = if version == 4 {
            // The number of bytes to drop from the previous path, then the rest.
            let mut byte = *data.get(at)?;
            at += 1;
            let mut strip = usize::from(byte & 0x7f);
            while byte & 0x80 != 0 {
                byte = *data.get(at)?;
                at += 1;
                strip = ((strip + 1) << 7) | usize::from(byte & 0x7f);
            }
            let end = at + data.get(at..)?.iter().position(|b| *b == 0)?;
            let mut path = previous.get(..previous.len().checked_sub(strip)?)?.to_vec();
            path.extend_from_slice(&data[at..end]);
            at = end + 1;
            path
        } else {
            let end = at + data.get(at..)?.iter().position(|b| *b == 0)?;
            let path = data[at..end].to_vec();
            // Entries are padded with NULs to a multiple of eight bytes.
            let len = end - start;
            at = start + (len + 8) / 8 * 8;
            path
        };
        paths.push(String::from_utf8_lossy(&path).into_owned());
        previous = path;
    }
    Some(paths)
}

/// Reads `config/rbac.toml`. A policy that does not parse cannot be
/// audited; the problems a parsed policy may have are the rules' to report.
fn read_policy(file: &SourceFile, root: &Path) -> Result<PolicyFile, UserError> {
    let policy = Policy::parse(&file.text).map_err(|e| {
        located_error(
            &file.text,
            &root.join(&file.path),
            e.span.map_or(0, |s| s.start),
            &e.message,
            "fix the policy: the generated service refuses to start with it too",
        )
        .into_usage()
    })?;
    Ok(PolicyFile {
        path: file.path.clone(),
        text: file.text.clone(),
        policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::TestProject;

    #[test]
    fn ignored_files_are_skipped_but_tracked_ones_are_read() {
        let project = TestProject::new()
            .file(".gitignore", "/ignored.txt\n.env\n")
            .file("ignored.txt", "x")
            .file("kept.txt", "y")
            .file("target/debug/out.txt", "z")
            .file("node_modules/a/index.js", "z")
            .load();
        let paths: Vec<_> = project.files.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"kept.txt"));
        assert!(!paths.contains(&"ignored.txt"));
        assert!(
            !paths
                .iter()
                .any(|p| p.starts_with("target/") || p.starts_with("node_modules/"))
        );
        assert!(project.is_gitignored(".env"));
    }

    #[test]
    fn files_above_the_size_bound_are_never_read() {
        let big = "a".repeat(files::MAX_FILE_BYTES as usize + 1);
        let project = TestProject::new().file("big.txt", &big).load();
        assert!(project.file("big.txt").is_none());
        assert_eq!(project.too_large, ["big.txt"]);
    }

    /// A git index of `version` holding `paths`, laid out as git writes it:
    /// fixed fields, then the path (prefix-compressed in version 4), NUL
    /// padded to a multiple of eight bytes before version 4. In version 3 the
    /// first entry carries the extended flag and its two extra bytes.
    fn git_index(version: u32, paths: &[&str]) -> Vec<u8> {
        let mut data = b"DIRC".to_vec();
        data.extend(version.to_be_bytes());
        data.extend((paths.len() as u32).to_be_bytes());
        let mut previous = "";
        for (i, path) in paths.iter().enumerate() {
            let mut entry = vec![0u8; 60];
            let extended = version == 3 && i == 0;
            let flags = path.len() as u16 | if extended { 0x4000 } else { 0 };
            entry.extend(flags.to_be_bytes());
            if extended {
                entry.extend([0u8; 2]);
            }
            if version == 4 {
                let common = previous
                    .bytes()
                    .zip(path.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                entry.push(u8::try_from(previous.len() - common).unwrap());
                entry.extend(&path.as_bytes()[common..]);
                entry.push(0);
            } else {
                entry.extend(path.as_bytes());
                let padded = (entry.len() + 8) / 8 * 8;
                entry.resize(padded, 0);
            }
            data.extend(entry);
            previous = path;
        }
        data
    }

    #[test]
    fn git_index_paths_are_read_for_every_index_version() {
        let paths = ["a/.env", "a/b.txt", "config/rbac.toml"];
        for version in 2..=4 {
            assert_eq!(
                parse_git_index(&git_index(version, &paths)).as_deref(),
                Some(&paths.map(str::to_owned)[..]),
                "index version {version}"
            );
        }
        assert!(parse_git_index(&git_index(5, &paths)).is_none());
        assert!(parse_git_index(b"nope").is_none());
    }
}
