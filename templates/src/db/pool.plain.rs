//! The handle to the data store that the rest of the service passes around.

use super::SqlPool;
use crate::config::DatabaseSettings;

/// The connection pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Pool {
    sql: SqlPool,
}

impl Pool {
    pub(super) fn new(sql: SqlPool, _settings: &DatabaseSettings) -> Self {
        Self { sql }
    }

    /// The sqlx pool, for queries (`repo` and `db` only).
    pub fn sql(&self) -> &SqlPool {
        &self.sql
    }

    /// Waits for the connections in use to be returned, and closes them all.
    pub async fn close(&self) {
        self.sql.close().await;
    }

    /// A pool that connects on first use, for unit tests that need no tables.
    #[cfg(test)]
    pub fn lazy_for_tests() -> Self {
        Self {
            sql: super::lazy_for_tests(),
        }
    }
}
