//! What the maintenance jobs share: they read only the database settings
//! and run to completion on a small runtime of their own.

use std::process::ExitCode;

use crate::config::DatabaseSettings;
use crate::db::{self, Pool};
use crate::error::ErrorChain;

/// Connects to `DATABASE_URL`, runs `job` with the pool and closes it: the
/// exit status is the job's, or 1 when the database cannot be reached.
pub fn with_pool(job: impl AsyncFnOnce(&Pool) -> ExitCode) -> ExitCode {
    let settings = match DatabaseSettings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let pool = match db::connect(&settings).await {
            Ok(pool) => pool,
            Err(error) => {
                eprintln!("error: {}", ErrorChain(&error));
                return ExitCode::FAILURE;
            }
        };
        let code = job(&pool).await;
        pool.close().await;
        code
    })
}
