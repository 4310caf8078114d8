//! How connections are held (see `security::connections`).
//!
//! | variable                           | meaning                                                                                                                                                                                  | default |
//! | ---------------------------------- | ---------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------- | ------- |
//! | `HTTP_HEADER_READ_TIMEOUT_SECONDS` | a request's head (and the TLS handshake) must arrive within this time of connecting, or of the previous response on a kept-alive connection: it is also the keep-alive idle time (1–300) | `10`    |
//! | `HTTP_MAX_CONNECTIONS`             | connections served at once; more wait in the kernel's queue until one closes                                                                                                             | `512`   |

use std::time::Duration;

use super::{ConfigError, Vars};

#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// How long the head of a request may take to arrive, idle time on a
    /// kept-alive connection included (hyper runs one timer for both).
    pub header_read_timeout: Duration,
    /// How many connections are served at once.
    pub max_connections: usize,
}

impl ConnectionSettings {
    pub const DEFAULT_HEADER_READ_TIMEOUT_SECONDS: u64 = 10;
    /// Well below the usual 1024 open files of a process (`ulimit -n`), which
    /// the database pool, the logs and the identity provider's client share.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
    /// Longer than this, a slow client holds a connection for minutes.
    const MAX_HEADER_READ_TIMEOUT_SECONDS: u64 = 300;

    pub(super) fn from_vars<F: Fn(&str) -> Option<String>>(
        vars: &Vars<F>,
    ) -> Result<Self, ConfigError> {
        let mut settings = Self::default();
        if let Some(seconds) = whole_number(
            vars,
            "HTTP_HEADER_READ_TIMEOUT_SECONDS",
            1..=Self::MAX_HEADER_READ_TIMEOUT_SECONDS as usize,
        )? {
            settings.header_read_timeout = Duration::from_secs(seconds as u64);
        }
        if let Some(count) = whole_number(vars, "HTTP_MAX_CONNECTIONS", 1..=1_000_000)? {
            settings.max_connections = count;
        }
        Ok(settings)
    }
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(Self::DEFAULT_HEADER_READ_TIMEOUT_SECONDS),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// A whole number in `range`, or `None` when unset.
fn whole_number<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
    var: &'static str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Option<usize>, ConfigError> {
    let Some(value) = vars.optional(var) else {
        return Ok(None);
    };
    match value.trim().parse::<usize>() {
        Ok(number) if range.contains(&number) => Ok(Some(number)),
        _ => Err(ConfigError::Invalid {
            var,
            value: Some(value.clone()),
            expected: format!(
                "expected a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{invalid_var, settings};
    use super::*;

    #[test]
    fn the_connection_limits_default_to_bounded_values() {
        let connections = settings(&[]).unwrap().connections;
        assert_eq!(connections.header_read_timeout, Duration::from_secs(10));
        assert_eq!(connections.max_connections, 512);
    }

    #[test]
    fn the_connection_variables_are_read_and_checked() {
        let connections = settings(&[
            ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "5"),
            ("HTTP_MAX_CONNECTIONS", "64"),
        ])
        .unwrap()
        .connections;
        assert_eq!(connections.header_read_timeout, Duration::from_secs(5));
        assert_eq!(connections.max_connections, 64);
        for (var, bad) in [
            ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "0"),
            ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "3600"),
            ("HTTP_HEADER_READ_TIMEOUT_SECONDS", "ten"),
            ("HTTP_MAX_CONNECTIONS", "0"),
            ("HTTP_MAX_CONNECTIONS", "-1"),
        ] {
            assert_eq!(invalid_var(settings(&[(var, bad)])), var, "{bad}");
        }
    }
}
