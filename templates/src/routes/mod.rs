//! The HTTP surface: one `router()` per resource, assembled here.
//!
//! Public routes (health) sit outside `/api`; everything under `/api` goes through
//! `auth::authenticate`. Unknown paths and methods answer problem+json too.

use axum::Router;
use axum::middleware;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub mod health;
pub mod items;
pub mod me;

/// The whole application router, without the cross-cutting layers (request id,
/// tracing, limits), which `startup` adds.
pub fn api_router(state: AppState) -> Router {
    let api = Router::new()
        .merge(items::router())
        .merge(me::router())
        // THE authentication seam: every /api route passes through here.
        // `route_layer` runs it only for matched routes, so unknown paths get 404.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));

    Router::new()
        .nest("/api", api)
        .merge(health::router())
        .fallback(not_found)
        // Must come after every route: it applies to the routes registered so far.
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no route matches this path".to_owned())
}

/// axum adds the `Allow` header listing the methods the route does accept.
async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
