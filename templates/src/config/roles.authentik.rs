//! Where the roles are in an Authentik token: the names of the user's groups,
//! in the `groups` claim (see `auth::roles`). Nothing to configure: the
//! property mapping in `deploy/authentik/blueprint.yaml` puts the claim into
//! tokens.

use super::{ConfigError, Vars};

#[derive(Debug, Clone)]
pub struct RolesSettings;

impl RolesSettings {
    pub fn new(_audience: &str) -> Self {
        Self
    }

    pub(super) fn from_vars<F: Fn(&str) -> Option<String>>(
        _vars: &Vars<F>,
        audience: &str,
    ) -> Result<Self, ConfigError> {
        Ok(Self::new(audience))
    }
}
