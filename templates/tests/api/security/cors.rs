//! The CORS allowlist: listed origins get a grant, others get none, and
//! preflights are answered only for what is allowed.

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ORIGIN, VARY,
};
use reqwest::{Method, Response, StatusCode};

use crate::helpers::{TestApp, spawn_app_with};

const ALLOWED: &str = "https://app.example.com";
const OTHER: &str = "https://evil.example.net";

async fn app() -> TestApp {
    spawn_app_with(|settings| {
        settings.cors.allowed_origins = vec![ALLOWED.parse().unwrap()];
    })
    .await
}

async fn preflight(app: &TestApp, origin: &str, method: &str, headers: &str) -> Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/items"))
        .header(ORIGIN, origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

fn varies_by_origin(response: &Response) -> bool {
    response
        .headers()
        .get_all(VARY)
        .iter()
        .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("origin"))
}

#[tokio::test]
async fn a_listed_origin_is_granted_exactly_and_without_credentials() {
    let app = app().await;
    let response = app
        .authorized(app.client.get(app.url("/api/items")))
        .header(ORIGIN, ALLOWED)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], ALLOWED);
    assert!(
        !response
            .headers()
            .contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS)
    );
    assert!(varies_by_origin(&response));
}

#[tokio::test]
async fn an_unlisted_origin_gets_no_grant() {
    let app = app().await;
    let response = app
        .client
        .get(app.url("/health/live"))
        .header(ORIGIN, OTHER)
        .send()
        .await
        .unwrap();

    assert!(!response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
    assert!(varies_by_origin(&response));
}

#[tokio::test]
async fn a_preflight_from_a_listed_origin_is_answered() {
    let app = app().await;
    let response = preflight(&app, ALLOWED, "POST", "authorization, content-type").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], ALLOWED);
    let methods = response.headers()[ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    assert_ne!(methods, "*");
}

#[tokio::test]
async fn a_preflight_asking_for_anything_not_allowed_is_refused_without_a_grant() {
    let app = app().await;
    for (origin, method, headers) in [
        (OTHER, "GET", "authorization"),
        ("null", "GET", "authorization"),
        (ALLOWED, "PATCH", "authorization"),
        (ALLOWED, "GET", "authorization, x-debug"),
    ] {
        let response = preflight(&app, origin, method, headers).await;
        let what = format!("{origin} {method} {headers}");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(
            !response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN),
            "{what}"
        );
        assert!(
            !response
                .headers()
                .contains_key(ACCESS_CONTROL_ALLOW_METHODS),
            "{what}"
        );
    }
}

#[tokio::test]
async fn an_options_request_that_is_not_a_preflight_is_handled_like_any_request() {
    let app = app().await;
    let options = |path: &str, origin: Option<&str>| {
        let mut request = app.client.request(Method::OPTIONS, app.url(path));
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        request.send()
    };

    // No `Access-Control-Request-Method`: not a preflight, so no CORS answer
    // and no way around authentication; the routes answer as for any method.
    for origin in [None, Some(ALLOWED), Some(OTHER)] {
        let response = options("/api/items", origin).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{origin:?}"
        );
        assert!(
            !response
                .headers()
                .contains_key(ACCESS_CONTROL_ALLOW_METHODS)
        );
    }
    let unknown = options("/no/such/route", None).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
