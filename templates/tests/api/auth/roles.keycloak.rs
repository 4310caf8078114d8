//! Keycloak's roles: the realm roles and our client's roles, never another
//! client's; and its encryption key, which must never verify a signature.

use serde_json::{Value, json};

use super::{assert_rejected, claims, me, signed};
use crate::helpers::spawn_app;
use crate::idp::KEYS;

#[tokio::test]
async fn keycloak_client_roles_count_for_our_client_only() {
    let app = spawn_app().await;
    let mut claims = claims(&app);
    // AUTH_CLIENT_ID defaults to the audience.
    let ours = crate::idp::AUDIENCE;
    claims["realm_access"] = json!({ "roles": [] });
    claims["resource_access"] = json!({
        ours: { "roles": ["editor"] },
        "other-client": { "roles": ["admin"] },
    });

    let body: Value = me(&app, &signed(&claims)).await.json().await.unwrap();

    assert_eq!(body["roles"], json!(["editor"]));
}

#[tokio::test]
async fn a_token_signed_with_the_keycloak_encryption_key_is_rejected() {
    // The test IdP publishes KEYS.rsa[2] as `enc-1` with `use: enc`, as
    // Keycloak publishes its encryption keys: it must never verify a signature.
    let app = spawn_app().await;
    let mut header = KEYS.rsa[2].header();
    header.kid = Some("enc-1".to_owned());

    assert_rejected(&app, &KEYS.rsa[2].sign(&header, &claims(&app))).await;
}

#[tokio::test]
async fn a_keycloak_id_token_with_our_audience_is_not_an_access_token() {
    // Keycloak signs ID tokens with the same key and header (`typ: JWT`) as
    // access tokens; only the payload's `typ` tells them apart.
    let app = spawn_app().await;
    let mut id_token = claims(&app);
    id_token["typ"] = json!("ID");
    id_token.insert("nonce".to_owned(), json!("n-0S6_WzA2Mj"));
    id_token.insert("at_hash".to_owned(), json!("77QmUPtjPfzWtF2AnpK9RQ"));
    assert_rejected(&app, &signed(&id_token)).await;

    for typ in [json!("Logout"), json!("Refresh"), Value::Null] {
        let mut other = claims(&app);
        other["typ"] = typ;
        assert_rejected(&app, &signed(&other)).await;
    }
    let mut untyped = claims(&app);
    untyped.remove("typ");
    assert_rejected(&app, &signed(&untyped)).await;
}

#[tokio::test]
async fn a_keycloak_access_token_may_carry_the_logins_nonce() {
    // Keycloak copies the authorization request's nonce into access tokens.
    let app = spawn_app().await;
    let mut access = claims(&app);
    access.insert("nonce".to_owned(), json!("n-0S6_WzA2Mj"));

    let response = me(&app, &signed(&access)).await;

    assert_eq!(response.status(), reqwest::StatusCode::OK);
}
