//! Shared application state, handed to every handler through axum's `State`.

use std::sync::Arc;

use crate::auth::Verifier;
use crate::db::Pool;
use crate::rbac::Policy;

/// Cheap to clone: every field is a handle (reference-counted).
#[derive(Clone)]
pub struct AppState {
    pub db: Pool,
    /// Checks access tokens; holds the identity provider's keys.
    pub verifier: Arc<Verifier>,
    /// The access-control policy of `config/rbac.toml`, checked at start.
    pub policy: Arc<Policy>,
}
