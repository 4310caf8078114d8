//! Checking an access token, strictly (RFC 8725, RFC 9068, OWASP's JWT cheat
//! sheet). In order, cheapest first:
//!
//! 1. three dot-separated parts (a compact JWS; an encrypted JWE is refused);
//! 2. the header: a supported `alg` (never `none`), no `crit` (we understand no
//!    extension, RFC 7515 §4.1.11), `typ` absent or `at+jwt` / `JWT`. `jku`,
//!    `x5u`, `jwk` and `x5c` are ignored: keys only ever come from the
//!    configured provider's JWKS, never from the token;
//! 3. the key for its `kid` (see [`KeyStore`]), and `alg` among the algorithms
//!    of that key's type: an RSA key never verifies an HS256 token;
//! 4. the signature and the claims, by jsonwebtoken: `iss` exactly the issuer,
//!    `aud` containing the audience, `exp` present and not past, `nbf` not in the
//!    future (both with the leeway);
//! 5. what jsonwebtoken does not check: `exp`, `nbf` and `iat` are JSON numbers
//!    (a string `exp` is a malformed token), `iat` not in the future, `iss` a
//!    single string, `sub` a non-empty string;
//! 6. that it is an access token and not an ID token (or another token the
//!    provider signs) with our audience, by the provider's own marks
//!    (`roles::not_an_access_token`): Keycloak's payload `typ: Bearer`, no
//!    ID-token-only claim (`nonce`, `at_hash`, `c_hash`) for the others.
//!
//! ID tokens and back-channel logout tokens (browser logins) go through the
//! same checks, with their own audience (the client), `typ` values and
//! required claims: [`Verifier::verify_id_token`], [`Verifier::verify_logout_token`].
//!
//! Verified tokens are cached until their `exp`, keyed by the SHA-256 of the
//! token (the token itself is never kept), so a client sending the same token
//! again does not pay for the signature check. The cache is bounded in bytes.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use moka::Expiry;
use moka::sync::Cache;
use serde_json::{Map, Value};

use super::Principal;
use super::claims::strings;
use super::keys::{KeyStore, Lookup, SigningKey};
use super::roles::{self, RoleMapping};
use crate::config::AuthSettings;

/// Why a request carries no usable token. The text of each reason is for the
/// log; callers only ever see the status and the `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No bearer token was sent (no `Authorization` header, or another scheme).
    #[error("no bearer token: {0}")]
    Missing(&'static str),
    /// A token was sent and is not acceptable.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The provider's keys have not been loaded since start, so no token can be
    /// checked: a 503, not a 401, because the token may well be fine.
    #[error("the identity provider's signing keys are not loaded")]
    KeysUnavailable,
}

fn invalid(reason: impl Into<String>) -> Rejection {
    Rejection::Invalid(reason.into())
}

/// A verified token as remembered by the cache.
struct Verified {
    principal: Principal,
    /// The key that verified it: when the provider drops that key, the cached
    /// result is dropped too.
    kid: Option<String>,
    /// The token's `exp`, in seconds since the Unix epoch.
    exp: u64,
    /// What the entry costs in the cache, about the size of the token.
    weight: u32,
}

/// Checks access tokens and turns them into [`Principal`]s.
pub struct Verifier {
    keys: Arc<KeyStore>,
    issuer: String,
    audience: String,
    leeway: Duration,
    roles: RoleMapping,
    /// `None` when `token_cache_bytes` is 0.
    cache: Option<Cache<[u8; 32], Arc<Verified>>>,
}

impl Verifier {
    pub fn new(settings: &AuthSettings, keys: Arc<KeyStore>) -> Self {
        let cache = (settings.token_cache_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(settings.token_cache_bytes)
                .weigher(|_, verified: &Arc<Verified>| verified.weight)
                .expire_after(UntilExp)
                .build()
        });
        Self {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway: settings.leeway,
            roles: RoleMapping::new(settings),
            cache,
        }
    }

    /// The signing keys (readiness asks whether they are loaded).
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// The issuer tokens must come from (`AUTH_ISSUER_URL`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The principal of a valid `token`, from the cache when it was verified
    /// before and is still valid.
    pub async fn verify(&self, token: &str) -> Result<Principal, Rejection> {
        let Some(cache) = &self.cache else {
            return Ok(self.verify_uncached(token).await?.principal);
        };
        let key = cache_key(token);
        if let Some(hit) = cache.get(&key) {
            // Expired entries are never returned; a key removed from the set
            // since (a rotation, or a compromised key withdrawn) still has to
            // invalidate what it verified.
            if hit.exp > unix_now() && self.keys.current().find(hit.kid.as_deref()).is_some() {
                return Ok(hit.principal.clone());
            }
            cache.invalidate(&key);
        }
        let verified = Arc::new(self.verify_uncached(token).await?);
        cache.insert(key, Arc::clone(&verified));
        Ok(verified.principal.clone())
    }

    async fn verify_uncached(&self, token: &str) -> Result<Verified, Rejection> {
        let checked = self.check(token, &ACCESS_TOKEN, &self.audience).await?;
        let claims = checked.claims;
        // An ID token (or another signed token of the provider) with our
        // audience is not a credential for the API: see `roles`.
        if let Some(reason) = roles::not_an_access_token(&claims) {
            return Err(invalid(reason));
        }
        let exp = numeric_date(&claims, "exp")?.ok_or_else(|| invalid("no `exp`"))?;
        let subject = subject(&claims)?;
        let principal = Principal {
            subject,
            roles: self.roles.roles(&claims),
            scopes: scopes(&claims),
            claims: Arc::new(claims),
            // Granted by the RBAC policy in `routes::authenticate`.
            permissions: Default::default(),
        };
        Ok(Verified {
            principal,
            kid: checked.key.kid.clone(),
            exp,
            weight: u32::try_from(token.len()).unwrap_or(u32::MAX),
        })
    }

    /// The claims of a valid OpenID Connect ID token (OIDC Core §3.1.3.7) for
    /// the client `client_id`, issued for the login that sent `nonce`.
    pub async fn verify_id_token(
        &self,
        token: &str,
        client_id: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, Rejection> {
        let claims = self.check(token, &ID_TOKEN, client_id).await?.claims;
        subject(&claims)?;
        // Byte comparison is fine: the nonce is not a secret once the login
        // has come back, it only ties this token to that login.
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(invalid("the ID token's `nonce` is not the login's"));
        }
        // With several audiences, the token must have been issued to us.
        if claims
            .get("aud")
            .and_then(Value::as_array)
            .is_some_and(|aud| aud.len() > 1)
            && claims.get("azp").and_then(Value::as_str) != Some(client_id)
        {
            return Err(invalid(
                "the ID token has several audiences and another `azp`",
            ));
        }
        Ok(claims)
    }

    /// The claims of a valid back-channel logout token (OpenID Connect
    /// Back-Channel Logout 1.0 §2.6) for the client `client_id`: signed by the
    /// provider, with the logout event, a `sid` or a `sub`, a `jti`, and no
    /// `nonce` (so that an ID token cannot be passed off as one); with the time
    /// until which it is valid, for as long as its `jti` must be remembered to
    /// refuse it a second time.
    pub async fn verify_logout_token(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<LogoutToken, Rejection> {
        const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
        let claims = self.check(token, &LOGOUT_TOKEN, client_id).await?.claims;
        if !claims
            .get("events")
            .and_then(|events| events.get(EVENT))
            .is_some_and(Value::is_object)
        {
            return Err(invalid("no back-channel logout event in `events`"));
        }
        if claims.contains_key("nonce") {
            return Err(invalid("a logout token must not have a `nonce`"));
        }
        if string_claim(&claims, "sid").is_none() && string_claim(&claims, "sub").is_none() {
            return Err(invalid("a logout token names neither `sid` nor `sub`"));
        }
        let jti = string_claim(&claims, "jti")
            .ok_or_else(|| invalid("a logout token must have a `jti` (§2.4)"))?
            .to_owned();
        // Without `exp` (earlier drafts), a token counts as valid for
        // LOGOUT_TOKEN_MAX_AGE after `iat`, so that its `jti` need not be kept
        // forever.
        let valid_until = match numeric_date(&claims, "exp")? {
            Some(exp) => exp,
            None => numeric_date(&claims, "iat")?.unwrap_or(0) + LOGOUT_TOKEN_MAX_AGE.as_secs(),
        } + self.leeway.as_secs();
        if valid_until < unix_now() {
            return Err(invalid("a logout token without `exp` is too old (`iat`)"));
        }
        Ok(LogoutToken {
            claims,
            jti,
            valid_until,
        })
    }

    /// Every check a signed token of the provider goes through, whatever its
    /// kind: header, key, signature, issuer, audience, dates.
    async fn check(&self, token: &str, kind: &Kind, audience: &str) -> Result<Checked, Rejection> {
        if token.split('.').count() != 3 || token.split('.').any(str::is_empty) {
            return Err(invalid("not a signed JWT (three dot-separated parts)"));
        }

        // jsonwebtoken knows no `none` algorithm: such a header fails here.
        let header = decode_header(token)
            .map_err(|_| invalid("unreadable header or unsupported `alg` (e.g. `none`)"))?;
        if header.crit.is_some() {
            return Err(invalid(
                "the header has `crit` extensions, none of which we understand",
            ));
        }
        if let Some(typ) = &header.typ
            && !kind.types.contains(&typ.to_ascii_lowercase().as_str())
        {
            return Err(invalid(format!(
                "the header `typ` is not one of {:?}",
                kind.types
            )));
        }

        let key = match self.keys.key(header.kid.as_deref()).await {
            Lookup::Found(key) => key,
            Lookup::Unknown => return Err(invalid("no signing key has the token's `kid`")),
            Lookup::NotLoaded => return Err(Rejection::KeysUnavailable),
        };
        // The allowlist comes from the key, never from the token: this is what
        // stops `HS256` signed with the RSA public key as its secret.
        if !key.algorithms.contains(&header.alg) {
            return Err(invalid(format!(
                "`alg` {:?} is not allowed for the key it names",
                header.alg
            )));
        }

        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(kind.required);
        let claims = decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|error| invalid(describe(error.kind())))?
            .claims;

        numeric_date(&claims, "exp")?;
        numeric_date(&claims, "nbf")?;
        if let Some(iat) = numeric_date(&claims, "iat")?
            && iat > unix_now() + self.leeway.as_secs()
        {
            return Err(invalid("`iat` is in the future"));
        }
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(invalid("`iss` is not exactly the issuer"));
        }
        Ok(Checked { claims, key })
    }
}

/// A verified back-channel logout token.
#[derive(Debug, Clone)]
pub struct LogoutToken {
    pub claims: Map<String, Value>,
    /// Its unique id: a logout token is used once (see `routes::session`).
    pub jti: String,
    /// Until when it would verify, leeway included, in seconds since the Unix
    /// epoch: how long its `jti` has to be remembered.
    pub valid_until: u64,
}

/// How long a logout token without `exp` is accepted after its `iat`.
pub const LOGOUT_TOKEN_MAX_AGE: Duration = Duration::from_secs(300);

/// What distinguishes one kind of token: the `typ` values its header may
/// carry (lowercase) and the claims it must have.
struct Kind {
    types: &'static [&'static str],
    required: &'static [&'static str],
}

/// RFC 9068 access tokens; many providers still say `JWT`.
const ACCESS_TOKEN: Kind = Kind {
    types: &["at+jwt", "application/at+jwt", "jwt"],
    required: &["exp", "iss", "aud", "sub"],
};

const ID_TOKEN: Kind = Kind {
    types: &["jwt"],
    required: &["exp", "iss", "aud", "sub", "iat"],
};

/// `exp` is checked when present: providers written to earlier drafts of
/// the specification leave it out.
const LOGOUT_TOKEN: Kind = Kind {
    types: &["logout+jwt", "application/logout+jwt", "jwt"],
    required: &["iss", "aud", "iat"],
};

/// A token whose signature and common claims are valid.
struct Checked {
    claims: Map<String, Value>,
    key: Arc<SigningKey>,
}

/// `sub`, which must be a non-empty string.
fn subject(claims: &Map<String, Value>) -> Result<String, Rejection> {
    string_claim(claims, "sub")
        .map(str::to_owned)
        .ok_or_else(|| invalid("`sub` is missing or not a non-empty string"))
}

/// The claim `name` when it is a non-empty string.
pub fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
}

/// The cache key: a token is a bearer credential, so only its hash is kept.
fn cache_key(token: &str) -> [u8; 32] {
    let mut key = [0; 32];
    key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    key
}

/// Cache entries live until the token's `exp`.
struct UntilExp;

impl Expiry<[u8; 32], Arc<Verified>> for UntilExp {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        verified: &Arc<Verified>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(verified.exp.saturating_sub(unix_now())))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// A NumericDate claim (RFC 7519 §2): absent, or a JSON number. Anything else,
/// such as the string `"1893456000"`, makes the token malformed.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, Rejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => number
            .as_u64()
            // Fractional seconds are allowed; they count as the second before.
            .or_else(|| number.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64))
            .map(Some)
            .ok_or_else(|| invalid(format!("`{name}` is not a valid date"))),
        Some(_) => Err(invalid(format!("`{name}` is not a number"))),
    }
}

/// The granted scopes: `scope` (a space-separated string, RFC 9068) or `scp`
/// (an array, or a string, as some providers send).
fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let split = |s: &str| s.split_whitespace().map(str::to_owned).collect();
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(scope)), _) => split(scope),
        (_, Some(Value::String(scp))) => split(scp),
        (_, scp) => strings(scp),
    }
}

/// A log-friendly reason for a jsonwebtoken error.
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidSignature => "bad signature".to_owned(),
        ErrorKind::ExpiredSignature => "expired (`exp` is past)".to_owned(),
        ErrorKind::ImmatureSignature => "not valid yet (`nbf` is in the future)".to_owned(),
        ErrorKind::InvalidIssuer => "wrong issuer (`iss`)".to_owned(),
        ErrorKind::InvalidAudience => "wrong audience (`aud`)".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("no `{claim}` claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("`{claim}` is malformed"),
        ErrorKind::InvalidAlgorithm => "algorithm not allowed".to_owned(),
        ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            "malformed token (base64 or JSON)".to_owned()
        }
        other => format!("rejected by jsonwebtoken: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn dates_must_be_json_numbers() {
        let c = claims(json!({ "exp": 1_900_000_000, "nbf": "1700000000", "iat": 1.5e9 }));
        assert_eq!(numeric_date(&c, "exp"), Ok(Some(1_900_000_000)));
        assert!(numeric_date(&c, "nbf").is_err());
        assert_eq!(numeric_date(&c, "iat"), Ok(Some(1_500_000_000)));
        assert_eq!(numeric_date(&c, "missing"), Ok(None));
        assert!(numeric_date(&claims(json!({ "exp": -5 })), "exp").is_err());
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        assert_eq!(
            scopes(&claims(json!({ "scope": "openid  items:read" }))),
            ["openid", "items:read"]
        );
        assert_eq!(scopes(&claims(json!({ "scp": ["a", "b", 3] }))), ["a", "b"]);
        assert_eq!(scopes(&claims(json!({ "scp": "a b" }))), ["a", "b"]);
        assert!(scopes(&claims(json!({}))).is_empty());
    }

    #[test]
    fn the_cache_key_is_a_hash_not_the_token() {
        let key = cache_key("header.payload.signature");
        assert_eq!(key.len(), 32);
        assert_ne!(&key[..], &b"header.payload.signature"[..24]);
        assert_eq!(key, cache_key("header.payload.signature"));
        assert_ne!(key, cache_key("header.payload.signaturf"));
    }
}
