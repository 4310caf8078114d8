//! Integration tests: each test starts a test identity provider (`idp`) and the
//! real application on random ports, with its own SQLite database, and talks to
//! it over HTTP with tokens the test IdP signs.
//!
//! Set `TEST_LOG=1` to see the application's logs (`cargo test -- --nocapture`).

mod auth;
mod health;
mod helpers;
mod idp;
mod items;
mod rbac;
mod security;
