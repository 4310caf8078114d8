//! The accept loop: every connection is bounded in time and in number, so that
//! one client cannot hold the service's file descriptors.
//!
//! - At most `HTTP_MAX_CONNECTIONS` connections are served at once: the loop
//!   waits for a free slot *before* it accepts, so further clients wait in the
//!   kernel's listen queue (costing this process nothing) until one closes.
//! - A request's head must arrive within `HTTP_HEADER_READ_TIMEOUT_SECONDS` of
//!   the connection opening (the TLS handshake included) or, on a kept-alive
//!   connection, of the previous response: a client that stops half-way
//!   through its headers, or keeps an idle connection, is disconnected.
//! - hyper's parser is given room (see [`limits::PARSER_MAX_HEADERS`]) so that
//!   the application, not the parser, refuses too many or too large headers,
//!   with a problem document and the security headers.
//! - HTTP/1.1 only: its timers and limits are the ones above (HTTP/2 has no
//!   header-read timeout in hyper); a proxy in front may still speak HTTP/2 to
//!   browsers.
//!
//! Each connection is served with its peer's address (`ConnectInfo`), which
//! the per-IP rate limit and the logs rely on.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::Layer;

use super::limits::{self, REQUEST_TIMEOUT};
use crate::config::connections::ConnectionSettings;

/// How long graceful shutdown waits for in-flight requests: no request takes
/// longer than [`REQUEST_TIMEOUT`].
const SHUTDOWN_GRACE: Duration = REQUEST_TIMEOUT;

/// Accepts connections on `tcp` until `shutdown` resolves, turns each into a
/// stream with `handshake` (TLS, or nothing), and serves `router` on it; then
/// lets in-flight requests finish.
pub async fn serve<H, F, S>(
    tcp: TcpListener,
    router: Router,
    settings: &ConnectionSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
    handshake: H,
) -> io::Result<()>
where
    H: Fn(TcpStream) -> F,
    F: Future<Output = io::Result<S>> + Send + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_headers(limits::PARSER_MAX_HEADERS);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let handshake = tokio::time::timeout(settings.header_read_timeout, handshake(stream));
        let service =
            TowerToHyperService::new(axum::Extension(ConnectInfo(peer)).layer(router.clone()));
        let http = http.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // Held until the connection is closed.
            let _slot = slot;
            let stream = match handshake.await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "handshake failed");
                    return;
                }
                Err(_elapsed) => {
                    tracing::debug!(%peer, "handshake timed out");
                    return;
                }
            };
            let connection = http.serve_connection(TokioIo::new(stream), service);
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%peer, %error, "connection closed with an error");
            }
        });
    }
    drop(tcp);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the grace period");
    }
    Ok(())
}

/// A failed `accept`: a client that gave up is nothing; anything else (out
/// of file descriptors) is logged and retried after a pause, as axum does.
async fn accept_failed(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection, retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The `handshake` of plain HTTP.
pub fn plain(stream: TcpStream) -> std::future::Ready<io::Result<TcpStream>> {
    std::future::ready(Ok(stream))
}
