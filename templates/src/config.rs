//! Typed runtime configuration, read from the environment only.
//!
//! | variable       | meaning                                   | default                        |
//! | -------------- | ----------------------------------------- | ------------------------------ |
//! | `APP_ENV`      | `development` or `production`             | `development`                  |
//! | `BIND_ADDR`    | address to listen on (`ip:port`)          | `127.0.0.1:8080`               |
//! | `DATABASE_URL` | sqlx database URL (secret)                | `sqlite://data/app.db?mode=rwc` |
//!
//! Parsing goes through a lookup function ([`Settings::from_lookup`]) so tests can
//! supply values without touching the process environment. To add a variable:
//! add a field, read it in `from_lookup` with [`Vars::optional`] or
//! [`Vars::required`], and add a test for its default and its bad values.

use std::net::SocketAddr;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use sqlx::sqlite::SqliteConnectOptions;

const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8080";
const DEFAULT_DATABASE_URL: &str = "sqlite://data/app.db?mode=rwc";

/// A variable is missing or has a value we cannot use. The message always names
/// the variable, e.g. "invalid BIND_ADDR `x`: expected host:port ...", and shows
/// the offending value only when it is not secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("missing {var}: {hint}")]
    Missing { var: &'static str, hint: String },
    #[error("invalid {var}{shown}: {expected}", shown = shown_value(value.as_deref()))]
    Invalid {
        var: &'static str,
        /// `None` for secrets, which are never echoed.
        value: Option<String>,
        expected: String,
    },
}

fn shown_value(value: Option<&str>) -> String {
    value.map(|value| format!(" `{value}`")).unwrap_or_default()
}

/// Where the service runs. Production is strict: it refuses settings that are
/// only acceptable on a developer's machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppEnv {
    #[default]
    Development,
    Production,
}

impl AppEnv {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }
}

impl FromStr for AppEnv {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "development" => Ok(Self::Development),
            "production" => Ok(Self::Production),
            _ => Err("expected `development` or `production`".to_owned()),
        }
    }
}

/// Everything the service needs to start. `Debug` is safe to log: secrets are
/// wrapped in [`SecretString`] and print as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub app_env: AppEnv,
    pub bind_addr: SocketAddr,
    pub database: DatabaseSettings,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// May contain a password (PostgreSQL), hence secret.
    pub url: SecretString,
}

impl DatabaseSettings {
    /// The connection options for the pool. Also called by
    /// [`Settings::from_lookup`], so a bad URL is reported at start-up.
    pub fn connect_options(&self) -> Result<SqliteConnectOptions, ConfigError> {
        let url = self.url.expose_secret();
        let invalid = || ConfigError::Invalid {
            var: "DATABASE_URL",
            // Never echoed: a database URL may hold a password.
            value: None,
            expected: format!("expected a SQLite URL such as {DEFAULT_DATABASE_URL}"),
        };
        // sqlx would read anything without the scheme as a file name, so that a
        // PostgreSQL URL would quietly create a file called `postgres:...`.
        if !url.starts_with("sqlite:") {
            return Err(invalid());
        }
        SqliteConnectOptions::from_str(url).map_err(|_| invalid())
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, which returns a variable's value or `None`
    /// when it is unset. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(lookup);

        let app_env = match vars.optional("APP_ENV") {
            None => AppEnv::default(),
            Some(value) => value.parse().map_err(|expected| ConfigError::Invalid {
                var: "APP_ENV",
                value: Some(value),
                expected,
            })?,
        };

        let bind_addr = vars
            .optional("BIND_ADDR")
            .unwrap_or_else(|| DEFAULT_BIND_ADDR.to_owned());
        let bind_addr = bind_addr.parse().map_err(|_| ConfigError::Invalid {
            var: "BIND_ADDR",
            value: Some(bind_addr),
            expected: "expected host:port such as 127.0.0.1:8080 (an IP address, not a name)"
                .to_owned(),
        })?;

        let database = DatabaseSettings {
            url: vars
                .optional("DATABASE_URL")
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
                .into(),
        };
        // Parse now so that a bad URL stops the service at start, naming the variable.
        database.connect_options()?;

        Ok(Self {
            app_env,
            bind_addr,
            database,
        })
    }
}

/// Small helper over the lookup function, so each variable is one line above.
struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// The value of `name`, or `None` when unset or empty (an empty
    /// `FOO=` in a `.env` file means "use the default", not "use nothing").
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    /// The value of `name`, or an error telling the operator what to set.
    /// Unused until a variable without a default is added (e.g. the auth issuer).
    #[allow(dead_code)]
    fn required(&self, name: &'static str, hint: &str) -> Result<String, ConfigError> {
        self.optional(name).ok_or_else(|| ConfigError::Missing {
            var: name,
            hint: hint.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    fn invalid_var(result: Result<Settings, ConfigError>) -> &'static str {
        match result {
            Err(ConfigError::Invalid { var, .. }) => var,
            other => panic!("expected an invalid-variable error, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_environment_gives_the_defaults() {
        let settings = settings(&[]).unwrap();
        assert_eq!(settings.app_env, AppEnv::Development);
        assert_eq!(settings.bind_addr.to_string(), DEFAULT_BIND_ADDR);
        assert_eq!(
            settings.database.url.expose_secret(),
            "sqlite://data/app.db?mode=rwc"
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let settings = settings(&[("APP_ENV", ""), ("BIND_ADDR", "  ")]).unwrap();
        assert_eq!(settings.app_env, AppEnv::Development);
        assert_eq!(settings.bind_addr.to_string(), DEFAULT_BIND_ADDR);
    }

    #[test]
    fn every_variable_is_read() {
        let settings = settings(&[
            ("APP_ENV", "production"),
            ("BIND_ADDR", "0.0.0.0:9000"),
            ("DATABASE_URL", "sqlite::memory:"),
        ])
        .unwrap();
        assert_eq!(settings.app_env, AppEnv::Production);
        assert_eq!(settings.bind_addr.port(), 9000);
        assert_eq!(settings.database.url.expose_secret(), "sqlite::memory:");
    }

    #[test]
    fn an_unknown_app_env_is_rejected() {
        let error = settings(&[("APP_ENV", "staging")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid APP_ENV `staging`: expected `development` or `production`"
        );
    }

    #[test]
    fn a_bind_addr_without_a_port_is_rejected() {
        let error = settings(&[("BIND_ADDR", "x")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid BIND_ADDR `x`: expected host:port such as 127.0.0.1:8080 (an IP address, not a name)"
        );
        assert_eq!(
            invalid_var(settings(&[("BIND_ADDR", "127.0.0.1")])),
            "BIND_ADDR"
        );
        assert_eq!(
            invalid_var(settings(&[("BIND_ADDR", "127.0.0.1:99999")])),
            "BIND_ADDR"
        );
    }

    #[test]
    fn a_database_url_of_another_kind_is_rejected_without_echoing_it() {
        let result = settings(&[("DATABASE_URL", "postgres://user:hunter2@db/app")]);
        let error = result.unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid DATABASE_URL: expected a SQLite URL such as sqlite://data/app.db?mode=rwc"
        );
    }

    #[test]
    fn debug_output_never_shows_the_database_url() {
        let settings = settings(&[("DATABASE_URL", "sqlite://secret-name.db")]).unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("secret-name"), "{debug}");
    }
}
