//! nestflux: scaffold secured Rust web services.
//!
//! Data flows one way: flags / prompts / preset → [`answers::Answers`] →
//! [`render`] (in memory) → [`write`] (staged, atomic).

pub mod answers;
pub mod cli;
pub mod commands;
pub mod error;
pub mod manifest;
pub mod prompt;
pub mod render;
pub mod secrets;
pub mod ui;
pub mod write;
