//! Storage of browser sessions (feature `session`): the single place that
//! reads and writes the `sessions` table.
//!
//! A session is found by the SHA-256 of its cookie value (`id_hash`); the
//! cookie value itself is never stored. The identity provider's tokens are
//! encrypted like `items.notes` (see `crate::crypto`), each bound to its
//! column and row as associated data, so a token copied to another session
//! does not decrypt.

use aws_lc_rs::digest::{SHA256, digest};
use chrono::{DateTime, Utc};

use crate::crypto::{CryptoError, Keyring};
use crate::db::Pool;
use crate::error::ApiError;

use super::stored;

/// Why a session could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum SessionStoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored token does not decrypt: altered, copied from another row, or
    /// sealed with a key no longer in `DATA_ENCRYPTION_KEYS`.
    #[error("the `{column}` of a session cannot be read")]
    Token {
        column: &'static str,
        #[source]
        source: CryptoError,
    },
}

/// A server-side fault: an opaque 500 for the caller, the cause in the log.
impl From<SessionStoreError> for ApiError {
    fn from(error: SessionStoreError) -> Self {
        Self::internal(error)
    }
}

pub type Result<T, E = SessionStoreError> = std::result::Result<T, E>;

/// A session as the rest of the service sees it: tokens in plaintext.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: Vec<u8>,
    pub subject: String,
    /// The provider's `sid`, when its ID token had one.
    pub idp_session_id: Option<String>,
    pub csrf_hash: Vec<u8>,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Tokens are credentials: they never reach a log line through `Debug`.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("subject", &self.subject)
            .field("idp_session_id", &self.idp_session_id)
            .field("access_expires_at", &self.access_expires_at)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Tokens freshly issued by the provider, as stored after a refresh.
pub struct Tokens<'a> {
    pub access_token: &'a str,
    /// `None` keeps the stored refresh token (the provider did not rotate it).
    pub refresh_token: Option<&'a str>,
    /// `None` keeps the stored ID token.
    pub id_token: Option<&'a str>,
    pub access_expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: Vec<u8>,
    subject: String,
    idp_session_id: Option<String>,
    csrf_hash: Vec<u8>,
    access_token: Vec<u8>,
    access_token_key_id: String,
    refresh_token: Option<Vec<u8>>,
    refresh_token_key_id: Option<String>,
    id_token: Vec<u8>,
    id_token_key_id: String,
    access_expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// The associated data of a token: table, column and row.
fn context(column: &str, id_hash: &[u8]) -> Vec<u8> {
    [b"sessions.", column.as_bytes(), b":", id_hash].concat()
}

fn seal(
    keys: &Keyring,
    column: &'static str,
    id_hash: &[u8],
    token: &str,
) -> Result<(Vec<u8>, String)> {
    let sealed = keys
        .seal(token, &context(column, id_hash))
        .map_err(|source| SessionStoreError::Token { column, source })?;
    Ok((sealed.bytes, sealed.key_id))
}

fn open(
    keys: &Keyring,
    column: &'static str,
    id_hash: &[u8],
    key_id: &str,
    bytes: &[u8],
) -> Result<String> {
    keys.open(key_id, bytes, &context(column, id_hash))
        .map_err(|source| SessionStoreError::Token { column, source })
}

impl SessionRow {
    fn decrypt(self, keys: &Keyring) -> Result<Session> {
        let id = self.id_hash.as_slice();
        let access_token = open(
            keys,
            "access_token",
            id,
            &self.access_token_key_id,
            &self.access_token,
        )?;
        let refresh_token = match (&self.refresh_token, &self.refresh_token_key_id) {
            (Some(bytes), Some(key_id)) => Some(open(keys, "refresh_token", id, key_id, bytes)?),
            (None, None) => None,
            // The table's CHECK rules this out; never guess.
            _ => {
                return Err(SessionStoreError::Token {
                    column: "refresh_token",
                    source: CryptoError::Malformed,
                });
            }
        };
        let id_token = open(keys, "id_token", id, &self.id_token_key_id, &self.id_token)?;
        Ok(Session {
            access_token,
            refresh_token,
            id_token,
            id_hash: self.id_hash,
            subject: self.subject,
            idp_session_id: self.idp_session_id,
            csrf_hash: self.csrf_hash,
            access_expires_at: self.access_expires_at,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
        })
    }
}

/// Stores a new session.
pub async fn insert(pool: &Pool, session: &Session) -> Result<()> {
    let keys = pool.keys();
    let id = session.id_hash.as_slice();
    let (access_token, access_key) = seal(keys, "access_token", id, &session.access_token)?;
    let refresh = session
        .refresh_token
        .as_deref()
        .map(|token| seal(keys, "refresh_token", id, token))
        .transpose()?;
    let (refresh_token, refresh_key) = refresh.unzip();
    let (id_token, id_token_key) = seal(keys, "id_token", id, &session.id_token)?;
    sqlx::query(
        "INSERT INTO sessions (id_hash, subject, idp_session_id, csrf_hash, \
         access_token, access_token_key_id, refresh_token, refresh_token_key_id, \
         id_token, id_token_key_id, access_expires_at, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id)
    .bind(&session.subject)
    .bind(&session.idp_session_id)
    .bind(&session.csrf_hash)
    .bind(access_token)
    .bind(access_key)
    .bind(refresh_token)
    .bind(refresh_key)
    .bind(id_token)
    .bind(id_token_key)
    .bind(stored(session.access_expires_at))
    .bind(stored(session.created_at))
    .bind(stored(session.last_seen_at))
    .bind(stored(session.expires_at))
    .execute(pool.sql())
    .await?;
    Ok(())
}

/// The session whose cookie hashes to `id_hash`, ended or not.
pub async fn find(pool: &Pool, id_hash: &[u8]) -> Result<Option<Session>> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT id_hash, subject, idp_session_id, csrf_hash, access_token, access_token_key_id, \
         refresh_token, refresh_token_key_id, id_token, id_token_key_id, access_expires_at, \
         created_at, last_seen_at, expires_at FROM sessions WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(pool.sql())
    .await?;
    row.map(|row| row.decrypt(pool.keys())).transpose()
}

/// Records activity: the idle timeout counts from `now`.
pub async fn touch(pool: &Pool, id_hash: &[u8], now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
        .bind(id_hash)
        .bind(stored(now))
        .execute(pool.sql())
        .await?;
    Ok(())
}

/// Stores the tokens of a refresh. False when the session is gone.
pub async fn update_tokens(pool: &Pool, id_hash: &[u8], tokens: &Tokens<'_>) -> Result<bool> {
    let keys = pool.keys();
    let (access_token, access_key) = seal(keys, "access_token", id_hash, tokens.access_token)?;
    let (refresh_token, refresh_key) = tokens
        .refresh_token
        .map(|token| seal(keys, "refresh_token", id_hash, token))
        .transpose()?
        .unzip();
    let (id_token, id_token_key) = tokens
        .id_token
        .map(|token| seal(keys, "id_token", id_hash, token))
        .transpose()?
        .unzip();
    // COALESCE keeps a stored token the provider did not replace.
    let result = sqlx::query(
        "UPDATE sessions SET access_token = $2, access_token_key_id = $3, \
         refresh_token = COALESCE($4, refresh_token), \
         refresh_token_key_id = COALESCE($5, refresh_token_key_id), \
         id_token = COALESCE($6, id_token), id_token_key_id = COALESCE($7, id_token_key_id), \
         access_expires_at = $8 WHERE id_hash = $1",
    )
    .bind(id_hash)
    .bind(access_token)
    .bind(access_key)
    .bind(refresh_token)
    .bind(refresh_key)
    .bind(id_token)
    .bind(id_token_key)
    .bind(stored(tokens.access_expires_at))
    .execute(pool.sql())
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Ends one session. False when it did not exist.
pub async fn delete(pool: &Pool, id_hash: &[u8]) -> Result<bool> {
    let result = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool.sql())
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Ends every session of `subject`; returns how many there were.
pub async fn delete_by_subject(pool: &Pool, subject: &str) -> Result<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE subject = $1")
        .bind(subject)
        .execute(pool.sql())
        .await?;
    Ok(result.rows_affected())
}

/// Ends every session the provider knows as `sid` (of `subject`, when the
/// logout names one too); returns how many there were.
pub async fn delete_by_idp_session(pool: &Pool, sid: &str, subject: Option<&str>) -> Result<u64> {
    let result = sqlx::query(
        "DELETE FROM sessions WHERE idp_session_id = $1 AND ($2 IS NULL OR subject = $2)",
    )
    .bind(sid)
    .bind(subject)
    .execute(pool.sql())
    .await?;
    Ok(result.rows_affected())
}

/// Remembers that the back-channel logout token `jti` has been used, until
/// `valid_until` (after which it is refused as expired anyway). `false` when
/// it was used before: a replay. Only the SHA-256 of the id is stored.
pub async fn use_logout_token(pool: &Pool, jti: &str, valid_until: DateTime<Utc>) -> Result<bool> {
    let jti_hash = digest(&SHA256, jti.as_bytes());
    let result = sqlx::query(
        "INSERT INTO used_logout_tokens (jti_hash, expires_at) VALUES ($1, $2)
         ON CONFLICT (jti_hash) DO NOTHING",
    )
    .bind(jti_hash.as_ref())
    .bind(stored(valid_until))
    .execute(pool.sql())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Removes the sessions that have ended: past their absolute timeout, or
/// idle since before `idle_since`, and the used logout tokens that have
/// expired. Returns how many sessions.
pub async fn purge_ended(
    pool: &Pool,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> Result<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(stored(now))
        .bind(stored(idle_since))
        .execute(pool.sql())
        .await?;
    sqlx::query("DELETE FROM used_logout_tokens WHERE expires_at <= $1")
        .bind(stored(now))
        .execute(pool.sql())
        .await?;
    Ok(result.rows_affected())
}
