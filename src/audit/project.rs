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

use super::formats::{self, files};
use super::scan::{self, Assignment};
use crate::answers::{self, PROJECT_FILE, ProjectConfig};
use crate::error::UserError;

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

/// A role of `config/rbac.toml`.
#[derive(Clone, Debug)]
pub struct Role {
    pub name: String,
    pub at: (usize, usize),
    pub permissions: Vec<Located>,
    pub inherits: Vec<Located>,
}

/// `config/rbac.toml`, parsed.
#[derive(Clone, Debug)]
pub struct RbacPolicy {
    pub path: String,
    pub roles: Vec<Role>,
}

impl RbacPolicy {
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
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
    pub rbac: Option<RbacPolicy>,
    pub idp_roles: Vec<IdpRoles>,
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
    /// The project root for `path`: `path` itself (or the directory of a
    /// `nestflux.toml` given as `path`) when it holds `nestflux.toml`.
    pub fn find(path: &Path) -> Result<PathBuf, UserError> {
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
                UserError::usage(format!("`{}` does not exist", path.display()))
                    .with_help("pass the directory of a project made by `nestflux new`"),
            );
        }
        if path.join(PROJECT_FILE).is_file() {
            return Ok(path.to_owned());
        }
        let mut help = format!(
            "run it in the project's directory, or pass that directory: `nestflux audit-config path/to/project` (the one holding `{PROJECT_FILE}`)"
        );
        if let Some(ancestor) = std::path::absolute(path).ok().and_then(|p| {
            p.ancestors()
                .skip(1)
                .find(|a| a.join(PROJECT_FILE).is_file())
                .map(Path::to_owned)
        }) {
            help = format!(
                "`{}` is a nestflux project; run `nestflux audit-config {}`",
                ancestor.display(),
                ancestor.display()
            );
        }
        Err(UserError::usage(format!(
            "`{}` is not a nestflux project: it has no `{PROJECT_FILE}`",
            path.display()
        ))
        .with_help(help))
    }

    /// Reads the project at `root` (a directory holding `nestflux.toml`).
    pub fn load(root: &Path) -> anyhow::Result<Project> {
        let config = answers::read_project_config(&root.join(PROJECT_FILE))?;
        let allow = super::suppress::compile(&config)?;
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
            .find(|f| f.path == formats::rbac::PATH)
            .map(|f| parse_rbac(f, root))
            .transpose()?;
        let idp_roles = files
            .iter()
            .filter_map(|f| match f.path.as_str() {
                formats::idp::KEYCLOAK_REALM => Some(keycloak_roles(f)),
                formats::idp::AUTHENTIK_BLUEPRINT => Some(Ok(authentik_roles(f))),
                _ => None,
            })
            .collect::<anyhow::Result<Vec<_>>>()?;

        Ok(Project {
            root: root.to_owned(),
            config,
            files,
            too_large,
            allow,
            gitignore,
            rbac,
            idp_roles,
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
                Some((f, scan::env_assignments(&f.text)))
            } else if files::is_dockerfile(&f.path) || files::is_compose_file(&f.path) {
                Some((f, scan::config_assignments(&f.text)))
            } else {
                None
            }
        })
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

fn parse_rbac(file: &SourceFile, root: &Path) -> anyhow::Result<RbacPolicy> {
    use formats::rbac;
    use toml::de::{DeTable, DeValue};
    let path = root.join(&file.path);
    let table = DeTable::parse(&file.text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        answers::located_error(
            &file.text,
            &path,
            offset,
            e.message().trim_end(),
            "fix the policy; the audit reads it as TOML",
        )
    })?;
    let at = |offset: usize| scan::line_column(&file.text, offset);
    let strings = |value: Option<&toml::Spanned<DeValue<'_>>>| -> Vec<Located> {
        let Some(value) = value else {
            return Vec::new();
        };
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| {
                    item.get_ref().as_str().map(|s| Located {
                        value: s.to_owned(),
                        at: at(item.span().start),
                    })
                })
                .collect(),
            DeValue::String(s) => vec![Located {
                value: s.to_string(),
                at: at(value.span().start),
            }],
            _ => Vec::new(),
        }
    };
    let mut roles = Vec::new();
    if let Some(DeValue::Table(table)) = table.get_ref().get(rbac::ROLES_TABLE).map(|v| v.get_ref())
    {
        for (name, role) in table {
            let DeValue::Table(body) = role.get_ref() else {
                continue;
            };
            roles.push(Role {
                name: name.get_ref().to_string(),
                at: at(name.span().start),
                permissions: strings(body.get(rbac::PERMISSIONS_KEY)),
                inherits: strings(body.get(rbac::INHERITS_KEY)),
            });
        }
    }
    roles.sort_by_key(|r| r.at);
    Ok(RbacPolicy {
        path: file.path.clone(),
        roles,
    })
}

/// The place of `"name": "<value>"` in a JSON text, or the file's start.
fn json_name_at(text: &str, value: &str) -> (usize, usize) {
    let quoted = format!("\"{value}\"");
    text.match_indices(&quoted)
        .find(|(i, _)| {
            let before = text[..*i].trim_end();
            before
                .strip_suffix(':')
                .is_some_and(|b| b.trim_end().ends_with("\"name\""))
        })
        .map_or((1, 1), |(i, _)| scan::line_column(text, i))
}

fn keycloak_roles(file: &SourceFile) -> anyhow::Result<IdpRoles> {
    use formats::idp;
    let json: serde_json::Value = serde_json::from_str(&file.text).map_err(|e| {
        UserError::failure(format!(
            "`{}` line {}, column {}: {e}",
            file.path,
            e.line(),
            e.column()
        ))
        .with_help("the audit reads it as a Keycloak realm export (JSON)")
    })?;
    let builtin = |name: &str| {
        idp::KEYCLOAK_BUILTIN_ROLES.contains(&name)
            || idp::KEYCLOAK_BUILTIN_ROLE_PREFIXES
                .iter()
                .any(|p| name.starts_with(p))
    };
    let mut names = Vec::new();
    let roles = &json["roles"];
    if let Some(realm) = roles["realm"].as_array() {
        names.extend(realm.iter().filter_map(|r| r["name"].as_str()));
    }
    if let Some(clients) = roles["client"].as_object() {
        for (client, list) in clients {
            if idp::KEYCLOAK_BUILTIN_CLIENTS.contains(&client.as_str()) {
                continue;
            }
            if let Some(list) = list.as_array() {
                names.extend(list.iter().filter_map(|r| r["name"].as_str()));
            }
        }
    }
    let mut located: Vec<Located> = Vec::new();
    for name in names.into_iter().filter(|n| !builtin(n)) {
        if !located.iter().any(|l| l.value == name) {
            located.push(Located {
                value: name.to_owned(),
                at: json_name_at(&file.text, name),
            });
        }
    }
    Ok(IdpRoles {
        path: file.path.clone(),
        roles: located,
    })
}

/// Groups of an Authentik blueprint, read line by line (no YAML parser):
/// each `- model: authentik_core.group` entry of `entries:` and its first
/// `name:`.
fn authentik_roles(file: &SourceFile) -> IdpRoles {
    let mut roles: Vec<Located> = Vec::new();
    let mut entry_indent = None;
    let mut in_entries = false;
    let mut model: Option<String> = None;
    let mut name: Option<Located> = None;
    let mut flush = |model: &mut Option<String>, name: &mut Option<Located>| {
        if model.as_deref() == Some(formats::idp::AUTHENTIK_GROUP_MODEL)
            && let Some(n) = name.take()
            && !roles.iter().any(|r| r.value == n.value)
        {
            roles.push(n);
        }
        *model = None;
        *name = None;
    };
    for (index, line) in file.text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if indent == 0 {
            flush(&mut model, &mut name);
            in_entries = trimmed.starts_with("entries:");
            entry_indent = None;
            continue;
        }
        if !in_entries {
            continue;
        }
        let mut rest = trimmed;
        let mut offset = indent;
        if let Some(after) = trimmed.strip_prefix("- ") {
            let expected = *entry_indent.get_or_insert(indent);
            if indent == expected {
                flush(&mut model, &mut name);
            }
            offset += trimmed.len() - after.trim_start().len();
            rest = after.trim_start();
        }
        let unquote = |v: &str| v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned();
        if let Some(value) = rest.strip_prefix("model:") {
            model = Some(unquote(value));
        } else if let Some(value) = rest.strip_prefix("name:")
            && name.is_none()
        {
            let value_offset = offset + "name:".len() + (value.len() - value.trim_start().len());
            name = Some(Located {
                value: unquote(value),
                at: (index + 1, scan::char_column(line, value_offset)),
            });
        }
    }
    flush(&mut model, &mut name);
    IdpRoles {
        path: file.path.clone(),
        roles,
    }
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

    #[test]
    fn git_index_paths_are_read_for_every_index_version() {
        // One entry, `a/.env`, in a version 2 index.
        let mut data = b"DIRC".to_vec();
        data.extend(2u32.to_be_bytes());
        data.extend(1u32.to_be_bytes());
        let mut entry = vec![0u8; 60];
        entry.extend(6u16.to_be_bytes());
        entry.extend(b"a/.env");
        // 62 + 6 = 68 bytes, padded with NULs to 72.
        entry.extend([0u8; 4]);
        data.extend(&entry);
        assert_eq!(parse_git_index(&data).unwrap(), ["a/.env"]);
        assert!(parse_git_index(b"nope").is_none());
    }

    #[test]
    fn a_folder_without_nestflux_toml_is_not_a_project() {
        let dir = tempfile::tempdir().unwrap();
        let err = Project::find(dir.path()).unwrap_err();
        assert!(err.usage);
        assert!(
            err.message.contains("is not a nestflux project"),
            "{}",
            err.message
        );
        assert!(err.help[0].contains("nestflux audit-config path/to/project"));
    }

    #[test]
    fn authentik_groups_are_read_from_the_blueprint() {
        let file = SourceFile {
            path: formats::idp::AUTHENTIK_BLUEPRINT.to_owned(),
            text: "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: editor\n  - model: authentik_core.application\n    attrs:\n      name: app\n  - identifiers:\n      name: viewer\n    model: authentik_core.group\n".to_owned(),
        };
        let roles: Vec<_> = authentik_roles(&file)
            .roles
            .into_iter()
            .map(|r| (r.value, r.at))
            .collect();
        assert_eq!(
            roles,
            [
                ("editor".to_owned(), (5, 13)),
                ("viewer".to_owned(), (10, 13))
            ]
        );
    }
}
