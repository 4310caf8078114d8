//! Extractors whose rejections are [`ApiError`]s, so that every malformed request
//! gets the same problem+json shape as the errors handlers return.
//!
//! Use these instead of `axum::Json`, `axum::extract::Path` and
//! `axum::extract::Query` in handlers: axum's own rejections are plain text.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{ApiError, FieldError};

/// A JSON body that has been deserialized *and* validated.
///
/// | problem                                     | status |
/// | ------------------------------------------- | ------ |
/// | no JSON `Content-Type`                      | 415    |
/// | body over the limit (`DefaultBodyLimit`)    | 413    |
/// | not JSON at all, or data after the document | 400    |
/// | wrong type, unknown or missing field        | 422    |
/// | breaks a `#[validate(...)]` rule            | 422    |
///
/// 422 responses list every field error with a JSON pointer (`#/name`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidatedJson<T>(pub T);

impl<T, S> FromRequest<S> for ValidatedJson<T>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(&request) {
            return Err(ApiError::UnsupportedMediaType(
                "expected `Content-Type: application/json`".to_owned(),
            ));
        }

        // Reading through `Bytes` applies the router's `DefaultBodyLimit`.
        let body =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                    _ => ApiError::BadRequest(rejection.body_text()),
                })?;

        let value = deserialize::<T>(&body)?;
        value
            .validate()
            .map_err(|errors| ApiError::Validation(field_errors(&errors)))?;
        Ok(Self(value))
    }
}

/// `application/json` or any `application/*+json`, parameters (`charset`) ignored.
fn has_json_content_type(request: &Request) -> bool {
    let Some(value) = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Deserializes `body`, telling syntax errors (400) from data errors (422) and
/// locating data errors with a JSON pointer.
///
/// The body must be exactly one JSON document (whitespace around it aside):
/// `{"name":"a"}{"name":"b"}` or `{"name":"a"} xyz` is a 400, not the first
/// document with the rest ignored, because a proxy or firewall that reads the
/// body differently would see another request than the service does.
fn deserialize<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut *deserializer).map_err(|error| {
        let inner = error.inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let (pointer, detail) = locate(error.path(), inner);
                ApiError::Validation(vec![FieldError::body(pointer, detail)])
            }
            // Syntax, premature end of input, or an I/O error (cannot happen
            // when reading from a slice): the body is not usable JSON.
            _ => ApiError::BadRequest(format!("the request body is not valid JSON: {inner}")),
        }
    })?;
    deserializer.end().map_err(|error| {
        ApiError::BadRequest(format!(
            "the request body must be a single JSON document: {error}"
        ))
    })?;
    Ok(value)
}

/// Turns a serde error into a JSON pointer and a message without serde_json's
/// "at line 1 column 9" suffix, which means nothing once the pointer is given.
fn locate(path: &serde_path_to_error::Path, error: &serde_json::Error) -> (String, String) {
    let mut pointer = String::from("#");
    for segment in path.iter() {
        use serde_path_to_error::Segment;
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => push_token(&mut pointer, key),
            Segment::Enum { variant } => push_token(&mut pointer, variant),
            Segment::Unknown => pointer.push_str("/?"),
        }
    }

    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();

    // A missing field is reported at its parent object (serde never entered the
    // field) and its name is only in serde's message, "missing field `name`":
    // point at the field itself. (Unknown fields are already in the path.)
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        push_token(&mut pointer, field);
    }
    (pointer, message)
}

/// Appends one reference token, escaped per RFC 6901 (`~` → `~0`, `/` → `~1`).
fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
}

/// Flattens validator's nested error tree into one entry per failed rule,
/// sorted by pointer so responses are deterministic.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    fn walk(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
        for (field, kind) in errors.errors() {
            let mut pointer = prefix.to_owned();
            push_token(&mut pointer, field);
            match kind {
                ValidationErrorsKind::Field(failures) => {
                    out.extend(failures.iter().map(|failure| {
                        let detail = failure
                            .message
                            .clone()
                            .unwrap_or_else(|| Cow::Owned(format!("failed `{}`", failure.code)));
                        FieldError::body(pointer.clone(), detail)
                    }));
                }
                ValidationErrorsKind::Struct(inner) => walk(&pointer, inner, out),
                ValidationErrorsKind::List(items) => {
                    for (index, inner) in items {
                        walk(&format!("{pointer}/{index}"), inner, out);
                    }
                }
            }
        }
    }

    let mut out = Vec::new();
    walk("#", errors, &mut out);
    out.sort_by(|a, b| a.location.cmp(&b.location));
    out
}

/// `axum::extract::Path` with a problem+json 400 on a value that does not parse
/// (e.g. `/api/items/not-a-uuid`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// `axum::extract::Query` with a problem+json 400 on a query string that does
/// not deserialize. Range checks belong in the handler (422 naming the parameter).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        #[validate(length(min = 1, message = "must not be empty"))]
        name: String,
        tags: Option<Vec<u32>>,
    }

    fn pointer_of(error: ApiError) -> String {
        match error {
            ApiError::Validation(errors) => match &errors[0].location {
                crate::error::FieldLocation::Pointer(pointer) => pointer.clone(),
                other => panic!("unexpected location {other:?}"),
            },
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_wrong_type_points_at_the_field() {
        let error = deserialize::<Input>(br#"{"name": 5}"#).unwrap_err();
        assert_eq!(pointer_of(error), "#/name");
    }

    #[test]
    fn a_wrong_type_inside_an_array_points_at_the_element() {
        let error = deserialize::<Input>(br#"{"name": "a", "tags": [1, "x"]}"#).unwrap_err();
        assert_eq!(pointer_of(error), "#/tags/1");
    }

    #[test]
    fn missing_and_unknown_fields_point_at_the_field() {
        let missing = deserialize::<Input>(br#"{"tags": null}"#).unwrap_err();
        assert_eq!(pointer_of(missing), "#/name");
        let unknown = deserialize::<Input>(br#"{"name": "a", "a/b": 1}"#).unwrap_err();
        assert_eq!(pointer_of(unknown), "#/a~1b");
    }

    #[test]
    fn broken_json_is_a_bad_request() {
        let error = deserialize::<Input>(br#"{"name": "#).unwrap_err();
        assert!(matches!(error, ApiError::BadRequest(_)), "{error:?}");
    }

    #[test]
    fn data_after_the_document_is_a_bad_request() {
        for body in [
            &br#"{"name": "a"}{"name": "b", "owner": "x"}"#[..],
            br#"{"name": "a"} xyz"#,
            br#"{"name": "a"},"#,
        ] {
            let error = deserialize::<Input>(body).unwrap_err();
            assert!(matches!(error, ApiError::BadRequest(_)), "{error:?}");
        }
        // Whitespace around the document is not data.
        deserialize::<Input>(b" {\"name\": \"a\"}\r\n\t ").unwrap();
    }

    #[test]
    fn validation_failures_are_listed_with_pointers() {
        let errors = Input {
            name: String::new(),
            tags: None,
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            field_errors(&errors),
            vec![FieldError::body("#/name", "must not be empty")]
        );
    }
}
