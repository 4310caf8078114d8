//! Errors meant for the person at the terminal. Anything else is reported as
//! an unexpected failure with its cause chain.

use std::fmt;

/// An error whose message is written for the user: it names the problem,
/// may show the offending input (`detail`) and says how to fix it (`help`).
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub detail: Option<String>,
    pub help: Vec<String>,
    /// A usage error (bad arguments) exits with 2, anything else with 1.
    pub usage: bool,
}

impl UserError {
    /// The command line asked for something impossible: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            detail: None,
            help: Vec::new(),
            usage: true,
        }
    }

    /// The command could not do its job: exit code 1.
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            usage: false,
            ..Self::usage(message)
        }
    }

    /// The same error, classified as a usage error (exit 2). For commands
    /// whose exit code 1 means something else: `audit-config` exits 1 for
    /// findings, so a project it cannot read is a usage error.
    #[must_use]
    pub fn into_usage(mut self) -> Self {
        self.usage = true;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}
