//! Building and running the HTTP server.
//!
//! [`Application::build`] does everything that can fail (database, migrations,
//! binding the port) before a single request is served, so a bad start-up is an
//! error in `main`, not a half-working server. The identity provider is the
//! exception: it may be down when the service starts, so its keys are loaded in
//! the background, with retries, and readiness waits for them. Tests build it with
//! `BIND_ADDR=127.0.0.1:0` and read the port the OS picked from [`Application::port`].

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::{HeaderName, Response};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::auth::Verifier;
use crate::auth::keys::KeyStore;
use crate::config::Settings;
use crate::db::{self, DbError, Pool};
use crate::error::ApiError;
use crate::rbac::{Policy, PolicyError};
use crate::routes::{self, access::Access};
use crate::security::Security;
use crate::security::serve::Listener;
use crate::state::AppState;

/// Largest request body accepted, in bytes. Larger bodies get 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest a request may take before it is abandoned with 503. Also bounds how
/// long graceful shutdown can wait for in-flight requests.
///
/// 503, not 408: 408 says the *client* was too slow to send its request (RFC
/// 9110 §15.5.9), and clients may resend it at once; here the server was too
/// slow to answer, which is 503 (as a gateway would say 504).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot set up the HTTP client for the identity provider")]
    AuthClient(#[source] reqwest::Error),
    #[error("invalid access-control policy")]
    Policy(#[source] PolicyError),
    #[error(
        "a route requires the permission `{permission}` ({route}), which config/rbac.toml does not declare"
    )]
    UndeclaredPermission {
        permission: &'static str,
        route: String,
    },
    #[error("cannot set up TLS")]
    Tls(#[source] std::io::Error),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A server that is bound and ready to run.
pub struct Application {
    listener: Listener,
    router: Router,
    pool: Pool,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // First: a bad policy is a build defect, no reason to touch anything else.
        let policy = Arc::new(load_policy()?);
        let pool = db::connect(&settings.database).await?;
        db::migrate(&pool).await?;

        let listener = TcpListener::bind(settings.bind_addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.bind_addr,
                source,
            })?;
        let listener = Listener::new(listener, &settings.security)
            .await
            .map_err(StartupError::Tls)?;

        // Not awaited: the keys arrive in the background (see `auth::keys`).
        let keys = Arc::new(KeyStore::new(&settings.auth).map_err(StartupError::AuthClient)?);
        keys.spawn_refresh(&settings.auth);
        let verifier = Arc::new(Verifier::new(&settings.auth, keys));

        let state = AppState {
            db: pool.clone(),
            verifier,
            policy,
        };
        let security = Security::new(&settings.security).await;
        Ok(Self {
            listener,
            router: router(state, &security),
            pool,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// `https` when the service serves TLS itself, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.listener.is_tls() {
            "https"
        } else {
            "http"
        }
    }

    /// Serves until ctrl-c or SIGTERM, then stops accepting connections, lets
    /// in-flight requests finish, and closes the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.listener.serve(self.router, shutdown_signal()).await?;
        tracing::info!("server stopped, closing the database pool");
        self.pool.close().await;
        Ok(())
    }
}

/// The embedded policy, checked against the routes: a permission a route
/// requires but the policy does not declare would make that route
/// unreachable for everyone, so it is refused at start.
fn load_policy() -> Result<Policy, StartupError> {
    let policy = Policy::embedded().map_err(StartupError::Policy)?;
    for route in routes::routes().table() {
        if let Access::Permission(permission) = route.access
            && !policy.permissions().contains(permission)
        {
            return Err(StartupError::UndeclaredPermission {
                permission,
                route: format!("{} {}", route.method, route.path),
            });
        }
    }
    Ok(policy)
}

/// The application router wrapped in the layers every request goes through.
///
/// `ServiceBuilder` applies layers top to bottom: the first one listed sees the
/// request first and the response last. The HTTP defences (`security`) sit
/// inside the tracing and request-id layers, so a 429 or 431 is logged with
/// its request id, and outside the panic handler, so a 500 gets the security
/// headers.
pub fn router(state: AppState, security: &Security) -> Router {
    let observability = ServiceBuilder::new()
        // Before anything logs: mark credentials so that whatever logs request
        // headers (now or later) prints `Sensitive` instead of their value.
        .layer(SetSensitiveRequestHeadersLayer::new([
            AUTHORIZATION,
            COOKIE,
        ]))
        .layer(SetSensitiveResponseHeadersLayer::new([SET_COOKIE]))
        // A UUID for every request, unless the caller (e.g. a gateway) sent one;
        // it is echoed in the response so clients can quote it in bug reports.
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_request_span)
                .on_response(record_response),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID));

    // `Router::layer` wraps each route (and the fallbacks) after routing has
    // happened, which is why the request span can name the matched route.
    let routes = routes::api_router(state)
        // Applies to body extractors (`ValidatedJson` turns its rejection into a
        // problem+json 413). Handlers reading the raw `Body` are not limited.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(REQUEST_TIMEOUT, timeout));
    security
        .wrap(routes, |router| {
            router.layer(CatchPanicLayer::custom(panic_response))
        })
        .layer(observability)
}

/// The span every log line of a request is recorded in. The query string is
/// left out on purpose: it may carry data that does not belong in logs.
fn make_request_span(request: &Request) -> Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    // The route template (`/api/items/{id}`) when one matched: it groups well in
    // log queries; the concrete path is still there.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        path = request.uri().path(),
        route,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Completes the request span and logs one line per request, which carries the
/// span's fields (request id, method, path, status, latency).
fn record_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    span.record("status", response.status().as_u16());
    span.record("latency_ms", latency.as_millis());
    tracing::info!("request finished");
}

/// A panicking handler becomes an opaque 500; the panic message is logged only.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "handler panicked");
    // `Internal` with a fixed cause: the panic text was logged above and must
    // not reach the client.
    ApiError::internal("handler panicked").into_response()
}

/// Abandons requests that take longer than `limit` ([`REQUEST_TIMEOUT`]) with a
/// problem+json 503 (tower-http's `TimeoutLayer` would answer with an empty body).
async fn timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => {
            ApiError::ServiceUnavailable("the request took too long".to_owned()).into_response()
        }
    }
}

/// Resolves on ctrl-c, or on SIGTERM (what `docker stop` and Kubernetes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_opaque_500_problem() {
        let response = panic_response(Box::new("secret detail".to_owned()));

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[axum::http::header::CONTENT_TYPE],
            crate::error::PROBLEM_JSON
        );
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("secret"));
    }

    #[tokio::test]
    async fn a_request_over_the_time_limit_gets_a_503_problem() {
        use axum::routing::get;
        use tower::ServiceExt as _;

        // A handler far slower than the limit; the limit is short so the test
        // is quick, and the margin (50 ms against 60 s) makes it deterministic.
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "done"
                }),
            )
            .layer(middleware::from_fn_with_state(
                Duration::from_millis(50),
                timeout,
            ));
        let request = axum::http::Request::get("/slow")
            .body(axum::body::Body::empty())
            .unwrap();

        let response = app.oneshot(request).await.unwrap();

        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[axum::http::header::CONTENT_TYPE],
            crate::error::PROBLEM_JSON
        );
    }
}
