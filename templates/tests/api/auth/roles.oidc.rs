//! A generic provider's roles: the claim at `AUTH_ROLES_CLAIM`.

use serde_json::{Value, json};

use super::{claims, me, signed};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn the_roles_claim_can_be_a_dot_path_and_a_single_string() {
    let app = spawn_app_with(|settings| settings.auth.roles.claim = "app.roles".to_owned()).await;
    let mut claims = claims(&app);
    claims.insert("app".to_owned(), json!({ "roles": "editor" }));

    let body: Value = me(&app, &signed(&claims)).await.json().await.unwrap();

    assert_eq!(body["roles"], json!(["editor"]));
}
