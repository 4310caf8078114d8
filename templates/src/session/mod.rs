//! Browser sessions (feature `session`): this service is the backend for its
//! front end (the "BFF" pattern of the IETF's OAuth for browser-based apps).
//! The browser signs in through the identity provider and then holds only an
//! opaque session cookie; the provider's tokens stay here, so no script in the
//! page (nor an XSS in it) can read them.
//!
//! - **Login** (`routes::session`): `GET /auth/login` starts the authorization
//!   code flow with PKCE, `state` and `nonce` kept in an encrypted, short-lived
//!   cookie ([`cookies`]); `GET /auth/callback` checks them, exchanges the code
//!   ([`oidc`]), verifies the ID token and creates the session.
//! - **Sessions** live in the database (`repo::sessions`): a random 256-bit id
//!   in the cookie, only its SHA-256 stored, the tokens encrypted at rest,
//!   with an idle and an absolute timeout.
//! - **Requests**: `/api` takes a bearer token as before, or else the session
//!   cookie ([`Sessions::principal`]): the stored access token is verified exactly like a
//!   bearer token, so roles and permissions work the same. Shortly before it
//!   expires it is refreshed, once per session however many requests arrive at
//!   the same time ([`Sessions::refresh`]).
//! - **CSRF**: a browser sends cookies with requests other sites trigger, so a
//!   cookie-authenticated change (POST, PUT, PATCH, DELETE) also needs the
//!   session's anti-CSRF token in `X-CSRF-Token` and an `Origin` equal to
//!   `PUBLIC_BASE_URL` ([`Sessions::check_csrf`]). Bearer requests need
//!   neither: no browser attaches a bearer token on its own.
//! - **Logout**: `POST /auth/logout` ends the session, revokes the refresh
//!   token and returns the provider's end-session URL;
//!   `POST /auth/backchannel-logout` takes the provider's signed logout token.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::header::ORIGIN;
use axum::http::{HeaderMap, Method};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use moka::sync::Cache;

use crate::auth::{Principal, Rejection, Verifier};
use crate::config::session::SessionSettings;
use crate::db::Pool;
use crate::error::{ApiError, ErrorChain};
use crate::repo::sessions::{self as store, Session, Tokens};

pub mod cookies;
mod events;
pub mod oidc;

pub use events::{EventType, Outcome, RequestMeta};

use cookies::Cookies;
use oidc::{IssuedTokens, Oidc};

/// The header that carries the anti-CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How often ended sessions are removed from the table.
const PURGE_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// When a token response says nothing of the access token's lifetime and
/// the token has no readable `exp`, it is refreshed this soon.
const FALLBACK_ACCESS_LIFETIME: Duration = Duration::from_secs(60);

/// The login flow and the sessions, shared by every request.
pub struct Sessions {
    settings: SessionSettings,
    /// Where the sessions are stored.
    db: Pool,
    /// Checks the access tokens stored with the sessions, like bearer tokens.
    verifier: Arc<Verifier>,
    oidc: Oidc,
    cookies: Cookies,
    /// One lock per session being refreshed: concurrent requests of a session
    /// wait for the first one's refresh instead of presenting the same
    /// refresh token twice (which a rotating provider treats as theft).
    refreshing: Cache<Vec<u8>, Arc<tokio::sync::Mutex<()>>>,
}

/// Why a cookie does not authenticate.
const SESSION_ENDED: &str = "the session has ended: sign in again at /auth/login";

impl Sessions {
    /// The provider is reached with the key store's client
    /// (`auth::keys::KeyStore::http`).
    pub fn new(settings: &SessionSettings, db: Pool, verifier: Arc<Verifier>) -> Self {
        Self {
            oidc: Oidc::new(settings, verifier.keys().http().clone()),
            db,
            verifier,
            cookies: Cookies::new(settings.cookie_secure),
            settings: settings.clone(),
            refreshing: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(60))
                .build(),
        }
    }

    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    pub fn oidc(&self) -> &Oidc {
        &self.oidc
    }

    pub fn cookies(&self) -> &Cookies {
        &self.cookies
    }

    /// The session id in the request's cookie, if it has the right shape.
    pub fn session_id<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        self.cookies
            .get(headers, self.cookies.session_name())
            .filter(|id| cookies::is_token(id))
    }

    /// Refuses a cookie-authenticated change that lacks the session's
    /// anti-CSRF token or comes from another origin. Safe methods pass.
    pub fn check_csrf(
        &self,
        method: &Method,
        headers: &HeaderMap,
        session: &Session,
    ) -> Result<(), &'static str> {
        if method.is_safe() {
            return Ok(());
        }
        // Browsers send `Origin` with every cross-origin request and every
        // non-GET one; a request without it did not come from our page.
        let origin = headers.get(ORIGIN).ok_or("no Origin header")?;
        if origin.as_bytes() != self.settings.public_base_url.as_bytes() {
            return Err("the Origin is not PUBLIC_BASE_URL");
        }
        let token = headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok())
            .ok_or("no X-CSRF-Token header")?;
        verify_slices_are_equal(&cookies::hash(token), &session.csrf_hash)
            .map_err(|_| "the X-CSRF-Token is not the session's")
    }

    /// Whether the session has ended at `now`: past its absolute timeout, or
    /// idle for longer than the idle timeout.
    pub fn has_ended(&self, session: &Session, now: DateTime<Utc>) -> bool {
        session.expires_at <= now || session.last_seen_at + self.settings.idle_timeout <= now
    }

    fn needs_refresh(&self, session: &Session, now: DateTime<Utc>) -> bool {
        session.access_expires_at - self.settings.refresh_before <= now
    }

    /// How stale `last_seen_at` may get before a request updates it: a write
    /// per request would be wasteful, a coarse one would cut idle sessions
    /// short. A quarter of the idle timeout, at most a minute.
    fn touch_interval(&self) -> Duration {
        (self.settings.idle_timeout / 4).min(Duration::from_secs(60))
    }

    /// The session's access token, refreshed first when it is about to
    /// expire. Concurrent callers for one session share one refresh.
    async fn fresh_access_token(
        &self,
        meta: &RequestMeta,
        session: Session,
    ) -> Result<String, ApiError> {
        if !self.needs_refresh(&session, Utc::now()) {
            return Ok(session.access_token);
        }
        let lock = self
            .refreshing
            .get_with(session.id_hash.clone(), Default::default);
        let _refreshing = lock.lock().await;
        let seen = session.access_token;
        let Some(session) = store::find(&self.db, &session.id_hash).await? else {
            return Err(ApiError::Unauthorized(SESSION_ENDED.to_owned()));
        };
        let now = Utc::now();
        // Another request refreshed while this one waited: use its token,
        // even if the provider issues tokens that live no longer than
        // `refresh_before` (refreshing again would be one call per request).
        if session.access_token != seen || !self.needs_refresh(&session, now) {
            return Ok(session.access_token);
        }
        self.refresh(meta, session, now).await
    }

    /// Trades the session's refresh token for new tokens and stores them.
    ///
    /// - The provider refuses the refresh token (`invalid_grant`: expired,
    ///   revoked, rotated already): the session ends, 401.
    /// - It reports that the token was used before (see
    ///   [`oidc::OidcError::reports_reuse`]): someone else holds a copy, so
    ///   every session of the user ends.
    /// - It cannot be reached: the current access token serves until it
    ///   actually expires, then 503.
    async fn refresh(
        &self,
        meta: &RequestMeta,
        session: Session,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        let Some(refresh_token) = session.refresh_token.as_deref() else {
            // Without a refresh token the session lasts as long as its token.
            if session.access_expires_at > now {
                return Ok(session.access_token.clone());
            }
            store::delete(&self.db, &session.id_hash).await?;
            return Err(ApiError::Unauthorized(SESSION_ENDED.to_owned()));
        };
        let Some(endpoints) = self.verifier.keys().endpoints() else {
            return usable_until_expiry(&session, now, "the discovery document is not loaded");
        };
        let who = Some(session.subject.as_str());
        match self.oidc.refresh(&endpoints, refresh_token).await {
            Ok(tokens) => {
                let access_expires_at = access_expiry(&tokens, now);
                let stored = store::update_tokens(
                    &self.db,
                    &session.id_hash,
                    &Tokens {
                        access_token: &tokens.access_token,
                        refresh_token: tokens.refresh_token.as_deref(),
                        id_token: tokens.id_token.as_deref(),
                        access_expires_at,
                    },
                )
                .await?;
                if !stored {
                    // Logged out while the refresh was under way.
                    return Err(ApiError::Unauthorized(SESSION_ENDED.to_owned()));
                }
                self.record(
                    meta,
                    EventType::SessionRefresh,
                    Outcome::Success,
                    who,
                    &[],
                    "refresh",
                )
                .await;
                Ok(tokens.access_token)
            }
            Err(error) if error.is_invalid_grant() => {
                let action = if error.reports_reuse() {
                    let ended = store::delete_by_subject(&self.db, &session.subject).await?;
                    tracing::warn!(
                        subject = session.subject,
                        sessions = ended,
                        error = %error,
                        "the identity provider reports a reused refresh token: every session of the user ended"
                    );
                    "refresh_token_reused"
                } else {
                    store::delete(&self.db, &session.id_hash).await?;
                    tracing::info!(error = %error, "the identity provider refused a refresh token: the session ended");
                    "refresh_token_refused"
                };
                self.record(
                    meta,
                    EventType::SessionRefresh,
                    Outcome::Failure,
                    who,
                    &[],
                    action,
                )
                .await;
                Err(ApiError::Unauthorized(SESSION_ENDED.to_owned()))
            }
            Err(error) => {
                self.record(
                    meta,
                    EventType::SessionRefresh,
                    Outcome::Failure,
                    who,
                    &[],
                    "provider_unavailable",
                )
                .await;
                usable_until_expiry(&session, now, &ErrorChain(&error).to_string())
            }
        }
    }

    /// The principal of a request carrying a session cookie, `None` when it
    /// carries none. Called by `access::authenticate` when there is no bearer
    /// token.
    ///
    /// An unknown or ended session is a 401 (an ended one is deleted); a
    /// cookie-authenticated change failing the CSRF check is a 403.
    pub async fn principal(
        &self,
        method: &Method,
        headers: &HeaderMap,
        meta: &RequestMeta,
    ) -> Result<Option<Principal>, ApiError> {
        let Some(id) = self.session_id(headers) else {
            return Ok(None);
        };
        let id_hash = cookies::hash(id);
        let Some(session) = store::find(&self.db, &id_hash).await? else {
            return Err(ApiError::Unauthorized(SESSION_ENDED.to_owned()));
        };
        let now = Utc::now();
        if self.has_ended(&session, now) {
            store::delete(&self.db, &id_hash).await?;
            tracing::debug!("a request came with an ended session");
            return Err(ApiError::Unauthorized(SESSION_ENDED.to_owned()));
        }
        if let Err(reason) = self.check_csrf(method, headers, &session) {
            tracing::warn!(reason, subject = session.subject, "CSRF check failed");
            self.record(
                meta,
                EventType::CsrfRejected,
                Outcome::Denied,
                Some(&session.subject),
                &[],
                reason,
            )
            .await;
            return Err(ApiError::Forbidden(
                "a change made with the session cookie needs the X-CSRF-Token header and must come from this site"
                    .to_owned(),
            ));
        }
        let last_seen_at = session.last_seen_at;
        let access_token = self.fresh_access_token(meta, session).await?;
        let principal = self
            .verifier
            .verify(&access_token)
            .await
            .map_err(|rejection| match rejection {
                Rejection::KeysUnavailable => ApiError::ServiceUnavailable(
                    "the identity provider cannot be reached yet, try again shortly".to_owned(),
                ),
                other => {
                    tracing::info!(reason = %other, "a session's access token does not verify");
                    ApiError::Unauthorized(SESSION_ENDED.to_owned())
                }
            })?;
        if (now - last_seen_at)
            .to_std()
            .is_ok_and(|elapsed| elapsed >= self.touch_interval())
        {
            store::touch(&self.db, &id_hash, now).await?;
        }
        Ok(Some(principal))
    }

    /// Removes ended sessions every few minutes, so the table does not grow
    /// with sessions nobody comes back to. The task ends with the pool.
    pub fn spawn_purge(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let pool = self.db.clone();
        let idle_timeout = self.settings.idle_timeout;
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(PURGE_INTERVAL);
            loop {
                interval.tick().await;
                if pool.sql().is_closed() {
                    return;
                }
                let now = Utc::now();
                match store::purge_ended(&pool, now, now - idle_timeout).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::debug!(purged, "removed ended sessions"),
                    Err(error) => {
                        tracing::warn!(error = %ErrorChain(&error), "cannot remove ended sessions")
                    }
                }
            }
        })
    }
}

/// When a refresh cannot happen now: the current access token serves until
/// it actually expires, then 503.
fn usable_until_expiry(
    session: &Session,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<String, ApiError> {
    if session.access_expires_at > now {
        tracing::warn!(
            reason,
            "cannot refresh a session's access token yet; using the current one"
        );
        Ok(session.access_token.clone())
    } else {
        Err(ApiError::ServiceUnavailable(
            "the identity provider cannot be reached to renew the session, try again shortly"
                .to_owned(),
        ))
    }
}

/// When a freshly issued access token expires: `expires_in` when the
/// provider says, else the token's own `exp`.
pub fn access_expiry(tokens: &IssuedTokens, now: DateTime<Utc>) -> DateTime<Utc> {
    let lifetime = tokens
        .expires_in
        .or_else(|| unverified_lifetime(&tokens.access_token, now))
        .unwrap_or(FALLBACK_ACCESS_LIFETIME);
    now + lifetime
}

/// The time left until the `exp` of a JWT, read without verifying it: only
/// to schedule the refresh. The token is verified before every use.
fn unverified_lifetime(token: &str, now: DateTime<Utc>) -> Option<Duration> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    u64::try_from(exp - now.timestamp())
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(expires_in: Option<u64>, access_token: &str) -> IssuedTokens {
        IssuedTokens {
            access_token: access_token.to_owned(),
            refresh_token: None,
            id_token: None,
            expires_in: expires_in.map(Duration::from_secs),
        }
    }

    #[test]
    fn the_access_expiry_comes_from_expires_in_or_else_the_tokens_exp() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(
            access_expiry(&tokens(Some(300), "x"), now).timestamp(),
            1_000_300
        );
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1000120}"#);
        let jwt = format!("h.{payload}.s");
        assert_eq!(
            access_expiry(&tokens(None, &jwt), now).timestamp(),
            1_000_120
        );
        assert_eq!(
            access_expiry(&tokens(None, "opaque"), now).timestamp(),
            1_000_060
        );
    }
}
