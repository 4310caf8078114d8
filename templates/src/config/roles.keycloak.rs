//! Where the roles are in a Keycloak token: the realm roles in
//! `realm_access.roles`, plus the roles of one client in
//! `resource_access.<client>.roles` (see `auth::roles`).
//!
//! | variable         | meaning                                    | default      |
//! | ---------------- | ------------------------------------------ | ------------ |
//! | `AUTH_CLIENT_ID` | client whose `resource_access` roles count | the audience |

use super::{ConfigError, Vars};

#[derive(Debug, Clone)]
pub struct RolesSettings {
    /// The Keycloak client whose roles in `resource_access.<client>.roles` count,
    /// besides the realm roles.
    pub client_id: String,
}

impl RolesSettings {
    /// The default: the client is the audience.
    pub fn new(audience: &str) -> Self {
        Self {
            client_id: audience.to_owned(),
        }
    }

    pub(super) fn from_vars<F: Fn(&str) -> Option<String>>(
        vars: &Vars<F>,
        audience: &str,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            client_id: vars
                .optional("AUTH_CLIENT_ID")
                .unwrap_or_else(|| audience.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::settings;

    #[test]
    fn the_client_defaults_to_the_audience() {
        let roles = settings(&[]).unwrap().auth.roles;
        assert_eq!(roles.client_id, "my-api");

        let roles = settings(&[("AUTH_CLIENT_ID", "frontend")])
            .unwrap()
            .auth
            .roles;
        assert_eq!(roles.client_id, "frontend");
    }
}
