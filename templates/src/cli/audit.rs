//! `audit verify`: checks the hash chain of the audit log.

use std::process::ExitCode;

use clap::Subcommand;

use super::database;
use crate::audit::chain::{self, Verdict};
use crate::db::Pool;
use crate::error::ErrorChain;

#[derive(Debug, PartialEq, Eq, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain of the audit_events table and report the first
    /// broken link (exit status 1), or the number of events and the hash of the
    /// last one (compare it with the last `audit` log line).
    Verify,
}

/// Runs an `audit` command.
pub fn run(command: AuditCommand) -> ExitCode {
    match command {
        AuditCommand::Verify => database::with_pool(async |pool| verify(pool).await),
    }
}

async fn verify(pool: &Pool) -> ExitCode {
    match chain::verify(pool).await {
        Ok(Verdict::Intact { events, head }) => {
            let head = head.map_or_else(|| "none".to_owned(), |hash| chain::hex(&hash));
            println!("audit log intact: {events} events, last hash {head}");
            ExitCode::SUCCESS
        }
        Ok(Verdict::Broken { id, reason }) => {
            println!("audit log broken at row {id}: {reason}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: cannot read the audit log: {}", ErrorChain(&error));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AuditCommand;
    use crate::cli::Command;
    use crate::cli::tests::parse;

    #[test]
    fn audit_verify_is_a_command() {
        assert_eq!(
            parse(&["audit", "verify"]).unwrap(),
            Some(Command::Audit {
                command: AuditCommand::Verify
            })
        );
        assert!(parse(&["audit"]).is_err());
    }
}
