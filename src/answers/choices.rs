//! The choices a project is made of: the identity provider, the database and
//! the optional security features, with the keys used in flags, prompts,
//! `nestflux.toml`, templates and the audit.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

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

/// A deployment target nestflux renders files for, beside the service
/// itself. Off unless asked for (`--deploy`, the question at `new`, or
/// `nestflux add deploy`); recorded in `nestflux.toml` under `[deploy]`.
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
pub enum DeployTarget {
    /// Kubernetes: a hardened kustomize base and `dev`/`production` overlays
    Kubernetes,
}

impl DeployTarget {
    pub const ALL: [DeployTarget; 1] = [DeployTarget::Kubernetes];

    /// The stable key used in flags, `nestflux.toml` and templates.
    pub fn key(self) -> &'static str {
        match self {
            DeployTarget::Kubernetes => "kubernetes",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeployTarget::Kubernetes => {
                "Kubernetes manifests (deploy/kubernetes/: kustomize base, dev and production overlays)"
            }
        }
    }

    /// Where its files go in the project.
    pub fn directory(self) -> &'static str {
        match self {
            DeployTarget::Kubernetes => "deploy/kubernetes/",
        }
    }

    pub fn from_key(key: &str) -> Option<DeployTarget> {
        Self::ALL.into_iter().find(|t| t.key() == key)
    }
}

/// The deployment targets of a project, always iterated in
/// [`DeployTarget::ALL`] order. Empty by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploySet(BTreeSet<DeployTarget>);

impl DeploySet {
    pub fn none() -> Self {
        Self(BTreeSet::new())
    }

    pub fn contains(&self, target: DeployTarget) -> bool {
        self.0.contains(&target)
    }

    pub fn insert(&mut self, target: DeployTarget) -> bool {
        self.0.insert(target)
    }

    pub fn iter(&self) -> impl Iterator<Item = DeployTarget> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses the `--deploy` syntax: a comma-separated list of targets, or
    /// `none`.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        let list = list.trim();
        if list == "none" {
            return Ok(Self::none());
        }
        let valid = || DeployTarget::ALL.map(DeployTarget::key).join(", ");
        let mut set = Self::none();
        for key in list.split(',').map(str::trim) {
            let target = DeployTarget::from_key(key).ok_or_else(|| {
                format!(
                    "unknown deployment target `{key}`; valid targets are: {}, or `none`",
                    valid()
                )
            })?;
            set.0.insert(target);
        }
        Ok(set)
    }
}

impl FromIterator<DeployTarget> for DeploySet {
    fn from_iter<I: IntoIterator<Item = DeployTarget>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for DeploySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let keys: Vec<_> = self.iter().map(DeployTarget::key).collect();
        f.write_str(&keys.join(", "))
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

#[cfg(test)]
mod tests {
    use super::*;
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
    fn deploy_lists_parse_and_name_the_valid_targets() {
        let set = DeploySet::parse_list("kubernetes").unwrap();
        assert!(set.contains(DeployTarget::Kubernetes));
        assert_eq!(set.to_string(), "kubernetes");
        assert!(DeploySet::parse_list("none").unwrap().is_empty());
        assert_eq!(DeploySet::default().to_string(), "none");
        let err = DeploySet::parse_list("nomad").unwrap_err();
        assert!(
            err.contains("unknown deployment target `nomad`") && err.contains("kubernetes"),
            "{err}"
        );
    }

    #[test]
    fn redis_tls_and_session_are_off_by_default_and_the_defences_on() {
        let defaults = FeatureSet::defaults();
        for off in [Feature::Redis, Feature::Tls, Feature::Session] {
            assert!(!defaults.contains(off), "{off:?}");
        }
        for on in [
            Feature::Headers,
            Feature::RateLimit,
            Feature::Cors,
            Feature::AuditLog,
            Feature::Encryption,
        ] {
            assert!(defaults.contains(on), "{on:?}");
        }
    }
}
