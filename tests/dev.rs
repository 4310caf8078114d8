//! `nestflux dev` without a service build: its refusals (outside a project,
//! a non-loopback bind or issuer, a port in use: each with a clear message
//! and nothing written), and the development provider's protocol against its
//! own endpoints (discovery, keys, grants, PKCE, rotation, revocation,
//! logout). The build matrix's probe runs it with real generated services.
#![cfg(unix)]

mod common;
mod dev_support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::assert::OutputAssertExt as _;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::Sandbox;
use dev_support::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::{Value, json};

/// A generated project in the sandbox whose issuer is moved to a free port
/// (the tests run in parallel), with `args` for `nestflux new`.
struct Project {
    sandbox: Sandbox,
    dir: PathBuf,
    issuer: String,
}

impl Project {
    fn new(idp: &str, features: &str) -> Self {
        let sandbox = Sandbox::new();
        sandbox
            .nestflux()
            .args([
                "new",
                "shop",
                "--idp",
                idp,
                "--features",
                features,
                "--yes",
                "--quiet",
            ])
            .assert()
            .success();
        let dir = sandbox.join("shop");
        let port = free_port();
        let issuer = match idp {
            "keycloak" => format!("http://localhost:{port}/realms/shop"),
            "authentik" => format!("http://localhost:{port}/application/o/shop/"),
            _ => format!("http://127.0.0.1:{port}"),
        };
        set_env(&dir, "AUTH_ISSUER_URL", &issuer);
        Self {
            sandbox,
            dir,
            issuer,
        }
    }

    fn port(&self) -> u16 {
        self.issuer
            .split(':')
            .nth(2)
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .expect("a port in the issuer")
    }

    fn origin(&self) -> String {
        format!("http://localhost:{}", self.port())
    }

    fn provider(&self) -> Running {
        self.provider_with(&[])
    }

    fn provider_with(&self, env: &[(&str, &str)]) -> Running {
        start_provider(
            &self.dir,
            &self.issuer,
            self.sandbox.join("provider.log"),
            env,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn discovery(&self) -> Value {
        get(
            &format!(
                "{}/.well-known/openid-configuration",
                self.issuer.trim_end_matches('/')
            ),
            &[],
        )
        .unwrap()
        .expect(200, "discovery")
        .unwrap()
        .json()
    }

    fn env(&self, key: &str) -> String {
        env_value(&self.dir, key)
    }

    /// A token response from the token endpoint for `form`, with the dev
    /// client's credentials in the body.
    fn token(&self, form: &[(&str, &str)]) -> Reply {
        let (id, secret) = (self.env("DEV_CLIENT_ID"), self.env("DEV_CLIENT_SECRET"));
        let mut all = vec![
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        all.extend_from_slice(form);
        let endpoint = self.discovery()["token_endpoint"]
            .as_str()
            .unwrap()
            .to_owned();
        post_form(&endpoint, &[], &all).unwrap()
    }

    fn password_grant(&self, role: &str) -> Reply {
        let password = self.env(&format!("DEV_PASSWORD_{}", role.to_uppercase()));
        self.token(&[
            ("grant_type", "password"),
            ("username", &format!("test-{role}")),
            ("password", &password),
            ("scope", "openid"),
        ])
    }

    /// `token` verified with the provider's published keys.
    fn verify(&self, token: &str) -> Value {
        let jwks: JwkSet = serde_json::from_value(
            get(self.discovery()["jwks_uri"].as_str().unwrap(), &[])
                .unwrap()
                .json(),
        )
        .expect("a JWK set");
        let kid = jwt_header(token)["kid"].as_str().unwrap().to_owned();
        let jwk = jwks.find(&kid).expect("the token's key is published");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .expect("a valid signature")
            .claims
    }
}

/// Runs `nestflux` with `args` in `dir` and checks exit `code` and that
/// stderr names `expected`; the sandbox is left exactly as it was.
fn refused(sandbox: &Sandbox, dir: &Path, args: &[&str], code: i32, expected: &[&str]) {
    let before = sandbox.snapshot();
    let output = nestflux(dir).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    for text in expected {
        assert!(
            stderr.contains(text),
            "{args:?}: `{text}` not in:\n{stderr}"
        );
    }
    assert_eq!(sandbox.snapshot(), before, "{args:?} changed files");
}

#[test]
fn outside_a_project_every_dev_command_says_how_to_point_at_one() {
    let sandbox = Sandbox::new();
    for args in [&["dev"][..], &["dev", "idp"], &["dev", "token", "editor"]] {
        refused(
            &sandbox,
            sandbox.path(),
            args,
            2,
            &["is not inside a nestflux project", "--project DIR"],
        );
    }
    refused(
        &sandbox,
        sandbox.path(),
        &["dev", "idp", "--project", "."],
        2,
        &["is not a nestflux project"],
    );
}

#[test]
fn a_bind_address_that_is_not_loopback_is_refused() {
    let project = Project::new("keycloak", "headers");
    for bind in ["0.0.0.0", "192.0.2.10", "::"] {
        refused(
            &project.sandbox,
            &project.dir,
            &["dev", "idp", "--bind", bind],
            2,
            &["is not a loopback address", "nothing was started"],
        );
    }
    refused(
        &project.sandbox,
        &project.dir,
        &["dev", "--bind", "0.0.0.0"],
        2,
        &["is not a loopback address"],
    );
    assert!(!port_open(project.port()));
}

#[test]
fn an_issuer_that_is_not_this_machine_or_not_plain_http_is_refused() {
    let project = Project::new("keycloak", "headers");
    for (issuer, expected) in [
        (
            "https://sso.example.com/realms/shop",
            "is not a plain http:// URL",
        ),
        (
            "http://sso.example.com:8180/realms/shop",
            "which is not this machine",
        ),
        (
            "http://0.0.0.0:8180/realms/shop",
            "which is not this machine",
        ),
    ] {
        set_env(&project.dir, "AUTH_ISSUER_URL", issuer);
        for args in [&["dev", "idp"][..], &["dev"], &["dev", "token", "editor"]] {
            refused(
                &project.sandbox,
                &project.dir,
                args,
                1,
                &[expected, "nothing was started"],
            );
        }
    }
    // Set in the environment it wins over .env, as it does for the service.
    set_env(&project.dir, "AUTH_ISSUER_URL", &project.issuer);
    let before = project.sandbox.snapshot();
    nestflux(&project.dir)
        .args(["dev", "idp"])
        .env("AUTH_ISSUER_URL", "http://sso.example.com/realms/shop")
        .assert()
        .code(1)
        .stderr(contains("which is not this machine"));
    assert_eq!(project.sandbox.snapshot(), before);
}

#[test]
fn a_port_in_use_is_named_and_nestflux_dev_then_runs_only_the_service() {
    let project = Project::new("authentik", "headers");
    let _taken = TcpListener::bind(("127.0.0.1", project.port())).unwrap();
    refused(
        &project.sandbox,
        &project.dir,
        &["dev", "idp"],
        1,
        &[
            &format!("port {} is in use", project.port()),
            "the Authentik of compose.yaml",
        ],
    );
    // `nestflux dev` goes on with the service only: here a stand-in for
    // cargo that fails at once, so no service is built.
    let fake = project
        .sandbox
        .write("fake-cargo", "#!/bin/sh\necho \"fake cargo $*\"\nexit 3\n");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let output = nestflux(&project.dir)
        .arg("dev")
        .env("CARGO", &fake)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("running only the service"), "{stderr}");
    assert!(stdout.contains("fake cargo run"), "{stdout}");
    assert!(
        stderr.contains("`cargo run` ended (exit status: 3) before the service was ready"),
        "{stderr}"
    );
}

/// Whether the process `pid` still exists.
fn alive(pid: &str) -> bool {
    Path::new("/proc").join(pid.trim()).exists()
}

#[test]
fn ctrl_c_stops_nestflux_dev_with_everything_cargo_started() {
    let project = Project::new("keycloak", "headers");
    // A stand-in for `cargo run` that starts a process of its own and never
    // gets ready, as cargo compiling a crate does.
    let pids = project.sandbox.join("pids");
    let fake = project.sandbox.write(
        "fake-cargo",
        &format!(
            "#!/bin/sh\necho $$ > {pids}\nsleep 300 &\necho $! >> {pids}\nwait\n",
            pids = pids.display()
        ),
    );
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut command = nestflux(&project.dir);
    command
        .arg("dev")
        .env("CARGO", &fake)
        .env("BIND_ADDR", format!("127.0.0.1:{}", free_port()));
    let mut dev = Running::start("nestflux dev", command, project.sandbox.join("dev.log")).unwrap();
    let started = wait_for(Duration::from_secs(20), || {
        port_open(project.port())
            && std::fs::read_to_string(&pids).is_ok_and(|text| text.lines().count() == 2)
    });
    assert!(started, "{}", dev.tail());
    let status = dev
        .stop_with(nix::sys::signal::Signal::SIGINT, Duration::from_secs(15))
        .unwrap();
    assert!(status.success(), "{status}\n{}", dev.tail());
    let pids = std::fs::read_to_string(&pids).unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || pids
            .lines()
            .all(|pid| !alive(pid))),
        "still running: {pids}"
    );
    assert!(!port_open(project.port()));
    assert!(
        dev.output().contains("Stopping `cargo run` (ctrl-c)"),
        "{}",
        dev.output()
    );
}

#[test]
fn keycloak_shaped_tokens_verify_with_the_published_key_for_every_role() {
    let project = Project::new("keycloak", "headers");
    let mut provider = project.provider();
    let discovery = project.discovery();
    assert_eq!(discovery["issuer"], project.issuer.as_str());
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/protocol/openid-connect/token", project.issuer)
    );
    // No browser sessions in this project: no login endpoints.
    assert!(discovery.get("authorization_endpoint").is_none());
    let jwks = get(discovery["jwks_uri"].as_str().unwrap(), &[])
        .unwrap()
        .json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kty"], "RSA");

    for role in ["admin", "editor", "viewer"] {
        let reply = project.password_grant(role).expect(200, role).unwrap();
        assert_eq!(reply.headers["cache-control"], "no-store");
        let body = reply.json();
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(jwt_header(token)["typ"], "JWT");
        let claims = project.verify(token);
        assert_eq!(claims["realm_access"]["roles"], json!([role]));
        assert_eq!(claims["aud"], json!(["shop", "account"]));
        assert_eq!(claims["typ"], "Bearer");
        assert_eq!(claims["preferred_username"], format!("test-{role}"));
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            300
        );
        assert_eq!(body["expires_in"], 300);
        // `openid` asked for an ID token too, for the client.
        let id = project.verify(body["id_token"].as_str().unwrap());
        assert_eq!(id["aud"], "shop");
        // Without sessions no refresh token is issued.
        assert!(body.get("refresh_token").is_none());
    }
    // `nestflux dev token` gets the same kind of token, by role or user name.
    for name in ["editor", "test-editor"] {
        let token = dev_token(&project.dir, name).unwrap();
        assert_eq!(
            project.verify(&token)["realm_access"]["roles"],
            json!(["editor"])
        );
    }
    let status = provider.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
    assert!(wait_for(Duration::from_secs(5), || !port_open(
        project.port()
    )));
    assert!(
        provider.output().contains("DEVELOPMENT ONLY"),
        "{}",
        provider.output()
    );
}

#[test]
fn the_token_endpoint_refuses_bad_credentials_grants_and_hosts() {
    let project = Project::new("keycloak", "headers");
    let _provider = project.provider();
    let password = project.env("DEV_PASSWORD_EDITOR");
    let wrong = project.token(&[
        ("grant_type", "password"),
        ("username", "test-editor"),
        ("password", "not-the-password"),
    ]);
    assert_eq!(
        (wrong.status, wrong.json()["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let unknown = project.token(&[
        ("grant_type", "password"),
        ("username", "test-nobody"),
        ("password", &password),
    ]);
    assert_eq!(unknown.json()["error"], "invalid_grant");
    let code = project.token(&[("grant_type", "authorization_code"), ("code", "x")]);
    assert_eq!(code.json()["error"], "unsupported_grant_type");

    // A wrong client secret, with either authentication method: 401.
    let endpoint = project.discovery()["token_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let form = [
        ("grant_type", "password"),
        ("username", "test-editor"),
        ("password", password.as_str()),
    ];
    let basic = format!("Basic {}", STANDARD.encode("shop:wrong"));
    let reply = post_form(&endpoint, &[("Authorization", &basic)], &form).unwrap();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "invalid_client");
    assert!(reply.headers["www-authenticate"].starts_with("Basic"));
    let reply = post_form(
        &endpoint,
        &[],
        &[
            &form[..],
            &[("client_id", "shop"), ("client_secret", "wrong")],
        ]
        .concat(),
    )
    .unwrap();
    assert_eq!(reply.status, 401);
    // The right secret with client_secret_basic works.
    let secret = project.env("DEV_CLIENT_SECRET");
    let basic = format!("Basic {}", STANDARD.encode(format!("shop:{secret}")));
    post_form(&endpoint, &[("Authorization", &basic)], &form)
        .unwrap()
        .expect(200, "client_secret_basic")
        .unwrap();
    // client_credentials: the client itself, without roles.
    let reply = project
        .token(&[("grant_type", "client_credentials")])
        .expect(200, "client_credentials")
        .unwrap();
    let claims = project.verify(reply.json()["access_token"].as_str().unwrap());
    assert_eq!(claims["realm_access"]["roles"], json!([]));
    assert_eq!(claims["preferred_username"], "service-account-shop");

    // Another host name pointed at 127.0.0.1 gets nothing (DNS rebinding).
    let reply = get(
        &format!("{}/", project.origin()),
        &[("Host", "evil.example")],
    )
    .unwrap();
    assert_eq!(reply.status, 421);
    // The home page lists the test users, and says what it is.
    let home = get(&format!("{}/", project.origin()), &[])
        .unwrap()
        .expect(200, "home")
        .unwrap();
    assert!(home.body.contains("test-viewer") && home.body.contains("Development only"));
    assert!(home.headers["content-security-policy"].contains("frame-ancestors 'none'"));
}

#[test]
fn authentik_and_generic_tokens_carry_roles_where_those_services_read_them() {
    let authentik = Project::new("authentik", "headers");
    let _a = authentik.provider();
    let password = authentik.env("DEV_PASSWORD_VIEWER");
    // Authentik's way: client_credentials with a user name and app password.
    let reply = authentik
        .token(&[
            ("grant_type", "client_credentials"),
            ("username", "test-viewer"),
            ("password", &password),
            ("scope", "openid profile groups"),
        ])
        .expect(200, "authentik")
        .unwrap();
    let claims = authentik.verify(reply.json()["access_token"].as_str().unwrap());
    assert_eq!(claims["groups"], json!(["viewer"]));
    assert_eq!(claims["aud"], "shop");
    let token = dev_token(&authentik.dir, "viewer").unwrap();
    assert_eq!(authentik.verify(&token)["groups"], json!(["viewer"]));

    let generic = Project::new("oidc", "headers");
    set_env(&generic.dir, "AUTH_ROLES_CLAIM", "app.access.roles");
    let _g = generic.provider();
    let token = dev_token(&generic.dir, "admin").unwrap();
    assert_eq!(jwt_header(&token)["typ"], "at+jwt");
    let claims = generic.verify(&token);
    assert_eq!(claims["app"]["access"]["roles"], json!(["admin"]));
    assert_eq!(claims["sub"], "test-admin");
}

#[test]
fn a_role_added_with_add_role_has_a_test_user_at_once() {
    for idp in ["oidc", "keycloak"] {
        let project = Project::new(idp, "headers");
        project
            .sandbox
            .nestflux()
            .current_dir(&project.dir)
            .args(["add", "role", "auditor", "--permissions", "items:read"])
            .assert()
            .success();
        let password = project.env("DEV_PASSWORD_AUDITOR");
        assert_eq!(password.len(), 32);
        if idp == "keycloak" {
            // The same password as the realm's new test user.
            let realm = project.sandbox.read("shop/deploy/keycloak/realm.json");
            assert!(realm.contains(&password), "{idp}");
        }
        let _provider = project.provider();
        let token = dev_token(&project.dir, "auditor").unwrap();
        let claims = project.verify(&token);
        let roles = if idp == "oidc" {
            &claims["roles"]
        } else {
            &claims["realm_access"]["roles"]
        };
        assert_eq!(roles, &json!(["auditor"]), "{idp}");
    }
}

#[test]
fn dev_token_names_what_is_missing() {
    let project = Project::new("keycloak", "headers");
    // No provider runs.
    nestflux(&project.dir)
        .args(["dev", "token", "editor"])
        .assert()
        .code(1)
        .stderr(contains("no identity provider answers at").and(contains("nestflux dev idp")));
    nestflux(&project.dir)
        .args(["dev", "token", "nobody"])
        .assert()
        .code(2)
        .stderr(contains("neither a role").and(contains("viewer, editor, admin")));
}

#[test]
fn the_help_teaches_the_dev_commands() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["dev", "--help"])
        .assert()
        .success()
        .stdout(
            contains("nestflux dev idp")
                .and(contains("nestflux dev token editor"))
                .and(contains("http://localhost:8190"))
                .and(contains("refuses any other")),
        );
    sandbox
        .nestflux()
        .args(["dev", "token", "--help"])
        .assert()
        .success()
        .stdout(contains("ROLE|USER"));
}

// ---- Browser sessions ------------------------------------------------------

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// A project with browser sessions whose "service" is at `callback_port`.
fn session_project(callback_port: u16) -> Project {
    let project = Project::new("keycloak", "encryption,session");
    set_env(
        &project.dir,
        "PUBLIC_BASE_URL",
        &format!("http://127.0.0.1:{callback_port}"),
    );
    project
}

/// Runs the sign-in page to its end for `user`: the authorization
/// request, the page, the pick. Returns the callback URL.
fn sign_in(project: &Project, redirect_uri: &str, user: &str, verifier: &str) -> String {
    let discovery = project.discovery();
    let authorize = discovery["authorization_endpoint"].as_str().unwrap();
    let url = format!(
        "{authorize}?response_type=code&client_id=shop&redirect_uri={}&scope=openid&state=st-1&nonce=n-1&code_challenge={}&code_challenge_method=S256",
        form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>(),
        challenge(verifier)
    );
    let page = get(&url, &[]).unwrap().expect(200, "sign-in page").unwrap();
    assert!(page.body.contains("Development only"), "{}", page.body);
    for role in ["admin", "editor", "viewer"] {
        assert!(
            page.body.contains(&format!("value=\"test-{role}\"")),
            "{}",
            page.body
        );
    }
    let ticket = form_value(&page.body, "ticket").expect("a ticket in the page");
    // The form posts back to the authorization endpoint.
    let action = form_action(&page.body).expect("a form in the page");
    assert_eq!(format!("{}{action}", project.origin()), authorize);
    let chosen = post_form(authorize, &[], &[("ticket", &ticket), ("user", user)])
        .unwrap()
        .expect(303, "pick a user")
        .unwrap();
    chosen.location.expect("a redirect back")
}

fn redeem(project: &Project, code: &str, redirect_uri: &str, verifier: &str) -> Reply {
    project.token(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ])
}

#[test]
fn the_sign_in_page_needs_pkce_s256_and_a_code_works_once() {
    let project = session_project(free_port());
    let _provider = project.provider();
    let discovery = project.discovery();
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    let authorize = discovery["authorization_endpoint"].as_str().unwrap();
    let redirect = "http://localhost:8080/auth/callback";
    let base = format!(
        "{authorize}?response_type=code&client_id=shop&redirect_uri={}&state=s",
        form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    // Without PKCE, or with `plain`: back to the client with an error.
    for extra in ["", "&code_challenge=abc&code_challenge_method=plain"] {
        let reply = get(&format!("{base}{extra}"), &[])
            .unwrap()
            .expect(302, extra)
            .unwrap();
        let location = reply.location.unwrap();
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("invalid_request")
        );
        assert!(
            query_param(&location, "error_description")
                .unwrap()
                .contains("S256")
        );
        assert_eq!(query_param(&location, "state").as_deref(), Some("s"));
    }
    // An unknown client or a redirect elsewhere: a page, never a redirect.
    let elsewhere = base.replace("localhost%3A8080", "evil.example");
    for url in [base.replace("client_id=shop", "client_id=other"), elsewhere] {
        let reply = get(&url, &[]).unwrap();
        assert_eq!((reply.status, reply.location), (400, None), "{url}");
    }

    let callback = sign_in(&project, redirect, "test-editor", VERIFIER);
    assert!(callback.starts_with(redirect), "{callback}");
    assert_eq!(query_param(&callback, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(project.issuer.as_str())
    );
    let code = query_param(&callback, "code").unwrap();
    // A wrong verifier spends the code.
    let wrong = redeem(&project, &code, redirect, &"x".repeat(43));
    assert_eq!(wrong.json()["error"], "invalid_grant");
    let again = redeem(&project, &code, redirect, VERIFIER);
    assert_eq!(again.json()["error"], "invalid_grant");

    let callback = sign_in(&project, redirect, "test-editor", VERIFIER);
    let code = query_param(&callback, "code").unwrap();
    let tokens = redeem(&project, &code, redirect, VERIFIER)
        .expect(200, "code")
        .unwrap()
        .json();
    let id = project.verify(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (id["nonce"].as_str(), id["aud"].as_str()),
        (Some("n-1"), Some("shop"))
    );
    assert!(id["sid"].as_str().is_some_and(|sid| !sid.is_empty()));
    let access = project.verify(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["realm_access"]["roles"], json!(["editor"]));
    assert_eq!(access["sid"], id["sid"]);
    assert!(tokens["refresh_token"].as_str().is_some());
    let reuse = redeem(&project, &code, redirect, VERIFIER);
    assert_eq!(reuse.json()["error"], "invalid_grant");
}

fn refresh(project: &Project, token: &str) -> Reply {
    project.token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
}

/// A signed-in session's tokens.
fn signed_in(project: &Project) -> Value {
    let redirect = "http://localhost:8080/auth/callback";
    let callback = sign_in(project, redirect, "test-viewer", VERIFIER);
    let code = query_param(&callback, "code").unwrap();
    redeem(project, &code, redirect, VERIFIER)
        .expect(200, "code")
        .unwrap()
        .json()
}

#[test]
fn refresh_tokens_rotate_and_revocation_and_logout_end_the_session() {
    let project = session_project(free_port());
    let _provider = project.provider();

    // Rotation: each refresh token once; a reused one ends the session.
    let first = signed_in(&project)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = refresh(&project, &first)
        .expect(200, "refresh")
        .unwrap()
        .json();
    let second = next["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(
        project.verify(next["access_token"].as_str().unwrap())["realm_access"]["roles"],
        json!(["viewer"])
    );
    let reused = refresh(&project, &first);
    assert!(
        reused.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("reuse")
    );
    assert_eq!(refresh(&project, &second).json()["error"], "invalid_grant");

    // Revocation (RFC 7009) ends the session.
    let tokens = signed_in(&project);
    let token = tokens["refresh_token"].as_str().unwrap();
    let revocation = project.discovery()["revocation_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = project.env("DEV_CLIENT_SECRET");
    let basic = format!("Basic {}", STANDARD.encode(format!("shop:{secret}")));
    post_form(
        &revocation,
        &[("Authorization", &basic)],
        &[("token", token), ("token_type_hint", "refresh_token")],
    )
    .unwrap()
    .expect(200, "revoke")
    .unwrap();
    assert_eq!(refresh(&project, token).json()["error"], "invalid_grant");

    // RP-initiated logout: back to the application, the session ended.
    let tokens = signed_in(&project);
    let end = project.discovery()["end_session_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!(
        "{end}?client_id=shop&id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        tokens["id_token"].as_str().unwrap(),
        form_urlencoded::byte_serialize(b"http://localhost:8080/").collect::<String>()
    );
    let reply = get(&url, &[]).unwrap().expect(302, "end session").unwrap();
    assert_eq!(
        reply.location.as_deref(),
        Some("http://localhost:8080/?state=bye")
    );
    assert_eq!(
        refresh(&project, tokens["refresh_token"].as_str().unwrap()).json()["error"],
        "invalid_grant"
    );
    // A hint this provider did not sign is refused.
    let forged = format!("{end}?id_token_hint=a.b.c");
    assert_eq!(get(&forged, &[]).unwrap().status, 400);
}

/// Accepts one HTTP request on `listener` and answers 200: the service's
/// back-channel logout endpoint, as far as the provider can tell.
fn receive_one(listener: TcpListener) -> std::thread::JoinHandle<(String, String)> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = reader.into_inner();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        (request_line, String::from_utf8(body).unwrap())
    })
}

#[test]
fn signing_out_at_the_provider_sends_a_back_channel_logout_token_to_the_service() {
    let service = TcpListener::bind("127.0.0.1:0").unwrap();
    let project = session_project(service.local_addr().unwrap().port());
    let received = receive_one(service);
    let provider = project.provider();
    let tokens = signed_in(&project);
    let sid = project.verify(tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    // The home page lists the session with a sign-out button.
    let home = get(&format!("{}/", project.origin()), &[]).unwrap();
    assert!(home.body.contains(&sid), "{}", home.body);
    let reply = post_form(
        &format!("{}/nestflux-dev/sign-out", project.origin()),
        &[],
        &[("sid", &sid)],
    )
    .unwrap();
    assert_eq!(reply.status, 303);
    let (request_line, body) = received.join().unwrap();
    assert!(
        request_line.starts_with("POST /auth/backchannel-logout "),
        "{request_line}"
    );
    let token = query_param(&format!("?{body}"), "logout_token").unwrap();
    assert_eq!(jwt_header(&token)["typ"], "logout+jwt");
    let claims = project.verify(&token);
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["aud"], "shop");
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
    assert_eq!(
        refresh(&project, tokens["refresh_token"].as_str().unwrap()).json()["error"],
        "invalid_grant"
    );
    assert!(
        provider.output().contains("back-channel logout"),
        "{}",
        provider.output()
    );
}
