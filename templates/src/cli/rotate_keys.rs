//! `rotate-keys`: re-encrypts every encrypted value with the active key.

use std::process::ExitCode;

use super::database;
use crate::db::Pool;
use crate::error::ErrorChain;
use crate::resources;

/// Re-encrypts `batch_size` values per transaction until every value uses
/// the active key (the first of DATA_ENCRYPTION_KEYS).
pub fn run(batch_size: i64) -> ExitCode {
    database::with_pool(async |pool| rotate(pool, batch_size).await)
}

async fn rotate(pool: &Pool, batch_size: i64) -> ExitCode {
    let active = pool.keys().active_id().to_owned();
    let mut total = 0;
    loop {
        // One batch over every resource's encrypted fields.
        match resources::rotate_batch(pool, batch_size).await {
            Ok(batch) => {
                total += batch.reencrypted;
                println!(
                    "re-encrypted {} values with key `{active}` ({} left)",
                    batch.reencrypted, batch.remaining
                );
                if batch.remaining == 0 {
                    println!("done: {total} values re-encrypted; every value uses key `{active}`");
                    return ExitCode::SUCCESS;
                }
                if batch.reencrypted == 0 {
                    eprintln!(
                        "error: {} values changed while being re-encrypted (is a service still writing with an old key first?); run the command again",
                        batch.remaining
                    );
                    return ExitCode::FAILURE;
                }
            }
            Err(error) => {
                eprintln!(
                    "error: {} (after {total} values; run again once fixed, it resumes)",
                    ErrorChain(error.as_ref())
                );
                return ExitCode::FAILURE;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::Command;
    use crate::cli::tests::parse;

    #[test]
    fn rotate_keys_takes_a_bounded_batch_size() {
        assert_eq!(
            parse(&["rotate-keys"]).unwrap(),
            Some(Command::RotateKeys { batch_size: 500 })
        );
        assert_eq!(
            parse(&["rotate-keys", "--batch-size", "10"]).unwrap(),
            Some(Command::RotateKeys { batch_size: 10 })
        );
        assert!(parse(&["rotate-keys", "--batch-size", "0"]).is_err());
    }
}
