//! Where the roles are in a token of a generic OpenID Connect provider: the
//! claim at a dot path (see `auth::roles`).
//!
//! | variable           | meaning                     | default |
//! | ------------------ | --------------------------- | ------- |
//! | `AUTH_ROLES_CLAIM` | dot path of the roles claim | `roles` |

use super::{ConfigError, Vars};

const DEFAULT_ROLES_CLAIM: &str = "roles";

#[derive(Debug, Clone)]
pub struct RolesSettings {
    /// Dot path of the claim holding the roles, e.g. `roles` or `app.roles`.
    pub claim: String,
}

impl RolesSettings {
    pub fn new(_audience: &str) -> Self {
        Self {
            claim: DEFAULT_ROLES_CLAIM.to_owned(),
        }
    }

    pub(super) fn from_vars<F: Fn(&str) -> Option<String>>(
        vars: &Vars<F>,
        audience: &str,
    ) -> Result<Self, ConfigError> {
        let Some(path) = vars.optional("AUTH_ROLES_CLAIM") else {
            return Ok(Self::new(audience));
        };
        if path.split('.').any(|segment| segment.trim().is_empty()) {
            return Err(ConfigError::Invalid {
                var: "AUTH_ROLES_CLAIM",
                value: Some(path),
                expected: "expected a claim name or a dot path such as `roles` or `app.roles`"
                    .to_owned(),
            });
        }
        Ok(Self { claim: path })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{invalid_var, settings};

    #[test]
    fn the_roles_claim_is_a_dot_path_defaulting_to_roles() {
        assert_eq!(settings(&[]).unwrap().auth.roles.claim, "roles");

        let roles = settings(&[("AUTH_ROLES_CLAIM", "app.roles")])
            .unwrap()
            .auth
            .roles;
        assert_eq!(roles.claim, "app.roles");
        assert_eq!(
            invalid_var(settings(&[("AUTH_ROLES_CLAIM", "app..roles")])),
            "AUTH_ROLES_CLAIM"
        );
    }
}
