//! The test identity provider as an authorization server, for browser
//! logins (feature `session`): an authorize endpoint that signs in the user a
//! test chose beforehand ([`TestIdp::sign_in_as`]), a token endpoint
//! (authorization code with PKCE, rotating refresh tokens with reuse
//! detection), a revocation endpoint, and helpers that mint ID tokens and
//! back-channel logout tokens. It records what it was asked, so tests can
//! check what the service sent. Where the provider serves each endpoint, and
//! how it words its refusals, is in [`paths`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::Header;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{AUDIENCE, IdpState, KEYS, TestIdp, base64url, now};

pub mod paths;

/// The confidential client of browser logins (`AUTH_CLIENT_ID`), the `aud` of
/// ID tokens and logout tokens, unless a test registers another
/// ([`TestIdp::set_client_id`]). The API's own client, as with most setups of
/// one service and its front end (and Keycloak's client roles are read for
/// `AUTH_CLIENT_ID`, which the other tests expect to be the audience).
pub const CLIENT_ID: &str = AUDIENCE;
/// Its secret (`AUTH_CLIENT_SECRET`), which the token and revocation
/// endpoints check (`client_secret_basic`).
pub const CLIENT_SECRET: &str = "test-client-secret";
/// The member of `events` that makes a JWT a back-channel logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long access tokens live unless a test sets another lifetime, in seconds.
const ACCESS_TOKEN_LIFETIME: u64 = 300;

/// The login side of the IdP's state.
pub(super) struct LoginState {
    endpoints: Endpoints,
    /// The one client the IdP knows (its secret is [`CLIENT_SECRET`]).
    client_id: Mutex<String>,
    login: Mutex<Login>,
}

impl LoginState {
    /// A login side serving at `base`.
    pub(super) fn new(base: &str) -> Self {
        Self {
            endpoints: Endpoints::paths().under(base),
            client_id: Mutex::new(CLIENT_ID.to_owned()),
            login: Mutex::new(Login::default()),
        }
    }
}

/// The login endpoints, added to the IdP's router.
pub(super) fn routes(router: axum::Router<Arc<IdpState>>) -> axum::Router<Arc<IdpState>> {
    router
        .route(paths::AUTHORIZATION, get(authorize))
        .route(paths::TOKEN, post(token))
        .route(paths::REVOCATION, post(revoke))
}

/// Adds the login endpoints and what they support to a discovery document.
pub(super) fn advertise(state: &IdpState, mut document: Value) -> Value {
    let endpoints = &state.login.endpoints;
    let fields = json!({
        "authorization_endpoint": endpoints.authorization,
        "token_endpoint": endpoints.token,
        "revocation_endpoint": endpoints.revocation,
        "end_session_endpoint": endpoints.end_session,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    if let (Some(object), Value::Object(fields)) = (document.as_object_mut(), fields) {
        object.extend(fields);
    }
    document
}

/// The endpoints of the login flow: their paths while the IdP starts, then
/// their URLs.
#[derive(Debug, Clone)]
pub(super) struct Endpoints {
    authorization: String,
    token: String,
    revocation: String,
    end_session: String,
}

impl Endpoints {
    /// Where this provider serves them.
    pub(super) fn paths() -> Self {
        Self {
            authorization: paths::AUTHORIZATION.to_owned(),
            token: paths::TOKEN.to_owned(),
            revocation: paths::REVOCATION.to_owned(),
            end_session: paths::END_SESSION.to_owned(),
        }
    }

    /// The URLs of these paths on `base`.
    fn under(&self, base: &str) -> Self {
        Self {
            authorization: format!("{base}{}", self.authorization),
            token: format!("{base}{}", self.token),
            revocation: format!("{base}{}", self.revocation),
            end_session: format!("{base}{}", self.end_session),
        }
    }
}

/// An authorization request, as the authorize endpoint received it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizationRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub resource: Option<String>,
}

/// What the token endpoint issued for a code or a refresh token.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub subject: String,
    /// The IdP session of the login they belong to, the ID token's `sid`.
    pub sid: String,
    pub access_token: String,
    pub refresh_token: String,
    pub id_token: String,
    /// Seconds until the access token expires (`expires_in`).
    pub expires_in: u64,
    pub scope: String,
}

impl IssuedTokens {
    /// The token endpoint's answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
    fn response(&self) -> Value {
        json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
            "scope": self.scope,
        })
    }
}

/// A token revocation request (RFC 7009).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Revocation {
    pub token: String,
    pub token_type_hint: Option<String>,
}

/// An OAuth error answer of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: &'static str,
    pub description: String,
}

impl Refusal {
    fn invalid_client() -> Self {
        Self {
            error: "invalid_client",
            description: "client authentication failed".to_owned(),
        }
    }

    fn invalid_grant(description: &str) -> Self {
        Self {
            error: "invalid_grant",
            description: description.to_owned(),
        }
    }
}

/// A change a test makes to the claims of a token before it is signed.
type ClaimsEdit = Box<dyn FnOnce(&mut Map<String, Value>) + Send>;

/// A user signed in at the IdP.
#[derive(Debug, Clone)]
struct User {
    subject: String,
    roles: Vec<String>,
}

/// One login at the IdP, which its code and then its refresh tokens stand for.
#[derive(Debug, Clone)]
struct Grant {
    user: User,
    /// The IdP session: the ID token's `sid`, what logout tokens name. It
    /// also ties the refresh tokens of the login together.
    sid: String,
    nonce: Option<String>,
    scope: String,
    /// What the code was issued for, checked when it is redeemed.
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// Where a refresh token stands. A refresh rotates it: the token it replaces
/// stays known as `Rotated`, so that a second use shows as reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenState {
    Active,
    Rotated,
    Revoked,
}

/// The login side of the test IdP: what it is set to do, what it issued and
/// what it was asked.
struct Login {
    /// Whom the authorize endpoint signs in; `None` answers `access_denied`.
    user: Option<User>,
    /// Seconds, for access tokens issued from now on.
    access_token_lifetime: u64,
    /// How long the token endpoint takes to answer a refresh.
    refresh_delay: Duration,
    /// Applied to the claims of the next ID token issued.
    id_token_edit: Option<ClaimsEdit>,
    authorizations: Vec<AuthorizationRequest>,
    /// Codes not redeemed yet.
    codes: HashMap<String, Grant>,
    refresh_tokens: HashMap<String, (Grant, TokenState)>,
    issued: Vec<IssuedTokens>,
    /// Token endpoint requests per `grant_type`.
    token_calls: HashMap<String, usize>,
    /// The refresh tokens presented at the token endpoint, in order.
    presented_refresh_tokens: Vec<String>,
    /// The token endpoint's error answers, in order.
    refusals: Vec<Refusal>,
    revocations: Vec<Revocation>,
    /// Logins so far: numbers their `sid`.
    logins: u64,
}

impl Default for Login {
    fn default() -> Self {
        Self {
            user: None,
            access_token_lifetime: ACCESS_TOKEN_LIFETIME,
            refresh_delay: Duration::ZERO,
            id_token_edit: None,
            authorizations: Vec::new(),
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            issued: Vec::new(),
            token_calls: HashMap::new(),
            presented_refresh_tokens: Vec::new(),
            refusals: Vec::new(),
            revocations: Vec::new(),
            logins: 0,
        }
    }
}

impl Login {
    /// Revokes every refresh token of the IdP session `sid`.
    fn end_idp_session(&mut self, sid: &str) {
        for (grant, state) in self.refresh_tokens.values_mut() {
            if grant.sid == sid {
                *state = TokenState::Revoked;
            }
        }
    }
}

/// The browser-login side of a test IdP.
impl TestIdp {
    /// A handle on the IdP behind `state`, for its request handlers.
    fn handle(state: Arc<IdpState>) -> Self {
        Self {
            issuer: state.issuer.clone(),
            state,
        }
    }

    fn login(&self) -> std::sync::MutexGuard<'_, Login> {
        self.state.login.login.lock().expect("not poisoned")
    }

    /// The client the IdP knows from now on: the one a test application with
    /// another `AUTH_CLIENT_ID` uses (with the same secret).
    pub fn set_client_id(&self, client_id: &str) {
        *self.state.login.client_id.lock().expect("not poisoned") = client_id.to_owned();
    }

    pub fn client_id(&self) -> String {
        self.state
            .login
            .client_id
            .lock()
            .expect("not poisoned")
            .clone()
    }

    /// From now on, the authorize endpoint signs in `subject` with `roles`
    /// at once, as if they had just entered their password.
    pub fn sign_in_as(&self, subject: &str, roles: &[&str]) {
        self.login().user = Some(User {
            subject: subject.to_owned(),
            roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        });
    }

    /// From now on, the authorize endpoint answers `error=access_denied`, as
    /// when the user cancels (the default until [`Self::sign_in_as`]).
    pub fn refuse_sign_in(&self) {
        self.login().user = None;
    }

    /// The lifetime (`exp`, `expires_in`) of the access tokens issued from now on.
    pub fn set_access_token_lifetime(&self, lifetime: Duration) {
        self.login().access_token_lifetime = lifetime.as_secs();
    }

    /// Refreshes take `delay` to answer: concurrent ones overlap for real.
    pub fn set_refresh_delay(&self, delay: Duration) {
        self.login().refresh_delay = delay;
    }

    /// `edit` changes the claims of the next ID token the token endpoint
    /// issues (another `nonce`, another `aud`, ...).
    pub fn edit_next_id_token(&self, edit: impl FnOnce(&mut Map<String, Value>) + Send + 'static) {
        self.login().id_token_edit = Some(Box::new(edit));
    }

    pub fn authorization_endpoint(&self) -> String {
        self.state.login.endpoints.authorization.clone()
    }

    pub fn end_session_endpoint(&self) -> String {
        self.state.login.endpoints.end_session.clone()
    }

    /// The authorization requests received, in order.
    pub fn authorizations(&self) -> Vec<AuthorizationRequest> {
        self.login().authorizations.clone()
    }

    /// Token endpoint requests with `grant_type`, answered or not.
    pub fn token_calls(&self, grant_type: &str) -> usize {
        self.login()
            .token_calls
            .get(grant_type)
            .copied()
            .unwrap_or(0)
    }

    /// Token endpoint requests with `grant_type=refresh_token`.
    pub fn refresh_calls(&self) -> usize {
        self.token_calls("refresh_token")
    }

    /// The refresh tokens presented at the token endpoint, in order.
    pub fn presented_refresh_tokens(&self) -> Vec<String> {
        self.login().presented_refresh_tokens.clone()
    }

    /// Every code exchange and refresh answered, in order.
    pub fn issued(&self) -> Vec<IssuedTokens> {
        self.login().issued.clone()
    }

    /// The tokens issued last.
    pub fn last_issued(&self) -> IssuedTokens {
        self.login()
            .issued
            .last()
            .cloned()
            .expect("the IdP has issued tokens")
    }

    /// The token endpoint's error answers, in order.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.login().refusals.clone()
    }

    /// The revocation requests received, in order.
    pub fn revocations(&self) -> Vec<Revocation> {
        self.login().revocations.clone()
    }

    /// Ends the IdP session of `refresh_token`: it and every refresh token of
    /// its login are refused from now on, as after an administrator signed
    /// the user out at the IdP.
    pub fn revoke_refresh_token(&self, refresh_token: &str) {
        let mut login = self.login();
        let (grant, _) = login
            .refresh_tokens
            .get(refresh_token)
            .cloned()
            .expect("a refresh token the IdP issued");
        login.end_idp_session(&grant.sid);
    }

    /// Redeems `refresh_token` as a thief holding a copy would. Not counted
    /// among the token endpoint's requests.
    pub fn redeem_refresh_token(&self, refresh_token: &str) -> Result<IssuedTokens, Refusal> {
        self.refresh(refresh_token)
    }

    /// Valid ID token claims (OIDC Core §2) for `subject`, issued to
    /// [`Self::client_id`] in the IdP session `sid`. Tests edit them to build
    /// invalid ones.
    pub fn id_token_claims(
        &self,
        subject: &str,
        nonce: Option<&str>,
        sid: &str,
    ) -> Map<String, Value> {
        let now = now();
        let client_id = self.client_id();
        let mut claims = json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": client_id,
            "azp": client_id,
            "exp": now + 300,
            "iat": now,
            "auth_time": now,
            "sid": sid,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        claims.as_object().expect("an object").clone()
    }

    /// The header of the IdP's ID tokens.
    pub fn id_token_header() -> Header {
        let mut header = KEYS.rsa[0].header();
        header.typ = Some("JWT".to_owned());
        header
    }

    /// `claims` signed as an ID token with the usual key.
    pub fn id_token(&self, claims: &Map<String, Value>) -> String {
        KEYS.rsa[0].sign(&Self::id_token_header(), claims)
    }

    /// Valid back-channel logout token claims (OpenID Connect Back-Channel
    /// Logout 1.0 §2.4) naming the IdP session `sid` and/or `subject`.
    pub fn logout_token_claims(
        &self,
        sid: Option<&str>,
        subject: Option<&str>,
    ) -> Map<String, Value> {
        let now = now();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.client_id(),
            "iat": now,
            "exp": now + 120,
            "jti": random_value(),
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        });
        if let Some(sid) = sid {
            claims["sid"] = json!(sid);
        }
        if let Some(subject) = subject {
            claims["sub"] = json!(subject);
        }
        claims.as_object().expect("an object").clone()
    }

    /// The header of logout tokens: `typ` is `logout+jwt` (§2.4).
    pub fn logout_token_header() -> Header {
        let mut header = KEYS.rsa[0].header();
        header.typ = Some("logout+jwt".to_owned());
        header
    }

    /// `claims` signed as a logout token with the usual key.
    pub fn logout_token(&self, claims: &Map<String, Value>) -> String {
        KEYS.rsa[0].sign(&Self::logout_token_header(), claims)
    }

    /// Whether the request carries the client's credentials as
    /// `client_secret_basic` sends them (RFC 6749 §2.3.1; neither the id nor
    /// the secret has a character that form-encoding would change).
    fn authenticates_client(&self, headers: &HeaderMap) -> bool {
        let credentials = format!("{}:{CLIENT_SECRET}", self.client_id());
        let expected = format!("Basic {}", STANDARD.encode(credentials));
        headers
            .get(header::AUTHORIZATION)
            .is_some_and(|value| value.as_bytes() == expected.as_bytes())
    }

    /// The `authorization_code` grant: the code once, for the redirect URI
    /// it was issued for, with the PKCE verifier of its challenge (S256 only,
    /// as providers that require PKCE do).
    fn redeem_code(&self, form: &HashMap<String, String>) -> Result<IssuedTokens, Refusal> {
        let mut login = self.login();
        let code = form.get("code").map(String::as_str).unwrap_or_default();
        // A code is good for one attempt, whatever comes of it.
        let grant = login
            .codes
            .remove(code)
            .ok_or_else(|| Refusal::invalid_grant("unknown or used code"))?;
        if form.get("redirect_uri") != grant.redirect_uri.as_ref() {
            return Err(Refusal::invalid_grant(
                "redirect_uri is not the authorization request's",
            ));
        }
        let challenge = match (
            &grant.code_challenge,
            grant.code_challenge_method.as_deref(),
        ) {
            (Some(challenge), Some("S256")) => challenge,
            _ => {
                return Err(Refusal::invalid_grant(
                    "PKCE is required, with code_challenge_method S256",
                ));
            }
        };
        let verifier = form
            .get("code_verifier")
            .ok_or_else(|| Refusal::invalid_grant("PKCE: no code_verifier"))?;
        let computed = base64url(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
        );
        if &computed != challenge {
            return Err(Refusal::invalid_grant(
                "PKCE verification failed: the code_verifier does not match the code_challenge",
            ));
        }
        Ok(self.issue(&mut login, &grant))
    }

    /// The `refresh_token` grant with rotation: each refresh token works once.
    /// A second use means someone else holds a copy: the whole IdP session
    /// is revoked (RFC 9700 §4.14.2) and the answer says so.
    fn refresh(&self, refresh_token: &str) -> Result<IssuedTokens, Refusal> {
        let mut login = self.login();
        let Some((grant, state)) = login.refresh_tokens.get(refresh_token).cloned() else {
            return Err(Refusal::invalid_grant(paths::UNKNOWN_REFRESH_TOKEN));
        };
        match state {
            TokenState::Active => {
                login.refresh_tokens.insert(
                    refresh_token.to_owned(),
                    (grant.clone(), TokenState::Rotated),
                );
                Ok(self.issue(&mut login, &grant))
            }
            TokenState::Rotated => {
                login.end_idp_session(&grant.sid);
                Err(Refusal::invalid_grant(paths::REUSED_REFRESH_TOKEN))
            }
            TokenState::Revoked => Err(Refusal::invalid_grant(paths::REVOKED_REFRESH_TOKEN)),
        }
    }

    /// Fresh tokens for `grant`: an access token shaped like the provider's
    /// ([`Self::claims`]), a new refresh token, an ID token.
    fn issue(&self, login: &mut Login, grant: &Grant) -> IssuedTokens {
        let lifetime = login.access_token_lifetime;
        let roles: Vec<&str> = grant.user.roles.iter().map(String::as_str).collect();
        let mut access = self.claims(&grant.user.subject, &roles);
        access.insert("exp".to_owned(), json!(now() + lifetime));
        // Unique, so that every refresh gives another token.
        access.insert("jti".to_owned(), json!(random_value()));
        let mut id_claims =
            self.id_token_claims(&grant.user.subject, grant.nonce.as_deref(), &grant.sid);
        if let Some(edit) = login.id_token_edit.take() {
            edit(&mut id_claims);
        }
        let refresh_token = random_value();
        login
            .refresh_tokens
            .insert(refresh_token.clone(), (grant.clone(), TokenState::Active));
        let tokens = IssuedTokens {
            subject: grant.user.subject.clone(),
            sid: grant.sid.clone(),
            access_token: KEYS.rsa[0].token(&access),
            refresh_token,
            id_token: self.id_token(&id_claims),
            expires_in: lifetime,
            scope: grant.scope.clone(),
        };
        login.issued.push(tokens.clone());
        tokens
    }
}

/// 256 random bits, base64url: codes and refresh tokens nobody can guess.
fn random_value() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
    base64url(&bytes)
}

fn oauth_error(status: StatusCode, refusal: &Refusal) -> Response {
    (
        status,
        Json(json!({ "error": refusal.error, "error_description": refusal.description })),
    )
        .into_response()
}

/// The authorize endpoint: records the request and, for the user a test
/// chose, redirects (302) straight back with a one-time code, as a provider
/// does once its user has signed in.
async fn authorize(
    State(state): State<Arc<IdpState>>,
    Query(request): Query<AuthorizationRequest>,
) -> Response {
    let idp = TestIdp::handle(state);
    let mut login = idp.login();
    login.authorizations.push(request.clone());
    // A request with an unknown client or a broken redirect URI gets an error
    // page, never a redirect (RFC 6749 §4.1.2.1).
    if request.client_id != Some(idp.client_id()) {
        return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
    }
    let Some(mut location) = request
        .redirect_uri
        .as_deref()
        .and_then(|uri| reqwest::Url::parse(uri).ok())
    else {
        return (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response();
    };
    let mut answer = match (&login.user, request.response_type.as_deref()) {
        (_, response_type) if response_type != Some("code") => {
            vec![("error", "unsupported_response_type".to_owned())]
        }
        (None, _) => vec![("error", "access_denied".to_owned())],
        (Some(user), _) => {
            let user = user.clone();
            login.logins += 1;
            let grant = Grant {
                user,
                sid: format!("sid-{}", login.logins),
                nonce: request.nonce.clone(),
                scope: request.scope.clone().unwrap_or_default(),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                code_challenge_method: request.code_challenge_method.clone(),
            };
            let code = random_value();
            login.codes.insert(code.clone(), grant);
            vec![("code", code)]
        }
    };
    if let Some(state) = &request.state {
        answer.push(("state", state.clone()));
    }
    // RFC 9207: which issuer answers, against mix-up attacks.
    answer.push(("iss", idp.issuer.clone()));
    location.query_pairs_mut().extend_pairs(&answer);
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// The token endpoint, for the confidential client only.
async fn token(
    State(state): State<Arc<IdpState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let idp = TestIdp::handle(state);
    let grant_type = form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    let refresh_delay = {
        let mut login = idp.login();
        *login.token_calls.entry(grant_type.to_owned()).or_default() += 1;
        login.refresh_delay
    };
    if !idp.authenticates_client(&headers) {
        return oauth_error(StatusCode::UNAUTHORIZED, &Refusal::invalid_client());
    }
    let issued = match grant_type {
        "authorization_code" => idp.redeem_code(&form),
        "refresh_token" => {
            let refresh_token = form.get("refresh_token").cloned().unwrap_or_default();
            idp.login()
                .presented_refresh_tokens
                .push(refresh_token.clone());
            tokio::time::sleep(refresh_delay).await;
            idp.refresh(&refresh_token)
        }
        _ => Err(Refusal {
            error: "unsupported_grant_type",
            description: format!("grant_type `{grant_type}`"),
        }),
    };
    match issued {
        Ok(tokens) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(tokens.response()),
        )
            .into_response(),
        Err(refusal) => {
            idp.login().refusals.push(refusal.clone());
            oauth_error(StatusCode::BAD_REQUEST, &refusal)
        }
    }
}

/// The revocation endpoint (RFC 7009): records the request; revoking a
/// refresh token ends its IdP session, as Keycloak does.
async fn revoke(
    State(state): State<Arc<IdpState>>,
    headers: HeaderMap,
    Form(revocation): Form<Revocation>,
) -> Response {
    let idp = TestIdp::handle(state);
    if !idp.authenticates_client(&headers) {
        return oauth_error(StatusCode::UNAUTHORIZED, &Refusal::invalid_client());
    }
    let mut login = idp.login();
    if let Some((grant, _)) = login.refresh_tokens.get(&revocation.token).cloned() {
        login.end_idp_session(&grant.sid);
    }
    login.revocations.push(revocation);
    StatusCode::OK.into_response()
}
