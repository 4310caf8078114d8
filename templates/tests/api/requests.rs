//! How the API treats what it is sent: malformed ids, bodies and
//! parameters, SQL metacharacters, request ids. Exercised on `/api/items`,
//! the resource every project starts with; each resource's own rules, roles
//! and pages are tested in `resources/`.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{assert_invalid_field, assert_problem, id_of, spawn_app};

#[tokio::test]
async fn a_malformed_item_id_is_a_400_problem() {
    let app = spawn_app().await;

    assert_problem(app.get_item("not-a-uuid").await, StatusCode::BAD_REQUEST).await;
    assert_problem(app.delete_item("42").await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn lengths_are_measured_in_characters_not_bytes() {
    let app = spawn_app().await;

    // 200 two-byte characters: at the limit of `name`, not over it.
    let item = app.create_item(&json!({ "name": "é".repeat(200) })).await;
    assert_eq!(item["name"].as_str().unwrap().chars().count(), 200);
}

#[tokio::test]
async fn an_update_is_validated_like_a_create() {
    let app = spawn_app().await;
    let id = id_of(&app.create_item(&json!({ "name": "ok" })).await);

    let response = app.put_item(&id, &json!({ "name": "   " })).await;

    assert_invalid_field(response, "#/name").await;
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;

    let response = app.post_item_raw(r#"{"name": "unterminated"#).await;

    assert_problem(response, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn data_after_the_json_document_is_a_400_problem_and_creates_nothing() {
    let app = spawn_app().await;

    // A second document, which a proxy reading the body its own way might take
    // for the request; and trailing garbage.
    for body in [
        r#"{"name":"a"}{"name":"b","owner":"x"}"#,
        r#"{"name":"a"} xyz"#,
    ] {
        let response = app.post_item_raw(body).await;
        assert_problem(response, StatusCode::BAD_REQUEST).await;
    }

    let list: Value = app.list_items("").await.json().await.unwrap();
    assert_eq!(list["items"], json!([]), "{list}");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    let app = spawn_app().await;

    let response = app
        .authorized(app.client.post(app.url("/api/items")))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(r#"{"name": "ok"}"#)
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem() {
    let app = spawn_app().await;
    // Valid JSON, but well over the 64 KiB limit.
    let body = json!({ "name": "big", "notes": "x".repeat(100 * 1024) }).to_string();

    let response = app.post_item_raw(body).await;

    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn sql_metacharacters_are_stored_verbatim_and_harm_nothing() {
    let app = spawn_app().await;
    let name = "'; DROP TABLE items; -- \" \\ %_ ? $1 ` 🦀 Ünïcödé 名前";
    let notes = "Robert'); DELETE FROM items WHERE ('1'='1 \\' \\\\ \" %% __ end";

    let created = app
        .create_item(&json!({ "name": name, "notes": notes }))
        .await;
    let fetched: Value = app.get_item(&id_of(&created)).await.json().await.unwrap();

    assert_eq!(fetched["name"], name);
    assert_eq!(fetched["notes"], notes);
    // The table is still there and still holds the item.
    let list: Value = app.list_items("").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["name"], name);
}

#[tokio::test]
async fn the_list_is_paginated_in_creation_order_by_the_next_cursor() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let item = app
            .create_item(&json!({ "name": format!("item {n}") }))
            .await;
        ids.push(id_of(&item));
    }

    // Pages of 2 follow each other through `next`, until a page has none.
    let mut listed = Vec::new();
    let mut query = "?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page: Value = app.list_items(&query).await.json().await.unwrap();
        assert_eq!(page["limit"], 2);
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            listed.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => query = format!("?limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(listed, ids);
    assert_eq!(pages, 3);

    // Defaults: a page of 20, so everything and no next page.
    let all: Value = app.list_items("").await.json().await.unwrap();
    assert_eq!(all["limit"], 20);
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert_eq!(all["next"], Value::Null);

    // An item added meanwhile shows up on the page it belongs to, and none
    // is listed twice: the cursor names an item, not a position.
    let first: Value = app.list_items("?limit=2").await.json().await.unwrap();
    let added = id_of(&app.create_item(&json!({ "name": "late" })).await);
    let after = first["next"].as_str().unwrap();
    let rest: Value = app
        .list_items(&format!("?limit=10&after={after}"))
        .await
        .json()
        .await
        .unwrap();
    let rest_ids: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest_ids,
        [
            ids[2].as_str(),
            ids[3].as_str(),
            ids[4].as_str(),
            added.as_str()
        ]
    );
}

#[tokio::test]
async fn a_negative_limit_or_a_made_up_cursor_is_rejected_naming_the_parameter() {
    let app = spawn_app().await;

    let response = app.list_items("?limit=-1&after=5").await;

    let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["parameter"], "limit");
    assert_eq!(body["errors"][1]["parameter"], "after");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;

    let created = app.post_item(&json!({ "name": "ok" })).await;
    let invalid = app.post_item(&json!({ "name": "" })).await;
    let listed = app.list_items("").await;

    for response in [created, invalid, listed] {
        let id = response.headers()["x-request-id"].to_str().unwrap();
        uuid::Uuid::parse_str(id).expect("a generated request id is a UUID");
    }
}
