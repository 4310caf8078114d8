//! The provider's memory of the browser sign-ins: pending authorization
//! requests, one-time codes, provider sessions and refresh tokens. It lives
//! as long as the process; nothing is written to disk.
//!
//! The rules are the ones real providers follow and the service relies on:
//! a code is good once, for the redirect URI and the PKCE challenge (S256
//! only) it was issued for; a refresh token is good once (rotation), and a
//! second use ends its whole provider session, as a stolen copy would
//! (RFC 9700 §4.14.2); revoking a refresh token or ending the session
//! refuses every refresh token of that session.

use std::collections::{BTreeMap, HashMap};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How long the sign-in page's choice may take.
const TICKET_LIFETIME: u64 = 10 * 60;
/// Codes are redeemed at once by the service's callback.
const CODE_LIFETIME: u64 = 60;
/// Like Keycloak's "SSO Session Idle": a refresh token unused for this long
/// is refused.
pub const REFRESH_TOKEN_LIFETIME: u64 = 30 * 60;

/// 256 random bits, base64url: codes, tickets, tokens, session ids.
pub fn random_value() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An OAuth error (RFC 6749 §5.2), with the wording the service reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: &'static str,
    pub description: String,
}

impl Refusal {
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self {
            error: "invalid_grant",
            description: description.into(),
        }
    }
}

/// A checked authorization request, waiting for the person to pick a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
    /// The S256 PKCE challenge.
    pub code_challenge: String,
}

struct Ticket {
    request: AuthRequest,
    expires: u64,
}

struct Code {
    request: AuthRequest,
    sid: String,
    expires: u64,
}

/// A provider session: one sign-in of one test user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub sid: String,
    pub username: String,
    pub client_id: String,
    pub started: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenState {
    Active,
    /// Replaced by a newer one: using it again is reuse.
    Rotated,
    Revoked,
}

struct RefreshToken {
    sid: String,
    client_id: String,
    scope: String,
    state: TokenState,
    expires: u64,
}

/// What a redeemed code or refresh token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    pub session: Session,
    pub scope: String,
    /// The `nonce` of the authorization request (codes only).
    pub nonce: Option<String>,
}

#[derive(Default)]
pub struct Store {
    tickets: HashMap<String, Ticket>,
    codes: HashMap<String, Code>,
    sessions: BTreeMap<String, Session>,
    refresh_tokens: HashMap<String, RefreshToken>,
}

impl Store {
    /// Keeps a checked request until the person picks a user.
    pub fn new_ticket(&mut self, request: AuthRequest, now: u64) -> String {
        self.prune(now);
        let ticket = random_value();
        self.tickets.insert(
            ticket.clone(),
            Ticket {
                request,
                expires: now + TICKET_LIFETIME,
            },
        );
        ticket
    }

    /// The request of `ticket`, once.
    pub fn take_ticket(&mut self, ticket: &str, now: u64) -> Option<AuthRequest> {
        self.tickets
            .remove(ticket)
            .filter(|t| t.expires > now)
            .map(|t| t.request)
    }

    /// Signs `username` in for `request`: a new provider session and a code.
    pub fn sign_in(&mut self, request: AuthRequest, username: &str, now: u64) -> String {
        let sid = self.start_session(username, &request.client_id, now);
        let code = random_value();
        self.codes.insert(
            code.clone(),
            Code {
                request,
                sid,
                expires: now + CODE_LIFETIME,
            },
        );
        code
    }

    /// A provider session without a browser (the password grant).
    pub fn start_session(&mut self, username: &str, client_id: &str, now: u64) -> String {
        let sid = random_value();
        self.sessions.insert(
            sid.clone(),
            Session {
                sid: sid.clone(),
                username: username.to_owned(),
                client_id: client_id.to_owned(),
                started: now,
            },
        );
        sid
    }

    /// The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub fn redeem_code(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now: u64,
    ) -> Result<Redeemed, Refusal> {
        // A code is good for one attempt, whatever comes of it.
        let code = self
            .codes
            .remove(code)
            .filter(|c| c.expires > now)
            .ok_or_else(|| Refusal::invalid_grant("Code not valid"))?;
        if code.request.client_id != client_id {
            return Err(Refusal::invalid_grant(
                "the code was issued to another client",
            ));
        }
        if redirect_uri != Some(code.request.redirect_uri.as_str()) {
            return Err(Refusal::invalid_grant(
                "redirect_uri is not the authorization request's",
            ));
        }
        let verifier = verifier.ok_or_else(|| Refusal::invalid_grant("PKCE: no code_verifier"))?;
        // RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
        if !(43..=128).contains(&verifier.len())
            || !verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        {
            return Err(Refusal::invalid_grant("PKCE: malformed code_verifier"));
        }
        let computed = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
        if verify_slices_are_equal(computed.as_bytes(), code.request.code_challenge.as_bytes())
            .is_err()
        {
            return Err(Refusal::invalid_grant(
                "PKCE verification failed: the code_verifier does not match the code_challenge",
            ));
        }
        let session = self
            .sessions
            .get(&code.sid)
            .cloned()
            .ok_or_else(|| Refusal::invalid_grant("the sign-in has ended"))?;
        Ok(Redeemed {
            session,
            scope: code.request.scope,
            nonce: code.request.nonce,
        })
    }

    /// A new refresh token for the session `sid`.
    pub fn issue_refresh_token(
        &mut self,
        sid: &str,
        client_id: &str,
        scope: &str,
        now: u64,
    ) -> String {
        self.prune(now);
        let token = random_value();
        self.refresh_tokens.insert(
            token.clone(),
            RefreshToken {
                sid: sid.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                state: TokenState::Active,
                expires: now + REFRESH_TOKEN_LIFETIME,
            },
        );
        token
    }

    /// The `refresh_token` grant with rotation: the token is spent; the
    /// caller issues the next one. Keycloak's wordings, which the service
    /// reads ("reuse" ends every session of the user there).
    pub fn redeem_refresh_token(
        &mut self,
        token: &str,
        client_id: &str,
        now: u64,
    ) -> Result<Redeemed, Refusal> {
        let Some(entry) = self.refresh_tokens.get_mut(token) else {
            return Err(Refusal::invalid_grant("Invalid refresh token"));
        };
        if entry.client_id != client_id {
            return Err(Refusal::invalid_grant("Invalid refresh token"));
        }
        match entry.state {
            TokenState::Revoked => return Err(Refusal::invalid_grant("Token is not active")),
            TokenState::Rotated => {
                let sid = entry.sid.clone();
                self.end_session(&sid);
                return Err(Refusal::invalid_grant(
                    "Maximum allowed refresh token reuse exceeded",
                ));
            }
            TokenState::Active if entry.expires <= now => {
                return Err(Refusal::invalid_grant("Token is not active"));
            }
            TokenState::Active => entry.state = TokenState::Rotated,
        }
        let (sid, scope) = (entry.sid.clone(), entry.scope.clone());
        let session = self
            .sessions
            .get(&sid)
            .cloned()
            .ok_or_else(|| Refusal::invalid_grant("Session not active"))?;
        Ok(Redeemed {
            session,
            scope,
            nonce: None,
        })
    }

    /// RFC 7009: revoking a refresh token ends its session, as Keycloak does.
    /// Tokens it does not know (access tokens, which are JWTs and expire on
    /// their own) are fine. Returns the ended session.
    pub fn revoke(&mut self, token: &str, client_id: &str) -> Option<Session> {
        let sid = self
            .refresh_tokens
            .get(token)
            .filter(|entry| entry.client_id == client_id)?
            .sid
            .clone();
        self.end_session(&sid)
    }

    /// Ends the session `sid`: its refresh tokens are refused from now on.
    pub fn end_session(&mut self, sid: &str) -> Option<Session> {
        for entry in self.refresh_tokens.values_mut() {
            if entry.sid == sid {
                entry.state = TokenState::Revoked;
            }
        }
        self.sessions.remove(sid)
    }

    /// The sessions signed in now, oldest first.
    pub fn sessions(&self) -> Vec<Session> {
        let mut sessions: Vec<Session> = self.sessions.values().cloned().collect();
        sessions.sort_by_key(|s| s.started);
        sessions
    }

    /// Drops what has expired.
    fn prune(&mut self, now: u64) {
        self.tickets.retain(|_, t| t.expires > now);
        self.codes.retain(|_, c| c.expires > now);
        // Spent and revoked tokens are kept until they would have expired,
        // so that a late reuse is still recognized as one.
        self.refresh_tokens.retain(|_, r| r.expires > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    /// RFC 7636 Appendix B.
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn request() -> AuthRequest {
        AuthRequest {
            client_id: "shop".to_owned(),
            redirect_uri: "http://localhost:8080/auth/callback".to_owned(),
            state: Some("st".to_owned()),
            nonce: Some("n".to_owned()),
            scope: "openid".to_owned(),
            code_challenge: CHALLENGE.to_owned(),
        }
    }

    const REDIRECT: Option<&str> = Some("http://localhost:8080/auth/callback");

    #[test]
    fn a_code_is_redeemed_once_with_its_pkce_verifier() {
        let mut store = Store::default();
        let ticket = store.new_ticket(request(), 0);
        let request = store.take_ticket(&ticket, 1).unwrap();
        assert!(
            store.take_ticket(&ticket, 1).is_none(),
            "tickets are single-use"
        );
        let code = store.sign_in(request, "test-editor", 1);
        let redeemed = store
            .redeem_code(&code, "shop", REDIRECT, Some(VERIFIER), 2)
            .unwrap();
        assert_eq!(redeemed.session.username, "test-editor");
        assert_eq!(redeemed.nonce.as_deref(), Some("n"));
        let again = store.redeem_code(&code, "shop", REDIRECT, Some(VERIFIER), 2);
        assert_eq!(again.unwrap_err().error, "invalid_grant");
    }

    #[test]
    fn a_code_is_refused_with_a_wrong_verifier_redirect_client_or_too_late() {
        let wrong = "x".repeat(43);
        // (client, redirect URI, verifier, what the refusal says)
        let cases = [
            (
                "shop",
                REDIRECT,
                Some(wrong.as_str()),
                "PKCE verification failed",
            ),
            ("shop", REDIRECT, None, "no code_verifier"),
            ("shop", REDIRECT, Some("short"), "malformed code_verifier"),
            (
                "shop",
                Some("http://localhost:9/cb"),
                Some(VERIFIER),
                "redirect_uri",
            ),
            ("other", REDIRECT, Some(VERIFIER), "another client"),
        ];
        for (client, redirect, verifier, expected) in cases {
            let mut store = Store::default();
            let code = store.sign_in(request(), "test-editor", 1);
            let refusal = store
                .redeem_code(&code, client, redirect, verifier, 2)
                .unwrap_err();
            assert!(refusal.description.contains(expected), "{refusal:?}");
        }
        let mut store = Store::default();
        let code = store.sign_in(request(), "test-editor", 1);
        let late = store.redeem_code(&code, "shop", REDIRECT, Some(VERIFIER), 1 + CODE_LIFETIME);
        assert_eq!(late.unwrap_err().description, "Code not valid");
    }

    #[test]
    fn refresh_tokens_rotate_and_a_reused_one_ends_the_session() {
        let mut store = Store::default();
        let sid = store.start_session("test-editor", "shop", 0);
        let first = store.issue_refresh_token(&sid, "shop", "openid", 0);
        store.redeem_refresh_token(&first, "shop", 1).unwrap();
        let second = store.issue_refresh_token(&sid, "shop", "openid", 1);
        // The first again: a copy in other hands. Every token of the session goes.
        let reuse = store.redeem_refresh_token(&first, "shop", 2).unwrap_err();
        assert!(reuse.description.contains("reuse"), "{reuse:?}");
        let after = store.redeem_refresh_token(&second, "shop", 3).unwrap_err();
        assert_eq!(after.description, "Token is not active");
        assert!(store.sessions().is_empty());
    }

    #[test]
    fn revocation_ends_the_session_and_unknown_tokens_are_fine() {
        let mut store = Store::default();
        let sid = store.start_session("test-editor", "shop", 0);
        let token = store.issue_refresh_token(&sid, "shop", "openid", 0);
        assert!(store.revoke("an-access-token", "shop").is_none());
        assert!(store.revoke(&token, "other-client").is_none());
        assert_eq!(store.revoke(&token, "shop").unwrap().sid, sid);
        let refused = store.redeem_refresh_token(&token, "shop", 1).unwrap_err();
        assert_eq!(refused.description, "Token is not active");
    }

    #[test]
    fn idle_refresh_tokens_expire() {
        let mut store = Store::default();
        let sid = store.start_session("test-editor", "shop", 0);
        let token = store.issue_refresh_token(&sid, "shop", "openid", 0);
        let refused = store
            .redeem_refresh_token(&token, "shop", REFRESH_TOKEN_LIFETIME)
            .unwrap_err();
        assert_eq!(refused.error, "invalid_grant");
    }
}
