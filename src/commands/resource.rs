//! `nestflux add resource NAME FIELD...`: a resource of the user's own data,
//! generated with every control `items` has.
//!
//! Everything is checked before anything is written: the name, each field
//! (an error points at the column of the bad field on the command line),
//! `encrypted` without the feature, a `ref` to an unknown resource, the
//! roles of `--roles`, and a resource that exists with other fields. Then
//! the project is rendered without and with the resource (the resource's
//! files are rendered by [`crate::render`] from `[[resources]]`, so
//! `nestflux upgrade` renders them again): the files only the second render
//! has are created, the files nestflux owns that list resources change, and
//! `nestflux.toml` and `config/rbac.toml` are edited; all together, with the
//! baseline, or nothing.

use std::collections::BTreeMap;
use std::path::Path;

use crate::answers::Feature;
use crate::cli::AddResourceArgs;
use crate::error::UserError;
use crate::project::file::{self as project_file, PROJECT_FILE, ProjectFile};
use crate::project::{self, Project};
use crate::rbac::{Policy, PolicyEditor, RBAC_FILE};
use crate::render;
use crate::resource::{FieldError, Resource, check_resource_name, parse_field};
use crate::secrets::Secrets;
use crate::ui::Ui;
use crate::upgrade::apply::Op;
use crate::upgrade::baseline::{self, BASELINE_FILE};

/// The file nestflux writes that lists the resources and routes them.
const RESOURCES_MODULE: &str = "src/resources/mod.rs";

/// The actions of a resource a role may be granted with `--roles`.
const ACTIONS: &[&str] = &["read", "read-any", "write", "write-any", "delete"];

/// What adding the resource writes: every file's new bytes (`None` before:
/// a new file), by path.
#[derive(Debug)]
pub struct Plan {
    pub resource: Resource,
    /// Path → (old text, if the file exists; new text).
    pub writes: BTreeMap<String, (Option<Vec<u8>>, Vec<u8>)>,
    /// The new render's managed files among `writes`, for the baseline.
    pub baseline: BTreeMap<String, Vec<u8>>,
}

pub fn run(args: AddResourceArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::locate(args.project.as_deref(), project::PROJECT_FLAG)?;
    let Some(plan) = plan(&project, &args)? else {
        ui.status(
            "Unchanged",
            format_args!("resource `{}` already exists with these fields", args.name),
        );
        return Ok(());
    };
    if args.dry_run {
        for (path, (old, new)) in &plan.writes {
            let old = old
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let (from, to) = if old.is_empty() && !project.root.join(path).exists() {
                ("/dev/null".to_owned(), format!("b/{path}"))
            } else {
                (format!("a/{path}"), format!("b/{path}"))
            };
            print!(
                "{}",
                similar::TextDiff::from_lines(&*old, &*String::from_utf8_lossy(new))
                    .unified_diff()
                    .context_radius(3)
                    .header(&from, &to)
            );
        }
        ui.note("dry run: nothing was written");
        return Ok(());
    }
    apply(&project.root, &plan)?;
    for path in plan.writes.keys() {
        ui.detail(format_args!("wrote {path}"));
    }
    let resource = &plan.resource;
    ui.status(
        "Added",
        format_args!(
            "resource `{0}` at /api/{0} ({1} fields; permissions {2})",
            resource.name,
            resource.fields.len(),
            resource.permissions().join(", ")
        ),
    );
    if crate::render::rustfmt_was_missing() {
        ui.note(crate::render::RUSTFMT_MISSING_NOTE);
    }
    ui.text(format!(
        "\nNext: cargo test (tests/api/resources/{}.rs runs its tests).",
        resource.name
    ));
    Ok(())
}

/// Checks everything and works out every write; `None` when the project has
/// the resource already, as asked.
pub fn plan(project: &Project, args: &AddResourceArgs) -> anyhow::Result<Option<Plan>> {
    let root = &project.root;
    check_resource_name(&args.name).map_err(UserError::usage)?;
    if !root.join(RESOURCES_MODULE).is_file() {
        return Err(UserError::failure(format!(
            "this project has no `{RESOURCES_MODULE}`: it was made before `add resource` existed, or the file was removed; nothing was changed"
        ))
        .with_help("run `nestflux upgrade` first (it adds the file and routes it), then run the command again")
        .into());
    }
    let mut fields = Vec::new();
    for (index, text) in args.fields.iter().enumerate() {
        let field = parse_field(text).map_err(|e| field_error(args, index, &e))?;
        if fields
            .iter()
            .any(|f: &crate::resource::Field| f.name == field.name)
        {
            let e = FieldError {
                column: 0,
                width: field.name.len(),
                message: format!("field `{}` is given twice", field.name),
                help: "give each field once".to_owned(),
            };
            return Err(field_error(args, index, &e).into());
        }
        fields.push(field);
    }
    if fields.is_empty() {
        return Err(
            UserError::usage(format!("resource `{}` has no fields", args.name))
                .with_help(format!(
                    "e.g. nestflux add resource {} name:string",
                    args.name
                ))
                .into(),
        );
    }
    for (index, field) in fields.iter().enumerate() {
        let bad = |message: String, help: &str| {
            let e = FieldError {
                column: 0,
                width: args.fields[index].chars().count(),
                message,
                help: help.to_owned(),
            };
            field_error(args, index, &e)
        };
        if field.encrypted && !project.answers.features.contains(Feature::Encryption) {
            return Err(bad(
                format!("`{}` is encrypted, but the project has no `encryption` feature", field.name),
                "add \"encryption\" to `features` in nestflux.toml and run `nestflux upgrade` first, or drop `encrypted`",
            )
            .into());
        }
    }

    let project_path = root.join(PROJECT_FILE);
    let (project_text, file) = ProjectFile::read(&project_path)?;
    let existing = file.resources;
    if args.name == crate::resource::ITEMS
        && crate::resource::made_before_items_was_a_resource(&project_text)
        && !existing.iter().any(|r| r.name == args.name)
    {
        // A project made before `items` was a resource has it as template
        // code, with its table: a second one would collide.
        return Err(UserError::failure(
            "this project's `items` comes from the templates of a nestflux before 0.4.0, not from nestflux.toml; nothing was changed",
        )
        .with_help("run `nestflux upgrade` first: it records `items` in nestflux.toml as a resource")
        .into());
    }
    for (index, field) in fields.iter().enumerate() {
        if let crate::resource::FieldType::Ref(target) = &field.ty
            && !existing.iter().any(|r| &r.name == target)
        {
            let known: Vec<&str> = existing.iter().map(|r| r.name.as_str()).collect();
            let e = FieldError {
                column: field.name.len() + 1,
                width: target.len() + 5,
                message: format!(
                    "`{}` refers to `{target}`, which is not a resource of the project",
                    field.name
                ),
                help: if known.is_empty() {
                    format!("add it first: nestflux add resource {target} ...")
                } else {
                    format!("resources: {}", known.join(", "))
                },
            };
            return Err(field_error(args, index, &e).into());
        }
    }

    if let Some(current) = existing.iter().find(|r| r.name == args.name) {
        if current.fields == fields && current.private == args.private {
            return Ok(None);
        }
        let describe = |fields: &[String], private: bool| {
            format!(
                "{}{}",
                fields.join(" "),
                if private { " --private" } else { "" }
            )
        };
        let requested: Vec<String> = fields.iter().map(ToString::to_string).collect();
        return Err(UserError::failure(format!(
            "resource `{}` already exists with other fields; nothing was changed",
            args.name
        ))
        .with_detail(format!(
            "- current:   {}\n+ requested: {}",
            describe(&current.field_texts(), current.private),
            describe(&requested, args.private)
        ))
        .with_help(
            "change a resource's fields in a migration of your own; `add resource` only adds",
        )
        .into());
    }

    // The policy: declare the permissions, grant them as asked.
    let rbac_path = root.join(RBAC_FILE);
    let rbac_text = std::fs::read_to_string(&rbac_path)
        .map_err(|e| UserError::failure(format!("cannot read `{RBAC_FILE}`: {e}")))?;
    let policy = Policy::parse(&rbac_text).map_err(|e| {
        UserError::failure(format!("{}; nothing was changed", e.render(&rbac_text))).with_help(
            format!("fix `{RBAC_FILE}` by hand, then run the command again"),
        )
    })?;
    let grants = grants(&policy, &args.roles)?;

    let resource = Resource {
        name: args.name.clone(),
        fields,
        private: args.private,
        migration: next_migration(root, project, &existing),
    };
    let mut editor =
        PolicyEditor::new(&rbac_text).map_err(|e| UserError::failure(e.render(&rbac_text)))?;
    for permission in resource.permissions() {
        if !policy.declares(&permission) {
            editor.declare_permission(&permission);
        }
    }
    for (role, actions) in &grants {
        for action in actions {
            let permission = format!("{}:{action}", resource.name);
            if !policy.role(role).is_some_and(|r| r.lists(&permission)) {
                editor.grant(role, &permission);
            }
        }
    }
    let new_rbac = editor.finish();
    let after = Policy::parse(&new_rbac).map_err(|e| UserError::failure(e.render(&new_rbac)))?;
    if !after.problems().is_empty() {
        return Err(UserError::failure(
            "the change would make the policy invalid; nothing was changed (this is a bug in nestflux)",
        )
        .into());
    }

    // Both renders: the project as it is, and with the resource.
    let roles = crate::upgrade::project_roles(Some(&policy));
    let role_refs: Vec<&str> = roles.iter().map(String::as_str).collect();
    let secrets = Secrets::from_os_rng(&role_refs);
    let mut all = existing.clone();
    all.push(resource.clone());
    let (before, after) =
        render::render_project_change(&project.answers, &secrets, &role_refs, &existing, &all)?;

    let mut writes = BTreeMap::new();
    let mut taken = Vec::new();
    let mut conflicts = Vec::new();
    for (path, new) in &after {
        if path == PROJECT_FILE || path == RBAC_FILE {
            continue;
        }
        match before.get(path) {
            None => {
                if root.join(path).symlink_metadata().is_ok() {
                    taken.push(path.clone());
                }
                writes.insert(path.clone(), (None, new.clone()));
            }
            Some(old) if old != new => {
                // A file nestflux owns that lists the resources: the user's
                // edits of it (if any) are kept by a three-way merge.
                let ours = std::fs::read(root.join(path)).unwrap_or_default();
                let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                match crate::upgrade::merge::merge_text(&text(old), &text(&ours), &text(new)) {
                    Ok(merged) => {
                        writes.insert(path.clone(), (Some(ours), merged.into_bytes()));
                    }
                    Err(_) => conflicts.push(path.clone()),
                }
            }
            Some(_) => {}
        }
    }
    if !taken.is_empty() {
        return Err(UserError::failure(format!(
            "{} of the files of resource `{}` already exist; nothing was written",
            taken.len(),
            resource.name
        ))
        .with_detail(taken.join("\n"))
        .with_help("move them aside (or delete them), then run the command again")
        .into());
    }
    if !conflicts.is_empty() {
        return Err(UserError::failure(
            "files nestflux writes were changed by hand in a way the new resource conflicts with; nothing was written",
        )
        .with_detail(conflicts.join("\n"))
        .with_help("restore them (git checkout), then run the command again")
        .into());
    }
    let new_project_text = format!(
        "{project_text}{}{}",
        if project_text.ends_with('\n') {
            ""
        } else {
            "\n"
        },
        project_file::resource_table(&resource)
    );
    // The record must read back as the resource.
    let reread = ProjectFile::parse(&new_project_text, &project_path)?;
    if reread.resources.last() != Some(&resource) {
        return Err(UserError::failure(format!(
            "could not record resource `{}` in `{PROJECT_FILE}` (this is a bug in nestflux, please report it)",
            resource.name
        ))
        .into());
    }
    writes.insert(
        PROJECT_FILE.to_owned(),
        (
            Some(project_text.into_bytes()),
            new_project_text.into_bytes(),
        ),
    );
    writes.insert(
        RBAC_FILE.to_owned(),
        (Some(rbac_text.into_bytes()), new_rbac.into_bytes()),
    );
    let managed = baseline::managed(after);
    let baseline = writes
        .keys()
        .filter_map(|path| managed.get(path).map(|bytes| (path.clone(), bytes.clone())))
        .filter(|(path, _)| path != PROJECT_FILE && path != RBAC_FILE)
        .collect();
    Ok(Some(Plan {
        resource,
        writes,
        baseline,
    }))
}

/// The version of the resource's migration: after every migration the
/// project has (on disk, or recorded for a resource), and after every one the
/// templates have for its database, whatever the features: a feature turned
/// on later (by `upgrade`) brings its migration with its fixed number, which
/// must not be the resource's.
fn next_migration(root: &Path, project: &Project, existing: &[Resource]) -> u32 {
    let database = project.answers.database.key();
    let version = |name: &str| name.split('_').next()?.parse::<u32>().ok();
    let on_disk: Vec<u32> = std::fs::read_dir(root.join("migrations").join(database))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| version(&entry.file_name().to_string_lossy()))
        .collect();
    let templates = crate::render::TEMPLATES
        .get_dir(format!("migrations/{database}"))
        .into_iter()
        .flat_map(|dir| dir.files())
        .filter_map(|file| version(&file.path().file_name()?.to_string_lossy()));
    on_disk
        .into_iter()
        .chain(templates)
        .chain(existing.iter().map(|r| r.migration))
        .max()
        .unwrap_or(0)
        + 1
}

/// The actions each role is granted: `--roles ROLE=ACTION+ACTION,...`, or
/// like `items` (viewer reads, editor writes, for those of the two roles the
/// policy has; `admin` holds `*`).
fn grants(policy: &Policy, given: &[String]) -> Result<Vec<(String, Vec<String>)>, UserError> {
    if given.is_empty() {
        return Ok([("viewer", "read"), ("editor", "write")]
            .into_iter()
            .filter(|(role, _)| policy.role(role).is_some())
            .map(|(role, action)| (role.to_owned(), vec![action.to_owned()]))
            .collect());
    }
    let mut grants = Vec::new();
    for entry in given {
        let (role, actions) = entry.split_once('=').ok_or_else(|| {
            UserError::usage(format!("`--roles {entry}`: write ROLE=ACTION[+ACTION...]")).with_help(
                format!(
                    "e.g. --roles viewer=read,editor=read+write; actions: {}",
                    ACTIONS.join(", ")
                ),
            )
        })?;
        if policy.role(role).is_none() {
            return Err(
                UserError::usage(format!("`--roles {entry}`: no role `{role}`"))
                    .with_help(format!("create it first: nestflux add role {role}")),
            );
        }
        let actions: Vec<String> = actions.split('+').map(str::to_owned).collect();
        if let Some(bad) = actions.iter().find(|a| !ACTIONS.contains(&a.as_str())) {
            return Err(
                UserError::usage(format!("`--roles {entry}`: unknown action `{bad}`"))
                    .with_help(format!("actions: {}", ACTIONS.join(", "))),
            );
        }
        grants.push((role.to_owned(), actions));
    }
    Ok(grants)
}

/// A field error shown under the command line, pointing at its column.
fn field_error(args: &AddResourceArgs, index: usize, e: &FieldError) -> UserError {
    let prefix = format!("nestflux add resource {} ", args.name);
    let before: usize = args.fields[..index]
        .iter()
        .map(|f| f.chars().count() + 1)
        .sum();
    let column = prefix.chars().count() + before + e.column;
    let line = format!("{prefix}{}", args.fields.join(" "));
    UserError::usage(format!(
        "field {} (`{}`): {}",
        index + 1,
        args.fields[index],
        e.message
    ))
    .with_detail(format!(
        "  {line}\n  {}{}",
        " ".repeat(column),
        "^".repeat(e.width)
    ))
    .with_help(e.help.clone())
}

/// Writes the plan, all or nothing, with the baseline following (a project
/// made before nestflux kept a baseline has none to update).
fn apply(root: &Path, plan: &Plan) -> anyhow::Result<()> {
    let mut ops: Vec<Op> = plan
        .writes
        .iter()
        .map(|(path, (_, new))| Op::write(path, new.clone()))
        .collect();
    if let Some(mut base) = baseline::read(root)? {
        for (path, bytes) in &plan.baseline {
            base.insert(path.clone(), bytes.clone());
        }
        // `nestflux.toml` renders with its `[[resources]]`, so its baseline
        // copy follows the edit. The policy does not: the templates render
        // the roles' own permissions only, and a resource's permissions and
        // grants (`--roles`) are the user's data from now on (an upgrade
        // never removes them, see `crate::upgrade::data`). Following the
        // edit would make the baseline differ from what an upgrade renders,
        // so that every upgrade after `add resource` rewrote it.
        let (old, new) = &plan.writes[PROJECT_FILE];
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        baseline::follow_edit(
            &mut base,
            PROJECT_FILE,
            &text(old.as_deref().unwrap_or_default()),
            &text(new),
        );
        ops.push(Op::write(BASELINE_FILE, baseline::encode(&base)?));
    }
    crate::upgrade::apply::apply(root, &ops)
}
