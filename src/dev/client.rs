//! Getting a token the way the project's README shows it: the provider's
//! discovery document names the token endpoint, and a test user's password
//! (from `.env`) buys an access token there. This works against whatever
//! serves the issuer: `nestflux dev`'s provider, or the Keycloak or
//! Authentik of compose.yaml, which have the same users and passwords.

use std::time::Duration;

use serde_json::Value;

use super::config::{DevConfig, TestUser, is_loopback_host};
use crate::answers::Idp;
use crate::error::UserError;

/// An HTTP client for loopback calls: no redirects, every status readable.
pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

/// The status of a GET to `url`, `None` when nothing answers.
pub fn status(url: &str, timeout: Duration) -> Option<u16> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build(),
    );
    agent
        .get(url)
        .call()
        .ok()
        .map(|response| response.status().as_u16())
}

/// The discovery document's URL for `issuer`.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// The scopes asked for: Authentik puts the groups into tokens only for
/// `profile` or `groups` (its README asks for both).
fn scope(idp: Idp) -> &'static str {
    match idp {
        Idp::Authentik => "openid profile groups",
        Idp::Keycloak | Idp::Oidc => "openid",
    }
}

/// An access token for `user` from the provider that serves the issuer.
pub fn fetch_token(config: &DevConfig, user: &TestUser) -> Result<String, UserError> {
    let Some(password) = &user.password else {
        return Err(UserError::failure(format!(
            "{} has no password in .env, so no token can be asked for",
            user.username
        ))
        .with_help(format!(
            "add {}=<its password> to .env (`nestflux add role` writes it for new roles)",
            user.password_var()
        )));
    };
    let issuer = &config.issuer.url;
    let agent = agent();
    let discovery = discovery_url(issuer);
    let unreachable = |error: &dyn std::fmt::Display| {
        UserError::failure(format!(
            "no identity provider answers at {issuer} ({error})"
        ))
        .with_help("start one: `nestflux dev idp` in another terminal (or `nestflux dev`, or `docker compose up -d`)")
    };
    let mut response = agent.get(&discovery).call().map_err(|e| unreachable(&e))?;
    let document: Value = match response.status().as_u16() {
        200 => response
            .body_mut()
            .read_json()
            .map_err(|e| unreachable(&format!("unreadable discovery document: {e}")))?,
        status => return Err(unreachable(&format!("{discovery} answered {status}"))),
    };
    if document.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(UserError::failure(format!(
            "the provider at {discovery} is not the issuer {issuer}"
        ))
        .with_help("another program serves that port: stop it, then start `nestflux dev idp`"));
    }
    let endpoint = document
        .get("token_endpoint")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    // A password goes to this machine only.
    let local = endpoint
        .strip_prefix("http://")
        .map(|rest| rest.split(['/', '?']).next().unwrap_or_default())
        .map(|authority| {
            authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host)
        })
        .is_some_and(is_loopback_host);
    if !local {
        return Err(UserError::failure(format!(
            "the token endpoint `{endpoint}` is not on this machine; no password was sent"
        )));
    }
    let grant_type = match config.idp {
        // Authentik takes a user name and app password this way.
        Idp::Authentik => "client_credentials",
        Idp::Keycloak | Idp::Oidc => "password",
    };
    let mut response = agent
        .post(&endpoint)
        .send_form([
            ("grant_type", grant_type),
            ("client_id", config.dev_client.id.as_str()),
            ("client_secret", config.dev_client.secret.as_str()),
            ("username", user.username.as_str()),
            ("password", password.as_str()),
            ("scope", scope(config.idp)),
        ])
        .map_err(|e| unreachable(&e))?;
    let status = response.status().as_u16();
    let body: Value = response.body_mut().read_json().unwrap_or(Value::Null);
    if status == 200
        && let Some(token) = body.get("access_token").and_then(Value::as_str)
    {
        return Ok(token.to_owned());
    }
    let error = body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("no token");
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Err(UserError::failure(format!(
        "the provider refused a token for {} ({status} {error}: {description})",
        user.username
    ))
    .with_help(format!(
        "check DEV_CLIENT_ID, DEV_CLIENT_SECRET and {} in .env against the provider's setup",
        user.password_var()
    )))
}
