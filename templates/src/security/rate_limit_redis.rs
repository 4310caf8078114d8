//! Rate-limit buckets shared by every instance through Redis (the `redis`
//! feature, on when `REDIS_URL` is set).
//!
//! One Lua script takes a token atomically: the same GCRA as the in-process
//! limiter (one "theoretical arrival time" per key), timed by Redis's own clock
//! so that the instances' clocks do not matter. Each key expires when its
//! bucket would be full again, so Redis holds only active clients.
//!
//! When Redis cannot be reached (at start or later), `RATE_LIMIT_REDIS_FAILURE`
//! decides: `open` (the default) falls back to this instance's own buckets, so
//! the limit is per instance for a while but never gone; `closed` answers 503.
//! Either way one warning is logged when Redis goes away and one line when it
//! is back, not one per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;

use super::rate_limit::{Decision, Key};
use crate::config::redis::{RedisFailure, RedisSettings};
use crate::error::ApiError;

/// KEYS[1]: the bucket; ARGV[1]: µs per token; ARGV[2]: burst.
/// Returns {allowed (1/0), remaining tokens, µs until full or until the next token}.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local limit = burst * interval
if new_tat - now > limit then
  return {0, 0, new_tat - now - limit}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((limit - (new_tat - now)) / interval), new_tat - now}
";

/// How long a request waits for Redis before the failure mode applies.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);
/// How often the first connection is retried while Redis is unreachable.
const CONNECT_RETRY: Duration = Duration::from_secs(2);

pub struct SharedLimiter {
    connection: Arc<OnceCell<ConnectionManager>>,
    script: redis::Script,
    prefix: String,
    on_failure: RedisFailure,
    /// Whether the last call failed, so that state changes are logged once.
    down: AtomicBool,
}

impl SharedLimiter {
    /// Connects once (bounded by the connection timeout); if Redis is down the
    /// service starts anyway, applies the failure mode, and keeps trying in
    /// the background.
    pub async fn start(settings: &RedisSettings) -> Self {
        let connection = Arc::new(OnceCell::new());
        match redis::Client::open(settings.url.expose_secret()) {
            Ok(client) => {
                if !try_connect(&client, &connection).await {
                    tokio::spawn(connect(client, connection.clone()));
                }
            }
            Err(error) => {
                // The URL's shape was checked when read; this is e.g. a bad port.
                tracing::error!(%error, "REDIS_URL cannot be used; rate limits fall back to the failure mode");
            }
        }
        Self {
            connection,
            script: redis::Script::new(GCRA),
            prefix: settings.key_prefix.clone(),
            on_failure: settings.on_failure,
            down: AtomicBool::new(false),
        }
    }

    /// Takes a token from the shared bucket. `Ok(None)`: Redis is unreachable
    /// and failing open, the caller uses its local buckets.
    pub async fn check(
        &self,
        key: &Key,
        burst: u32,
        period: Duration,
    ) -> Result<Option<Decision>, ApiError> {
        let result = match self.connection.get() {
            Some(connection) => {
                let redis_key = match key {
                    // `2001:db8::/64`, `192.0.2.1/32`: the bucket's network.
                    Key::Ip(network) => format!("{}:ip:{network}", self.prefix),
                    Key::Subject(subject) => format!("{}:sub:{subject}", self.prefix),
                };
                let interval = period.as_micros().max(1) as u64;
                self.script
                    .key(redis_key)
                    .arg(interval)
                    .arg(burst)
                    .invoke_async::<(u8, u64, u64)>(&mut connection.clone())
                    .await
                    .map_err(|error| error.to_string())
            }
            None => Err("not connected yet".to_owned()),
        };
        match result {
            Ok((allowed, remaining, micros)) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis is reachable again; rate limits are shared again");
                }
                let wait = Duration::from_micros(micros);
                Ok(Some(if allowed == 1 {
                    Decision::Allowed {
                        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
                        reset: wait,
                    }
                } else {
                    Decision::Limited { retry_after: wait }
                }))
            }
            Err(error) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        %error,
                        failure_mode = ?self.on_failure,
                        "Redis is unreachable: rate limits are {}",
                        match self.on_failure {
                            RedisFailure::Open => "per instance until it is back (RATE_LIMIT_REDIS_FAILURE=open)",
                            RedisFailure::Closed => "refusing requests with 503 until it is back (RATE_LIMIT_REDIS_FAILURE=closed)",
                        }
                    );
                }
                match self.on_failure {
                    RedisFailure::Open => Ok(None),
                    RedisFailure::Closed => Err(ApiError::ServiceUnavailable(
                        "the rate limiter is unavailable, try again shortly".to_owned(),
                    )),
                }
            }
        }
    }
}

/// One attempt to connect; the connection manager then reconnects by itself.
async fn try_connect(client: &redis::Client, cell: &OnceCell<ConnectionManager>) -> bool {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(RESPONSE_TIMEOUT * 4))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1);
    match ConnectionManager::new_with_config(client.clone(), config).await {
        Ok(manager) => {
            let _ = cell.set(manager);
            tracing::info!("connected to Redis: rate limits are shared between instances");
            true
        }
        Err(error) => {
            tracing::warn!(%error, "cannot connect to Redis (REDIS_URL), retrying in the background");
            false
        }
    }
}

/// Retries until connected.
async fn connect(client: redis::Client, cell: Arc<OnceCell<ConnectionManager>>) {
    loop {
        tokio::time::sleep(CONNECT_RETRY).await;
        if try_connect(&client, &cell).await {
            return;
        }
    }
}
