//! Authentication, attack by attack. Every rejection is a 401 with the RFC 6750
//! challenge and a problem document that does not say which check failed.
//!
//! Each invalid token differs from a valid one in one respect only, so that a
//! test fails if that one check is removed.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{StatusCode, header};
use serde_json::{Map, Value, json};

use crate::helpers::{
    INVALID_TOKEN, NO_TOKEN, TEST_SUBJECT, TestApp, assert_problem, assert_unauthorized, spawn_app,
    spawn_app_against, spawn_app_with,
};
use crate::idp::{KEYS, TestIdp, base64url, now};

/// The attacks and checks that depend on the identity provider.
mod roles;

/// Claims of a valid token for the test subject.
fn claims(app: &TestApp) -> Map<String, Value> {
    app.idp.claims(TEST_SUBJECT, &["viewer"])
}

/// A token signed with the usual key over `claims`.
fn signed(claims: &Map<String, Value>) -> String {
    KEYS.rsa[0].token(claims)
}

/// A token signed with the usual key under `header`.
fn signed_with_header(header: &Header, app: &TestApp) -> String {
    KEYS.rsa[0].sign(header, &claims(app))
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.get_with_token("/api/me", token).await
}

/// Asserts that `token` is refused on `/api/me` with `invalid_token`.
async fn assert_rejected(app: &TestApp, token: &str) {
    assert_unauthorized(me(app, token).await, INVALID_TOKEN).await;
}

async fn assert_accepted(app: &TestApp, token: &str) {
    let response = me(app, token).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
}

// ---- a valid token --------------------------------------------------------

#[tokio::test]
async fn a_valid_token_gets_200_and_me_shows_subject_roles_and_scopes() {
    let app = spawn_app().await;
    let token = app.idp.token("alice", &["editor", "viewer"]);

    let response = me(&app, &token).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["subject"], "alice");
    let roles: Vec<&str> = body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"editor") && roles.contains(&"viewer"),
        "{body}"
    );
    assert!(!roles.contains(&"admin"), "{body}");
    assert!(
        body["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("openid")),
        "{body}"
    );
}

#[tokio::test]
async fn an_es256_token_from_an_ec_key_is_accepted() {
    let idp = TestIdp::serving(&[&KEYS.rsa[0], &KEYS.ec]).await;
    let app = spawn_app_against(idp, |_| {}).await;
    app.wait_until_ready().await;

    assert_accepted(&app, &KEYS.ec.token(&claims(&app))).await;
}

#[tokio::test]
async fn a_token_expired_less_than_the_leeway_ago_is_still_accepted() {
    let app = spawn_app().await;
    let mut claims = claims(&app);
    claims["exp"] = json!(now() - 10);

    assert_accepted(&app, &signed(&claims)).await;
}

// ---- where the token comes from -------------------------------------------

#[tokio::test]
async fn no_authorization_header_is_401_with_a_bare_bearer_challenge() {
    let app = spawn_app().await;

    let response = app.get_anonymous("/api/me").await;

    assert_unauthorized(response, NO_TOKEN).await;
}

#[tokio::test]
async fn another_scheme_is_401_with_a_bare_bearer_challenge() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/api/me"))
        .header(header::AUTHORIZATION, format!("Basic {}", app.token()))
        .send()
        .await
        .unwrap();

    assert_unauthorized(response, NO_TOKEN).await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/api/me"))
        .header(header::AUTHORIZATION, format!("bEaReR {}", app.token()))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_authorization_headers_are_rejected_even_when_both_are_valid() {
    let app = spawn_app().await;
    let bearer = format!("Bearer {}", app.token());

    let response = app
        .client
        .get(app.url("/api/me"))
        .header(header::AUTHORIZATION, &bearer)
        .header(header::AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();

    assert_unauthorized(response, INVALID_TOKEN).await;
}

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let app = spawn_app().await;

    let response = app
        .get_anonymous(&format!("/api/me?access_token={}", app.token()))
        .await;

    assert_unauthorized(response, NO_TOKEN).await;
}

#[tokio::test]
async fn an_oversized_token_is_rejected_though_its_signature_is_valid() {
    let app = spawn_app().await;
    let mut big = claims(&app);
    big.insert("padding".to_owned(), json!("x".repeat(5 * 1024)));
    let mut huge = claims(&app);
    huge.insert("padding".to_owned(), json!("x".repeat(8 * 1024)));

    // A large token within the 8 KiB limit is fine: the limit is about size.
    assert_accepted(&app, &signed(&big)).await;
    let token = signed(&huge);
    assert!(token.len() > 8 * 1024);
    assert_rejected(&app, &token).await;
}

// ---- malformed tokens -----------------------------------------------------

#[tokio::test]
async fn malformed_tokens_are_rejected() {
    let app = spawn_app().await;
    let valid = app.token();
    let parts: Vec<&str> = valid.split('.').collect();
    let header_json = base64url(br#"{"alg":"RS256","typ":"JWT","kid":"rsa-1"}"#);

    for token in [
        "not-a-jwt".to_owned(),
        "a.b.c".to_owned(),
        format!("{}.{}", parts[0], parts[1]),
        format!(
            "{}.{}.{}.{}.{}",
            parts[0], parts[1], parts[2], parts[1], parts[2]
        ),
        format!("{}..{}", parts[0], parts[2]),
        format!("{header_json}.{}.{}", base64url(b"not json"), parts[2]),
        format!("{}.{}.{}", base64url(b"{not json"), parts[1], parts[2]),
        format!("{}.{}.%%%", parts[0], parts[1]),
    ] {
        assert_rejected(&app, &token).await;
    }
}

// ---- signatures and algorithms --------------------------------------------

#[tokio::test]
async fn a_token_signed_by_another_key_under_a_known_kid_is_rejected() {
    let app = spawn_app().await;
    // KEYS.rsa[2] is never published; the header names the published key.
    let mut header = KEYS.rsa[2].header();
    header.kid = Some(KEYS.rsa[0].kid.clone());

    assert_rejected(&app, &KEYS.rsa[2].sign(&header, &claims(&app))).await;
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let app = spawn_app().await;
    let valid = app.idp.token(TEST_SUBJECT, &["viewer"]);
    let parts: Vec<&str> = valid.split('.').collect();
    let mut escalated = claims(&app);
    escalated.insert("sub".to_owned(), json!("someone-else"));
    let payload = base64url(serde_json::to_string(&escalated).unwrap().as_bytes());

    assert_rejected(&app, &format!("{}.{payload}.{}", parts[0], parts[2])).await;
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let app = spawn_app().await;
    let header = base64url(br#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#);
    let payload = base64url(serde_json::to_string(&claims(&app)).unwrap().as_bytes());

    // Unsigned, and with a made-up signature (so it is not stopped by shape alone).
    assert_rejected(&app, &format!("{header}.{payload}.")).await;
    assert_rejected(&app, &format!("{header}.{payload}.{}", base64url(b"sig"))).await;
    let upper = base64url(br#"{"alg":"NONE","kid":"rsa-1"}"#);
    assert_rejected(&app, &format!("{upper}.{payload}.{}", base64url(b"sig"))).await;
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    // Key confusion: a verifier that let the token pick the algorithm would
    // check this HMAC with the RSA public key's bytes, which everyone knows.
    let app = spawn_app().await;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KEYS.rsa[0].kid.clone());
    let claims = claims(&app);

    for secret in [
        KEYS.rsa[0].public_der.clone(),
        serde_json::to_vec(&KEYS.rsa[0].jwk()).unwrap(),
    ] {
        let token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_rejected(&app, &token).await;
    }
}

#[tokio::test]
async fn an_algorithm_of_another_key_type_is_rejected() {
    // An RS256 header naming the EC key: the allowlist comes from the key.
    let idp = TestIdp::serving(&[&KEYS.rsa[0], &KEYS.ec]).await;
    let app = spawn_app_against(idp, |_| {}).await;
    app.wait_until_ready().await;
    let mut header = KEYS.rsa[0].header();
    header.kid = Some(KEYS.ec.kid.clone());

    assert_rejected(&app, &signed_with_header(&header, &app)).await;
}

#[tokio::test]
async fn an_unknown_crit_header_is_rejected() {
    let app = spawn_app().await;
    let mut header = KEYS.rsa[0].header();
    header.crit = Some(vec!["https://example.com/unknown-extension".to_owned()]);

    assert_rejected(&app, &signed_with_header(&header, &app)).await;
}

#[tokio::test]
async fn a_typ_other_than_at_jwt_or_jwt_is_rejected() {
    let app = spawn_app().await;
    let mut header = KEYS.rsa[0].header();
    for typ in ["at+jwt", "JWT", "application/at+jwt"] {
        header.typ = Some(typ.to_owned());
        assert_accepted(&app, &signed_with_header(&header, &app)).await;
    }
    header.typ = Some("dpop+jwt".to_owned());

    assert_rejected(&app, &signed_with_header(&header, &app)).await;
}

#[tokio::test]
async fn jku_x5u_and_embedded_jwk_headers_are_never_used() {
    let app = spawn_app().await;
    // An attacker's provider, serving the attacker's key.
    let attacker = TestIdp::serving(&[&KEYS.rsa[2]]).await;
    let claims = claims(&app);

    let mut jku = KEYS.rsa[2].header();
    jku.jku = Some(attacker.jwks_uri());
    let mut x5u = KEYS.rsa[2].header();
    x5u.x5u = Some(attacker.jwks_uri());
    // The attacker's public key embedded, under the name of the real key.
    let mut jwk = KEYS.rsa[2].header();
    jwk.kid = Some(KEYS.rsa[0].kid.clone());
    jwk.jwk = Some(serde_json::from_value(KEYS.rsa[2].jwk()).unwrap());

    for header in [jku, x5u, jwk] {
        assert_rejected(&app, &KEYS.rsa[2].sign(&header, &claims)).await;
    }
    assert_eq!(
        attacker.requests(),
        0,
        "the service contacted the jku/x5u server"
    );
}

// ---- claims ---------------------------------------------------------------

/// Asserts that the usual token with `edit` applied to its claims is rejected.
async fn assert_rejected_with(app: &TestApp, edit: impl FnOnce(&mut Map<String, Value>)) {
    let mut claims = claims(app);
    edit(&mut claims);
    assert_rejected(app, &signed(&claims)).await;
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let app = spawn_app().await;
    // Past the 60 s leeway.
    assert_rejected_with(&app, |c| c["exp"] = json!(now() - 120)).await;
}

#[tokio::test]
async fn a_token_not_valid_yet_is_rejected() {
    let app = spawn_app().await;
    assert_rejected_with(&app, |c| {
        c.insert("nbf".to_owned(), json!(now() + 300));
    })
    .await;
}

#[tokio::test]
async fn a_token_issued_in_the_future_is_rejected() {
    let app = spawn_app().await;
    assert_rejected_with(&app, |c| c["iat"] = json!(now() + 300)).await;
}

#[tokio::test]
async fn a_wrong_issuer_is_rejected_even_one_slash_apart() {
    let app = spawn_app().await;
    let issuer = app.idp.issuer.clone();
    let one_slash_apart = match issuer.strip_suffix('/') {
        Some(without) => without.to_owned(),
        None => format!("{issuer}/"),
    };

    assert_rejected_with(&app, |c| c["iss"] = json!("https://evil.example.com")).await;
    assert_rejected_with(&app, |c| c["iss"] = json!(one_slash_apart)).await;
    assert_rejected_with(&app, |c| c["iss"] = json!([issuer])).await;
    assert_rejected_with(&app, |c| {
        c.remove("iss");
    })
    .await;
}

#[tokio::test]
async fn a_wrong_audience_is_rejected() {
    let app = spawn_app().await;
    assert_rejected_with(&app, |c| c["aud"] = json!("another-api")).await;
    assert_rejected_with(&app, |c| c["aud"] = json!(["another-api", "account"])).await;
    assert_rejected_with(&app, |c| {
        c.remove("aud");
    })
    .await;
}

#[tokio::test]
async fn a_token_without_exp_is_rejected() {
    let app = spawn_app().await;
    assert_rejected_with(&app, |c| {
        c.remove("exp");
    })
    .await;
}

#[tokio::test]
async fn dates_that_are_strings_make_the_token_malformed() {
    let app = spawn_app().await;
    let later = (now() + 300).to_string();
    let earlier = (now() - 10).to_string();
    assert_rejected_with(&app, |c| c["exp"] = json!(later)).await;
    assert_rejected_with(&app, |c| {
        c.insert("nbf".to_owned(), json!(earlier));
    })
    .await;
    assert_rejected_with(&app, |c| c["iat"] = json!(earlier)).await;
}

#[tokio::test]
async fn a_token_without_a_subject_is_rejected() {
    let app = spawn_app().await;
    assert_rejected_with(&app, |c| {
        c.remove("sub");
    })
    .await;
    assert_rejected_with(&app, |c| c["sub"] = json!("")).await;
    assert_rejected_with(&app, |c| c["sub"] = json!(42)).await;
}

// ---- keys: unknown kids, rotation, availability ---------------------------

#[tokio::test]
async fn an_unknown_kid_is_rejected_after_one_refresh_of_the_keys() {
    let app = spawn_app_with(|s| s.auth.jwks_refresh_cooldown = Duration::ZERO).await;
    let fetches = app.idp.jwks_fetches();

    assert_rejected(&app, &KEYS.rsa[2].token(&claims(&app))).await;

    assert_eq!(app.idp.jwks_fetches(), fetches + 1);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_key_fetch_per_interval() {
    let app = spawn_app().await; // a 60 s cooldown
    let fetches = app.idp.jwks_fetches();

    let mut requests = tokio::task::JoinSet::new();
    for n in 0..50 {
        let mut header = KEYS.rsa[2].header();
        header.kid = Some(format!("random-kid-{n}"));
        let token = KEYS.rsa[2].sign(&header, &claims(&app));
        let request = app.client.get(app.url("/api/me")).bearer_auth(token);
        requests.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses = requests.join_all().await;

    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        app.idp.jwks_fetches() <= fetches + 1,
        "{} key fetches for 50 unknown kids",
        app.idp.jwks_fetches() - fetches
    );
}

#[tokio::test]
async fn a_rotated_key_is_used_without_restart_and_old_tokens_last_until_it_is_removed() {
    let app = spawn_app_with(|s| s.auth.jwks_refresh_cooldown = Duration::ZERO).await;
    let old_token = signed(&claims(&app));
    let new_token = KEYS.rsa[1].token(&claims(&app));
    assert_accepted(&app, &old_token).await;
    assert_rejected(&app, &new_token).await;

    // The provider publishes a new key: its tokens work at once (their unknown
    // kid triggers a refresh), and the old key's tokens still work.
    app.idp.serve_keys(&[&KEYS.rsa[0], &KEYS.rsa[1]]);
    assert_accepted(&app, &new_token).await;
    assert_accepted(&app, &old_token).await;

    // The old key is withdrawn: once the service has read the key set again,
    // the old tokens are refused, cached or not.
    app.idp.serve_keys(&[&KEYS.rsa[1]]);
    assert_rejected(&app, &KEYS.rsa[2].token(&claims(&app))).await; // a refresh
    assert_rejected(&app, &old_token).await;
    assert_accepted(&app, &new_token).await;
}

#[tokio::test]
async fn the_periodic_refresh_picks_up_new_keys_and_drops_removed_ones() {
    let app = spawn_app_with(|s| {
        s.auth.jwks_refresh_interval = Duration::from_millis(100);
        s.auth.jwks_refresh_cooldown = Duration::from_secs(3600); // no refresh on unknown kids
    })
    .await;
    let old_token = signed(&claims(&app));
    let new_token = KEYS.rsa[1].token(&claims(&app));
    assert_accepted(&app, &old_token).await;

    app.idp.serve_keys(&[&KEYS.rsa[1]]);

    eventually(&app, &new_token, StatusCode::OK).await;
    eventually(&app, &old_token, StatusCode::UNAUTHORIZED).await;
}

/// Polls `/api/me` with `token` until it answers `status` (10 s at most).
async fn eventually(app: &TestApp, token: &str, status: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while me(app, token).await.status() != status {
        assert!(Instant::now() < deadline, "still not {status} after 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_service_starts_while_the_idp_is_down_and_is_ready_once_it_is_back() {
    let idp = TestIdp::start().await;
    idp.set_available(false);
    let app = spawn_app_against(idp, |_| {}).await;
    let token = app.token();

    let ready = app.get_anonymous("/health/ready").await;
    assert_problem(ready, StatusCode::SERVICE_UNAVAILABLE).await;
    // No keys, so no token can be checked: 503, not 401.
    assert_problem(me(&app, &token).await, StatusCode::SERVICE_UNAVAILABLE).await;

    app.idp.set_available(true);
    app.wait_until_ready().await;

    assert_accepted(&app, &token).await;
}

#[tokio::test]
async fn every_api_route_requires_a_token() {
    let app = spawn_app().await;
    let id = "4b6f2b8e-0d3e-4c1b-9a57-6f1e2d3c4b5a";

    for (method, path) in [
        ("GET", "/api/me".to_owned()),
        ("GET", "/api/items".to_owned()),
        ("POST", "/api/items".to_owned()),
        ("GET", format!("/api/items/{id}")),
        ("PUT", format!("/api/items/{id}")),
        ("DELETE", format!("/api/items/{id}")),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(&path))
            .json(&json!({ "name": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        assert_unauthorized(response, NO_TOKEN).await;
    }
}
