//! Accepting connections: plain HTTP.
//!
//! The router is served with its peers' addresses (`ConnectInfo<SocketAddr>`),
//! which the per-IP rate limit and the logs rely on.
//!
//! TLS: this service speaks plain HTTP and expects a TLS-terminating proxy (a
//! load balancer, an ingress, Caddy, nginx) in front of it; see the README.
//! Generate the project with the `tls` feature to serve HTTPS directly.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::Settings;

/// Why the service cannot accept connections.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
}

/// A bound listener.
pub struct Listener {
    tcp: TcpListener,
}

impl Listener {
    /// Binds `BIND_ADDR`.
    pub async fn bind(settings: &Settings) -> Result<Self, ListenError> {
        let addr = settings.bind_addr;
        let tcp = TcpListener::bind(addr)
            .await
            .map_err(|source| ListenError::Bind { addr, source })?;
        Ok(Self { tcp })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Whether clients must use `https://`: never, here.
    pub fn is_tls(&self) -> bool {
        false
    }

    /// Serves `router` until `shutdown` resolves, then lets in-flight requests
    /// finish.
    pub async fn serve(
        self,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        axum::serve(
            self.tcp,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}
