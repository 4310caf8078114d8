//! Who is calling: the bearer token of every request to a route that is not
//! public (`access::Routes` puts [`authenticate`] in front of each), or else
//! the session cookie of a browser signed in through `/auth/login`.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::{Rejection, bearer, reject};
use crate::error::ApiError;
use crate::session::RequestMeta;
use crate::state::AppState;

/// Establishes the caller's identity, or answers 401 (503 while the identity
/// provider's keys have never been loaded). The principal comes with the
/// permissions the policy gives its roles (granted once per token, see
/// `auth::Verifier`).
///
/// A bearer token wins; without one, the session cookie of a signed-in
/// browser (see `session::Sessions::principal`, which also checks CSRF): the
/// access token stored with the session is checked the same way.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let principal = match bearer::token(request.headers()) {
        // No bearer token: a browser's session cookie may authenticate it.
        Err(Rejection::Missing(reason)) => {
            let meta = RequestMeta::from_request(&request);
            match state
                .sessions
                .principal(request.method(), request.headers(), &meta)
                .await?
            {
                Some(principal) => principal,
                None => return Err(reject(Rejection::Missing(reason))),
            }
        }
        token => state
            .verifier
            .verify(token.map_err(reject)?)
            .await
            .map_err(reject)?,
    };
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}
