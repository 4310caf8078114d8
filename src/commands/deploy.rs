//! `nestflux add deploy <target>`: the files a deployment target adds to an
//! existing project, as `nestflux new --deploy <target>` would have written
//! them for the same answers.
//!
//! The project is rendered twice from its `nestflux.toml`, without and with
//! the target; the files only the second has are written, and nothing else:
//! a file the user already has is never replaced. `nestflux.toml` records the
//! target (a `[deploy]` table, where `new` puts it), so what nestflux would
//! render for the recorded answers stays the project's baseline. The
//! baseline `nestflux upgrade` merges against (`.nestflux/baseline.tar.gz`,
//! see [`crate::upgrade::baseline`]) gains the new files and the edit of
//! `nestflux.toml` in the same step. Files both renders have but that differ
//! (none today) are reported, not touched.

use std::path::{Path, PathBuf};

use crate::answers::{Answers, DeploySet, DeployTarget};
use crate::cli::AddDeployArgs;
use crate::error::UserError;
use crate::project::file::{self as project_file, PROJECT_FILE, ProjectFile};
use crate::project::{self, Project};
use crate::render::{self, FileSet};
use crate::secrets::Secrets;
use crate::ui::Ui;
use crate::upgrade::apply::Op;
use crate::upgrade::baseline::{self, BASELINE_FILE};
use crate::write::{self, FileChange};

/// What adding a target to a project means: the new files, the change to
/// `nestflux.toml`, and the files that would differ but are left alone.
#[derive(Debug)]
pub struct Plan {
    pub files: FileSet,
    pub project_file: FileChange,
    pub left_alone: Vec<String>,
    /// The new files the baseline keeps (those that are committed).
    pub managed: Vec<String>,
}

pub fn run(args: AddDeployArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::locate(args.project.as_deref(), project::PROJECT_FLAG)?;
    let target = args.target;
    if project.answers.deploy.contains(target) {
        ui.status(
            "Unchanged",
            format_args!(
                "`{PROJECT_FILE}` already lists `{}` under [deploy]; nothing was written",
                target.key()
            ),
        );
        return Ok(());
    }
    let plan = plan(&project, target)?;

    if args.dry_run {
        let listing = super::new::dry_run_listing(&project.root, &plan.files);
        print!("{listing}");
        print!("{}", plan.project_file.diff());
        report_left_alone(&plan, ui);
        return Ok(());
    }
    apply(&project.root, &plan)?;
    for path in plan.files.keys() {
        ui.detail(format_args!("wrote {path}"));
    }
    ui.status(
        "Added",
        format_args!(
            "{} ({} files in `{}`); `{PROJECT_FILE}` records it under [deploy]",
            target.label(),
            plan.files.len(),
            target.directory()
        ),
    );
    report_left_alone(&plan, ui);
    ui.text(format!(
        "\nNext: read {}README.md, set the image digest and create the Secret it names.",
        target.directory()
    ));
    Ok(())
}

fn report_left_alone(plan: &Plan, ui: &Ui) {
    if !plan.left_alone.is_empty() {
        ui.note(format_args!(
            "left as they are (they differ with the target; `nestflux upgrade` merges such changes): {}",
            plan.left_alone.join(", ")
        ));
    }
}

/// Renders the project with and without `target` and works out what to
/// write. Refuses, before anything is written, a new file whose place is
/// taken.
pub fn plan(project: &Project, target: DeployTarget) -> anyhow::Result<Plan> {
    let before = &project.answers;
    let mut deploy: DeploySet = before.deploy.clone();
    deploy.insert(target);
    let after = Answers {
        deploy,
        ..before.clone()
    };
    after.validate()?;
    // Secrets reach only `.env` and the IdP's files, which exist in both
    // renders and are not written: one set serves both.
    let secrets = Secrets::from_os_rng(render::DEFAULT_ROLES);
    let old = render::render(before, &secrets)?;
    let new = render::render(&after, &secrets)?;

    let mut files = FileSet::new();
    let mut left_alone = Vec::new();
    for (path, contents) in &new {
        match old.get(path) {
            None => {
                files.insert(path.clone(), contents.clone());
            }
            Some(previous) if previous != contents && path != PROJECT_FILE => {
                left_alone.push(path.clone());
            }
            Some(_) => {}
        }
    }
    let taken: Vec<&str> = files
        .keys()
        .filter(|path| project.root.join(path).symlink_metadata().is_ok())
        .map(String::as_str)
        .collect();
    if !taken.is_empty() {
        return Err(UserError::failure(format!(
            "{} of the files `{}` adds already exist; nothing was written",
            taken.len(),
            target.key()
        ))
        .with_detail(taken.join("\n"))
        .with_help(format!(
            "move `{}` aside (or delete it), run the command again, then compare",
            target.directory()
        ))
        .into());
    }
    let managed = baseline::managed(new)
        .into_keys()
        .filter(|path| files.contains_key(path))
        .collect();
    Ok(Plan {
        files,
        project_file: project_file_change(&project.root, target)?,
        left_alone,
        managed,
    })
}

/// Writes the plan, all or nothing: the new files, `nestflux.toml`, and the
/// baseline with the same changes (a project made before nestflux kept a
/// baseline has none to update).
fn apply(root: &Path, plan: &Plan) -> anyhow::Result<()> {
    let Some(mut base) = baseline::read(root)? else {
        return write::add_files(root, &plan.files, std::slice::from_ref(&plan.project_file));
    };
    let mut ops: Vec<Op> = plan
        .files
        .iter()
        .map(|(path, contents)| Op::write(path, contents.clone()))
        .collect();
    for path in &plan.managed {
        base.insert(path.clone(), plan.files[path].clone());
    }
    let change = &plan.project_file;
    baseline::follow_edit(&mut base, PROJECT_FILE, &change.old, &change.new);
    ops.push(Op::write(PROJECT_FILE, change.new.as_bytes().to_vec()));
    ops.push(Op::write(BASELINE_FILE, baseline::encode(&base)?));
    crate::upgrade::apply::apply(root, &ops)
}

/// `nestflux.toml` with `target` added to `[deploy] targets`: a `[deploy]`
/// table inserted before `[audit]` (where `nestflux new` writes it) when the
/// file has none, else the target appended to its list. Everything else in
/// the file stays byte for byte.
fn project_file_change(root: &Path, target: DeployTarget) -> anyhow::Result<FileChange> {
    let path = root.join(PROJECT_FILE);
    let (old, _) = ProjectFile::read(&path)?;
    let mut doc: toml_edit::DocumentMut = old.parse()?;
    let new = match doc.get_mut("deploy") {
        None => {
            let table = project_file::deploy_table(&[target].into_iter().collect::<DeploySet>());
            match old.find("\n[audit]") {
                Some(at) => format!("{}{table}{}", &old[..at], &old[at..]),
                None => {
                    let separator = if old.ends_with('\n') { "" } else { "\n" };
                    format!("{old}{separator}{table}")
                }
            }
        }
        Some(deploy) => {
            let not_a_list = || {
                UserError::failure(format!(
                    "`{}`: `[deploy] targets` is not a list of targets; nothing was written",
                    path.display()
                ))
                .with_help(format!("write it as targets = [\"{}\"]", target.key()))
            };
            let table = deploy.as_table_like_mut().ok_or_else(not_a_list)?;
            let targets = table
                .entry("targets")
                .or_insert(toml_edit::value(toml_edit::Array::new()));
            targets
                .as_array_mut()
                .ok_or_else(not_a_list)?
                .push(target.key());
            doc.to_string()
        }
    };
    // The edit must read back as what it means.
    let reread = ProjectFile::parse(&new, &path)?;
    if !reread.answers.deploy.is_some_and(|d| d.contains(target)) {
        return Err(UserError::failure(format!(
            "could not record `{}` in `{}`; nothing was written (this is a bug in nestflux, please report it)",
            target.key(),
            path.display()
        ))
        .into());
    }
    Ok(FileChange {
        path,
        display: PathBuf::from(PROJECT_FILE),
        old,
        new,
    })
}
