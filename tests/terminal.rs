//! The interactive path, end to end: `nestflux new` on a real
//! pseudo-terminal, answered with keystrokes, as a person would.
#![cfg(unix)]

mod common;

use std::process::Command;

use common::Sandbox;
use rexpect::session::{PtySession, spawn_command};

const DOWN: &str = "\x1b[B";

fn spawn(sandbox: &Sandbox, args: &[&str]) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nestflux"));
    cmd.args(args)
        .current_dir(sandbox.path())
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    spawn_command(cmd, Some(20_000)).expect("spawn nestflux on a pty")
}

#[test]
fn on_a_terminal_every_missing_answer_is_asked_and_the_summary_confirmed() {
    let sandbox = Sandbox::new();
    let mut p = spawn(&sandbox, &["new", "my-api"]);
    p.exp_string("Project name").unwrap();
    p.send_line("").unwrap(); // accept the default taken from PATH
    p.exp_string("Identity provider").unwrap();
    p.send(DOWN).unwrap(); // Keycloak → Authentik
    p.send_line("").unwrap();
    p.exp_string("Database").unwrap();
    p.send(DOWN).unwrap(); // SQLite → PostgreSQL
    p.send_line("").unwrap();
    p.exp_string("Security features").unwrap();
    p.send(" ").unwrap(); // all on by default: toggle the first (headers) off
    p.send_line("").unwrap();
    p.exp_string("Generate Kubernetes manifests").unwrap();
    p.exp_string("(y/n)").unwrap();
    p.send_line("y").unwrap();
    p.exp_string("features:  rate-limit, cors, audit-log, encryption")
        .unwrap();
    p.exp_string("deploy:    kubernetes").unwrap();
    p.exp_string("Create this project?").unwrap();
    p.send_line("y").unwrap();
    p.exp_string("Created").unwrap();
    p.exp_eof().unwrap();

    let toml = sandbox.read("my-api/nestflux.toml");
    assert!(toml.contains("name = \"my-api\""), "{toml}");
    assert!(toml.contains("idp = \"authentik\""), "{toml}");
    assert!(toml.contains("database = \"postgres\""), "{toml}");
    assert!(
        toml.contains(r#"features = ["rate-limit", "cors", "audit-log", "encryption"]"#),
        "{toml}"
    );
    assert!(toml.contains("targets = [\"kubernetes\"]"), "{toml}");
    assert!(
        sandbox
            .join("my-api/deploy/kubernetes/base/deployment.yaml")
            .is_file()
    );
}

#[test]
fn an_invalid_name_typed_at_the_prompt_is_refused_with_the_rule_until_fixed() {
    let sandbox = Sandbox::new();
    // Flags answer everything but the name, so only the name is asked.
    let mut p = spawn(
        &sandbox,
        &[
            "new",
            "dir",
            "--idp",
            "oidc",
            "--db",
            "sqlite",
            "--features",
            "none",
            "--deploy",
            "none",
        ],
    );
    p.exp_string("Project name").unwrap();
    // Clear the default ("dir") before typing.
    p.send("\x7f\x7f\x7f").unwrap();
    p.send_line("Bad Name").unwrap();
    p.exp_string("must be lowercase").unwrap();
    p.send(&"\x7f".repeat(8)).unwrap();
    p.send_line("good-name").unwrap();
    p.exp_string("Create this project?").unwrap();
    p.send_line("y").unwrap();
    p.exp_eof().unwrap();
    assert!(
        sandbox
            .read("dir/nestflux.toml")
            .contains("name = \"good-name\"")
    );
}

#[test]
fn declining_at_the_summary_writes_nothing() {
    let sandbox = Sandbox::new();
    let mut p = spawn(
        &sandbox,
        &[
            "new",
            "my-api",
            "--name",
            "my-api",
            "--idp",
            "oidc",
            "--db",
            "sqlite",
            "--features",
            "none",
            "--deploy",
            "none",
        ],
    );
    p.exp_string("Create this project?").unwrap();
    p.send_line("n").unwrap();
    p.exp_string("nothing was written").unwrap();
    p.exp_eof().unwrap();
    assert!(sandbox.snapshot().is_empty());
}

#[test]
fn yes_on_a_terminal_asks_nothing() {
    let sandbox = Sandbox::new();
    let mut p = spawn(&sandbox, &["new", "my-api", "--yes"]);
    p.exp_string("Created").unwrap();
    p.exp_eof().unwrap();
    assert!(
        sandbox
            .read("my-api/nestflux.toml")
            .contains("idp = \"keycloak\"")
    );
}

#[test]
fn ctrl_c_at_a_question_stops_without_writing_anything() {
    let sandbox = Sandbox::new();
    let mut p = spawn(&sandbox, &["new", "my-api"]);
    p.exp_string("Project name").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Identity provider").unwrap();
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    assert!(sandbox.snapshot().is_empty());
}
