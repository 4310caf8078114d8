//! The build matrix's probe of `nestflux dev`: a generated service, built by
//! the matrix steps, run against the development provider and checked from
//! the outside. The provider and the service run on free loopback ports
//! (the provider's issuer is the one of `.env` on another port, given
//! through the environment, see [`DevProvider`]), so that two runs at once,
//! or a Keycloak of compose.yaml, never collide:
//!
//! - `/health/ready` answers 200; each role's token (`nestflux dev token`)
//!   gets `/api/me` with exactly that role; a viewer cannot create an item,
//!   an editor can; a token of another provider instance (other keys) is 401;
//! - with browser sessions, the whole sign-in over HTTP: login, the page
//!   that picks a user, callback, `/api/me` with the cookie, refreshes (each
//!   rotating the refresh token), logout with revocation and end-session,
//!   and a back-channel logout from the provider;
//! - `nestflux dev` itself: `cargo run` (nothing to build), the curl lines
//!   with working tokens, and SIGTERM stopping everything, no process left.
//!
//! One part uses `.env` exactly as written, fixed port included: the
//! README's "Get a token" commands (Keycloak, Authentik) read the issuer
//! from it, and must give a token the service accepts. It fails with a
//! message naming the port when something else listens there.
//!
//! It applies to the SQLite variants: a PostgreSQL variant's `.env` names
//! the database of compose.yaml, which this machine does not run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nestflux::answers::{Database, Feature};
use nestflux::dev::DevConfig;
use nestflux::dev::config::Issuer;
use nestflux::project::Project;
use nestflux::rbac::{Policy, RBAC_FILE};
use serde_json::{Value, json};

use crate::Variant;
use crate::dev_support::*;

/// Everything the probe runs, and where.
struct Setup<'a> {
    variant: &'a Variant,
    project: &'a Path,
    /// The provider as `.env` configures it.
    config: DevConfig,
    logs: PathBuf,
    service_port: u16,
    session: bool,
}

impl Setup<'_> {
    fn service(&self) -> String {
        format!("http://127.0.0.1:{}", self.service_port)
    }

    /// The environment of the provider and the service: the service on a
    /// free port (and so its public URL).
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("BIND_ADDR", format!("127.0.0.1:{}", self.service_port))];
        if self.session {
            env.push(("PUBLIC_BASE_URL", self.service()));
        }
        env
    }

    /// The development provider on a free port serving `issuer` (one from
    /// [`DevProvider::free_issuer`]).
    fn provider(&self, issuer: &Issuer, log: &str) -> Result<DevProvider, String> {
        let env = self.env();
        DevProvider::start_at(self.project, issuer, self.logs.join(log), &pairs(&env))
    }

    fn roles(&self) -> Vec<String> {
        self.config.users.iter().map(|u| u.role.clone()).collect()
    }
}

/// `(name, value)` pairs as `Command::envs` and the helpers take them.
fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

pub fn probe(variant: &Variant, project: &Path, target_dir: &Path) -> Result<(), String> {
    let opened = Project::open(project).map_err(|e| format!("{e:#}"))?;
    if opened.answers.database != Database::Sqlite {
        return Ok(());
    }
    let config = DevConfig::load(&opened).map_err(|e| format!("{e:#}"))?;
    let logs = project.with_file_name(format!("{}-dev-probe", variant.name));
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let setup = Setup {
        variant,
        project,
        config,
        logs,
        service_port: free_port(),
        session: opened.answers.features.contains(Feature::Session),
    };
    let binary = target_dir.join("debug").join(crate_name(project)?);

    // A token from another provider instance: same issuer, other keys.
    let issuer = DevProvider::free_issuer(project)?;
    let other_token = {
        let mut other = setup.provider(&issuer, "other-provider.log")?;
        let token = other.token("viewer")?;
        stopped_cleanly(&mut other.process)?;
        token
    };

    let mut provider = setup.provider(&issuer, "provider.log")?;
    let mut service = start_service(&setup, &binary, &provider.env(), "service.log")?;
    let checked = check_service(&setup, &provider, &other_token)
        .and_then(|()| {
            if setup.session {
                check_browser_sign_in(&setup, &provider)
            } else {
                Ok(())
            }
        })
        .map_err(|e| format!("{e}\n{}\n{}", provider.process.tail(), service.tail()));
    stopped_cleanly(&mut service)?;
    stopped_cleanly(&mut provider.process)?;
    checked?;
    check_env_as_written(&setup, &binary)?;
    check_nestflux_dev(&setup, target_dir, &binary)
}

/// The package name of the generated project: its binary's name.
fn crate_name(project: &Path) -> Result<String, String> {
    let manifest = std::fs::read_to_string(project.join("Cargo.toml"))
        .map_err(|e| format!("read Cargo.toml: {e}"))?;
    let manifest: toml::Table =
        toml::from_str(&manifest).map_err(|e| format!("Cargo.toml: {e}"))?;
    manifest
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "Cargo.toml has no package name".to_owned())
}

/// SIGTERM, then: a successful exit within 15 s.
fn stopped_cleanly(process: &mut Running) -> Result<(), String> {
    let status = process.terminate(Duration::from_secs(15))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} ended with {status} on SIGTERM\n{}",
            process.name,
            process.tail()
        ))
    }
}

/// The built service with the project's `.env` (read by the service from
/// its working directory) under `env`, on the probe's port, until
/// `/health/ready` is 200.
fn start_service(
    setup: &Setup<'_>,
    binary: &Path,
    env: &[(&'static str, String)],
    log: &str,
) -> Result<Running, String> {
    let mut command = Command::new(binary);
    command
        .current_dir(setup.project)
        .env_remove("DATABASE_URL");
    for var in PROVIDER_VARS {
        command.env_remove(var);
    }
    command
        .envs(setup.env())
        .envs(env.iter().cloned())
        // Every cookie request refreshes the session's token: the 5 minutes
        // of the provider's tokens are within an hour.
        .env("SESSION_REFRESH_BEFORE_SECONDS", "3600")
        .env("RATE_LIMIT_PER_SECOND", "1000")
        .env("RATE_LIMIT_BURST", "1000");
    let mut service = Running::start("service", command, setup.logs.join(log))?;
    let ready = format!("{}/health/ready", setup.service());
    let up = wait_for(Duration::from_secs(60), || {
        service.exited().is_none() && get(&ready, &[]).is_ok_and(|r| r.status == 200)
    });
    if !up {
        return Err(format!("{ready} did not answer 200\n{}", service.tail()));
    }
    Ok(service)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn check_service(
    setup: &Setup<'_>,
    provider: &DevProvider,
    other_token: &str,
) -> Result<(), String> {
    let service = setup.service();
    let me = format!("{service}/api/me");
    let policy_text = std::fs::read_to_string(setup.project.join(RBAC_FILE))
        .map_err(|e| format!("read {RBAC_FILE}: {e}"))?;
    let policy = Policy::parse(&policy_text).map_err(|e| e.render(&policy_text))?;
    let expected_permissions = policy.effective();
    for role in setup.roles() {
        let token = provider.token(&role)?;
        let reply = get(&me, &[("Authorization", &bearer(&token))])?.expect(200, &role)?;
        let body = reply.json();
        if body["roles"] != json!([role]) {
            return Err(format!("{role}'s /api/me: {body}"));
        }
        let permissions: Vec<&str> = body["permissions"]
            .as_array()
            .map(|p| p.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let expected: Vec<&str> = expected_permissions[&role]
            .iter()
            .map(String::as_str)
            .collect();
        if permissions != expected {
            return Err(format!(
                "{role}'s permissions: {permissions:?}, policy: {expected:?}"
            ));
        }
    }

    let items = format!("{service}/api/items");
    let item = json!({ "name": "made by the dev probe" });
    let viewer = provider.token("viewer")?;
    post_json(&items, &[("Authorization", &bearer(&viewer))], &item)?
        .expect(403, "a viewer's POST /api/items")?;
    let editor = provider.token("editor")?;
    post_json(&items, &[("Authorization", &bearer(&editor))], &item)?
        .expect(201, "an editor's POST /api/items")?;

    get(&me, &[("Authorization", &bearer(other_token))])?
        .expect(401, "a token of another provider instance")?;

    if !provider.process.output().contains("DEVELOPMENT ONLY") {
        return Err("the provider printed no development banner".to_owned());
    }
    Ok(())
}

/// `.env` as written, fixed port included: the provider serving its issuer,
/// the service reading it, and the README's "Get a token" commands (which
/// source `.env`) giving a token the service accepts. Only where the README
/// has such commands (Keycloak, Authentik); the rest of the probe covers
/// the others on free ports.
fn check_env_as_written(setup: &Setup<'_>, binary: &Path) -> Result<(), String> {
    let Some(script) = readme_token_snippet(setup.project)? else {
        return Ok(());
    };
    let issuer = &setup.config.issuer;
    if port_open(issuer.port) {
        return Err(format!(
            "port {} is in use, so the README's \"Get a token\" cannot be checked: it reads the issuer of .env as written ({}), which needs that port. Stop what listens there (a provider of compose.yaml, a `nestflux dev` of this project, another run of this probe) and run again",
            issuer.port, issuer.url
        ));
    }
    let env = setup.env();
    let mut provider = start_provider(
        setup.project,
        &issuer.url,
        setup.logs.join("provider-as-written.log"),
        &pairs(&env),
    )?;
    let mut service = start_service(setup, binary, &[], "service-as-written.log")?;
    let checked = readme_token_is_accepted(setup, &script)
        .map_err(|e| format!("{e}\n{}\n{}", provider.tail(), service.tail()));
    stopped_cleanly(&mut service)?;
    stopped_cleanly(&mut provider)?;
    checked
}

/// Runs the README's "Get a token" `script` in the project and calls
/// `/api/me` with the token: test-editor's.
fn readme_token_is_accepted(setup: &Setup<'_>, script: &str) -> Result<(), String> {
    let mut command = Command::new("bash");
    command.arg("-c").arg(script).current_dir(setup.project);
    for var in PROVIDER_VARS {
        command.env_remove(var);
    }
    let output = command.output().map_err(|e| format!("run bash: {e}"))?;
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || token.split('.').count() != 3 {
        return Err(format!(
            "README.md's \"Get a token\" gave no token ({}):\n{script}\n{}{}",
            output.status,
            token,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let body = get(
        &format!("{}/api/me", setup.service()),
        &[("Authorization", &bearer(&token))],
    )?
    .expect(200, "the README's token")?
    .json();
    if body["roles"] != json!(["editor"]) {
        return Err(format!("the README's token (test-editor): {body}"));
    }
    Ok(())
}

/// The README's "Get a token" commands, up to the token: the line that
/// calls the service is left out (it names 127.0.0.1:8080; the probe's
/// service runs elsewhere), and the token is printed instead.
fn readme_token_snippet(project: &Path) -> Result<Option<String>, String> {
    let readme = std::fs::read_to_string(project.join("README.md"))
        .map_err(|e| format!("read README.md: {e}"))?;
    let Some(section) = readme.split("#### Get a token\n").nth(1) else {
        return Ok(None);
    };
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .ok_or("README.md's \"Get a token\" has no sh block")?;
    let mut lines: Vec<&str> = block
        .lines()
        .filter(|line| !line.starts_with("curl -H \"Authorization: Bearer $TOKEN\""))
        .collect();
    if lines.len() == block.lines().count() {
        return Err(format!(
            "README.md's \"Get a token\" does not call the service:\n{block}"
        ));
    }
    lines.push("printf '%s' \"$TOKEN\"");
    Ok(Some(format!("set -euo pipefail\n{}\n", lines.join("\n"))))
}

/// `/auth/login` → the provider's page → pick `user` → the callback: the
/// service's cookies.
fn sign_in(setup: &Setup<'_>, provider: &DevProvider, user: &str) -> Result<Jar, String> {
    let origin = &provider.issuer.origin;
    let service = setup.service();
    let mut jar = Jar::default();
    let login = get(&format!("{service}/auth/login"), &[])?.expect(303, "/auth/login")?;
    jar.take(&login);
    let authorize = login
        .location
        .clone()
        .ok_or("/auth/login has no Location")?;
    if !authorize.starts_with(origin.as_str()) {
        return Err(format!("/auth/login sent the browser to {authorize}"));
    }
    let page = get(&authorize, &[])?.expect(200, "the provider's sign-in page")?;
    let ticket = form_value(&page.body, "ticket").ok_or("no ticket on the sign-in page")?;
    let action = form_action(&page.body).ok_or("no form on the sign-in page")?;
    let picked = post_form(
        &format!("{origin}{action}"),
        &[],
        &[("ticket", &ticket), ("user", user)],
    )?
    .expect(303, "picking a user")?;
    let callback = picked.location.ok_or("no redirect after picking a user")?;
    if !callback.starts_with(&format!("{service}/auth/callback?")) {
        return Err(format!("the provider sent the browser to {callback}"));
    }
    let done = get(&callback, &[("Cookie", &jar.header())])?.expect(303, "/auth/callback")?;
    jar.take(&done);
    Ok(jar)
}

fn cookie_me(setup: &Setup<'_>, jar: &Jar) -> Result<Reply, String> {
    get(
        &format!("{}/api/me", setup.service()),
        &[("Cookie", &jar.header())],
    )
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

fn check_browser_sign_in(setup: &Setup<'_>, provider: &DevProvider) -> Result<(), String> {
    let origin = &provider.issuer.origin;
    let service = setup.service();
    let jar = sign_in(setup, provider, "test-editor")?;
    let me = cookie_me(setup, &jar)?
        .expect(200, "/api/me with the session cookie")?
        .json();
    if me["roles"] != json!(["editor"]) {
        return Err(format!("/api/me with the cookie: {me}"));
    }
    // Each request refreshes (SESSION_REFRESH_BEFORE_SECONDS): the provider
    // rotates the refresh token each time, and would end the session on a
    // reused one.
    let refreshed = count(&provider.process.output(), "refresh token rotated");
    for _ in 0..2 {
        cookie_me(setup, &jar)?.expect(200, "/api/me after a refresh")?;
    }
    let now_refreshed = count(&provider.process.output(), "refresh token rotated");
    if now_refreshed < refreshed + 2 {
        return Err(format!(
            "the session refreshed {} times for 2 requests",
            now_refreshed - refreshed
        ));
    }

    let csrf = ["csrf", "__Host-csrf"]
        .iter()
        .find_map(|name| jar.get(name))
        .ok_or("no CSRF cookie after the sign-in")?
        .to_owned();
    let logout = post_json(
        &format!("{service}/auth/logout"),
        &[
            ("Cookie", &jar.header()),
            ("X-CSRF-Token", &csrf),
            ("Origin", &service),
        ],
        &json!({}),
    )?
    .expect(200, "/auth/logout")?;
    let end_session = logout.json()["end_session_url"]
        .as_str()
        .ok_or("/auth/logout gave no end_session_url")?
        .to_owned();
    if !provider.process.output().contains("its session ended") {
        return Err("logging out did not revoke the refresh token at the provider".to_owned());
    }
    get(&end_session, &[])?.expect(302, "the provider's end-session")?;
    cookie_me(setup, &jar)?.expect(401, "/api/me with the cookie after logout")?;

    // The provider ends a session itself: the service hears of it.
    let jar = sign_in(setup, provider, "test-admin")?;
    cookie_me(setup, &jar)?.expect(200, "/api/me after a second sign-in")?;
    let home = get(&format!("{origin}/"), &[])?.expect(200, "the provider's home")?;
    let sid = form_value(&home.body, "sid").ok_or("the provider's home lists no session")?;
    post_form(
        &format!("{origin}/nestflux-dev/sign-out"),
        &[],
        &[("sid", &sid)],
    )?
    .expect(303, "signing out at the provider")?;
    cookie_me(setup, &jar)?.expect(401, "/api/me after a back-channel logout")?;
    Ok(())
}

/// Processes running `binary`.
fn processes_running(binary: &Path) -> Vec<u32> {
    let Ok(binary) = binary.canonicalize() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
            (exe == binary).then_some(pid)
        })
        .collect()
}

/// `nestflux dev` as a person runs it: the curl lines, their tokens working,
/// and SIGTERM leaving nothing behind.
fn check_nestflux_dev(setup: &Setup<'_>, target_dir: &Path, binary: &Path) -> Result<(), String> {
    // Its provider on a free port too: `nestflux dev` passes the variable on
    // to `cargo run`, so the service reads the same issuer.
    let issuer = DevProvider::free_issuer(setup.project)?;
    let mut command = nestflux(setup.project);
    command
        .arg("dev")
        .envs(setup.env())
        .env("AUTH_ISSUER_URL", &issuer.url)
        // `cargo run` finds the matrix build fresh, as it built it.
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTFLAGS")
        .env_remove("DATABASE_URL");
    let started = Instant::now();
    let mut dev = Running::start("nestflux dev", command, setup.logs.join("nestflux-dev.log"))?;
    let users = setup.config.users.len();
    let printed = wait_for(Duration::from_secs(180), || {
        dev.exited().is_none()
            && count(&dev.output(), "curl -s -H 'Authorization: Bearer ") >= users
    });
    let elapsed = started.elapsed();
    if !printed {
        return Err(format!(
            "nestflux dev printed no curl lines\n{}",
            dev.tail()
        ));
    }
    eprintln!(
        "[{}] nestflux dev: tokens printed {:.2}s after start (service already built)",
        setup.variant.name,
        elapsed.as_secs_f64()
    );
    let output = dev.output();
    let line = output
        .lines()
        .find(|line| line.contains("curl -s -H 'Authorization: Bearer "))
        .unwrap_or_default();
    let token = line
        .split("Bearer ")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_default();
    get(
        &format!("{}/api/me", setup.service()),
        &[("Authorization", &bearer(token))],
    )?
    .expect(200, "the token of nestflux dev's first curl line")?;
    stopped_cleanly(&mut dev)?;
    let gone = wait_for(Duration::from_secs(5), || {
        !port_open(setup.service_port)
            && !port_open(issuer.port)
            && processes_running(binary).is_empty()
    });
    if !gone {
        return Err(format!(
            "after nestflux dev stopped, still running: service port open {}, provider port open {}, service processes {:?}",
            port_open(setup.service_port),
            port_open(issuer.port),
            processes_running(binary)
        ));
    }
    Ok(())
}
