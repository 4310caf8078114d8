//! Connections are bounded: a client that stops half-way through its headers,
//! or keeps an idle connection, is disconnected after the header-read timeout,
//! and no more than `HTTP_MAX_CONNECTIONS` are served at once. Over raw
//! sockets, since an HTTP client library never misbehaves like this.
//!
//! The apps are not waited for (`/health/live` needs no keys), so that no
//! pooled connection of the test client holds a slot.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;

use super::{closed_within, connect, read_head};
use crate::helpers::{TestApp, spawn_app_against};
use crate::idp::TestIdp;

const LIVE: &[u8] = b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n";

async fn spawn(header_read_timeout: Duration, max_connections: usize) -> TestApp {
    spawn_app_against(TestIdp::start().await, |settings| {
        settings.connections.header_read_timeout = header_read_timeout;
        settings.connections.max_connections = max_connections;
    })
    .await
}

#[tokio::test]
async fn a_connection_stalled_in_its_headers_is_closed_after_the_timeout() {
    let app = spawn(Duration::from_secs(1), 16).await;
    let mut stream = connect(&app).await;
    let started = Instant::now();

    // A head without its final blank line, then silence.
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: test\r\nX-Slow: 1\r\n")
        .await
        .unwrap();

    assert!(
        closed_within(&mut stream, Duration::from_secs(15)).await,
        "a half-sent head is held open"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_timeout() {
    let app = spawn(Duration::from_secs(1), 16).await;
    let mut stream = connect(&app).await;

    assert!(
        closed_within(&mut stream, Duration::from_secs(15)).await,
        "a connection that sends nothing is held open"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let app = spawn(Duration::from_secs(1), 16).await;
    let mut stream = connect(&app).await;

    stream.write_all(LIVE).await.unwrap();
    let head = read_head(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(!head.to_ascii_lowercase().contains("connection: close"));

    // Kept alive, then idle: closed (the rest of the response is read first).
    assert!(
        closed_within(&mut stream, Duration::from_secs(15)).await,
        "an idle keep-alive connection is held open"
    );
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let app = spawn(Duration::from_secs(60), 2).await;
    // Two connections hold both slots (each served once, so surely accepted).
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        stream.write_all(LIVE).await.unwrap();
        assert!(
            read_head(&mut stream, Duration::from_secs(5))
                .await
                .is_some()
        );
        held.push(stream);
    }

    // The kernel completes the third handshake, but the service does not take
    // the connection while both slots are held.
    let mut third = connect(&app).await;
    third.write_all(LIVE).await.unwrap();
    assert_eq!(
        read_head(&mut third, Duration::from_millis(500)).await,
        None,
        "a connection over the cap was served"
    );

    drop(held.pop());
    let head = read_head(&mut third, Duration::from_secs(10))
        .await
        .expect("served once a slot is free");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
}
