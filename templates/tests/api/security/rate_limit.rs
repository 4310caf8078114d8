//! Rate limits: exhausted and refilled, per client IP and per subject, and
//! `X-Forwarded-For` believed only from a trusted proxy.
//!
//! The limits are tiny (a few tokens, one back per minute) so that nothing
//! refills during a test, whatever the machine's load; the refill test uses a
//! short period and waits for the token with a generous deadline.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};

use crate::helpers::{TestApp, assert_problem, spawn_app_against};
use crate::idp::TestIdp;

/// Starts the app with buckets of `burst` tokens, one back every `period`,
/// without waiting for readiness (`/health/live` needs no keys).
async fn spawn(burst: u32, period: Duration, trust_loopback_proxy: bool) -> TestApp {
    spawn_app_against(TestIdp::start().await, |settings| {
        let rate = &mut settings.rate_limit;
        rate.burst = NonZeroU32::new(burst).unwrap();
        rate.period = period;
        if trust_loopback_proxy {
            // The test client plays the proxy: its X-Forwarded-For is believed.
            rate.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        }
    })
    .await
}

/// Waits until the keys are loaded, each poll as a new client behind the
/// trusted proxy, so that waiting costs the tested buckets nothing.
async fn wait_until_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for n in 0u32.. {
        let response = app
            .client
            .get(app.url("/health/ready"))
            .header("x-forwarded-for", format!("203.0.113.{}", n % 250 + 1))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            return;
        }
        assert!(Instant::now() < deadline, "not ready within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn get(
    app: &TestApp,
    path: &str,
    forwarded_for: Option<&str>,
    token: Option<&str>,
) -> Response {
    let mut request = app.client.get(app.url(path));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn header(response: &Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 429 problem with `Retry-After` (1..=`max_wait` s) and the IETF
/// headers for `policy`.
async fn assert_limited(response: Response, policy: &str, max_wait: u64) {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=max_wait).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let status = header(&response, "ratelimit");
    assert!(
        status
            .iter()
            .any(|item| item.starts_with(&format!("\"{policy}\";r=0;t="))),
        "{status:?}"
    );
    let policies = header(&response, "ratelimit-policy");
    assert!(
        policies
            .iter()
            .any(|item| item.starts_with(&format!("\"{policy}\";q="))),
        "{policies:?}"
    );
    let body = assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["status"], 429);
}

#[tokio::test]
async fn a_client_ip_gets_its_burst_then_429_with_retry_after_and_ratelimit_headers() {
    let app = spawn(3, Duration::from_secs(60), false).await;

    for remaining in (0..3).rev() {
        let response = get(&app, "/health/live", None, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "ratelimit-policy"), ["\"ip\";q=3;w=180"]);
        let status = header(&response, "ratelimit");
        assert!(
            status[0].starts_with(&format!("\"ip\";r={remaining};t=")),
            "{status:?}"
        );
    }

    assert_limited(get(&app, "/health/live", None, None).await, "ip", 60).await;
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_without_a_trusted_proxy_does_not_bypass_the_limit() {
    let app = spawn(3, Duration::from_secs(60), false).await;

    let mut statuses = Vec::new();
    for n in 1..=6 {
        let spoofed = format!("198.51.100.{n}");
        statuses.push(
            get(&app, "/health/live", Some(&spoofed), None)
                .await
                .status(),
        );
    }

    assert_eq!(
        statuses,
        [[StatusCode::OK; 3], [StatusCode::TOO_MANY_REQUESTS; 3]].concat()
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let app = spawn(2, Duration::from_secs(60), true).await;
    let client = Some("198.51.100.7");

    for _ in 0..2 {
        assert_eq!(
            get(&app, "/health/live", client, None).await.status(),
            StatusCode::OK
        );
    }
    assert_limited(get(&app, "/health/live", client, None).await, "ip", 60).await;
    // A forged entry in front of the proxy's does not pick another bucket.
    let forged = get(&app, "/health/live", Some("10.1.1.1, 198.51.100.7"), None).await;
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another client is not affected.
    let other = get(&app, "/health/live", Some("198.51.100.8"), None).await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_addresses_of_one_ipv6_network_share_a_bucket() {
    // The attack: 14 addresses of one /64 against a burst of 5.
    let app = spawn(5, Duration::from_secs(60), true).await;

    let mut statuses = Vec::new();
    for n in 1..=14 {
        let ip = format!("2001:db8:1:2::{n:x}");
        statuses.push(get(&app, "/health/live", Some(&ip), None).await.status());
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::OK; 5].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS; 9]
        ]
        .concat()
    );
    // Another /64 is another client; IPv4 clients are still one per address.
    for other in ["2001:db8:1:3::1", "198.51.100.20", "198.51.100.21"] {
        let response = get(&app, "/health/live", Some(other), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{other}");
    }
}

#[tokio::test]
async fn ipv4_peers_of_a_dual_stack_socket_have_a_bucket_each() {
    // On `[::]` IPv4 peers arrive as `::ffff:a.b.c.d`, all in one /64: each
    // must still be a client of its own.
    let app = spawn_app_against(TestIdp::start().await, |settings| {
        settings.bind_addr = "[::]:0".parse().unwrap();
        settings.rate_limit.burst = NonZeroU32::new(2).unwrap();
        settings.rate_limit.period = Duration::from_secs(60);
    })
    .await;
    let from = |ip: [u8; 4]| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap()
    };
    let first = from([127, 0, 0, 1]);
    for _ in 0..2 {
        let response = first.get(app.url("/health/live")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let limited = first.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);

    let second = from([127, 0, 0, 2]);
    let response = second.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "127.0.0.2 is another client"
    );
}

#[tokio::test]
async fn a_subject_is_limited_whatever_address_it_comes_from() {
    let app = spawn(3, Duration::from_secs(60), true).await;
    wait_until_ready(&app).await;
    let alice = app.idp.token("alice", &["viewer"]);
    let bob = app.idp.token("bob", &["viewer"]);

    // Each request from a fresh address: only the subject's bucket runs out.
    for n in 1..=3 {
        let ip = format!("198.51.100.{n}");
        let response = get(&app, "/api/items", Some(&ip), Some(&alice)).await;
        assert_eq!(response.status(), StatusCode::OK, "request {n}");
        let status = header(&response, "ratelimit");
        assert!(
            status.iter().any(|s| s.starts_with("\"subject\";")),
            "{status:?}"
        );
    }
    let response = get(&app, "/api/items", Some("198.51.100.4"), Some(&alice)).await;
    assert_limited(response, "subject", 60).await;

    let response = get(&app, "/api/items", Some("198.51.100.5"), Some(&bob)).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "another subject has its own bucket"
    );
}

#[tokio::test]
async fn an_exhausted_bucket_refills_over_time() {
    // One token, back after 2 s.
    let app = spawn(1, Duration::from_secs(2), false).await;

    assert_eq!(
        get(&app, "/health/live", None, None).await.status(),
        StatusCode::OK
    );
    let limited = get(&app, "/health/live", None, None).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");

    // Wait as told, then poll with a generous deadline (a loaded machine may be slow).
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = get(&app, "/health/live", None, None).await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(Instant::now() < deadline, "the bucket never refilled");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
