//! What Keycloak's tokens and keys look like: the issuer is
//! `{base}/realms/{realm}`, access tokens have `typ: JWT`, the roles are the
//! realm roles and the client's roles, and the JWKS also lists an encryption
//! key, which the service must skip.

use serde_json::{Value, json};

use super::{AUDIENCE, KEYS};

/// The issuer's path on the IdP's address.
pub const ISSUER_PATH: &str = "/realms/test-realm";
/// The `typ` header of access tokens.
pub const TOKEN_TYPE: &str = "JWT";

/// Valid access-token claims for `subject` with `roles`, issued at `now`.
pub fn claims(issuer: &str, subject: &str, roles: &[&str], now: u64) -> Value {
    // Realm roles, and Keycloak's own default ones; the client's roles sit
    // in resource_access, with another client's beside them.
    let mut realm_roles: Vec<&str> = roles.to_vec();
    realm_roles.push("offline_access");
    json!({
        "exp": now + 300,
        "iat": now,
        "jti": format!("jti-{now}-{subject}"),
        "iss": issuer,
        "aud": [AUDIENCE, "account"],
        "sub": subject,
        "typ": "Bearer",
        "azp": AUDIENCE,
        "scope": "openid profile email",
        "realm_access": { "roles": realm_roles },
        "resource_access": {
            "account": { "roles": ["manage-account"] },
        },
        "preferred_username": subject,
    })
}

/// The JWKS as Keycloak publishes it: the signing keys and an encryption key.
/// (Keycloak's also says `alg: RSA-OAEP`; left out, only `use` tells.)
pub fn published(mut keys: Vec<Value>) -> Vec<Value> {
    let mut enc = KEYS.rsa[2].jwk();
    enc["kid"] = json!("enc-1");
    enc["use"] = json!("enc");
    if let Some(jwk) = enc.as_object_mut() {
        jwk.remove("alg");
    }
    keys.push(enc);
    keys
}
