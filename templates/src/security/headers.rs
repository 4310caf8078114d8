//! Security response headers (the `headers` feature): the set Helmet and the
//! OWASP Secure Headers Project recommend for an API, on every response, errors
//! included (the layers sit outside everything that answers).
//!
//! **To change a value, edit [`SECURITY_HEADERS`]**: it is the only place they
//! are written. One layer ([`layer`]) sets them all, overriding whatever a
//! handler set, except `Cache-Control`, which a handler may set itself for
//! data that is safe to cache. The header values are built once, at the
//! first response, and shared by every response after it.

use std::sync::LazyLock;

use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderName, HeaderValue, Response};
use tower::util::MapResponseLayer;

/// Every security header and its value. A JSON API renders no documents, so
/// the policies forbid everything a browser could do with a response.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    // Nothing may be loaded or framed by a response of this API.
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    // HTTPS only, for a year, subdomains included. Browsers ignore it over plain
    // HTTP, so it is harmless in development.
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cross-origin-embedder-policy", "require-corp"),
    ("origin-agent-cluster", "?1"),
    (
        "permissions-policy",
        "accelerometer=(), autoplay=(), camera=(), display-capture=(), fullscreen=(), \
         geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), \
         picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), usb=(), \
         xr-spatial-tracking=()",
    ),
    ("x-dns-prefetch-control", "off"),
    ("x-permitted-cross-domain-policies", "none"),
    // The old XSS auditor did more harm than good; `0` turns it off (Helmet, OWASP).
    ("x-xss-protection", "0"),
];

/// Responses may carry tokens' subjects and the caller's data: no cache (the
/// browser's, a proxy's) keeps them. Set on every response (so on every
/// authenticated one), unless a handler chose its own `Cache-Control`.
pub const CACHE_CONTROL_VALUE: &str = "no-store";

/// Headers that advertise the software; hyper and axum send none, this makes
/// sure nothing added later does.
const REMOVED: &[&str] = &["server", "x-powered-by"];

/// [`SECURITY_HEADERS`] as header names and values. Cloning one is a reference
/// to static bytes: no allocation per response.
static HEADERS: LazyLock<Vec<(HeaderName, HeaderValue)>> = LazyLock::new(|| {
    SECURITY_HEADERS
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            )
        })
        .collect()
});

/// The layer that sets the security headers on every response through it.
pub fn layer<B>() -> MapResponseLayer<fn(Response<B>) -> Response<B>> {
    MapResponseLayer::new(set_headers)
}

/// Sets every header of [`SECURITY_HEADERS`] (overriding), `Cache-Control`
/// unless the handler chose one, and removes the banners.
fn set_headers<B>(mut response: Response<B>) -> Response<B> {
    let headers = response.headers_mut();
    // Grown once rather than once per header.
    headers.reserve(HEADERS.len() + 1);
    for (name, value) in HEADERS.iter() {
        headers.insert(name.clone(), value.clone());
    }
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
    }
    for name in REMOVED {
        headers.remove(*name);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_value_is_a_valid_header() {
        // `from_static` panics on invalid input: check them all once here
        // rather than at the first request.
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(HeaderName::from_static(name).as_str(), *name);
            HeaderValue::from_static(value);
        }
    }

    #[test]
    fn every_header_overrides_the_handlers_except_its_own_cache_control() {
        let response = Response::builder()
            .header("x-frame-options", "SAMEORIGIN")
            .header(CACHE_CONTROL, "max-age=60")
            .header("server", "some-framework/1.0")
            .body(())
            .unwrap();

        let headers = set_headers(response).into_parts().0.headers;

        for (name, value) in SECURITY_HEADERS {
            let values: Vec<_> = headers.get_all(*name).iter().collect();
            assert_eq!(values, [*value], "{name}");
        }
        assert_eq!(headers[CACHE_CONTROL], "max-age=60");
        assert!(!headers.contains_key("server"));
    }

    #[test]
    fn hsts_lasts_at_least_a_year_and_covers_subdomains() {
        let (_, hsts) = SECURITY_HEADERS
            .iter()
            .find(|(name, _)| *name == "strict-transport-security")
            .unwrap();
        let max_age: u64 = hsts
            .split(';')
            .find_map(|part| part.trim().strip_prefix("max-age="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(max_age >= 31_536_000 && hsts.contains("includeSubDomains"));
    }
}
