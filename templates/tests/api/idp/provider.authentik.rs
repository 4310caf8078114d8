//! What Authentik's tokens and keys look like: the issuer is
//! `{base}/application/o/{slug}/`, with the trailing slash, access tokens have
//! `typ: JWT`, and the roles are the user's groups.

use serde_json::{Value, json};

use super::AUDIENCE;

/// The issuer's path on the IdP's address.
pub const ISSUER_PATH: &str = "/application/o/test-api/";
/// The `typ` header of access tokens.
pub const TOKEN_TYPE: &str = "JWT";

/// Valid access-token claims for `subject` with `roles`, issued at `now`.
pub fn claims(issuer: &str, subject: &str, roles: &[&str], now: u64) -> Value {
    json!({
        "exp": now + 300,
        "iat": now,
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": subject,
        "azp": AUDIENCE,
        "scope": "openid profile groups",
        "groups": roles,
        "preferred_username": subject,
    })
}

/// The JWKS as Authentik publishes it: the signing keys.
pub fn published(keys: Vec<Value>) -> Vec<Value> {
    keys
}
