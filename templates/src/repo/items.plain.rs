//! Storage of items. The single place that reads and writes the `items` table,
//! so a change to how a column is stored happens here and nowhere else: see
//! [`ItemRow`] and the `bind` calls for `notes`.
//!
//! Each change is one transaction, with its record in the request's
//! [`Journal`] (the audit log, when there is one): both commit, or neither.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row as _;
use uuid::Uuid;

use crate::db::{self, Pool, SqlRow};
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
}

impl Item {
    /// Whether a stored value of the item could not be read back. Never: this
    /// service stores every column as written (no `encryption`).
    pub fn unreadable(&self) -> bool {
        false
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

pub type Result<T, E = sqlx::Error> = std::result::Result<T, E>;

/// A row as stored. Kept separate from [`Item`] so stored representations can
/// differ from the API's (an encrypted `notes` would be decrypted here).
/// Every query selects its columns in this order (see its `FromRow`).
struct ItemRow {
    id: Uuid,
    name: String,
    notes: Option<String>,
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
            owner: row.try_get(3)?,
            created_at: row.try_get(4)?,
            updated_at: row.try_get(5)?,
        })
    }
}

impl From<ItemRow> for Item {
    fn from(row: ItemRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            notes: row.notes,
            owner: row.owner,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub async fn create(
    pool: &Pool,
    owner: &str,
    fields: ItemFields<'_>,
    journal: &Journal,
) -> Result<Item> {
    let now = now();
    let id = Uuid::new_v4();
    let mut tx = db::begin_write(pool).await?;
    let row = sqlx::query_as::<_, ItemRow>(
        "INSERT INTO items (id, name, notes, owner, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, name, notes, owner, created_at, updated_at",
    )
    .bind(id)
    .bind(fields.name)
    .bind(fields.notes)
    .bind(owner)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    journal.record_change(&mut tx, resource(id)).await?;
    tx.commit().await?;
    Ok(row.into())
}

pub async fn get(pool: &Pool, id: Uuid) -> Result<Option<Item>> {
    let row = sqlx::query_as::<_, ItemRow>(
        "SELECT id, name, notes, owner, created_at, updated_at FROM items WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool.sql())
    .await?;
    Ok(row.map(Item::from))
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
                "SELECT id, name, notes, owner, created_at, updated_at FROM items
                 ORDER BY created_at, id
                 LIMIT $1 + 0",
            )
            .bind(limit)
            .fetch_all(pool.sql())
            .await?
        }
        Some((created_at, id)) => {
            sqlx::query_as::<_, ItemRow>(
                "SELECT id, name, notes, owner, created_at, updated_at FROM items
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
    Ok(rows.into_iter().map(Item::from).collect())
}

/// Replaces `name` and `notes`; `None` when there is no such item.
pub async fn update(
    pool: &Pool,
    id: Uuid,
    fields: ItemFields<'_>,
    journal: &Journal,
) -> Result<Option<Item>> {
    let mut tx = db::begin_write(pool).await?;
    let row = sqlx::query_as::<_, ItemRow>(
        "UPDATE items SET name = $1, notes = $2, updated_at = $3
         WHERE id = $4
         RETURNING id, name, notes, owner, created_at, updated_at",
    )
    .bind(fields.name)
    .bind(fields.notes)
    .bind(now())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if row.is_some() {
        journal.record_change(&mut tx, resource(id)).await?;
    }
    tx.commit().await?;
    Ok(row.map(Item::from))
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
