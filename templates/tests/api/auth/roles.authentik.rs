//! Authentik's roles: the user's groups.

use serde_json::{Value, json};

use super::me;
use crate::helpers::spawn_app;

#[tokio::test]
async fn authentik_groups_are_the_roles() {
    let app = spawn_app().await;
    let token = app.idp.token("bob", &["admin", "viewer"]);

    let body: Value = me(&app, &token).await.json().await.unwrap();

    assert_eq!(body["roles"], json!(["admin", "viewer"]));
}
