//! The database (SQLite): connection pool, embedded migrations and a readiness check.
//!
//! Everything database-specific lives here and in `config/database.rs`
//! (`DatabaseSettings::connect_options`); the rest of the code uses [`Pool`].

use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::config::{ConfigError, DatabaseSettings};

mod pool;

pub use pool::Pool;

/// The sqlx pool of this database.
pub type SqlPool = sqlx::SqlitePool;
/// A row of a query result of this database.
pub type SqlRow = sqlx::sqlite::SqliteRow;

/// A transaction of this database.
pub type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// The SQL files in `migrations/sqlite/`, compiled into the binary so a
/// deployment is a single file. `build.rs` makes cargo rebuild when a migration
/// is added.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a request waits for a free connection before giving up with an error
/// (instead of hanging while the database is unavailable).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a write waits for another connection's write to finish (SQLite
/// has one writer at a time) before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the database directory `{path}`")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply the database migrations")]
    Migrate(#[from] MigrateError),
}

/// Opens the pool. For SQLite the directory of the database file is created
/// first: SQLite creates the file (`mode=rwc`) but not missing directories.
///
/// Tuned for a server: in WAL mode readers never wait for the writer (nor it
/// for them), and `synchronous=NORMAL` syncs at checkpoints instead of at
/// every commit, which WAL makes safe (a power cut may lose the last
/// commits, never corrupt the file). SQLite runs each query on the thread of
/// its connection, so the pool has one connection per core for readers plus
/// one for the writer: more would only queue on the same cores.
pub async fn connect(settings: &DatabaseSettings) -> Result<Pool, DbError> {
    let options = settings
        .connect_options()?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT);

    let path = options.get_filename();
    // In-memory databases have no directory; `data/app.db` has `data`.
    if !path.as_os_str().is_empty()
        && !path.to_string_lossy().starts_with("file:")
        && let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }

    let readers = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    let sql = SqlitePoolOptions::new()
        .max_connections(u32::try_from(readers + 1).unwrap_or(u32::MAX))
        // No `ping` before each use: an SQLite connection lives in this
        // process and cannot be dropped by a server or the network, and each
        // ping is a round trip to the connection's thread (a third of a list
        // request's). sqlx still checks a connection when it comes back.
        .test_before_acquire(false)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(DbError::Connect)?;
    Ok(Pool::new(sql, settings))
}

/// A pool that connects on first use, for unit tests that need no tables: an
/// in-memory database.
#[cfg(test)]
fn lazy_for_tests() -> SqlPool {
    SqlPool::connect_lazy("sqlite::memory:").expect("a valid test database URL")
}

/// Starts a transaction that writes. `BEGIN IMMEDIATE` takes SQLite's write
/// lock now rather than at the first write, so a transaction that reads
/// before it writes (the audit chain reads its last row) never sees a row
/// another writer is about to replace, and never fails half-way to upgrade
/// its lock.
pub async fn begin_write(pool: &Pool) -> Result<Tx, sqlx::Error> {
    pool.sql().begin_with("BEGIN IMMEDIATE").await
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
