//! The login flow's requests to the identity provider: with the `oauth2`
//! crate, the authorization request (code flow with PKCE S256, RFC 7636),
//! the code exchange and refreshes (RFC 6749 §6); directly, revocation
//! (RFC 7009) and the RP-initiated logout URL. The endpoints come from the discovery document
//! the key store reads (`auth::keys`), over the same HTTP client: timeouts,
//! no redirects, https only in production.
//!
//! The client authenticates with `client_secret_basic`, which every provider
//! supports. ID tokens are checked by `auth::Verifier`, with the same keys as
//! access tokens.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::http::Response as HttpResponse;
use axum::http::header::CONTENT_TYPE;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::url::form_urlencoded;
use oauth2::{
    AsyncHttpClient, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, HttpRequest, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse as _, TokenUrl,
};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};

use crate::auth::keys::Endpoints;
use crate::config::session::SessionSettings;

/// `oauth2`'s request futures, boxed as `Send`. Awaited as they are, their
/// opaque types keep the compiler from proving that the handlers awaiting
/// them are `Send` (a limitation of its checks with higher-ranked lifetimes).
fn boxed<'a, T>(
    future: impl Future<Output = T> + Send + 'a,
) -> Pin<Box<dyn Future<Output = T> + Send + 'a>> {
    Box::pin(future)
}

/// Token responses are a few KiB; refuse anything much larger.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The `id_token` of a token response (OIDC Core §3.1.3.3).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// An `oauth2` client with an authorization and a token endpoint.
type OAuthClient = Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The tokens of a code exchange or a refresh.
pub struct IssuedTokens {
    pub access_token: String,
    /// Absent when the provider does not rotate (or issue) refresh tokens.
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub expires_in: Option<Duration>,
}

impl From<TokenResponse> for IssuedTokens {
    fn from(response: TokenResponse) -> Self {
        Self {
            access_token: response.access_token().secret().clone(),
            refresh_token: response.refresh_token().map(|token| token.secret().clone()),
            id_token: response.extra_fields().id_token.clone(),
            expires_in: response.expires_in(),
        }
    }
}

/// The start of a login: where to send the browser, and what to remember.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// Why a request to the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The discovery document lacks an endpoint, or names an unusable URL.
    #[error("the identity provider's configuration is unusable: {0}")]
    Configuration(String),
    /// The provider could not be reached, or answered something unreadable.
    #[error("the identity provider did not answer usably: {0}")]
    Unavailable(String),
    /// The provider refused the request (an OAuth error response).
    #[error("the identity provider refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
}

impl OidcError {
    /// The grant (code or refresh token) is not valid: expired, revoked,
    /// already used, or not ours.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::Refused { error, .. } if error == "invalid_grant")
    }

    /// Whether the provider says a refresh token was used twice, the sign of a
    /// stolen token (RFC 9700 §4.14.2). OAuth has no error code for it, so
    /// this reads the description: Keycloak says "Maximum allowed refresh
    /// token reuse exceeded"; other providers' wordings with "reuse" or
    /// "already used" count too. A provider that reports reuse as a plain
    /// `invalid_grant` still ends this session (see `Sessions::refresh`).
    pub fn reports_reuse(&self) -> bool {
        match self {
            Self::Refused {
                error,
                description: Some(description),
            } if error == "invalid_grant" => {
                let description = description.to_ascii_lowercase();
                description.contains("reuse") || description.contains("already used")
            }
            _ => false,
        }
    }
}

impl<E: std::error::Error + 'static> From<RequestTokenError<E, BasicErrorResponse>> for OidcError {
    fn from(error: RequestTokenError<E, BasicErrorResponse>) -> Self {
        match error {
            RequestTokenError::ServerResponse(response) => Self::Refused {
                error: match response.error() {
                    BasicErrorResponseType::Extension(other) => other.clone(),
                    known => known.to_string(),
                },
                description: response.error_description().cloned(),
            },
            RequestTokenError::Request(error) => {
                Self::Unavailable(crate::error::ErrorChain(&error).to_string())
            }
            RequestTokenError::Parse(error, _) => {
                Self::Unavailable(format!("unreadable token response: {error}"))
            }
            RequestTokenError::Other(other) => Self::Unavailable(other),
        }
    }
}

/// Why the HTTP exchange itself failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("the response is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("cannot build the response")]
    Response(#[from] axum::http::Error),
}

/// Talks to the provider for the login flow.
pub struct Oidc {
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    public_base_url: String,
    scopes: Vec<String>,
    resource: Option<String>,
    http: Transport,
}

impl Oidc {
    pub fn new(settings: &SessionSettings, http: reqwest::Client) -> Self {
        Self {
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.expose_secret().to_owned(),
            redirect_uri: settings.redirect_uri(),
            public_base_url: settings.public_base_url.clone(),
            scopes: settings.scopes.clone(),
            resource: settings.resource.clone(),
            http: Transport(http),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    fn client(&self, endpoints: &Endpoints) -> Result<OAuthClient, OidcError> {
        let missing = |name: &str| {
            OidcError::Configuration(format!("the discovery document has no `{name}`"))
        };
        fn bad(name: &'static str) -> impl Fn(oauth2::url::ParseError) -> OidcError {
            move |error| OidcError::Configuration(format!("`{name}`: {error}"))
        }
        let auth_url = endpoints
            .authorization_endpoint
            .clone()
            .ok_or_else(|| missing("authorization_endpoint"))?;
        let token_url = endpoints
            .token_endpoint
            .clone()
            .ok_or_else(|| missing("token_endpoint"))?;
        Ok(Client::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.clone()))
            .set_auth_uri(AuthUrl::new(auth_url).map_err(bad("authorization_endpoint"))?)
            .set_token_uri(TokenUrl::new(token_url).map_err(bad("token_endpoint"))?)
            .set_redirect_uri(
                RedirectUrl::new(self.redirect_uri.clone()).map_err(bad("PUBLIC_BASE_URL"))?,
            ))
    }

    /// A new authorization request: fresh `state`, `nonce` and PKCE verifier.
    pub fn authorize(&self, endpoints: &Endpoints) -> Result<Authorization, OidcError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random();
        let client = self.client(endpoints)?;
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .add_extra_param("nonce", nonce.secret())
            .set_pkce_challenge(challenge);
        // OIDC Core §11: a request for `offline_access` (a refresh token) must
        // ask for consent, or providers that follow it (oidc-provider) drop
        // the scope and issue no refresh token.
        if self.scopes.iter().any(|scope| scope == "offline_access") {
            request = request.add_extra_param("prompt", "consent");
        }
        if let Some(resource) = &self.resource {
            request = request.add_extra_param("resource", resource);
        }
        let (url, state) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the authorization `code`, proving with the PKCE `verifier`.
    pub async fn exchange_code(
        &self,
        endpoints: &Endpoints,
        code: &str,
        verifier: &str,
    ) -> Result<IssuedTokens, OidcError> {
        let client = self.client(endpoints)?;
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        if let Some(resource) = &self.resource {
            request = request.add_extra_param("resource", resource);
        }
        Ok(boxed(request.request_async(&self.http)).await?.into())
    }

    /// New tokens for a `refresh_token`.
    pub async fn refresh(
        &self,
        endpoints: &Endpoints,
        refresh_token: &str,
    ) -> Result<IssuedTokens, OidcError> {
        let client = self.client(endpoints)?;
        let token = RefreshToken::new(refresh_token.to_owned());
        let mut request = client.exchange_refresh_token(&token);
        if let Some(resource) = &self.resource {
            request = request.add_extra_param("resource", resource);
        }
        Ok(boxed(request.request_async(&self.http)).await?.into())
    }

    /// Revokes a refresh token (RFC 7009), when the provider has a
    /// revocation endpoint; returns whether it had one.
    ///
    /// Sent directly rather than through `oauth2`, which refuses revocation
    /// endpoints on plain `http://` even on a developer's machine (in
    /// production the HTTP client itself accepts https only).
    pub async fn revoke(
        &self,
        endpoints: &Endpoints,
        refresh_token: &str,
    ) -> Result<bool, OidcError> {
        let Some(url) = &endpoints.revocation_endpoint else {
            return Ok(false);
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", refresh_token)
            .append_pair("token_type_hint", "refresh_token")
            .finish();
        // RFC 6749 §2.3.1: the client id and secret are form-encoded first.
        let encode =
            |value: &str| form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
        let response = self
            .http
            .0
            .post(url)
            .basic_auth(encode(&self.client_id), Some(encode(&self.client_secret)))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|error| {
                OidcError::Unavailable(crate::error::ErrorChain(&error).to_string())
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(true);
        }
        if status.is_server_error() {
            return Err(OidcError::Unavailable(format!(
                "the revocation endpoint answered {status}"
            )));
        }
        #[derive(Deserialize)]
        struct Refusal {
            error: String,
            error_description: Option<String>,
        }
        let refusal: Option<Refusal> = response.json().await.ok();
        Err(match refusal {
            Some(refusal) => OidcError::Refused {
                error: refusal.error,
                description: refusal.error_description,
            },
            None => OidcError::Unavailable(format!("the revocation endpoint answered {status}")),
        })
    }

    /// Where to send the browser to end its session at the provider too
    /// (OpenID Connect RP-Initiated Logout 1.0), or `None` when the provider
    /// has no `end_session_endpoint`.
    pub fn end_session_url(&self, endpoints: &Endpoints, id_token: &str) -> Option<String> {
        let mut url = reqwest::Url::parse(endpoints.end_session_endpoint.as_deref()?).ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("id_token_hint", id_token)
            .append_pair(
                "post_logout_redirect_uri",
                &format!("{}/", self.public_base_url),
            );
        Some(url.to_string())
    }
}

/// Carries `oauth2`'s requests over this service's HTTP client (the crate's
/// own reqwest support is for another reqwest version).
struct Transport(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Transport {
    type Error = TransportError;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse<Vec<u8>>, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// Sends one request, reading at most [`MAX_RESPONSE_BYTES`] of the answer.
async fn send(
    http: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse<Vec<u8>>, TransportError> {
    let request = reqwest::Request::try_from(request)?;
    let mut response = http.execute(request).await?;
    let mut builder = HttpResponse::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(TransportError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(builder.body(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(error: &str, description: Option<&str>) -> OidcError {
        OidcError::Refused {
            error: error.to_owned(),
            description: description.map(str::to_owned),
        }
    }

    #[test]
    fn reuse_is_read_from_an_invalid_grant_description() {
        assert!(
            refused(
                "invalid_grant",
                Some("Maximum allowed refresh token reuse exceeded")
            )
            .reports_reuse()
        );
        assert!(refused("invalid_grant", Some("refresh token already used")).reports_reuse());
        assert!(!refused("invalid_grant", Some("Token is not active")).reports_reuse());
        assert!(!refused("invalid_grant", None).reports_reuse());
        assert!(!refused("invalid_client", Some("reuse")).reports_reuse());
        assert!(refused("invalid_grant", None).is_invalid_grant());
        assert!(!refused("invalid_client", None).is_invalid_grant());
    }

    #[test]
    fn the_authorization_request_carries_pkce_state_and_nonce() {
        let settings = crate::config::session::SessionSettings {
            resource: Some("urn:api".to_owned()),
            ..crate::config::session::SessionSettings::for_tests()
        };
        let oidc = Oidc::new(&settings, reqwest::Client::new());
        let endpoints = Endpoints {
            authorization_endpoint: Some("https://idp.example.com/authorize".to_owned()),
            token_endpoint: Some("https://idp.example.com/token".to_owned()),
            revocation_endpoint: None,
            end_session_endpoint: Some("https://idp.example.com/logout".to_owned()),
        };
        let first = oidc.authorize(&endpoints).unwrap();
        let second = oidc.authorize(&endpoints).unwrap();
        assert_ne!(first.state, second.state);
        assert_ne!(first.nonce, second.nonce);
        assert_ne!(first.verifier, second.verifier);

        let url = reqwest::Url::parse(&first.url).unwrap();
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], "bff");
        assert_eq!(
            query["redirect_uri"],
            "https://app.example.com/auth/callback"
        );
        assert_eq!(query["scope"], "openid email");
        assert_eq!(query["state"], first.state);
        assert_eq!(query["nonce"], first.nonce);
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["resource"], "urn:api");
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            first.verifier.clone(),
        ));
        assert_eq!(&query["code_challenge"], expected.as_str());
        assert!(
            !first.url.contains(&first.verifier),
            "the verifier stays here"
        );
        assert!(!query.contains_key("prompt"));

        // Asking for a refresh token means asking for consent (OIDC Core §11).
        let mut offline = settings.clone();
        offline.scopes.push("offline_access".to_owned());
        let url = Oidc::new(&offline, reqwest::Client::new())
            .authorize(&endpoints)
            .unwrap()
            .url;
        assert!(url.contains("prompt=consent"), "{url}");

        let logout = oidc.end_session_url(&endpoints, "id.token.value").unwrap();
        assert!(logout.starts_with(
            "https://idp.example.com/logout?client_id=bff&id_token_hint=id.token.value"
        ));
        assert!(logout.contains("post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2F"));
    }
}
