//! Where the caller's roles are in a verified token. Each identity provider
//! puts them somewhere else; this service was generated for **Keycloak**: the
//! realm roles in `realm_access.roles`, plus the roles of the client
//! `AUTH_CLIENT_ID` in `resource_access.<client>.roles`.
//!
//! Anything that is not a string where a role is expected is ignored: a
//! malformed claim grants nothing.

use serde_json::{Map, Value};

use super::claims::strings;
use crate::config::AuthSettings;

/// Reads roles from verified claims.
#[derive(Debug, Clone)]
pub struct RoleMapping {
    client_id: String,
}

impl RoleMapping {
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            client_id: settings.roles.client_id.clone(),
        }
    }

    pub fn roles(&self, claims: &Map<String, Value>) -> Vec<String> {
        let realm = claims
            .get("realm_access")
            .and_then(|access| access.get("roles"));
        let client = claims
            .get("resource_access")
            .and_then(|access| access.get(&self.client_id))
            .and_then(|client| client.get("roles"));
        let mut roles = strings(realm);
        for role in strings(client) {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        roles
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn roles(claims: Value) -> Vec<String> {
        let mut settings = AuthSettings::new("https://idp.example.com/realms/main", "my-api");
        settings.roles.client_id = "my-api".to_owned();
        RoleMapping::new(&settings).roles(claims.as_object().unwrap())
    }

    #[test]
    fn realm_roles_and_the_clients_roles_are_merged_without_duplicates() {
        let claims = json!({
            "realm_access": { "roles": ["viewer", "offline_access"] },
            "resource_access": {
                "my-api": { "roles": ["editor", "viewer"] },
                "other-client": { "roles": ["admin"] },
            },
        });
        assert_eq!(roles(claims), ["viewer", "offline_access", "editor"]);
    }

    #[test]
    fn another_clients_roles_do_not_count() {
        let claims = json!({ "resource_access": { "account": { "roles": ["admin"] } } });
        assert!(roles(claims).is_empty());
    }
}
