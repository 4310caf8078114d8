//! Accepting connections: plain HTTP.
//!
//! Connections are accepted and bounded by [`super::connections`].
//!
//! TLS: this service speaks plain HTTP and expects a TLS-terminating proxy (a
//! load balancer, an ingress, Caddy, nginx) in front of it; see the README.
//! Generate the project with the `tls` feature to serve HTTPS directly.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

use super::connections::{self, plain};
use crate::config::Settings;
use crate::config::connections::ConnectionSettings;

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
    connections: ConnectionSettings,
}

impl Listener {
    /// Binds `BIND_ADDR`.
    pub async fn bind(settings: &Settings) -> Result<Self, ListenError> {
        let addr = settings.bind_addr;
        let tcp = TcpListener::bind(addr)
            .await
            .map_err(|source| ListenError::Bind { addr, source })?;
        Ok(Self {
            tcp,
            connections: settings.connections.clone(),
        })
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
        connections::serve(self.tcp, router, &self.connections, shutdown, plain).await
    }
}
