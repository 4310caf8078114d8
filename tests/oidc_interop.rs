//! Interoperability with a real OpenID Connect provider: panva's
//! `oidc-provider` from npm (pinned in `tests/oidc-provider/package.json`,
//! configured by `tests/oidc-provider/provider.mjs`).
//!
//! - Bearer tokens: it issues real JWT access tokens by client credentials; a
//!   service generated with `--idp oidc` must accept them, and reject tokens
//!   from another provider instance and tampered tokens.
//! - Browser sessions (feature `session`): the test is the browser. It signs
//!   in through the service and the provider's own login and consent pages,
//!   uses the session cookie, watches the service refresh the short-lived
//!   access token with the rotated refresh token (the provider reports the
//!   refresh tokens it issued on a test-only path), replays an old refresh
//!   token, logs out (RFC 7009 revocation, RP-initiated logout) and has the
//!   provider end a session over the back channel.
//!
//! Needs Node.js 20+ and npm; the provider's packages are installed with
//! `npm ci` on first use. Nothing is skipped: without Node the test fails
//! saying what to install.

use std::cell::RefCell;
use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

const AUDIENCE: &str = "urn:nestflux:interop";
/// The provider's confidential code-flow client (provider.mjs, `--app-url`).
const WEBAPP_ID: &str = "webapp";
const WEBAPP_SECRET: &str = "webapp-secret";
/// The session test's features: the defaults and `session`.
const SESSION_FEATURES: &str = "headers,rate-limit,cors,audit-log,encryption,session";
/// Lifetime of the session test's access tokens: shorter than the service's
/// refresh margin, so every request with the session cookie refreshes.
const SHORT_TTL_SECONDS: u32 = 10;
const REFRESH_BEFORE_SECONDS: u32 = 30;
/// The login whose refreshed access tokens live an hour (provider.mjs
/// `--steady-account`): its session refreshes once, then not again.
const STEADY_ACCOUNT: &str = "carol";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A child process killed when the test ends, however it ends. Its output
/// goes to a file, shown when the test fails.
struct Running {
    child: Child,
    name: &'static str,
    output: tempfile::NamedTempFile,
}

impl Running {
    /// Starts `command` with its stderr, and its stdout unless the caller
    /// reads it (`stdout_piped`), in a file.
    fn spawn(name: &'static str, command: &mut Command, stdout_piped: bool) -> Self {
        let output = tempfile::NamedTempFile::new().unwrap();
        if !stdout_piped {
            command.stdout(output.reopen().unwrap());
        }
        let child = command
            .stderr(output.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Running {
            child,
            name,
            output,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let output = std::fs::read_to_string(self.output.path()).unwrap_or_default();
            let lines: Vec<&str> = output.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            eprintln!("--- the last lines of {}'s output:\n{tail}", self.name);
        }
    }
}

fn ensure_node_packages() {
    let dir = root().join("tests/oidc-provider");
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "this test needs Node.js 20 or later and npm on PATH (Debian: apt-get install nodejs npm); \
         then `npm ci --prefix tests/oidc-provider` installs the provider"
    );
    if !dir.join("node_modules/oidc-provider").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .status()
            .expect("run npm (install npm beside Node.js)");
        assert!(
            status.success(),
            "`npm ci --prefix tests/oidc-provider` failed"
        );
    }
}

/// An HTTP client that follows no redirects and treats no status as an
/// error: the tests look at every answer themselves.
fn http() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

/// What a test needs of an HTTP answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Reply {
    fn read(what: &str, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Self {
        let mut response = result.unwrap_or_else(|e| panic!("{what}: {e}"));
        let headers = response.headers();
        let location = headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies = headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        Reply {
            status: response.status().as_u16(),
            location,
            set_cookies,
            body: response.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The raw `Set-Cookie` of the cookie `name`.
    fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|c| c.split_once('=').is_some_and(|(n, _)| n.trim() == name))
            .map(String::as_str)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One provider instance with its own signing keys.
struct Provider {
    issuer: String,
    discovery: Value,
    _process: Running,
}

/// `node provider.mjs --audience AUDIENCE --roles ROLES` plus `options`.
fn start_provider(roles: &str, options: &[&str]) -> Provider {
    let mut process = Running::spawn(
        "the OpenID provider",
        Command::new("node")
            .arg(root().join("tests/oidc-provider/provider.mjs"))
            .args(["--audience", AUDIENCE, "--roles", roles])
            .args(options)
            .stdin(Stdio::piped()) // the provider exits when this closes
            .stdout(Stdio::piped()),
        true,
    );
    let stdout = process.child.stdout.take().unwrap();
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read the provider's address");
    // Keep reading: a provider writing to a closed pipe would die of EPIPE.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the provider did not start ({e}): {line:?}"));
    let issuer = ready["issuer"].as_str().unwrap().to_owned();
    let discovery = ureq::get(format!("{issuer}/.well-known/openid-configuration"))
        .call()
        .expect("the provider's discovery document")
        .body_mut()
        .read_json()
        .expect("a JSON discovery document");
    Provider {
        issuer,
        discovery,
        _process: process,
    }
}

/// A refresh token the provider issued (provider.mjs `/test-harness/log`).
#[derive(Debug, Clone, PartialEq)]
struct IssuedRefreshToken {
    value: String,
    grant_id: String,
    rotations: u64,
}

impl Provider {
    fn endpoint(&self, name: &str) -> &str {
        self.discovery[name]
            .as_str()
            .unwrap_or_else(|| panic!("the discovery document has no {name}"))
    }

    /// A real access token, fetched over HTTP with client credentials.
    fn token(&self) -> String {
        let response: Value = ureq::post(self.endpoint("token_endpoint"))
            .header("authorization", basic("service", "service-secret"))
            .send_form([
                ("grant_type", "client_credentials"),
                ("resource", AUDIENCE),
                ("scope", "items:read items:write"),
            ])
            .expect("token request")
            .body_mut()
            .read_json()
            .expect("token response");
        response["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// What the provider did that its clients cannot see.
    fn log(&self) -> Value {
        ureq::get(format!("{}/test-harness/log", self.issuer))
            .call()
            .expect("the provider's test log")
            .body_mut()
            .read_json()
            .expect("a JSON log")
    }

    /// The refresh tokens issued to `account`, oldest first.
    fn refresh_tokens(&self, account: &str) -> Vec<IssuedRefreshToken> {
        self.log()["refresh_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["account"] == account)
            .map(|t| IssuedRefreshToken {
                value: t["value"].as_str().unwrap().to_owned(),
                grant_id: t["grant_id"].as_str().unwrap().to_owned(),
                rotations: t["rotations"].as_u64().unwrap(),
            })
            .collect()
    }

    fn grant_revoked(&self, grant_id: &str) -> bool {
        self.log()["revoked_grants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == grant_id)
    }

    /// The provider's internal reasons for the token requests it refused.
    fn token_error_details(&self) -> Vec<String> {
        self.log()["token_errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["detail"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Presents a refresh token at the token endpoint as the service's
    /// client would.
    fn redeem_refresh_token(&self, refresh_token: &str) -> Reply {
        Reply::read(
            "refresh at the provider",
            http()
                .post(self.endpoint("token_endpoint"))
                .header("authorization", basic(WEBAPP_ID, WEBAPP_SECRET))
                .send_form([
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                    ("resource", AUDIENCE),
                ]),
        )
    }

    /// Token introspection (RFC 7662): is the token still good?
    fn active(&self, token: &str) -> bool {
        let reply = Reply::read(
            "introspection",
            http()
                .post(self.endpoint("introspection_endpoint"))
                .header("authorization", basic(WEBAPP_ID, WEBAPP_SECRET))
                .send_form([("token", token), ("token_type_hint", "refresh_token")]),
        );
        assert_eq!(reply.status, 200, "introspection: {}", reply.body);
        reply.json()["active"]
            .as_bool()
            .expect("an introspection answer")
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// Generates and builds a `--idp oidc` project named `name` (sharing the
/// build matrix's target dir) and returns its binary. `features` is the
/// `--features` list; `None` takes the defaults.
fn build_service(name: &str, features: Option<&str>) -> PathBuf {
    let work = root().join("target/generated-projects");
    let dir = work.join(name);
    let target = std::env::var_os("NESTFLUX_MATRIX_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.join("target"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let mut new = Command::new(env!("CARGO_BIN_EXE_nestflux"));
    new.arg("new")
        .arg(&dir)
        .args(["--idp", "oidc", "--yes", "--quiet"]);
    if let Some(features) = features {
        new.args(["--features", features]);
    }
    assert!(new.status().unwrap().success(), "nestflux new failed");
    let output = Command::new(env!("CARGO"))
        .arg("build")
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "building the generated service failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("debug").join(name)
}

struct Service {
    base: String,
    _process: Running,
    _data: tempfile::TempDir,
}

/// Starts the service on `port` against the provider `issuer`, with `env`
/// on top of what every test needs, and waits until it is ready.
fn start_service(binary: &Path, issuer: &str, port: u16, env: &[(&str, &str)]) -> Service {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(binary);
    command
        // An empty working directory: no `.env` of the generated project applies.
        .current_dir(data.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("APP_ENV", "development")
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/app.db?mode=rwc", data.path().display()),
        )
        .env("AUTH_ISSUER_URL", issuer)
        .env("AUTH_AUDIENCE", AUDIENCE)
        .env("AUTH_ROLES_CLAIM", "roles")
        // The default features include `encryption`, which needs a key.
        .env(
            "DATA_ENCRYPTION_KEYS",
            "interop:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied());
    let service = Service {
        base: format!("http://127.0.0.1:{port}"),
        _process: Running::spawn("the generated service", &mut command, false),
        _data: data,
    };
    // Ready means the provider's keys are loaded.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = ureq::get(service.url("/health/ready")).call()
            && r.status() == 200
        {
            return service;
        }
        assert!(Instant::now() < deadline, "the service never became ready");
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Service {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Status and JSON body of an authenticated GET.
    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let reply = Reply::read(
            path,
            http()
                .get(self.url(path))
                .header("authorization", format!("Bearer {token}"))
                .call(),
        );
        (reply.status, reply.json())
    }
}

/// A cookie as a browser keeps it.
#[derive(Debug, Clone)]
struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// Just enough of a browser for a login: a cookie jar shared by the provider
/// and the service (both on 127.0.0.1; browsers do not tell ports apart for
/// cookies), no automatic redirects.
struct Browser {
    agent: ureq::Agent,
    jar: RefCell<Vec<Cookie>>,
}

impl Browser {
    fn new() -> Self {
        Browser {
            agent: http(),
            jar: RefCell::new(Vec::new()),
        }
    }

    /// The `Cookie` header this browser sends to `url`.
    fn cookie_header(&self, url: &str) -> String {
        let path = url_path(url);
        self.jar
            .borrow()
            .iter()
            .filter(|c| path.starts_with(&c.path))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.jar
            .borrow()
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value.clone())
    }

    fn keep_cookies(&self, reply: &Reply) {
        let mut jar = self.jar.borrow_mut();
        for set in &reply.set_cookies {
            let mut parts = set.split(';');
            let (name, value) = parts
                .next()
                .and_then(|nv| nv.split_once('='))
                .unwrap_or_else(|| panic!("a malformed Set-Cookie: {set}"));
            let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
            let mut path = "/".to_owned();
            let mut expired = value.is_empty();
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                match key.trim().to_ascii_lowercase().as_str() {
                    "path" => val.trim().clone_into(&mut path),
                    "max-age" => expired |= val.trim().parse::<i64>().is_ok_and(|s| s <= 0),
                    "expires" => expired |= val.contains("1970"),
                    _ => {}
                }
            }
            jar.retain(|c| !(c.name == name && c.path == path));
            if !expired {
                jar.push(Cookie { name, value, path });
            }
        }
    }

    fn send(&self, url: &str, headers: &[(&str, &str)], form: Option<&[(&str, &str)]>) -> Reply {
        let reply = {
            let cookies = self.cookie_header(url);
            let result = if let Some(form) = form {
                let mut request = self.agent.post(url).header("cookie", &cookies);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                request.send_form(form.iter().copied())
            } else if headers.is_empty() {
                self.agent.get(url).header("cookie", &cookies).call()
            } else {
                let mut request = self.agent.post(url).header("cookie", &cookies);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                request.send_empty()
            };
            Reply::read(url, result)
        };
        self.keep_cookies(&reply);
        reply
    }

    fn get(&self, url: &str) -> Reply {
        self.send(url, &[], None)
    }

    fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Reply {
        self.send(url, &[], Some(form))
    }

    /// A POST without a body, with `headers` (a `fetch()` of the front end).
    fn post(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        assert!(!headers.is_empty());
        self.send(url, headers, None)
    }
}

/// A GET with exactly this `Cookie` header.
fn get_with_cookie(url: &str, cookie: &str) -> Reply {
    Reply::read(url, http().get(url).header("cookie", cookie).call())
}

/// The path of an absolute URL, without its query.
fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme
        .find('/')
        .map_or("/", |slash| &after_scheme[slash..]);
    path.split(['?', '#']).next().unwrap()
}

/// `location` resolved against the origin `base` (the provider redirects
/// to its own paths with relative locations).
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location.to_owned()
    }
}

/// The decoded value of the query parameter `name` of `url`.
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next().unwrap();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_decode(value))
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).expect("a percent escape"));
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8")
}

/// The text after `marker` up to the next `"` in an HTML page (the
/// provider's forms hold plain URLs and values, nothing to unescape).
fn html_value(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// The claims of a JWT, unverified (the test only looks).
fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// The statuses of `n` GETs of `url` with `browser`'s cookies, sent at once.
fn concurrently(n: usize, url: &str, browser: &Browser) -> Vec<u16> {
    let cookie = browser.cookie_header(url);
    let barrier = Barrier::new(n);
    std::thread::scope(|scope| {
        let requests: Vec<_> = (0..n)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    get_with_cookie(url, &cookie).status
                })
            })
            .collect();
        requests.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

/// A browser signed in to the service: the values of its cookies.
struct SignedIn {
    session: String,
    csrf: String,
}

/// Signs `login` in to the service in a fresh `browser`, as a person would:
/// the service's redirect, the provider's login and consent pages (its
/// development interactions), the way back to the service's callback.
fn sign_in(provider: &Provider, service: &Service, browser: &Browser, login: &str) -> SignedIn {
    let start = browser.get(&service.url("/auth/login"));
    assert_eq!(start.status, 303, "GET /auth/login: {}", start.body);
    let authorize = start.location.clone().expect("a Location");
    assert!(
        authorize.starts_with(&format!("{}?", provider.endpoint("authorization_endpoint"))),
        "the login goes to the provider's authorization endpoint: {authorize}"
    );
    let param = |name: &str| query_param(&authorize, name);
    assert_eq!(
        param("response_type").as_deref(),
        Some("code"),
        "{authorize}"
    );
    assert_eq!(
        param("client_id").as_deref(),
        Some(WEBAPP_ID),
        "{authorize}"
    );
    assert_eq!(
        param("redirect_uri"),
        Some(service.url("/auth/callback")),
        "{authorize}"
    );
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("resource").as_deref(), Some(AUDIENCE), "{authorize}");
    let scope = param("scope").unwrap_or_default();
    assert!(scope.split(' ').any(|s| s == "openid"), "{authorize}");
    for name in ["state", "nonce", "code_challenge"] {
        assert!(
            param(name).is_some_and(|v| v.len() >= 22),
            "no random `{name}` in {authorize}"
        );
    }
    let state = param("state").unwrap();
    assert!(
        browser.cookie("login").is_some(),
        "no login cookie: {:?}",
        start.set_cookies
    );

    // The provider's pages, form by form, until it sends the browser back.
    let mut url = authorize;
    let mut forms = Vec::new();
    let callback = loop {
        if url.starts_with(&format!("{}/", service.base)) {
            break url;
        }
        assert!(
            forms.len() <= 4,
            "no way back to the service after {forms:?}"
        );
        let mut reply = browser.get(&url);
        if reply.status == 200 {
            let prompt = html_value(&reply.body, "name=\"prompt\" value=\"")
                .unwrap_or_else(|| panic!("no login or consent form at {url}: {}", reply.body));
            let action = html_value(&reply.body, "action=\"").expect("the form's action");
            reply = match prompt.as_str() {
                "login" => browser.post_form(
                    &action,
                    &[
                        ("prompt", "login"),
                        ("login", login),
                        ("password", "any password"),
                    ],
                ),
                "consent" => browser.post_form(&action, &[("prompt", "consent")]),
                other => panic!("an unexpected form `{other}` at {url}"),
            };
            forms.push(prompt);
        }
        assert!(
            matches!(reply.status, 302 | 303),
            "{url} answered {}: {}",
            reply.status,
            reply.body
        );
        url = absolute(
            &provider.issuer,
            reply.location.as_deref().expect("a Location"),
        );
    };
    assert_eq!(forms, ["login", "consent"], "the provider's pages");
    assert!(
        callback.starts_with(&format!("{}?", service.url("/auth/callback"))),
        "{callback}"
    );
    assert_eq!(query_param(&callback, "error"), None, "{callback}");
    assert_eq!(query_param(&callback, "state"), Some(state), "{callback}");
    assert!(query_param(&callback, "code").is_some(), "{callback}");

    let done = browser.get(&callback);
    assert_eq!(done.status, 303, "the callback: {}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/"),
        "back where the login started"
    );
    let session = done
        .set_cookie("session")
        .unwrap_or_else(|| panic!("no session cookie: {:?}", done.set_cookies));
    assert!(session.contains("HttpOnly"), "{session}");
    let csrf = done
        .set_cookie("csrf")
        .unwrap_or_else(|| panic!("no csrf cookie: {:?}", done.set_cookies));
    assert!(!csrf.contains("HttpOnly"), "the front end reads it: {csrf}");
    assert_eq!(browser.cookie("login"), None, "the login cookie is cleared");
    SignedIn {
        session: browser.cookie("session").unwrap(),
        csrf: browser.cookie("csrf").unwrap(),
    }
}

/// `GET /api/me` in `browser`: 200 with `login` as the subject.
/// Opens the provider's end-session page at `url` and confirms the logout
/// form, as a user would; returns the provider's answer to the form.
fn sign_out_at_provider(browser: &Browser, url: &str) -> Reply {
    let page = browser.get(url);
    assert_eq!(
        page.status, 200,
        "the provider's logout page: {}",
        page.body
    );
    let xsrf = html_value(&page.body, "name=\"xsrf\" value=\"").expect("the logout form");
    let action = html_value(&page.body, "action=\"").expect("the logout form's action");
    browser.post_form(&action, &[("xsrf", &xsrf), ("logout", "yes")])
}

fn me(service: &Service, browser: &Browser, login: &str) -> Value {
    let reply = browser.get(&service.url("/api/me"));
    assert_eq!(reply.status, 200, "GET /api/me as {login}: {}", reply.body);
    let me = reply.json();
    assert_eq!(me["subject"], login, "{me}");
    me
}

#[test]
fn a_generated_oidc_service_accepts_real_tokens_and_rejects_foreign_and_tampered_ones() {
    ensure_node_packages();
    let provider = start_provider("admin,editor", &[]);
    let other = start_provider("admin", &[]);
    let binary = build_service("oidc-interop", None);
    let service = start_service(&binary, &provider.issuer, free_port(), &[]);

    let token = provider.token();
    let (status, me) = service.get("/api/me", &token);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["subject"], "service", "{me}");
    let roles: Vec<&str> = me["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert_eq!(roles, ["admin", "editor"], "{me}");

    let (status, items) = service.get("/api/items", &token);
    assert_eq!(status, 200, "{items}");
    assert!(items["items"].is_array(), "{items}");

    // A token from another provider: valid in every way but the signer.
    let (status, _) = service.get("/api/me", &other.token());
    assert_eq!(status, 401);

    // The real token with one character of its signature changed.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let (status, _) = service.get("/api/me", &String::from_utf8(tampered).unwrap());
    assert_eq!(status, 401);

    // And the payload swapped for another token's: the signature no longer fits.
    let other_token = other.token();
    let parts: Vec<&str> = token.split('.').collect();
    let other_parts: Vec<&str> = other_token.split('.').collect();
    let spliced = format!("{}.{}.{}", parts[0], other_parts[1], parts[2]);
    assert_eq!(service.get("/api/me", &spliced).0, 401);
}

#[test]
fn a_generated_session_service_signs_in_refreshes_rotates_and_logs_out_with_a_real_provider() {
    ensure_node_packages();
    let binary = build_service("oidc-interop-session", Some(SESSION_FEATURES));
    // The provider registers the service's URLs, so the port comes first.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let ttl = SHORT_TTL_SECONDS.to_string();
    let provider = start_provider(
        "admin,editor",
        &[
            "--ttl",
            &ttl,
            "--app-url",
            &base,
            "--steady-account",
            STEADY_ACCOUNT,
        ],
    );
    let refresh_before = REFRESH_BEFORE_SECONDS.to_string();
    let service = start_service(
        &binary,
        &provider.issuer,
        port,
        &[
            ("PUBLIC_BASE_URL", &base),
            ("AUTH_CLIENT_ID", WEBAPP_ID),
            ("AUTH_CLIENT_SECRET", WEBAPP_SECRET),
            ("AUTH_RESOURCE", AUDIENCE),
            // Plain http on loopback: no `Secure`, no `__Host-` prefix.
            ("COOKIE_SECURE", "false"),
            ("SESSION_REFRESH_BEFORE_SECONDS", &refresh_before),
            // One client makes all the requests here; the limiter is not under test.
            ("RATE_LIMIT_PER_SECOND", "1000"),
            ("RATE_LIMIT_BURST", "1000"),
        ],
    );
    let step = |what: &str| println!("interop/session: {what}");

    // --- alice: sign-in, refresh with rotation, concurrent requests, logout.
    let alice_browser = Browser::new();
    let alice = sign_in(&provider, &service, &alice_browser, "alice");
    step(
        "alice signed in through /auth/login, the provider's login and consent pages and /auth/callback (PKCE S256, state, nonce, resource)",
    );
    let issued = provider.refresh_tokens("alice");
    assert_eq!(issued.len(), 1, "the code exchange: {issued:?}");
    let grant = issued[0].grant_id.clone();

    // Each access token lives less than the refresh margin: this request
    // refreshes it, presenting the code exchange's refresh token.
    let me_alice = me(&service, &alice_browser, "alice");
    let roles: Vec<&str> = me_alice["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert_eq!(roles, ["admin", "editor"], "{me_alice}");
    let issued = provider.refresh_tokens("alice");
    assert_eq!(
        issued.len(),
        2,
        "GET /api/me with a session whose access token expires within {REFRESH_BEFORE_SECONDS} s refreshes it: {issued:?}"
    );
    assert_eq!((issued[1].rotations, &issued[1].grant_id), (1, &grant));
    step(
        "GET /api/me with the session cookie: 200 as alice with her roles; the service refreshed the access token (refresh token rotated once)",
    );

    // The next refresh works only if the service stored the rotated token.
    me(&service, &alice_browser, "alice");
    let issued = provider.refresh_tokens("alice");
    assert_eq!(issued.len(), 3, "{issued:?}");
    assert_eq!((issued[2].rotations, &issued[2].grant_id), (2, &grant));
    assert!(
        !provider.active(&issued[0].value),
        "the code exchange's refresh token is used up"
    );
    assert!(
        !provider.active(&issued[1].value),
        "the first rotated refresh token is used up"
    );
    assert!(
        provider.active(&issued[2].value),
        "the newest refresh token is good"
    );
    step(
        "GET /api/me again: the service refreshed with the rotated refresh token it stored; the provider reports the two older refresh tokens inactive, the newest active",
    );

    // Concurrent requests of one session: one refresh at a time, each with
    // the newest token (presenting one twice would make the provider revoke
    // the grant and end the session). Her access tokens live less than the
    // refresh margin, so each request refreshes in turn; carol's below
    // shows concurrent requests sharing one refresh.
    let before = issued.len();
    let statuses = concurrently(4, &service.url("/api/me"), &alice_browser);
    assert_eq!(statuses, [200; 4], "concurrent requests of one session");
    me(&service, &alice_browser, "alice");
    let issued = provider.refresh_tokens("alice");
    for (i, token) in issued.iter().enumerate() {
        assert_eq!(
            (token.rotations, &token.grant_id),
            (i as u64, &grant),
            "one chain of rotations, no token presented twice: {issued:?}"
        );
    }
    assert!(!provider.grant_revoked(&grant));
    step(&format!(
        "4 concurrent GET /api/me then one more: all 200; {} refreshes, one unbroken rotation chain, no refresh token presented twice",
        issued.len() - before
    ));

    // CSRF: a cookie-authenticated change needs the token and the origin.
    let logout_url = service.url("/auth/logout");
    let refused = alice_browser.post(&logout_url, &[("origin", &base)]);
    assert_eq!(
        refused.status, 403,
        "logout without X-CSRF-Token: {}",
        refused.body
    );
    let refused = alice_browser.post(
        &logout_url,
        &[
            ("x-csrf-token", &alice.csrf),
            ("origin", "http://evil.example"),
        ],
    );
    assert_eq!(
        refused.status, 403,
        "logout from another origin: {}",
        refused.body
    );
    me(&service, &alice_browser, "alice");
    step(
        "POST /auth/logout without X-CSRF-Token, and with a foreign Origin: 403; the session lives on",
    );

    let newest = provider.refresh_tokens("alice").pop().unwrap();
    assert!(provider.active(&newest.value));
    let out = alice_browser.post(
        &logout_url,
        &[("x-csrf-token", &alice.csrf), ("origin", &base)],
    );
    assert_eq!(out.status, 200, "logout: {}", out.body);
    let end_session_url = out.json()["end_session_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no end_session_url: {}", out.body))
        .to_owned();
    assert!(
        end_session_url.starts_with(&format!("{}?", provider.endpoint("end_session_endpoint"))),
        "{end_session_url}"
    );
    assert_eq!(
        query_param(&end_session_url, "client_id").as_deref(),
        Some(WEBAPP_ID)
    );
    assert_eq!(
        query_param(&end_session_url, "post_logout_redirect_uri"),
        Some(format!("{base}/"))
    );
    let hint =
        jwt_claims(&query_param(&end_session_url, "id_token_hint").expect("an id_token_hint"));
    assert_eq!(
        (&hint["sub"], &hint["aud"]),
        (&"alice".into(), &WEBAPP_ID.into()),
        "{hint}"
    );
    assert_eq!(
        alice_browser.cookie("session"),
        None,
        "the session cookie is cleared"
    );
    assert_eq!(
        alice_browser.cookie("csrf"),
        None,
        "the csrf cookie is cleared"
    );
    // RFC 7009: the service revokes the refresh token at logout (and
    // oidc-provider the grant with it). Asserted at the end, so that the
    // rest still runs; it must be read now, before the provider's own
    // logout below revokes the grant anyway.
    let revoked_at_logout = !provider.active(&newest.value) && provider.grant_revoked(&grant);
    let after = get_with_cookie(
        &service.url("/api/me"),
        &format!("session={}", alice.session),
    );
    assert_eq!(
        after.status, 401,
        "the ended session's cookie: {}",
        after.body
    );
    step(
        "POST /auth/logout with X-CSRF-Token and Origin: 200, end_session_url at the provider (client_id, id_token_hint, post_logout_redirect_uri), cookies cleared; the old cookie then gets 401",
    );

    // The browser follows the end-session URL: the provider accepts the ID
    // token hint and the post-logout redirect, and sends the browser home.
    let home = sign_out_at_provider(&alice_browser, &end_session_url);
    assert_eq!(home.status, 303, "{}", home.body);
    assert_eq!(home.location, Some(format!("{base}/")));
    let backchannel = provider.log()["backchannel_logouts"].clone();
    let notices: Vec<&Value> = backchannel
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["account"] == "alice")
        .collect();
    assert_eq!(notices.len(), 1, "{backchannel}");
    assert_eq!(
        notices[0]["error"],
        Value::Null,
        "the service refused the logout token: {backchannel}"
    );
    step(
        "the browser followed end_session_url: the provider ended its session and redirected to PUBLIC_BASE_URL/; its back-channel logout token for alice got 200 from the service",
    );

    // --- bob: an old refresh token presented again.
    let bob_browser = Browser::new();
    sign_in(&provider, &service, &bob_browser, "bob");
    me(&service, &bob_browser, "bob");
    let issued = provider.refresh_tokens("bob");
    assert_eq!(issued.len(), 2, "sign-in and one refresh: {issued:?}");
    let replay = provider.redeem_refresh_token(&issued[0].value);
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(replay.json()["error"], "invalid_grant", "{}", replay.body);
    assert_eq!(
        provider.token_error_details().last().map(String::as_str),
        Some("refresh token already used")
    );
    assert!(
        provider.grant_revoked(&issued[0].grant_id),
        "reuse revokes the grant"
    );
    let errors_before = provider.token_error_details().len();
    let ended = bob_browser.get(&service.url("/api/me"));
    assert_eq!(
        ended.status, 401,
        "after the provider revoked the grant: {}",
        ended.body
    );
    let errors = provider.token_error_details();
    assert_eq!(
        errors[errors_before..],
        ["refresh token not found"],
        "the service's refresh was refused"
    );
    let again = bob_browser.get(&service.url("/api/me"));
    assert_eq!(again.status, 401, "{}", again.body);
    assert_eq!(
        provider.token_error_details().len(),
        errors.len(),
        "the session is gone: no further refresh attempt"
    );
    step(
        "bob signed in and his session refreshed; his first refresh token presented again at the provider: invalid_grant (\"refresh token already used\"), the provider revoked the grant; the service's next refresh was refused and the session ended: 401, then 401 without another refresh",
    );

    // --- carol: concurrent requests share one refresh; then the provider
    // ends her session over the back channel.
    let carol_browser = Browser::new();
    let carol = sign_in(&provider, &service, &carol_browser, STEADY_ACCOUNT);
    let statuses = concurrently(4, &service.url("/api/me"), &carol_browser);
    assert_eq!(statuses, [200; 4], "concurrent requests of one session");
    let issued = provider.refresh_tokens(STEADY_ACCOUNT);
    assert_eq!(
        issued.len(),
        2,
        "4 concurrent requests that all need a refresh make one refresh: {issued:?}"
    );
    me(&service, &carol_browser, STEADY_ACCOUNT);
    assert_eq!(
        provider.refresh_tokens(STEADY_ACCOUNT).len(),
        2,
        "an access token valid for an hour is not refreshed"
    );
    step(
        "carol signed in; 4 concurrent GET /api/me that all needed a refresh: all 200 with one refresh at the provider; the refreshed hour-long token then served without refresh",
    );
    let logout = format!(
        "{}?client_id={WEBAPP_ID}",
        provider.endpoint("end_session_endpoint")
    );
    let done = sign_out_at_provider(&carol_browser, &logout);
    assert_eq!(done.status, 303, "{}", done.body);
    let backchannel = provider.log()["backchannel_logouts"].clone();
    let notice = backchannel
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["account"] == STEADY_ACCOUNT)
        .unwrap_or_else(|| panic!("no back-channel logout for {STEADY_ACCOUNT}: {backchannel}"));
    assert_eq!(
        notice["error"],
        Value::Null,
        "the service refused the logout token: {notice}"
    );
    assert!(notice["sid"].is_string(), "{notice}");
    let ended = get_with_cookie(
        &service.url("/api/me"),
        &format!("session={}", carol.session),
    );
    assert_eq!(
        ended.status, 401,
        "after the back-channel logout: {}",
        ended.body
    );
    assert_eq!(
        provider.refresh_tokens(STEADY_ACCOUNT).len(),
        2,
        "no refresh: only the back-channel logout can have ended the session"
    );
    step(
        "carol signed out at the provider: its back-channel logout token (with sid) got 200 from the service and ended her session there: 401 though her access token was good for an hour",
    );
    assert!(
        revoked_at_logout,
        "POST /auth/logout did not revoke the refresh token at the provider's \
         revocation_endpoint (RFC 7009): the provider still reported it active after the \
         logout; the service's log is below"
    );
    step(
        "the logout had revoked alice's refresh token at the provider (RFC 7009), which ended the grant",
    );
}
