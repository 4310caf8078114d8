//! `nestflux add role` / `add permission` on hand-written policies: the
//! edited files are snapshotted, every line the user wrote must survive
//! (additions only), and every refusal leaves every byte as it was.

mod common;

use std::path::Path;

use common::Sandbox;
use predicates::str::contains;

fn fixture(case: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/add")
        .join(case)
        .join("in");
    for (rel, bytes) in common::tree(&src) {
        if !rel.ends_with('/') {
            sandbox.write(&rel, std::str::from_utf8(&bytes).unwrap());
        }
    }
    sandbox
}

fn rbac(sandbox: &Sandbox) -> String {
    sandbox.read("config/rbac.toml")
}

/// Every line of `before` is still in `after`, in order: the edit only added.
fn assert_only_added(before: &str, after: &str) {
    let diff = similar::TextDiff::from_lines(before, after);
    for op in diff.ops() {
        assert!(
            matches!(op.tag(), similar::DiffTag::Equal | similar::DiffTag::Insert),
            "the edit changed or removed user lines:\n{}",
            diff.unified_diff()
        );
    }
}

/// `after` is `before` with `token` inserted into arrays and nothing else.
fn assert_only_inserted(before: &str, after: &str, token: &str) {
    let quoted = format!("\"{token}\"");
    let stripped: String = after
        .split_inclusive('\n')
        .filter(|line| {
            let t = line.trim();
            t != format!("{quoted},") && t != quoted
        })
        .map(|line| {
            line.replace(&format!(", {quoted}"), "")
                .replace(&format!("{quoted}, "), "")
        })
        .collect();
    assert_eq!(stripped, before, "more than `{token}` changed:\n{after}");
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn adding_a_role_keeps_every_comment_and_goes_after_the_last_role() {
    for case in ["hand-commented", "odd-spacing", "inline-tables"] {
        let sandbox = fixture(case);
        let before = rbac(&sandbox);
        sandbox
            .nestflux()
            .args([
                "add",
                "role",
                "auditor",
                "--permissions",
                "items:read",
                "--description",
                "Reads for audits",
            ])
            .assert()
            .success()
            .stderr(contains("Added role `auditor` (permissions: items:read)"));
        let after = rbac(&sandbox);
        assert_only_added(&before, &after);
        let effective = nestflux::rbac::Policy::parse(&after).unwrap().effective();
        assert_eq!(
            effective["auditor"].iter().collect::<Vec<_>>(),
            ["items:read"],
            "{case}"
        );
        snapshot(&format!("add-role@{case}"), &after);
    }
}

#[test]
fn adding_a_permission_declares_it_and_grants_it_in_the_file_s_own_style() {
    for case in ["hand-commented", "odd-spacing", "inline-tables"] {
        let sandbox = fixture(case);
        let before = rbac(&sandbox);
        sandbox
            .nestflux()
            .args([
                "add",
                "permission",
                "reports:read",
                "--roles",
                "viewer,admin",
            ])
            .assert()
            .success()
            .stderr(contains(
                "Added permission `reports:read`, granted to viewer, admin",
            ));
        let after = rbac(&sandbox);
        assert_only_inserted(&before, &after, "reports:read");
        let effective = nestflux::rbac::Policy::parse(&after).unwrap().effective();
        assert!(
            effective["viewer"].contains("reports:read"),
            "{case}: viewer lacks it"
        );
        assert!(
            effective["admin"].contains("reports:read"),
            "{case}: admin lacks it"
        );
        snapshot(&format!("add-permission@{case}"), &after);
    }
}

#[test]
fn the_issue_walkthrough_role_then_permission_keeps_comments() {
    let sandbox = fixture("hand-commented");
    let before = rbac(&sandbox);
    sandbox
        .nestflux()
        .args(["add", "role", "auditor", "--permissions", "items:read"])
        .assert()
        .success();
    sandbox
        .nestflux()
        .args([
            "add",
            "permission",
            "reports:read",
            "--roles",
            "auditor,admin",
        ])
        .assert()
        .success();
    let after = rbac(&sandbox);
    for comment in before.lines().filter(|l| l.contains('#')) {
        assert!(after.contains(comment), "lost `{comment}`");
    }
    assert!(
        after.contains("[roles.auditor]\npermissions = [\"items:read\", \"reports:read\"]\n"),
        "{after}"
    );
}

#[test]
fn running_the_same_add_twice_changes_nothing_the_second_time() {
    let sandbox = fixture("hand-commented");
    let args = [
        "add",
        "role",
        "auditor",
        "--permissions",
        "items:read",
        "--inherits",
        "viewer",
    ];
    sandbox.nestflux().args(args).assert().success();
    let once = sandbox.snapshot();
    sandbox
        .nestflux()
        .args(args)
        .assert()
        .success()
        .stderr(contains("Unchanged").and(contains("already exists with this definition")));
    assert_eq!(sandbox.snapshot(), once);

    let args = ["add", "permission", "reports:read", "--roles", "auditor"];
    sandbox.nestflux().args(args).assert().success();
    let once = sandbox.snapshot();
    sandbox
        .nestflux()
        .args(args)
        .assert()
        .success()
        .stderr(contains("Unchanged"));
    assert_eq!(sandbox.snapshot(), once);
}

use predicates::prelude::PredicateBooleanExt as _;

/// Runs `args` in a fresh copy of `case`, expects failure with `code` and
/// every message in `expected`, and checks that no byte changed.
fn refused(case: &str, args: &[&str], code: i32, expected: &[&str]) {
    let sandbox = fixture(case);
    let before = sandbox.snapshot();
    let mut assert = sandbox.nestflux().args(args).assert().code(code);
    for text in expected {
        assert = assert.stderr(contains(*text));
    }
    assert_eq!(sandbox.snapshot(), before, "{args:?} changed files");
}

#[test]
fn a_role_that_exists_with_another_definition_is_refused_with_the_difference() {
    refused(
        "hand-commented",
        &["add", "role", "viewer", "--permissions", "items:write"],
        1,
        &[
            "role `viewer` already exists with a different definition; nothing was changed",
            "- current:   permissions = [\"items:read\"]",
            "+ requested: permissions = [\"items:write\"]",
            "pass --force",
        ],
    );
}

#[test]
fn force_replaces_a_role_and_keeps_its_comments() {
    let sandbox = fixture("hand-commented");
    sandbox
        .nestflux()
        .args([
            "add",
            "role",
            "viewer",
            "--permissions",
            "items:read,items:write",
            "--force",
        ])
        .assert()
        .success();
    let after = rbac(&sandbox);
    assert!(after.contains("# Read-only dashboards use this.\ndescription = \"Reads items\"\npermissions = [\"items:read\", \"items:write\"]\n"), "{after}");
}

#[test]
fn force_that_would_create_a_cycle_is_refused() {
    refused(
        "hand-commented",
        &[
            "add",
            "role",
            "viewer",
            "--permissions",
            "items:read",
            "--inherits",
            "editor",
            "--force",
        ],
        1,
        &[
            "would make the policy invalid",
            "cycle: viewer → editor → viewer",
        ],
    );
}

#[test]
fn unknown_permissions_and_parents_are_refused_before_any_write() {
    refused(
        "hand-commented",
        &["add", "role", "auditor", "--permissions", "reports:read"],
        2,
        &[
            "unknown permission `reports:read`",
            "nestflux add permission reports:read",
        ],
    );
    refused(
        "hand-commented",
        &["add", "role", "auditor", "--inherits", "ghost"],
        2,
        &[
            "cannot inherit `ghost`: no such role",
            "existing roles: viewer, editor, admin",
        ],
    );
    refused(
        "hand-commented",
        &["add", "permission", "reports:read", "--roles", "ghost"],
        2,
        &["cannot grant to `ghost`: no such role"],
    );
}

#[test]
fn bad_names_are_refused() {
    refused(
        "hand-commented",
        &["add", "role", "Auditor"],
        2,
        &["`Auditor` is not a valid role name: it must start with a lowercase letter"],
    );
    refused(
        "hand-commented",
        &["add", "permission", "reports"],
        2,
        &["permissions have the form `resource:action`"],
    );
    refused(
        "hand-commented",
        &["add", "role", "x", "--permissions", "Bad"],
        2,
        &["`Bad` is not a permission"],
    );
}

#[test]
fn a_malformed_policy_is_reported_with_line_and_column_and_left_untouched() {
    refused(
        "malformed",
        &["add", "role", "auditor"],
        1,
        &["`config/rbac.toml` line 4, column", "nothing was changed"],
    );
}

#[test]
fn a_policy_with_problems_is_not_edited_further() {
    refused(
        "cyclic",
        &["add", "role", "auditor"],
        1,
        &["has 1 problem(s)", "cycle: a → b → a"],
    );
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let sandbox = fixture("hand-commented");
    let before = sandbox.snapshot();
    sandbox
        .nestflux()
        .args([
            "add",
            "role",
            "auditor",
            "--permissions",
            "items:read",
            "--dry-run",
        ])
        .assert()
        .success()
        .stdout(contains("--- a/config/rbac.toml\n+++ b/config/rbac.toml\n"))
        .stdout(contains(
            "+[roles.auditor]\n+permissions = [\"items:read\"]\n",
        ));
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn outside_a_project_it_says_how_to_point_at_one() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["add", "role", "auditor"])
        .assert()
        .code(2)
        .stderr(contains("is not inside a nestflux project").and(contains("--project DIR")));
    sandbox
        .nestflux()
        .args(["add", "role", "auditor", "--project", "."])
        .assert()
        .code(2)
        .stderr(contains("is not a nestflux project"));
}

#[test]
fn the_project_is_found_from_a_subdirectory() {
    let sandbox = fixture("hand-commented");
    std::fs::create_dir_all(sandbox.join("src/routes")).unwrap();
    sandbox
        .nestflux()
        .current_dir(sandbox.join("src/routes"))
        .args(["add", "role", "auditor"])
        .assert()
        .success();
    assert!(rbac(&sandbox).contains("[roles.auditor]\npermissions = []\n"));
}

/// A real project from `nestflux new`, in `sandbox/<name>`.
fn generated(idp: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "shop", "--idp", idp, "--yes", "--quiet"])
        .assert()
        .success();
    sandbox
}

#[test]
fn a_new_role_reaches_the_keycloak_realm_with_a_test_user_and_the_audit_stays_clean() {
    let sandbox = generated("keycloak");
    let realm_before = sandbox.read("shop/deploy/keycloak/realm.json");
    sandbox
        .nestflux()
        .current_dir(sandbox.join("shop"))
        .args(["add", "role", "auditor", "--permissions", "items:read"])
        .assert()
        .success()
        .stderr(contains(
            "deploy/keycloak/realm.json: role `auditor` and test user `test-auditor`",
        ));
    let realm_after = sandbox.read("shop/deploy/keycloak/realm.json");
    // JSON is written back in the layout `new` generated: only additions.
    assert_only_added(&realm_before, &realm_after);
    let realm: serde_json::Value = serde_json::from_str(&realm_after).unwrap();
    let roles: Vec<&str> = realm["roles"]["realm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"auditor"), "{roles:?}");
    let user = realm["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "test-auditor")
        .unwrap();
    assert_eq!(user["realmRoles"], serde_json::json!(["auditor"]));
    assert!(user["credentials"][0]["value"].as_str().unwrap().len() >= 32);

    sandbox
        .nestflux()
        .current_dir(sandbox.join("shop"))
        .args([
            "add",
            "permission",
            "reports:read",
            "--roles",
            "auditor,admin",
        ])
        .assert()
        .success();
    sandbox
        .nestflux()
        .args(["audit-config", "shop", "--fail-on", "low"])
        .assert()
        .success();
}

/// `add role auditor` on the project `generated` made.
const ADD_AUDITOR: [&str; 7] = [
    "add",
    "role",
    "auditor",
    "--permissions",
    "items:read",
    "--project",
    "shop",
];

#[test]
fn a_new_role_reaches_the_authentik_blueprint_keeping_its_comments() {
    let sandbox = generated("authentik");
    let before = sandbox.read("shop/deploy/authentik/blueprint.yaml");
    sandbox.nestflux().args(ADD_AUDITOR).assert().success();
    let after = sandbox.read("shop/deploy/authentik/blueprint.yaml");
    assert_only_added(&before, &after);
    assert!(
        after.contains("identifiers:\n      name: \"auditor\"\n"),
        "{after}"
    );
    assert!(after.contains("- !KeyOf group-auditor\n"), "{after}");
    sandbox
        .nestflux()
        .args(["audit-config", "shop", "--fail-on", "low"])
        .assert()
        .success();
    // The same command again finds nothing to do in either file.
    let once = sandbox.snapshot();
    sandbox
        .nestflux()
        .args(ADD_AUDITOR)
        .assert()
        .success()
        .stderr(contains("Unchanged"));
    assert_eq!(sandbox.snapshot(), once);
}

#[test]
fn a_role_missing_from_the_idp_setup_is_restored_by_adding_it_again() {
    let sandbox = generated("keycloak");
    sandbox
        .nestflux()
        .args(["add", "role", "auditor", "--project", "shop"])
        .assert()
        .success();
    // Someone restores the realm export from before the role existed.
    let realm = sandbox.read("shop/deploy/keycloak/realm.json");
    let mut value: serde_json::Value = serde_json::from_str(&realm).unwrap();
    value["roles"]["realm"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["name"] != "auditor");
    sandbox.write(
        "shop/deploy/keycloak/realm.json",
        &serde_json::to_string_pretty(&value).unwrap(),
    );
    sandbox
        .nestflux()
        .args(["add", "role", "auditor", "--project", "shop"])
        .assert()
        .success()
        .stderr(contains("it lacked role `auditor`"));
    assert!(
        sandbox
            .read("shop/deploy/keycloak/realm.json")
            .contains("\"name\": \"auditor\"")
    );
}
