//! The database (PostgreSQL): connection pool, embedded migrations and a readiness check.
//!
//! Everything database-specific lives here and in `config/database.rs`
//! (`DatabaseSettings::connect_options`); the rest of the code uses [`Pool`].

use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgPoolOptions;

use crate::config::{ConfigError, DatabaseSettings};

mod pool;

pub use pool::Pool;

/// The sqlx pool of this database.
pub type SqlPool = sqlx::PgPool;

/// A transaction of this database.
pub type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// The SQL files in `migrations/postgres/`, compiled into the binary so a
/// deployment is a single file. `build.rs` makes cargo rebuild when a migration
/// is added.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a request waits for a free connection before giving up with an error
/// (instead of hanging while the database is unavailable).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply the database migrations")]
    Migrate(#[from] MigrateError),
}

/// Opens the pool. Nothing is created: the database and its roles exist
/// already (see README.md, "Database roles").
pub async fn connect(settings: &DatabaseSettings) -> Result<Pool, DbError> {
    let options = settings.connect_options()?;
    let sql = PgPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(DbError::Connect)?;
    Ok(Pool::new(sql, settings))
}

/// A pool that connects on first use, for unit tests that need no tables: the
/// server of `TEST_DATABASE_URL` (default
/// `postgres://postgres@127.0.0.1:5432/postgres`), never written to.
#[cfg(test)]
fn lazy_for_tests() -> SqlPool {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    SqlPool::connect_lazy(&url).expect("a valid test database URL")
}

/// Starts a transaction that writes. (SQLite needs a special `BEGIN`; on
/// PostgreSQL this is a plain one: writers serialise on row and advisory locks.)
pub async fn begin_write(pool: &Pool) -> Result<Tx, sqlx::Error> {
    pool.sql().begin().await
}

/// Applies the embedded migrations that have not run yet.
pub async fn migrate(pool: &Pool) -> Result<(), DbError> {
    MIGRATOR.run(pool.sql()).await?;
    Ok(())
}

/// Checks that the database answers a trivial query; used by `/health/ready`.
pub async fn ping(pool: &Pool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool.sql()).await?;
    Ok(())
}
