//! A fresh, empty database for each test, removed when the test ends (even
//! when it fails), so tests run in parallel and leave nothing behind.

use std::path::PathBuf;

use serde_json::json;
use tempfile::TempDir;

use crate::helpers::spawn_app;

pub struct TestDatabase {
    /// The URL of this test's database, for `DATABASE_URL`.
    pub url: String,
    /// The directory of the database file (and its `-wal` journal).
    pub dir: PathBuf,
    _temp: TempDir,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let temp = tempfile::tempdir().expect("cannot create a temporary directory");
        // A sub-directory that does not exist yet: start-up must create it.
        let dir = temp.path().join("data");
        let url = format!("sqlite://{}?mode=rwc", dir.join("app.db").display());
        Self {
            url,
            dir,
            _temp: temp,
        }
    }
}

/// Rows in the items table of `app`'s database.
async fn items_in(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM items")
        .fetch_one(app.pool().await.sql())
        .await
        .unwrap()
}

#[tokio::test]
async fn each_test_gets_a_fresh_database_that_is_removed_afterwards() {
    let first = spawn_app().await;
    let second = spawn_app().await;
    assert_ne!(first.database.url, second.database.url);
    first.create_item(&json!({ "name": "only here" })).await;
    assert_eq!(items_in(&first).await, 1);
    assert_eq!(items_in(&second).await, 0);

    let dir = first.database.dir.clone();
    assert!(dir.join("app.db").is_file());
    drop(first);
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

/// `.cargo/config.toml` compiles SQLite without its global memory statistics
/// (their mutex is taken by every SQLite allocation). This fails when cargo
/// did not read that file: run from outside the project, or with a
/// LIBSQLITE3_FLAGS of your own, which takes precedence.
#[tokio::test]
async fn sqlite_is_compiled_without_memory_statistics() {
    let app = spawn_app().await;
    let without: bool =
        sqlx::query_scalar("SELECT sqlite_compileoption_used('DEFAULT_MEMSTATUS=0')")
            .fetch_one(app.pool().await.sql())
            .await
            .unwrap();
    assert!(
        without,
        "SQLite was built with memory statistics: .cargo/config.toml's LIBSQLITE3_FLAGS was not applied"
    );
}
