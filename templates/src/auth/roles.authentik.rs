//! Where the caller's roles are in a verified token. Each identity provider
//! puts them somewhere else; this service was generated for **Authentik**:
//! the names of the user's groups, in the `groups` claim (the property
//! mapping in `deploy/authentik/blueprint.yaml` puts it into tokens).
//!
//! Anything that is not a string where a role is expected is ignored: a
//! malformed claim grants nothing.

use serde_json::{Map, Value};

use super::claims::strings;
use crate::config::AuthSettings;

/// Reads roles from verified claims.
#[derive(Debug, Clone)]
pub struct RoleMapping;

impl RoleMapping {
    pub fn new(_settings: &AuthSettings) -> Self {
        Self
    }

    pub fn roles(&self, claims: &Map<String, Value>) -> Vec<String> {
        strings(claims.get("groups"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn roles(claims: Value) -> Vec<String> {
        let settings = AuthSettings::new("https://idp.example.com/application/o/my-api/", "my-api");
        RoleMapping::new(&settings).roles(claims.as_object().unwrap())
    }

    #[test]
    fn the_groups_claim_holds_the_roles() {
        assert_eq!(
            roles(json!({ "groups": ["editor", "viewer"] })),
            ["editor", "viewer"]
        );
        assert!(roles(json!({ "roles": ["admin"] })).is_empty());
    }
}
