//! Limits every request is held to, whatever features are on: the request
//! headers ([`header_size`], in `security::wrap`), the body ([`BODY_LIMIT`])
//! and the time a request may take ([`REQUEST_TIMEOUT`]), which `startup` puts
//! next to the routes. hyper already refuses a request head larger than its
//! read buffer (about 400 KiB) or with more than 100 headers; the header check
//! here is much tighter and answers with a problem document.

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Largest request body accepted, in bytes. Larger bodies get 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest a request may take before it is abandoned with 503. Also bounds how
/// long graceful shutdown can wait for in-flight requests.
///
/// 503, not 408: 408 says the *client* was too slow to send its request (RFC
/// 9110 §15.5.9), and clients may resend it at once; here the server was too
/// slow to answer, which is 503 (as a gateway would say 504).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The most bytes of request headers (names and values) accepted. Access tokens
/// are at most 8 KiB (`auth::bearer::MAX_TOKEN_BYTES`); 16 KiB leaves room for
/// the rest, like the defaults of common proxies (nginx: 8–32 KiB).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Answers 431 (RFC 6585) when the request's headers exceed [`MAX_HEADER_BYTES`].
pub async fn header_size(request: Request, next: Next) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge.into_response();
    }
    next.run(request).await
}
