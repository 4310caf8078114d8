//! Accepting connections: plain HTTP, or HTTPS when `TLS_CERT_PATH` is set (see
//! [`super::tls`]).
//!
//! Connections are accepted and bounded by [`super::connections`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

use super::connections::{self, plain};
use super::tls::Tls;
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
    #[error("cannot set up TLS")]
    Tls(#[source] io::Error),
}

/// A bound listener, with its TLS configuration loaded when there is one (so
/// that a bad certificate stops the service at start).
pub struct Listener {
    tcp: TcpListener,
    tls: Option<Tls>,
    connections: ConnectionSettings,
}

impl Listener {
    /// Binds `BIND_ADDR` and loads the certificate and key, if any.
    pub async fn bind(settings: &Settings) -> Result<Self, ListenError> {
        let addr = settings.bind_addr;
        let tcp = TcpListener::bind(addr)
            .await
            .map_err(|source| ListenError::Bind { addr, source })?;
        let tls = match &settings.tls {
            Some(tls) => Some(Tls::load(tls).await.map_err(ListenError::Tls)?),
            None => None,
        };
        Ok(Self {
            tcp,
            tls,
            connections: settings.connections.clone(),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Whether clients must use `https://`.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves `router` until `shutdown` resolves, then lets in-flight requests
    /// finish.
    pub async fn serve(
        self,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        if let Some(tls) = self.tls {
            return tls
                .serve(self.tcp, router, &self.connections, shutdown)
                .await;
        }
        connections::serve(self.tcp, router, &self.connections, shutdown, plain).await
    }
}
