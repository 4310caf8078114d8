//! `GET /api/me`: who the caller is, as this service sees it. Handy to check an
//! identity provider's setup: it shows the roles and scopes read from a token.

use std::collections::BTreeSet;

use axum::Json;
use serde::Serialize;

use crate::auth::Principal;
use crate::openapi::documented;
use crate::routes::access::{Routes, authenticated};

/// Paths are relative: this route is nested under `/api`. Any authenticated
/// caller may ask who it is, whatever its roles.
pub fn routes() -> Routes {
    Routes::new().get("/me", authenticated(), documented!(me))
}

/// The body of `GET /api/me`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub subject: String,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    /// What the roles grant under `config/rbac.toml`.
    pub permissions: BTreeSet<String>,
}

/// Who the caller is: its subject, roles, scopes and the permissions they grant.
#[utoipa::path(get, path = "/me", tag = "me",
    responses((status = 200, description = "The caller", body = Me)))]
async fn me(principal: Principal) -> Json<Me> {
    Json(Me {
        subject: principal.subject,
        roles: principal.roles,
        scopes: principal.scopes,
        permissions: principal.permissions,
    })
}
