//! Where the caller's roles are in a verified token. Each identity provider
//! puts them somewhere else; this service was generated for **a generic
//! OpenID Connect provider**: the claim at the dot path `AUTH_ROLES_CLAIM`
//! (`roles` by default; `app.roles` reads `{"app": {"roles": [...]}}`),
//! holding a string or an array of strings.
//!
//! Anything that is not a string where a role is expected is ignored: a
//! malformed claim grants nothing.
//!
//! [`not_an_access_token`] tells the provider's access tokens from its ID
//! tokens, which carry the same issuer and keys.

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

/// Why verified `claims` are not an access token, if they are not.
///
/// An ID token of the same provider passes every other check when its
/// audience is the API's (a client whose id is the audience): same issuer,
/// keys and often the same header `typ: JWT`. RFC 9068 access tokens (and
/// those of the providers this service is written for) never carry the
/// claims that only ID tokens have (OpenID Connect Core §2, §3.3.2.11):
/// `nonce`, `at_hash` and `c_hash`. A token with any of them is refused.
pub fn not_an_access_token(claims: &Map<String, Value>) -> Option<&'static str> {
    ID_TOKEN_ONLY
        .iter()
        .any(|claim| claims.contains_key(*claim))
        .then_some("it carries an ID-token-only claim (`nonce`, `at_hash` or `c_hash`)")
}

/// Claims that only ID tokens have.
const ID_TOKEN_ONLY: &[&str] = &["nonce", "at_hash", "c_hash"];

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
    fn id_token_claims_mark_a_token_that_is_not_an_access_token() {
        let shape = |claims: Value| not_an_access_token(claims.as_object().unwrap());
        assert_eq!(shape(json!({ "scope": "openid", "jti": "1" })), None);
        for claim in ["nonce", "at_hash", "c_hash"] {
            assert!(shape(json!({ claim: "x" })).is_some(), "{claim}");
        }
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
