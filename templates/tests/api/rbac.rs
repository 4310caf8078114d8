//! Role-based access control end to end: every default role against every
//! route, inheritance, ownership of items, and roles the policy does not
//! know. Tokens come from the in-process test identity provider, with the
//! roles in the chosen provider's claim shape.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// The subject a role's tokens carry, so items can be owned per role.
fn subject(role: &str) -> String {
    format!("user-{role}")
}

/// A token for `role` (none at all for the empty string).
fn token(app: &TestApp, role: &str) -> String {
    let roles: &[&str] = if role.is_empty() { &[] } else { &[role] };
    app.idp.token(&subject(role), roles)
}

/// An item owned by `owner`, created with an admin token carrying that subject.
async fn item_owned_by(app: &TestApp, owner: &str) -> String {
    let token = app.idp.token(owner, &["admin"]);
    let response = app
        .client
        .post(app.url("/api/items"))
        .bearer_auth(token)
        .json(&json!({ "name": format!("owned by {owner}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The routes of the table, and how each request is made for `role`.
#[derive(Clone, Copy, Debug)]
enum Case {
    List,
    Create,
    Read,
    UpdateOwn,
    UpdateOthers,
    Delete,
    Me,
}

impl Case {
    const ALL: [Case; 7] = [
        Case::List,
        Case::Create,
        Case::Read,
        Case::UpdateOwn,
        Case::UpdateOthers,
        Case::Delete,
        Case::Me,
    ];

    async fn status(self, app: &TestApp, role: &str) -> StatusCode {
        let other = item_owned_by(app, "someone-else").await;
        let (method, path, body) = match self {
            Case::List => (Method::GET, "/api/items".to_owned(), None),
            Case::Create => (
                Method::POST,
                "/api/items".to_owned(),
                Some(json!({ "name": "x" })),
            ),
            Case::Read => (Method::GET, format!("/api/items/{other}"), None),
            Case::UpdateOwn => {
                let own = item_owned_by(app, &subject(role)).await;
                (
                    Method::PUT,
                    format!("/api/items/{own}"),
                    Some(json!({ "name": "y" })),
                )
            }
            Case::UpdateOthers => (
                Method::PUT,
                format!("/api/items/{other}"),
                Some(json!({ "name": "y" })),
            ),
            Case::Delete => (Method::DELETE, format!("/api/items/{other}"), None),
            Case::Me => (Method::GET, "/api/me".to_owned(), None),
        };
        let mut request = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(token(app, role));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap().status()
    }
}

#[tokio::test]
async fn every_default_role_reaches_exactly_what_its_permissions_allow() {
    let app = spawn_app().await;
    // Columns: admin, editor, viewer, a role the policy does not define, no role.
    let roles = ["admin", "editor", "viewer", "intruder", ""];
    let expected: [(Case, [u16; 5]); 7] = [
        (Case::List, [200, 200, 200, 403, 403]),
        (Case::Create, [201, 201, 403, 403, 403]),
        (Case::Read, [200, 200, 200, 403, 403]),
        (Case::UpdateOwn, [200, 200, 403, 403, 403]),
        (Case::UpdateOthers, [200, 403, 403, 403, 403]),
        (Case::Delete, [204, 403, 403, 403, 403]),
        (Case::Me, [200, 200, 200, 200, 200]),
    ];
    assert_eq!(expected.len(), Case::ALL.len());

    let mut mismatches = Vec::new();
    for (case, statuses) in expected {
        for (role, want) in roles.iter().zip(statuses) {
            let got = case.status(&app, role).await;
            if got.as_u16() != want {
                mismatches.push(format!("{case:?} as `{role}`: expected {want}, got {got}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test]
async fn a_denial_is_a_403_problem_naming_the_missing_permission() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/items"))
        .bearer_auth(token(&app, "viewer"))
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 403);
    assert!(
        body["detail"].as_str().unwrap().contains("items:write"),
        "{body}"
    );
}

#[tokio::test]
async fn me_lists_the_effective_permissions_with_inheritance() {
    let app = spawn_app().await;
    let me = |role: &'static str| {
        let app = &app;
        async move {
            app.get_with_token("/api/me", &token(app, role))
                .await
                .json::<Value>()
                .await
                .unwrap()["permissions"]
                .clone()
        }
    };
    // editor grants items:write and inherits items:read from viewer.
    assert_eq!(me("editor").await, json!(["items:read", "items:write"]));
    assert_eq!(me("viewer").await, json!(["items:read"]));
    assert_eq!(
        me("admin").await,
        json!([
            "items:delete",
            "items:read",
            "items:write",
            "items:write-any"
        ])
    );
    assert_eq!(me("intruder").await, json!([]));
}

#[tokio::test]
async fn roles_add_up_and_unknown_roles_add_nothing() {
    let app = spawn_app().await;
    let token = app.idp.token("mixed", &["viewer", "intruder"]);
    let me: Value = app
        .get_with_token("/api/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["permissions"], json!(["items:read"]));
    // Providers may add roles of their own (Keycloak's `offline_access`).
    let roles = me["roles"].as_array().unwrap();
    assert!(
        roles.contains(&json!("viewer")) && roles.contains(&json!("intruder")),
        "{me}"
    );
}
