//! `GET /api/me`: who the caller is, as this service sees it. Handy to check an
//! identity provider's setup: it shows the roles and scopes read from a token.

use std::collections::BTreeSet;

use axum::Json;
use axum::response::{IntoResponse as _, Response};
use serde::Serialize;

use crate::auth::Principal;
use crate::routes::access::{Routes, authenticated};

/// Paths are relative: this route is nested under `/api`. Any authenticated
/// caller may ask who it is, whatever its roles.
pub fn routes() -> Routes {
    Routes::new().get("/me", authenticated(), me)
}

/// The body of `GET /api/me`, serialised straight from the shared principal.
#[derive(Debug, Serialize)]
pub struct Me<'a> {
    pub subject: &'a str,
    pub roles: &'a [String],
    pub scopes: &'a [String],
    /// What the roles grant under `config/rbac.toml`.
    pub permissions: &'a BTreeSet<String>,
}

async fn me(principal: Principal) -> Response {
    Json(Me {
        subject: &principal.subject,
        roles: &principal.roles,
        scopes: &principal.scopes,
        permissions: &principal.permissions,
    })
    .into_response()
}
