//! The one error type every handler and extractor returns.
//!
//! [`ApiError`] renders as an RFC 9457 problem document
//! (`Content-Type: application/problem+json`):
//!
//! ```json
//! { "type": "about:blank", "title": "Unprocessable Entity", "status": 422,
//!   "detail": "the request body has invalid fields",
//!   "errors": [ { "pointer": "#/name", "detail": "must not be blank" } ] }
//! ```
//!
//! Client errors carry a `detail` meant for the caller. Server errors never do:
//! their cause is logged (inside the request's span, so with its request id)
//! and the caller gets a fixed, opaque message.

use std::error::Error as StdError;
use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of RFC 9457 problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Everything a request can fail with. Add a variant here rather than building
/// responses by hand, so that every error keeps the same shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (unparsable JSON, bad path parameter, ...).
    #[error("bad request: {0}")]
    BadRequest(String),

    /// 401: no credentials were sent. Answered with a bare
    /// `WWW-Authenticate: Bearer` challenge (RFC 6750 §3.1).
    #[error("unauthorized: {0}")]
    Unauthorized(String),

    /// 401: an access token was sent and is not valid. Answered with
    /// `WWW-Authenticate: Bearer error="invalid_token"`; the detail never says
    /// which check failed (the log does).
    #[error("invalid access token")]
    InvalidToken,

    /// 403: the caller is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),

    /// 404: no such resource or route.
    #[error("not found: {0}")]
    NotFound(String),

    /// 409: the request conflicts with the state of the data (a record other
    /// records still refer to cannot be deleted).
    #[error("conflict: {0}")]
    Conflict(String),

    /// 405: the route exists but not with this method. The router adds `Allow`.
    #[error("method not allowed")]
    MethodNotAllowed,

    /// 413: the body is larger than the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,

    /// 415: the body is not JSON.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),

    /// 429: the caller's rate limit is used up. Answered with `Retry-After`
    /// (whole seconds until the next request can succeed).
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },

    /// 431: the request's headers are larger than the limit.
    #[error("request header fields too large")]
    HeadersTooLarge,

    /// 422: well-formed input that breaks the rules, one entry per offending field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),

    /// 503: a dependency (the database, ...) is unavailable or too slow.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),

    /// 500: a bug or an unexpected failure. The source is logged, never returned.
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync + 'static>),
}

impl ApiError {
    /// Wraps any error as an opaque 500.
    pub fn internal(error: impl Into<Box<dyn StdError + Send + Sync + 'static>>) -> Self {
        Self::Internal(error.into())
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The caller-facing explanation. For 500 it is deliberately generic.
    fn detail(&self) -> String {
        match self {
            Self::BadRequest(detail)
            | Self::Unauthorized(detail)
            | Self::Forbidden(detail)
            | Self::NotFound(detail)
            | Self::Conflict(detail)
            | Self::UnsupportedMediaType(detail)
            | Self::ServiceUnavailable(detail) => detail.clone(),
            Self::InvalidToken => "the access token is not valid".to_owned(),
            Self::MethodNotAllowed => "this method is not allowed on this resource".to_owned(),
            Self::PayloadTooLarge => "the request body is too large".to_owned(),
            Self::Validation(_) => "the request has invalid fields".to_owned(),
            Self::TooManyRequests { .. } => "too many requests, retry later".to_owned(),
            Self::HeadersTooLarge => "the request headers are too large".to_owned(),
            Self::Internal(_) => "an unexpected error occurred".to_owned(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(error)
    }
}

/// One invalid input, located either in the JSON body or in the query string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    #[serde(flatten)]
    pub location: FieldLocation,
    pub detail: String,
}

/// Where a [`FieldError`] is; serialized as a single `pointer` or `parameter` member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldLocation {
    /// A JSON Pointer (RFC 6901) into the request body, as a URI fragment: `#/name`.
    Pointer(String),
    /// The name of a query-string parameter: `limit`.
    Parameter(String),
}

impl FieldError {
    /// An error in the body at `pointer`, e.g. `FieldError::body("#/name", "...")`.
    pub fn body(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            location: FieldLocation::Pointer(pointer.into()),
            detail: detail.into(),
        }
    }

    /// An error in the query parameter `name`.
    pub fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            location: FieldLocation::Parameter(name.into()),
            detail: detail.into(),
        }
    }
}

/// The RFC 9457 body. `type` is `about:blank` for all of them: the status code
/// says everything, and the title is then by definition the status's reason phrase.
/// The API description's `Problem` schema is derived from it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// The status's reason phrase.
    title: &'static str,
    /// The HTTP status, repeated.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// What went wrong, for the caller.
    detail: String,
    /// With 422: one entry per invalid field or parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<FieldError>>)]
    errors: Option<&'a [FieldError]>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();

        if let Self::Internal(source) = &self {
            // The only place internal causes are recorded. This runs inside the
            // request span, so the log line carries the request id the client sees.
            tracing::error!(error = %ErrorChain(source.as_ref()), "request failed with an internal error");
        }

        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match &self {
                Self::Validation(errors) => Some(errors),
                _ => None,
            },
        };
        let body = match serde_json::to_vec(&problem) {
            Ok(body) => body,
            // Serializing plain strings and numbers cannot fail; stay safe anyway.
            Err(_) => br#"{"type":"about:blank","status":500}"#.to_vec(),
        };

        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::InvalidToken => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            Self::TooManyRequests { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        response
    }
}

/// Displays an error and all its sources: `outer: middle: root cause`.
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(error: ApiError) -> (StatusCode, Response, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap();
        (
            status,
            Response::from_parts(parts, axum::body::Body::empty()),
            json,
        )
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let error = ApiError::internal(std::io::Error::other("secret table name"));
        let (status, _, json) = body_json(error).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!json.to_string().contains("secret"));
        assert_eq!(json["status"], 500);
    }

    #[tokio::test]
    async fn unauthorized_carries_a_bearer_challenge() {
        let (status, response, json) = body_json(ApiError::Unauthorized("no token".into())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(json["title"], "Unauthorized");
    }

    #[tokio::test]
    async fn an_invalid_token_gets_the_invalid_token_challenge_and_an_opaque_detail() {
        let (status, response, json) = body_json(ApiError::InvalidToken).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(json["detail"], "the access token is not valid");
    }

    #[tokio::test]
    async fn too_many_requests_says_when_to_retry() {
        let (status, response, json) =
            body_json(ApiError::TooManyRequests { retry_after: 7 }).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert_eq!(json["status"], 429);
    }

    #[tokio::test]
    async fn validation_errors_list_each_field() {
        let error = ApiError::Validation(vec![
            FieldError::body("#/name", "must not be blank"),
            FieldError::parameter("limit", "must be at most 100"),
        ]);
        let (status, _, json) = body_json(error).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json["errors"][0]["pointer"], "#/name");
        assert_eq!(json["errors"][1]["parameter"], "limit");
        assert_eq!(json["errors"][1]["detail"], "must be at most 100");
    }
}
