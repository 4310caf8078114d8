//! `nestflux.toml`, the file that records a project's answers: its format,
//! reading it (presets too: `nestflux new --preset FILE` takes the same
//! format) and writing it.
//!
//! The file is a few tables, each read into a section struct below. To add
//! a key (the `[[resources]]` of `add resource`, a `[deploy]` table, ...):
//! add a field to its section (or a new section to [`RawFile`]) that is
//! `Option` or `#[serde(default)]`, expose it on [`ProjectFile`], and write it
//! in a `write_*` function of [`render`]. Files written before the key existed
//! then still read, with the key absent, and keep schema 1. Bump
//! [`SCHEMA_VERSION`] only when an existing key changes meaning: nestflux
//! refuses files of a newer schema than it knows, naming the upgrade.

use std::ops::Range;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use toml::Spanned;

use crate::NESTFLUX_VERSION;
use crate::answers::{
    Database, DeploySet, DeployTarget, Feature, FeatureSet, Idp, PartialAnswers, ProjectName,
};
use crate::diagnostics::located_error;
use crate::error::UserError;
use crate::resource::{self, Resource};

/// Version of the `nestflux.toml` layout. Bump it only with a migration path:
/// `add` and `audit-config` refuse files written with a newer schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The file name of the answers inside a generated project.
pub const PROJECT_FILE: &str = "nestflux.toml";

/// `nestflux.toml` as read, with the places of the values that messages
/// point at. Every key is optional so that a preset may carry only the
/// answers a team wants to fix.
#[derive(Clone, Debug)]
pub struct ProjectFile {
    pub answers: PartialAnswers,
    /// Byte range of the `features` value, when it is written.
    pub features_span: Option<Range<usize>>,
    /// The entries of `[audit] allow`, as written.
    pub allow: Vec<AllowEntry>,
    /// The project's resources (`[[resources]]`), in the order they were
    /// added (`nestflux add resource`).
    pub resources: Vec<Resource>,
}

/// One entry of `[audit] allow` as written, with the places of its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowEntry {
    pub rule: Spanned<String>,
    pub path: Option<Spanned<String>>,
    pub reason: Option<String>,
    pub expires: Option<Spanned<String>>,
    /// Byte range of the whole entry.
    pub span: Range<usize>,
}

impl ProjectFile {
    /// Parses the text of a `nestflux.toml` found at `path` (named in
    /// errors, with the line and column and the offending key or value).
    pub fn parse(text: &str, path: &Path) -> Result<ProjectFile, UserError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(text, path, &e))?;
        if let Some(schema) = raw.schema
            && schema > SCHEMA_VERSION
        {
            return Err(UserError::failure(format!(
                "`{}` uses schema {schema}, but nestflux {NESTFLUX_VERSION} understands schema {SCHEMA_VERSION} at most",
                path.display()
            ))
            .with_help("upgrade nestflux: cargo install nestflux"));
        }
        let project = raw.project;
        let mut resources = raw
            .resources
            .into_iter()
            .map(|raw| raw.into_resource(text, path))
            .collect::<Result<Vec<_>, _>>()?;
        // In the order they were added, which their migrations number (an
        // upgrade appends the `items` of a project made before it was a
        // resource, whose migration is the first).
        resources.sort_by_key(|resource| resource.migration);
        Ok(ProjectFile {
            resources,
            features_span: project.features.as_ref().map(Spanned::span),
            answers: PartialAnswers {
                name: project.name,
                idp: project.idp,
                database: project.database,
                features: project
                    .features
                    .map(|f| f.into_inner().into_iter().collect()),
                deploy: raw
                    .deploy
                    .targets
                    .map(|targets| targets.into_iter().collect::<DeploySet>()),
            },
            allow: raw
                .audit
                .allow
                .into_iter()
                .map(|entry| {
                    let span = entry.span();
                    let RawAllowEntry {
                        rule,
                        path,
                        reason,
                        expires,
                    } = entry.into_inner();
                    AllowEntry {
                        rule,
                        path,
                        reason,
                        expires,
                        span,
                    }
                })
                .collect(),
        })
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> anyhow::Result<(String, ProjectFile)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        let file = Self::parse(&text, path)?;
        Ok((text, file))
    }
}

/// Reads a preset (or any `nestflux.toml`) into partial answers. A preset's
/// `[audit]` table is checked but not carried over: its suppressions name the
/// files of another project.
pub fn read_preset(path: &Path) -> anyhow::Result<PartialAnswers> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read preset `{}`", path.display()))?;
    Ok(ProjectFile::parse(&text, path)?.answers)
}

/// An `[audit] allow` entry to write, with an optional comment after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAllowEntry {
    pub rule: &'static str,
    pub path: Option<&'static str>,
    pub reason: &'static str,
    pub comment: Option<&'static str>,
}

/// Entries written together under a comment line saying why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowGroup {
    pub comment: &'static str,
    pub entries: Vec<NewAllowEntry>,
}

/// Renders `nestflux.toml` for `answers`, accepting the findings of `allow`.
/// Deterministic: the same inputs always give the same bytes.
pub fn render(answers: &crate::answers::Answers, allow: &[AllowGroup]) -> String {
    let mut out = String::new();
    write_header(&mut out);
    write_project(&mut out, answers);
    write_deploy(&mut out, &answers.deploy);
    write_audit(&mut out, allow);
    out
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn write_header(out: &mut String) {
    out.push_str(&format!(
        "# The answers this project was generated from. `nestflux add` and\n\
         # `nestflux audit-config` read this file: keep it committed.\n\
         # It also works as a preset: nestflux new other-api --preset {PROJECT_FILE}\n\
         schema = {SCHEMA_VERSION}\n\
         nestflux-version = {}\n",
        quote(NESTFLUX_VERSION)
    ));
}

fn write_project(out: &mut String, answers: &crate::answers::Answers) {
    let features: Vec<String> = answers.features.iter().map(|f| quote(f.key())).collect();
    out.push_str(&format!(
        "\n\
         [project]\n\
         name = {name}\n\
         # {idps}\n\
         idp = {idp}\n\
         # {databases}\n\
         database = {database}\n\
         # Optional security features, any of: {all_keys}\n\
         features = [{features}]\n",
        name = quote(answers.name.as_str()),
        idps = Idp::ALL.map(Idp::key).join(" | "),
        idp = quote(answers.idp.key()),
        databases = Database::AVAILABLE.map(Database::key).join(" | "),
        database = quote(answers.database.key()),
        all_keys = Feature::ALL.map(Feature::key).join(", "),
        features = features.join(", "),
    ));
}

/// `[deploy]`, only when a target is chosen: a project without one keeps the
/// layout it had before deployment targets existed.
fn write_deploy(out: &mut String, deploy: &DeploySet) {
    if deploy.is_empty() {
        return;
    }
    out.push_str(&deploy_table(deploy));
}

/// The `[deploy]` table for `deploy`, as [`render`] writes it (and as
/// `nestflux add deploy` appends it to an existing file).
pub fn deploy_table(deploy: &DeploySet) -> String {
    let targets: Vec<String> = deploy.iter().map(|t| quote(t.key())).collect();
    format!(
        "\n\
         [deploy]\n\
         # Deployment files nestflux renders beside the service, any of: {all}\n\
         # (`nestflux add deploy <target>` adds one to an existing project)\n\
         targets = [{targets}]\n",
        all = DeployTarget::ALL.map(DeployTarget::key).join(", "),
        targets = targets.join(", "),
    )
}

fn write_audit(out: &mut String, allow: &[AllowGroup]) {
    out.push_str(
        "\n\
         [audit]\n\
         # Findings of `nestflux audit-config` accepted on purpose, each with a reason:\n\
         #   { rule = \"NF0xx\", path = \"file or glob\", reason = \"why\", expires = \"YYYY-MM-DD\" }\n\
         # `path` and `expires` are optional. An entry without a reason, or past its\n\
         # date, suppresses nothing and is reported itself.\n",
    );
    if allow.iter().all(|g| g.entries.is_empty()) {
        out.push_str("allow = []\n");
        return;
    }
    out.push_str("allow = [\n");
    for group in allow.iter().filter(|g| !g.entries.is_empty()) {
        out.push_str(&format!("  # {}\n", group.comment));
        for entry in &group.entries {
            let path = entry
                .path
                .map(|p| format!(", path = {}", quote(p)))
                .unwrap_or_default();
            let comment = entry.comment.map(|c| format!(" # {c}")).unwrap_or_default();
            out.push_str(&format!(
                "  {{ rule = {}{path}, reason = {} }},{comment}\n",
                quote(entry.rule),
                quote(entry.reason)
            ));
        }
    }
    out.push_str("]\n");
}

/// The file on disk, key for key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFile {
    schema: Option<u32>,
    #[allow(dead_code)] // informational: which nestflux wrote the file
    nestflux_version: Option<String>,
    #[serde(default)]
    project: ProjectSection,
    #[serde(default)]
    deploy: DeploySection,
    #[serde(default)]
    audit: AuditSection,
    #[serde(default)]
    resources: Vec<RawResource>,
}

/// One `[[resources]]` entry: a resource added by `nestflux add resource`.
/// Its fields are written in the grammar of the command line
/// ([`crate::resource::parse`]), so there is one way to read them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    name: Spanned<String>,
    migration: u32,
    #[serde(default)]
    private: bool,
    fields: Vec<Spanned<String>>,
}

impl RawResource {
    fn into_resource(self, text: &str, path: &Path) -> Result<Resource, UserError> {
        let help =
            "fix the entry to match `nestflux add resource`'s grammar (README, \"Resources\")";
        let name = self.name.get_ref();
        if let Err(problem) = resource::check_resource_name(name) {
            return Err(located_error(
                text,
                path,
                self.name.span().start,
                &problem,
                help,
            ));
        }
        let mut fields = Vec::new();
        for field in &self.fields {
            // +1: the opening quote of the string.
            let field = resource::parse_field(field.get_ref()).map_err(|e| {
                located_error(
                    text,
                    path,
                    field.span().start + 1 + e.column,
                    &e.message,
                    help,
                )
            })?;
            fields.push(field);
        }
        Ok(Resource {
            name: name.clone(),
            fields,
            private: self.private,
            migration: self.migration,
        })
    }
}

/// The `[[resources]]` entry for `resource`, as `nestflux add resource`
/// appends it to `nestflux.toml`.
pub fn resource_table(resource: &Resource) -> String {
    let fields: Vec<String> = resource
        .field_texts()
        .iter()
        .map(|f| format!("  {},\n", quote(f)))
        .collect();
    let private = if resource.private {
        "private = true\n"
    } else {
        ""
    };
    format!(
        "\n[[resources]]\nname = {}\nmigration = {}\n{private}fields = [\n{}]\n",
        quote(&resource.name),
        resource.migration,
        fields.concat(),
    )
}

/// `[deploy]`: the deployment targets (absent in files written before it
/// existed: none).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploySection {
    targets: Option<Vec<DeployTarget>>,
}

/// `[project]`: the answers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectSection {
    name: Option<ProjectName>,
    idp: Option<Idp>,
    database: Option<Database>,
    features: Option<Spanned<Vec<Feature>>>,
}

/// `[audit]`: the findings accepted on purpose.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditSection {
    #[serde(default)]
    allow: Vec<Spanned<RawAllowEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllowEntry {
    rule: Spanned<String>,
    path: Option<Spanned<String>>,
    reason: Option<String>,
    expires: Option<Spanned<String>>,
}

/// Turns a TOML error into `file:line:column: message`, with the line shown.
fn toml_error(text: &str, path: &Path, err: &toml::de::Error) -> UserError {
    let message = err.message().trim_end();
    let Some(span) = err.span() else {
        return UserError::failure(format!("`{}`: {message}", path.display()));
    };
    located_error(
        text,
        path,
        span.start,
        message,
        &format!(
            "fix or remove that line; see `{PROJECT_FILE}` in any generated project for the format"
        ),
    )
}

/// The features in force: those written, or the defaults when the file
/// leaves `features` out (as `nestflux new` would have chosen).
pub fn features_in_force(answers: &PartialAnswers) -> FeatureSet {
    answers
        .features
        .clone()
        .unwrap_or_else(FeatureSet::defaults)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Answers;

    fn parse(text: &str) -> PartialAnswers {
        ProjectFile::parse(text, Path::new("nestflux.toml"))
            .unwrap()
            .answers
    }

    #[test]
    fn project_file_round_trips() {
        let answers = Answers {
            name: ProjectName::parse("shop-api").unwrap(),
            idp: Idp::Authentik,
            database: Database::Sqlite,
            features: FeatureSet::parse_list("headers,audit-log").unwrap(),
            deploy: DeploySet::none(),
        };
        let parsed = parse(&render(&answers, &[]));
        assert_eq!(
            parsed.with_defaults(ProjectName::parse("other").unwrap()),
            answers
        );
    }

    #[test]
    fn deploy_targets_are_written_only_when_chosen_and_read_back() {
        let mut answers = Answers {
            name: ProjectName::parse("shop-api").unwrap(),
            idp: Idp::Keycloak,
            database: Database::Postgres,
            features: FeatureSet::defaults(),
            deploy: DeploySet::none(),
        };
        let without = render(&answers, &[]);
        assert!(!without.contains("[deploy]"), "{without}");
        assert_eq!(parse(&without).deploy, None);
        answers.deploy.insert(DeployTarget::Kubernetes);
        let with = render(&answers, &[]);
        assert!(with.contains("\n[deploy]\n"), "{with}");
        assert!(with.contains("targets = [\"kubernetes\"]\n"), "{with}");
        assert_eq!(
            parse(&with).with_defaults(ProjectName::parse("x").unwrap()),
            answers
        );
        let msg = preset_error("[deploy]\ntargets = [\"nomad\"]\n");
        assert!(
            msg.contains("line 2") && msg.contains("unknown variant `nomad`"),
            "{msg}"
        );
    }

    #[test]
    fn an_empty_feature_list_is_written_and_read_back_as_empty() {
        let answers = Answers {
            name: ProjectName::parse("bare").unwrap(),
            idp: Idp::Oidc,
            database: Database::Sqlite,
            features: FeatureSet::none(),
            deploy: DeploySet::none(),
        };
        let text = render(&answers, &[]);
        assert!(text.contains("features = []\n"));
        assert!(text.contains("allow = []\n"));
        assert_eq!(parse(&text).features, Some(FeatureSet::none()));
    }

    #[test]
    fn a_file_of_schema_1_without_later_keys_still_reads() {
        // The oldest layout: only `[project]`, no `[audit]` table.
        let parsed = parse("schema = 1\n[project]\nname = \"old\"\nidp = \"oidc\"\n");
        assert_eq!(parsed.idp, Some(Idp::Oidc));
        assert_eq!(parsed.database, None);
        assert_eq!(features_in_force(&parsed), FeatureSet::defaults());
    }

    #[test]
    fn allow_groups_are_written_under_their_comment_and_read_back() {
        let answers = Answers {
            name: ProjectName::parse("x").unwrap(),
            idp: Idp::Oidc,
            database: Database::Sqlite,
            features: FeatureSet::none(),
            deploy: DeploySet::none(),
        };
        let group = AllowGroup {
            comment: "why these",
            entries: vec![NewAllowEntry {
                rule: "NF011",
                path: Some("deploy/**"),
                reason: "a reason",
                comment: Some("a note"),
            }],
        };
        let text = render(&answers, &[group]);
        assert!(
            text.ends_with(
                "allow = [\n  # why these\n  { rule = \"NF011\", path = \"deploy/**\", reason = \"a reason\" }, # a note\n]\n"
            ),
            "{text}"
        );
        let file = ProjectFile::parse(&text, Path::new("nestflux.toml")).unwrap();
        assert_eq!(file.allow.len(), 1);
        assert_eq!(file.allow[0].rule.get_ref(), "NF011");
    }

    fn preset_error(text: &str) -> String {
        let user = ProjectFile::parse(text, Path::new("team.toml")).unwrap_err();
        format!("{user} / {}", user.detail.clone().unwrap_or_default())
    }

    #[test]
    fn unknown_keys_are_named_with_file_and_line() {
        let msg = preset_error("schema = 1\n[project]\nidp = \"keycloak\"\nflavour = \"x\"\n");
        assert!(msg.contains("`team.toml` line 4, column 1"), "{msg}");
        assert!(msg.contains("unknown field `flavour`"), "{msg}");
        assert!(msg.contains("flavour = \"x\""), "{msg}");
    }

    #[test]
    fn unknown_values_are_named_with_file_and_line() {
        let msg = preset_error("[project]\nidp = \"okta\"\n");
        assert!(msg.contains("line 2, column 7"), "{msg}");
        assert!(msg.contains("unknown variant `okta`"), "{msg}");
        let msg = preset_error("[project]\nfeatures = [\"cors\", \"waf\"]\n");
        assert!(
            msg.contains("line 2") && msg.contains("unknown variant `waf`"),
            "{msg}"
        );
        let msg = preset_error("[project]\nname = \"My Api\"\n");
        assert!(msg.contains("line 2") && msg.contains("lowercase"), "{msg}");
    }

    #[test]
    fn resources_are_written_and_read_back_with_their_fields() {
        let text = "[project]\nname = \"x\"\n";
        let resource = Resource {
            name: "invoices".to_owned(),
            fields: vec![
                resource::parse_field("number:string:unique").unwrap(),
                resource::parse_field("note:text?:max=2000:pattern=^a\"b$").unwrap(),
            ],
            private: true,
            migration: 4,
        };
        let text = format!("{text}{}", resource_table(&resource));
        let file = ProjectFile::parse(&text, Path::new("nestflux.toml")).unwrap();
        assert_eq!(file.resources, vec![resource]);
    }

    #[test]
    fn a_bad_recorded_field_is_named_at_its_line_and_column() {
        let msg = preset_error(
            "[[resources]]\nname = \"invoices\"\nmigration = 4\nfields = [\"due:dat\"]\n",
        );
        assert!(msg.contains("line 4, column 16"), "{msg}");
        assert!(msg.contains("unknown type `dat`"), "{msg}");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let msg = preset_error("schema = 99\n");
        assert!(msg.contains("schema 99"), "{msg}");
    }
}
