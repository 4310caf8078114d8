//! What the deployment files are rendered from: the facts about the
//! container and its place in a cluster that the Dockerfile, the Kubernetes
//! manifests (`deploy/kubernetes/`) and the audit share, derived from the
//! answers. Templates read them as `deploy.*`.

use serde::Serialize;

use crate::answers::{Answers, Database, DeployTarget};
use crate::audit::formats::env;

/// The numeric user and group the service runs as: the Dockerfile creates
/// them and switches to them, the manifests require them (`runAsUser`), so
/// `runAsNonRoot` can be checked without a user name lookup.
pub const RUNTIME_UID: u32 = 10001;

/// The port the service listens on inside its container (`BIND_ADDR`).
pub const CONTAINER_PORT: u16 = 8080;

/// The longest a request may run: the generated service's `REQUEST_TIMEOUT`
/// (`templates/src/startup.rs.jinja`; a test ties the two). Its graceful
/// shutdown waits for in-flight requests, so at most this long.
pub const REQUEST_TIMEOUT_SECONDS: u32 = 30;

/// The pause before SIGTERM (the pod's preStop hook), so that endpoints and
/// the ingress controller stop routing to a terminating pod first.
pub const PRE_STOP_SECONDS: u32 = 5;

/// The pod's grace period: the pause, the longest in-flight request, and a
/// margin for closing the database pool and flushing logs.
pub const TERMINATION_GRACE_SECONDS: u32 = PRE_STOP_SECONDS + REQUEST_TIMEOUT_SECONDS + 10;

// Checked when nestflux compiles: the grace period must outlast the pause
// and the longest in-flight request.
const _: () = assert!(TERMINATION_GRACE_SECONDS > PRE_STOP_SECONDS + REQUEST_TIMEOUT_SECONDS);

/// The `deploy` object of the template context.
#[derive(Clone, Debug, Serialize)]
pub struct DeployContext {
    /// Whether `deploy/kubernetes/` is rendered.
    pub kubernetes: bool,
    /// The project's name as Kubernetes names it: a DNS label (`_` → `-`).
    pub name: String,
    pub uid: u32,
    pub port: u16,
    /// More than one replica is safe (see [`Answers::scales_out`]).
    pub scale_out: bool,
    pub request_timeout_seconds: u32,
    pub pre_stop_seconds: u32,
    pub termination_grace_seconds: u32,
    /// The secret variables the service reads, for the answers: each comes
    /// from a Secret by reference, never with its value.
    pub secrets: Vec<&'static str>,
}

impl DeployContext {
    pub fn new(answers: &Answers) -> Self {
        Self {
            kubernetes: answers.deploy.contains(DeployTarget::Kubernetes),
            name: kubernetes_name(answers.name.as_str()),
            uid: RUNTIME_UID,
            port: CONTAINER_PORT,
            scale_out: answers.scales_out(),
            request_timeout_seconds: REQUEST_TIMEOUT_SECONDS,
            pre_stop_seconds: PRE_STOP_SECONDS,
            termination_grace_seconds: TERMINATION_GRACE_SECONDS,
            secrets: secret_variables(answers),
        }
    }
}

/// A project name as a Kubernetes object name and label value (RFC 1123
/// label): project names are already lowercase, start with a letter and are
/// at most 30 characters; only `_` is not allowed.
pub fn kubernetes_name(project: &str) -> String {
    project.replace('_', "-")
}

/// The secret variables of `.env.example` that the running service reads,
/// for `answers`. A SQLite `DATABASE_URL` names a file on the pod's volume
/// and carries no credential, so it is set in the ConfigMap instead.
pub fn secret_variables(answers: &Answers) -> Vec<&'static str> {
    let mut out = Vec::new();
    if answers.database == Database::Postgres {
        out.push(env::DATABASE_URL);
    }
    for (feature, variable) in env::FEATURE_SECRETS {
        if answers.features.contains(*feature) {
            out.push(*variable);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{DeploySet, FeatureSet, Idp, ProjectName};

    fn answers(database: Database, features: &str) -> Answers {
        Answers {
            name: ProjectName::parse("billing_api").unwrap(),
            idp: Idp::Keycloak,
            database,
            features: FeatureSet::parse_list(features).unwrap(),
            deploy: DeploySet::parse_list("kubernetes").unwrap(),
        }
    }

    #[test]
    fn kubernetes_names_are_dns_labels() {
        assert_eq!(kubernetes_name("billing_api"), "billing-api");
        let context = DeployContext::new(&answers(Database::Sqlite, "none"));
        assert_eq!(context.name, "billing-api");
        assert!(context.kubernetes);
    }

    #[test]
    fn the_secrets_follow_the_database_and_the_features() {
        assert!(secret_variables(&answers(Database::Sqlite, "none")).is_empty());
        assert_eq!(
            secret_variables(&answers(
                Database::Postgres,
                "rate-limit,redis,encryption,session"
            )),
            [
                "DATABASE_URL",
                "DATA_ENCRYPTION_KEYS",
                "AUTH_CLIENT_SECRET",
                "REDIS_URL"
            ]
        );
    }
}
