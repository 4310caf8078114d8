//! Authentication: **not wired yet** in this version of the template.
//!
//! Every `/api` request currently runs as [`Principal::development`], a fixed
//! anonymous principal with no roles. Nothing is protected. Do not deploy.
//!
//! This module is the single seam where real authentication plugs in:
//!
//! - [`authenticate`] is a middleware applied to the whole `/api` router in one
//!   line (see `routes::api_router`). Its job is to turn the request's
//!   credentials into a [`Principal`] in the request extensions, or to answer
//!   `401`. Replacing its body with bearer-token validation is the whole change.
//! - [`Principal`] is an extractor that handlers take. It answers `401` when no
//!   principal is in the extensions, so a handler is deny-by-default: if a route
//!   is ever mounted without the middleware, it refuses every request instead of
//!   running unauthenticated.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::config::AppEnv;
use crate::error::ApiError;
use crate::state::AppState;

/// The subject of the development principal. Stored as the `owner` of items
/// created while authentication is not wired.
pub const DEVELOPMENT_SUBJECT: &str = "anonymous";

/// Who is calling: the token's subject and the roles it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub roles: Vec<String>,
}

impl Principal {
    /// The stand-in used until authentication is wired: subject `anonymous`,
    /// no roles. It exists so the rest of the code can be written against a real
    /// `Principal` today.
    pub fn development() -> Self {
        Self {
            subject: DEVELOPMENT_SUBJECT.to_owned(),
            roles: Vec::new(),
        }
    }
}

/// Establishes the caller's identity for every `/api` request.
///
/// TODO(auth): replace this body with bearer-token validation: read the
/// `Authorization` header, verify the token (issuer, audience, expiry,
/// signature), build the `Principal` from its claims, and return
/// `ApiError::Unauthorized` when any of that fails. `State` is where the
/// verifier will come from.
pub async fn authenticate(
    State(_state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    request.extensions_mut().insert(Principal::development());
    Ok(next.run(request).await)
}

/// Refuses to start in production while authentication is not wired, and says
/// so loudly in development. Called once by `Application::build`.
pub fn check_startup(app_env: AppEnv) -> Result<(), AuthNotWired> {
    match app_env {
        AppEnv::Production => Err(AuthNotWired),
        AppEnv::Development => {
            tracing::warn!(
                subject = DEVELOPMENT_SUBJECT,
                "authentication is not wired yet: every /api request runs as an anonymous \
                 development principal. Do not deploy."
            );
            Ok(())
        }
    }
}

/// The start-up error for `APP_ENV=production` while authentication is missing.
#[derive(Debug, thiserror::Error)]
#[error(
    "authentication is not wired yet, refusing to start with APP_ENV=production \
     (every /api request would run as an anonymous principal)"
)]
pub struct AuthNotWired;

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
    fn production_refuses_to_start_without_authentication() {
        assert!(check_startup(AppEnv::Production).is_err());
        assert!(check_startup(AppEnv::Development).is_ok());
    }
}
