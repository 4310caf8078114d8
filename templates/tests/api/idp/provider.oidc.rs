//! What a standard OpenID provider's tokens and keys look like: the issuer is
//! the provider's address, access tokens have `typ: at+jwt` (RFC 9068), and
//! the roles are in a `roles` claim.

use serde_json::{Value, json};

use super::AUDIENCE;

/// The issuer's path on the IdP's address.
pub const ISSUER_PATH: &str = "";
/// The `typ` header of access tokens.
pub const TOKEN_TYPE: &str = "at+jwt";

/// Valid access-token claims for `subject` with `roles`, issued at `now`.
pub fn claims(issuer: &str, subject: &str, roles: &[&str], now: u64) -> Value {
    json!({
        "exp": now + 300,
        "iat": now,
        "jti": format!("jti-{now}-{subject}"),
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": subject,
        "client_id": "test-client",
        "scope": "openid items:read",
        "roles": roles,
    })
}

/// The JWKS as the provider publishes it: the signing keys.
pub fn published(keys: Vec<Value>) -> Vec<Value> {
    keys
}
