//! Which template files exist for which answers, decided here and nowhere
//! else.
//!
//! The rule: every file under `templates/` is generated, unless an entry
//! below names it (or a directory holding it, written with a trailing `/`)
//! together with the condition under which it exists. A file whose name ends
//! in `.jinja` is rendered with minijinja and written without that suffix;
//! every other file is copied byte for byte.
//!
//! Files that differ only in a few lines between answers are one template
//! with `{% if %}` blocks instead; this table is for files that exist or not.

use crate::answers::{Answers, Database, DeployTarget, Feature, Idp};

/// When a conditional template file is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Idp(Idp),
    /// Any of these identity providers.
    AnyIdp(&'static [Idp]),
    Database(Database),
    Feature(Feature),
    /// Any of these conditions.
    Any(&'static [When]),
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
            When::Any(conditions) => conditions.iter().any(|when| when.holds(answers)),
            When::Deploy(target) => answers.deploy.contains(target),
            When::ScalesOut => answers.scales_out(),
        }
    }
}

/// The conditional files. Paths are relative to `templates/`, as written in
/// the template tree (with any `.jinja` suffix). The features that have not
/// landed yet generate nothing.
pub const CONDITIONAL: &[(&str, When)] = &[
    // Local services for development: the identity provider (Keycloak or
    // Authentik, with the setup it imports at start) and PostgreSQL. A generic
    // OIDC provider is the user's own, so with SQLite that variant gets no
    // compose file (its README says what to configure instead); with
    // PostgreSQL it gets one that runs only the database.
    (
        "compose.yaml.jinja",
        When::Any(&[
            When::AnyIdp(&[Idp::Keycloak, Idp::Authentik]),
            When::Database(Database::Postgres),
        ]),
    ),
    ("deploy/keycloak/", When::Idp(Idp::Keycloak)),
    ("deploy/authentik/", When::Idp(Idp::Authentik)),
    // The HTTP defences: one file per feature (`security/mod.rs` declares them).
    ("src/security/headers.rs", When::Feature(Feature::Headers)),
    ("src/security/cors.rs", When::Feature(Feature::Cors)),
    (
        "src/security/rate_limit.rs.jinja",
        When::Feature(Feature::RateLimit),
    ),
    (
        "src/security/client_ip.rs",
        When::Feature(Feature::RateLimit),
    ),
    (
        "src/security/rate_limit_redis.rs",
        When::Feature(Feature::Redis),
    ),
    ("src/security/tls.rs", When::Feature(Feature::Tls)),
    (
        "tests/api/security/headers.rs.jinja",
        When::Feature(Feature::Headers),
    ),
    ("tests/api/security/cors.rs", When::Feature(Feature::Cors)),
    (
        "tests/api/security/rate_limit.rs",
        When::Feature(Feature::RateLimit),
    ),
    (
        "tests/api/security/redis.rs.jinja",
        When::Feature(Feature::Redis),
    ),
    (
        "tests/api/security/tls.rs.jinja",
        When::Feature(Feature::Tls),
    ),
    // One migration directory per database, the same tables and columns in
    // each (tests/migrations.rs checks it). The service embeds its own.
    ("migrations/sqlite/", When::Database(Database::Sqlite)),
    ("migrations/postgres/", When::Database(Database::Postgres)),
    (
        "migrations/sqlite/0002_create_audit_events.sql",
        When::Feature(Feature::AuditLog),
    ),
    (
        "migrations/postgres/0002_create_audit_events.sql",
        When::Feature(Feature::AuditLog),
    ),
    // Field-level encryption of `notes` and its key rotation.
    ("src/crypto/", When::Feature(Feature::Encryption)),
    (
        "tests/api/encryption.rs.jinja",
        When::Feature(Feature::Encryption),
    ),
    // The tamper-evident audit log and `<binary> audit verify`.
    ("src/audit/", When::Feature(Feature::AuditLog)),
    ("tests/api/audit.rs.jinja", When::Feature(Feature::AuditLog)),
    // Browser sessions: the login flow, the session store, its table.
    ("src/session/", When::Feature(Feature::Session)),
    (
        "src/config/session.rs.jinja",
        When::Feature(Feature::Session),
    ),
    ("src/repo/sessions.rs", When::Feature(Feature::Session)),
    ("src/routes/session.rs", When::Feature(Feature::Session)),
    (
        "migrations/sqlite/0003_create_sessions.sql",
        When::Feature(Feature::Session),
    ),
    (
        "migrations/postgres/0003_create_sessions.sql",
        When::Feature(Feature::Session),
    ),
    (
        "tests/api/session.rs.jinja",
        When::Feature(Feature::Session),
    ),
    // Kubernetes manifests (`--deploy kubernetes`, `nestflux add deploy
    // kubernetes`): the SQLite database's volume, and the autoscaler only
    // where more than one replica is safe.
    ("deploy/kubernetes/", When::Deploy(DeployTarget::Kubernetes)),
    (
        "deploy/kubernetes/base/persistentvolumeclaim.yaml.jinja",
        When::Database(Database::Sqlite),
    ),
    (
        "deploy/kubernetes/base/horizontalpodautoscaler.yaml.jinja",
        When::ScalesOut,
    ),
    // Sections of the generated README.md, included by it: never written as
    // files of their own.
    ("readme/", When::Any(&[])),
];

/// The template suffix that marks a file to render.
pub const TEMPLATE_SUFFIX: &str = ".jinja";

/// Whether the template at `path` is generated for `answers`, given a table
/// of conditional entries (always [`CONDITIONAL`] outside tests).
pub fn included(path: &str, answers: &Answers, table: &[(&str, When)]) -> bool {
    table
        .iter()
        .filter(|(entry, _)| covers(entry, path))
        .all(|(_, when)| when.holds(answers))
}

/// Whether a table entry names `path`: exactly, or as a directory prefix.
pub fn covers(entry: &str, path: &str) -> bool {
    match entry.strip_suffix('/') {
        Some(dir) => path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/')),
        None => entry == path,
    }
}

/// The path a template is written to in the generated project.
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

    const TABLE: &[(&str, When)] = &[
        ("src/crypto/", When::Feature(Feature::Encryption)),
        ("deploy/realm.json.jinja", When::Idp(Idp::Keycloak)),
    ];

    #[test]
    fn files_without_an_entry_are_always_included() {
        assert!(included("src/main.rs", &answers("none", Idp::Oidc), TABLE));
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
    fn an_any_idp_entry_covers_each_listed_provider_only() {
        let table = &[(
            "compose.yaml.jinja",
            When::AnyIdp(&[Idp::Keycloak, Idp::Authentik]),
        )];
        let path = "compose.yaml.jinja";
        assert!(included(path, &answers("none", Idp::Keycloak), table));
        assert!(included(path, &answers("none", Idp::Authentik), table));
        assert!(!included(path, &answers("none", Idp::Oidc), table));
    }

    #[test]
    fn an_any_entry_holds_when_one_of_its_conditions_does() {
        let table = &[(
            "compose.yaml.jinja",
            When::Any(&[When::Idp(Idp::Keycloak), When::Feature(Feature::Encryption)]),
        )];
        let path = "compose.yaml.jinja";
        assert!(included(path, &answers("none", Idp::Keycloak), table));
        assert!(included(path, &answers("encryption", Idp::Oidc), table));
        assert!(!included(path, &answers("cors", Idp::Oidc), table));
    }

    #[test]
    fn the_template_suffix_is_dropped_from_output_paths() {
        assert_eq!(output_path("Cargo.toml.jinja"), "Cargo.toml");
        assert_eq!(output_path(".gitignore"), ".gitignore");
    }
}
