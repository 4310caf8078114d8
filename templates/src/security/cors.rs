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
//!   origin. [`Gate`] makes sure a preflight is answered only for a listed
//!   origin asking for an allowed method and allowed headers: anything else
//!   gets a 403 problem without a single `Access-Control-*` grant.
//! - Only a real preflight (`OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`) is answered without authentication; any
//!   other `OPTIONS` goes to the routes like any request (405, or 404). All of
//!   them pass the per-IP rate limit first, which sits outside this layer
//!   (`security::wrap`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::header::{
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, CONTENT_TYPE,
    ORIGIN,
};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt as _};
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

    /// The CORS layer: tower-http's `CorsLayer` over the allowlist, behind
    /// the [`Gate`] that decides which `OPTIONS` it may answer.
    pub fn layer(&self) -> GateLayer {
        GateLayer {
            origins: self.origins.clone(),
            cors: CorsLayer::new()
                .allow_origin(AllowOrigin::list(self.origins.iter().cloned()))
                .allow_methods(ALLOWED_METHODS.to_vec())
                .allow_headers(ALLOWED_HEADERS.to_vec())
                .expose_headers(
                    EXPOSED_HEADERS
                        .iter()
                        .map(|name| HeaderName::from_static(name))
                        .collect::<Vec<_>>(),
                )
                .max_age(MAX_AGE),
        }
    }
}

/// What [`Gate`] does with a request.
enum Admission {
    /// Through the CORS layer: any request but `OPTIONS`, and an allowed
    /// preflight (which the CORS layer answers).
    Cors,
    /// Straight to the routes, around the CORS layer (which would answer any
    /// `OPTIONS` as a preflight): an `OPTIONS` that is not a preflight.
    Routes,
    /// A preflight asking for an origin, a method or a header that is not
    /// allowed: 403 and no grant.
    Refused,
}

/// Lets every request other than `OPTIONS` through to the CORS layer. A CORS
/// preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) goes
/// there too when it asks for an allowed origin, method and headers, and gets
/// 403 and no grant otherwise. Any other `OPTIONS` is not a preflight: it goes
/// to the routes, which handle it like any request (405 on a route, 404 else).
fn admit(origins: &[HeaderValue], request: &Request) -> Admission {
    if request.method() != Method::OPTIONS {
        return Admission::Cors;
    }
    let headers = request.headers();
    if !(headers.contains_key(ORIGIN) && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)) {
        return Admission::Routes;
    }
    let origin_allowed = headers
        .get(ORIGIN)
        .is_some_and(|origin| origins.contains(origin));
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
        return Admission::Cors;
    }
    tracing::info!(
        origin_allowed,
        method_allowed,
        headers_allowed,
        "CORS preflight refused"
    );
    Admission::Refused
}

/// The layer of [`Cors::layer`].
#[derive(Clone)]
pub struct GateLayer {
    origins: Arc<[HeaderValue]>,
    cors: CorsLayer,
}

impl<S: Clone> Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gate {
            origins: self.origins.clone(),
            cors: self.cors.layer(inner.clone()),
            routes: inner,
        }
    }
}

/// The layers beneath wrapped in tower-http's CORS service, and also kept
/// bare (`routes`) for the `OPTIONS` that are not preflights; see [`admit`].
/// A service of its own rather than `middleware::from_fn`, which would clone
/// the layers beneath and box a future on every request.
#[derive(Clone)]
pub struct Gate<S> {
    origins: Arc<[HeaderValue]>,
    cors: tower_http::cors::Cors<S>,
    routes: S,
}

impl<S> Service<Request> for Gate<S>
where
    S: Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = GateFuture<<tower_http::cors::Cors<S> as Service<Request>>::Future, S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.cors.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match admit(&self.origins, &request) {
            Admission::Cors => GateFuture::Cors {
                future: self.cors.call(request),
            },
            // `cors` was made ready, not this clone: `oneshot` readies it.
            Admission::Routes => GateFuture::Routes {
                future: self.routes.clone().oneshot(request),
            },
            Admission::Refused => GateFuture::Refused {
                response: Some(
                    ApiError::Forbidden("this cross-origin request is not allowed".to_owned())
                        .into_response(),
                ),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`Gate`].
    #[project = GateProjection]
    pub enum GateFuture<F, S: Service<Request>> {
        Cors { #[pin] future: F },
        Routes { #[pin] future: Oneshot<S, Request> },
        Refused { response: Option<Response> },
    }
}

impl<F, S> Future for GateFuture<F, S>
where
    F: Future<Output = Result<Response, S::Error>>,
    S: Service<Request, Response = Response>,
{
    type Output = Result<Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GateProjection::Cors { future } => future.poll(cx),
            GateProjection::Routes { future } => future.poll(cx),
            GateProjection::Refused { response } => {
                Poll::Ready(Ok(response.take().expect("a refusal is polled once")))
            }
        }
    }
}
