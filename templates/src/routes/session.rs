//! The browser login flow (feature `session`; see `crate::session`):
//!
//! | route | does |
//! | --- | --- |
//! | `GET /auth/login?return_to=/path` | redirects to the identity provider |
//! | `GET /auth/callback` | where the provider sends the browser back; creates the session |
//! | `POST /auth/logout` | ends the session; answers `{"end_session_url": ...}` |
//! | `POST /auth/backchannel-logout` | the provider ends sessions (signed logout token) |
//!
//! They are public routes: they are how a browser without a session gets one.
//! A failed login answers 400 with a detail that does not say which check
//! failed; the log does, with the request id.

use axum::Json;
use axum::extract::{FromRequest as _, Request, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Routes, public};
use crate::auth::verify::string_claim;
use crate::error::{ApiError, ErrorChain, Problem};
use crate::extract::Query;
use crate::openapi::documented;
use crate::repo::sessions::{self as store, Session};
use crate::session::cookies::{self, PendingLogin};
use crate::session::oidc::OidcError;
use crate::session::{EventType, Outcome, RequestMeta};
use crate::state::AppState;

/// Longest `return_to` accepted.
const MAX_RETURN_TO_LEN: usize = 2048;

pub fn routes() -> Routes {
    Routes::new()
        .get("/auth/login", public(), documented!(login))
        .get("/auth/callback", public(), documented!(callback))
        .post("/auth/logout", public(), documented!(logout))
        .post(
            "/auth/backchannel-logout",
            public(),
            documented!(backchannel_logout),
        )
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct LoginQuery {
    /// Where the browser goes once signed in: a path on this site (at most
    /// 2048 bytes, no control characters). Default: `/`.
    #[param(max_length = 2048, pattern = "^/([^/\\\\].*)?$")]
    return_to: Option<String>,
}

/// A local path: `/` then anything but a second `/` or `\` (`//evil.example`
/// is another host to a browser), without control characters. Anything
/// else would make the login an open redirect.
fn local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= MAX_RETURN_TO_LEN
        && !path.chars().any(char::is_control)
}

/// Starts a login: a fresh `state`, `nonce` and PKCE verifier, sealed into
/// the short-lived login cookie, and a redirect to the provider.
#[utoipa::path(get, path = "/auth/login", tag = "session", params(LoginQuery),
    responses(
        (status = 303, description = "To the identity provider's sign-in page",
            headers(("Location" = String), ("Set-Cookie" = String, description = "The login cookie"))),
        (status = 400, description = "`return_to` is not a path on this site",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let return_to = query.return_to.unwrap_or_else(|| "/".to_owned());
    if !local_path(&return_to) {
        return Err(ApiError::BadRequest(
            "`return_to` must be a path on this site, such as /app".to_owned(),
        ));
    }
    let sessions = &state.sessions;
    let endpoints = state
        .verifier
        .keys()
        .endpoints()
        .ok_or_else(provider_unavailable)?;
    let authorization = sessions.oidc().authorize(&endpoints).map_err(|error| {
        tracing::error!(error = %error, "cannot start a login");
        provider_unavailable()
    })?;
    let login_timeout = sessions.settings().login_timeout;
    let pending = PendingLogin {
        state: authorization.state,
        nonce: authorization.nonce,
        verifier: authorization.verifier,
        return_to,
        expires_at: Utc::now().timestamp() + i64::try_from(login_timeout.as_secs()).unwrap_or(600),
    };
    let sealed = pending
        .seal(state.db.keys())
        .ok_or_else(|| ApiError::internal("cannot seal the login cookie"))?;
    let mut response = redirect(&authorization.url)?;
    response
        .headers_mut()
        .append(SET_COOKIE, sessions.cookies().login(sealed, login_timeout));
    Ok(response)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// RFC 9207: the issuer of the response, which defeats mix-up attacks
    /// when a provider sends it.
    iss: Option<String>,
    error: Option<String>,
}

/// Why a login failed, for the log and the audit event; the browser only
/// learns that it did.
enum LoginFailure {
    Refused(&'static str),
    Provider(String),
    Unavailable(String),
}

/// The provider sends the browser back here: check everything, create the
/// session, set its cookies and send the browser where the login started.
#[utoipa::path(get, path = "/auth/callback", tag = "session", params(CallbackQuery),
    responses(
        (status = 303, description = "Signed in: back where the login started",
            headers(("Location" = String), ("Set-Cookie" = String, description = "The session cookies"))),
        (status = 400, description = "The sign-in could not be completed (the log says why)",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn callback(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let meta = RequestMeta::from_request(&request);
    let headers = request.headers().clone();
    let Query(query) = Query::<CallbackQuery>::from_request(request, &state).await?;
    match complete_login(&state, query, &headers, &meta).await {
        Ok(response) => Ok(response),
        Err(failure) => {
            let (reason, error) = match failure {
                LoginFailure::Refused(reason) => (reason.to_owned(), sign_in_failed()),
                LoginFailure::Provider(reason) => (reason, sign_in_failed()),
                LoginFailure::Unavailable(reason) => (reason, provider_unavailable()),
            };
            tracing::info!(reason, "login failed");
            state
                .sessions
                .record(
                    &meta,
                    EventType::Login,
                    Outcome::Failure,
                    None,
                    &[],
                    &reason,
                )
                .await;
            Err(error)
        }
    }
}

async fn complete_login(
    state: &AppState,
    query: CallbackQuery,
    headers: &HeaderMap,
    meta: &RequestMeta,
) -> Result<Response, LoginFailure> {
    use LoginFailure::{Provider, Refused, Unavailable};
    let sessions = &state.sessions;
    let cookies = sessions.cookies();
    let now = Utc::now();
    let pending = cookies
        .get(headers, cookies.login_name())
        .ok_or(Refused(
            "no login cookie (the login was not started here, or took too long)",
        ))
        .and_then(|sealed| {
            PendingLogin::open(state.db.keys(), sealed, now.timestamp())
                .ok_or(Refused("the login cookie is forged, altered or expired"))
        })?;
    if let Some(error) = &query.error {
        return Err(Provider(format!(
            "the identity provider answered `{error}`"
        )));
    }
    let returned_state = query.state.as_deref().ok_or(Refused("no `state`"))?;
    // Not secret by now, but compared in constant time all the same.
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        returned_state.as_bytes(),
        pending.state.as_bytes(),
    )
    .is_err()
    {
        return Err(Refused("`state` is not the login's"));
    }
    if query
        .iss
        .as_deref()
        .is_some_and(|iss| iss != state.verifier.issuer())
    {
        return Err(Refused("`iss` is not the configured issuer"));
    }
    let code = query.code.as_deref().ok_or(Refused("no `code`"))?;
    let endpoints = state
        .verifier
        .keys()
        .endpoints()
        .ok_or_else(|| Unavailable("the discovery document is not loaded".to_owned()))?;
    let tokens = sessions
        .oidc()
        .exchange_code(&endpoints, code, &pending.verifier)
        .await
        .map_err(|error| match error {
            OidcError::Refused { .. } => Provider(format!("the code exchange failed: {error}")),
            other => Unavailable(ErrorChain(&other).to_string()),
        })?;
    let id_token = tokens
        .id_token
        .as_deref()
        .ok_or(Refused("the token response has no ID token"))?;
    let claims = state
        .verifier
        .verify_id_token(id_token, sessions.oidc().client_id(), &pending.nonce)
        .await
        .map_err(|rejection| Provider(format!("the ID token is not valid: {rejection}")))?;
    let principal = state
        .verifier
        .verify(&tokens.access_token)
        .await
        .map_err(|rejection| {
            Provider(format!(
                "the access token of the login does not verify ({rejection}): check that the provider puts AUTH_AUDIENCE in its `aud`"
            ))
        })?;
    // Both tokens must describe the same user.
    if claims.get("sub").and_then(serde_json::Value::as_str) != Some(principal.subject.as_str()) {
        return Err(Refused(
            "the ID token and the access token name different users",
        ));
    }

    let session_id = cookies::random_token();
    let csrf_token = cookies::random_token();
    let settings = sessions.settings();
    let session = Session {
        id_hash: cookies::hash(&session_id),
        subject: principal.subject.clone(),
        idp_session_id: claims
            .get("sid")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        csrf_hash: cookies::hash(&csrf_token),
        access_expires_at: crate::session::access_expiry(&tokens, now),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        id_token: id_token.to_owned(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + settings.absolute_timeout,
    };
    store::insert(&state.db, &session)
        .await
        .map_err(|error| Unavailable(ErrorChain(&error).to_string()))?;
    // A browser that signs in again leaves its previous session behind: end it.
    if let Some(previous) = sessions.session_id(headers) {
        store::delete(&state.db, &cookies::hash(previous))
            .await
            .map_err(|error| Unavailable(ErrorChain(&error).to_string()))?;
    }
    state
        .sessions
        .record(
            meta,
            EventType::Login,
            Outcome::Success,
            Some(&principal.subject),
            &principal.roles,
            "login",
        )
        .await;

    let mut response = redirect(&pending.return_to)
        .map_err(|_| Refused("`return_to` is not a valid header value"))?;
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, cookies.session(&session_id));
    headers.append(SET_COOKIE, cookies.csrf(&csrf_token));
    headers.append(SET_COOKIE, cookies.clear(cookies.login_name()));
    Ok(response)
}

/// Ends the browser's session: deleted here, its refresh token revoked at
/// the provider (when it supports RFC 7009), its cookies cleared. Answers
/// the URL that ends the provider's own session too (RP-initiated logout),
/// for the front end to navigate to, or `null`.
///
/// A cookie-authenticated change like any other: it needs the anti-CSRF
/// token, or any site could sign its visitors out.
#[utoipa::path(post, path = "/auth/logout", tag = "session",
    responses(
        (status = 200, description = "Signed out (or was not signed in); the cookies are cleared",
            body = LoggedOut, headers(("Set-Cookie" = String))),
        (status = 403, description = "A signed-in browser without its anti-CSRF token",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn logout(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let sessions = &state.sessions;
    let cookies = sessions.cookies();
    let meta = RequestMeta::from_request(&request);
    let stored = match sessions.session_id(request.headers()) {
        Some(id) => store::find(&state.db, &cookies::hash(id)).await?,
        None => None,
    };
    let mut end_session_url = None;
    if let Some(session) = stored {
        if let Err(reason) = sessions.check_csrf(request.method(), request.headers(), &session) {
            tracing::warn!(
                reason,
                subject = session.subject,
                "CSRF check failed on logout"
            );
            state
                .sessions
                .record(
                    &meta,
                    EventType::CsrfRejected,
                    Outcome::Denied,
                    Some(&session.subject),
                    &[],
                    reason,
                )
                .await;
            return Err(ApiError::Forbidden(
                "logging out needs the X-CSRF-Token header and must come from this site".to_owned(),
            ));
        }
        store::delete(&state.db, &session.id_hash).await?;
        if let Some(endpoints) = state.verifier.keys().endpoints() {
            if let Some(refresh_token) = &session.refresh_token
                && let Err(error) = sessions.oidc().revoke(&endpoints, refresh_token).await
            {
                // The session is gone here either way; the token expires on its own.
                tracing::warn!(error = %ErrorChain(&error), "cannot revoke the refresh token at logout");
            }
            end_session_url = sessions
                .oidc()
                .end_session_url(&endpoints, &session.id_token);
        }
        state
            .sessions
            .record(
                &meta,
                EventType::Logout,
                Outcome::Success,
                Some(&session.subject),
                &[],
                "logout",
            )
            .await;
    }
    let mut response = Json(LoggedOut { end_session_url }).into_response();
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, cookies.clear(cookies.session_name()));
    headers.append(SET_COOKIE, cookies.clear(cookies.csrf_name()));
    Ok(response)
}

/// The body of `POST /auth/logout`.
#[derive(Debug, Serialize, ToSchema)]
struct LoggedOut {
    /// Where to send the browser to end the provider's own session too, or
    /// `null` when the provider has no such endpoint (or there was no session).
    end_session_url: Option<String>,
}

/// The form of `POST /auth/backchannel-logout`.
#[derive(Debug, Deserialize, ToSchema)]
struct LogoutToken {
    /// The provider's signed logout token (a JWT).
    logout_token: String,
}

/// The 400 of a refused back-channel logout, OAuth-style (§2.8).
#[derive(Debug, Serialize, ToSchema)]
struct LogoutRefused {
    #[schema(pattern = "^invalid_request$")]
    error: &'static str,
    error_description: String,
}

/// OpenID Connect Back-Channel Logout 1.0: the provider posts a signed logout
/// token naming a provider session (`sid`) or a user (`sub`); every matching
/// session ends. Answers 200, or 400 with an OAuth-style error (§2.8).
#[utoipa::path(post, path = "/auth/backchannel-logout", tag = "session",
    request_body(content = LogoutToken, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The sessions named by the token are ended"),
        (status = 400, description = "No logout token, or one that is not valid",
            body = LogoutRefused),
        (status = 500, description = "The sessions could not be ended; the provider may retry",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn backchannel_logout(State(state): State<AppState>, request: Request) -> Response {
    let meta = RequestMeta::from_request(&request);
    let Ok(axum::Form(form)) = axum::Form::<LogoutToken>::from_request(request, &state).await
    else {
        return bad_logout_request("expected a form with `logout_token`");
    };
    let token = match state
        .verifier
        .verify_logout_token(&form.logout_token, state.sessions.oidc().client_id())
        .await
    {
        Ok(token) => token,
        Err(rejection) => {
            tracing::info!(reason = %rejection, "back-channel logout token rejected");
            return bad_logout_request("the logout token is not valid");
        }
    };
    // Single use: a captured token replayed later would end the sessions
    // signed in since (all of a user's, for a token naming only `sub`).
    let valid_until = i64::try_from(token.valid_until)
        .ok()
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    match store::use_logout_token(&state.db, &token.jti, valid_until).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("back-channel logout token replayed (its `jti` was used before)");
            return bad_logout_request("the logout token has been used already");
        }
        Err(error) => {
            tracing::error!(error = %ErrorChain(&error), "cannot remember a back-channel logout token");
            return ApiError::internal(error).into_response();
        }
    }
    let claims = token.claims;
    let (sid, sub) = (string_claim(&claims, "sid"), string_claim(&claims, "sub"));
    let ended = match sid {
        Some(sid) => store::delete_by_idp_session(&state.db, sid, sub).await,
        // verify_logout_token guarantees a `sub` when there is no `sid`.
        None => store::delete_by_subject(&state.db, sub.unwrap_or_default()).await,
    };
    match ended {
        Ok(count) => {
            tracing::info!(sessions = count, "back-channel logout");
            state
                .sessions
                .record(
                    &meta,
                    EventType::Logout,
                    Outcome::Success,
                    sub,
                    &[],
                    "backchannel",
                )
                .await;
            (
                StatusCode::OK,
                [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            )
                .into_response()
        }
        Err(error) => {
            tracing::error!(error = %ErrorChain(&error), "cannot end sessions for a back-channel logout");
            // 5xx: the provider may retry.
            ApiError::internal(error).into_response()
        }
    }
}

fn sign_in_failed() -> ApiError {
    ApiError::BadRequest(
        "the sign-in could not be completed: start again at /auth/login".to_owned(),
    )
}

fn provider_unavailable() -> ApiError {
    ApiError::ServiceUnavailable(
        "the identity provider cannot be reached, try again shortly".to_owned(),
    )
}

/// The 400 of a refused back-channel logout (§2.8).
fn bad_logout_request(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(LogoutRefused {
            error: "invalid_request",
            error_description: description.to_owned(),
        }),
    )
        .into_response()
}

/// `303 See Other` to `location`: the browser follows with a GET.
fn redirect(location: &str) -> Result<Response, ApiError> {
    let location = HeaderValue::from_str(location).map_err(ApiError::internal)?;
    Ok((StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response())
}
