//! The provider's HTTP side (axum, on loopback only): discovery, JWKS and the
//! token endpoint for every project; for projects with browser sessions also
//! the authorization endpoint (a page to pick a test user), revocation,
//! end-session and back-channel logout to the service.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use minijinja::context;
use serde_json::{Value, json};

use super::config::{ACCESS_TOKEN_LIFETIME, Client, DevConfig, TestUser, is_loopback_host};
use super::keys::SigningKey;
use super::page;
use super::shape::{self, Endpoints, Grant, HOME_PATH, Holder, SIGN_OUT_PATH};
use super::store::{self, AuthRequest, Refusal, Session, Store};
use crate::answers::Idp;
use crate::error::UserError;
use crate::ui::Ui;

/// Scopes granted when a request names none.
const DEFAULT_SCOPE: &str = "openid profile email";

/// The listening sockets, bound before anything else happens so that a port
/// in use is known at once.
pub struct Listeners(Vec<std::net::TcpListener>);

impl Listeners {
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.0.iter().filter_map(|l| l.local_addr().ok()).collect()
    }
}

/// Why the provider could not listen.
#[derive(Debug)]
pub enum BindError {
    /// Something else listens there already: another `nestflux dev`, or the
    /// provider of compose.yaml.
    InUse(SocketAddr),
    Other(SocketAddr, io::Error),
}

impl BindError {
    /// The message for the person at the terminal.
    pub fn to_user_error(&self, config: &DevConfig) -> UserError {
        match self {
            Self::InUse(addr) => UserError::failure(format!(
                "port {} is in use ({addr}): another program serves there, so the development provider cannot serve {}",
                addr.port(),
                config.issuer.url
            ))
            .with_help(match config.idp {
                Idp::Keycloak | Idp::Authentik => format!(
                    "is the {} of compose.yaml running (`docker compose ps`)? Stop it, or use it: `cargo run` and `nestflux dev token ROLE` work with it too",
                    config.idp.label()
                ),
                Idp::Oidc => "is another `nestflux dev` running? Stop it, or find the program with `ss -ltnp`".to_owned(),
            }),
            Self::Other(addr, error) => {
                UserError::failure(format!("cannot listen on {addr}: {error}"))
            }
        }
    }
}

/// Binds the issuer's port on loopback (or on `bind`, which must be
/// loopback). For `localhost`, ::1 is bound too when the machine has IPv6.
pub fn bind(
    config: &DevConfig,
    bind: Option<IpAddr>,
) -> anyhow::Result<Result<Listeners, BindError>> {
    let addrs = config.issuer.listen_addrs(bind)?;
    let mut listeners = Vec::new();
    for (index, addr) in addrs.iter().enumerate() {
        match std::net::TcpListener::bind(addr) {
            Ok(listener) => listeners.push(listener),
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
                return Ok(Err(BindError::InUse(*addr)));
            }
            // A machine without IPv6: 127.0.0.1 is enough.
            Err(_) if index > 0 && addr.is_ipv6() => {}
            Err(error) => return Ok(Err(BindError::Other(*addr, error))),
        }
    }
    Ok(Ok(Listeners(listeners)))
}

/// A running provider's state.
pub struct Provider {
    pub config: DevConfig,
    pub endpoints: Endpoints,
    key: SigningKey,
    store: Mutex<Store>,
    ui: Ui,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

impl Provider {
    /// A provider for `config`, with a fresh signing key.
    pub fn new(config: DevConfig, ui: Ui) -> anyhow::Result<Self> {
        let endpoints = Endpoints::new(config.idp, &config.issuer);
        let paths = [
            &endpoints.discovery,
            &endpoints.jwks,
            &endpoints.token,
            &endpoints.authorization,
            &endpoints.revocation,
            &endpoints.end_session,
        ];
        for (i, path) in paths.iter().enumerate() {
            if paths[..i].contains(path)
                || path.as_str() == HOME_PATH
                || path.as_str() == SIGN_OUT_PATH
            {
                return Err(UserError::failure(format!(
                    "the issuer path `{}` puts two endpoints at `{path}`; nothing was started",
                    config.issuer.path
                ))
                .with_help("use the issuer `nestflux new` wrote into .env")
                .into());
            }
        }
        Ok(Self {
            key: SigningKey::generate()?,
            endpoints,
            config,
            store: Mutex::new(Store::default()),
            ui,
        })
    }

    pub fn kid(&self) -> &str {
        &self.key.kid
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while holding the lock leaves nothing half-done that matters
        // for a development provider: keep serving.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.issuer.origin)
    }

    fn router(self: &Arc<Self>) -> Router {
        let endpoints = &self.endpoints;
        let mut routes: Vec<(&str, MethodRouter<Arc<Self>>)> = vec![
            (HOME_PATH, get(home)),
            (&endpoints.discovery, get(discovery)),
            (&endpoints.jwks, get(jwks)),
            (&endpoints.token, post(token)),
        ];
        if self.config.session {
            routes.extend([
                (
                    endpoints.authorization.as_str(),
                    get(authorize_page).post(authorize_choice),
                ),
                (endpoints.revocation.as_str(), post(revoke)),
                (
                    endpoints.end_session.as_str(),
                    get(end_session).post(end_session),
                ),
                (SIGN_OUT_PATH, post(sign_out)),
            ]);
        }
        let mut router = Router::new();
        for (path, route) in routes {
            router = router.route(path, route);
        }
        router
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(Arc::clone(self), check_host))
            .with_state(Arc::clone(self))
    }

    /// Serves on `listeners` until `shutdown` resolves.
    pub async fn serve(
        self: Arc<Self>,
        listeners: Listeners,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> io::Result<()> {
        let router = self.router();
        let mut servers = Vec::new();
        for listener in listeners.0 {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let mut shutdown = shutdown.clone();
            let server = axum::serve(listener, router.clone()).with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            });
            servers.push(tokio::spawn(async move { server.await }));
        }
        for server in servers {
            server.await.map_err(io::Error::other)??;
        }
        Ok(())
    }

    /// Signs an access token (and, with `openid`, an ID token) for a grant.
    fn issue(
        &self,
        holder: Holder<'_>,
        client: &Client,
        scope: &str,
        session: Option<(&Session, Option<&str>)>,
        refresh_token: Option<String>,
    ) -> Result<Response, Refusal> {
        let now = now();
        let user = match holder {
            Holder::User(user) => Some(user),
            Holder::Client(_) => None,
        };
        let grant = Grant {
            holder,
            client_id: &client.id,
            scope,
            sid: session.map(|(s, _)| s.sid.as_str()),
            now,
            jti: store::random_value(),
        };
        let claims = shape::access_claims(&self.config, &grant);
        let access_token = self
            .key
            .sign(shape::access_token_type(self.config.idp), &claims)
            .map_err(server_error)?;
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": scope,
        });
        if let Some(user) = user
            && scope.split_whitespace().any(|s| s == "openid")
        {
            let (sid, nonce, auth_time) = match session {
                Some((session, nonce)) => (session.sid.as_str(), nonce, session.started),
                None => ("", None, now),
            };
            let mut claims =
                shape::id_claims(&self.config, user, &client.id, sid, nonce, auth_time, now);
            if sid.is_empty() {
                claims.remove("sid");
            }
            body["id_token"] = json!(self.key.sign("JWT", &claims).map_err(server_error)?);
        }
        if let Some(refresh_token) = refresh_token {
            body["refresh_token"] = json!(refresh_token);
            body["refresh_expires_in"] = json!(store::REFRESH_TOKEN_LIFETIME);
        }
        Ok(no_store(Json(body)))
    }

    /// Tells the service that `session` ended (OpenID Connect Back-Channel
    /// Logout 1.0), when it was a browser sign-in and the service is on
    /// this machine.
    async fn backchannel_logout(&self, session: &Session) {
        let Some(uri) = self.config.backchannel_logout_uri.clone() else {
            return;
        };
        let claims = shape::logout_claims(
            &self.config,
            &session.username,
            &session.client_id,
            &session.sid,
            store::random_value(),
            now(),
        );
        let token = match self.key.sign("logout+jwt", &claims) {
            Ok(token) => token,
            Err(error) => {
                self.ui
                    .note(format_args!("cannot sign a logout token: {error:#}"));
                return;
            }
        };
        let target = uri.clone();
        let sent = tokio::task::spawn_blocking(move || {
            super::client::agent()
                .post(&target)
                .send_form([("logout_token", token.as_str())])
                .map(|response| response.status().as_u16())
        })
        .await;
        match sent {
            Ok(Ok(200)) => self.ui.status(
                "Logout",
                format_args!("told the service at {uri} (back-channel logout)"),
            ),
            Ok(Ok(status)) => self.ui.note(format_args!(
                "the service's back-channel logout at {uri} answered {status}"
            )),
            Ok(Err(error)) => self.ui.note(format_args!(
                "cannot reach the service's back-channel logout at {uri}: {error}"
            )),
            Err(error) => self
                .ui
                .note(format_args!("back-channel logout failed: {error}")),
        }
    }
}

fn server_error(error: anyhow::Error) -> Refusal {
    Refusal {
        error: "server_error",
        description: format!("{error:#}"),
    }
}

/// Answers only for a loopback `Host` on the issuer's port: a web page could
/// otherwise point a name of its own at 127.0.0.1 and read the answers
/// (DNS rebinding).
async fn check_host(
    State(provider): State<Arc<Provider>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !provider.config.issuer.accepts_host(host) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "the development identity provider answers only for localhost\n",
        )
            .into_response();
    }
    next.run(request).await
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not an endpoint of this provider\n").into_response()
}

fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An HTML page that no other site may frame or load resources into.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    html(
        status,
        page::render("message.html", context! { title => title, text => text }),
    )
}

fn oauth_error(status: StatusCode, refusal: &Refusal) -> Response {
    no_store((
        status,
        Json(json!({ "error": refusal.error, "error_description": refusal.description })),
    ))
}

fn invalid_request(description: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        &Refusal {
            error: "invalid_request",
            description: description.to_owned(),
        },
    )
}

/// RFC 6749 §5.2: a failed client authentication is a 401 with a challenge.
fn invalid_client() -> Response {
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        &Refusal {
            error: "invalid_client",
            description: "Invalid client or Invalid client credentials".to_owned(),
        },
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"nestflux dev\""),
    );
    response
}

/// The parameters of a form body or query string; a repeated parameter is
/// refused (RFC 6749 §3.1, §3.2).
fn parameters(raw: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw) {
        if out.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(format!("the parameter `{name}` is repeated"));
        }
    }
    Ok(out)
}

/// One form-encoded value (`client_secret_basic` encodes id and secret).
fn form_decode(component: &str) -> String {
    form_urlencoded::parse(format!("v={component}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Why a client could not authenticate.
enum ClientAuthFailure {
    /// No credentials, an unknown client or a wrong secret.
    Invalid,
    /// Both `client_secret_basic` and `client_secret_post`.
    TwoMethods,
}

impl IntoResponse for ClientAuthFailure {
    fn into_response(self) -> Response {
        match self {
            Self::Invalid => invalid_client(),
            Self::TwoMethods => invalid_request(
                "use one client authentication method, not client_secret_basic and client_secret_post together",
            ),
        }
    }
}

/// Why a token or revocation request is refused before it is looked at.
enum ClientRequestRefusal {
    /// The form cannot be read (a repeated parameter).
    Parameters(String),
    Client(ClientAuthFailure),
}

impl IntoResponse for ClientRequestRefusal {
    fn into_response(self) -> Response {
        match self {
            Self::Parameters(problem) => invalid_request(&problem),
            Self::Client(failure) => failure.into_response(),
        }
    }
}

/// The parameters of a token or revocation request and the client it
/// authenticates as.
fn client_request<'a>(
    provider: &'a Provider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(HashMap<String, String>, &'a Client), ClientRequestRefusal> {
    let params = parameters(body).map_err(ClientRequestRefusal::Parameters)?;
    let client = authenticate(provider, headers, &params).map_err(ClientRequestRefusal::Client)?;
    Ok((params, client))
}

/// The client a token or revocation request authenticates as, with
/// `client_secret_basic` or `client_secret_post` (never both).
fn authenticate<'a>(
    provider: &'a Provider,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<&'a Client, ClientAuthFailure> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .map(|encoded| {
            STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|pair| {
                    pair.split_once(':')
                        .map(|(id, secret)| (form_decode(id), form_decode(secret)))
                })
        });
    let (id, secret) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => return Err(ClientAuthFailure::TwoMethods),
        (Some(Some(pair)), None) => pair,
        (None, Some(secret)) => (
            params.get("client_id").cloned().unwrap_or_default(),
            secret.clone(),
        ),
        (Some(None), None) | (None, None) => return Err(ClientAuthFailure::Invalid),
    };
    let client = provider
        .config
        .client(&id)
        .ok_or(ClientAuthFailure::Invalid)?;
    aws_lc_rs::constant_time::verify_slices_are_equal(client.secret.as_bytes(), secret.as_bytes())
        .map_err(|_| ClientAuthFailure::Invalid)?;
    Ok(client)
}

/// The test user `username` with `password`, or the refusal Keycloak gives.
fn check_password<'a>(
    provider: &'a Provider,
    username: Option<&String>,
    password: Option<&String>,
) -> Result<&'a TestUser, Refusal> {
    let invalid = || Refusal::invalid_grant("Invalid user credentials");
    let user = username
        .and_then(|name| provider.config.users.iter().find(|u| &u.username == name))
        .ok_or_else(invalid)?;
    let Some(expected) = &user.password else {
        return Err(Refusal::invalid_grant(format!(
            "{} has no password: set {} in .env",
            user.username,
            user.password_var()
        )));
    };
    let given = password.map(String::as_str).unwrap_or_default();
    aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), given.as_bytes())
        .map_err(|_| invalid())?;
    Ok(user)
}

async fn home(State(provider): State<Arc<Provider>>) -> Response {
    let config = &provider.config;
    let users: Vec<Value> = config
        .users
        .iter()
        .map(|user| {
            json!({
                "username": user.username,
                "role": user.role,
                "password_var": user.password_var(),
                "has_password": user.password.is_some(),
            })
        })
        .collect();
    let sessions: Vec<Session> = provider.store().sessions();
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|s| json!({ "sid": s.sid, "username": s.username, "client_id": s.client_id }))
        .collect();
    let shape = match config.idp {
        Idp::Keycloak => "Keycloak",
        Idp::Authentik => "Authentik",
        Idp::Oidc => "a standard OpenID Connect provider",
    };
    html(
        StatusCode::OK,
        page::render(
            "home.html",
            context! {
                project => config.project_name.as_str(),
                shape => shape,
                issuer => config.issuer.url.as_str(),
                discovery => provider.url(&provider.endpoints.discovery),
                users => minijinja::Value::from(minijinja::value::Serde(&users)),
                example_role => config.users.first().map_or("ROLE", |u| u.role.as_str()),
                sessions_enabled => config.session,
                sessions => minijinja::Value::from(minijinja::value::Serde(&sessions)),
                sign_out => SIGN_OUT_PATH,
            },
        ),
    )
}

async fn discovery(State(provider): State<Arc<Provider>>) -> Json<Value> {
    Json(shape::discovery(&provider.config, &provider.endpoints))
}

async fn jwks(State(provider): State<Arc<Provider>>) -> Json<Value> {
    Json(json!({ "keys": [provider.key.jwk()] }))
}

/// The token endpoint (RFC 6749 §3.2).
async fn token(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return invalid_request("send the parameters as application/x-www-form-urlencoded");
    }
    let (params, client) = match client_request(&provider, &headers, &body) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let grant_type = params
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    let result = match grant_type {
        "password" => password_grant(&provider, client, &params),
        // Authentik's client_credentials takes a user name and an app
        // password, and then issues that user's token.
        "client_credentials"
            if provider.config.idp == Idp::Authentik && params.contains_key("username") =>
        {
            password_grant(&provider, client, &params)
        }
        "client_credentials" => {
            let scope = scope(&params);
            provider.ui.status(
                "Token",
                format_args!("client_credentials for `{}` (no user, no roles)", client.id),
            );
            provider.issue(Holder::Client(&client.id), client, &scope, None, None)
        }
        "authorization_code" if provider.config.session => code_grant(&provider, client, &params),
        "refresh_token" if provider.config.session => refresh_grant(&provider, client, &params),
        "" => Err(Refusal {
            error: "invalid_request",
            description: "no grant_type".to_owned(),
        }),
        other => Err(Refusal {
            error: "unsupported_grant_type",
            description: format!("grant_type `{other}` is not served here"),
        }),
    };
    match result {
        Ok(response) => response,
        Err(refusal) => {
            provider.ui.status(
                "Refused",
                format_args!("{grant_type}: {}", refusal.description),
            );
            let status = if refusal.error == "server_error" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            };
            oauth_error(status, &refusal)
        }
    }
}

fn scope(params: &HashMap<String, String>) -> String {
    params
        .get("scope")
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_SCOPE.to_owned())
}

fn password_grant(
    provider: &Provider,
    client: &Client,
    params: &HashMap<String, String>,
) -> Result<Response, Refusal> {
    let user = check_password(provider, params.get("username"), params.get("password"))?;
    provider.ui.status(
        "Token",
        format_args!(
            "{} (role {}) through `{}`",
            user.username, user.role, client.id
        ),
    );
    // A token for scripts and curl: no provider session and no refresh
    // token (those are the browser sign-in's).
    provider.issue(Holder::User(user), client, &scope(params), None, None)
}

fn code_grant(
    provider: &Provider,
    client: &Client,
    params: &HashMap<String, String>,
) -> Result<Response, Refusal> {
    let now = now();
    let (redeemed, refresh_token) = {
        let mut store = provider.store();
        let redeemed = store.redeem_code(
            params.get("code").map(String::as_str).unwrap_or_default(),
            &client.id,
            params.get("redirect_uri").map(String::as_str),
            params.get("code_verifier").map(String::as_str),
            now,
        )?;
        let refresh =
            store.issue_refresh_token(&redeemed.session.sid, &client.id, &redeemed.scope, now);
        (redeemed, refresh)
    };
    let user = user_named(provider, &redeemed.session.username)?;
    provider.ui.status(
        "Token",
        format_args!(
            "{} signed in through `{}` (code with PKCE)",
            user.username, client.id
        ),
    );
    provider.issue(
        Holder::User(user),
        client,
        &redeemed.scope,
        Some((&redeemed.session, redeemed.nonce.as_deref())),
        Some(refresh_token),
    )
}

fn refresh_grant(
    provider: &Provider,
    client: &Client,
    params: &HashMap<String, String>,
) -> Result<Response, Refusal> {
    let now = now();
    let presented = params
        .get("refresh_token")
        .map(String::as_str)
        .unwrap_or_default();
    let (redeemed, refresh_token) = {
        let mut store = provider.store();
        let redeemed = store.redeem_refresh_token(presented, &client.id, now)?;
        let refresh =
            store.issue_refresh_token(&redeemed.session.sid, &client.id, &redeemed.scope, now);
        (redeemed, refresh)
    };
    let user = user_named(provider, &redeemed.session.username)?;
    provider.ui.status(
        "Refreshed",
        format_args!("{}: new access token, refresh token rotated", user.username),
    );
    provider.issue(
        Holder::User(user),
        client,
        &redeemed.scope,
        Some((&redeemed.session, None)),
        Some(refresh_token),
    )
}

/// The test user of a session; gone when its role left the policy since.
fn user_named<'a>(provider: &'a Provider, username: &str) -> Result<&'a TestUser, Refusal> {
    provider
        .config
        .users
        .iter()
        .find(|u| u.username == username)
        .ok_or_else(|| Refusal::invalid_grant("the user no longer exists"))
}

/// A redirect URI on this machine (`http(s)://localhost:*`,
/// `http(s)://127.0.0.1:*`, as the realm export allows), with the query
/// parameters `answer` added.
fn redirect_to(uri: &str, answer: &[(&str, &str)]) -> Option<Response> {
    let (scheme, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    if !matches!(scheme, "http" | "https") || uri.contains('#') || !is_loopback_host(host) {
        return None;
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(answer);
    let query = query.finish();
    let separator = if uri.contains('?') { '&' } else { '?' };
    let location = if query.is_empty() {
        uri.to_owned()
    } else {
        format!("{uri}{separator}{query}")
    };
    let location = HeaderValue::from_str(&location).ok()?;
    Some((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

/// The redirect of a refused authorization request (RFC 6749 §4.1.2.1).
fn authorization_error(
    provider: &Provider,
    redirect_uri: &str,
    state: Option<&String>,
    error: &str,
    description: &str,
) -> Response {
    let mut answer = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        answer.push(("state", state));
    }
    answer.push(("iss", &provider.config.issuer.url));
    redirect_to(redirect_uri, &answer)
        .unwrap_or_else(|| message(StatusCode::BAD_REQUEST, "Sign-in refused", description))
}

/// The authorization endpoint, GET: check the request, then show the page
/// where the person picks a test user.
async fn authorize_page(State(provider): State<Arc<Provider>>, request: Request) -> Response {
    let params = match parameters(request.uri().query().unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(problem) => return message(StatusCode::BAD_REQUEST, "Sign-in refused", &problem),
    };
    // An unknown client or a bad redirect URI gets a page, never a redirect.
    let Some(client) = params
        .get("client_id")
        .and_then(|id| provider.config.client(id))
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "unknown client_id: the clients are DEV_CLIENT_ID and AUTH_CLIENT_ID of .env",
        );
    };
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|uri| redirect_to(uri, &[]).is_some())
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "redirect_uri must be an http(s) URL on this machine (localhost, 127.0.0.1)",
        );
    };
    let state = params.get("state");
    let refuse = |error: &str, description: &str| {
        authorization_error(&provider, redirect_uri, state, error, description)
    };
    if params.get("response_type").map(String::as_str) != Some("code") {
        return refuse(
            "unsupported_response_type",
            "only response_type=code is served",
        );
    }
    let challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method").map(String::as_str),
    ) {
        (Some(challenge), Some("S256")) if challenge.len() == 43 => challenge.clone(),
        (Some(_), Some("S256")) => {
            return refuse(
                "invalid_request",
                "the code_challenge is not a SHA-256 in base64url",
            );
        }
        _ => {
            return refuse(
                "invalid_request",
                "PKCE is required, with code_challenge_method=S256",
            );
        }
    };
    if params.get("prompt").map(String::as_str) == Some("none") {
        return refuse(
            "login_required",
            "a test user must be picked on the sign-in page",
        );
    }
    let auth = AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        state: state.cloned(),
        nonce: params.get("nonce").cloned(),
        scope: scope(&params),
        code_challenge: challenge,
    };
    let ticket = provider.store().new_ticket(auth, now());
    let users: Vec<Value> = provider
        .config
        .users
        .iter()
        .map(|u| json!({ "username": u.username, "role": u.role }))
        .collect();
    html(
        StatusCode::OK,
        page::render(
            "login.html",
            context! {
                project => provider.config.project_name.as_str(),
                client_id => client.id.as_str(),
                action => provider.endpoints.authorization.as_str(),
                ticket => ticket,
                users => minijinja::Value::from(minijinja::value::Serde(&users)),
            },
        ),
    )
}

/// The authorization endpoint, POST from the page: sign the chosen user in
/// and send the browser back with a code.
async fn authorize_choice(State(provider): State<Arc<Provider>>, body: Bytes) -> Response {
    let params = parameters(&body).unwrap_or_default();
    let Some(request) = params
        .get("ticket")
        .and_then(|ticket| provider.store().take_ticket(ticket, now()))
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in page was used already or is too old: start again from the application.",
        );
    };
    if params.contains_key("cancel") {
        return authorization_error(
            &provider,
            &request.redirect_uri,
            request.state.as_ref(),
            "access_denied",
            "the sign-in was cancelled",
        );
    }
    let Some(user) = params
        .get("user")
        .and_then(|name| provider.config.users.iter().find(|u| &u.username == name))
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "unknown test user",
        );
    };
    provider.ui.status(
        "Signed in",
        format_args!(
            "{} (role {}) for `{}`",
            user.username, user.role, request.client_id
        ),
    );
    let redirect_uri = request.redirect_uri.clone();
    let state = request.state.clone();
    let code = provider.store().sign_in(request, &user.username, now());
    let mut answer = vec![("code", code.as_str())];
    if let Some(state) = &state {
        answer.push(("state", state));
    }
    answer.push(("iss", &provider.config.issuer.url));
    let mut response = redirect_to(&redirect_uri, &answer).unwrap_or_else(|| {
        message(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "bad redirect_uri",
        )
    });
    // After a form post, 303 makes the browser follow with a GET.
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// The revocation endpoint (RFC 7009): 200 whatever the token was.
async fn revoke(
    State(provider): State<Arc<Provider>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (params, client) = match client_request(&provider, &headers, &body) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let Some(token) = params.get("token") else {
        return invalid_request("no token");
    };
    let ended = provider.store().revoke(token, &client.id);
    if let Some(session) = ended {
        provider.ui.status(
            "Revoked",
            format_args!(
                "the refresh token of {}: its session ended",
                session.username
            ),
        );
    }
    StatusCode::OK.into_response()
}

/// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the
/// session the `id_token_hint` names, tells the service over the back
/// channel, and sends the browser to `post_logout_redirect_uri`.
async fn end_session(
    State(provider): State<Arc<Provider>>,
    method: Method,
    request: Request,
) -> Response {
    let raw = if method == Method::POST {
        axum::body::to_bytes(request.into_body(), 64 * 1024)
            .await
            .unwrap_or_default()
            .to_vec()
    } else {
        request
            .uri()
            .query()
            .unwrap_or_default()
            .as_bytes()
            .to_vec()
    };
    let params = parameters(&raw).unwrap_or_default();
    let Some(claims) = params
        .get("id_token_hint")
        .and_then(|hint| provider.key.verify_hint(hint, &provider.config.issuer.url))
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-out refused",
            "no id_token_hint from this provider (a restarted provider does not know the tokens of the previous run)",
        );
    };
    let client_id = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(sid) = claims.get("sid").and_then(Value::as_str) {
        let ended = provider.store().end_session(sid);
        if let Some(session) = ended {
            provider.ui.status(
                "Signed out",
                format_args!("{} (through `{}`)", session.username, session.client_id),
            );
            provider.backchannel_logout(&session).await;
        }
    }
    if let Some(uri) = params.get("post_logout_redirect_uri")
        && provider.config.client(client_id).is_some()
    {
        let mut answer = Vec::new();
        if let Some(state) = params.get("state") {
            answer.push(("state", state.as_str()));
        }
        if let Some(response) = redirect_to(uri, &answer) {
            return response;
        }
    }
    message(
        StatusCode::OK,
        "Signed out",
        "You are signed out of the development provider.",
    )
}

/// The home page's "Sign out": a session ended at the provider, as an
/// administrator would end it; the service hears of it over the back channel.
async fn sign_out(State(provider): State<Arc<Provider>>, body: Bytes) -> Response {
    let params = parameters(&body).unwrap_or_default();
    let ended = params
        .get("sid")
        .and_then(|sid| provider.store().end_session(sid));
    if let Some(session) = ended {
        provider.ui.status(
            "Signed out",
            format_args!("{} at the provider", session.username),
        );
        provider.backchannel_logout(&session).await;
    }
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static(HOME_PATH))],
    )
        .into_response()
}
