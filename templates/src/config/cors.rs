//! The CORS allowlist (feature `cors`, see `security::cors`).
//!
//! | variable               | meaning                                                    | default                       |
//! | ---------------------- | ---------------------------------------------------------- | ----------------------------- |
//! | `CORS_ALLOWED_ORIGINS` | comma-separated exact origins (`https://app.example.com`) | empty: no cross-origin access |
//!
//! A `*` or `null` origin is refused in every environment: the allowlist is
//! exact origins only.

use axum::http::HeaderValue;

use super::{ConfigError, Vars};

#[derive(Debug, Clone, Default)]
pub struct CorsSettings {
    /// Origins allowed to call the API from a browser, exactly as browsers send
    /// them in `Origin`.
    pub allowed_origins: Vec<HeaderValue>,
}

impl CorsSettings {
    pub(super) fn from_vars<F: Fn(&str) -> Option<String>>(
        vars: &Vars<F>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            allowed_origins: origins(vars.optional("CORS_ALLOWED_ORIGINS"))?,
        })
    }
}

/// Exact origins only: `scheme://host[:port]`, no path, no wildcard, no `null`.
fn origins(value: Option<String>) -> Result<Vec<HeaderValue>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let invalid = |expected: &str| ConfigError::Invalid {
        var: "CORS_ALLOWED_ORIGINS",
        value: Some(value.clone()),
        expected: expected.to_owned(),
    };
    let mut origins = Vec::new();
    for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        if origin.contains('*') || origin.eq_ignore_ascii_case("null") {
            return Err(invalid(
                "expected exact origins such as https://app.example.com; `*` and `null` would let any site call the API",
            ));
        }
        let url = reqwest::Url::parse(origin)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
            .ok_or_else(|| invalid("expected origins such as https://app.example.com"))?;
        // An origin has no path, query or credentials, and browsers send it
        // without a trailing slash.
        let serialized = url.origin().ascii_serialization();
        if serialized != origin {
            return Err(invalid(&format!(
                "`{origin}` is not an exact origin; did you mean `{serialized}`?"
            )));
        }
        origins.push(HeaderValue::from_str(origin).map_err(|_| invalid("expected ASCII origins"))?);
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{refused_var, settings};

    #[test]
    fn a_wildcard_or_null_origin_is_refused_in_production_and_everywhere() {
        for origins in [
            "*",
            "https://a.example.com, *",
            "null",
            "https://*.example.com",
        ] {
            for env in ["production", "development"] {
                let result = settings(&[("APP_ENV", env), ("CORS_ALLOWED_ORIGINS", origins)]);
                assert_eq!(
                    refused_var(result),
                    "CORS_ALLOWED_ORIGINS",
                    "{env} {origins}"
                );
            }
        }
    }

    #[test]
    fn origins_must_be_exact() {
        let ok = settings(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(ok.cors.allowed_origins.len(), 2);
        for bad in [
            "https://app.example.com/",
            "https://app.example.com/path",
            "app.example.com",
            "ftp://x.example",
        ] {
            assert_eq!(
                refused_var(settings(&[("CORS_ALLOWED_ORIGINS", bad)])),
                "CORS_ALLOWED_ORIGINS",
                "{bad}"
            );
        }
    }
}
