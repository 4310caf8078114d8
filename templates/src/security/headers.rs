//! Security response headers (the `headers` feature): the set Helmet and the
//! OWASP Secure Headers Project recommend for an API, on every response, errors
//! included (the layers sit outside everything that answers).
//!
//! **To change a value, edit [`SECURITY_HEADERS`]**: it is the only place they
//! are written. Each is set with tower-http's `SetResponseHeaderLayer`
//! (overriding whatever a handler set), except `Cache-Control`, which a handler
//! may set itself for data that is safe to cache.

use axum::Router;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;

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

/// Wraps `router` in one `SetResponseHeaderLayer` per header.
pub fn wrap(mut router: Router) -> Router {
    router = router
        .layer(axum::middleware::map_response(remove_banners))
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL_VALUE),
        ));
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    router
}

async fn remove_banners(mut response: Response) -> Response {
    let headers = response.headers_mut();
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
