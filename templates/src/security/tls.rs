//! HTTPS served by the service itself (the `tls` feature), with rustls through
//! axum-server.
//!
//! The certificate chain and key are PEM files (`TLS_CERT_PATH`, `TLS_KEY_PATH`).
//! They are read again, without dropping a connection, on `SIGHUP` and when
//! either file's modification time changes (checked every
//! `TlsSettings::watch_interval`): renew with certbot or cert-manager and the
//! new certificate is served. A reload that fails (a half-written file) keeps
//! the current certificate and logs an error.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::SystemTime;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;

use super::limits::REQUEST_TIMEOUT;
use crate::config::tls::TlsSettings;

/// How long graceful shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: std::time::Duration = REQUEST_TIMEOUT;

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
        Ok(Self {
            config,
            settings: settings.clone(),
        })
    }

    pub async fn serve(
        self,
        listener: TcpListener,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let handle = Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
        });
        let reloader = tokio::spawn(reload_on_change(self.config.clone(), self.settings));
        let result = axum_server::from_tcp_rustls(listener.into_std()?, self.config)?
            .handle(handle)
            .serve(router.into_make_service_with_connect_info::<SocketAddr>())
            .await;
        reloader.abort();
        result
    }
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
        match config
            .reload_from_pem_file(&settings.cert_path, &settings.key_path)
            .await
        {
            Ok(()) => tracing::info!(reason, "TLS certificate reloaded"),
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
