//! Helpers for the tests of `nestflux dev`: the development provider run as
//! a process, an HTTP client that shows every answer, a cookie jar, and
//! `.env` edits. Shared by `tests/dev.rs` (the provider alone) and the build
//! matrix's probe (the provider with a built service).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nestflux::dev::config::Issuer;
use nestflux::project::env::ENV_FILE;
use serde_json::Value;

/// Variables the provider reads that a test run must not inherit.
pub const PROVIDER_VARS: &[&str] = &[
    "AUTH_ISSUER_URL",
    "AUTH_AUDIENCE",
    "AUTH_ROLES_CLAIM",
    "AUTH_CLIENT_ID",
    "AUTH_CLIENT_SECRET",
    "DEV_CLIENT_ID",
    "DEV_CLIENT_SECRET",
    "BIND_ADDR",
    "PUBLIC_BASE_URL",
];

pub fn nestflux_bin() -> &'static str {
    env!("CARGO_BIN_EXE_nestflux")
}

/// `nestflux` without a terminal, colours, or the provider's variables of
/// the test's own environment.
pub fn nestflux(dir: &Path) -> Command {
    let mut command = Command::new(nestflux_bin());
    command
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null());
    for var in PROVIDER_VARS {
        command.env_remove(var);
    }
    command
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("a local address")
        .port()
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
        .is_ok()
}

/// Waits until `check` holds, at most `timeout`.
pub fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// Replaces (or appends) `key=value` in the project's `.env`.
pub fn set_env(project: &Path, key: &str, value: &str) {
    let path = project.join(".env");
    let text = std::fs::read_to_string(&path).expect("read .env");
    let mut found = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with(&format!("{key}=")) {
                found = true;
                format!("{key}={value}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    if !found {
        lines.push(format!("{key}={value}"));
    }
    std::fs::write(&path, lines.join("\n") + "\n").expect("write .env");
}

/// The value of `key` in the project's `.env`.
pub fn env_value(project: &Path, key: &str) -> String {
    std::fs::read_to_string(project.join(".env"))
        .expect("read .env")
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {key} in .env"))
}

/// An HTTP client that follows no redirects and treats no status as an
/// error: the tests look at every answer themselves.
pub fn http() -> ureq::Agent {
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
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Reply {
    pub fn read(
        what: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Self, String> {
        let mut response = result.map_err(|e| format!("{what}: {e}"))?;
        let headers = response.headers();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies = headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let headers = headers
            .iter()
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect();
        Ok(Self {
            status: response.status().as_u16(),
            location,
            set_cookies,
            headers,
            body: response.body_mut().read_to_string().unwrap_or_default(),
        })
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// Fails with the status and body unless the status is `expected`.
    pub fn expect(self, expected: u16, what: &str) -> Result<Self, String> {
        if self.status == expected {
            Ok(self)
        } else {
            Err(format!(
                "{what}: expected {expected}, got {} {}",
                self.status,
                self.body.chars().take(400).collect::<String>()
            ))
        }
    }
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
    let mut request = http().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::read(&format!("GET {url}"), request.call())
}

pub fn post_form(
    url: &str,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut request = http().post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::read(
        &format!("POST {url}"),
        request.send_form(form.iter().copied()),
    )
}

pub fn post_json(url: &str, headers: &[(&str, &str)], body: &Value) -> Result<Reply, String> {
    let mut request = http().post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::read(&format!("POST {url}"), request.send_json(body))
}

/// The query parameter `name` of `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// An HTML attribute value as a browser reads it (minijinja escapes `/`
/// too).
pub fn html_unescape(value: &str) -> String {
    value
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the attribute `value` after `name="NAME"` in an HTML page.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let rest = html.split(&format!("name=\"{name}\" value=\"")).nth(1)?;
    rest.split('"').next().map(html_unescape)
}

/// The `action` of the page's (first) POST form.
pub fn form_action(html: &str) -> Option<String> {
    let rest = html.split("method=\"post\" action=\"").nth(1)?;
    rest.split('"').next().map(html_unescape)
}

/// The claims of a JWT, unverified (for looking at what a provider issued).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// The header of a JWT.
pub fn jwt_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap_or_default();
    URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// Cookies by name, as a browser keeps them for one site.
#[derive(Debug, Default, Clone)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    pub fn take(&mut self, reply: &Reply) {
        for cookie in &reply.set_cookies {
            let pair = cookie.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let expired = cookie.to_ascii_lowercase().contains("max-age=0");
            if expired || value.is_empty() {
                self.0.remove(name.trim());
            } else {
                self.0
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The `Cookie` header.
    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A process whose output goes to a file, stopped (SIGTERM, then SIGKILL)
/// when dropped.
pub struct Running {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Running {
    /// Starts `command` with stdout and stderr in `log`.
    pub fn start(name: &str, mut command: Command, log: PathBuf) -> Result<Self, String> {
        let file = File::create(&log).map_err(|e| format!("{name}: cannot create its log: {e}"))?;
        let err = file
            .try_clone()
            .map_err(|e| format!("{name}: cannot clone its log: {e}"))?;
        let child = command
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{name}: cannot start: {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of its output, for failure messages.
    pub fn tail(&self) -> String {
        let output = self.output();
        let lines: Vec<&str> = output.lines().collect();
        format!(
            "--- last lines of {} ---\n{}",
            self.name,
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
    }

    /// Whether it has exited, and how.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// SIGTERM, and its exit status within `timeout` (SIGKILL after that).
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        self.stop_with(nix::sys::signal::Signal::SIGTERM, timeout)
    }

    /// `signal`, and its exit status within `timeout` (SIGKILL after that).
    pub fn stop_with(
        &mut self,
        signal: nix::sys::signal::Signal,
        timeout: Duration,
    ) -> Result<ExitStatus, String> {
        let Some(mut child) = self.child.take() else {
            return Err(format!("{} was stopped already", self.name));
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, signal);
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!(
            "{} did not stop within {timeout:?} of {signal}\n{}",
            self.name,
            self.tail()
        ))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `nestflux dev idp` in `project`, once its discovery document answers.
pub fn start_provider(
    project: &Path,
    issuer: &str,
    log: PathBuf,
    env: &[(&str, &str)],
) -> Result<Running, String> {
    let mut command = nestflux(project);
    command.args(["dev", "idp"]).envs(env.iter().copied());
    let mut provider = Running::start("nestflux dev idp", command, log)?;
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let ready = wait_for(Duration::from_secs(30), || {
        provider.exited().is_none() && get(&discovery, &[]).is_ok_and(|reply| reply.status == 200)
    });
    if !ready {
        return Err(format!(
            "the provider did not serve {discovery}\n{}",
            provider.tail()
        ));
    }
    Ok(provider)
}

/// `nestflux dev token USER` in `project`, with `env` (e.g. the
/// `AUTH_ISSUER_URL` of a [`DevProvider`] on a port of its own).
pub fn dev_token_with(project: &Path, user: &str, env: &[(&str, &str)]) -> Result<String, String> {
    let output = nestflux(project)
        .args(["dev", "token", user])
        .envs(env.iter().copied())
        .output()
        .map_err(|e| format!("run nestflux dev token: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "nestflux dev token {user} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `nestflux dev token USER` in `project`, from the provider of `.env`.
pub fn dev_token(project: &Path, user: &str) -> Result<String, String> {
    dev_token_with(project, user, &[])
}

/// The development provider of a generated project on a free loopback port,
/// so that runs in parallel (and a Keycloak of compose.yaml on 8180) never
/// collide: the issuer of the project's `.env` with its port replaced,
/// given to `nestflux dev idp` as `AUTH_ISSUER_URL` in the environment,
/// which `nestflux dev` (and the service, through dotenvy) honours over
/// `.env`. `.env` itself is not touched.
///
/// ```ignore
/// let provider = DevProvider::start(project, logs.join("provider.log"), &[])?;
/// // the service: Command::new(binary).envs(provider.env()) ...
/// let token = provider.token("editor")?;
/// ```
pub struct DevProvider {
    /// What it serves: the issuer of `.env` on another port.
    pub issuer: Issuer,
    pub process: Running,
    project: PathBuf,
}

impl DevProvider {
    /// The issuer of the project's `.env`, moved to a free loopback port.
    pub fn free_issuer(project: &Path) -> Result<Issuer, String> {
        let text = std::fs::read_to_string(project.join(ENV_FILE))
            .map_err(|e| format!("read {}: {e}", project.join(ENV_FILE).display()))?;
        let written = nestflux::project::env::parse(&text)
            .into_iter()
            .find(|a| a.key == "AUTH_ISSUER_URL")
            .map(|a| a.value)
            .ok_or("the project's .env sets no AUTH_ISSUER_URL")?;
        let written = Issuer::parse(&written).map_err(|e| e.message)?;
        let moved = format!("http://{}:{}{}", written.host, free_port(), written.path);
        Issuer::parse(&moved).map_err(|e| e.message)
    }

    /// Starts the provider of `project` on a free port, with `env` besides
    /// (`BIND_ADDR`, `PUBLIC_BASE_URL` of the service it serves).
    pub fn start(project: &Path, log: PathBuf, env: &[(&str, &str)]) -> Result<Self, String> {
        Self::start_at(project, &Self::free_issuer(project)?, log, env)
    }

    /// Starts the provider of `project` serving `issuer` (from
    /// [`DevProvider::free_issuer`]: two instances at one issuer have
    /// different keys), once its discovery document answers.
    pub fn start_at(
        project: &Path,
        issuer: &Issuer,
        log: PathBuf,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let mut all = vec![("AUTH_ISSUER_URL", issuer.url.as_str())];
        all.extend_from_slice(env);
        let process = start_provider(project, &issuer.url, log, &all)?;
        Ok(Self {
            issuer: issuer.clone(),
            process,
            project: project.to_owned(),
        })
    }

    /// What a service, `nestflux dev` or `nestflux dev token` needs in its
    /// environment to use this provider.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("AUTH_ISSUER_URL", self.issuer.url.clone())]
    }

    /// A fresh access token for `user` (a role, or its test user), from
    /// `nestflux dev token`.
    pub fn token(&self, user: &str) -> Result<String, String> {
        dev_token_with(
            &self.project,
            user,
            &[("AUTH_ISSUER_URL", self.issuer.url.as_str())],
        )
    }
}
