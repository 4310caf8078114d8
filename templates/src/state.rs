//! Shared application state, handed to every handler through axum's `State`.

use crate::db::Pool;

/// Cheap to clone: every field is a handle (the pool is reference-counted).
/// Later additions (the token verifier, the RBAC policy, ...) go here.
#[derive(Clone)]
pub struct AppState {
    pub db: Pool,
}
