//! The only module that knows minijinja and the template tree: it turns
//! `Answers` into the in-memory set of files of a project.

use std::collections::BTreeMap;

use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::NESTFLUX_VERSION;
use crate::answers::{Answers, Feature};
use crate::deploy::DeployContext;
use crate::error::UserError;
use crate::manifest::{self, TEMPLATE_SUFFIX, When};
use crate::project::PROJECT_FILE;
use crate::secrets::Secrets;

/// The roles every new project starts with (DESIGN.md §3), in the order they
/// are shown. The one list both the service and the IdP setup files under
/// `deploy/` are generated from at `new`: templates read it as `roles`.
/// Later renders (`nestflux upgrade`) take the roles of the project's
/// `config/rbac.toml` instead ([`render_with_roles`]).
pub const DEFAULT_ROLES: &[&str] = &["admin", "editor", "viewer"];

/// The templates, embedded at build time so the installed binary needs
/// nothing beside it.
pub static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// A rendered project: relative path (with `/` separators) to contents,
/// sorted by path so output, listings and snapshots are deterministic.
pub type FileSet = BTreeMap<String, Vec<u8>>;

/// Renders the project for `answers` from the embedded templates, with the
/// project's `secrets` (see [`Secrets`]: they reach only the files that need
/// them, never `nestflux.toml`).
pub fn render(answers: &Answers, secrets: &Secrets) -> Result<FileSet, UserError> {
    render_with_roles(answers, secrets, DEFAULT_ROLES)
}

/// Renders the project with its own roles (those of its `config/rbac.toml`,
/// in the order [`crate::upgrade::project_roles`] gives), so that roles
/// added since `new` are in the IdP setup under `deploy/` and the README.
/// `secrets` must hold a test-user password for each role.
pub fn render_with_roles(
    answers: &Answers,
    secrets: &Secrets,
    roles: &[&str],
) -> Result<FileSet, UserError> {
    render_tree_with_roles(&TEMPLATES, answers, secrets, manifest::CONDITIONAL, roles)
}

/// Renders any template tree; tests use it with small fixture trees.
pub fn render_tree(
    tree: &'static Dir<'static>,
    answers: &Answers,
    secrets: &Secrets,
    conditional: &[(&str, When)],
) -> Result<FileSet, UserError> {
    render_tree_with_roles(tree, answers, secrets, conditional, DEFAULT_ROLES)
}

/// [`render_tree`] with the project's roles.
pub fn render_tree_with_roles(
    tree: &'static Dir<'static>,
    answers: &Answers,
    secrets: &Secrets,
    conditional: &[(&str, When)],
    roles: &[&str],
) -> Result<FileSet, UserError> {
    let mut files = Vec::new();
    collect_files(tree, &mut files);
    // include_dir keeps the order of the file system; sort for determinism.
    files.sort_by_key(|f| f.path());

    // Syntax errors and render errors are collected and reported together.
    let (env, mut errors) = environment(&files)?;
    let context = Value::from(Serde(Context::new(answers, secrets, roles)));

    let mut out = FileSet::new();
    for file in files {
        let path = template_path(file);
        if !manifest::included(&path, answers, conditional) {
            continue;
        }
        if path.ends_with(TEMPLATE_SUFFIX) && env.get_template(&path).is_err() {
            continue; // a syntax error, already in `errors`
        }
        let contents = if path.ends_with(TEMPLATE_SUFFIX) {
            match env.get_template(&path).and_then(|t| t.render(&context)) {
                Ok(text) => match normalize(&path, text) {
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
            file.contents().to_vec()
        };
        out.insert(manifest::output_path(&path).to_owned(), contents);
    }
    if !errors.is_empty() {
        return Err(template_errors(errors));
    }
    if out
        .insert(
            PROJECT_FILE.to_owned(),
            crate::audit::defaults::project_file(answers).into_bytes(),
        )
        .is_some()
    {
        return Err(UserError::failure(format!(
            "a template writes `{PROJECT_FILE}`, which nestflux writes itself from the answers"
        )));
    }
    Ok(out)
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
}

#[derive(Serialize)]
struct ProjectContext {
    /// The package name, e.g. `my-api`.
    name: String,
    /// The crate name, e.g. `my_api`.
    crate_name: String,
}

impl<'a> Context<'a> {
    fn new(answers: &Answers, secrets: &'a Secrets, roles: &'a [&'a str]) -> Self {
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
        }
    }
}

/// The environment with every template loaded, and the syntax errors of
/// those that failed to parse.
fn environment(
    files: &[&'static include_dir::File<'static>],
) -> Result<(Environment<'static>, Vec<String>), UserError> {
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
    let mut errors = Vec::new();
    for file in files {
        let path = template_path(file);
        if !path.ends_with(TEMPLATE_SUFFIX) {
            continue;
        }
        let Some(source) = file.contents_utf8() else {
            errors.push(format!("templates/{path}: not valid UTF-8"));
            continue;
        };
        if let Err(e) = env.add_template_owned(path, source) {
            errors.push(describe(&e));
        }
    }
    Ok((env, errors))
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
fn normalize(path: &str, text: String) -> Result<String, String> {
    if !manifest::output_path(path).ends_with(".json") {
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
    format!("{location}: {}{detail}", err.kind())
}

fn template_errors(errors: Vec<String>) -> UserError {
    let count = errors.len();
    UserError::failure(format!(
        "{count} template error{} (this is a bug in nestflux, please report it)",
        if count == 1 { "" } else { "s" }
    ))
    .with_detail(errors.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{FeatureSet, PartialAnswers, ProjectName};
    use crate::manifest::When;

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

    const TABLE: &[(&str, When)] = &[("only-with-cors.txt", When::Feature(Feature::Cors))];

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

    #[test]
    fn every_conditional_entry_names_an_existing_template() {
        let mut files = Vec::new();
        collect_files(&TEMPLATES, &mut files);
        let paths: Vec<String> = files.into_iter().map(template_path).collect();
        for (entry, _) in manifest::CONDITIONAL {
            assert!(
                paths.iter().any(|p| manifest::covers(entry, p)),
                "manifest entry `{entry}` matches no file under templates/"
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
