//! Limits every request is held to, whatever features are on: the request
//! head ([`request_head`], in `security::wrap`: the headers' count and size,
//! and a declared body size), the body ([`BODY_LIMIT`]) and the time a request
//! may take ([`REQUEST_TIMEOUT`]), which `startup` puts next to the routes.
//!
//! hyper's parser is configured (`security::connections`) to let through more
//! than these limits, so that the refusal is this application's: a problem
//! document with the security headers. What is beyond the parser's own limits
//! ([`PARSER_MAX_HEADERS`] headers, a head over about 400 KiB) or is not HTTP
//! (an invalid byte in a header, two different `Content-Length`s) can only be
//! refused by the parser: a bare 400 or 431 and the connection closed.

use std::time::Duration;

use axum::body::HttpBody;
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

/// The most header lines accepted (hyper's own default limit, now enforced
/// here so that the refusal carries a problem document).
pub const MAX_HEADERS: usize = 100;
/// The most header lines hyper's parser reads before it refuses by itself
/// (a bare 431). Above [`MAX_HEADERS`] so that the application answers first;
/// bounded because hyper allocates room for this many per request.
pub const PARSER_MAX_HEADERS: usize = 256;

/// Refuses a request from its head alone, before any handler runs and before
/// a byte of the body is read:
/// - 431 (RFC 6585) when it has more than [`MAX_HEADERS`] headers or more
///   than [`MAX_HEADER_BYTES`] of them;
/// - 413 when its `Content-Length` is above [`BODY_LIMIT`]: the body is never
///   read, so with `Expect: 100-continue` no `100 Continue` is sent either.
pub async fn request_head(request: Request, next: Next) -> Response {
    let headers = request.headers();
    if headers.len() > MAX_HEADERS {
        return ApiError::HeadersTooLarge.into_response();
    }
    let size: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge.into_response();
    }
    // hyper's body knows its `Content-Length` (a chunked body's lower bound
    // is 0: it is limited while it is read).
    if request.body().size_hint().lower() > BODY_LIMIT as u64 {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(request).await
}
