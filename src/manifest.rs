//! Which template files exist for which answers, and under which name they
//! are written, decided here and nowhere else.
//!
//! The rule: every file under `templates/` is generated, at its own path,
//! unless an entry of [`RULES`] names it (or a directory holding it, written
//! with a trailing `/`). An entry says when the file exists and, for the
//! variants of one file, the path it is written to: `src/db.postgres.rs` and
//! `src/db.sqlite.rs` are both written as `src/db.rs`, each for its own
//! database, so that every generated file is straight Rust with no
//! `{% if %}` for the answers it was chosen by. A file whose name ends in
//! `.jinja` is rendered with minijinja and written without that suffix;
//! every other file is copied byte for byte.
//!
//! [`plan`] applies the table to the template tree for one set of answers:
//! it is the list of files a project gets, and it refuses two templates that
//! would be written to one path.

use std::collections::BTreeMap;

use crate::answers::{Answers, Database, DeployTarget, Feature, Idp};

/// When a conditional template file is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Idp(Idp),
    /// Any of these identity providers.
    AnyIdp(&'static [Idp]),
    Database(Database),
    Feature(Feature),
    /// The feature is off.
    Without(Feature),
    /// Any of these conditions.
    Any(&'static [When]),
    /// All of these conditions.
    All(&'static [When]),
    /// A deployment target is chosen (`[deploy] targets`).
    Deploy(DeployTarget),
    /// More than one replica may run ([`Answers::scales_out`]).
    ScalesOut,
}

impl When {
    pub fn holds(self, answers: &Answers) -> bool {
        match self {
            When::Idp(idp) => answers.idp == idp,
            When::AnyIdp(idps) => idps.contains(&answers.idp),
            When::Database(db) => answers.database == db,
            When::Feature(feature) => answers.features.contains(feature),
            When::Without(feature) => !answers.features.contains(feature),
            When::Any(conditions) => conditions.iter().any(|when| when.holds(answers)),
            When::All(conditions) => conditions.iter().all(|when| when.holds(answers)),
            When::Deploy(target) => answers.deploy.contains(target),
            When::ScalesOut => answers.scales_out(),
        }
    }
}

/// Where a template's output goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Its own path, without the `.jinja` suffix.
    Same,
    /// Another path: one of the variants of that file, each generated for its
    /// own answers. Only for an entry that names a single file.
    As(&'static str),
    /// Nowhere: a part that other templates `{% include %}` or `{% import %}`
    /// (the sections of the README).
    Included,
}

/// One entry of the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// A path relative to `templates/` as written in the tree (with any
    /// `.jinja` suffix), or a directory ending in `/`.
    pub template: &'static str,
    /// Generated only when this holds (`None`: always).
    pub when: Option<When>,
    pub output: Output,
}

/// A file or directory that exists only when `when` holds.
pub const fn only(template: &'static str, when: When) -> Rule {
    Rule {
        template,
        when: Some(when),
        output: Output::Same,
    }
}

/// One variant of the file `written_as`, generated when `when` holds.
pub const fn variant(template: &'static str, when: When, written_as: &'static str) -> Rule {
    Rule {
        template,
        when: Some(when),
        output: Output::As(written_as),
    }
}

/// Parts included by other templates, never written themselves.
pub const fn parts(template: &'static str) -> Rule {
    Rule {
        template,
        when: None,
        output: Output::Included,
    }
}

const KEYCLOAK: When = When::Idp(Idp::Keycloak);
const AUTHENTIK: When = When::Idp(Idp::Authentik);
const OIDC: When = When::Idp(Idp::Oidc);
const SQLITE: When = When::Database(Database::Sqlite);
const POSTGRES: When = When::Database(Database::Postgres);

/// The manifest. Paths are relative to `templates/`.
pub const RULES: &[Rule] = &[
    // Local services for development: the identity provider (Keycloak or
    // Authentik, with the setup it imports at start) and PostgreSQL. A generic
    // OIDC provider is the user's own, so with SQLite that variant gets no
    // compose file (its README says what to configure instead); with
    // PostgreSQL it gets one that runs only the database.
    only(
        "compose.yaml.jinja",
        When::Any(&[When::AnyIdp(&[Idp::Keycloak, Idp::Authentik]), POSTGRES]),
    ),
    // The lock of every feature for the project's database, cut down to the
    // project's own dependencies when it is written (`render::lockfile`),
    // under the conditions beside it.
    variant("lockfile/sqlite.lock", SQLITE, "Cargo.lock"),
    variant("lockfile/postgres.lock", POSTGRES, "Cargo.lock"),
    parts("lockfile/sqlite.conditions.toml"),
    parts("lockfile/postgres.conditions.toml"),
    // The README's sections, imported by README.md.jinja.
    parts("README/"),
    // The files of one resource, rendered once per resource of the project
    // (`render::RESOURCE_TEMPLATES`), never as themselves.
    parts("resource/"),
    only("deploy/keycloak/", KEYCLOAK),
    only("deploy/authentik/", AUTHENTIK),
    // The service's least-privilege role in compose.yaml's PostgreSQL.
    only("deploy/postgres/", POSTGRES),
    // How the bundled SQLite is compiled (cargo's `[env]`).
    only(".cargo/config.toml", SQLITE),
    // Where each identity provider puts the roles: its variables and the code
    // that reads its tokens.
    variant(
        "src/config/roles.keycloak.rs",
        KEYCLOAK,
        "src/config/roles.rs",
    ),
    variant(
        "src/config/roles.authentik.rs",
        AUTHENTIK,
        "src/config/roles.rs",
    ),
    variant("src/config/roles.oidc.rs", OIDC, "src/config/roles.rs"),
    variant("src/auth/roles.keycloak.rs", KEYCLOAK, "src/auth/roles.rs"),
    variant(
        "src/auth/roles.authentik.rs",
        AUTHENTIK,
        "src/auth/roles.rs",
    ),
    variant("src/auth/roles.oidc.rs", OIDC, "src/auth/roles.rs"),
    variant(
        "tests/api/auth/roles.keycloak.rs",
        KEYCLOAK,
        "tests/api/auth/roles.rs",
    ),
    variant(
        "tests/api/auth/roles.authentik.rs",
        AUTHENTIK,
        "tests/api/auth/roles.rs",
    ),
    variant(
        "tests/api/auth/roles.oidc.rs",
        OIDC,
        "tests/api/auth/roles.rs",
    ),
    variant(
        "tests/api/idp/provider.keycloak.rs",
        KEYCLOAK,
        "tests/api/idp/provider.rs",
    ),
    variant(
        "tests/api/idp/provider.authentik.rs",
        AUTHENTIK,
        "tests/api/idp/provider.rs",
    ),
    variant(
        "tests/api/idp/provider.oidc.rs",
        OIDC,
        "tests/api/idp/provider.rs",
    ),
    // The database: its settings, its pool, and one migration directory per
    // database, the same tables and columns in each (tests/migrations.rs
    // checks it). The service embeds its own.
    variant(
        "src/config/database.sqlite.rs.jinja",
        SQLITE,
        "src/config/database.rs",
    ),
    variant(
        "src/config/database.postgres.rs.jinja",
        POSTGRES,
        "src/config/database.rs",
    ),
    variant("src/db.sqlite.rs", SQLITE, "src/db.rs"),
    variant("src/db.postgres.rs", POSTGRES, "src/db.rs"),
    variant(
        "tests/api/database.sqlite.rs",
        SQLITE,
        "tests/api/database.rs",
    ),
    variant(
        "tests/api/database.postgres.rs",
        POSTGRES,
        "tests/api/database.rs",
    ),
    only("migrations/sqlite/", SQLITE),
    only("migrations/postgres/", POSTGRES),
    only(
        "migrations/sqlite/0002_create_audit_events.sql",
        When::Feature(Feature::AuditLog),
    ),
    only(
        "migrations/postgres/0002_create_audit_events.sql",
        When::Feature(Feature::AuditLog),
    ),
    // The HTTP defences: each feature its settings (`config/`), its code
    // (`security/`, which declares what exists) and its tests.
    only("src/config/cors.rs", When::Feature(Feature::Cors)),
    only("src/security/cors.rs", When::Feature(Feature::Cors)),
    only("tests/api/security/cors.rs", When::Feature(Feature::Cors)),
    // Preflights pay the per-IP rate limit: both features.
    only(
        "tests/api/security/preflight.rs",
        When::All(&[
            When::Feature(Feature::Cors),
            When::Feature(Feature::RateLimit),
        ]),
    ),
    only("src/security/headers.rs", When::Feature(Feature::Headers)),
    only(
        "tests/api/security/headers.rs.jinja",
        When::Feature(Feature::Headers),
    ),
    only(
        "src/config/rate_limit.rs.jinja",
        When::Feature(Feature::RateLimit),
    ),
    only(
        "src/security/rate_limit.rs.jinja",
        When::Feature(Feature::RateLimit),
    ),
    only(
        "src/security/client_ip.rs",
        When::Feature(Feature::RateLimit),
    ),
    only(
        "tests/api/security/rate_limit.rs",
        When::Feature(Feature::RateLimit),
    ),
    only("src/config/redis.rs", When::Feature(Feature::Redis)),
    only(
        "src/security/rate_limit_redis.rs",
        When::Feature(Feature::Redis),
    ),
    only(
        "tests/api/security/redis.rs.jinja",
        When::Feature(Feature::Redis),
    ),
    // Plain HTTP behind a proxy, or HTTPS served by the service (`tls`).
    only("src/config/tls.rs", When::Feature(Feature::Tls)),
    only("src/security/tls.rs", When::Feature(Feature::Tls)),
    variant(
        "src/security/serve.plain.rs",
        When::Without(Feature::Tls),
        "src/security/serve.rs",
    ),
    variant(
        "src/security/serve.tls.rs",
        When::Feature(Feature::Tls),
        "src/security/serve.rs",
    ),
    only(
        "tests/api/security/tls.rs.jinja",
        When::Feature(Feature::Tls),
    ),
    // The maintenance jobs of the command line, one module each, and the
    // database runner they share.
    only("src/cli/rotate_keys.rs", When::Feature(Feature::Encryption)),
    only("src/cli/audit.rs", When::Feature(Feature::AuditLog)),
    only(
        "src/cli/database.rs",
        When::Any(&[
            When::Feature(Feature::Encryption),
            When::Feature(Feature::AuditLog),
        ]),
    ),
    // Field-level encryption (the `encrypted` fields of resources, the items'
    // notes among them) and its key rotation: the pool carries the keys.
    only(
        "src/config/encryption.rs",
        When::Feature(Feature::Encryption),
    ),
    only("src/crypto/", When::Feature(Feature::Encryption)),
    variant(
        "src/db/pool.plain.rs",
        When::Without(Feature::Encryption),
        "src/db/pool.rs",
    ),
    variant(
        "src/db/pool.sealed.rs",
        When::Feature(Feature::Encryption),
        "src/db/pool.rs",
    ),
    only(
        "tests/api/encryption.rs.jinja",
        When::Feature(Feature::Encryption),
    ),
    // The tamper-evident audit log and `<binary> audit verify`; what a
    // request records of the data it touches goes there, when there is one.
    only("src/audit/", When::Feature(Feature::AuditLog)),
    variant(
        "src/journal.audit.rs",
        When::Feature(Feature::AuditLog),
        "src/journal.rs",
    ),
    variant(
        "src/journal.none.rs",
        When::Without(Feature::AuditLog),
        "src/journal.rs",
    ),
    only("tests/api/audit.rs.jinja", When::Feature(Feature::AuditLog)),
    // Browser sessions: the login flow, the session store, its table, and
    // who is calling: a bearer token, or else a session cookie. Their events
    // go to the audit log when there is one, else to the log only.
    only("src/session/", When::Feature(Feature::Session)),
    variant(
        "src/session/events.audit.rs",
        When::Feature(Feature::AuditLog),
        "src/session/events.rs",
    ),
    variant(
        "src/session/events.log.rs",
        When::Without(Feature::AuditLog),
        "src/session/events.rs",
    ),
    only(
        "src/config/session.rs.jinja",
        When::Feature(Feature::Session),
    ),
    only("src/repo/sessions.rs", When::Feature(Feature::Session)),
    only("src/routes/session.rs", When::Feature(Feature::Session)),
    variant(
        "src/access/authenticate.bearer.rs",
        When::Without(Feature::Session),
        "src/access/authenticate.rs",
    ),
    variant(
        "src/access/authenticate.session.rs",
        When::Feature(Feature::Session),
        "src/access/authenticate.rs",
    ),
    only(
        "migrations/sqlite/0003_create_sessions.sql",
        When::Feature(Feature::Session),
    ),
    only(
        "migrations/postgres/0003_create_sessions.sql",
        When::Feature(Feature::Session),
    ),
    only(
        "migrations/sqlite/0004_create_used_logout_tokens.sql",
        When::Feature(Feature::Session),
    ),
    only(
        "migrations/postgres/0004_create_used_logout_tokens.sql",
        When::Feature(Feature::Session),
    ),
    only(
        "tests/api/session.rs.jinja",
        When::Feature(Feature::Session),
    ),
    only("tests/api/cookies.rs", When::Feature(Feature::Session)),
    // The test identity provider as an authorization server, with the paths
    // and wordings of each provider.
    only("tests/api/idp/login/", When::Feature(Feature::Session)),
    variant(
        "tests/api/idp/login/paths.keycloak.rs",
        KEYCLOAK,
        "tests/api/idp/login/paths.rs",
    ),
    variant(
        "tests/api/idp/login/paths.authentik.rs",
        AUTHENTIK,
        "tests/api/idp/login/paths.rs",
    ),
    variant(
        "tests/api/idp/login/paths.oidc.rs",
        OIDC,
        "tests/api/idp/login/paths.rs",
    ),
    // Kubernetes manifests (`--deploy kubernetes`, `nestflux add deploy
    // kubernetes`): the SQLite database's volume, and the autoscaler only
    // where more than one replica is safe.
    only("deploy/kubernetes/", When::Deploy(DeployTarget::Kubernetes)),
    only(
        "deploy/kubernetes/base/persistentvolumeclaim.yaml.jinja",
        SQLITE,
    ),
    only(
        "deploy/kubernetes/base/horizontalpodautoscaler.yaml.jinja",
        When::ScalesOut,
    ),
];

/// The template suffix that marks a file to render.
pub const TEMPLATE_SUFFIX: &str = ".jinja";

/// The files of a project: each output path with the template it is made
/// from, sorted by output path.
pub type Plan = BTreeMap<String, String>;

/// The files `answers` get from the templates at `templates` (paths relative
/// to the template tree), under the rules `rules` (always [`RULES`] outside
/// tests). Two templates written to one path are a mistake in the rules,
/// reported with both names.
pub fn plan<'t>(
    templates: impl IntoIterator<Item = &'t str>,
    answers: &Answers,
    rules: &[Rule],
) -> Result<Plan, String> {
    let mut plan = Plan::new();
    for template in templates {
        let Some(output) = destination(template, answers, rules) else {
            continue;
        };
        if let Some(other) = plan.insert(output.clone(), template.to_owned()) {
            return Err(format!(
                "templates/{other} and templates/{template} are both written to `{output}`; \
                 give one of them a condition in src/manifest.rs that rules the other out"
            ));
        }
    }
    Ok(plan)
}

/// Where the template at `template` is written for `answers`, or `None` when
/// it is not generated (a condition does not hold, or it is a part).
pub fn destination(template: &str, answers: &Answers, rules: &[Rule]) -> Option<String> {
    let mut output = Output::Same;
    for rule in rules.iter().filter(|rule| covers(rule.template, template)) {
        if rule.when.is_some_and(|when| !when.holds(answers)) {
            return None;
        }
        if rule.output != Output::Same {
            output = rule.output;
        }
    }
    match output {
        Output::Same => Some(output_path(template).to_owned()),
        Output::As(path) => Some(path.to_owned()),
        Output::Included => None,
    }
}

/// Whether the output of `template` can differ between answer sets beyond
/// existing or not: it is rendered, or it is one variant of a file. These are
/// the files the snapshots show in full.
pub fn varies(template: &str, rules: &[Rule]) -> bool {
    template.ends_with(TEMPLATE_SUFFIX)
        || rules
            .iter()
            .any(|rule| rule.template == template && matches!(rule.output, Output::As(_)))
}

/// Whether a rule's path names `path`: exactly, or as a directory prefix.
pub fn covers(entry: &str, path: &str) -> bool {
    match entry.strip_suffix('/') {
        Some(dir) => path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/')),
        None => entry == path,
    }
}

/// The path a template is written to when no rule renames it.
pub fn output_path(template_path: &str) -> &str {
    template_path
        .strip_suffix(TEMPLATE_SUFFIX)
        .unwrap_or(template_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{FeatureSet, PartialAnswers, ProjectName};

    fn answers(features: &str, idp: Idp) -> Answers {
        PartialAnswers {
            idp: Some(idp),
            features: Some(FeatureSet::parse_list(features).unwrap()),
            ..Default::default()
        }
        .with_defaults(ProjectName::parse("t").unwrap())
    }

    fn on(database: Database) -> Answers {
        Answers {
            database,
            ..answers("none", Idp::Oidc)
        }
    }

    #[test]
    fn a_deploy_entry_holds_for_its_target_and_scales_out_for_shared_state() {
        let mut a = answers("rate-limit", Idp::Oidc);
        assert!(!When::Deploy(DeployTarget::Kubernetes).holds(&a));
        a.deploy.insert(DeployTarget::Kubernetes);
        assert!(When::Deploy(DeployTarget::Kubernetes).holds(&a));
        a.database = Database::Postgres;
        assert!(!When::ScalesOut.holds(&a));
        a.features = FeatureSet::parse_list("rate-limit,redis").unwrap();
        assert!(When::ScalesOut.holds(&a));
    }

    const TABLE: &[Rule] = &[
        only("src/crypto/", When::Feature(Feature::Encryption)),
        only("deploy/realm.json.jinja", KEYCLOAK),
        variant("src/db.sqlite.rs", SQLITE, "src/db.rs"),
        variant("src/db.postgres.rs.jinja", POSTGRES, "src/db.rs"),
        parts("README/"),
    ];

    fn included(path: &str, answers: &Answers, table: &[Rule]) -> bool {
        destination(path, answers, table).is_some()
    }

    #[test]
    fn files_without_an_entry_are_always_included_at_their_own_path() {
        let a = answers("none", Idp::Oidc);
        assert_eq!(
            destination("src/main.rs", &a, TABLE).as_deref(),
            Some("src/main.rs")
        );
        assert_eq!(
            destination("Cargo.toml.jinja", &a, TABLE).as_deref(),
            Some("Cargo.toml")
        );
    }

    #[test]
    fn a_directory_entry_covers_every_file_below_it() {
        let path = "src/crypto/keys.rs.jinja";
        assert!(included(path, &answers("encryption", Idp::Oidc), TABLE));
        assert!(!included(path, &answers("cors", Idp::Oidc), TABLE));
        // A sibling that merely shares the prefix is not covered.
        assert!(included(
            "src/crypto_util.rs",
            &answers("none", Idp::Oidc),
            TABLE
        ));
    }

    #[test]
    fn a_file_entry_covers_only_that_file() {
        let path = "deploy/realm.json.jinja";
        assert!(included(path, &answers("none", Idp::Keycloak), TABLE));
        assert!(!included(path, &answers("none", Idp::Authentik), TABLE));
    }

    #[test]
    fn each_variant_is_written_under_the_shared_name_for_its_own_answers() {
        let templates = [
            "src/db.sqlite.rs",
            "src/db.postgres.rs.jinja",
            "src/main.rs",
        ];
        let sqlite = plan(templates, &on(Database::Sqlite), TABLE).unwrap();
        assert_eq!(sqlite["src/db.rs"], "src/db.sqlite.rs");
        let postgres = plan(templates, &on(Database::Postgres), TABLE).unwrap();
        assert_eq!(postgres["src/db.rs"], "src/db.postgres.rs.jinja");
        for plan in [sqlite, postgres] {
            assert_eq!(
                plan.keys().collect::<Vec<_>>(),
                ["src/db.rs", "src/main.rs"],
                "no variant is written under its own name"
            );
        }
    }

    #[test]
    fn two_templates_written_to_one_path_are_refused_naming_both() {
        let overlapping = &[
            variant("src/db.sqlite.rs", SQLITE, "src/db.rs"),
            variant("src/db.any.rs", SQLITE, "src/db.rs"),
        ];
        let error = plan(
            ["src/db.any.rs", "src/db.sqlite.rs"],
            &on(Database::Sqlite),
            overlapping,
        )
        .unwrap_err();
        assert!(
            error.contains("templates/src/db.any.rs")
                && error.contains("templates/src/db.sqlite.rs"),
            "{error}"
        );
        // A variant is also refused over a file of that name without a rule.
        let error = plan(
            ["src/db.rs", "src/db.sqlite.rs"],
            &on(Database::Sqlite),
            TABLE,
        )
        .unwrap_err();
        assert!(error.contains("`src/db.rs`"), "{error}");
    }

    #[test]
    fn parts_are_never_written() {
        let a = answers("none", Idp::Oidc);
        assert_eq!(destination("README/cors.md.jinja", &a, TABLE), None);
    }

    #[test]
    fn an_any_idp_entry_covers_each_listed_provider_only() {
        let table = &[only(
            "compose.yaml.jinja",
            When::AnyIdp(&[Idp::Keycloak, Idp::Authentik]),
        )];
        let path = "compose.yaml.jinja";
        assert!(included(path, &answers("none", Idp::Keycloak), table));
        assert!(included(path, &answers("none", Idp::Authentik), table));
        assert!(!included(path, &answers("none", Idp::Oidc), table));
    }

    #[test]
    fn any_all_and_without_combine_conditions() {
        let any = &[only(
            "x",
            When::Any(&[KEYCLOAK, When::Feature(Feature::Encryption)]),
        )];
        assert!(included("x", &answers("none", Idp::Keycloak), any));
        assert!(included("x", &answers("encryption", Idp::Oidc), any));
        assert!(!included("x", &answers("cors", Idp::Oidc), any));

        let all = &[only("x", When::All(&[OIDC, When::Without(Feature::Cors)]))];
        assert!(included("x", &answers("none", Idp::Oidc), all));
        assert!(!included("x", &answers("cors", Idp::Oidc), all));
        assert!(!included("x", &answers("none", Idp::Keycloak), all));
    }

    #[test]
    fn only_rendered_templates_and_variants_vary() {
        assert!(varies("Cargo.toml.jinja", TABLE));
        assert!(varies("src/db.sqlite.rs", TABLE));
        assert!(!varies("src/main.rs", TABLE));
        assert!(!varies("src/crypto/mod.rs", TABLE));
    }

    #[test]
    fn renaming_rules_name_single_files() {
        for rule in RULES {
            if let Output::As(path) = rule.output {
                assert!(
                    !rule.template.ends_with('/') && !path.ends_with('/'),
                    "{rule:?}: only a single file is written under another name"
                );
                assert_ne!(
                    output_path(rule.template),
                    path,
                    "{rule:?}: a variant has a name of its own"
                );
            }
        }
    }

    #[test]
    fn the_template_suffix_is_dropped_from_output_paths() {
        assert_eq!(output_path("Cargo.toml.jinja"), "Cargo.toml");
        assert_eq!(output_path(".gitignore"), ".gitignore");
    }
}
