//! The three cookies of a browser session, and the random values they carry.
//!
//! | cookie | holds | read by |
//! | --- | --- | --- |
//! | `__Host-session` | a random 256-bit session id (the database keeps its SHA-256) | the server only (`HttpOnly`) |
//! | `__Host-csrf` | the session's random anti-CSRF token | the front end, which sends it back as `X-CSRF-Token` |
//! | `__Host-login` | the pending login: `state`, `nonce`, PKCE verifier, where to return, encrypted and authenticated with the data-encryption keys | the server only, during a login |
//!
//! All are `Secure`, `SameSite=Lax` and `Path=/`. The `__Host-` prefix makes
//! browsers refuse them unless they are `Secure`, have no `Domain` and the path
//! `/`, so a sibling subdomain cannot plant or overwrite them (RFC 6265bis
//! §4.1.3.2). `SameSite=Lax` still sends them on the top-level navigation back
//! from the identity provider. With `COOKIE_SECURE=false` (plain-http
//! development only) the prefix and `Secure` are dropped.

use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

use crate::crypto::Keyring;

/// Bytes of randomness in a session id and an anti-CSRF token.
const TOKEN_BYTES: usize = 32;
/// The associated data of the pending-login cookie: it opens nowhere else.
const LOGIN_CONTEXT: &[u8] = b"cookie.login";
/// A sealed pending login is a few hundred bytes; refuse anything far larger.
const MAX_LOGIN_COOKIE_LEN: usize = 2048;

/// The cookies' names and attributes, from `COOKIE_SECURE`.
#[derive(Debug, Clone)]
pub struct Cookies {
    secure: bool,
}

impl Cookies {
    pub fn new(secure: bool) -> Self {
        Self { secure }
    }

    fn name(&self, base: &'static str) -> &'static str {
        match (self.secure, base) {
            (true, "session") => "__Host-session",
            (true, "csrf") => "__Host-csrf",
            (true, _) => "__Host-login",
            (false, "session") => "session",
            (false, "csrf") => "csrf",
            (false, _) => "login",
        }
    }

    pub fn session_name(&self) -> &'static str {
        self.name("session")
    }

    pub fn csrf_name(&self) -> &'static str {
        self.name("csrf")
    }

    pub fn login_name(&self) -> &'static str {
        self.name("login")
    }

    /// A `Set-Cookie` value: `http_only` for what scripts must never read,
    /// `max_age` for the cookies that should not outlive a login.
    fn set(
        &self,
        name: &'static str,
        value: String,
        http_only: bool,
        max_age: Option<Duration>,
    ) -> HeaderValue {
        let mut cookie = Cookie::build((name, value))
            .path("/")
            .secure(self.secure)
            .http_only(http_only)
            .same_site(SameSite::Lax);
        if let Some(max_age) = max_age {
            let seconds = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            cookie = cookie.max_age(cookie::time::Duration::seconds(seconds));
        }
        header_value(&cookie.build())
    }

    /// The session cookie: no `Max-Age`, so it goes when the browser closes;
    /// the server enforces the idle and absolute timeouts either way.
    pub fn session(&self, id: &str) -> HeaderValue {
        self.set(self.session_name(), id.to_owned(), true, None)
    }

    /// The anti-CSRF cookie, readable by the front end's scripts.
    pub fn csrf(&self, token: &str) -> HeaderValue {
        self.set(self.csrf_name(), token.to_owned(), false, None)
    }

    pub fn login(&self, sealed: String, max_age: Duration) -> HeaderValue {
        self.set(self.login_name(), sealed, true, Some(max_age))
    }

    /// Expires the cookie `name` at once.
    pub fn clear(&self, name: &'static str) -> HeaderValue {
        self.set(name, String::new(), true, Some(Duration::ZERO))
    }

    /// The value of the cookie `name` in the request. A request that sends it
    /// twice (one planted by someone else?) gets neither.
    pub fn get<'a>(&self, headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        let mut found = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value.trim_matches('"'));
        let value = found.next()?;
        found.next().is_none().then_some(value)
    }
}

fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    // Names are constants and values base64url: always a valid header value.
    HeaderValue::from_str(&cookie.to_string()).expect("a cookie is a valid header value")
}

/// A fresh random token (a session id, an anti-CSRF token): 256 bits from
/// the operating system's generator, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `value` has the shape of a [`random_token`]. Checked before any
/// database lookup.
pub fn is_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The SHA-256 of a token: what the database stores instead of it.
pub fn hash(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

/// What the service remembers about a login between `/auth/login` and the
/// callback, inside the encrypted `login` cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// Echoed by the provider: ties the callback to this browser's login.
    pub state: String,
    /// Must come back inside the ID token.
    pub nonce: String,
    /// PKCE: proves at the token endpoint that we started this login.
    pub verifier: String,
    /// A local path to send the browser to afterwards.
    pub return_to: String,
    /// Seconds since the Unix epoch after which the login is refused.
    pub expires_at: i64,
}

impl PendingLogin {
    /// `kid.base64url(nonce ‖ ciphertext ‖ tag)`, sealed with the active key.
    pub fn seal(&self, keys: &Keyring) -> Option<String> {
        let json = serde_json::to_string(self).ok()?;
        let sealed = keys.seal(&json, LOGIN_CONTEXT).ok()?;
        Some(format!(
            "{}.{}",
            sealed.key_id,
            URL_SAFE_NO_PAD.encode(sealed.bytes)
        ))
    }

    /// The pending login in `value`, if it was sealed by us and has not expired.
    pub fn open(keys: &Keyring, value: &str, now: i64) -> Option<Self> {
        if value.len() > MAX_LOGIN_COOKIE_LEN {
            return None;
        }
        // Key ids may contain dots; base64url never does.
        let (key_id, sealed) = value.rsplit_once('.')?;
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let json = keys.open(key_id, &bytes, LOGIN_CONTEXT).ok()?;
        let login: Self = serde_json::from_str(&json).ok()?;
        (login.expires_at > now).then_some(login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keyring {
        Keyring::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
    }

    fn login() -> PendingLogin {
        PendingLogin {
            state: "s".to_owned(),
            nonce: "n".to_owned(),
            verifier: "v".to_owned(),
            return_to: "/".to_owned(),
            expires_at: 2_000,
        }
    }

    #[test]
    fn secure_cookies_are_host_prefixed_http_only_and_lax() {
        let cookies = Cookies::new(true);
        let session = cookies.session("abc");
        let session = session.to_str().unwrap();
        assert!(session.starts_with("__Host-session=abc"), "{session}");
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(session.contains(attribute), "{session}");
        }
        assert!(!session.contains("Domain"), "{session}");
        let csrf = cookies.csrf("t");
        assert!(!csrf.to_str().unwrap().contains("HttpOnly"));
        assert!(
            cookies
                .clear("__Host-login")
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }

    #[test]
    fn insecure_cookies_drop_the_prefix_and_secure() {
        let cookies = Cookies::new(false);
        let session = cookies.session("abc");
        let session = session.to_str().unwrap();
        assert!(session.starts_with("session=abc"), "{session}");
        assert!(!session.contains("Secure"), "{session}");
    }

    #[test]
    fn a_cookie_sent_twice_is_not_read() {
        let cookies = Cookies::new(true);
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; __Host-session=x"));
        assert_eq!(cookies.get(&headers, "__Host-session"), Some("x"));
        headers.append(COOKIE, HeaderValue::from_static("__Host-session=y"));
        assert_eq!(cookies.get(&headers, "__Host-session"), None);
    }

    #[test]
    fn random_tokens_are_256_bits_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert!(is_token(&a) && is_token(&b));
        assert_ne!(a, b);
        assert!(!is_token("short") && !is_token(&format!("{}!", &a[..42])));
        assert_eq!(hash(&a).len(), 32);
    }

    #[test]
    fn a_pending_login_opens_only_unaltered_and_unexpired() {
        let keys = keys();
        let sealed = login().seal(&keys).unwrap();
        assert_eq!(PendingLogin::open(&keys, &sealed, 1_000), Some(login()));
        assert_eq!(PendingLogin::open(&keys, &sealed, 2_000), None, "expired");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(PendingLogin::open(&keys, &altered, 1_000), None);
        assert_eq!(PendingLogin::open(&keys, "k1.AAAA", 1_000), None);
        assert!(!sealed.contains("verifier"), "the contents are encrypted");
    }
}
