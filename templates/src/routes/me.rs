//! `GET /api/me`: who the caller is, as this service sees it. Handy to check an
//! identity provider's setup: it shows the roles and scopes read from a token.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::auth::Principal;
use crate::state::AppState;

/// Paths are relative: this router is nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(me))
}

/// The body of `GET /api/me`. Permissions join subject, roles and scopes when
/// role-based access control maps roles to them.
#[derive(Debug, Serialize)]
pub struct Me {
    pub subject: String,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
}

async fn me(principal: Principal) -> Json<Me> {
    Json(Me {
        subject: principal.subject,
        roles: principal.roles,
        scopes: principal.scopes,
    })
}
