//! A fresh, empty database for each test, removed when the test ends (even
//! when it fails), so tests run in parallel and leave nothing behind.
//!
//! Tests need a PostgreSQL server: `TEST_DATABASE_URL` (or the same variable in
//! `.env`), default `postgres://postgres@127.0.0.1:5432/postgres`. The role must
//! be allowed to create databases; each test creates `test_<uuid>` on that
//! server and drops it when its `TestDatabase` is dropped.

use std::path::Path;

use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use uuid::Uuid;

use crate::helpers::spawn_app;

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDatabase {
    /// The URL of this test's database, for `DATABASE_URL`.
    pub url: String,
    /// The server's maintenance connection, to drop the database.
    server: String,
    name: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let server = server_url();
        let name = format!("test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server)
            .await
            .unwrap_or_else(|error| {
                panic!("cannot reach the test PostgreSQL (set TEST_DATABASE_URL): {error}")
            });
        // A name we generated (hex digits): nothing to escape. Identifiers cannot
        // be bound as parameters.
        sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut admin)
            .await
            .expect("the test role may create databases");
        admin.close().await.ok();

        let mut url = reqwest::Url::parse(&server).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Self {
            url: url.to_string(),
            server,
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs on the test's async runtime, which cannot wait for async work
        // itself: a thread with a runtime of its own does the dropping.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                // FORCE closes the connections the application still holds.
                sqlx::query(AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop the test database {}", self.name);
        }
    }
}

/// `TEST_DATABASE_URL` from the environment, else from `.env`, else the default.
fn server_url() -> String {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        return url;
    }
    let env_file = Path::new(env!("CARGO_MANIFEST_DIR")).join(".env");
    dotenvy::from_path_iter(env_file)
        .ok()
        .and_then(|vars| {
            vars.filter_map(Result::ok)
                .find(|(key, _)| key == "TEST_DATABASE_URL")
                .map(|(_, value)| value)
        })
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
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

    let name = first.database.name.clone();
    drop(first);
    let mut admin = PgConnection::connect(&server_url()).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, 0, "{name} was not dropped");
}
