//! CORS (the `cors` feature): which web origins may call this API from a browser.
//!
//! - Exact origins only, from `CORS_ALLOWED_ORIGINS` (`https://app.example.com`);
//!   `*`, `null` and patterns are refused when the variable is read
//!   (`config::cors`). No origin listed means no cross-origin access.
//! - No credentials mode: callers send `Authorization: Bearer`, which CORS
//!   allows without `Access-Control-Allow-Credentials`, so cookies are never
//!   involved (and `*` with credentials cannot happen).
//! - tower-http's `CorsLayer` answers preflights and adds `Vary: Origin` (and the
//!   preflight request headers) to every response, so caches keep one answer per
//!   origin. [`admit_preflight`] makes sure a preflight is answered only for a
//!   listed origin asking for an allowed method and allowed headers: anything
//!   else gets a 403 problem without a single `Access-Control-*` grant.
//! - Only a real preflight (`OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`) is answered without authentication; any
//!   other `OPTIONS` goes to the routes like any request (405, or 404). All of
//!   them pass the per-IP rate limit first, which sits outside this layer
//!   (`security::wrap`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, CONTENT_TYPE,
    ORIGIN,
};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::cors::CorsSettings;
use crate::error::ApiError;

/// The methods cross-origin callers may use.
pub const ALLOWED_METHODS: &[Method] = &[Method::GET, Method::POST, Method::PUT, Method::DELETE];
/// The request headers cross-origin callers may send.
pub const ALLOWED_HEADERS: &[HeaderName] = &[AUTHORIZATION, CONTENT_TYPE];
/// The response headers a cross-origin page may read besides the safelisted ones.
const EXPOSED_HEADERS: &[&str] = &[
    "x-request-id",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "www-authenticate",
];
/// How long a browser may reuse a preflight answer.
const MAX_AGE: Duration = Duration::from_secs(600);

/// The allowlist and the layer built from it.
#[derive(Clone)]
pub struct Cors {
    origins: Arc<[HeaderValue]>,
}

impl Cors {
    pub fn new(settings: &CorsSettings) -> Self {
        Self {
            origins: settings.allowed_origins.as_slice().into(),
        }
    }

    /// Wraps `router` in the CORS layer, and outside it the preflight check.
    pub fn wrap(&self, router: Router) -> Router {
        let gate = Gate {
            origins: self.origins.clone(),
            routes: router.clone(),
        };
        let layer = CorsLayer::new()
            .allow_origin(AllowOrigin::list(self.origins.iter().cloned()))
            .allow_methods(ALLOWED_METHODS.to_vec())
            .allow_headers(ALLOWED_HEADERS.to_vec())
            .expose_headers(
                EXPOSED_HEADERS
                    .iter()
                    .map(|name| HeaderName::from_static(name))
                    .collect::<Vec<_>>(),
            )
            .max_age(MAX_AGE);
        router
            .layer(layer)
            .layer(middleware::from_fn_with_state(gate, admit_preflight))
    }
}

/// What [`admit_preflight`] needs: the allowlist, and the routes without the
/// CORS layer (which answers every `OPTIONS` as a preflight).
#[derive(Clone)]
struct Gate {
    origins: Arc<[HeaderValue]>,
    routes: Router,
}

/// Lets every request other than `OPTIONS` through to the CORS layer. A CORS
/// preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) goes
/// there too when it asks for an allowed origin, method and headers, and gets
/// 403 and no grant otherwise. Any other `OPTIONS` is not a preflight: it goes
/// to the routes, which handle it like any request (405 on a route, 404 else).
async fn admit_preflight(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    if request.method() != Method::OPTIONS {
        return next.run(request).await;
    }
    let headers = request.headers();
    if !(headers.contains_key(ORIGIN) && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)) {
        return match gate.routes.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    let origin_allowed = headers
        .get(ORIGIN)
        .is_some_and(|origin| gate.origins.contains(origin));
    let method_allowed = headers
        .get(ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|value| Method::from_bytes(value.as_bytes()).ok())
        .is_some_and(|method| ALLOWED_METHODS.contains(&method));
    let headers_allowed = headers
        .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .all(|value| {
            value.to_str().is_ok_and(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .all(|name| {
                        ALLOWED_HEADERS
                            .iter()
                            .any(|allowed| allowed.as_str().eq_ignore_ascii_case(name))
                    })
            })
        });
    if origin_allowed && method_allowed && headers_allowed {
        next.run(request).await
    } else {
        tracing::info!(
            origin_allowed,
            method_allowed,
            headers_allowed,
            "CORS preflight refused"
        );
        ApiError::Forbidden("this cross-origin request is not allowed".to_owned()).into_response()
    }
}
