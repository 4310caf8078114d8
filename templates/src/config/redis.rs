//! The rate-limit buckets shared through Redis (feature `redis`, see
//! `security::rate_limit_redis`).
//!
//! | variable                   | meaning                                                                                  | default             |
//! | -------------------------- | ---------------------------------------------------------------------------------------- | ------------------- |
//! | `REDIS_URL`                | shares the buckets between instances (`redis://host:6379`; secret)                      | unset: per instance |
//! | `RATE_LIMIT_REDIS_FAILURE` | when Redis cannot be reached: `open` (each instance limits on its own) or `closed` (503) | `open`              |

use secrecy::SecretString;

use super::{ConfigError, Vars};

/// What to do when Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedisFailure {
    /// Each instance limits with its own buckets until Redis is back: the
    /// limit is per instance for a while, never gone.
    #[default]
    Open,
    /// Refuse requests with 503 until Redis is back.
    Closed,
}

#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// May hold a password.
    pub url: SecretString,
    pub on_failure: RedisFailure,
    /// Prefix of the keys in Redis, so that several services (or tests) can
    /// share one Redis.
    pub key_prefix: String,
}

impl RedisSettings {
    /// `None` when `REDIS_URL` is unset: each instance keeps its own buckets.
    pub(super) fn from_vars<F: Fn(&str) -> Option<String>>(
        vars: &Vars<F>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(url) = vars.optional("REDIS_URL") else {
            return Ok(None);
        };
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(ConfigError::Invalid {
                var: "REDIS_URL",
                // Never echoed: it may carry a password.
                value: None,
                expected: "expected redis://host:6379 or rediss://host:6380".to_owned(),
            });
        }
        let on_failure = match vars.optional("RATE_LIMIT_REDIS_FAILURE").as_deref() {
            None | Some("open") => RedisFailure::Open,
            Some("closed") => RedisFailure::Closed,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "RATE_LIMIT_REDIS_FAILURE",
                    value: Some(other.to_owned()),
                    expected: "expected `open` or `closed`".to_owned(),
                });
            }
        };
        Ok(Some(Self {
            url: url.into(),
            on_failure,
            key_prefix: concat!(env!("CARGO_PKG_NAME"), ":ratelimit").to_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{refused_var, settings};
    use super::*;

    #[test]
    fn the_redis_variables_are_read_and_the_url_is_never_echoed() {
        let rate = settings(&[("REDIS_URL", "redis://127.0.0.1:6379")])
            .unwrap()
            .rate_limit;
        let redis = rate.redis.unwrap();
        assert_eq!(redis.on_failure, RedisFailure::Open, "open is the default");
        let closed = settings(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("RATE_LIMIT_REDIS_FAILURE", "closed"),
        ])
        .unwrap();
        assert_eq!(
            closed.rate_limit.redis.unwrap().on_failure,
            RedisFailure::Closed
        );
        let error = settings(&[("REDIS_URL", "http://:hunter2@cache")]).unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert_eq!(
            refused_var(settings(&[
                ("REDIS_URL", "redis://127.0.0.1:6379"),
                ("RATE_LIMIT_REDIS_FAILURE", "maybe")
            ])),
            "RATE_LIMIT_REDIS_FAILURE"
        );
    }
}
