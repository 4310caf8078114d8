//! `nestflux upgrade`: render a project's recorded inputs with this
//! nestflux and merge the result into the project three-way, against the
//! baseline (what nestflux last wrote there, see [`baseline`]).
//!
//! - [`Upgrade::prepare`] gathers the inputs: the answers of
//!   `nestflux.toml`, the roles of `config/rbac.toml`, the project's own
//!   secrets from its IdP setup files, the baseline, and the project's files;
//! - [`plan::plan`] decides every file (see [`plan::Decision`]);
//! - [`Upgrade::ops`] turns the plan into writes applied all together by
//!   [`apply::apply`], with the new baseline and, when nothing conflicted,
//!   the new recorded version.

pub mod apply;
pub mod baseline;
pub mod data;
pub mod git;
pub mod merge;
pub mod older;
pub mod plan;
pub mod security;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use semver::Version;

use crate::error::UserError;
use crate::idp_files::{AUTHENTIK_BLUEPRINT, KEYCLOAK_REALM};
use crate::project::{PROJECT_FILE, Project};
use crate::rbac::{Policy, RBAC_FILE};
use crate::render::{self, DEFAULT_ROLES, FileSet};
use crate::secrets::Secrets;

use apply::Op;
use baseline::BASELINE_FILE;
use plan::{Decision, Plan};

/// Where the baseline of an upgrade comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaselineSource {
    /// `.nestflux/baseline.tar.gz`.
    Stored,
    /// None stored, but the project records this very nestflux version:
    /// rendering its inputs again gives what it wrote.
    RenderedAgain,
    /// None stored, and an older (or unknown) version: no three-way merge
    /// is possible; `upgrade` offers a review instead.
    Missing,
}

/// Everything an upgrade is decided from.
pub struct Upgrade {
    pub project: Project,
    /// `nestflux-version` of `nestflux.toml`, when readable.
    pub recorded: Option<Version>,
    pub running: Version,
    pub source: BaselineSource,
    /// The baseline's managed files (empty when [`BaselineSource::Missing`]).
    pub base: FileSet,
    /// The new render's managed files.
    pub theirs: FileSet,
    /// The project's files at every path of `base` and `theirs`.
    pub ours: FileSet,
    /// Roles whose test user had no password anywhere (a role written into
    /// `config/rbac.toml` by hand): one was drawn for it.
    pub fresh_passwords: Vec<String>,
}

impl Upgrade {
    /// Reads the project at `root` and renders its inputs.
    pub fn prepare(project: Project) -> anyhow::Result<Upgrade> {
        let root = project.root.clone();
        let project_text = read_text(&root, PROJECT_FILE)?;
        let recorded = data::recorded_version(&project_text);
        let running = security::running_version();
        if let Some(recorded) = &recorded
            && recorded > &running
        {
            return Err(UserError::failure(format!(
                "this project records nestflux {recorded}, newer than this nestflux {running}; nothing was changed"
            ))
            .with_help("install the newer nestflux: cargo install --locked nestflux")
            .into());
        }

        let stored = baseline::read(&root)?;
        let rbac_text = match std::fs::read_to_string(root.join(RBAC_FILE)) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("failed to read `{RBAC_FILE}`"));
            }
        };
        let policy = match &rbac_text {
            Some(text) => Some(Policy::parse(text).map_err(|e| {
                UserError::failure(format!("{}; nothing was changed", e.render(text))).with_help(
                    format!("fix `{RBAC_FILE}`, then run `nestflux upgrade` again"),
                )
            })?),
            None => None,
        };
        let roles = project_roles(policy.as_ref());

        // The project's own secrets: the baseline's (what nestflux wrote)
        // first, else the project's files.
        let mut known = Recovered::default();
        if let Some(stored) = &stored {
            known.fill(&recover_secrets(stored));
        }
        let own_files = read_existing(&root, &[KEYCLOAK_REALM, AUTHENTIK_BLUEPRINT])?;
        known.fill(&recover_secrets(&own_files));
        let role_refs: Vec<&str> = roles.iter().map(String::as_str).collect();
        // Fresh values for what is not recoverable; the secrets that only go
        // to `.env` are drawn too but never written (it is not managed).
        let mut secrets = Secrets::from_os_rng(&role_refs);
        if let Some(client_secret) = known.client_secret {
            secrets.client_secret = client_secret;
        }
        let mut fresh_passwords = Vec::new();
        for role in &roles {
            match known.passwords.get(role) {
                Some(password) => {
                    secrets
                        .user_passwords
                        .insert(role.clone(), password.clone());
                }
                None => fresh_passwords.push(role.clone()),
            }
        }
        let theirs = baseline::managed(render_project(&project, &secrets, &role_refs)?);
        // Only a local IdP's setup has test users.
        if !theirs.contains_key(KEYCLOAK_REALM) && !theirs.contains_key(AUTHENTIK_BLUEPRINT) {
            fresh_passwords.clear();
        }
        let (source, base) = match stored {
            Some(stored) => (BaselineSource::Stored, stored),
            None if recorded.as_ref() == Some(&running) => {
                (BaselineSource::RenderedAgain, theirs.clone())
            }
            None => (BaselineSource::Missing, FileSet::new()),
        };
        let mut paths: Vec<&str> = base
            .keys()
            .chain(theirs.keys())
            .map(String::as_str)
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let ours = read_existing(&root, &paths)?;
        Ok(Upgrade {
            project,
            recorded,
            running,
            source,
            base,
            theirs,
            ours,
            fresh_passwords,
        })
    }

    pub fn root(&self) -> &Path {
        &self.project.root
    }

    /// Files of the project that still hold conflict markers, with the line
    /// of the first: an upgrade is not started over an unfinished one.
    pub fn leftover_conflicts(&self) -> Vec<(String, usize)> {
        self.ours
            .iter()
            .filter_map(|(path, bytes)| {
                let text = std::str::from_utf8(bytes).ok()?;
                let first = *merge::conflict_markers(text).first()?;
                Some((path.clone(), first))
            })
            .collect()
    }

    /// The labels of conflict markers: yours, the baseline's version, ours.
    pub fn labels(&self) -> merge::Labels {
        let recorded = self
            .recorded
            .as_ref()
            .map_or_else(|| "baseline".to_owned(), |v| format!("nestflux {v}"));
        merge::Labels {
            ours: "yours".to_owned(),
            base: recorded,
            theirs: format!("nestflux {}", self.running),
        }
    }

    /// Decides every file. Not available without a baseline.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let labels = self.labels();
        plan::plan(&plan::Sides {
            root: self.root(),
            base: &self.base,
            theirs: &self.theirs,
            ours: &self.ours,
            labels: &labels,
        })
    }

    /// The security fixes shipped since the recorded version that concern
    /// this project (it has, or will have, one of their files).
    pub fn security_fixes(&self) -> Vec<&'static security::Fix> {
        self.security_fixes_in(security::all())
    }

    /// [`Upgrade::security_fixes`] from any list (tests pass their own).
    pub fn security_fixes_in<'a>(&self, fixes: &'a [security::Fix]) -> Vec<&'a security::Fix> {
        security::missing(fixes, self.recorded.as_ref(), &self.running, |file| {
            self.ours.contains_key(file) || self.theirs.contains_key(file)
        })
    }

    /// Whether the project is behind this nestflux: another version is
    /// recorded, or the plan changes a file.
    pub fn is_behind(&self, plan: Option<&Plan>) -> bool {
        self.recorded.as_ref() != Some(&self.running)
            || plan.is_some_and(|p| p.changes_files() || p.has_conflicts())
            || self.source == BaselineSource::RenderedAgain
    }

    /// Every write of the upgrade: the plan's, the new baseline, and (when
    /// nothing conflicted) the new recorded version.
    pub fn ops(&self, plan: &Plan) -> anyhow::Result<Vec<Op>> {
        let mut ops = plan.ops();
        // The new baseline is the new render, except where a conflict left a
        // file for the user without markers: there the old view stays, so
        // that the next run still sees the difference.
        let mut next = self.theirs.clone();
        for entry in plan.conflicts().filter(|e| e.op.is_none()) {
            match self.base.get(&entry.path) {
                Some(old) => next.insert(entry.path.clone(), old.clone()),
                None => next.remove(&entry.path),
            };
        }
        let encoded = baseline::encode(&next)?;
        let current = std::fs::read(self.root().join(BASELINE_FILE)).ok();
        if current.as_deref() != Some(encoded.as_slice()) {
            ops.push(Op::write(BASELINE_FILE, encoded));
        }
        if !plan.has_conflicts() {
            let entry = plan.entries.iter().find(|e| e.path == PROJECT_FILE);
            let text = match entry.and_then(|e| e.result()) {
                Some(bytes) => String::from_utf8(bytes.to_vec())
                    .with_context(|| format!("`{PROJECT_FILE}` is not UTF-8"))?,
                None => read_text(self.root(), PROJECT_FILE)?,
            };
            if let Some(new) =
                data::set_version(&text, &self.running.to_string()).map_err(UserError::failure)?
            {
                ops.retain(|op| op.path() != PROJECT_FILE);
                ops.push(Op::write(PROJECT_FILE, new.into_bytes()));
            }
        }
        ops.sort_by(|a, b| a.path().cmp(b.path()));
        Ok(ops)
    }

    /// Variables `.env.example` gained: the user's `.env` is theirs to
    /// complete (upgrade never writes it).
    pub fn new_env_variables(&self) -> Vec<String> {
        let keys = |files: &FileSet| -> Vec<String> {
            files
                .get(".env.example")
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(env_example_keys)
                .unwrap_or_default()
        };
        let before = keys(&self.base);
        keys(&self.theirs)
            .into_iter()
            .filter(|k| !before.contains(k))
            .collect()
    }
}

/// What this nestflux renders for a project's recorded inputs: its answers
/// and its resources (`nestflux.toml`, `[[resources]]`: every resource is
/// rendered again by the new templates) and its roles (`config/rbac.toml`),
/// with its own secrets.
fn render_project(project: &Project, secrets: &Secrets, roles: &[&str]) -> anyhow::Result<FileSet> {
    let (text, file) = crate::project::ProjectFile::read(&project.root.join(PROJECT_FILE))?;
    let resources = resources_to_render(&text, file.resources, &project.answers);
    Ok(render::render_project(
        &project.answers,
        secrets,
        roles,
        &resources,
    )?)
}

/// The project's recorded resources, and `items` for a project made before
/// it became a resource (nestflux 0.4.0): the templates wrote it then, so
/// its `nestflux.toml` does not record it. The new render records it there
/// (the upgrade adds the entry), as `new` does now.
fn resources_to_render(
    project_text: &str,
    mut resources: Vec<crate::resource::Resource>,
    answers: &crate::answers::Answers,
) -> Vec<crate::resource::Resource> {
    if crate::resource::made_before_items_was_a_resource(project_text)
        && !resources.iter().any(|r| r.name == crate::resource::ITEMS)
    {
        // What `new` starts with now; its migration is the first, so first.
        resources.splice(0..0, crate::resource::starting_resources(answers));
    }
    resources
}

/// The roles a project is rendered with: those of its policy, the default
/// roles first in their usual order (the order `new` wrote them in), then
/// the others in the order of the file (the order `add role` appended them
/// in). Without a policy, the default roles.
pub fn project_roles(policy: Option<&Policy>) -> Vec<String> {
    let Some(policy) = policy else {
        return DEFAULT_ROLES.iter().map(|r| (*r).to_owned()).collect();
    };
    let mut roles: Vec<String> = DEFAULT_ROLES
        .iter()
        .filter(|r| policy.role(r).is_some())
        .map(|r| (*r).to_owned())
        .collect();
    for role in &policy.roles {
        if !roles.contains(&role.name) {
            roles.push(role.name.clone());
        }
    }
    roles
}

/// Secrets found in a project's IdP setup files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    pub client_secret: Option<String>,
    /// Role → its test user's password.
    pub passwords: BTreeMap<String, String>,
}

impl Recovered {
    fn fill(&mut self, other: &Recovered) {
        if self.client_secret.is_none() {
            self.client_secret.clone_from(&other.client_secret);
        }
        for (role, password) in &other.passwords {
            self.passwords
                .entry(role.clone())
                .or_insert_with(|| password.clone());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.client_secret.is_none() && self.passwords.is_empty()
    }
}

/// The client secret and test-user passwords written in the Keycloak realm
/// or the Authentik blueprint of `files` (test users are `test-<role>`).
/// Unreadable files give nothing: the render then draws fresh values, as
/// `new` would.
pub fn recover_secrets(files: &FileSet) -> Recovered {
    let mut found = Recovered::default();
    let text = |path: &str| files.get(path).and_then(|b| std::str::from_utf8(b).ok());
    if let Some(realm) =
        text(KEYCLOAK_REALM).and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
    {
        let clients = realm["clients"].as_array().cloned().unwrap_or_default();
        found.client_secret = clients
            .iter()
            .find_map(|c| c["secret"].as_str().map(str::to_owned));
        for user in realm["users"].as_array().into_iter().flatten() {
            let Some(role) = user["username"]
                .as_str()
                .and_then(|u| u.strip_prefix("test-"))
            else {
                continue;
            };
            let password = user["credentials"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "password")
                .and_then(|c| c["value"].as_str());
            if let Some(password) = password {
                found.passwords.insert(role.to_owned(), password.to_owned());
            }
        }
    }
    if let Some(blueprint) = text(AUTHENTIK_BLUEPRINT)
        .and_then(|t| serde_norway::from_str::<serde_norway::Value>(t).ok())
    {
        let entries = blueprint
            .get("entries")
            .and_then(serde_norway::Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        for entry in &entries {
            let model = entry.get("model").and_then(serde_norway::Value::as_str);
            let attr = |key: &str| {
                entry
                    .get("attrs")
                    .and_then(|a| a.get(key))
                    .and_then(serde_norway::Value::as_str)
            };
            match model {
                Some("authentik_providers_oauth2.oauth2provider") => {
                    if let Some(secret) = attr("client_secret") {
                        found.client_secret.get_or_insert_with(|| secret.to_owned());
                    }
                }
                Some("authentik_core.user") => {
                    if let (Some(role), Some(password)) = (
                        attr("username").and_then(|u| u.strip_prefix("test-")),
                        attr("password"),
                    ) {
                        found.passwords.insert(role.to_owned(), password.to_owned());
                    }
                }
                _ => {}
            }
        }
    }
    found
}

/// The variable names of an `.env.example`, commented-out ones included.
fn env_example_keys(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start().trim_start_matches('#').trim_start();
            let (key, _) = line.split_once('=')?;
            let valid = !key.is_empty()
                && key.starts_with(|c: char| c.is_ascii_uppercase())
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            valid.then(|| key.to_owned())
        })
        .collect()
}

fn read_text(root: &Path, rel: &str) -> anyhow::Result<String> {
    let path = root.join(rel);
    std::fs::read_to_string(&path).with_context(|| format!("failed to read `{}`", path.display()))
}

/// The files of `paths` that exist under `root`.
fn read_existing(root: &Path, paths: &[&str]) -> anyhow::Result<FileSet> {
    let mut out = FileSet::new();
    for rel in paths {
        let path: PathBuf = root.join(rel);
        match std::fs::read(&path) {
            Ok(bytes) => {
                out.insert((*rel).to_owned(), bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("failed to read `{}`", path.display()));
            }
        }
    }
    Ok(out)
}

/// Counts of a plan by decision, for the summary line.
pub fn summary(plan: &Plan) -> String {
    let parts: Vec<String> = Decision::ALL
        .iter()
        .filter_map(|d| {
            let n = plan.count(*d);
            (n > 0).then(|| {
                let label = if *d == Decision::Conflict && n > 1 {
                    "conflicts".to_owned()
                } else {
                    d.label().to_owned()
                };
                format!("{n} {label}")
            })
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests;
