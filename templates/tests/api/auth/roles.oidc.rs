//! A generic provider's roles: the claim at `AUTH_ROLES_CLAIM`.

use serde_json::{Value, json};

use super::{assert_accepted, assert_rejected, claims, me, signed};
use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_roles_claim_can_be_a_dot_path_and_a_single_string() {
    let app = spawn_app_with(|settings| settings.auth.roles.claim = "app.roles".to_owned()).await;
    let mut claims = claims(&app);
    claims.insert("app".to_owned(), json!({ "roles": "editor" }));

    let body: Value = me(&app, &signed(&claims)).await.json().await.unwrap();

    assert_eq!(body["roles"], json!(["editor"]));
}

#[tokio::test]
async fn an_id_token_with_our_audience_is_not_an_access_token() {
    // Shaped as an ID token: the same issuer, key, audience and header
    // `typ: JWT`, with the claims only ID tokens carry. Each on its own.
    let app = spawn_app().await;
    for (claim, value) in [
        ("nonce", "n-0S6_WzA2Mj"),
        ("at_hash", "77QmUPtjPfzWtF2AnpK9RQ"),
        ("c_hash", "LDktKdoQak3Pk0cnXxCltA"),
    ] {
        let mut id_token = claims(&app);
        id_token.insert(claim.to_owned(), json!(value));
        assert_rejected(&app, &signed(&id_token)).await;
    }
    // The same token without them is a valid access token.
    assert_accepted(&app, &signed(&claims(&app))).await;
}
