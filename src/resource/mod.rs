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

use crate::answers::{Answers, Feature};

/// The name of the resource every project starts with.
pub const ITEMS: &str = "items";

/// The fields of `items`, the resource `nestflux new` writes (the example of
/// a resource): rendered by the same templates as the user's own and
/// recorded in `nestflux.toml` like them. Its notes are encrypted with the
/// `encryption` feature.
pub fn items(encryption: bool) -> Resource {
    let notes = if encryption {
        "notes:text?:encrypted:max=2000"
    } else {
        "notes:text?:max=2000"
    };
    Resource {
        name: ITEMS.to_owned(),
        fields: ["name:string:nonblank:min=1:max=200", notes]
            .into_iter()
            .map(|text| parse_field(text).expect("the fields of items parse"))
            .collect(),
        private: false,
        // Before `items` was a resource it was the templates' first migration.
        migration: 1,
    }
}

/// The resources of a new project for `answers`.
pub fn starting_resources(answers: &Answers) -> Vec<Resource> {
    vec![items(answers.features.contains(Feature::Encryption))]
}

/// Whether the project whose `nestflux.toml` is `project_text` was made by
/// a nestflux before 0.4.0, whose templates wrote `items` as code of their
/// own: its `nestflux.toml` does not record it as a resource.
pub fn made_before_items_was_a_resource(project_text: &str) -> bool {
    crate::upgrade::data::recorded_version(project_text)
        .is_none_or(|version| version < semver::Version::new(0, 4, 0))
}
