//! Storage of items. The single place that reads and writes the `items` table,
//! so a change to how a column is stored happens here and nowhere else: see
//! [`ItemRow`] and the `bind` calls for `notes`.
//!
//! `notes` is encrypted (feature `encryption`, see `crate::crypto`): the column
//! holds nonce, ciphertext and tag, `notes_key_id` the key it was sealed with,
//! and the row id is bound as associated data, so a value copied to another row
//! does not decrypt. Handlers only ever see plaintext [`Item`]s.
//!
//! A stored `notes` that does not open (altered in the database, copied from
//! another row, or sealed with a key no longer configured) does not fail the
//! read: that one item is served with `notes` withheld and marked
//! `notes_unreadable`, and the failure is logged with the row and the cause
//! (and recorded in the audit log by the handler). A list stays readable for
//! everyone else, and the caller can tell a withheld value from an empty one.
//!
//! Each change is one transaction, with its record in the request's
//! [`Journal`] (the audit log, when there is one): both commit, or neither.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row as _;
use uuid::Uuid;

use crate::crypto::{CryptoError, Keyring, Rotated};
use crate::db::{self, Pool, SqlRow};
use crate::error::{ApiError, ErrorChain};
use crate::journal::Journal;

use super::now;

/// An item as the rest of the service sees it (and as the API returns it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Item {
    pub id: Uuid,
    pub name: String,
    pub notes: Option<String>,
    /// The subject of the principal that created the item.
    pub owner: String,
    #[serde(serialize_with = "super::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// The stored `notes` could not be opened: `notes` is `null` because it is
    /// withheld, not because there are none. In responses only when `true`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub notes_unreadable: bool,
}

impl Item {
    /// Whether a stored value of the item could not be read back.
    pub fn unreadable(&self) -> bool {
        self.notes_unreadable
    }
}

/// What the journal calls an item.
fn resource(id: Uuid) -> String {
    format!("items/{id}")
}

/// The fields a caller may set, already validated.
#[derive(Debug, Clone)]
pub struct ItemFields<'a> {
    pub name: &'a str,
    pub notes: Option<&'a str>,
}

/// Why an item could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored `notes` does not decrypt: altered, copied from another row, or
    /// sealed with a key no longer in `DATA_ENCRYPTION_KEYS`.
    #[error("the notes of item {id} cannot be read")]
    Notes {
        id: Uuid,
        #[source]
        source: CryptoError,
    },
}

/// An unreadable row is a server-side fault: an opaque 500 for the caller, the
/// cause (which row, which key, tampered or unknown key) in the log.
impl From<ItemError> for ApiError {
    fn from(error: ItemError) -> Self {
        Self::internal(error)
    }
}

pub type Result<T, E = ItemError> = std::result::Result<T, E>;

/// The associated data of an item's `notes`: table, column and row id, so that
/// the ciphertext is only valid in that place.
fn notes_context(id: Uuid) -> Vec<u8> {
    let mut context = b"items.notes:".to_vec();
    context.extend_from_slice(id.as_bytes());
    context
}

/// A row as stored: `notes` sealed (see the module documentation). Every
/// query selects its columns in this order (see its `FromRow`).
struct ItemRow {
    id: Uuid,
    name: String,
    notes: Option<Vec<u8>>,
    notes_key_id: Option<String>,
    owner: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// By position, in the order of the fields: a list of 20 rows would look up
/// each of their columns by name otherwise.
impl sqlx::FromRow<'_, SqlRow> for ItemRow {
    fn from_row(row: &SqlRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            notes: row.try_get(2)?,
            notes_key_id: row.try_get(3)?,
            owner: row.try_get(4)?,
            created_at: row.try_get(5)?,
            updated_at: row.try_get(6)?,
        })
    }
}

impl ItemRow {
    /// The item, `notes` opened; or withheld and marked when it does not open
    /// (see the module documentation), which is logged here as an error.
    fn open(self, keys: &Keyring) -> Item {
        let (notes, notes_unreadable) = match self.open_notes(keys) {
            Ok(notes) => (notes, false),
            Err(error) => {
                tracing::error!(
                    item = %self.id,
                    error = %ErrorChain(&error),
                    "integrity failure: a stored value does not open; the item is served without it"
                );
                (None, true)
            }
        };
        Item {
            id: self.id,
            name: self.name,
            notes,
            owner: self.owner,
            created_at: self.created_at,
            updated_at: self.updated_at,
            notes_unreadable,
        }
    }

    fn open_notes(&self, keys: &Keyring) -> Result<Option<String>> {
        let notes_error = |source| ItemError::Notes {
            id: self.id,
            source,
        };
        match (&self.notes, &self.notes_key_id) {
            (None, None) => Ok(None),
            (Some(bytes), Some(key_id)) => keys
                .open(key_id, bytes, &notes_context(self.id))
                .map(Some)
                .map_err(notes_error),
            // The table's CHECK rules this out; never guess.
            _ => Err(notes_error(CryptoError::Malformed)),
        }
    }
}

/// `notes` sealed for the row `id`: the column value and its key id.
fn seal_notes(
    keys: &Keyring,
    id: Uuid,
    notes: Option<&str>,
) -> Result<(Option<Vec<u8>>, Option<String>)> {
    let Some(notes) = notes else {
        return Ok((None, None));
    };
    let sealed = keys
        .seal(notes, &notes_context(id))
        .map_err(|source| ItemError::Notes { id, source })?;
    Ok((Some(sealed.bytes), Some(sealed.key_id)))
}

pub async fn create(
    pool: &Pool,
    owner: &str,
    fields: ItemFields<'_>,
    journal: &Journal,
) -> Result<Item> {
    let now = now();
    let id = Uuid::new_v4();
    let (notes, notes_key_id) = seal_notes(pool.keys(), id, fields.notes)?;
    let mut tx = db::begin_write(pool).await?;
    let row = sqlx::query_as::<_, ItemRow>(
        "INSERT INTO items (id, name, notes, notes_key_id, owner, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, name, notes, notes_key_id, owner, created_at, updated_at",
    )
    .bind(id)
    .bind(fields.name)
    .bind(notes)
    .bind(notes_key_id)
    .bind(owner)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    journal.record_change(&mut tx, resource(id)).await?;
    tx.commit().await?;
    Ok(row.open(pool.keys()))
}

pub async fn get(pool: &Pool, id: Uuid) -> Result<Option<Item>> {
    let row = stored_row(pool, id).await?;
    Ok(row.map(|row| row.open(pool.keys())))
}

/// The item `id` as stored, its notes still sealed.
async fn stored_row(pool: &Pool, id: Uuid) -> Result<Option<ItemRow>> {
    Ok(sqlx::query_as::<_, ItemRow>(
        "SELECT id, name, notes, notes_key_id, owner, created_at, updated_at
         FROM items WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool.sql())
    .await?)
}

/// The notes of the item `id` (`None` for no such item or no notes), or why
/// they do not open: what [`get`] logs when it withholds them, for tools and
/// tests that need the cause rather than a marked item.
pub async fn read_notes(pool: &Pool, id: Uuid) -> Result<Option<String>> {
    match stored_row(pool, id).await? {
        Some(row) => row.open_notes(pool.keys()),
        None => Ok(None),
    }
}

/// At most `limit` items in creation order (ties broken by id), those after
/// the position `after` (an item's `created_at` and `id`) when given: keyset
/// pagination, served by the `(created_at, id)` index, so a page costs the
/// same wherever it is. Nothing counts the table.
pub async fn list(
    pool: &Pool,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Item>> {
    // `LIMIT $n + 0`, not a bare `$n`: SQLite (built with STAT4) would plan
    // the statement again each time a bare limit is bound, so sqlx's cache of
    // prepared statements would never be used for it.
    let rows = match after {
        None => {
            sqlx::query_as::<_, ItemRow>(
                "SELECT id, name, notes, notes_key_id, owner, created_at, updated_at FROM items
                 ORDER BY created_at, id
                 LIMIT $1 + 0",
            )
            .bind(limit)
            .fetch_all(pool.sql())
            .await?
        }
        Some((created_at, id)) => {
            sqlx::query_as::<_, ItemRow>(
                "SELECT id, name, notes, notes_key_id, owner, created_at, updated_at FROM items
                 WHERE (created_at, id) > ($1, $2)
                 ORDER BY created_at, id
                 LIMIT $3 + 0",
            )
            .bind(created_at)
            .bind(id)
            .bind(limit)
            .fetch_all(pool.sql())
            .await?
        }
    };
    Ok(rows.into_iter().map(|row| row.open(pool.keys())).collect())
}

/// Replaces `name` and `notes`; `None` when there is no such item.
pub async fn update(
    pool: &Pool,
    id: Uuid,
    fields: ItemFields<'_>,
    journal: &Journal,
) -> Result<Option<Item>> {
    let (notes, notes_key_id) = seal_notes(pool.keys(), id, fields.notes)?;
    let mut tx = db::begin_write(pool).await?;
    let row = sqlx::query_as::<_, ItemRow>(
        "UPDATE items SET name = $1, notes = $2, notes_key_id = $3, updated_at = $4
         WHERE id = $5
         RETURNING id, name, notes, notes_key_id, owner, created_at, updated_at",
    )
    .bind(fields.name)
    .bind(notes)
    .bind(notes_key_id)
    .bind(now())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if row.is_some() {
        journal.record_change(&mut tx, resource(id)).await?;
    }
    tx.commit().await?;
    Ok(row.map(|row| row.open(pool.keys())))
}

/// `false` when there was no such item.
pub async fn delete(pool: &Pool, id: Uuid, journal: &Journal) -> Result<bool> {
    let mut tx = db::begin_write(pool).await?;
    let result = sqlx::query("DELETE FROM items WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let deleted = result.rows_affected() > 0;
    if deleted {
        journal.record_change(&mut tx, resource(id)).await?;
    }
    tx.commit().await?;
    Ok(deleted)
}

/// Re-encrypts up to `batch_size` notes that are not under the active key, in
/// one transaction. Call it until `remaining` is 0 (`<binary> rotate-keys`).
///
/// Resumable by construction: progress is the data itself (`notes_key_id`), so
/// an interrupted run loses at most its current batch, which a new run picks
/// up again. A row changed by the service meanwhile is skipped (the `UPDATE`
/// matches the old ciphertext) and, if it still needs it, done by the next batch.
/// A value that does not decrypt stops the rotation with an error naming the row.
pub async fn rotate_batch(pool: &Pool, batch_size: i64) -> Result<Rotated> {
    let keys = pool.keys();
    let active = keys.active_id();
    let mut tx = pool.sql().begin().await?;
    let rows: Vec<(Uuid, Vec<u8>, String)> = sqlx::query_as(
        "SELECT id, notes, notes_key_id FROM items
         WHERE notes_key_id IS NOT NULL AND notes_key_id <> $1
         ORDER BY id
         LIMIT $2",
    )
    .bind(active)
    .bind(batch_size)
    .fetch_all(&mut *tx)
    .await?;

    let mut reencrypted = 0;
    for (id, old_notes, old_key_id) in rows {
        let context = notes_context(id);
        let plaintext = keys
            .open(&old_key_id, &old_notes, &context)
            .map_err(|source| ItemError::Notes { id, source })?;
        let sealed = keys
            .seal(&plaintext, &context)
            .map_err(|source| ItemError::Notes { id, source })?;
        let result = sqlx::query(
            "UPDATE items SET notes = $1, notes_key_id = $2
             WHERE id = $3 AND notes = $4 AND notes_key_id = $5",
        )
        .bind(sealed.bytes)
        .bind(&sealed.key_id)
        .bind(id)
        .bind(&old_notes)
        .bind(&old_key_id)
        .execute(&mut *tx)
        .await?;
        reencrypted += result.rows_affected();
    }
    tx.commit().await?;

    let remaining = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM items WHERE notes_key_id IS NOT NULL AND notes_key_id <> $1",
    )
    .bind(active)
    .fetch_one(pool.sql())
    .await?;
    Ok(Rotated {
        reencrypted,
        remaining,
    })
}
