use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn the_liveness_check_answers_200() {
    let app = spawn_app().await;

    let response = app.get_anonymous("/health/live").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn the_readiness_check_answers_200_when_the_keys_and_the_database_are_there() {
    let app = spawn_app().await;

    let response = app.get_anonymous("/health/ready").await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;

    let response = app.get_anonymous("/no/such/route").await;

    assert_problem(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_listing_the_allowed_methods() {
    let app = spawn_app().await;

    let response = app
        .authorized(app.client.delete(app.url("/api/items")))
        .send()
        .await
        .unwrap();

    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn a_request_id_sent_by_the_caller_is_echoed_back() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "from-the-gateway")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["x-request-id"], "from-the-gateway");
}
