//! Where the caller's roles are in a verified token. Each identity provider
//! puts them somewhere else; this service was generated for **Keycloak**: the
//! realm roles in `realm_access.roles`, plus the roles of the client
//! `AUTH_CLIENT_ID` in `resource_access.<client>.roles`.
//!
//! Anything that is not a string where a role is expected is ignored: a
//! malformed claim grants nothing.
//!
//! [`not_an_access_token`] tells Keycloak's access tokens from its other
//! signed tokens, which carry the same header (`typ: JWT`), issuer and keys.

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

/// Why verified `claims` are not a Keycloak access token, if they are not.
///
/// Keycloak names the kind of every token it signs in the payload's `typ`:
/// `Bearer` for access tokens, `ID` for ID tokens, `Logout` for back-channel
/// logout tokens. Its access tokens may carry the login's `nonce` too, so
/// that claim tells nothing here; `typ` does.
pub fn not_an_access_token(claims: &Map<String, Value>) -> Option<&'static str> {
    match claims.get("typ").and_then(Value::as_str) {
        Some("Bearer") => None,
        Some("ID") => Some("an ID token (payload `typ: ID`), not an access token"),
        _ => Some("the payload `typ` is not `Bearer` (Keycloak's access tokens)"),
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
    fn only_a_bearer_typ_is_an_access_token() {
        let shape = |claims: Value| not_an_access_token(claims.as_object().unwrap());
        assert_eq!(shape(json!({ "typ": "Bearer" })), None);
        for typ in [json!("ID"), json!("Logout"), json!("bearer"), json!(1)] {
            assert!(shape(json!({ "typ": typ })).is_some(), "{typ}");
        }
        assert!(shape(json!({})).is_some());
    }

    #[test]
    fn another_clients_roles_do_not_count() {
        let claims = json!({ "resource_access": { "account": { "roles": ["admin"] } } });
        assert!(roles(claims).is_empty());
    }
}
