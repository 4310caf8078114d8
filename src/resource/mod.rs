//! `nestflux add resource`: a project's own resources, each generated with
//! every control `items` has (permissions, ownership, validation, audit,
//! pagination, tests).
//!
//! - [`spec`]: what a resource is, and the one table of types;
//! - [`parse`]: the grammar of a field and the naming rules;
//! - [`pattern`]: `pattern=` rules, checked and given test values.
//!
//! A project's resources are recorded in `nestflux.toml` (`[[resources]]`,
//! read by [`crate::project::file`]) and rendered with the rest of the
//! project by [`crate::render`], so `nestflux upgrade` renders them again.

pub mod context;
pub mod openapi;
pub mod parse;
pub mod pattern;
pub mod spec;

pub use parse::{FieldError, check_resource_name, parse_field};
pub use spec::{Field, FieldType, Resource};
