//! The handle to the data store that the rest of the service passes around:
//! the connection pool and the keys the encrypted columns are sealed with,
//! together, so that code which can reach the rows can also read them (only
//! `repo` does).

use super::SqlPool;
use crate::config::DatabaseSettings;
use crate::crypto::Keyring;

/// The connection pool and the data-encryption keys. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Pool {
    sql: SqlPool,
    keys: Keyring,
}

impl Pool {
    pub(super) fn new(sql: SqlPool, settings: &DatabaseSettings) -> Self {
        Self {
            sql,
            keys: settings.encryption_keys.clone(),
        }
    }

    /// The sqlx pool, for queries (`repo` and `db` only).
    pub fn sql(&self) -> &SqlPool {
        &self.sql
    }

    /// The data-encryption keys (`repo` only).
    pub fn keys(&self) -> &Keyring {
        &self.keys
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
            keys: Keyring::parse("test:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
                .expect("a valid test key"),
        }
    }
}
