//! Authentik's roles: the user's groups.

use serde_json::{Value, json};

use super::{assert_accepted, assert_rejected, claims, me, signed};
use crate::helpers::spawn_app;

#[tokio::test]
async fn authentik_groups_are_the_roles() {
    let app = spawn_app().await;
    let token = app.idp.token("bob", &["admin", "viewer"]);

    let body: Value = me(&app, &token).await.json().await.unwrap();

    assert_eq!(body["roles"], json!(["admin", "viewer"]));
}

#[tokio::test]
async fn an_authentik_id_token_with_our_audience_is_not_an_access_token() {
    // Authentik's ID tokens carry the hash of the access token (and, from the
    // hybrid flow, of the code); its access tokens never do.
    let app = spawn_app().await;
    for (claim, value) in [
        ("at_hash", "77QmUPtjPfzWtF2AnpK9RQ"),
        ("c_hash", "LDktKdoQak3Pk0cnXxCltA"),
    ] {
        let mut id_token = claims(&app);
        id_token.insert("nonce".to_owned(), json!("n-0S6_WzA2Mj"));
        id_token.insert(claim.to_owned(), json!(value));
        assert_rejected(&app, &signed(&id_token)).await;
    }
}

#[tokio::test]
async fn an_authentik_access_token_may_carry_the_logins_nonce() {
    // Authentik builds access tokens from the ID token's claims, nonce included.
    let app = spawn_app().await;
    let mut access = claims(&app);
    access.insert("nonce".to_owned(), json!("n-0S6_WzA2Mj"));

    assert_accepted(&app, &signed(&access)).await;
}
