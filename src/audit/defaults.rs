//! The `[audit] allow` entries `nestflux new` writes, so that the audit of a
//! fresh project is clean and each accepted risk stays visible and
//! reviewable in its `nestflux.toml`:
//! - one entry for each feature turned off (turning the feature on makes
//!   its entry stale; removing the entry makes the audit report it again);
//! - for Keycloak and Authentik, the local identity provider's random
//!   credentials in `deploy/`, which exist only for `docker compose` on a
//!   developer's machine.

use super::rules;
use crate::answers::{Answers, Feature, Idp};
use crate::project::file::{AllowGroup, NewAllowEntry};

/// The reason `nestflux new` gives for the suppressions it writes for the
/// features turned off.
pub const TURNED_OFF_REASON: &str = "turned off at `nestflux new`";

/// The reason `nestflux new` gives for accepting the credentials of the local
/// identity provider in `deploy/`.
pub const LOCAL_IDP_REASON: &str =
    "random per project, for the docker compose IdP on a developer machine only";

/// The entries for a new project made of `answers`, in groups.
pub fn allow_groups(answers: &Answers) -> Vec<AllowGroup> {
    // Only the features whose absence is a finding (not `redis`, `tls`, ...).
    let off = Feature::ALL
        .into_iter()
        .filter(|f| !answers.features.contains(*f))
        .filter_map(|f| {
            rules::feature_off(f).map(|rule| NewAllowEntry {
                rule: rule.id,
                path: None,
                reason: TURNED_OFF_REASON,
                comment: Some(f.key()),
            })
        })
        .collect();
    let mut groups = vec![AllowGroup {
        comment: "Features turned off at `nestflux new` (remove an entry once its feature is on):",
        entries: off,
    }];
    if matches!(answers.idp, Idp::Keycloak | Idp::Authentik) {
        groups.push(AllowGroup {
            comment: "The local identity provider's client secret and test-user passwords:",
            entries: vec![NewAllowEntry {
                rule: rules::secret_value_rule().id,
                path: Some("deploy/**"),
                reason: LOCAL_IDP_REASON,
                comment: None,
            }],
        });
    }
    groups
}

/// The `nestflux.toml` that `nestflux new` writes for `answers`.
pub fn project_file(answers: &Answers) -> String {
    crate::project::file::render(answers, &allow_groups(answers))
}
