//! The identity provider's signing keys, from its OpenID discovery document and
//! JWKS (RFC 8414, RFC 7517).
//!
//! - At start, a background task reads `{issuer}/.well-known/openid-configuration`,
//!   checks that its `issuer` is exactly the configured one, then reads the key
//!   set at its `jwks_uri`. When the provider cannot be reached it retries with
//!   a doubling delay and says so in the log; until the first key set is in,
//!   `/health/ready` answers 503 and `/api` requests get 503.
//! - Afterwards the same task reads the key set again every
//!   `jwks_refresh_interval`, so rotated keys are picked up and removed keys
//!   dropped without a restart.
//! - A token whose `kid` is unknown triggers one extra read, at most once per
//!   `jwks_refresh_cooldown`, shared by every request waiting for it
//!   (single-flight): random `kid`s cannot turn this service into a JWKS flood.
//!
//! Only signing keys are kept (`use` absent or `sig`; Keycloak also publishes
//! encryption keys), and each key carries the algorithms its type allows: RSA
//! keys RS*/PS*, EC keys ES256 (P-256) or ES384 (P-384), Ed25519 keys EdDSA.
//! Symmetric keys never: HS* tokens are refused whatever the key set says.
//!
//! We wrote this instead of using a JWKS crate because none we checked does all
//! of it on axum 0.8 (exact issuer check, refresh on unknown `kid` with a
//! cooldown, single-flight); the signature checks themselves are jsonwebtoken's.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::AuthSettings;
use crate::error::ErrorChain;

/// Discovery documents and key sets are a few KiB; refuse anything much larger.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// A request to the identity provider gives up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One signing key, and the algorithms a token verified with it may use.
pub struct SigningKey {
    pub kid: Option<String>,
    pub key: DecodingKey,
    pub algorithms: Vec<Algorithm>,
}

/// The usable signing keys of one JWKS document.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<Arc<SigningKey>>,
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": [...]}`), keeping the signing keys of a
    /// supported type and skipping, with a debug line, every other entry.
    pub fn from_jwks(document: &[u8]) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<Value>,
        }
        let jwks: Jwks = serde_json::from_slice(document)?;
        let keys = jwks
            .keys
            .into_iter()
            .filter_map(|raw| match signing_key(raw) {
                Ok(key) => Some(Arc::new(key)),
                Err(skipped) => {
                    tracing::debug!(
                        reason = skipped,
                        "skipping a key of the identity provider's JWKS"
                    );
                    None
                }
            })
            .collect();
        Ok(Self { keys })
    }

    /// The key for a token's `kid`. RFC 7515 makes `kid` optional; without one
    /// the key is unambiguous only when the set holds a single key.
    pub fn find(&self, kid: Option<&str>) -> Option<Arc<SigningKey>> {
        match (kid, self.keys.as_slice()) {
            (Some(kid), keys) => keys
                .iter()
                .find(|key| key.kid.as_deref() == Some(kid))
                .cloned(),
            (None, [only]) => Some(Arc::clone(only)),
            (None, _) => None,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn kids(&self) -> Vec<Option<&str>> {
        self.keys.iter().map(|key| key.kid.as_deref()).collect()
    }
}

/// One JWKS entry as a [`SigningKey`], or why it is skipped.
fn signing_key(raw: Value) -> Result<SigningKey, &'static str> {
    let jwk: Jwk = serde_json::from_value(raw).map_err(|_| "not a JWK this service can read")?;
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return Err("not a signing key (`use` is not `sig`)");
    }
    let allowed = algorithms_for(&jwk.algorithm);
    if allowed.is_empty() {
        return Err("a key type or curve that signs no algorithm we accept");
    }
    // A key that names its algorithm may only be used with that one.
    let algorithms = match jwk.common.key_algorithm {
        None => allowed.to_vec(),
        Some(named) => match Algorithm::try_from(named) {
            Ok(alg) if allowed.contains(&alg) => vec![alg],
            _ => return Err("its `alg` does not fit its key type"),
        },
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "its key material does not decode")?;
    Ok(SigningKey {
        kid: jwk.common.key_id,
        key,
        algorithms,
    })
}

/// The algorithm allowlist for a key type. Never `none`, never HS*: a public key
/// set holding a symmetric key would let anyone who read it sign tokens.
fn algorithms_for(params: &AlgorithmParameters) -> &'static [Algorithm] {
    use Algorithm::*;
    match params {
        AlgorithmParameters::RSA(_) => &[RS256, RS384, RS512, PS256, PS384, PS512],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[ES256],
            EllipticCurve::P384 => &[ES384],
            _ => &[],
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => &[EdDSA],
        _ => &[],
    }
}

/// Why the keys could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot fetch {url}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("{url} sent more than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url} did not send the expected JSON document")]
    Json {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the discovery document names the issuer `{found}`, not `{expected}`: set AUTH_ISSUER_URL \
         to exactly the provider's issuer (a trailing slash counts)"
    )]
    IssuerMismatch { expected: String, found: String },
    #[error("the discovery document's jwks_uri `{0}` is not an https URL")]
    InsecureJwksUri(String),
    #[error("the key set at {url} holds no signing key this service can use")]
    NoSigningKeys { url: String },
}

/// The subset of the discovery document this service reads.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    #[serde(flatten)]
    endpoints: Endpoints,
}

/// The provider's OAuth endpoints, from its discovery document, for code
/// that does more than check tokens (a browser login, a logout).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Endpoints {
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    /// RFC 7009 token revocation.
    pub revocation_endpoint: Option<String>,
    /// OpenID Connect RP-initiated logout.
    pub end_session_endpoint: Option<String>,
}

/// The result of looking a key up for a token.
pub enum Lookup {
    Found(Arc<SigningKey>),
    /// No key with this `kid`, even after a refresh (or the refresh was not
    /// allowed yet: see the cooldown).
    Unknown,
    /// No key set has been loaded since start.
    NotLoaded,
}

/// The signing keys, shared by every request, and what is needed to reload them.
pub struct KeyStore {
    issuer: String,
    discovery_url: String,
    require_https: bool,
    cooldown: Duration,
    http: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// From the last discovery document read.
    endpoints: RwLock<Option<Arc<Endpoints>>>,
    loaded: AtomicBool,
    /// Completed fetch attempts, so that a request that queued for a refresh can
    /// see that another request has just done one.
    attempts: AtomicU64,
    /// Held while fetching: one fetch at a time.
    refresh: tokio::sync::Mutex<RefreshState>,
}

struct RefreshState {
    /// From the discovery document; `None` until read, or after a failure (so
    /// that a moved key set is found again).
    jwks_uri: Option<String>,
    last_attempt: Option<Instant>,
}

impl KeyStore {
    /// A store with no keys yet: call [`KeyStore::spawn_refresh`] (or
    /// [`KeyStore::refresh`]) to load them.
    pub fn new(settings: &AuthSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // The configured URLs are the ones to use: a redirect to elsewhere
            // is an error to fix in the configuration, not to follow silently.
            .redirect(reqwest::redirect::Policy::none())
            .https_only(settings.require_https)
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(Self {
            issuer: settings.issuer.clone(),
            discovery_url: discovery_url(&settings.issuer),
            require_https: settings.require_https,
            cooldown: settings.jwks_refresh_cooldown,
            http,
            keys: RwLock::new(Arc::new(KeySet::default())),
            endpoints: RwLock::new(None),
            loaded: AtomicBool::new(false),
            attempts: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(RefreshState {
                jwks_uri: None,
                last_attempt: None,
            }),
        })
    }

    pub fn discovery_url(&self) -> &str {
        &self.discovery_url
    }

    /// The HTTP client that talks to the provider: timeouts, no redirects,
    /// https only in production.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The provider's endpoints, once its discovery document has been read.
    pub fn endpoints(&self) -> Option<Arc<Endpoints>> {
        self.endpoints
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Whether a key set has been loaded since start (what readiness reports).
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// The key set in use now.
    pub fn current(&self) -> Arc<KeySet> {
        Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The key for a token's `kid`, refreshing the key set once (within the
    /// cooldown) when the `kid` is unknown.
    pub async fn key(&self, kid: Option<&str>) -> Lookup {
        if !self.is_loaded() {
            return Lookup::NotLoaded;
        }
        if let Some(key) = self.current().find(kid) {
            return Lookup::Found(key);
        }
        self.refresh_for_unknown_kid().await;
        match self.current().find(kid) {
            Some(key) => Lookup::Found(key),
            None => Lookup::Unknown,
        }
    }

    /// Fetches the key set now (waiting for a fetch in progress first). Used at
    /// start and by the periodic refresh. Returns the number of keys loaded.
    pub async fn refresh(&self) -> Result<usize, KeysError> {
        let mut state = self.refresh.lock().await;
        self.fetch(&mut state).await
    }

    /// The refresh an unknown `kid` may trigger: skipped when another request
    /// refreshed while this one waited for the lock, or when the last fetch is
    /// more recent than the cooldown.
    async fn refresh_for_unknown_kid(&self) {
        let seen = self.attempts.load(Ordering::Acquire);
        let mut state = self.refresh.lock().await;
        if self.attempts.load(Ordering::Acquire) != seen {
            return; // a concurrent request fetched: use its result
        }
        if state
            .last_attempt
            .is_some_and(|last| last.elapsed() < self.cooldown)
        {
            tracing::debug!(
                "unknown kid: the key set was fetched recently, not fetching again yet"
            );
            return;
        }
        if let Err(error) = self.fetch(&mut state).await {
            tracing::warn!(error = %ErrorChain(&error), "cannot refresh the identity provider's keys");
        }
    }

    async fn fetch(&self, state: &mut RefreshState) -> Result<usize, KeysError> {
        let result = self.fetch_key_set(state).await;
        state.last_attempt = Some(Instant::now());
        self.attempts.fetch_add(1, Ordering::AcqRel);
        let key_set = match result {
            Ok(key_set) => key_set,
            Err(error) => {
                state.jwks_uri = None;
                return Err(error);
            }
        };

        let count = key_set.len();
        let new_kids: Vec<Option<String>> = key_set
            .kids()
            .into_iter()
            .map(|kid| kid.map(str::to_owned))
            .collect();
        let old = std::mem::replace(
            &mut *self
                .keys
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            Arc::new(key_set),
        );
        let first = !self.loaded.swap(true, Ordering::AcqRel);
        let old_kids: Vec<Option<String>> = old
            .kids()
            .into_iter()
            .map(|kid| kid.map(str::to_owned))
            .collect();
        if first {
            tracing::info!(keys = count, "loaded the identity provider's signing keys");
        } else if old_kids != new_kids {
            tracing::info!(
                keys = count,
                ?new_kids,
                "the identity provider's signing keys changed"
            );
        }
        Ok(count)
    }

    async fn fetch_key_set(&self, state: &mut RefreshState) -> Result<KeySet, KeysError> {
        let jwks_uri = match &state.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let discovery: Discovery = self.get_json(&self.discovery_url).await?;
                // Exact match (RFC 8414 §3.3): a provider answering for another
                // issuer is misconfigured or not the one we think it is.
                if discovery.issuer != self.issuer {
                    return Err(KeysError::IssuerMismatch {
                        expected: self.issuer.clone(),
                        found: discovery.issuer,
                    });
                }
                if self.require_https && !discovery.jwks_uri.starts_with("https://") {
                    return Err(KeysError::InsecureJwksUri(discovery.jwks_uri));
                }
                *self
                    .endpoints
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Some(Arc::new(discovery.endpoints));
                state.jwks_uri = Some(discovery.jwks_uri.clone());
                discovery.jwks_uri
            }
        };
        let body = self.get(&jwks_uri).await?;
        let key_set = KeySet::from_jwks(&body).map_err(|source| KeysError::Json {
            url: jwks_uri.clone(),
            source,
        })?;
        if key_set.is_empty() {
            return Err(KeysError::NoSigningKeys { url: jwks_uri });
        }
        Ok(key_set)
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, KeysError> {
        let body = self.get(url).await?;
        serde_json::from_slice(&body).map_err(|source| KeysError::Json {
            url: url.to_owned(),
            source,
        })
    }

    /// GETs `url`, reading at most [`MAX_DOCUMENT_BYTES`].
    async fn get(&self, url: &str) -> Result<Vec<u8>, KeysError> {
        let http = |source| KeysError::Http {
            url: url.to_owned(),
            source,
        };
        let mut response = self
            .http
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(http)?;
        if !response.status().is_success() {
            return Err(KeysError::Status {
                url: url.to_owned(),
                status: response.status(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(KeysError::TooLarge {
                    url: url.to_owned(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Starts the task that loads the keys (retrying with a doubling delay while
    /// the provider cannot be reached) and then refreshes them periodically. The
    /// task holds only a weak reference: it ends once the store is dropped.
    pub fn spawn_refresh(self: &Arc<Self>, settings: &AuthSettings) -> tokio::task::JoinHandle<()> {
        let store = Arc::downgrade(self);
        let mut delay = settings.discovery_retry_initial;
        let max_delay = settings.discovery_retry_max;
        let interval = settings.jwks_refresh_interval;
        tokio::spawn(async move {
            loop {
                let Some(keys) = store.upgrade() else { return };
                match keys.refresh().await {
                    Ok(_) => break,
                    Err(error) => tracing::warn!(
                        discovery_url = keys.discovery_url(),
                        error = %ErrorChain(&error),
                        retry_in_ms = delay.as_millis(),
                        "cannot reach the identity provider: /api answers 503 and /health/ready \
                         is not ready until its signing keys are loaded"
                    ),
                }
                drop(keys);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(max_delay);
            }
            loop {
                tokio::time::sleep(interval).await;
                let Some(keys) = store.upgrade() else { return };
                if let Err(error) = keys.refresh().await {
                    tracing::warn!(
                        error = %ErrorChain(&error),
                        "cannot refresh the identity provider's signing keys; keeping the current ones"
                    );
                }
            }
        })
    }

    /// A store already holding `keys` and fetching nothing, for unit tests of
    /// code that needs a loaded store.
    #[cfg(test)]
    pub(crate) fn loaded_for_tests(keys: KeySet) -> Self {
        let store = Self::new(&AuthSettings::new("http://127.0.0.1:9/", "test")).unwrap();
        *store.keys.write().unwrap() = Arc::new(keys);
        store.loaded.store(true, Ordering::Release);
        store
    }
}

/// `{issuer}/.well-known/openid-configuration`, without doubling the slash of
/// issuers that end with one (Authentik's do).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use axum::Router;
    use axum::routing::get;
    use serde_json::json;

    use super::*;

    /// Base64url of arbitrary bytes: key material is not validated when a JWK is
    /// read, only when a signature is checked, which these tests never do.
    const MODULUS: &str = "AQIDBAUGBwgJCgsMDQ4PEA";

    fn rsa(kid: &str) -> Value {
        json!({ "kty": "RSA", "kid": kid, "n": MODULUS, "e": "AQAB" })
    }

    fn key_set(keys: Value) -> KeySet {
        KeySet::from_jwks(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn only_signing_keys_of_supported_types_are_kept() {
        let mut enc = rsa("enc");
        enc["use"] = json!("enc");
        let mut sig = rsa("sig");
        sig["use"] = json!("sig");
        let keys = key_set(json!([
            rsa("plain"),
            sig,
            enc,
            { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" },
            { "kty": "EC", "kid": "p521", "crv": "P-521", "x": "AQAB", "y": "AQAB" },
            { "kty": "XYZ", "kid": "future" },
            "not even an object",
        ]));
        assert_eq!(keys.kids(), [Some("plain"), Some("sig")]);
    }

    #[test]
    fn each_key_type_gets_its_own_algorithms_and_never_hs_or_none() {
        let keys = key_set(json!([
            rsa("rsa"),
            { "kty": "EC", "kid": "ec", "crv": "P-256", "x": "AQAB", "y": "AQAB" },
            { "kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AQAB" },
        ]));
        let algorithms = |kid| keys.find(Some(kid)).unwrap().algorithms.clone();
        assert_eq!(
            algorithms("rsa"),
            [
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512
            ]
        );
        assert_eq!(algorithms("ec"), [Algorithm::ES256]);
        assert_eq!(algorithms("ed"), [Algorithm::EdDSA]);
    }

    #[test]
    fn a_key_naming_its_algorithm_allows_only_that_one_and_a_mismatch_is_skipped() {
        let mut named = rsa("named");
        named["alg"] = json!("PS256");
        let mut hs = rsa("hs");
        hs["alg"] = json!("HS256");
        let mut oaep = rsa("oaep");
        oaep["alg"] = json!("RSA-OAEP");
        let keys = key_set(json!([named, hs, oaep]));
        assert_eq!(keys.kids(), [Some("named")]);
        assert_eq!(
            keys.find(Some("named")).unwrap().algorithms,
            [Algorithm::PS256]
        );
    }

    #[test]
    fn a_token_without_kid_matches_only_a_single_key_set() {
        assert!(key_set(json!([rsa("a")])).find(None).is_some());
        assert!(key_set(json!([rsa("a"), rsa("b")])).find(None).is_none());
        assert!(key_set(json!([rsa("a")])).find(Some("b")).is_none());
    }

    #[test]
    fn the_discovery_url_never_doubles_a_trailing_slash() {
        assert_eq!(
            discovery_url("https://auth.example.com/application/o/api/"),
            "https://auth.example.com/application/o/api/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://kc.example.com/realms/main"),
            "https://kc.example.com/realms/main/.well-known/openid-configuration"
        );
    }

    /// A provider whose JWKS answers slowly and counts its fetches.
    async fn slow_provider() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = base.clone();
        let fetches = Arc::new(AtomicUsize::new(0));
        let discovery = json!({ "issuer": issuer, "jwks_uri": format!("{base}/jwks") });
        let counter = Arc::clone(&fetches);
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { axum::Json(discovery) }),
            )
            .route(
                "/jwks",
                get(move || async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    axum::Json(json!({ "keys": [rsa("k1")] }))
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (issuer, fetches)
    }

    async fn store(issuer: &str, cooldown: Duration) -> Arc<KeyStore> {
        let mut settings = AuthSettings::new(issuer, "test");
        settings.jwks_refresh_cooldown = cooldown;
        let store = Arc::new(KeyStore::new(&settings).unwrap());
        store.refresh().await.expect("the first load succeeds");
        store
    }

    async fn look_up_concurrently(store: &Arc<KeyStore>, count: usize) {
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..count {
            let store = Arc::clone(store);
            tasks.spawn(async move {
                let kid = format!("unknown-{n}");
                assert!(matches!(store.key(Some(&kid)).await, Lookup::Unknown));
            });
        }
        tasks.join_all().await;
    }

    #[tokio::test]
    async fn concurrent_unknown_kids_share_a_single_fetch() {
        let (issuer, fetches) = slow_provider().await;
        let store = store(&issuer, Duration::ZERO).await;

        look_up_concurrently(&store, 20).await;

        // The first load, then one refresh that all twenty waited for.
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn unknown_kids_within_the_cooldown_fetch_nothing() {
        let (issuer, fetches) = slow_provider().await;
        let store = store(&issuer, Duration::from_secs(3600)).await;

        look_up_concurrently(&store, 20).await;

        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_discovery_document_for_another_issuer_is_refused() {
        let (issuer, _) = slow_provider().await;
        let settings = AuthSettings::new(format!("{issuer}/"), "test");
        let store = KeyStore::new(&settings).unwrap();

        let error = store.refresh().await.unwrap_err();

        assert!(matches!(error, KeysError::IssuerMismatch { .. }), "{error}");
        assert!(!store.is_loaded());
    }
}
