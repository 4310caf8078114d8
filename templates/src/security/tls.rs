//! HTTPS served by the service itself (the `tls` feature), with rustls through
//! axum-server.
//!
//! The certificate chain and key are PEM files (`TLS_CERT_PATH`, `TLS_KEY_PATH`).
//! They are read again, without dropping a connection, on `SIGHUP` and when
//! either file's modification time changes (checked every
//! `TlsSettings::watch_interval`): renew with certbot or cert-manager and the
//! new certificate is served. A reload that fails (a half-written file) keeps
//! the current certificate and logs an error.
//!
//! Connections are accepted and bounded by `security::connections` (the TLS
//! handshake counts towards the header-read timeout); ALPN offers HTTP/1.1
//! only, the one protocol served.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::net::TcpListener;

use super::connections;
use crate::config::connections::ConnectionSettings;
use crate::config::tls::TlsSettings;

pub struct Tls {
    config: RustlsConfig,
    settings: TlsSettings,
}

impl Tls {
    /// Reads the certificate and key; an error names the problem (missing file,
    /// no key, a key that does not match).
    pub async fn load(settings: &TlsSettings) -> io::Result<Self> {
        let config = RustlsConfig::from_pem_file(&settings.cert_path, &settings.key_path)
            .await
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!(
                        "cannot load TLS_CERT_PATH `{}` / TLS_KEY_PATH `{}`: {error}",
                        settings.cert_path.display(),
                        settings.key_path.display()
                    ),
                )
            })?;
        offer_http1_only(&config, &config);
        Ok(Self {
            config,
            settings: settings.clone(),
        })
    }

    pub async fn serve(
        self,
        listener: TcpListener,
        router: Router,
        limits: &ConnectionSettings,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let reloader = tokio::spawn(reload_on_change(self.config.clone(), self.settings));
        // The handshake is bounded by `connections` (the header-read timeout).
        let acceptor = RustlsAcceptor::new(self.config);
        let result = connections::serve(listener, router, limits, shutdown, |stream| {
            let handshake = acceptor.accept(stream, ());
            async move { handshake.await.map(|(stream, _service)| stream) }
        })
        .await;
        reloader.abort();
        result
    }
}

/// Makes `target` serve `loaded` with HTTP/1.1 alone offered in ALPN
/// (axum-server offers HTTP/2 too, which `connections` does not serve), in one
/// swap. Once per load, not per connection.
fn offer_http1_only(target: &RustlsConfig, loaded: &RustlsConfig) {
    let mut server = (*loaded.get_inner()).clone();
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    target.reload_from_config(Arc::new(server));
}

/// Reloads the certificate on SIGHUP or when the files change.
async fn reload_on_change(config: RustlsConfig, settings: TlsSettings) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut last = modified(&settings);
    let mut interval = tokio::time::interval(settings.watch_interval);
    loop {
        #[cfg(unix)]
        let hangup_received = async {
            match hangup.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hangup_received = std::future::pending::<()>();
        let reason = tokio::select! {
            () = hangup_received => "SIGHUP",
            _ = interval.tick() => {
                let now = modified(&settings);
                if now == last {
                    continue;
                }
                last = now;
                "the files changed"
            }
        };
        match RustlsConfig::from_pem_file(&settings.cert_path, &settings.key_path).await {
            Ok(loaded) => {
                offer_http1_only(&config, &loaded);
                tracing::info!(reason, "TLS certificate reloaded");
            }
            Err(error) => tracing::error!(
                reason,
                %error,
                "cannot reload the TLS certificate; still serving the previous one"
            ),
        }
    }
}

/// The modification times of the two files (`None` when unreadable).
fn modified(settings: &TlsSettings) -> (Option<SystemTime>, Option<SystemTime>) {
    let time = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    (time(&settings.cert_path), time(&settings.key_path))
}
