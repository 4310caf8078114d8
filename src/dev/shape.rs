//! What makes the provider look like the one the project was generated for:
//! where its endpoints are, and how its tokens are shaped. The service's role
//! mapping is exercised for real: Keycloak's roles are in
//! `realm_access.roles` (with another client's roles beside them in
//! `resource_access`, which the service must ignore), Authentik's in
//! `groups`, a generic provider's at the dot path `AUTH_ROLES_CLAIM`.
//!
//! The shapes follow the realm export and the blueprint under `deploy/`: the
//! test users' names, e-mail addresses and roles are theirs, and the
//! audience is `AUTH_AUDIENCE`, which their audience mappings put there.

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::{Map, Value, json};

use super::config::{DevConfig, Issuer, TestUser};
use crate::answers::Idp;

/// The provider's own pages, outside any provider's endpoint paths.
pub const HOME_PATH: &str = "/";
pub const SIGN_OUT_PATH: &str = "/nestflux-dev/sign-out";

/// The member of `events` that makes a JWT a back-channel logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The paths of the provider's endpoints, where the real provider has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub discovery: String,
    pub jwks: String,
    pub token: String,
    pub authorization: String,
    pub revocation: String,
    pub end_session: String,
}

impl Endpoints {
    pub fn new(idp: Idp, issuer: &Issuer) -> Self {
        let base = issuer.base_path();
        let discovery = format!("{base}/.well-known/openid-configuration");
        match idp {
            // Keycloak: everything under the realm.
            Idp::Keycloak => Self {
                discovery,
                jwks: format!("{base}/protocol/openid-connect/certs"),
                token: format!("{base}/protocol/openid-connect/token"),
                authorization: format!("{base}/protocol/openid-connect/auth"),
                revocation: format!("{base}/protocol/openid-connect/revoke"),
                end_session: format!("{base}/protocol/openid-connect/logout"),
            },
            // Authentik: shared by every application, but for keys and logout.
            Idp::Authentik => Self {
                discovery,
                jwks: format!("{base}/jwks/"),
                token: "/application/o/token/".to_owned(),
                authorization: "/application/o/authorize/".to_owned(),
                revocation: "/application/o/revoke/".to_owned(),
                end_session: format!("{base}/end-session/"),
            },
            // Where node's `oidc-provider` serves them.
            Idp::Oidc => Self {
                discovery,
                jwks: format!("{base}/jwks"),
                token: format!("{base}/token"),
                authorization: format!("{base}/auth"),
                revocation: format!("{base}/token/revocation"),
                end_session: format!("{base}/session/end"),
            },
        }
    }
}

/// The `typ` of access tokens' headers: RFC 9068's for a standard provider,
/// the plain `JWT` Keycloak and Authentik send.
pub fn access_token_type(idp: Idp) -> &'static str {
    match idp {
        Idp::Oidc => "at+jwt",
        Idp::Keycloak | Idp::Authentik => "JWT",
    }
}

/// For whom a token is.
pub enum Holder<'a> {
    /// A test user, through the password grant or a browser sign-in.
    User(&'a TestUser),
    /// The client itself (`client_credentials`): no user, no roles.
    Client(&'a str),
}

/// The `sub` of a test user: stable across runs (so the items a user owns
/// stay theirs), shaped like the provider's (a UUID for Keycloak, a SHA-256
/// for Authentik's hashed user ids, the user name elsewhere).
pub fn subject(idp: Idp, issuer: &str, username: &str) -> String {
    let hash = digest(&SHA256, format!("{issuer}\n{username}").as_bytes());
    let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    match idp {
        Idp::Keycloak => format!(
            "{}-{}-5{}-a{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        ),
        Idp::Authentik => hex,
        Idp::Oidc => username.to_owned(),
    }
}

/// `Editor` for `editor`.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The profile claims of a test user, as the realm export and the blueprint
/// describe them.
fn profile(user: &TestUser) -> Map<String, Value> {
    let family = capitalized(&user.role);
    json!({
        "name": format!("Test {family}"),
        "given_name": "Test",
        "family_name": family,
        "preferred_username": user.username,
        "email": format!("{}@example.com", user.username),
        "email_verified": true,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// Puts `value` at the dot path `path` (`app.roles` → `{"app": {"roles": …}}`).
fn insert_at_path(claims: &mut Map<String, Value>, path: &str, value: Value) {
    let mut segments: Vec<&str> = path.split('.').collect();
    let last = segments.pop().unwrap_or(path);
    let mut object = claims;
    for segment in segments {
        let entry = object
            .entry(segment.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        object = entry.as_object_mut().expect("just made an object");
    }
    object.insert(last.to_owned(), value);
}

/// What every token of a grant has in common.
pub struct Grant<'a> {
    pub holder: Holder<'a>,
    pub client_id: &'a str,
    pub scope: &'a str,
    /// The provider session (ID token `sid`), for browser sign-ins and
    /// grants that issue refresh tokens.
    pub sid: Option<&'a str>,
    pub now: u64,
    pub jti: String,
}

/// The claims of an access token in the provider's shape.
pub fn access_claims(config: &DevConfig, grant: &Grant<'_>) -> Map<String, Value> {
    let issuer = &config.issuer.url;
    let now = grant.now;
    let exp = now + super::config::ACCESS_TOKEN_LIFETIME;
    let (sub, user) = match grant.holder {
        Holder::User(user) => (subject(config.idp, issuer, &user.username), Some(user)),
        Holder::Client(client) => (
            subject(config.idp, issuer, &format!("service-account-{client}")),
            None,
        ),
    };
    let roles: Vec<&str> = user.map(|u| vec![u.role.as_str()]).unwrap_or_default();
    let mut claims = match config.idp {
        Idp::Keycloak => {
            let mut claims = json!({
                "exp": exp,
                "iat": now,
                "jti": grant.jti,
                "iss": issuer,
                "aud": [config.audience, "account"],
                "sub": sub,
                "typ": "Bearer",
                "azp": grant.client_id,
                "acr": "1",
                "realm_access": { "roles": roles },
                // Keycloak's own account client: roles the service must not read.
                "resource_access": {
                    "account": { "roles": ["manage-account", "view-profile"] },
                },
                "scope": grant.scope,
            });
            if user.is_none() {
                claims["client_id"] = json!(grant.client_id);
                claims["preferred_username"] =
                    json!(format!("service-account-{}", grant.client_id));
            }
            claims
        }
        Idp::Authentik => {
            let mut claims = json!({
                "iss": issuer,
                "sub": sub,
                "aud": config.audience,
                "exp": exp,
                "iat": now,
                "auth_time": now,
                "acr": "goauthentik.io/providers/oauth2/default",
                "azp": grant.client_id,
                "scope": grant.scope,
            });
            // Authentik's profile and groups scopes both carry the groups.
            let scopes: Vec<&str> = grant.scope.split_whitespace().collect();
            if scopes.contains(&"profile") || scopes.contains(&"groups") {
                claims["groups"] = json!(roles);
            }
            claims
        }
        Idp::Oidc => {
            let mut claims = json!({
                "iss": issuer,
                "sub": sub,
                "aud": config.audience,
                "exp": exp,
                "iat": now,
                "jti": grant.jti,
                "client_id": grant.client_id,
                "scope": grant.scope,
            });
            if let Some(object) = claims.as_object_mut() {
                insert_at_path(object, &config.roles_claim, json!(roles));
            }
            claims
        }
    };
    let Some(object) = claims.as_object_mut() else {
        return Map::new();
    };
    if let Some(sid) = grant.sid {
        object.insert("sid".to_owned(), json!(sid));
    }
    if let Some(user) = user {
        // Keycloak and Authentik put the profile into access tokens too.
        if config.idp != Idp::Oidc {
            object.extend(profile(user));
        }
    }
    object.clone()
}

/// The claims of an ID token (OpenID Connect Core §2) for a test user.
pub fn id_claims(
    config: &DevConfig,
    user: &TestUser,
    client_id: &str,
    sid: &str,
    nonce: Option<&str>,
    auth_time: u64,
    now: u64,
) -> Map<String, Value> {
    let issuer = &config.issuer.url;
    let mut claims = json!({
        "iss": issuer,
        "sub": subject(config.idp, issuer, &user.username),
        "aud": client_id,
        "azp": client_id,
        "exp": now + super::config::ACCESS_TOKEN_LIFETIME,
        "iat": now,
        "auth_time": auth_time,
        "sid": sid,
    });
    if config.idp == Idp::Keycloak {
        claims["typ"] = json!("ID");
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    let mut claims = claims.as_object().cloned().unwrap_or_default();
    claims.extend(profile(user));
    claims
}

/// The claims of a back-channel logout token (OpenID Connect Back-Channel
/// Logout 1.0 §2.4) ending the provider session `sid` of `username`.
pub fn logout_claims(
    config: &DevConfig,
    username: &str,
    client_id: &str,
    sid: &str,
    jti: String,
    now: u64,
) -> Map<String, Value> {
    let issuer = &config.issuer.url;
    json!({
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + 120,
        "jti": jti,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        "sid": sid,
        "sub": subject(config.idp, issuer, username),
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// The discovery document (OpenID Connect Discovery 1.0 §3).
pub fn discovery(config: &DevConfig, endpoints: &Endpoints) -> Value {
    let url = |path: &str| format!("{}{path}", config.issuer.origin);
    let mut grant_types = vec!["client_credentials", "password"];
    if config.session {
        grant_types.extend(["authorization_code", "refresh_token"]);
    }
    let mut document = json!({
        "issuer": config.issuer.url,
        "jwks_uri": url(&endpoints.jwks),
        "token_endpoint": url(&endpoints.token),
        "grant_types_supported": grant_types,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "email", "offline_access", "groups"],
    });
    if config.session {
        document["authorization_endpoint"] = json!(url(&endpoints.authorization));
        document["revocation_endpoint"] = json!(url(&endpoints.revocation));
        document["end_session_endpoint"] = json!(url(&endpoints.end_session));
        document["code_challenge_methods_supported"] = json!(["S256"]);
        document["response_modes_supported"] = json!(["query"]);
        document["authorization_response_iss_parameter_supported"] = json!(true);
        document["backchannel_logout_supported"] = json!(true);
        document["backchannel_logout_session_supported"] = json!(true);
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{Answers, Database, FeatureSet, ProjectName};
    use crate::dev::config::Vars;
    use crate::project::Project;

    fn config(idp: Idp, env: &str) -> DevConfig {
        let project = Project {
            root: "/nowhere".into(),
            answers: Answers {
                name: ProjectName::parse("shop").unwrap(),
                idp,
                database: Database::Sqlite,
                features: FeatureSet::defaults(),
                deploy: crate::answers::DeploySet::none(),
            },
        };
        let env = format!("AUTH_AUDIENCE=shop\nDEV_CLIENT_SECRET=s\n{env}");
        DevConfig::from_parts(
            &project,
            &Vars::from_text(&env),
            "permissions = []\n[roles.editor]\npermissions = []\n",
        )
        .unwrap()
    }

    fn grant<'a>(config: &'a DevConfig, scope: &'a str) -> Grant<'a> {
        Grant {
            holder: Holder::User(&config.users[0]),
            client_id: "shop",
            scope,
            sid: None,
            now: 1_000,
            jti: "j".to_owned(),
        }
    }

    #[test]
    fn keycloak_tokens_carry_realm_roles_and_the_audience() {
        let config = config(
            Idp::Keycloak,
            "AUTH_ISSUER_URL=http://localhost:8180/realms/shop\n",
        );
        let claims = access_claims(&config, &grant(&config, "openid"));
        assert_eq!(claims["realm_access"]["roles"], json!(["editor"]));
        assert_eq!(claims["aud"], json!(["shop", "account"]));
        assert_eq!(claims["typ"], "Bearer");
        assert_eq!(claims["exp"], 1_300);
        assert_eq!(claims["preferred_username"], "test-editor");
        let sub = claims["sub"].as_str().unwrap();
        assert_eq!(sub.len(), 36, "{sub}");
        assert_eq!(
            sub,
            subject(
                Idp::Keycloak,
                "http://localhost:8180/realms/shop",
                "test-editor"
            )
        );
        let endpoints = Endpoints::new(Idp::Keycloak, &config.issuer);
        assert_eq!(
            endpoints.token,
            "/realms/shop/protocol/openid-connect/token"
        );
    }

    #[test]
    fn authentik_tokens_carry_groups_when_the_scope_asks() {
        let config = config(
            Idp::Authentik,
            "AUTH_ISSUER_URL=http://localhost:9000/application/o/shop/\n",
        );
        let claims = access_claims(&config, &grant(&config, "openid profile groups"));
        assert_eq!(claims["groups"], json!(["editor"]));
        assert_eq!(claims["aud"], "shop");
        assert_eq!(claims["sub"].as_str().unwrap().len(), 64);
        let bare = access_claims(&config, &grant(&config, "openid"));
        assert!(!bare.contains_key("groups"));
        let endpoints = Endpoints::new(Idp::Authentik, &config.issuer);
        assert_eq!(
            endpoints.discovery,
            "/application/o/shop/.well-known/openid-configuration"
        );
        assert_eq!(endpoints.end_session, "/application/o/shop/end-session/");
    }

    #[test]
    fn generic_tokens_put_roles_at_the_configured_dot_path() {
        let config = config(
            Idp::Oidc,
            "AUTH_ISSUER_URL=http://localhost:8190\nAUTH_ROLES_CLAIM=app.access.roles\n",
        );
        let claims = access_claims(&config, &grant(&config, "openid"));
        assert_eq!(claims["app"]["access"]["roles"], json!(["editor"]));
        assert_eq!(claims["sub"], "test-editor");
        assert_eq!(access_token_type(Idp::Oidc), "at+jwt");
        let endpoints = Endpoints::new(Idp::Oidc, &config.issuer);
        assert_eq!(endpoints.discovery, "/.well-known/openid-configuration");
    }

    #[test]
    fn client_tokens_have_no_roles() {
        let config = config(
            Idp::Keycloak,
            "AUTH_ISSUER_URL=http://localhost:8180/realms/shop\n",
        );
        let mut grant = grant(&config, "openid");
        grant.holder = Holder::Client("shop");
        let claims = access_claims(&config, &grant);
        assert_eq!(claims["realm_access"]["roles"], json!([]));
        assert_eq!(claims["preferred_username"], "service-account-shop");
    }
}
