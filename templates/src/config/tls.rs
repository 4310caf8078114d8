//! HTTPS served by the service itself (feature `tls`, see `security::tls`).
//!
//! | variable                        | meaning                                                                                              | default                                   |
//! | ------------------------------- | ---------------------------------------------------------------------------------------------------- | ----------------------------------------- |
//! | `TLS_CERT_PATH`, `TLS_KEY_PATH` | PEM certificate chain and private key: serve HTTPS (reloaded on SIGHUP or when the files change) | unset: plain HTTP (refused in production) |

use std::path::PathBuf;
use std::time::Duration;

use super::{AppEnv, ConfigError, Vars};

#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    /// How often the files are checked for changes (SIGHUP reloads at once).
    pub watch_interval: Duration,
}

impl TlsSettings {
    /// `None`: plain HTTP, which production refuses: the `tls` feature means
    /// this service terminates TLS.
    pub(super) fn from_vars<F: Fn(&str) -> Option<String>>(
        vars: &Vars<F>,
        app_env: AppEnv,
    ) -> Result<Option<Self>, ConfigError> {
        let settings = match (
            vars.optional("TLS_CERT_PATH"),
            vars.optional("TLS_KEY_PATH"),
        ) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(Self {
                cert_path: cert.into(),
                key_path: key.into(),
                watch_interval: Duration::from_secs(10),
            }),
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    var: "TLS_KEY_PATH",
                    hint: "set it to the PEM private key of TLS_CERT_PATH's certificate".to_owned(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Missing {
                    var: "TLS_CERT_PATH",
                    hint: "set it to the PEM certificate chain of TLS_KEY_PATH's key".to_owned(),
                });
            }
        };
        if app_env == AppEnv::Production && settings.is_none() {
            return Err(ConfigError::Missing {
                var: "TLS_CERT_PATH",
                hint: "this service serves HTTPS itself (the `tls` feature): with APP_ENV=production set TLS_CERT_PATH and TLS_KEY_PATH".to_owned(),
            });
        }
        Ok(settings)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{refused_var, settings};

    /// The variables a configuration that production accepts needs here.
    pub(in crate::config) const VARS: &[(&str, &str)] = &[
        ("TLS_CERT_PATH", "/run/tls/cert.pem"),
        ("TLS_KEY_PATH", "/run/tls/key.pem"),
    ];

    #[test]
    fn production_refuses_to_serve_plain_http_when_tls_is_compiled_in() {
        let result = settings(&[
            ("APP_ENV", "production"),
            ("TLS_CERT_PATH", ""),
            ("TLS_KEY_PATH", ""),
        ]);
        assert_eq!(refused_var(result), "TLS_CERT_PATH");
        assert_eq!(
            refused_var(settings(&[("TLS_KEY_PATH", "")])),
            "TLS_KEY_PATH"
        );
        let dev = settings(&[("TLS_CERT_PATH", ""), ("TLS_KEY_PATH", "")]).unwrap();
        assert!(dev.tls.is_none());
    }
}
