//! CORS preflights and the per-IP rate limit: only a real preflight skips
//! authentication, and every request, preflights included, pays a token.

use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::header::ORIGIN;
use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, spawn_app_against};
use crate::idp::TestIdp;

const ALLOWED: &str = "https://app.example.com";

/// An app whose client IP has one token, none back during the test.
async fn one_token() -> TestApp {
    spawn_app_against(TestIdp::start().await, |settings| {
        settings.cors.allowed_origins = vec![ALLOWED.parse().unwrap()];
        settings.rate_limit.burst = NonZeroU32::new(1).unwrap();
        settings.rate_limit.period = Duration::from_secs(60);
    })
    .await
}

async fn options(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> StatusCode {
    let mut request = app.client.request(Method::OPTIONS, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status()
}

const PREFLIGHT: &[(&str, &str)] = &[
    ("origin", ALLOWED),
    ("access-control-request-method", "GET"),
];

#[tokio::test]
async fn a_preflight_takes_a_token_like_any_request() {
    let app = one_token().await;
    assert_eq!(options(&app, "/api/items", PREFLIGHT).await, StatusCode::OK);

    // The bucket is empty now: the next request, preflight or not, is refused.
    assert_eq!(
        options(&app, "/api/items", PREFLIGHT).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let get = app
        .client
        .get(app.url("/health/live"))
        .header(ORIGIN, ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn with_an_empty_bucket_no_options_request_is_answered() {
    let app = one_token().await;
    assert_eq!(
        app.get_anonymous("/health/live").await.status(),
        StatusCode::OK
    );

    for (path, headers) in [
        ("/api/items", PREFLIGHT),
        ("/api/items", &[][..]),
        ("/anything", &[("origin", ALLOWED)][..]),
    ] {
        assert_eq!(
            options(&app, path, headers).await,
            StatusCode::TOO_MANY_REQUESTS,
            "OPTIONS {path} {headers:?}"
        );
    }
}
