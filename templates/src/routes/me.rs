//! `GET /api/me`: who the caller is, as this service sees it. Handy to check an
//! identity provider's setup: it shows the roles and scopes read from a token.

use std::collections::BTreeSet;

use axum::Json;
use axum::response::{IntoResponse as _, Response};
use serde::Serialize;

use crate::access::{Routes, authenticated};
use crate::auth::Principal;
use crate::openapi::documented;

/// Paths are relative: this route is nested under `/api`. Any authenticated
/// caller may ask who it is, whatever its roles.
pub fn routes() -> Routes {
    Routes::new().get("/me", authenticated(), documented!(me))
}

/// The body of `GET /api/me`.
// Serialised straight from the shared principal (borrowed: nothing is copied
// per request).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me<'a> {
    #[schema(value_type = String)]
    pub subject: &'a str,
    #[schema(value_type = Vec<String>)]
    pub roles: &'a [String],
    #[schema(value_type = Vec<String>)]
    pub scopes: &'a [String],
    /// What the roles grant under `config/rbac.toml`.
    #[schema(value_type = BTreeSet<String>)]
    pub permissions: &'a BTreeSet<String>,
}

/// Who the caller is: its subject, roles, scopes and the permissions they grant.
#[utoipa::path(get, path = "/me", tag = "me",
    responses((status = 200, description = "The caller", body = Me)))]
async fn me(principal: Principal) -> Response {
    Json(Me {
        subject: &principal.subject,
        roles: &principal.roles,
        scopes: &principal.scopes,
        permissions: &principal.permissions,
    })
    .into_response()
}
