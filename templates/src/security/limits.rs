//! Limits every request is held to, whatever features are on.
//!
//! The body limit (413) and the request timeout (503) live in `startup`, next to
//! the routes; this module bounds the request headers. hyper already refuses a
//! request head larger than its read buffer (about 400 KiB) or with more than
//! 100 headers; this check is much tighter and answers with a problem document.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

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
