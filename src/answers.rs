//! `Answers`: every choice a project is generated from, its validation, and
//! `nestflux.toml`, the file that records those choices inside a generated
//! project. The same format is accepted by `nestflux new --preset FILE`, so a
//! team can commit its standard answers once and reuse them.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::UserError;

/// Version of the `nestflux.toml` layout. Bump it only with a migration path:
/// `add` and `audit-config` refuse files written with a newer schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The version of nestflux writing the file, recorded for humans and support.
pub const NESTFLUX_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The file name of the answers inside a generated project.
pub const PROJECT_FILE: &str = "nestflux.toml";

/// The identity provider whose access tokens the generated service accepts.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Idp {
    /// Keycloak: roles from `realm_access` and `resource_access.<client>`
    Keycloak,
    /// Authentik: roles from the `groups` claim
    Authentik,
    /// Any OpenID Connect provider: roles from a configurable claim
    Oidc,
}

impl Idp {
    pub const ALL: [Idp; 3] = [Idp::Keycloak, Idp::Authentik, Idp::Oidc];
    pub const DEFAULT: Idp = Idp::Keycloak;

    /// The stable key used in flags, `nestflux.toml` and templates.
    pub fn key(self) -> &'static str {
        match self {
            Idp::Keycloak => "keycloak",
            Idp::Authentik => "authentik",
            Idp::Oidc => "oidc",
        }
    }

    /// A human label for prompts and summaries.
    pub fn label(self) -> &'static str {
        match self {
            Idp::Keycloak => "Keycloak",
            Idp::Authentik => "Authentik",
            Idp::Oidc => "Any OpenID Connect provider",
        }
    }
}

/// The database the generated service stores its data in.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Database {
    /// SQLite, embedded in the service: nothing to install or run
    Sqlite,
    /// PostgreSQL: a server you run (compose.yaml starts one for development)
    Postgres,
}

impl Database {
    pub const DEFAULT: Database = Database::Sqlite;

    /// The databases this release has templates for, in prompt order.
    pub const AVAILABLE: [Database; 2] = [Database::Sqlite, Database::Postgres];

    pub fn key(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres => "postgres",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Database::Sqlite => "SQLite (embedded, no setup)",
            Database::Postgres => "PostgreSQL",
        }
    }

    pub fn is_available(self) -> bool {
        Self::AVAILABLE.contains(&self)
    }
}

/// An optional security feature. Input validation, deny-by-default routing
/// and parameterized queries are not features: every project has them.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// Security headers on every response (Helmet's set)
    Headers,
    /// Token-bucket rate limiting per client and per subject
    RateLimit,
    /// A CORS allowlist of exact origins
    Cors,
    /// Structured, tamper-evident audit events
    AuditLog,
    /// Field-level encryption at rest with key rotation
    Encryption,
    /// Rate limits shared by every instance through Redis (needs rate-limit)
    Redis,
    /// HTTPS served by the service itself with rustls, certificate reloaded live
    Tls,
    /// Browser sign-in through the IdP: server-side sessions, refresh, CSRF (needs encryption)
    Session,
}

impl Feature {
    /// Every feature, in the order they are shown and written.
    pub const ALL: [Feature; 8] = [
        Feature::Headers,
        Feature::RateLimit,
        Feature::Cors,
        Feature::AuditLog,
        Feature::Encryption,
        Feature::Redis,
        Feature::Tls,
        Feature::Session,
    ];

    /// The stable key used in flags, `nestflux.toml`, prompts and the audit.
    pub fn key(self) -> &'static str {
        match self {
            Feature::Headers => "headers",
            Feature::RateLimit => "rate-limit",
            Feature::Cors => "cors",
            Feature::AuditLog => "audit-log",
            Feature::Encryption => "encryption",
            Feature::Redis => "redis",
            Feature::Tls => "tls",
            Feature::Session => "session",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Feature::Headers => "security headers (Helmet's set)",
            Feature::RateLimit => "rate limiting",
            Feature::Cors => "CORS allowlist",
            Feature::AuditLog => "audit log",
            Feature::Encryption => "encryption at rest",
            Feature::Redis => "rate limits shared through Redis",
            Feature::Tls => "HTTPS served directly (rustls)",
            Feature::Session => "browser sessions (login through the IdP, BFF)",
        }
    }

    /// Whether a new project gets this feature when nothing says otherwise.
    ///
    /// `redis` and `tls` are deployment choices (several replicas; no
    /// TLS-terminating proxy in front), and `session` serves browser front
    /// ends (an API for other services has no use for it): not defences a
    /// service lacks without them, so they are off unless asked for.
    pub fn on_by_default(self) -> bool {
        !matches!(self, Feature::Redis | Feature::Tls | Feature::Session)
    }

    /// The feature this one builds on, if any: `redis` shares the rate
    /// limiter's state, so it needs `rate-limit`; `session` stores the
    /// identity provider's tokens encrypted with the data-encryption keys, so
    /// it needs `encryption`.
    pub fn requires(self) -> Option<Feature> {
        match self {
            Feature::Redis => Some(Feature::RateLimit),
            Feature::Session => Some(Feature::Encryption),
            _ => None,
        }
    }

    pub fn from_key(key: &str) -> Option<Feature> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }
}

/// A set of features, always iterated in [`Feature::ALL`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeatureSet(BTreeSet<Feature>);

impl FeatureSet {
    pub fn none() -> Self {
        Self(BTreeSet::new())
    }

    pub fn defaults() -> Self {
        Feature::ALL
            .into_iter()
            .filter(|f| f.on_by_default())
            .collect()
    }

    pub fn all() -> Self {
        Feature::ALL.into_iter().collect()
    }

    pub fn contains(&self, feature: Feature) -> bool {
        self.0.contains(&feature)
    }

    pub fn iter(&self) -> impl Iterator<Item = Feature> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses the `--features` syntax: a comma-separated list of keys, or
    /// `none` for the empty set.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        let list = list.trim();
        if list == "none" {
            return Ok(Self::none());
        }
        if list.is_empty() {
            return Err(format!(
                "the feature list is empty; pass `--features none` for no optional features, or some of: {}",
                Self::valid_keys()
            ));
        }
        let mut set = Self::none();
        for key in list.split(',').map(str::trim) {
            if key == "none" {
                return Err("`none` cannot be combined with other features".to_owned());
            }
            let feature = Feature::from_key(key).ok_or_else(|| {
                format!(
                    "unknown feature `{key}`; valid features are: {}",
                    Self::valid_keys()
                )
            })?;
            set.0.insert(feature);
        }
        Ok(set)
    }

    fn valid_keys() -> String {
        Feature::ALL.map(Feature::key).join(", ")
    }
}

impl FromIterator<Feature> for FeatureSet {
    fn from_iter<I: IntoIterator<Item = Feature>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for FeatureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let keys: Vec<_> = self.iter().map(Feature::key).collect();
        f.write_str(&keys.join(", "))
    }
}

/// A validated project name: usable as a directory, a Cargo package name
/// and (with `-` turned into `_`) a Rust crate name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName(String);

/// Why a name was refused, and a fixed name to suggest when one exists.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a valid project name: {rule}")]
pub struct NameError {
    pub name: String,
    pub rule: String,
    pub suggestion: Option<String>,
}

/// The name is also the crate, database, realm and image name, and it
/// appears in generated Rust code; 30 characters keep every generated line
/// within rustfmt's width, so a new project passes `cargo fmt --check`
/// whatever its name (the build matrix uses a 30-character name).
const MAX_NAME_LEN: usize = 30;

/// Rust's strict and reserved keywords (2024 edition). A crate cannot be
/// named after one: `use fn::…` would not parse.
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names of crates that ship with Rust; a package with such a name shadows them.
const BUILTIN_CRATES: &[&str] = &["alloc", "core", "proc_macro", "std", "test"];

/// Names cargo reserves for its own output directories.
const CARGO_ARTIFACT_NAMES: &[&str] = &["build", "deps", "examples", "incremental"];

/// Device names Windows refuses as file names.
const WINDOWS_RESERVED: &[&str] = &[
    "aux", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "con", "lpt1",
    "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "nul", "prn",
];

impl ProjectName {
    /// Validates `name` with a rule set like cargo's, stricter where a
    /// service name ends up elsewhere too (container images, realm names):
    /// lowercase ASCII letters, digits, `-` and `_`, starting with a letter.
    pub fn parse(name: &str) -> Result<Self, NameError> {
        match broken_rule(name) {
            None => Ok(Self(name.to_owned())),
            Some(rule) => Err(NameError {
                name: name.to_owned(),
                rule,
                suggestion: suggest(name),
            }),
        }
    }

    /// The package name, as written in `Cargo.toml` and used for directories.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Rust crate name: `my-api` becomes `my_api`.
    pub fn crate_name(&self) -> String {
        self.0.replace('-', "_")
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ProjectName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for ProjectName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(|e| {
            let mut msg = e.to_string();
            if let Some(s) = e.suggestion {
                msg.push_str(&format!(" (try `{s}`)"));
            }
            serde::de::Error::custom(msg)
        })
    }
}

/// The first rule `name` breaks, phrased to finish "… is not a valid project name: ".
fn broken_rule(name: &str) -> Option<String> {
    let Some(first) = name.chars().next() else {
        return Some("the name is empty".to_owned());
    };
    if name.contains(['/', '\\']) {
        return Some("a name cannot contain a path separator".to_owned());
    }
    if let Some(c) = name.chars().find(|c| c.is_ascii_uppercase()) {
        return Some(format!("it must be lowercase (`{c}` is uppercase)"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        let shown = if c.is_whitespace() {
            "a space".to_owned()
        } else {
            format!("`{c}`")
        };
        return Some(format!(
            "only lowercase ASCII letters, digits, `-` and `_` are allowed, and it contains {shown}"
        ));
    }
    if first.is_ascii_digit() {
        return Some("it cannot start with a digit".to_owned());
    }
    if !first.is_ascii_lowercase() {
        return Some(format!("it must start with a letter, not `{first}`"));
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!(
            "it is {} characters long; the maximum is {MAX_NAME_LEN}",
            name.len()
        ));
    }
    let crate_name = name.replace('-', "_");
    if RUST_KEYWORDS.contains(&crate_name.as_str()) {
        return Some(format!("`{crate_name}` is a Rust keyword"));
    }
    if BUILTIN_CRATES.contains(&crate_name.as_str()) {
        return Some(format!(
            "`{crate_name}` is reserved: it names a crate that ships with Rust"
        ));
    }
    if CARGO_ARTIFACT_NAMES.contains(&name) {
        return Some(format!(
            "`{name}` is reserved by cargo for its build directories"
        ));
    }
    if WINDOWS_RESERVED.contains(&name) {
        return Some(format!("`{name}` is a reserved file name on Windows"));
    }
    None
}

/// A nearby valid name, or `None` when no obvious fix exists.
fn suggest(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut fixed: String = last
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Leading digits or separators: move the digits to the end so "1api"
    // becomes "api1" rather than losing them.
    let lead: String = fixed
        .chars()
        .take_while(|c| !c.is_ascii_lowercase())
        .collect();
    if !lead.is_empty() {
        let digits: String = lead.chars().filter(char::is_ascii_digit).collect();
        fixed = fixed[lead.len()..].to_owned();
        if fixed.is_empty() {
            fixed = format!("app-{digits}");
        } else if !digits.is_empty() {
            fixed.push_str(&digits);
        }
    }
    while fixed.contains("--") {
        fixed = fixed.replace("--", "-");
    }
    fixed.truncate(MAX_NAME_LEN);
    let fixed = fixed.trim_end_matches('-').to_owned();
    if broken_rule(&fixed).is_some() && !fixed.is_empty() {
        // Keywords and reserved names: keep the word, make it a distinct name.
        let with_suffix = format!("{fixed}-api");
        return (broken_rule(&with_suffix).is_none()).then_some(with_suffix);
    }
    (!fixed.is_empty() && fixed != name && broken_rule(&fixed).is_none()).then_some(fixed)
}

/// Every answer a project is generated from. Nothing downstream re-asks or
/// re-derives a choice: it reads it from here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answers {
    pub name: ProjectName,
    pub idp: Idp,
    pub database: Database,
    pub features: FeatureSet,
}

impl Answers {
    /// Checks the combination of answers against what this release can
    /// generate. Individual values are already valid by construction.
    pub fn validate(&self) -> Result<(), UserError> {
        if !self.database.is_available() {
            return Err(UserError::usage(format!(
                "the {} template is not available in nestflux {NESTFLUX_VERSION}",
                self.database.label()
            ))
            .with_help("use `--db sqlite` (the default)"));
        }
        for feature in self.features.iter() {
            if let Some(needed) = feature.requires()
                && !self.features.contains(needed)
            {
                return Err(UserError::usage(format!(
                    "the feature `{}` requires `{}`, which is not in the feature list",
                    feature.key(),
                    needed.key()
                ))
                .with_help(format!(
                    "add `{}` to the features, or leave out `{}`",
                    needed.key(),
                    feature.key()
                )));
            }
        }
        Ok(())
    }

    /// Renders `nestflux.toml`. Deterministic: the same answers always give
    /// the same bytes.
    pub fn to_toml(&self) -> String {
        let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let features: Vec<String> = self.features.iter().map(|f| quote(f.key())).collect();
        let all_keys = Feature::ALL.map(Feature::key).join(", ");
        format!(
            "# The answers this project was generated from. `nestflux add` and\n\
             # `nestflux audit-config` read this file: keep it committed.\n\
             # It also works as a preset: nestflux new other-api --preset nestflux.toml\n\
             schema = {SCHEMA_VERSION}\n\
             nestflux-version = {version}\n\
             \n\
             [project]\n\
             name = {name}\n\
             # keycloak | authentik | oidc\n\
             idp = {idp}\n\
             # sqlite | postgres\n\
             database = {database}\n\
             # Optional security features, any of: {all_keys}\n\
             features = [{features}]\n\
             \n\
             [audit]\n\
             # Findings of `nestflux audit-config` accepted on purpose, each with a reason:\n\
             #   {{ rule = \"NF0xx\", path = \"file or glob\", reason = \"why\", expires = \"YYYY-MM-DD\" }}\n\
             # `path` and `expires` are optional. An entry without a reason, or past its\n\
             # date, suppresses nothing and is reported itself.\n\
             {allow}",
            version = quote(NESTFLUX_VERSION),
            name = quote(self.name.as_str()),
            idp = quote(self.idp.key()),
            database = quote(self.database.key()),
            features = features.join(", "),
            allow = self.allow_list(),
        )
    }

    /// The `allow` list `new` writes, so that the audit of a fresh project is
    /// clean and each accepted risk stays visible and reviewable:
    /// - one entry for each feature turned off (turning the feature on makes
    ///   its entry stale; removing the entry makes the audit report it again);
    /// - for Keycloak and Authentik, the local IdP's random credentials in
    ///   `deploy/`, which exist only for `docker compose` on a developer's
    ///   machine.
    fn allow_list(&self) -> String {
        // Only the features whose absence is a finding (not `redis`, `tls`).
        let off: Vec<(Feature, &crate::audit::Rule)> = Feature::ALL
            .into_iter()
            .filter(|f| !self.features.contains(*f))
            .filter_map(|f| crate::audit::rules::feature_off(f).map(|rule| (f, rule)))
            .collect();
        let local_idp = matches!(self.idp, Idp::Keycloak | Idp::Authentik);
        if off.is_empty() && !local_idp {
            return "allow = []\n".to_owned();
        }
        let mut out = String::from("allow = [\n");
        if !off.is_empty() {
            out.push_str(
                "  # Features turned off at `nestflux new` (remove an entry once its feature is on):\n",
            );
        }
        for (feature, rule) in off {
            out.push_str(&format!(
                "  {{ rule = \"{}\", reason = \"{TURNED_OFF_REASON}\" }}, # {}\n",
                rule.id,
                feature.key()
            ));
        }
        if local_idp {
            out.push_str(&format!(
                "  # The local identity provider's client secret and test-user passwords:\n\
                 \x20 {{ rule = \"{}\", path = \"deploy/**\", reason = \"{LOCAL_IDP_REASON}\" }},\n",
                crate::audit::rules::secret_value_rule().id
            ));
        }
        out.push_str("]\n");
        out
    }
}

/// Answers that may still have gaps: what flags and a preset gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartialAnswers {
    pub name: Option<ProjectName>,
    pub idp: Option<Idp>,
    pub database: Option<Database>,
    pub features: Option<FeatureSet>,
}

impl PartialAnswers {
    /// Fills gaps in `self` from `fallback`; values already set win.
    pub fn or(self, fallback: PartialAnswers) -> PartialAnswers {
        PartialAnswers {
            name: self.name.or(fallback.name),
            idp: self.idp.or(fallback.idp),
            database: self.database.or(fallback.database),
            features: self.features.or(fallback.features),
        }
    }

    /// The flags that would fill the remaining gaps (the name always has one).
    pub fn missing_flags(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.idp.is_none() {
            missing.push("--idp keycloak|authentik|oidc");
        }
        if self.database.is_none() {
            missing.push("--db sqlite");
        }
        if self.features.is_none() {
            missing.push("--features LIST (or none)");
        }
        missing
    }

    /// Completes the answers with the defaults.
    pub fn with_defaults(self, name: ProjectName) -> Answers {
        Answers {
            name: self.name.unwrap_or(name),
            idp: self.idp.unwrap_or(Idp::DEFAULT),
            database: self.database.unwrap_or(Database::DEFAULT),
            features: self.features.unwrap_or_else(FeatureSet::defaults),
        }
    }
}

/// The reason `nestflux new` gives for the suppressions it writes for the
/// features turned off.
pub const TURNED_OFF_REASON: &str = "turned off at `nestflux new`";

/// The reason `nestflux new` gives for accepting the credentials of the local
/// identity provider in `deploy/`.
pub const LOCAL_IDP_REASON: &str =
    "random per project, for the docker compose IdP on a developer machine only";

/// `nestflux.toml` as written on disk. Every field is optional so that a
/// preset may carry only the answers a team wants to fix.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProjectFile {
    schema: Option<u32>,
    #[allow(dead_code)] // informational: which nestflux wrote the file
    nestflux_version: Option<String>,
    #[serde(default)]
    project: ProjectSection,
    #[serde(default)]
    audit: AuditSection,
}

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
    allow: Vec<Spanned<AllowEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowEntry {
    rule: Spanned<String>,
    path: Option<Spanned<String>>,
    reason: Option<String>,
    expires: Option<Spanned<String>>,
}

/// One entry of `[audit] allow`: a finding accepted on purpose. Whether it
/// still counts (a reason, a date not past) is the audit's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// A rule id such as `NF003`.
    pub rule: String,
    /// A path or glob relative to the project root; `None` for every file.
    pub path: Option<String>,
    /// Where `path` is written, for errors about it.
    pub path_span: Option<std::ops::Range<usize>>,
    /// Why the finding is accepted; `None` or blank makes the entry invalid.
    pub reason: Option<String>,
    pub expires: Option<Date>,
    /// 1-based line and column of the entry in `nestflux.toml`.
    pub line: usize,
    pub column: usize,
}

/// A calendar date, `YYYY-MM-DD`, as used by `expires`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`, checking the day against the month.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u16> {
            let part = &text[range];
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())
                .flatten()
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days_in_month).contains(&day).then_some(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// The date (UTC) that `days` days after 1970-01-01 falls on.
    pub fn from_unix_days(days: i64) -> Date {
        // Howard Hinnant's `civil_from_days`.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        }
    }

    /// Today's date in UTC, from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_unix_days((secs / 86_400) as i64)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A project's `nestflux.toml` as `nestflux audit-config` reads it: the
/// answers, where they are written, and the `[audit]` table.
#[derive(Clone, Debug)]
pub struct ProjectConfig {
    pub path: PathBuf,
    pub text: String,
    pub answers: PartialAnswers,
    /// 1-based line and column of the `features` value, when it is written.
    pub features_at: Option<(usize, usize)>,
    pub allow: Vec<Suppression>,
}

impl ProjectConfig {
    /// The features in force: those written, or the defaults when the file
    /// does not say (as `nestflux new` would have chosen).
    pub fn features(&self) -> FeatureSet {
        self.answers
            .features
            .clone()
            .unwrap_or_else(FeatureSet::defaults)
    }
}

/// Reads a project's `nestflux.toml`, `[audit]` included. Errors name the
/// file, line and column like those of presets.
pub fn read_project_config(path: &Path) -> anyhow::Result<ProjectConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    parse_project_config(text, path)
}

fn parse_project_config(text: String, path: &Path) -> anyhow::Result<ProjectConfig> {
    let file = parse_file(&text, path)?;
    let features_at = file
        .project
        .features
        .as_ref()
        .map(|f| line_column(&text, f.span().start));
    let mut allow = Vec::new();
    for entry in &file.audit.allow {
        let (line, column) = line_column(&text, entry.span().start);
        let e = entry.get_ref();
        let rule = e.rule.get_ref();
        let well_formed = rule.len() == 5
            && rule.starts_with("NF")
            && rule[2..].bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(located_error(
                &text,
                path,
                e.rule.span().start,
                &format!("`{rule}` is not a rule id; ids look like `NF001`"),
                "`nestflux audit-config --explain NF001` shows a rule; the README lists them all",
            ));
        }
        let expires = match &e.expires {
            None => None,
            Some(raw) => Some(Date::parse(raw.get_ref()).ok_or_else(|| {
                located_error(
                    &text,
                    path,
                    raw.span().start,
                    &format!("`{}` is not a date", raw.get_ref()),
                    "write the date as \"YYYY-MM-DD\", e.g. expires = \"2027-01-31\"",
                )
            })?),
        };
        allow.push(Suppression {
            rule: rule.clone(),
            path: e.path.as_ref().map(|p| p.get_ref().clone()),
            path_span: e.path.as_ref().map(Spanned::span),
            reason: e.reason.clone(),
            expires,
            line,
            column,
        });
    }
    let answers = partial_answers(file.project);
    Ok(ProjectConfig {
        path: path.to_owned(),
        text,
        answers,
        features_at,
        allow,
    })
}

/// Reads a preset (or any `nestflux.toml`) into partial answers. Errors name
/// the file, the line and column, and the offending key or value.
pub fn read_preset(path: &Path) -> anyhow::Result<PartialAnswers> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read preset `{}`", path.display()))?;
    parse_project_file(&text, path)
}

/// A generated project on disk: its root and the answers it was made with.
#[derive(Clone, Debug)]
pub struct Project {
    pub root: std::path::PathBuf,
    pub answers: Answers,
}

impl Project {
    /// Finds the project holding `start`: the nearest directory at or above
    /// it with a `nestflux.toml`.
    pub fn discover(start: &Path) -> anyhow::Result<Project> {
        let start = std::path::absolute(start)
            .with_context(|| format!("cannot resolve `{}`", start.display()))?;
        let root = start
            .ancestors()
            .find(|dir| dir.join(PROJECT_FILE).is_file())
            .ok_or_else(|| {
                UserError::usage(format!(
                    "`{}` is not inside a nestflux project: no `{PROJECT_FILE}` here or in any parent directory",
                    start.display()
                ))
                .with_help("run this inside a project made by `nestflux new`, or pass --project DIR")
            })?;
        Self::open(root)
    }

    /// Opens the project whose root is `root`; every answer must be present.
    pub fn open(root: &Path) -> anyhow::Result<Project> {
        let path = root.join(PROJECT_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        let partial = parse_project_file(&text, &path)?;
        let missing: Vec<&str> = [
            ("name", partial.name.is_none()),
            ("idp", partial.idp.is_none()),
            ("database", partial.database.is_none()),
            ("features", partial.features.is_none()),
        ]
        .into_iter()
        .filter_map(|(key, absent)| absent.then_some(key))
        .collect();
        let (Some(name), false) = (partial.name.clone(), !missing.is_empty()) else {
            return Err(UserError::failure(format!(
                "`{}` lacks `[project]` keys: {}",
                path.display(),
                missing.join(", ")
            ))
            .with_help("restore them from the file `nestflux new` wrote")
            .into());
        };
        Ok(Project {
            root: root.to_path_buf(),
            answers: partial.with_defaults(name),
        })
    }
}

fn parse_project_file(text: &str, path: &Path) -> anyhow::Result<PartialAnswers> {
    // A preset's `[audit]` table is checked but not carried over: its
    // suppressions name the files of another project.
    parse_file(text, path).map(|file| partial_answers(file.project))
}

fn parse_file(text: &str, path: &Path) -> anyhow::Result<ProjectFile> {
    let file: ProjectFile = toml::from_str(text).map_err(|e| toml_error(text, path, &e))?;
    if let Some(schema) = file.schema
        && schema > SCHEMA_VERSION
    {
        return Err(UserError::failure(format!(
            "`{}` uses schema {schema}, but nestflux {NESTFLUX_VERSION} understands schema {SCHEMA_VERSION} at most",
            path.display()
        ))
        .with_help("upgrade nestflux: cargo install nestflux")
        .into());
    }
    Ok(file)
}

fn partial_answers(project: ProjectSection) -> PartialAnswers {
    PartialAnswers {
        name: project.name,
        idp: project.idp,
        database: project.database,
        features: project
            .features
            .map(|f| f.into_inner().into_iter().collect()),
    }
}

/// Turns a TOML error into `file:line:column: message`, with the line shown.
fn toml_error(text: &str, path: &Path, err: &toml::de::Error) -> anyhow::Error {
    let message = err.message().trim_end();
    let Some(span) = err.span() else {
        return UserError::failure(format!("`{}`: {message}", path.display())).into();
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

/// An error about the text at byte `offset` of a file: `file line L,
/// column C: message`, with the line shown and a help line.
pub fn located_error(
    text: &str,
    path: &Path,
    offset: usize,
    message: &str,
    help: &str,
) -> anyhow::Error {
    let (line, column) = line_column(text, offset);
    let source_line = text.lines().nth(line - 1).unwrap_or_default();
    UserError::failure(format!(
        "`{}` line {line}, column {column}: {message}",
        path.display()
    ))
    .with_detail(format!("{line:>4} | {source_line}"))
    .with_help(help.to_owned())
    .into()
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str) -> String {
        ProjectName::parse(name).unwrap_err().rule
    }

    #[test]
    fn valid_names_are_accepted() {
        for name in ["my-api", "api", "billing_service", "a1", "x-2-y"] {
            assert!(ProjectName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn each_broken_rule_is_named() {
        assert_eq!(rule(""), "the name is empty");
        assert!(rule("a/b").contains("path separator"));
        assert!(rule("My-Api").contains("lowercase"));
        assert!(rule("my api").contains("a space"));
        assert!(rule("my.api").contains("`.`"));
        assert!(rule("1api").contains("cannot start with a digit"));
        assert!(rule("-api").contains("must start with a letter"));
        assert!(rule("fn").contains("Rust keyword"));
        assert!(rule("async").contains("Rust keyword"));
        assert!(rule("test").contains("ships with Rust"));
        assert!(rule("std").contains("ships with Rust"));
        assert!(rule("core").contains("ships with Rust"));
        assert!(rule("proc-macro").contains("ships with Rust"));
        assert!(rule("deps").contains("reserved by cargo"));
        assert!(rule("con").contains("Windows"));
        assert!(rule(&"a".repeat(31)).contains("maximum is 30"));
        assert!(ProjectName::parse(&"a".repeat(30)).is_ok());
    }

    #[test]
    fn suggestions_are_valid_names_close_to_the_input() {
        let suggestion = |n: &str| ProjectName::parse(n).unwrap_err().suggestion;
        assert_eq!(suggestion("My-Api").as_deref(), Some("my-api"));
        assert_eq!(suggestion("my api").as_deref(), Some("my-api"));
        assert_eq!(suggestion("1api").as_deref(), Some("api1"));
        assert_eq!(suggestion("123").as_deref(), Some("app-123"));
        assert_eq!(suggestion("fn").as_deref(), Some("fn-api"));
        assert_eq!(suggestion("test").as_deref(), Some("test-api"));
        assert_eq!(suggestion("a/b").as_deref(), Some("b"));
        assert_eq!(suggestion(""), None);
        for bad in [
            "My-Api", "my api", "1api", "123", "fn", "test", "a/b", "x.y.z",
        ] {
            if let Some(s) = suggestion(bad) {
                assert!(ProjectName::parse(&s).is_ok(), "{bad} suggested {s}");
            }
        }
    }

    #[test]
    fn crate_name_replaces_dashes() {
        assert_eq!(ProjectName::parse("my-api").unwrap().crate_name(), "my_api");
    }

    #[test]
    fn feature_lists_parse_in_canonical_order() {
        let set = FeatureSet::parse_list("cors, headers").unwrap();
        assert_eq!(set.to_string(), "headers, cors");
        assert!(FeatureSet::parse_list("none").unwrap().is_empty());
        assert!(
            FeatureSet::parse_list("")
                .unwrap_err()
                .contains("--features none")
        );
        assert!(
            FeatureSet::parse_list("cors,firewall")
                .unwrap_err()
                .contains("unknown feature `firewall`")
        );
        assert!(FeatureSet::parse_list("none,cors").is_err());
    }

    #[test]
    fn project_file_round_trips() {
        let answers = Answers {
            name: ProjectName::parse("shop-api").unwrap(),
            idp: Idp::Authentik,
            database: Database::Sqlite,
            features: FeatureSet::parse_list("headers,audit-log").unwrap(),
        };
        let parsed = parse_project_file(&answers.to_toml(), Path::new("nestflux.toml")).unwrap();
        assert_eq!(
            parsed.with_defaults(ProjectName::parse("other").unwrap()),
            answers
        );
    }

    #[test]
    fn an_empty_feature_list_is_written_and_read_back_as_empty() {
        let answers = Answers {
            name: ProjectName::parse("bare").unwrap(),
            idp: Idp::Oidc,
            database: Database::Sqlite,
            features: FeatureSet::none(),
        };
        let text = answers.to_toml();
        assert!(text.contains("features = []\n"));
        let parsed = parse_project_file(&text, Path::new("p.toml")).unwrap();
        assert_eq!(parsed.features, Some(FeatureSet::none()));
    }

    fn preset_error(text: &str) -> String {
        let err = parse_project_file(text, Path::new("team.toml")).unwrap_err();
        let user = err.downcast_ref::<UserError>().expect("a user error");
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
    fn redis_and_tls_are_off_by_default() {
        let defaults = FeatureSet::defaults();
        assert!(!defaults.contains(Feature::Redis) && !defaults.contains(Feature::Tls));
        assert!(defaults.contains(Feature::RateLimit));
    }

    #[test]
    fn redis_without_rate_limit_is_refused_naming_both_keys() {
        let answers = |list: &str| Answers {
            name: ProjectName::parse("x").unwrap(),
            idp: Idp::Keycloak,
            database: Database::Sqlite,
            features: FeatureSet::parse_list(list).unwrap(),
        };
        let err = answers("headers,redis").validate().unwrap_err();
        assert!(
            err.message.contains("`redis` requires `rate-limit`"),
            "{}",
            err.message
        );
        assert!(answers("rate-limit,redis,tls").validate().is_ok());
        assert!(answers("tls").validate().is_ok());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let msg = preset_error("schema = 99\n");
        assert!(msg.contains("schema 99"), "{msg}");
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
