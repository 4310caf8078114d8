//! How access tokens are checked: the identity provider and the tolerances.
//!
//! | variable              | meaning                                             | default  |
//! | --------------------- | --------------------------------------------------- | -------- |
//! | `AUTH_ISSUER_URL`     | the identity provider's issuer, exactly as in `iss` | required |
//! | `AUTH_AUDIENCE`       | the audience access tokens must carry               | required |
//! | `AUTH_LEEWAY_SECONDS` | clock skew allowed for `exp`/`nbf`/`iat` (≤ 300)    | `60`     |
//!
//! Where the roles are in a token depends on the provider: see `config::roles`.
//! In production the issuer must use https and must not be this machine
//! ([`check_issuer`]).

use std::time::Duration;

use super::roles::RolesSettings;
use super::{AppEnv, ConfigError, Vars};

/// Clock skew tolerated between this service and the identity provider.
const DEFAULT_LEEWAY_SECONDS: u64 = 60;
/// Larger leeways keep expired tokens usable for too long (RFC 8725 asks for
/// "a few minutes" at most).
const MAX_LEEWAY_SECONDS: u64 = 300;

/// How access tokens are verified (see `auth`). The first fields come from the
/// environment; the timings below them are fixed defaults that tests shorten.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The issuer, compared byte for byte with the discovery document's `issuer`
    /// and with every token's `iss` (so a trailing slash matters: Authentik's
    /// issuer has one, Keycloak's has not).
    pub issuer: String,
    /// The audience every access token must list in `aud`.
    pub audience: String,
    /// Where the provider puts the roles.
    pub roles: RolesSettings,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Whether the discovery document and the keys must come over https. True in
    /// production, where an `http://` issuer is refused at start anyway.
    pub require_https: bool,
    /// How often the signing keys are read again, so that rotated keys are picked
    /// up (and removed ones dropped) without a restart.
    pub jwks_refresh_interval: Duration,
    /// The least time between two key fetches caused by tokens with an unknown
    /// `kid`: a caller spraying random `kid`s gets at most one fetch per interval.
    pub jwks_refresh_cooldown: Duration,
    /// Delay before the second attempt to reach the identity provider at start;
    /// it doubles after each failure up to `discovery_retry_max`.
    pub discovery_retry_initial: Duration,
    pub discovery_retry_max: Duration,
    /// Memory for remembered verified tokens (each until its `exp`), counted as
    /// the size of the tokens; 0 turns the cache off.
    pub token_cache_bytes: u64,
}

impl AuthSettings {
    pub const DEFAULT_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
    pub const DEFAULT_JWKS_REFRESH_COOLDOWN: Duration = Duration::from_secs(10);
    pub const DEFAULT_DISCOVERY_RETRY_INITIAL: Duration = Duration::from_secs(1);
    pub const DEFAULT_DISCOVERY_RETRY_MAX: Duration = Duration::from_secs(60);
    /// About 8,000 tokens of a typical 2 KiB.
    pub const DEFAULT_TOKEN_CACHE_BYTES: u64 = 16 * 1024 * 1024;

    /// The settings for `issuer` and `audience` with every other value at its
    /// default.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let audience = audience.into();
        Self {
            issuer: issuer.into(),
            roles: RolesSettings::new(&audience),
            audience,
            leeway: Duration::from_secs(DEFAULT_LEEWAY_SECONDS),
            require_https: false,
            jwks_refresh_interval: Self::DEFAULT_JWKS_REFRESH_INTERVAL,
            jwks_refresh_cooldown: Self::DEFAULT_JWKS_REFRESH_COOLDOWN,
            discovery_retry_initial: Self::DEFAULT_DISCOVERY_RETRY_INITIAL,
            discovery_retry_max: Self::DEFAULT_DISCOVERY_RETRY_MAX,
            token_cache_bytes: Self::DEFAULT_TOKEN_CACHE_BYTES,
        }
    }

    pub(super) fn from_vars<F: Fn(&str) -> Option<String>>(
        vars: &Vars<F>,
        app_env: AppEnv,
    ) -> Result<Self, ConfigError> {
        let issuer = vars.required(
            "AUTH_ISSUER_URL",
            "set it to your identity provider's issuer URL (the `iss` of its tokens)",
        )?;
        check_issuer(&issuer, app_env)?;
        let audience = vars.required(
            "AUTH_AUDIENCE",
            "set it to the audience (`aud`) your identity provider puts in access tokens for this API",
        )?;

        let mut auth = Self::new(issuer, audience);
        auth.require_https = app_env == AppEnv::Production;
        auth.roles = RolesSettings::from_vars(vars, &auth.audience)?;
        if let Some(value) = vars.optional("AUTH_LEEWAY_SECONDS") {
            let seconds = value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|seconds| *seconds <= MAX_LEEWAY_SECONDS)
                .ok_or_else(|| ConfigError::Invalid {
                    var: "AUTH_LEEWAY_SECONDS",
                    value: Some(value.clone()),
                    expected: format!("expected whole seconds from 0 to {MAX_LEEWAY_SECONDS}"),
                })?;
            auth.leeway = Duration::from_secs(seconds);
        }
        Ok(auth)
    }
}

/// The issuer must be an absolute http(s) URL without query or fragment, and
/// https in production: keys fetched over plain http could be swapped by anyone
/// on the path. Plain http stays allowed in development, for a local IdP.
fn check_issuer(issuer: &str, app_env: AppEnv) -> Result<(), ConfigError> {
    let invalid = |expected: &str| ConfigError::Invalid {
        var: "AUTH_ISSUER_URL",
        value: Some(issuer.to_owned()),
        expected: expected.to_owned(),
    };
    let url = reqwest::Url::parse(issuer).map_err(|_| {
        invalid("expected an absolute URL such as https://idp.example.com/realms/main")
    })?;
    if url.query().is_some() || url.fragment().is_some() || url.host_str().is_none() {
        return Err(invalid("expected an issuer URL without query or fragment"));
    }
    if app_env == AppEnv::Production && is_loopback(&url) {
        return Err(invalid(
            "must not be this machine (loopback) with APP_ENV=production: that is a development identity provider (`nestflux dev`, or the Keycloak or Authentik of compose.yaml), and whatever listens on that port could sign tokens for any user; set AUTH_ISSUER_URL to your production identity provider's https:// issuer",
        ));
    }
    match (url.scheme(), app_env) {
        ("https", _) | ("http", AppEnv::Development) => Ok(()),
        ("http", AppEnv::Production) => Err(invalid(
            "must use https with APP_ENV=production (http is only accepted in development, for a local identity provider)",
        )),
        _ => Err(invalid("expected an http or https URL")),
    }
}

/// Whether `url` points at this machine: `localhost`, 127.0.0.0/8 or `::1`,
/// the hosts `nestflux audit-config` reports in production settings (NF031).
fn is_loopback(url: &reqwest::Url) -> bool {
    // The URL parser has normalised the host: lowercase, `127.1` written out,
    // IPv6 in brackets.
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ISSUER, invalid_var, refused_var, settings};
    use super::*;

    #[test]
    fn the_auth_variables_are_read_with_their_defaults() {
        let auth = settings(&[]).unwrap().auth;
        assert_eq!(auth.issuer, ISSUER);
        assert_eq!(auth.audience, "my-api");
        assert_eq!(auth.leeway, Duration::from_secs(60));
        assert!(!auth.require_https);
    }

    #[test]
    fn a_missing_issuer_or_audience_stops_the_service_naming_the_variable() {
        for var in ["AUTH_ISSUER_URL", "AUTH_AUDIENCE"] {
            let error = settings(&[(var, "")]).unwrap_err();
            assert!(matches!(error, ConfigError::Missing { .. }), "{error}");
            assert!(error.to_string().starts_with(&format!("missing {var}: ")));
            assert_eq!(refused_var(Err(error)), var);
        }
    }

    #[test]
    fn the_issuer_must_be_https_in_production_but_may_be_http_in_development() {
        let local = "http://localhost:8180/realms/main";
        assert!(settings(&[("AUTH_ISSUER_URL", local)]).is_ok());
        let error = settings(&[("APP_ENV", "production"), ("AUTH_ISSUER_URL", local)]).unwrap_err();
        assert_eq!(invalid_var(Err(error.clone())), "AUTH_ISSUER_URL");
        assert!(error.to_string().contains("loopback"), "{error}");
        let remote = "http://idp.example.com/realms/main";
        let error =
            settings(&[("APP_ENV", "production"), ("AUTH_ISSUER_URL", remote)]).unwrap_err();
        assert_eq!(invalid_var(Err(error.clone())), "AUTH_ISSUER_URL");
        assert!(error.to_string().contains("must use https"), "{error}");

        let production = settings(&[("APP_ENV", "production")]).unwrap();
        assert!(production.auth.require_https);
        for bad in [
            "not a url",
            "ftp://idp.example.com",
            "https://idp.example.com/?realm=x",
        ] {
            assert_eq!(
                invalid_var(settings(&[("AUTH_ISSUER_URL", bad)])),
                "AUTH_ISSUER_URL",
                "{bad}"
            );
        }
    }

    #[test]
    fn production_refuses_a_loopback_issuer_naming_the_variable_and_the_fix() {
        for local in [
            "http://localhost:8180/realms/main",
            "http://127.0.0.1:9000/application/o/my-api/",
            "https://localhost:8443/realms/main",
            "https://[::1]:8443",
        ] {
            // Fine in development: that is what `nestflux dev` serves.
            assert!(settings(&[("AUTH_ISSUER_URL", local)]).is_ok(), "{local}");
            let error =
                settings(&[("APP_ENV", "production"), ("AUTH_ISSUER_URL", local)]).unwrap_err();
            let message = error.to_string();
            assert_eq!(invalid_var(Err(error)), "AUTH_ISSUER_URL", "{local}");
            assert!(message.contains("loopback"), "{message}");
            assert!(
                message.contains("production identity provider"),
                "{message}"
            );
        }
        assert!(
            settings(&[
                ("APP_ENV", "production"),
                (
                    "AUTH_ISSUER_URL",
                    "https://localhost.example.com/realms/main"
                ),
            ])
            .is_ok()
        );
    }

    #[test]
    fn the_leeway_is_whole_seconds_up_to_five_minutes() {
        let auth = settings(&[("AUTH_LEEWAY_SECONDS", "300")]).unwrap().auth;
        assert_eq!(auth.leeway, Duration::from_secs(300));
        for bad in ["301", "-1", "1.5", "a minute"] {
            assert_eq!(
                invalid_var(settings(&[("AUTH_LEEWAY_SECONDS", bad)])),
                "AUTH_LEEWAY_SECONDS",
                "{bad}"
            );
        }
    }
}
