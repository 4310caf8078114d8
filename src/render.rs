//! The only module that knows minijinja and the template tree: it turns
//! `Answers` into the in-memory set of files of a project.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::NESTFLUX_VERSION;
use crate::answers::{Answers, Feature};
use crate::deploy::DeployContext;
use crate::error::UserError;
use crate::manifest::{self, Plan, Rule, TEMPLATE_SUFFIX};
use crate::project::env::password_var;
use crate::project::{BASELINE_FILE, PROJECT_FILE};
use crate::resource::Resource;
use crate::resource::context::ResourceContext;
use crate::secrets::Secrets;

pub mod lockfile;

/// The lock file every project gets, cut from the superset lock the manifest
/// chooses (see [`lockfile`]).
pub const LOCK_FILE: &str = "Cargo.lock";

/// The roles every new project starts with (DESIGN.md §3), in the order they
/// are shown. The one list both the service and the IdP setup files under
/// `deploy/` are generated from at `new`: templates read it as `roles`.
/// Later renders (`nestflux upgrade`) take the roles of the project's
/// `config/rbac.toml` instead ([`render_project`]).
pub const DEFAULT_ROLES: &[&str] = &["admin", "editor", "viewer"];

/// The templates, embedded at build time so the installed binary needs
/// nothing beside it.
pub static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// A rendered project: relative path (with `/` separators) to contents,
/// sorted by path so output, listings and snapshots are deterministic.
pub type FileSet = BTreeMap<String, Vec<u8>>;

/// Renders a new project for `answers` from the embedded templates: the
/// default roles and the starting resources (`items`), with the project's
/// `secrets` (see [`Secrets`]: they reach only the files that need them,
/// never `nestflux.toml`).
pub fn render(answers: &Answers, secrets: &Secrets) -> Result<FileSet, UserError> {
    render_tree_as_new(&TEMPLATES, answers, secrets, manifest::RULES)
}

/// Renders the project with its roles and its resources (`[[resources]]`
/// of its `nestflux.toml`): every resource's module, migrations and tests,
/// and the files that list them (`src/resources/mod.rs`,
/// `tests/api/resources/mod.rs`).
pub fn render_project(
    answers: &Answers,
    secrets: &Secrets,
    roles: &[&str],
    resources: &[Resource],
) -> Result<FileSet, UserError> {
    let mut files = render_unformatted(answers, secrets, roles, resources)?;
    // Without resources, the templates' own layout is rustfmt's already.
    if !resources.is_empty() {
        format_rust(&mut [&mut files]);
    }
    Ok(files)
}

/// The project rendered with the resources `before` and with those `after`
/// (what `add resource` compares), as [`render_project`] renders each, but
/// laid out by one run of rustfmt for both: starting rustfmt costs more
/// than formatting a resource.
pub fn render_project_change(
    answers: &Answers,
    secrets: &Secrets,
    roles: &[&str],
    before: &[Resource],
    after: &[Resource],
) -> Result<(FileSet, FileSet), UserError> {
    let mut old = render_unformatted(answers, secrets, roles, before)?;
    let mut new = render_unformatted(answers, secrets, roles, after)?;
    // The new set first: it holds every file of the old but the lists.
    // Without resources, the templates' own layout is rustfmt's already.
    let mut sets: Vec<&mut FileSet> = [(after, &mut new), (before, &mut old)]
        .into_iter()
        .filter(|(resources, _)| !resources.is_empty())
        .map(|(_, set)| set)
        .collect();
    format_rust(&mut sets);
    Ok((old, new))
}

/// The whole project, the resources' code as the templates write it.
fn render_unformatted(
    answers: &Answers,
    secrets: &Secrets,
    roles: &[&str],
    resources: &[Resource],
) -> Result<FileSet, UserError> {
    render_some(
        &TEMPLATES,
        answers,
        secrets,
        manifest::RULES,
        roles,
        resources,
        None,
    )
}

/// The files a project for `answers` gets, each with the template it is made
/// from (see [`manifest::plan`]).
pub fn plan(answers: &Answers) -> Result<Plan, UserError> {
    let files = template_files(&TEMPLATES);
    manifest::plan(
        files.iter().map(|(path, _)| path.as_str()),
        answers,
        manifest::RULES,
    )
    .map_err(manifest_error)
}

/// Renders only the files at `outputs` (paths in the project) of the
/// project for `answers`; `Cargo.lock` is made from the `Cargo.toml` it
/// renders too.
pub fn render_files(
    answers: &Answers,
    secrets: &Secrets,
    outputs: &[&str],
) -> Result<FileSet, UserError> {
    let mut wanted: Vec<&str> = outputs.to_vec();
    if outputs.contains(&LOCK_FILE) {
        wanted.push("Cargo.toml");
    }
    let mut files = render_some(
        &TEMPLATES,
        answers,
        secrets,
        manifest::RULES,
        DEFAULT_ROLES,
        &[],
        Some(&wanted),
    )?;
    files.retain(|path, _| outputs.contains(&path.as_str()));
    Ok(files)
}

/// Renders any template tree; tests use it with small fixture trees.
pub fn render_tree(
    tree: &'static Dir<'static>,
    answers: &Answers,
    secrets: &Secrets,
    rules: &[Rule],
) -> Result<FileSet, UserError> {
    render_some(tree, answers, secrets, rules, DEFAULT_ROLES, &[], None)
}

/// What `new` writes from `tree` (the embedded templates for [`render`], an
/// older nestflux's in the tests of `upgrade`): the default roles and the
/// starting resources.
pub fn render_tree_as_new(
    tree: &'static Dir<'static>,
    answers: &Answers,
    secrets: &Secrets,
    rules: &[Rule],
) -> Result<FileSet, UserError> {
    let resources = crate::resource::starting_resources(answers);
    let mut files = render_some(
        tree,
        answers,
        secrets,
        rules,
        DEFAULT_ROLES,
        &resources,
        None,
    )?;
    format_rust(&mut [&mut files]);
    Ok(files)
}

/// Renders the files of `tree` for `answers`, or only those at `wanted`.
fn render_some(
    tree: &'static Dir<'static>,
    answers: &Answers,
    secrets: &Secrets,
    rules: &[Rule],
    roles: &[&str],
    resources: &[Resource],
    wanted: Option<&[&str]>,
) -> Result<FileSet, UserError> {
    let files = template_files(tree);
    let plan = manifest::plan(files.iter().map(|(path, _)| path.as_str()), answers, rules)
        .map_err(manifest_error)?;

    // Every template is loaded, the parts that others include as well.
    // Syntax errors and render errors are collected and reported together.
    let mut env = environment(&files)?;
    let mut errors = Vec::new();
    // Templates know the whole file list before any is rendered: module
    // declarations and the README's layout come from the files that exist.
    // Besides the templates' files, a project has the files nestflux writes
    // itself: `nestflux.toml` (below) and, beside the rendered files, the
    // baseline `nestflux upgrade` merges against.
    let recorded = resources;
    let resources: Vec<ResourceContext> = resources.iter().map(ResourceContext::new).collect();
    let mut outputs: Vec<String> = plan.keys().cloned().collect();
    outputs.extend([PROJECT_FILE.to_owned(), BASELINE_FILE.to_owned()]);
    // And the files of `items`, which `new` writes (the README's layout
    // shows them); those of `add resource` are the user's, summed up by
    // the layout's `src/resources/` line, so the README stays as it was.
    let starting = resources
        .iter()
        .filter(|r| r.name == crate::resource::ITEMS);
    outputs.extend(starting.flat_map(|resource| {
        RESOURCE_TEMPLATES
            .iter()
            .map(move |(_, output)| resource_path(output, resource, answers))
    }));
    outputs.sort();
    let outputs = Arc::new(outputs);
    let listed = Arc::clone(&outputs);
    env.add_function("modules", move |dir: &str| modules(&listed, dir));
    let listed = Arc::clone(&outputs);
    env.add_function("layout", move || Value::from(Serde(layout(&listed))));
    let context = Value::from(Serde(Context::new(
        answers, secrets, roles, &outputs, &resources,
    )));

    let sources: BTreeMap<&str, &include_dir::File<'static>> = files
        .iter()
        .map(|(path, file)| (path.as_str(), *file))
        .collect();
    let mut out = FileSet::new();
    for (output, template) in &plan {
        if wanted.is_some_and(|wanted| !wanted.contains(&output.as_str())) {
            continue;
        }
        let contents = if template.ends_with(TEMPLATE_SUFFIX) {
            match env
                .get_template(template)
                .and_then(|compiled| compiled.render(&context))
            {
                Ok(text) => match normalize(template, output, text) {
                    Ok(text) => text.into_bytes(),
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                },
                Err(e) => {
                    errors.push(describe(&e));
                    continue;
                }
            }
        } else {
            sources[template.as_str()].contents().to_vec()
        };
        out.insert(output.clone(), contents);
    }
    if wanted.is_none() {
        for resource in &resources {
            render_resource(&env, &context, answers, resource, &mut out, &mut errors);
        }
    }
    if !errors.is_empty() {
        return Err(template_errors(errors));
    }
    if !resources.is_empty() {
        // The API description the project's `openapi` command prints names
        // the resources' routes and types too.
        if let Some(document) = out.get_mut(OPENAPI_FILE) {
            let rate_limit = answers
                .features
                .contains(crate::answers::Feature::RateLimit);
            let text = crate::resource::openapi::with_resources(
                &String::from_utf8_lossy(document),
                recorded,
                rate_limit,
            )
            .map_err(|detail| {
                UserError::failure(format!(
                    "cannot describe the resources in {OPENAPI_FILE} (this is a bug in nestflux, please report it)"
                ))
                .with_detail(detail)
            })?;
            *document = text.into_bytes();
        }
    }
    let lock_wanted = wanted.is_none_or(|wanted| wanted.contains(&LOCK_FILE));
    if let Some(superset) = plan.get(LOCK_FILE).filter(|_| lock_wanted) {
        let lock = project_lock(superset, &sources, &out, answers).map_err(|detail| {
            UserError::failure(format!(
                "cannot write {LOCK_FILE} (this is a bug in nestflux, please report it)"
            ))
            .with_detail(detail)
        })?;
        out.insert(LOCK_FILE.to_owned(), lock.into_bytes());
    }
    if out
        .insert(
            PROJECT_FILE.to_owned(),
            project_file_text(answers, recorded).into_bytes(),
        )
        .is_some()
    {
        return Err(UserError::failure(format!(
            "a template writes `{PROJECT_FILE}`, which nestflux writes itself from the answers"
        )));
    }
    Ok(out)
}

/// The project's `Cargo.lock`: the superset lock at `superset` (a template
/// path) cut down to the rendered `Cargo.toml`, under the conditions beside
/// it (`<name>.conditions.toml`).
fn project_lock(
    superset: &str,
    sources: &BTreeMap<&str, &include_dir::File<'static>>,
    out: &FileSet,
    answers: &Answers,
) -> Result<String, String> {
    let text = |path: &str| {
        sources
            .get(path)
            .and_then(|file| file.contents_utf8())
            .ok_or_else(|| format!("templates/{path}: missing or not UTF-8"))
    };
    let conditions = superset
        .strip_suffix(".lock")
        .map(|stem| format!("{stem}.conditions.toml"))
        .ok_or_else(|| format!("templates/{superset}: a lock's name ends in `.lock`"))?;
    let cargo_toml = out
        .get("Cargo.toml")
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .ok_or("the project has no Cargo.toml")?;
    lockfile::for_project(
        text(superset)?,
        text(&conditions)?,
        cargo_toml,
        &answers.features,
    )
}

/// Every file of a template tree with its path (always with `/`), sorted by
/// path: include_dir keeps the order of the file system.
fn template_files(
    tree: &'static Dir<'static>,
) -> Vec<(String, &'static include_dir::File<'static>)> {
    let mut files = Vec::new();
    collect_files(tree, &mut files);
    let mut files: Vec<_> = files.into_iter().map(|f| (template_path(f), f)).collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

fn manifest_error(detail: String) -> UserError {
    UserError::failure(
        "the template manifest is inconsistent (this is a bug in nestflux, please report it)",
    )
    .with_detail(detail)
}

/// One line of the project's layout tree: what it shows (`├── src/`), the
/// spaces that align a description after it, and the path it stands for
/// (`src/`, directories with a trailing `/`; the root is `""`).
#[derive(Serialize)]
struct LayoutLine {
    text: String,
    pad: String,
    path: String,
}

/// Where the descriptions of the layout tree start, unless a line is longer.
const LAYOUT_COLUMN: usize = 29;

/// The tree of `files`, as `tree` draws it: `.` first, each directory's
/// entries sorted by name (case aside), a directory with a single entry
/// drawn on one line with it (`.github/workflows/ci.yml`).
fn layout(files: &[String]) -> Vec<LayoutLine> {
    #[derive(Default)]
    struct Dir(BTreeMap<String, Option<Dir>>);

    fn draw(dir: &Dir, path: &str, indent: &str, out: &mut Vec<LayoutLine>) {
        let mut entries: Vec<(&String, &Option<Dir>)> = dir.0.iter().collect();
        entries.sort_by_key(|(name, _)| (name.to_lowercase(), (*name).clone()));
        for (i, (name, entry)) in entries.iter().enumerate() {
            let last = i + 1 == entries.len();
            let (mut label, mut entry) = ((*name).clone(), *entry);
            // A chain of directories with one entry each is drawn as one line.
            while let Some(Dir(children)) = entry
                && children.len() == 1
            {
                let (child, next) = children.iter().next().expect("one entry");
                label = format!("{label}/{child}");
                entry = next;
            }
            let full = format!("{path}{label}");
            let (text, full) = match entry {
                Some(_) => (format!("{label}/"), format!("{full}/")),
                None => (label, full),
            };
            let text = format!("{indent}{}{text}", if last { "└── " } else { "├── " });
            out.push(LayoutLine {
                pad: " ".repeat(LAYOUT_COLUMN.saturating_sub(text.chars().count()).max(2)),
                text,
                path: full.clone(),
            });
            if let Some(children) = entry {
                let indent = format!("{indent}{}", if last { "    " } else { "│   " });
                draw(children, &full, &indent, out);
            }
        }
    }

    let mut root = Dir::default();
    for file in files {
        let mut dir = &mut root;
        let mut parts = file.split('/').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                dir.0.insert(part.to_owned(), None);
            } else {
                dir = dir
                    .0
                    .entry(part.to_owned())
                    .or_insert_with(|| Some(Dir::default()))
                    .get_or_insert_with(Dir::default);
            }
        }
    }
    let mut out = vec![LayoutLine {
        text: ".".to_owned(),
        pad: " ".repeat(LAYOUT_COLUMN - 1),
        path: String::new(),
    }];
    draw(&root, "", "", &mut out);
    out
}

/// The Rust modules declared by the files under `dir` (`src`, `src/security`,
/// `tests/api`): `dir/name.rs` and `dir/name/mod.rs` declare `name`; `lib.rs`,
/// `main.rs` and `mod.rs` declare none. Sorted, as rustfmt orders them.
fn modules(files: &[String], dir: &str) -> Vec<String> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let mut names: Vec<String> = files
        .iter()
        .filter_map(|path| path.strip_prefix(&prefix))
        .filter_map(|rest| match rest.split_once('/') {
            Some((name, "mod.rs")) => Some(name),
            Some(_) => None,
            None => rest
                .strip_suffix(".rs")
                .filter(|name| !matches!(*name, "lib" | "main" | "mod")),
        })
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The template context. Feature keys become identifiers with `_` for `-`
/// (`features.rate_limit`), and every feature is present, on or off, so a
/// misspelt key is an error under strict undefined behaviour.
#[derive(Serialize)]
struct Context<'a> {
    project: ProjectContext,
    idp: &'static str,
    database: &'static str,
    features: BTreeMap<String, bool>,
    /// The keys of the features that are on, in canonical order.
    enabled_features: Vec<&'static str>,
    /// The project's roles: [`DEFAULT_ROLES`] for a new project.
    roles: &'a [&'a str],
    /// Random per project; `secrets.client_secret`, `secrets.user_passwords.<role>`, ...
    secrets: &'a Secrets,
    /// The deployment targets and the container facts they share
    /// ([`crate::deploy`]): `deploy.kubernetes`, `deploy.uid`, ...
    deploy: DeployContext,
    nestflux_version: &'static str,
    /// The project's resources ([`ResourceContext`]), in the order they were added.
    resources: &'a [ResourceContext],
    /// Every file the project gets (`nestflux.toml` and the baseline
    /// included), sorted: what the README's layout shows. `modules(dir)` lists the Rust modules
    /// among them.
    files: &'a [String],
}

#[derive(Serialize)]
struct ProjectContext {
    /// The package name, e.g. `my-api`.
    name: String,
    /// The crate name, e.g. `my_api`.
    crate_name: String,
}

impl<'a> Context<'a> {
    fn new(
        answers: &Answers,
        secrets: &'a Secrets,
        roles: &'a [&'a str],
        files: &'a [String],
        resources: &'a [ResourceContext],
    ) -> Self {
        Self {
            project: ProjectContext {
                name: answers.name.to_string(),
                crate_name: answers.name.crate_name(),
            },
            idp: answers.idp.key(),
            database: answers.database.key(),
            features: Feature::ALL
                .into_iter()
                .map(|f| (f.key().replace('-', "_"), answers.features.contains(f)))
                .collect(),
            enabled_features: answers.features.iter().map(Feature::key).collect(),
            roles,
            secrets,
            deploy: DeployContext::new(answers),
            nestflux_version: NESTFLUX_VERSION,
            files,
            resources,
        }
    }
}

/// The templates of one resource (under `templates/resource/`, which the
/// manifest keeps out of the project itself) and where each is written.
const RESOURCE_TEMPLATES: &[(&str, &str)] = &[
    ("resource/src/mod.rs.jinja", "src/resources/{name}/mod.rs"),
    (
        "resource/src/model.rs.jinja",
        "src/resources/{name}/model.rs",
    ),
    ("resource/src/repo.rs.jinja", "src/resources/{name}/repo.rs"),
    (
        "resource/tests/resource.rs.jinja",
        "tests/api/resources/{name}.rs",
    ),
    (
        "resource/migrations/{database}.sql.jinja",
        "migrations/{database}/{migration}",
    ),
];

/// A path of [`RESOURCE_TEMPLATES`] for `resource`.
fn resource_path(pattern: &str, resource: &ResourceContext, answers: &Answers) -> String {
    pattern
        .replace("{name}", &resource.name)
        .replace("{database}", answers.database.key())
        .replace("{migration}", &resource.migration_file)
}

/// Renders the files of `resource` into `out`, with the project's context
/// and `resource`.
fn render_resource(
    env: &Environment<'static>,
    context: &Value,
    answers: &Answers,
    resource: &ResourceContext,
    out: &mut FileSet,
    errors: &mut Vec<String>,
) {
    let context =
        minijinja::context! { resource => Value::from(Serde(resource)), ..context.clone() };
    for (template, output) in RESOURCE_TEMPLATES {
        let template = resource_path(template, resource, answers);
        let output = resource_path(output, resource, answers);
        match env
            .get_template(&template)
            .and_then(|compiled| compiled.render(&context))
        {
            Ok(text) => {
                if out
                    .insert(output.clone(), normalize_newline(text).into_bytes())
                    .is_some()
                {
                    errors.push(format!(
                        "resource `{}` writes `{output}`, which the project already has",
                        resource.name
                    ));
                }
            }
            Err(e) => errors.push(describe(&e)),
        }
    }
}

/// The committed API description, which lists the resources' routes.
const OPENAPI_FILE: &str = "openapi.json";

/// Set when rustfmt could not lay out the resources' code of a render.
static RUSTFMT_MISSING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a render of this process left the resources' code as the
/// templates write it because rustfmt did not run (not on `PATH`, or it
/// failed): the commands that write it then say so.
pub fn rustfmt_was_missing() -> bool {
    RUSTFMT_MISSING.load(std::sync::atomic::Ordering::Relaxed)
}

/// What the commands say when [`rustfmt_was_missing`].
pub const RUSTFMT_MISSING_NOTE: &str = "rustfmt did not run (is it on PATH? `rustup component add rustfmt`): the code under src/resources/ and tests/api/resources/ keeps the templates' layout; run `cargo fmt` in the project, its CI checks the layout";

/// The Rust files that list or hold resources, laid out by rustfmt (the
/// names of fields and resources change where lines break), as `cargo fmt`
/// would, for every set in one run of rustfmt. rustfmt lays out the same
/// text the same way, so of the later sets only the files that differ from
/// the first one's are formatted (beside empty stand-ins for the modules
/// they declare); the others take the first set's result. Left as rendered
/// when rustfmt is not installed or fails: still valid code (see
/// [`rustfmt_was_missing`]).
fn format_rust(sets: &mut [&mut FileSet]) {
    let resource_code = |path: &str| {
        (path.starts_with("src/resources/") || path.starts_with("tests/api/resources/"))
            && path.ends_with(".rs")
    };
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let write = |file: &std::path::Path, bytes: &[u8]| {
        file.parent()
            .is_some_and(|parent| std::fs::create_dir_all(parent).is_ok())
            && std::fs::write(file, bytes).is_ok()
    };
    // (set, path, file) of every file rustfmt lays out; each set in a
    // directory of its own, each file at its own path there (rustfmt
    // follows the `mod` declarations among them).
    let mut formatted: Vec<(usize, String, std::path::PathBuf)> = Vec::new();
    // (set, path) of the later sets' files equal to the first set's.
    let mut same: Vec<(usize, String)> = Vec::new();
    let all: BTreeSet<String> = sets
        .iter()
        .flat_map(|set| set.keys())
        .filter(|path| resource_code(path))
        .cloned()
        .collect();
    for (index, set) in sets.iter().enumerate() {
        let root = dir.path().join(index.to_string());
        for path in &all {
            let Some(bytes) = set.get(path) else {
                continue;
            };
            if index > 0 && sets[0].get(path) == Some(bytes) {
                same.push((index, path.clone()));
                continue;
            }
            let file = root.join(path);
            if !write(&file, bytes) {
                return;
            }
            formatted.push((index, path.clone(), file));
        }
        if index > 0 {
            // Stand-ins for the modules the set's files declare.
            for path in &all {
                let file = root.join(path);
                if !file.exists() && !write(&file, b"") {
                    return;
                }
            }
        }
    }
    if formatted.is_empty() {
        return;
    }
    let ran = std::process::Command::new("rustfmt")
        .args(["--edition", "2024", "--quiet"])
        .args(formatted.iter().map(|(_, _, file)| file))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !ran {
        RUSTFMT_MISSING.store(true, std::sync::atomic::Ordering::Relaxed);
        return;
    }
    for (index, path, file) in formatted {
        if let Ok(bytes) = std::fs::read(&file) {
            sets[index].insert(path, bytes);
        }
    }
    for (index, path) in same {
        if let Some(bytes) = sets[0].get(&path).cloned() {
            sets[index].insert(path, bytes);
        }
    }
}

/// The environment, which compiles a template when it is first used (for a
/// file of the project, or an `include` of another): a project needs only
/// some of the templates, and compiling the others costs most of a render.
fn environment(
    files: &[(String, &'static include_dir::File<'static>)],
) -> Result<Environment<'static>, UserError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // The output is code and configuration, never HTML: escaping would
    // corrupt it. Templates quote explicitly (`|tojson`) where needed.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Block tags on their own lines leave no blank lines behind.
    let syntax = SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|e| UserError::failure(format!("template syntax configuration: {e}")))?;
    env.set_syntax(syntax);
    // `{{ role | password_var }}`: the variable of a test user's password,
    // named as `nestflux dev` and `add role` name it.
    env.add_filter("password_var", |role: &str| password_var(role));
    let sources: BTreeMap<String, &'static include_dir::File<'static>> = files
        .iter()
        .filter(|(path, _)| path.ends_with(TEMPLATE_SUFFIX))
        .map(|(path, file)| (path.clone(), *file))
        .collect();
    env.set_loader(move |name| match sources.get(name) {
        None => Ok(None),
        Some(file) => file
            .contents_utf8()
            .map(|text| Some(text.to_owned()))
            .ok_or_else(|| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("templates/{name}: not valid UTF-8"),
                )
            }),
    });
    Ok(env)
}

fn collect_files(dir: &'static Dir<'static>, out: &mut Vec<&'static include_dir::File<'static>>) {
    out.extend(dir.files());
    for sub in dir.dirs() {
        collect_files(sub, out);
    }
}

/// The path of a template relative to the tree, always with `/`.
fn template_path(file: &include_dir::File<'_>) -> String {
    file.path()
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Rendered JSON is re-laid out the way `serde_json` writes it (two-space
/// indentation, keys in template order), so that tools editing it later
/// (`nestflux add role` on a Keycloak realm) change only what they add. A
/// template that renders invalid JSON is reported like a template error.
fn normalize(path: &str, output: &str, text: String) -> Result<String, String> {
    if !output.ends_with(".json") {
        return Ok(normalize_newline(text));
    }
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("templates/{path}: renders invalid JSON ({e})"))?;
    let pretty =
        serde_json::to_string_pretty(&value).map_err(|e| format!("templates/{path}: {e}"))?;
    Ok(normalize_newline(pretty))
}

/// Every generated text file ends with exactly one newline, whatever the
/// template's `{% if %}` blocks left behind.
fn normalize_newline(mut text: String) -> String {
    let trimmed = text.trim_end_matches('\n').len();
    text.truncate(trimmed);
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// `templates/<file>:<line>: <what went wrong>`, for one template error.
fn describe(err: &minijinja::Error) -> String {
    let location = match (err.name(), err.line()) {
        (Some(name), Some(line)) => format!("templates/{name}:{line}"),
        (Some(name), None) => format!("templates/{name}"),
        _ => "templates".to_owned(),
    };
    let detail = err.detail().map(|d| format!(" ({d})")).unwrap_or_default();
    let mut text = format!("{location}: {}{detail}", err.kind());
    // An error inside an included or imported template is the cause of the
    // includer's error: name where it really is too.
    if let Some(cause) =
        std::error::Error::source(err).and_then(|cause| cause.downcast_ref::<minijinja::Error>())
    {
        text.push_str(&format!("\n  caused by {}", describe(cause)));
    }
    text
}

fn template_errors(errors: Vec<String>) -> UserError {
    let count = errors.len();
    UserError::failure(format!(
        "{count} template error{} (this is a bug in nestflux, please report it)",
        if count == 1 { "" } else { "s" }
    ))
    .with_detail(errors.join("\n"))
}

/// `nestflux.toml` as `new` writes it followed by each recorded resource's
/// `[[resources]]` table as `add resource` appends it: what a project that
/// has these resources records, so that an upgrade's baseline holds it too.
fn project_file_text(answers: &Answers, resources: &[Resource]) -> String {
    let mut text = crate::audit::defaults::project_file(answers);
    for resource in resources {
        text.push_str(&crate::project::file::resource_table(resource));
    }
    text
}

/// Names a project cannot take because generated projects already use
/// them for something else, each with what it is: the modules at the root of
/// the crate and of its integration tests (`tests/api/audit.rs`: a crate
/// named `audit` would make `use audit::…` ambiguous there) and the packages
/// of the shipped locks (a package cannot depend on one with its own name).
/// Taken from the templates and locks themselves, so it cannot fall behind
/// them.
pub fn taken_names() -> &'static BTreeMap<String, String> {
    static TAKEN: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    TAKEN.get_or_init(|| {
        let mut taken = BTreeMap::new();
        let files = template_files(&TEMPLATES);
        // Every path a template can be written to, whatever the answers.
        let outputs: Vec<String> = files
            .iter()
            .map(|(template, _)| {
                manifest::RULES
                    .iter()
                    .filter(|rule| manifest::covers(rule.template, template))
                    .find_map(|rule| match rule.output {
                        manifest::Output::As(path) => Some(path.to_owned()),
                        _ => None,
                    })
                    .unwrap_or_else(|| manifest::output_path(template).to_owned())
            })
            .collect();
        for dir in ["src", "tests/api"] {
            for module in modules(&outputs, dir) {
                let what = format!("the name of a module in generated projects (`{dir}/{module}`)");
                taken.entry(module).or_insert(what);
            }
        }
        for (template, file) in &files {
            if !template.starts_with("lockfile/") || !template.ends_with(".lock") {
                continue;
            }
            let text = file.contents_utf8().unwrap_or_default();
            let Ok(lock) = lockfile::Lock::parse(text) else {
                continue;
            };
            // The root package (no source) is the project itself.
            for package in lock.packages.iter().filter(|p| p.source.is_some()) {
                let what = format!(
                    "the name of a dependency of generated projects (`{}`)",
                    package.name
                );
                taken.entry(package.name.replace('-', "_")).or_insert(what);
            }
        }
        taken
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{FeatureSet, PartialAnswers, ProjectName};
    use crate::manifest::{When, only};

    static FIXTURE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/template-tree");
    static BROKEN: Dir<'static> =
        include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/broken-templates");

    fn answers(features: &str) -> Answers {
        PartialAnswers {
            features: Some(FeatureSet::parse_list(features).unwrap()),
            ..Default::default()
        }
        .with_defaults(ProjectName::parse("demo-api").unwrap())
    }

    const TABLE: &[Rule] = &[only("only-with-cors.txt", When::Feature(Feature::Cors))];

    fn secrets() -> Secrets {
        Secrets::generate(&mut crate::secrets::seeded_rng(1), DEFAULT_ROLES)
    }

    fn text(files: &FileSet, path: &str) -> String {
        String::from_utf8(files[path].clone()).unwrap()
    }

    #[test]
    fn jinja_files_are_rendered_and_lose_their_suffix() {
        let files = render_tree(&FIXTURE, &answers("cors"), &secrets(), TABLE).unwrap();
        assert_eq!(
            text(&files, "hello.txt"),
            "demo-api demo_api keycloak sqlite cors=on\n"
        );
        assert!(!files.contains_key("hello.txt.jinja"));
    }

    #[test]
    fn other_files_are_copied_byte_for_byte() {
        let files = render_tree(&FIXTURE, &answers("cors"), &secrets(), TABLE).unwrap();
        // `{{ … }}` in a non-template file is left alone.
        assert_eq!(text(&files, "verbatim.txt"), "{{ not a variable }}\n\n\n");
    }

    #[test]
    fn conditional_files_follow_the_table() {
        let with = render_tree(&FIXTURE, &answers("cors"), &secrets(), TABLE).unwrap();
        let without = render_tree(&FIXTURE, &answers("none"), &secrets(), TABLE).unwrap();
        assert!(with.contains_key("only-with-cors.txt"));
        assert!(!without.contains_key("only-with-cors.txt"));
    }

    #[test]
    fn nestflux_toml_is_written_from_the_answers() {
        let a = answers("headers");
        let files = render_tree(&FIXTURE, &a, &secrets(), TABLE).unwrap();
        assert_eq!(
            text(&files, PROJECT_FILE),
            crate::audit::defaults::project_file(&a)
        );
    }

    #[test]
    fn every_template_error_is_reported_with_file_and_line() {
        let err = render_tree(&BROKEN, &answers("none"), &secrets(), &[]).unwrap_err();
        let detail = err.detail.unwrap();
        assert!(
            err.message.starts_with("2 template errors"),
            "{}",
            err.message
        );
        assert!(
            detail.contains("templates/a-undefined.txt.jinja:2: undefined value"),
            "{detail}"
        );
        assert!(
            detail.contains("templates/b-syntax.txt.jinja:3: syntax error"),
            "{detail}"
        );
    }

    /// Every valid set of features.
    fn every_feature_set() -> Vec<FeatureSet> {
        (0..1u32 << Feature::ALL.len())
            .map(|bits| {
                Feature::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, feature)| feature)
                    .collect::<FeatureSet>()
            })
            .filter(|set| {
                set.iter()
                    .all(|f| f.requires().is_none_or(|needed| set.contains(needed)))
            })
            .collect()
    }

    fn every_answer_set() -> Vec<Answers> {
        use crate::answers::{Database, Idp};
        let mut out = Vec::new();
        for idp in Idp::ALL {
            for database in Database::AVAILABLE {
                for features in every_feature_set() {
                    for deploy in ["none", "kubernetes"] {
                        out.push(Answers {
                            name: ProjectName::parse("x").unwrap(),
                            idp,
                            database,
                            features: features.clone(),
                            deploy: crate::answers::DeploySet::parse_list(deploy).unwrap(),
                        });
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_answer_combination_gets_one_template_per_file_and_the_files_every_project_has() {
        let answer_sets = every_answer_set();
        assert_eq!(answer_sets.len(), 3 * 2 * 144 * 2);
        for a in answer_sets {
            let plan = plan(&a).unwrap_or_else(|e| panic!("{a:?}: {e} {:?}", e.detail));
            for path in [
                "Cargo.toml",
                LOCK_FILE,
                "README.md",
                "src/db.rs",
                "src/lib.rs",
            ] {
                assert!(plan.contains_key(path), "{a:?} has no {path}");
            }
        }
    }

    #[test]
    fn the_embedded_templates_render_for_each_idp_and_database_with_no_and_all_features() {
        use crate::answers::{Database, Idp};
        for idp in Idp::ALL {
            for database in Database::AVAILABLE {
                for features in [FeatureSet::none(), FeatureSet::all()] {
                    let a = Answers {
                        name: ProjectName::parse("x").unwrap(),
                        idp,
                        database,
                        features,
                        deploy: crate::answers::DeploySet::parse_list("kubernetes").unwrap(),
                    };
                    render(&a, &secrets())
                        .unwrap_or_else(|e| panic!("{idp:?} {database:?}: {e} {:?}", e.detail));
                }
            }
        }
    }

    /// The README describes every file it lists (its layout is drawn from the
    /// files): with each feature alone, and with every feature but one.
    #[test]
    fn the_readme_describes_every_file_with_each_feature_on_or_off() {
        // Each feature with what it needs, and every feature but one.
        let alone =
            |f: Feature| -> FeatureSet { [Some(f), f.requires()].into_iter().flatten().collect() };
        let but = |f: Feature| -> FeatureSet {
            FeatureSet::all()
                .iter()
                .filter(|g| *g != f && g.requires() != Some(f))
                .collect()
        };
        let sets: Vec<FeatureSet> = Feature::ALL
            .into_iter()
            .flat_map(|f| [alone(f), but(f)])
            .chain([FeatureSet::none()])
            .collect();
        for a in every_answer_set()
            .into_iter()
            .filter(|a| sets.contains(&a.features))
        {
            let files = render_files(&a, &secrets(), &["README.md"])
                .unwrap_or_else(|e| panic!("{a:?}: {e} {:?}", e.detail));
            let readme = String::from_utf8(files["README.md"].clone()).unwrap();
            let plan = plan(&a).unwrap();
            for path in plan.keys().chain([&PROJECT_FILE.to_owned()]) {
                let name = path.rsplit('/').next().unwrap();
                assert!(
                    readme.contains(name),
                    "{a:?}: the README's layout lacks {path}"
                );
            }
        }
    }

    /// The README's "Run" starts with `nestflux dev` and names the issuer
    /// `.env` holds, which the development provider serves; for a generic
    /// OpenID Connect project that is `nestflux dev`'s own issuer, and the
    /// "Identity provider" section says so.
    #[test]
    fn the_readme_runs_nestflux_dev_first_with_the_issuer_of_env() {
        use crate::answers::{Database, Idp};
        for idp in Idp::ALL {
            for database in Database::AVAILABLE {
                let a = Answers {
                    name: ProjectName::parse("shop").unwrap(),
                    idp,
                    database,
                    features: FeatureSet::defaults(),
                    deploy: crate::answers::DeploySet::none(),
                };
                let files = render_files(&a, &secrets(), &["README.md", ".env"]).unwrap();
                let issuer = crate::project::env::parse(&text(&files, ".env"))
                    .into_iter()
                    .find(|a| a.key == "AUTH_ISSUER_URL")
                    .expect(".env sets AUTH_ISSUER_URL")
                    .value;
                let readme = text(&files, "README.md");
                let run = readme
                    .split("\n## Run\n\n")
                    .nth(1)
                    .and_then(|rest| rest.split("\n## ").next())
                    .expect("a Run section");
                assert!(
                    run.starts_with("```sh\nnestflux dev\n```\n"),
                    "{idp:?} {database:?}: {run}"
                );
                assert!(
                    run.contains(&format!("(`{issuer}`)")),
                    "{idp:?} {database:?}: the Run section does not name {issuer}"
                );
                if idp == Idp::Oidc {
                    assert_eq!(issuer, crate::dev::config::OIDC_DEV_ISSUER);
                    assert!(
                        readme.contains(&format!("`AUTH_ISSUER_URL={issuer}`")),
                        "{database:?}: the Identity provider section does not name {issuer}"
                    );
                }
            }
        }
    }

    /// The README's layout is the tree of exactly the files `nestflux new`
    /// writes: the rendered ones, `nestflux.toml`, and the baseline it adds
    /// beside them, which its "Upgrade" section explains.
    #[test]
    fn the_readme_layout_is_the_tree_of_the_files_new_writes_baseline_included() {
        use crate::answers::{Database, Idp};
        for (idp, database, features, deploy) in [
            (Idp::Oidc, Database::Sqlite, FeatureSet::none(), "none"),
            (
                Idp::Keycloak,
                Database::Postgres,
                FeatureSet::all(),
                "kubernetes",
            ),
        ] {
            let a = Answers {
                name: ProjectName::parse("shop").unwrap(),
                idp,
                database,
                features,
                deploy: crate::answers::DeploySet::parse_list(deploy).unwrap(),
            };
            let written =
                crate::upgrade::baseline::attach(render(&a, &secrets()).unwrap()).unwrap();
            assert!(written.contains_key(BASELINE_FILE));
            let readme = text(&written, "README.md");
            assert!(
                readme.contains("## Upgrade\n")
                    && readme.contains(&format!("**Commit `{BASELINE_FILE}`**")),
                "{a:?}: the README does not say what the baseline is for and to commit it"
            );
            let paths: Vec<String> = written.keys().cloned().collect();
            let block: Vec<&str> = readme
                .split("## Layout\n\n```text\n")
                .nth(1)
                .and_then(|rest| rest.split("\n```").next())
                .expect("a layout block")
                .lines()
                .collect();
            let tree = layout(&paths);
            assert_eq!(block.len(), tree.len(), "{a:?}:\n{}", block.join("\n"));
            for (shown, line) in block.iter().zip(&tree) {
                let rest = shown.strip_prefix(line.text.as_str());
                assert!(
                    rest.is_some_and(|rest| rest.is_empty() || rest.starts_with("  ")),
                    "{a:?}: `{shown}` is not `{}`",
                    line.text
                );
            }
        }
    }

    #[test]
    fn every_conditional_entry_names_an_existing_template() {
        let paths: Vec<String> = template_files(&TEMPLATES)
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        for rule in manifest::RULES {
            assert!(
                paths.iter().any(|p| manifest::covers(rule.template, p)),
                "manifest entry `{}` matches no file under templates/",
                rule.template
            );
        }
    }

    #[test]
    fn the_default_roles_are_the_roles_of_the_default_policy() {
        let text = TEMPLATES
            .get_file(crate::rbac::RBAC_FILE)
            .and_then(|f| f.contents_utf8())
            .expect("templates/config/rbac.toml");
        let policy = crate::rbac::Policy::parse(text).unwrap();
        assert!(policy.problems().is_empty());
        let mut roles: Vec<&str> = policy.roles.iter().map(|r| r.name.as_str()).collect();
        roles.sort_unstable();
        let mut expected = DEFAULT_ROLES.to_vec();
        expected.sort_unstable();
        assert_eq!(
            roles, expected,
            "the IdP setup files are rendered from DEFAULT_ROLES"
        );
    }
}
