//! `nestflux upgrade` as a user runs it, on a project made by `nestflux new`
//! and then set back to what an older nestflux wrote: its `src/error.rs`
//! (in the project and in the baseline) has the older first line, and
//! `nestflux.toml` records version 0.0.1.

mod common;

use common::Sandbox;
use nestflux::upgrade::baseline;
use predicates::prelude::PredicateBooleanExt as _;
use predicates::str::contains;

const OLDER: &str = "0.0.1";
const MARK: &str = " (nestflux 0.0.1)";

/// `nestflux new shop`, then made older as the module docs say.
fn older_project() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "shop", "--yes", "--features", "headers,audit-log"])
        .assert()
        .success();
    let root = sandbox.join("shop");
    let make_older = |text: &str| {
        let (first, rest) = text.split_once('\n').unwrap();
        format!("{first}{MARK}\n{rest}")
    };
    let error_rs = sandbox.read("shop/src/error.rs");
    sandbox.write("shop/src/error.rs", &make_older(&error_rs));
    let mut files = baseline::read(&root)
        .unwrap()
        .expect("new writes a baseline");
    let copy = String::from_utf8(files["src/error.rs"].clone()).unwrap();
    files.insert("src/error.rs".into(), make_older(&copy).into_bytes());
    std::fs::write(
        root.join(baseline::BASELINE_FILE),
        baseline::encode(&files).unwrap(),
    )
    .unwrap();
    let toml = sandbox.read("shop/nestflux.toml");
    let version = format!("nestflux-version = \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(toml.contains(&version), "{toml}");
    sandbox.write(
        "shop/nestflux.toml",
        &toml.replace(&version, &format!("nestflux-version = \"{OLDER}\"")),
    );
    sandbox
}

fn upgrade(sandbox: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    sandbox
        .nestflux()
        .current_dir(sandbox.join("shop"))
        .arg("upgrade")
        .args(args)
        .assert()
}

#[test]
fn new_keeps_a_baseline_of_the_committed_files_only() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "shop", "--yes"])
        .assert()
        .success();
    let files = baseline::read(&sandbox.join("shop")).unwrap().unwrap();
    assert!(!files.contains_key(".env"), "local secrets stay out of it");
    assert_eq!(
        files["src/error.rs"],
        sandbox.read("shop/src/error.rs").into_bytes()
    );
    assert!(
        files.contains_key("nestflux.toml") && files.contains_key("deploy/keycloak/realm.json")
    );
    // A project just made is up to date.
    upgrade(&sandbox, &["--check"])
        .success()
        .stderr(contains("is up to date with nestflux"));
}

#[test]
fn upgrade_brings_the_fix_keeps_the_users_edit_and_records_the_version() {
    let sandbox = older_project();
    let readme = format!(
        "{}\nOur deployment notes.\n",
        sandbox.read("shop/README.md")
    );
    sandbox.write("shop/README.md", &readme);
    let before = sandbox.snapshot();

    upgrade(&sandbox, &["--check"])
        .code(1)
        .stderr(contains("Behind").and(contains(format!("records nestflux {OLDER}"))));
    upgrade(&sandbox, &["--dry-run"])
        .success()
        .stdout(contains("--- a/src/error.rs\n+++ b/src/error.rs\n"))
        .stdout(contains(format!("-nestflux-version = \"{OLDER}\"")))
        .stderr(contains("Updated src/error.rs"))
        .stderr(contains("dry run: nothing was written"));
    assert_eq!(
        sandbox.snapshot(),
        before,
        "--check and --dry-run write nothing"
    );

    upgrade(&sandbox, &[])
        .success()
        .stderr(contains("Upgrading `shop` from nestflux 0.0.1"))
        .stderr(contains("Updated src/error.rs"))
        .stderr(contains("Upgraded `shop` to nestflux"))
        .stderr(contains("Next: review the change"));
    assert!(!sandbox.read("shop/src/error.rs").contains(MARK));
    assert_eq!(sandbox.read("shop/README.md"), readme);
    assert!(sandbox.read("shop/nestflux.toml").contains(&format!(
        "nestflux-version = \"{}\"",
        env!("CARGO_PKG_VERSION")
    )));

    let once = sandbox.snapshot();
    upgrade(&sandbox, &[])
        .success()
        .stderr(contains("is up to date with nestflux"));
    assert_eq!(sandbox.snapshot(), once, "a second run changes nothing");
}

#[test]
fn an_overlapping_edit_is_a_conflict_listed_at_the_end_with_exit_1() {
    let sandbox = older_project();
    let text = sandbox.read("shop/src/error.rs");
    let (_, rest) = text.split_once('\n').unwrap();
    sandbox.write("shop/src/error.rs", &format!("//! Our errors.\n{rest}"));
    upgrade(&sandbox, &[])
        .code(1)
        .stderr(contains("Conflict src/error.rs"))
        .stderr(contains("Summary: 1 conflict, "))
        .stderr(contains(
            "Conflicts (resolve these, then run `nestflux upgrade` again):\n  src/error.rs\n",
        ))
        .stderr(contains(format!(
            "`nestflux.toml` still records nestflux {OLDER}"
        )));
    let merged = sandbox.read("shop/src/error.rs");
    assert!(
        merged.starts_with("<<<<<<< yours\n//! Our errors.\n||||||| nestflux 0.0.1\n"),
        "{merged}"
    );
    assert!(sandbox.read("shop/nestflux.toml").contains(OLDER));
    upgrade(&sandbox, &["--check"]).code(1);
    upgrade(&sandbox, &[])
        .code(1)
        .stderr(contains("still hold conflict markers").and(contains("src/error.rs:1")));
}

#[test]
fn a_role_added_with_add_role_survives_the_upgrade() {
    let sandbox = older_project();
    sandbox
        .nestflux()
        .current_dir(sandbox.join("shop"))
        .args(["add", "role", "auditor", "--permissions", "items:read"])
        .assert()
        .success();
    let realm = sandbox.read("shop/deploy/keycloak/realm.json");
    upgrade(&sandbox, &[]).success();
    assert_eq!(sandbox.read("shop/deploy/keycloak/realm.json"), realm);
    assert!(
        sandbox
            .read("shop/README.md")
            .contains("admin, editor, viewer, auditor")
    );
    upgrade(&sandbox, &[])
        .success()
        .stderr(contains("up to date"));
}

#[test]
fn help_teaches_the_decisions_and_the_exit_codes() {
    Sandbox::new()
        .nestflux()
        .args(["upgrade", "--help"])
        .assert()
        .success()
        .stdout(
            contains("--dry-run")
                .and(contains("--check"))
                .and(contains("--allow-dirty")),
        )
        .stdout(contains("both changed the same lines"))
        .stdout(contains("Migrations are never rewritten"))
        .stdout(contains("Exit codes: 0 upgraded"));
}

#[test]
fn outside_a_project_it_is_a_usage_error() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .arg("upgrade")
        .assert()
        .code(2)
        .stderr(contains("is not inside a nestflux project"));
}
