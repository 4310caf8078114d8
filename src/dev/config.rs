//! What the development identity provider serves, read from the project the
//! way the generated service reads it: `nestflux.toml` for the kind of
//! provider, `config/rbac.toml` for the roles (one test user each), and the
//! variables of `.env`, where a variable set in the environment wins (as
//! `dotenvy` lets it win for the service).
//!
//! Everything is checked here, before a port is bound or a process started:
//! the issuer must be plain `http://` on a loopback host, because the
//! provider signs a token for anyone who asks with a test user's password.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::answers::{Feature, Idp};
use crate::error::UserError;
use crate::idp_files::test_username;
use crate::project::Project;
use crate::project::env::{self, ENV_FILE, password_var};
use crate::rbac::{Policy, RBAC_FILE};

/// The issuer `nestflux new` writes into `.env` for a generic OpenID Connect
/// project: served by `nestflux dev`, on a port of its own (Keycloak's
/// compose.yaml uses 8180, Authentik's 9000).
pub const OIDC_DEV_ISSUER: &str = "http://localhost:8190";

/// How long access tokens live, in seconds: short, like the five minutes of
/// the Keycloak realm and the Authentik blueprint, so that expiry and refresh
/// are seen during development.
pub const ACCESS_TOKEN_LIFETIME: u64 = 300;

/// A test user: one per role of `config/rbac.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestUser {
    pub username: String,
    pub role: String,
    /// `None` when `.env` has no password for it: the user can still be
    /// picked on the sign-in page, but the password grant refuses it.
    pub password: Option<String>,
}

impl TestUser {
    /// The variable its password is read from.
    pub fn password_var(&self) -> String {
        password_var(&self.role)
    }
}

/// An OAuth client the provider knows: the `DEV_CLIENT_*` of `.env` (for
/// getting tokens) and, with browser sessions, the service's own
/// `AUTH_CLIENT_*` (usually the same).
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The issuer URL, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer {
    /// Exactly as in `.env`: what `iss` and the discovery document say.
    pub url: String,
    /// `http://host:port`, where the endpoints live.
    pub origin: String,
    /// The host as written (`localhost`, `127.0.0.1`, `[::1]`).
    pub host: String,
    pub port: u16,
    /// The path, possibly empty, with a trailing slash when the issuer has
    /// one (Authentik's).
    pub path: String,
}

impl Issuer {
    /// Parses and checks an issuer: plain http, a loopback host, no query,
    /// fragment or credentials. The error says what is wrong and what to do.
    pub fn parse(url: &str) -> Result<Self, UserError> {
        let refuse = |what: &str| {
            UserError::failure(format!(
                "AUTH_ISSUER_URL `{url}` {what}; nothing was started"
            ))
        };
        let Some(rest) = url.strip_prefix("http://") else {
            let help = if url.starts_with("https://") {
                "this looks like a real provider's issuer: the development provider serves plain http on this machine only (e.g. http://localhost:8180/realms/<name>); run the service with `cargo run` against the real one"
            } else {
                "use an http://localhost:<port>/… issuer, as `nestflux new` writes into .env"
            };
            return Err(refuse("is not a plain http:// URL").with_help(help));
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if path.contains(['?', '#']) {
            return Err(refuse("has a query or a fragment")
                .with_help("an issuer is scheme, host, port and path only"));
        }
        // The path becomes the provider's routes: letters, digits and
        // `-._~/` only (project names are), nothing a router reads as a pattern.
        if !path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
        {
            return Err(
                refuse("has characters other than letters, digits and -._~/ in its path")
                    .with_help("use the issuer `nestflux new` wrote into .env"),
            );
        }
        if authority.contains('@') {
            return Err(refuse("has credentials in it")
                .with_help("an issuer is scheme, host, port and path only"));
        }
        let (host, port) =
            split_host_port(authority).ok_or_else(|| refuse("has no readable host and port"))?;
        if !is_loopback_host(host) {
            return Err(refuse(&format!(
                "names `{host}`, which is not this machine"
            ))
            .with_help(
                "the development provider only serves loopback issuers (localhost, 127.0.0.1, [::1]), \
                 so that nothing but this machine can get its tokens; for a shared provider, run a real one",
            ));
        }
        Ok(Self {
            url: url.to_owned(),
            origin: format!("http://{authority}"),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// The issuer's path without a trailing slash: endpoints are below it.
    pub fn base_path(&self) -> &str {
        self.path.trim_end_matches('/')
    }

    /// The addresses to listen on: `bind` when given (it must be loopback),
    /// else the issuer's host (`localhost` is 127.0.0.1 and, when the
    /// machine has IPv6, ::1).
    pub fn listen_addrs(&self, bind: Option<IpAddr>) -> Result<Vec<SocketAddr>, UserError> {
        if let Some(ip) = bind {
            if !ip.is_loopback() {
                return Err(UserError::usage(format!(
                    "--bind {ip} is not a loopback address; nothing was started"
                ))
                .with_help(
                    "the development provider listens on this machine only: use 127.0.0.1 or ::1 (or leave --bind out)",
                ));
            }
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        Ok(match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, self.port)],
            Err(_) => vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.port),
            ],
        })
    }

    /// Whether `host_header` (a request's `Host`) names this provider. Any
    /// other name is refused: a web page could otherwise rebind its own
    /// domain to 127.0.0.1 and read the provider's pages.
    pub fn accepts_host(&self, host_header: &str) -> bool {
        let Some((host, port)) = split_host_port(host_header) else {
            return false;
        };
        port == self.port && is_loopback_host(host)
    }
}

/// `host:port` (the port defaults to 80), IPv6 hosts in brackets.
fn split_host_port(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if rest.is_empty() => (host, None),
            None => return None,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) => port.parse().ok()?,
        None => 80,
    };
    (!host.is_empty()).then_some((host, port))
}

/// `localhost`, or a loopback IP address (`127.0.0.0/8`, `::1`), in
/// brackets or not. A name that merely starts with `127.` is not one.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The settings of a project: `.env`, under the process environment.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    file: BTreeMap<String, String>,
    /// Looked up first; `None` in tests that must not see the real one.
    use_process_env: bool,
}

impl Vars {
    /// `.env` of the project, with the process environment winning.
    pub fn read(project: &Project) -> anyhow::Result<Self> {
        let path = project.root.join(ENV_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            UserError::failure(format!("cannot read `{}`: {e}", path.display())).with_help(
                "nestflux new writes it (it is git-ignored, so a fresh clone has none): \
                 copy .env.example to .env and fill in AUTH_ISSUER_URL, DEV_CLIENT_SECRET and DEV_PASSWORD_<ROLE>",
            )
        })?;
        Ok(Self {
            file: Self::parse(&text),
            use_process_env: true,
        })
    }

    /// Variables from the text of an env file only.
    pub fn from_text(text: &str) -> Self {
        Self {
            file: Self::parse(text),
            use_process_env: false,
        }
    }

    fn parse(text: &str) -> BTreeMap<String, String> {
        env::parse(text)
            .into_iter()
            .map(|a| (a.key, a.value))
            .collect()
    }

    /// The value of `name`, `None` when unset or empty (as for the service).
    pub fn get(&self, name: &str) -> Option<String> {
        let from_env = self
            .use_process_env
            .then(|| std::env::var(name).ok())
            .flatten();
        from_env
            .or_else(|| self.file.get(name).cloned())
            .filter(|value| !value.trim().is_empty())
    }
}

/// Everything the provider needs to know about the project.
#[derive(Clone, Debug)]
pub struct DevConfig {
    pub project_name: String,
    pub idp: Idp,
    /// The project has browser sessions: the provider then also serves the
    /// authorization code flow, refresh, revocation and logout.
    pub session: bool,
    pub issuer: Issuer,
    /// `AUTH_AUDIENCE`: every access token carries it in `aud`.
    pub audience: String,
    /// `AUTH_ROLES_CLAIM` (generic OIDC): where the roles go, a dot path.
    pub roles_claim: String,
    /// The client `nestflux dev token` and the README's commands use.
    pub dev_client: Client,
    /// Every client the provider knows (the dev client first).
    pub clients: Vec<Client>,
    pub users: Vec<TestUser>,
    /// Where to send back-channel logout tokens: the service's
    /// `{PUBLIC_BASE_URL}/auth/backchannel-logout` when it is on loopback.
    pub backchannel_logout_uri: Option<String>,
    /// Where this machine reaches the service (`BIND_ADDR`, an unspecified
    /// address called on loopback): `http://127.0.0.1:8080` by default, or
    /// https when the `tls` feature serves it with `TLS_CERT_PATH`.
    pub service_url: String,
    /// `PUBLIC_BASE_URL` (browser sessions): where `/auth/login` is.
    pub public_base_url: Option<String>,
}

impl DevConfig {
    /// Reads and checks the project's settings; nothing is written.
    pub fn load(project: &Project) -> anyhow::Result<Self> {
        let vars = Vars::read(project)?;
        let policy_path = project.root.join(RBAC_FILE);
        let policy = std::fs::read_to_string(&policy_path).map_err(|e| {
            UserError::failure(format!("cannot read `{}`: {e}", policy_path.display())).with_help(
                "the test users are the roles of this file: restore it from version control",
            )
        })?;
        Ok(Self::from_parts(project, &vars, &policy)?)
    }

    /// The configuration for `project` with these variables and the policy
    /// text of `config/rbac.toml`.
    pub fn from_parts(project: &Project, vars: &Vars, policy: &str) -> Result<Self, UserError> {
        let answers = &project.answers;
        let project_name = answers.name.as_str().to_owned();
        let issuer_url = vars.get("AUTH_ISSUER_URL").ok_or_else(|| {
            let help = if answers.idp == Idp::Oidc {
                format!(
                    "set AUTH_ISSUER_URL={OIDC_DEV_ISSUER} in .env to use the development provider \
                     (and DEV_CLIENT_SECRET and DEV_PASSWORD_<ROLE>, see .env.example)"
                )
            } else {
                "set it to the issuer compose.yaml's provider has, as `nestflux new` wrote it"
                    .to_owned()
            };
            UserError::failure("AUTH_ISSUER_URL is not set in .env; nothing was started")
                .with_help(help)
        })?;
        let issuer = Issuer::parse(&issuer_url)?;
        let audience = vars.get("AUTH_AUDIENCE").ok_or_else(|| {
            UserError::failure("AUTH_AUDIENCE is not set in .env; nothing was started").with_help(
                format!(
                    "set it to the service's audience, `{project_name}` as `nestflux new` wrote it"
                ),
            )
        })?;

        let session = answers.features.contains(Feature::Session);
        let auth_client_id = vars.get("AUTH_CLIENT_ID");
        let dev_client_id = vars
            .get("DEV_CLIENT_ID")
            .or_else(|| auth_client_id.clone())
            .unwrap_or_else(|| project_name.clone());
        let dev_secret = vars.get("DEV_CLIENT_SECRET").or_else(|| {
            (auth_client_id.as_deref() == Some(dev_client_id.as_str()))
                .then(|| vars.get("AUTH_CLIENT_SECRET"))
                .flatten()
        });
        let Some(dev_secret) = dev_secret else {
            return Err(UserError::failure(
                "DEV_CLIENT_SECRET is not set in .env; nothing was started",
            )
            .with_help(
                "add a line DEV_CLIENT_SECRET=<a long random value>: the client secret for getting tokens",
            ));
        };
        let dev_client = Client {
            id: dev_client_id,
            secret: dev_secret,
        };
        let mut clients = vec![dev_client.clone()];
        if session
            && let (Some(id), Some(secret)) = (auth_client_id, vars.get("AUTH_CLIENT_SECRET"))
            && id != dev_client.id
        {
            clients.push(Client { id, secret });
        }

        let policy = Policy::parse(policy).map_err(|e| {
            UserError::failure(format!("{}; nothing was started", e.render(policy)))
                .with_help(format!("fix `{RBAC_FILE}`: its roles are the test users"))
        })?;
        let users = policy
            .roles
            .iter()
            .map(|role| TestUser {
                username: test_username(&role.name),
                role: role.name.clone(),
                password: vars.get(&password_var(&role.name)),
            })
            .collect();

        let backchannel_logout_uri = session
            .then(|| vars.get("PUBLIC_BASE_URL"))
            .flatten()
            .map(|base| base.trim_end_matches('/').to_owned())
            .filter(|base| {
                base.split_once("://")
                    .and_then(|(_, rest)| split_host_port(rest))
                    .is_some_and(|(host, _)| is_loopback_host(host))
            })
            .map(|base| format!("{base}/auth/backchannel-logout"));

        let bind_addr = vars
            .get("BIND_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let mut service_addr: SocketAddr = bind_addr.parse().map_err(|_| {
            UserError::failure(format!(
                "BIND_ADDR `{bind_addr}` is not an address such as 127.0.0.1:8080; nothing was started"
            ))
        })?;
        if service_addr.ip().is_unspecified() {
            service_addr.set_ip(match service_addr {
                SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        let tls = answers.features.contains(Feature::Tls) && vars.get("TLS_CERT_PATH").is_some();
        let service_url = format!("{}://{service_addr}", if tls { "https" } else { "http" });

        Ok(Self {
            project_name,
            idp: answers.idp,
            session,
            issuer,
            audience,
            roles_claim: vars
                .get("AUTH_ROLES_CLAIM")
                .unwrap_or_else(|| "roles".to_owned()),
            dev_client,
            clients,
            users,
            backchannel_logout_uri,
            service_url,
            public_base_url: session
                .then(|| vars.get("PUBLIC_BASE_URL"))
                .flatten()
                .map(|base| base.trim_end_matches('/').to_owned()),
        })
    }

    /// The test user `name` names: a role (`editor`) or a user (`test-editor`).
    pub fn user(&self, name: &str) -> Option<&TestUser> {
        self.users
            .iter()
            .find(|user| user.role == name || user.username == name)
    }

    /// The client with `id`.
    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.iter().find(|client| client.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{Database, FeatureSet, ProjectName};

    fn project(idp: Idp, features: FeatureSet) -> Project {
        Project {
            root: std::path::PathBuf::from("/nowhere"),
            answers: crate::answers::Answers {
                name: ProjectName::parse("shop").unwrap(),
                idp,
                database: Database::Sqlite,
                features,
                deploy: crate::answers::DeploySet::none(),
            },
        }
    }

    const POLICY: &str = "permissions = []\n[roles.admin]\npermissions = [\"*\"]\n[roles.read-only]\npermissions = []\n";

    fn config(env: &str) -> Result<DevConfig, UserError> {
        DevConfig::from_parts(
            &project(Idp::Keycloak, FeatureSet::defaults()),
            &Vars::from_text(env),
            POLICY,
        )
    }

    const ENV: &str = "AUTH_ISSUER_URL=http://localhost:8180/realms/shop\nAUTH_AUDIENCE=shop\nDEV_CLIENT_ID=shop\nDEV_CLIENT_SECRET=s3cret\nDEV_PASSWORD_ADMIN=pw\n";

    #[test]
    fn test_users_are_the_policy_roles_with_the_passwords_of_env() {
        let config = config(ENV).unwrap();
        assert_eq!(config.issuer.port, 8180);
        assert_eq!(config.issuer.base_path(), "/realms/shop");
        let users: Vec<(&str, Option<&str>)> = config
            .users
            .iter()
            .map(|u| (u.username.as_str(), u.password.as_deref()))
            .collect();
        assert_eq!(
            users,
            [("test-admin", Some("pw")), ("test-read-only", None)]
        );
        assert_eq!(config.users[1].password_var(), "DEV_PASSWORD_READ_ONLY");
        assert_eq!(config.user("read-only").unwrap().username, "test-read-only");
        assert_eq!(config.user("test-admin").unwrap().role, "admin");
        assert!(config.user("nobody").is_none());
    }

    #[test]
    fn issuers_that_are_not_loopback_http_are_refused() {
        for (issuer, expected) in [
            (
                "https://sso.example.com/realms/shop",
                "not a plain http:// URL",
            ),
            (
                "http://sso.example.com/realms/shop",
                "which is not this machine",
            ),
            (
                "http://127.evil.example:8180/x",
                "which is not this machine",
            ),
            ("http://0.0.0.0:8180/x", "which is not this machine"),
            ("http://localhost:8180/x?a=b", "query or a fragment"),
            ("http://me@localhost:8180/x", "credentials"),
            (
                "http://localhost:8180/realms/{name}",
                "characters other than",
            ),
        ] {
            let err = Issuer::parse(issuer).unwrap_err();
            assert!(err.message.contains(expected), "{issuer}: {}", err.message);
        }
        for issuer in [
            "http://localhost:9000/application/o/shop/",
            "http://127.0.0.1:8190",
            "http://[::1]:8190/x",
        ] {
            Issuer::parse(issuer).unwrap();
        }
        assert_eq!(Issuer::parse("http://[::1]:8190/x").unwrap().port, 8190);
        assert_eq!(Issuer::parse("http://localhost/x").unwrap().port, 80);
    }

    #[test]
    fn only_loopback_addresses_are_bound() {
        let issuer = Issuer::parse("http://localhost:8180/realms/shop").unwrap();
        assert_eq!(issuer.listen_addrs(None).unwrap().len(), 2);
        let err = issuer
            .listen_addrs(Some("0.0.0.0".parse().unwrap()))
            .unwrap_err();
        assert!(err.usage && err.message.contains("not a loopback address"));
        assert_eq!(
            issuer
                .listen_addrs(Some("127.0.0.2".parse().unwrap()))
                .unwrap(),
            ["127.0.0.2:8180".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn only_loopback_host_headers_for_the_port_are_accepted() {
        let issuer = Issuer::parse("http://localhost:8180/realms/shop").unwrap();
        assert!(issuer.accepts_host("localhost:8180"));
        assert!(issuer.accepts_host("127.0.0.1:8180"));
        assert!(issuer.accepts_host("[::1]:8180"));
        assert!(!issuer.accepts_host("evil.example:8180"));
        assert!(!issuer.accepts_host("localhost:8181"));
        assert!(!issuer.accepts_host("localhost"));
    }

    #[test]
    fn a_missing_issuer_or_client_secret_is_named() {
        let err = config("AUTH_AUDIENCE=shop\n").unwrap_err();
        assert!(err.message.contains("AUTH_ISSUER_URL"), "{}", err.message);
        let err = config("AUTH_ISSUER_URL=http://localhost:8180/realms/shop\nAUTH_AUDIENCE=shop\n")
            .unwrap_err();
        assert!(err.message.contains("DEV_CLIENT_SECRET"), "{}", err.message);
        let oidc = DevConfig::from_parts(
            &project(Idp::Oidc, FeatureSet::defaults()),
            &Vars::from_text("AUTH_ISSUER_URL=\nAUTH_AUDIENCE=shop\n"),
            POLICY,
        )
        .unwrap_err();
        assert!(oidc.help[0].contains(OIDC_DEV_ISSUER), "{:?}", oidc.help);
    }

    #[test]
    fn sessions_add_the_login_client_and_a_loopback_backchannel_uri() {
        let features: FeatureSet = [Feature::Encryption, Feature::Session]
            .into_iter()
            .collect();
        let env = format!(
            "{ENV}AUTH_CLIENT_ID=bff\nAUTH_CLIENT_SECRET=other\nPUBLIC_BASE_URL=http://localhost:8080\n"
        );
        let config = DevConfig::from_parts(
            &project(Idp::Keycloak, features.clone()),
            &Vars::from_text(&env),
            POLICY,
        )
        .unwrap();
        assert_eq!(config.clients.len(), 2);
        assert_eq!(config.client("bff").unwrap().secret, "other");
        assert_eq!(
            config.backchannel_logout_uri.as_deref(),
            Some("http://localhost:8080/auth/backchannel-logout")
        );
        let remote = format!("{ENV}PUBLIC_BASE_URL=https://app.example.com\n");
        let config = DevConfig::from_parts(
            &project(Idp::Keycloak, features),
            &Vars::from_text(&remote),
            POLICY,
        )
        .unwrap();
        assert_eq!(config.backchannel_logout_uri, None);
    }
}
