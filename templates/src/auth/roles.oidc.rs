//! Where the caller's roles are in a verified token. Each identity provider
//! puts them somewhere else; this service was generated for **a generic
//! OpenID Connect provider**: the claim at the dot path `AUTH_ROLES_CLAIM`
//! (`roles` by default; `app.roles` reads `{"app": {"roles": [...]}}`),
//! holding a string or an array of strings.
//!
//! Anything that is not a string where a role is expected is ignored: a
//! malformed claim grants nothing.

use serde_json::{Map, Value};

use super::claims::strings;
use crate::config::AuthSettings;

/// Reads roles from verified claims.
#[derive(Debug, Clone)]
pub struct RoleMapping {
    /// `AUTH_ROLES_CLAIM` split at its dots.
    path: Vec<String>,
}

impl RoleMapping {
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            path: settings.roles.claim.split('.').map(str::to_owned).collect(),
        }
    }

    pub fn roles(&self, claims: &Map<String, Value>) -> Vec<String> {
        let mut segments = self.path.iter();
        let Some(first) = segments.next() else {
            return Vec::new();
        };
        let value = segments.try_fold(claims.get(first.as_str()), |value, segment| {
            Some(value?.get(segment.as_str()))
        });
        strings(value.flatten())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn roles(claims: Value) -> Vec<String> {
        let mut settings = AuthSettings::new("https://idp.example.com", "my-api");
        settings.roles.claim = "app.roles".to_owned();
        RoleMapping::new(&settings).roles(claims.as_object().unwrap())
    }

    #[test]
    fn the_claim_at_the_dot_path_holds_the_roles() {
        assert_eq!(
            roles(json!({ "app": { "roles": ["editor", "viewer"] } })),
            ["editor", "viewer"]
        );
        assert_eq!(roles(json!({ "app": { "roles": "admin" } })), ["admin"]);
        assert!(roles(json!({ "roles": ["admin"] })).is_empty());
        assert!(roles(json!({ "app": "admin" })).is_empty());
    }
}
