//! Reading the access token from the request: only from exactly one
//! `Authorization: Bearer <token>` header (RFC 6750 §2.1). Never from the query
//! string (it ends up in logs and browser history) nor from the body.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use super::Rejection;

/// The largest token accepted, in bytes. Access tokens from Keycloak, Authentik
/// and most providers are 1–3 KiB; the bound keeps an attacker from making every
/// request parse and hash megabytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The bearer token of the request.
///
/// No `Authorization` header, or one with another scheme (`Basic ...`), means
/// no bearer token was sent: [`Rejection::Missing`]. Everything else that is
/// not one well-formed bearer token is [`Rejection::Invalid`].
pub fn token(headers: &HeaderMap) -> Result<&str, Rejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(Rejection::Missing("no Authorization header"));
    };
    // Two headers could be read differently by a proxy and by us; refuse both.
    if values.next().is_some() {
        return Err(invalid("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| invalid("the Authorization header is not visible ASCII"))?;

    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    // Auth schemes are case-insensitive (RFC 9110 §11.1).
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::Missing("the Authorization scheme is not Bearer"));
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(invalid("the bearer token is empty"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid("the bearer token is larger than the limit"));
    }
    if token.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(invalid("the bearer token contains whitespace"));
    }
    Ok(token)
}

fn invalid(reason: &str) -> Rejection {
    Rejection::Invalid(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        for value in [
            "Bearer abc.def.ghi",
            "bearer abc.def.ghi",
            "BEARER abc.def.ghi",
        ] {
            assert_eq!(token(&headers(&[value])), Ok("abc.def.ghi"), "{value}");
        }
    }

    #[test]
    fn no_header_or_another_scheme_is_a_missing_token() {
        assert!(matches!(token(&headers(&[])), Err(Rejection::Missing(_))));
        assert!(matches!(
            token(&headers(&["Basic dXNlcjpwYXNz"])),
            Err(Rejection::Missing(_))
        ));
        // A scheme that merely starts like Bearer is another scheme.
        assert!(matches!(
            token(&headers(&["Bearerabc.def.ghi"])),
            Err(Rejection::Missing(_))
        ));
    }

    #[test]
    fn two_headers_an_empty_token_or_an_oversized_one_are_invalid() {
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        for case in [
            vec!["Bearer a.b.c", "Bearer a.b.c"],
            vec!["Bearer "],
            vec!["Bearer"],
            vec!["Bearer a.b.c extra"],
            vec![long.as_str()],
        ] {
            assert!(
                matches!(token(&headers(&case)), Err(Rejection::Invalid(_))),
                "{case:?}"
            );
        }
        let at_limit = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES));
        assert!(token(&headers(&[&at_limit])).is_ok());
    }
}
