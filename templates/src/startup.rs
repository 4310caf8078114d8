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
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
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
use crate::routes;
use crate::state::AppState;

/// Largest request body accepted, in bytes. Larger bodies get 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest a request may take before it is abandoned with 503. Also bounds how
/// long graceful shutdown can wait for in-flight requests.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot set up the HTTP client for the identity provider")]
    AuthClient(#[source] reqwest::Error),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A server that is bound and ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    pool: Pool,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let pool = db::connect(&settings.database).await?;
        db::migrate(&pool).await?;

        let listener = TcpListener::bind(settings.bind_addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.bind_addr,
                source,
            })?;

        // Not awaited: the keys arrive in the background (see `auth::keys`).
        let keys = Arc::new(KeyStore::new(&settings.auth).map_err(StartupError::AuthClient)?);
        keys.spawn_refresh(&settings.auth);
        let verifier = Arc::new(Verifier::new(&settings.auth, keys));

        let state = AppState {
            db: pool.clone(),
            verifier,
        };
        Ok(Self {
            listener,
            router: router(state),
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

    /// Serves until ctrl-c or SIGTERM, then stops accepting connections, lets
    /// in-flight requests finish, and closes the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // With the peer's address in each request (`ConnectInfo`), for logs and
        // audit events.
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        tracing::info!("server stopped, closing the database pool");
        self.pool.close().await;
        Ok(())
    }
}

/// The application router wrapped in the layers every request goes through.
///
/// `ServiceBuilder` applies layers top to bottom: the first one listed sees the
/// request first and the response last.
pub fn router(state: AppState) -> Router {
    let layers = ServiceBuilder::new()
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
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // Inside the trace and request-id layers, so a panic's 500 is still
        // logged and still carries the request id.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(timeout));

    // `Router::layer` wraps each route (and the fallbacks) after routing has
    // happened, which is why the request span can name the matched route.
    routes::api_router(state)
        // Applies to body extractors (`ValidatedJson` turns its rejection into a
        // problem+json 413). Handlers reading the raw `Body` are not limited.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(layers)
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

/// Abandons requests that take longer than [`REQUEST_TIMEOUT`] with a
/// problem+json 503 (tower-http's `TimeoutLayer` would answer with an empty body).
async fn timeout(request: Request, next: Next) -> axum::response::Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
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
}
