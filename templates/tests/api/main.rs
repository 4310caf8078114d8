//! Integration tests: each test starts the real application on a random port
//! with its own SQLite database and talks to it over HTTP.
//!
//! Set `TEST_LOG=1` to see the application's logs (`cargo test -- --nocapture`).

mod health;
mod helpers;
mod items;
