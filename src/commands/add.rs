//! `nestflux add role` and `nestflux add permission`: grow a generated
//! project's access-control policy after `new`.
//!
//! Every command validates first, computes every file's new text in memory,
//! then writes them all or none (see [`crate::write::replace_files`]).
//! `--dry-run` prints the diff instead.

use std::path::PathBuf;

use crate::cli::{AddPermissionArgs, AddRoleArgs};
use crate::error::UserError;
use crate::idp_files::{self, NewRole};
use crate::project::{self, Project};
use crate::rbac::{self, Policy, PolicyEditor, RBAC_FILE, RoleSpec};
use crate::secrets::Secrets;
use crate::ui::Ui;
use crate::write::FileChange;

pub fn role(args: AddRoleArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::locate(args.project.as_deref(), project::PROJECT_FLAG)?;
    rbac::check_role_name(&args.name).map_err(UserError::usage)?;
    let (text, policy) = load_policy(&project)?;

    for permission in &args.permissions {
        if permission != rbac::WILDCARD && !policy.declares(permission) {
            rbac::check_permission_name(permission).map_err(UserError::usage)?;
            return Err(
                UserError::usage(format!("unknown permission `{permission}`"))
                    .with_help(format!(
                        "declare it first: nestflux add permission {permission}"
                    ))
                    .into(),
            );
        }
    }
    for parent in &args.inherits {
        if policy.role(parent).is_none() {
            let known: Vec<&str> = policy.roles.iter().map(|r| r.name.as_str()).collect();
            return Err(
                UserError::usage(format!("cannot inherit `{parent}`: no such role"))
                    .with_help(format!("existing roles: {}", known.join(", ")))
                    .into(),
            );
        }
    }

    let spec = RoleSpec {
        name: args.name.clone(),
        description: args.description.clone(),
        permissions: args.permissions.clone(),
        inherits: args.inherits.clone(),
    };
    if let Some(existing) = policy.role(&args.name) {
        if spec.matches(existing) {
            // The policy has it; make sure the IdP setup does too (it may
            // have been edited by hand since).
            let repairs = idp_role_changes(&project, &args.name, existing.description.as_deref())?;
            if repairs.is_empty() {
                ui.status(
                    "Unchanged",
                    format_args!("role `{}` already exists with this definition", args.name),
                );
                return Ok(());
            }
            let files: Vec<String> = repairs
                .iter()
                .map(|c| c.display.display().to_string())
                .collect();
            apply(repairs, args.dry_run, ui)?;
            if !args.dry_run {
                ui.status(
                    "Updated",
                    format_args!(
                        "{}: it lacked role `{}`, which config/rbac.toml has",
                        files.join(", "),
                        args.name
                    ),
                );
            }
            return Ok(());
        }
        if !args.force {
            let current = RoleSpec {
                name: existing.name.clone(),
                description: existing.description.clone(),
                permissions: existing.permission_names(),
                inherits: existing.parent_names(),
            };
            return Err(UserError::failure(format!(
                "role `{}` already exists with a different definition; nothing was changed",
                args.name
            ))
            .with_detail(format!("- current:   {current}\n+ requested: {spec}"))
            .with_help("pass --force to replace its permissions, parents and description")
            .into());
        }
    }

    let mut editor = PolicyEditor::new(&text).map_err(|e| malformed(&e.render(&text)))?;
    editor.put_role(&spec);
    let mut changes = vec![rbac_change(&project, text, editor.finish())?];
    let idp_changes = idp_role_changes(&project, &args.name, args.description.as_deref())?;
    let idp_files: Vec<String> = idp_changes
        .iter()
        .map(|c| c.display.display().to_string())
        .collect();
    changes.extend(idp_changes);
    apply(changes, args.dry_run, ui)?;
    if !args.dry_run {
        ui.status(
            "Added",
            format_args!("role `{}` ({})", args.name, describe_grants(&spec)),
        );
        for file in idp_files {
            ui.status(
                "Updated",
                format_args!(
                    "{file}: role `{0}` and test user `test-{0}` (its password is in the file)",
                    args.name
                ),
            );
        }
    }
    Ok(())
}

pub fn permission(args: AddPermissionArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::locate(args.project.as_deref(), project::PROJECT_FLAG)?;
    rbac::check_permission_name(&args.permission).map_err(UserError::usage)?;
    let (text, policy) = load_policy(&project)?;
    for role in &args.roles {
        if policy.role(role).is_none() {
            return Err(
                UserError::usage(format!("cannot grant to `{role}`: no such role"))
                    .with_help(format!("create it first: nestflux add role {role}"))
                    .into(),
            );
        }
    }

    let mut editor = PolicyEditor::new(&text).map_err(|e| malformed(&e.render(&text)))?;
    editor.declare_permission(&args.permission);
    for role in &args.roles {
        if !policy.role(role).is_some_and(|r| r.lists(&args.permission)) {
            editor.grant(role, &args.permission);
        }
    }
    let new = editor.finish();
    if new == text {
        ui.status(
            "Unchanged",
            format_args!(
                "permission `{}` is already declared and granted as asked",
                args.permission
            ),
        );
        return Ok(());
    }
    let changes = vec![rbac_change(&project, text, new)?];
    apply(changes, args.dry_run, ui)?;
    if !args.dry_run {
        let to = if args.roles.is_empty() {
            String::new()
        } else {
            format!(", granted to {}", args.roles.join(", "))
        };
        ui.status(
            "Added",
            format_args!("permission `{}`{to}", args.permission),
        );
    }
    Ok(())
}

/// The changes that give the identity provider's setup the role too, with a
/// test user whose password is drawn at random.
fn idp_role_changes(
    project: &Project,
    name: &str,
    description: Option<&str>,
) -> anyhow::Result<Vec<FileChange>> {
    idp_files::add_role(
        project,
        &NewRole {
            name,
            description,
            password: &Secrets::random_password(),
        },
    )
}

fn malformed(rendered: &str) -> UserError {
    UserError::failure(format!("{rendered}; nothing was changed")).with_help(format!(
        "fix `{RBAC_FILE}` by hand, then run the command again"
    ))
}

/// Reads and checks the policy; a policy that is already broken is not
/// edited further.
fn load_policy(project: &Project) -> anyhow::Result<(String, Policy)> {
    let path = project.root.join(RBAC_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        UserError::failure(format!("cannot read `{}`: {e}", path.display())).with_help(
            "projects made by `nestflux new` have this file; restore it from version control",
        )
    })?;
    let policy = Policy::parse(&text).map_err(|e| malformed(&e.render(&text)))?;
    let problems = policy.problems();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| p.render(&text)).collect();
        return Err(UserError::failure(format!(
            "`{RBAC_FILE}` has {} problem(s); nothing was changed",
            list.len()
        ))
        .with_detail(list.join("\n"))
        .with_help("fix them by hand, then run the command again")
        .into());
    }
    Ok((text, policy))
}

/// The change to `config/rbac.toml`, re-checked: an edit that would leave
/// a broken policy is a bug, and is refused rather than written.
fn rbac_change(project: &Project, old: String, new: String) -> anyhow::Result<FileChange> {
    let after = Policy::parse(&new).map_err(|e| malformed(&e.render(&new)))?;
    let problems = after.problems();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| p.render(&new)).collect();
        return Err(UserError::failure(
            "the change would make the policy invalid; nothing was changed",
        )
        .with_detail(list.join("\n"))
        .into());
    }
    Ok(FileChange {
        path: project.root.join(RBAC_FILE),
        display: PathBuf::from(RBAC_FILE),
        old,
        new,
    })
}

fn apply(changes: Vec<FileChange>, dry_run: bool, ui: &Ui) -> anyhow::Result<()> {
    if dry_run {
        for change in &changes {
            print!("{}", change.diff());
        }
        ui.note("dry run: nothing was written");
        return Ok(());
    }
    // Also applies the edits to the baseline's copies (see crate::upgrade).
    crate::upgrade::baseline::replace_files(&changes)?;
    for change in &changes {
        ui.detail(format_args!("updated {}", change.display.display()));
    }
    Ok(())
}

fn describe_grants(spec: &RoleSpec) -> String {
    let mut parts = vec![if spec.permissions.is_empty() {
        "no permissions of its own".to_owned()
    } else {
        format!("permissions: {}", spec.permissions.join(", "))
    }];
    if !spec.inherits.is_empty() {
        parts.push(format!("inherits: {}", spec.inherits.join(", ")));
    }
    parts.join("; ")
}
