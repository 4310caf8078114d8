//! Shared application state, handed to every handler through axum's `State`.

use std::sync::Arc;

use crate::auth::Verifier;
use crate::db::Pool;

/// Cheap to clone: every field is a handle (the pool and the verifier are
/// reference-counted). Later additions (the RBAC policy, ...) go here.
#[derive(Clone)]
pub struct AppState {
    pub db: Pool,
    /// Checks access tokens; holds the identity provider's keys.
    pub verifier: Arc<Verifier>,
}
