//! nestflux: scaffold secured Rust web services.
//!
//! Data flows one way: flags / prompts / preset → [`answers::Answers`] →
//! [`render`] (in memory) → [`write`] (staged, atomic). `audit-config`
//! reads a project back: `nestflux.toml` → [`audit`] → a report.

pub mod answers;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod error;
pub mod idp_files;
pub mod manifest;
pub mod prompt;
pub mod rbac;
pub mod render;
pub mod secrets;
pub mod ui;
pub mod upgrade;
pub mod write;
