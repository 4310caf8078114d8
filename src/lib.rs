//! nestflux: scaffold secured Rust web services.
//!
//! Data flows one way: flags / prompts / preset → [`answers::Answers`] →
//! [`render`] (in memory) → [`write`] (staged, atomic). `add` and
//! `audit-config` start from a project on disk: [`project::locate`] →
//! `nestflux.toml` ([`project::file`]) → edit ([`rbac`], [`idp_files`]) or
//! check ([`audit`]). `dev` runs one with a development identity provider
//! ([`dev`]).
//!
//! Modules depend downwards only: `answers`, `diagnostics` and `error` at the
//! bottom; then the formats of a project's files (`project::file`,
//! `project::env`, `rbac`, `idp_files`); then `audit`; then `render`, `dev`
//! and the `commands`.

pub mod answers;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod deploy;
pub mod dev;
pub mod diagnostics;
pub mod error;
pub mod idp_files;
pub mod kubernetes;
pub mod manifest;
pub mod project;
pub mod prompt;
pub mod rbac;
pub mod render;
pub mod resource;
pub mod secrets;
pub mod ui;
pub mod upgrade;
pub mod write;

/// The version of nestflux, recorded in the files it writes and named in
/// messages.
pub const NESTFLUX_VERSION: &str = env!("CARGO_PKG_VERSION");
