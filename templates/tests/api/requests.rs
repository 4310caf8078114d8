use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TEST_SUBJECT, assert_invalid_field, assert_problem, id_of, spawn_app};

#[tokio::test]
async fn an_item_goes_through_create_read_list_update_and_delete() {
    let app = spawn_app().await;

    // Create.
    let response = app
        .post_item(&json!({ "name": "First", "notes": "some notes" }))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let created: Value = response.json().await.unwrap();
    let id = id_of(&created);
    assert_eq!(location, format!("/api/items/{id}"));
    assert_eq!(created["name"], "First");
    assert_eq!(created["notes"], "some notes");
    assert_eq!(created["owner"], TEST_SUBJECT);
    assert_eq!(created["created_at"], created["updated_at"]);
    let created_at = created["created_at"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(created_at).expect("RFC 3339 timestamps");

    // Read it back, through the Location header.
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);

    // It is listed.
    let list: Value = app.list_items("").await.json().await.unwrap();
    assert_eq!(list["items"], json!([created]));
    assert_eq!(list["next"], Value::Null);

    // Update: a full replacement, so the absent `notes` is cleared.
    let response = app.put_item(&id, &json!({ "name": "Renamed" })).await;
    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["notes"], Value::Null);
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_eq!(
        app.get_item(&id).await.json::<Value>().await.unwrap(),
        updated
    );

    // Delete, then it is gone.
    let response = app.delete_item(&id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get_item(&id).await, StatusCode::NOT_FOUND).await;
    assert_problem(app.delete_item(&id).await, StatusCode::NOT_FOUND).await;
    assert_problem(
        app.put_item(&id, &json!({ "name": "x" })).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_missing_item_is_a_404_problem() {
    let app = spawn_app().await;

    let response = app.get_item("4b6f2b8e-0d3e-4c1b-9a57-6f1e2d3c4b5a").await;

    assert_problem(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_malformed_item_id_is_a_400_problem() {
    let app = spawn_app().await;

    assert_problem(app.get_item("not-a-uuid").await, StatusCode::BAD_REQUEST).await;
    assert_problem(app.delete_item("42").await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn an_empty_name_is_rejected() {
    let app = spawn_app().await;

    let response = app.post_item(&json!({ "name": "" })).await;

    assert_invalid_field(response, "#/name").await;
}

#[tokio::test]
async fn a_whitespace_only_name_is_rejected() {
    let app = spawn_app().await;

    let response = app.post_item(&json!({ "name": " \t\n " })).await;

    let body = assert_invalid_field(response, "#/name").await;
    assert_eq!(body["errors"][0]["detail"], "must not be blank");
}

#[tokio::test]
async fn a_name_of_201_characters_is_rejected_and_200_is_accepted() {
    let app = spawn_app().await;

    let response = app.post_item(&json!({ "name": "a".repeat(201) })).await;
    assert_invalid_field(response, "#/name").await;

    // Characters, not bytes: 200 two-byte characters are fine.
    let item = app.create_item(&json!({ "name": "é".repeat(200) })).await;
    assert_eq!(item["name"].as_str().unwrap().chars().count(), 200);
}

#[tokio::test]
async fn notes_of_2001_characters_are_rejected() {
    let app = spawn_app().await;

    let response = app
        .post_item(&json!({ "name": "ok", "notes": "n".repeat(2001) }))
        .await;

    assert_invalid_field(response, "#/notes").await;
}

#[tokio::test]
async fn an_update_is_validated_like_a_create() {
    let app = spawn_app().await;
    let id = id_of(&app.create_item(&json!({ "name": "ok" })).await);

    let response = app.put_item(&id, &json!({ "name": "   " })).await;

    assert_invalid_field(response, "#/name").await;
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_rejected() {
    let app = spawn_app().await;

    let response = app.post_item(&json!({ "name": 42 })).await;

    assert_invalid_field(response, "#/name").await;
}

#[tokio::test]
async fn a_missing_name_is_rejected() {
    let app = spawn_app().await;

    let response = app.post_item(&json!({ "notes": "no name" })).await;

    assert_invalid_field(response, "#/name").await;
}

#[tokio::test]
async fn creating_an_item_with_an_unknown_field_is_rejected() {
    let app = spawn_app().await;

    let response = app
        .post_item(&json!({ "name": "ok", "owner": "someone-else" }))
        .await;

    assert_invalid_field(response, "#/owner").await;
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
async fn a_limit_over_the_maximum_is_rejected_naming_the_parameter() {
    let app = spawn_app().await;

    let response = app.list_items("?limit=101").await;

    let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["parameter"], "limit");
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
