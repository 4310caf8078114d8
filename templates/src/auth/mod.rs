//! Authentication: this service is an OAuth 2.0 resource server. Every `/api`
//! request must carry an access token (a signed JWT) from the identity provider
//! configured by `AUTH_ISSUER_URL`, sent as `Authorization: Bearer <token>`.
//!
//! - `access::Routes` puts authentication in front of every route that
//!   is not public, route by route, where the route declares its access: it
//!   reads the bearer token ([`bearer`]), has the [`Verifier`] check it
//!   ([`verify`], with keys from [`keys`]) and puts the caller's [`Principal`]
//!   into the request, or answers 401 ([`reject`]).
//! - [`Principal`] is the extractor handlers take. It answers 401 when no
//!   principal is in the request, so a handler is deny-by-default: if a route
//!   is ever mounted without authentication, it refuses every request instead
//!   of running unauthenticated.
//!
//! A rejected token gets `401` with `WWW-Authenticate: Bearer error="invalid_token"`
//! (a request without a token gets a bare `Bearer` challenge, RFC 6750 §3.1) and a
//! problem document that does not say which check failed: telling an attacker
//! what to fix next helps nobody else. The precise reason is logged at `info`
//! inside the request span (so with its request id), never the token itself.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{Map, Value};

use crate::error::ApiError;

pub mod bearer;
pub mod claims;
pub mod keys;
pub mod roles;
pub mod verify;

pub use verify::{Rejection, Verifier};

/// Who is calling, from a verified access token. Built once per token (the
/// [`Verifier`] caches it, permissions granted) and shared: a clone is a
/// reference count, not a copy, so the layers and the handler of a request
/// all read the one the verifier made. Its fields are those of [`Identity`].
#[derive(Clone, PartialEq)]
pub struct Principal(Arc<Identity>);

/// What a [`Principal`] knows about the caller.
#[derive(PartialEq)]
pub struct Identity {
    /// The token's `sub`: a stable identifier of the user (or client) at the
    /// identity provider. Stored as the `owner` of the items it creates.
    pub subject: String,
    /// Role names, read from the provider-specific claims (see [`roles`]).
    pub roles: Vec<String>,
    /// OAuth scopes granted to the client: the `scope` claim (space-separated)
    /// or the `scp` claim (an array).
    pub scopes: Vec<String>,
    /// Every claim of the token, for handlers that need more (email, tenant, ...).
    pub claims: Arc<Map<String, Value>>,
    /// What the roles grant under `config/rbac.toml`, inheritance applied;
    /// roles the policy does not define add nothing.
    pub permissions: BTreeSet<String>,
}

impl Principal {
    pub fn new(identity: Identity) -> Self {
        Self(Arc::new(identity))
    }
}

impl std::ops::Deref for Principal {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl Identity {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether the caller's roles grant `permission`.
    pub fn can(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }
}

/// Marks a 403 of the permission check with the permission that was
/// missing, for whoever records denials (the audit log, when it is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeniedPermission(pub &'static str);

/// Leaves the raw claims out: they may hold personal data (email, name) that
/// has no business in a log line that prints a principal.
impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.subject)
            .field("roles", &self.roles)
            .field("scopes", &self.scopes)
            .field("permissions", &self.permissions)
            .finish_non_exhaustive()
    }
}

/// Logs why a request was refused and turns the reason into the response. This
/// runs inside the request span, so each line carries the request id.
pub fn reject(rejection: Rejection) -> ApiError {
    match rejection {
        Rejection::Missing(reason) => {
            tracing::debug!(reason, "no access token");
            ApiError::Unauthorized("an access token is required".to_owned())
        }
        Rejection::Invalid(reason) => {
            tracing::info!(%reason, "access token rejected");
            ApiError::InvalidToken
        }
        Rejection::KeysUnavailable => {
            tracing::warn!(
                "request refused: the identity provider's signing keys are not loaded yet"
            );
            ApiError::ServiceUnavailable(
                "the identity provider cannot be reached yet, try again shortly".to_owned(),
            )
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("authentication is required".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[tokio::test]
    async fn a_request_without_a_principal_is_unauthorized() {
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        let rejection = Principal::from_request_parts(&mut parts, &())
            .await
            .unwrap_err();
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn debug_output_leaves_the_claims_out() {
        let mut claims = Map::new();
        claims.insert("email".to_owned(), Value::from("someone@example.com"));
        let principal = Principal::new(Identity {
            subject: "user-1".to_owned(),
            roles: vec!["viewer".to_owned()],
            scopes: vec![],
            claims: Arc::new(claims),
            permissions: BTreeSet::new(),
        });
        let debug = format!("{principal:?}");
        assert!(
            debug.contains("user-1") && debug.contains("viewer"),
            "{debug}"
        );
        assert!(!debug.contains("someone@example.com"), "{debug}");
    }
}
