//! Data access. Handlers never write SQL; they call these functions.
//!
//! Every query is a static string with `$1, $2, ...` placeholders and values
//! passed through `.bind()`: parameterized on purpose, so input can never change
//! the meaning of a statement (SQL injection). Never build SQL with `format!`.
//! `$N` placeholders work unchanged on SQLite and PostgreSQL.

pub mod items;
