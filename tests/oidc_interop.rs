//! Interoperability with a real OpenID Connect provider: panva's
//! `oidc-provider` from npm (pinned in `tests/oidc-provider/package.json`)
//! issues real JWT access tokens by client credentials; a service generated
//! with `--idp oidc` must accept them, and reject tokens from another
//! provider instance and tampered tokens.
//!
//! Needs Node.js 20+ and npm; the provider's packages are installed with
//! `npm ci` on first use. Nothing is skipped: without Node the test fails
//! saying what to install.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const AUDIENCE: &str = "urn:nestflux:interop";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One provider instance with its own signing keys.
struct Provider {
    issuer: String,
    _process: Running,
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

fn start_provider(roles: &str) -> Provider {
    let mut child = Command::new("node")
        .arg(root().join("tests/oidc-provider/provider.mjs"))
        .args(["--audience", AUDIENCE, "--roles", roles])
        .stdin(Stdio::piped()) // the provider exits when this closes
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the OpenID provider");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the provider's address");
    let ready: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the provider did not start ({e}): {line:?}"));
    Provider {
        issuer: ready["issuer"].as_str().unwrap().to_owned(),
        _process: Running(child),
    }
}

impl Provider {
    /// A real access token, fetched over HTTP with client credentials.
    fn token(&self) -> String {
        let response: serde_json::Value = ureq::post(format!("{}/token", self.issuer))
            .header("authorization", "Basic c2VydmljZTpzZXJ2aWNlLXNlY3JldA==") // service:service-secret
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
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Generates and builds a `--idp oidc` project (sharing the build matrix's
/// target dir) and returns its binary.
fn build_service() -> PathBuf {
    let work = root().join("target/generated-projects");
    let dir = work.join("oidc-interop");
    let target = std::env::var_os("NESTFLUX_MATRIX_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.join("target"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let status = Command::new(env!("CARGO_BIN_EXE_nestflux"))
        .arg("new")
        .arg(&dir)
        .args(["--idp", "oidc", "--yes", "--quiet"])
        .status()
        .unwrap();
    assert!(status.success(), "nestflux new failed");
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
    target.join("debug/oidc-interop")
}

struct Service {
    base: String,
    _process: Running,
    _data: tempfile::TempDir,
}

fn start_service(binary: &Path, issuer: &str) -> Service {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(binary)
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
        .stdout(Stdio::null())
        .spawn()
        .expect("start the generated service");
    let service = Service {
        base: format!("http://127.0.0.1:{port}"),
        _process: Running(child),
        _data: data,
    };
    // Ready means the provider's keys are loaded.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = ureq::get(format!("{}/health/ready", service.base)).call()
            && r.status() == 200
        {
            return service;
        }
        assert!(Instant::now() < deadline, "the service never became ready");
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Service {
    /// Status and JSON body of an authenticated GET.
    fn get(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        let mut response = ureq::get(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {token}"))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .expect("request");
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_json()
            .unwrap_or(serde_json::Value::Null);
        (status, body)
    }
}

#[test]
fn a_generated_oidc_service_accepts_real_tokens_and_rejects_foreign_and_tampered_ones() {
    ensure_node_packages();
    let provider = start_provider("admin,editor");
    let other = start_provider("admin");
    let binary = build_service();
    let service = start_service(&binary, &provider.issuer);

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
