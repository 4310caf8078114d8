//! Where the caller's roles are in a verified token. Each identity provider
//! puts them somewhere else; this service was generated for **Authentik**:
//! the names of the user's groups, in the `groups` claim (the property
//! mapping in `deploy/authentik/blueprint.yaml` puts it into tokens).
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
pub struct RoleMapping;

impl RoleMapping {
    pub fn new(_settings: &AuthSettings) -> Self {
        Self
    }

    pub fn roles(&self, claims: &Map<String, Value>) -> Vec<String> {
        strings(claims.get("groups"))
    }
}

/// Why verified `claims` are not an Authentik access token, if they are not.
///
/// An Authentik ID token passes every other check when its audience is the
/// API's (the provider's client id): same issuer, keys and header
/// `typ: JWT`. Authentik builds its access tokens from the same claims as the
/// ID token, `nonce` included, so `nonce` tells nothing here; the hashes of
/// the access token and code (`at_hash`, `c_hash`) are only ever put into
/// ID tokens (OpenID Connect Core §3.1.3.6, §3.3.2.11). A token with either
/// is refused.
pub fn not_an_access_token(claims: &Map<String, Value>) -> Option<&'static str> {
    ID_TOKEN_ONLY
        .iter()
        .any(|claim| claims.contains_key(*claim))
        .then_some("it carries an ID-token-only claim (`at_hash` or `c_hash`)")
}

/// Claims that only Authentik's ID tokens have.
const ID_TOKEN_ONLY: &[&str] = &["at_hash", "c_hash"];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn roles(claims: Value) -> Vec<String> {
        let settings = AuthSettings::new("https://idp.example.com/application/o/my-api/", "my-api");
        RoleMapping::new(&settings).roles(claims.as_object().unwrap())
    }

    #[test]
    fn token_hashes_mark_an_id_token() {
        let shape = |claims: Value| not_an_access_token(claims.as_object().unwrap());
        assert_eq!(shape(json!({ "nonce": "n", "groups": [] })), None);
        for claim in ["at_hash", "c_hash"] {
            assert!(shape(json!({ claim: "x" })).is_some(), "{claim}");
        }
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
