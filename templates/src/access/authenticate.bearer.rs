//! Who is calling: the bearer token of every request to a route that is not
//! public (`access::Routes` puts [`authenticate`] in front of each).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::{bearer, reject};
use crate::error::ApiError;
use crate::state::AppState;

/// Establishes the caller's identity, or answers 401 (503 while the identity
/// provider's keys have never been loaded). The principal comes with the
/// permissions the policy gives its roles (granted once per token, see
/// `auth::Verifier`).
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = bearer::token(request.headers()).map_err(reject)?;
    let principal = state.verifier.verify(token).await.map_err(reject)?;
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}
