//! `nestflux add resource` on real projects: the files it generates
//! (snapshotted), the same command twice, `--dry-run`, every refusal
//! leaving every byte as it was, and `audit-config` clean after it.

mod common;

use common::Sandbox;
use predicates::str::contains;

/// A project from `nestflux new` (with `features`), in `sandbox/shop`.
fn generated(features: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args([
            "new",
            "shop",
            "--idp",
            "oidc",
            "--features",
            features,
            "--yes",
            "--quiet",
        ])
        .assert()
        .success();
    sandbox
}

fn add(sandbox: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    sandbox
        .nestflux()
        .current_dir(sandbox.join("shop"))
        .args(["add", "resource"])
        .args(args)
        .assert()
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn a_resource_with_every_type_generates_these_files() {
    let sandbox = generated("headers,audit-log,encryption");
    add(&sandbox, common::EVERY_TYPE)
        .success()
        .stderr(contains("Added resource `customers`"));
    add(
        &sandbox,
        &["orders", "customer:ref(customers)", "total:decimal"],
    )
    .success();
    for path in [
        "src/resources/mod.rs",
        "src/resources/customers/mod.rs",
        "src/resources/customers/model.rs",
        "src/resources/customers/repo.rs",
        "src/resources/orders/mod.rs",
        "tests/api/resources/mod.rs",
        "tests/api/resources/customers.rs",
        "tests/api/resources/orders.rs",
        "migrations/sqlite/0005_create_customers.sql",
        "migrations/sqlite/0006_create_orders.sql",
    ] {
        let text = sandbox.read(&format!("shop/{path}"));
        snapshot(&format!("resource@{}", path.replace('/', "__")), &text);
    }
    let record = sandbox.read("shop/nestflux.toml");
    assert!(
        record.contains("[[resources]]\nname = \"orders\"\nmigration = 6\n"),
        "{record}"
    );
    let policy = sandbox.read("shop/config/rbac.toml");
    for permission in ["customers:read", "customers:write-any", "orders:delete"] {
        assert!(policy.contains(&format!("\"{permission}\"")), "{policy}");
    }
    // The audit of the project's configuration stays clean.
    sandbox
        .nestflux()
        .args(["audit-config"])
        .arg(sandbox.join("shop"))
        .assert()
        .success();
}

/// The versions of the migrations in `dir` (`NNNN_...`).
fn versions(dir: &std::path::Path) -> Vec<u32> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            name.split('_').next()?.parse().ok()
        })
        .collect()
}

/// Whatever the features, a resource's migration comes after every migration
/// the project has and every one the templates have: a feature turned on
/// later brings its own fixed number, which must stay free.
#[test]
fn a_resource_s_migration_comes_after_every_migration_on_every_feature_set() {
    let templates =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/migrations/sqlite");
    let last_template = versions(&templates).into_iter().max().unwrap();
    for features in [
        "none",
        "headers",
        "audit-log",
        "headers,rate-limit,cors,audit-log,encryption,redis,tls,session",
    ] {
        let sandbox = generated(features);
        let dir = sandbox.join("shop/migrations/sqlite");
        let before = versions(&dir);
        add(&sandbox, &["customers", "name:string"]).success();
        let added: Vec<u32> = versions(&dir)
            .into_iter()
            .filter(|v| !before.contains(v))
            .collect();
        assert_eq!(added.len(), 1, "{features}: {added:?}");
        let last = before.iter().copied().max().unwrap_or(0).max(last_template);
        assert_eq!(
            added[0],
            last + 1,
            "{features}: after {before:?} and the templates' {last_template}"
        );
    }
}

#[test]
fn the_same_command_twice_changes_nothing_the_second_time() {
    let sandbox = generated("headers");
    add(&sandbox, &["customers", "name:string"]).success();
    let once = sandbox.snapshot();
    add(&sandbox, &["customers", "name:string"])
        .success()
        .stderr(contains("Unchanged"));
    assert_eq!(sandbox.snapshot(), once);
}

#[test]
fn an_upgrade_by_the_same_version_after_add_resource_changes_no_byte() {
    let sandbox = generated("headers,audit-log");
    add(&sandbox, &["customers", "name:string"]).success();
    add(
        &sandbox,
        &[
            "orders",
            "customer:ref(customers)",
            "--roles",
            "viewer=read",
        ],
    )
    .success();
    let before = sandbox.snapshot();
    sandbox
        .nestflux()
        .current_dir(sandbox.join("shop"))
        .args(["upgrade", "--allow-dirty"])
        .assert()
        .success();
    // Not even the baseline: it already was what this version renders.
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let sandbox = generated("headers");
    let before = sandbox.snapshot();
    add(&sandbox, &["customers", "name:string", "--dry-run"])
        .success()
        .stdout(contains("+++ b/src/resources/customers/mod.rs"))
        .stdout(contains("+pub mod customers;"))
        .stdout(contains("+    \"customers:read\","))
        .stdout(contains("+[[resources]]"));
    assert_eq!(sandbox.snapshot(), before);
}

/// Runs `add resource args` and expects a refusal naming `expected`, with
/// every byte of the project as it was.
fn refused(sandbox: &Sandbox, args: &[&str], code: i32, expected: &[&str]) {
    let before = sandbox.snapshot();
    let mut assert = add(sandbox, args).code(code);
    for text in expected {
        assert = assert.stderr(contains(*text));
    }
    assert_eq!(sandbox.snapshot(), before, "{args:?} changed files");
}

#[test]
fn every_refusal_names_the_problem_and_changes_no_byte() {
    // The caret sits under the bad type, in the command line as typed.
    let line = "nestflux add resource bills number:string due:dat";
    let caret = format!("  {line}\n  {}^^^\n", " ".repeat(line.len() - 3));
    let caret = caret.as_str();
    let sandbox = generated("headers");
    add(&sandbox, &["customers", "name:string"]).success();
    let cases: &[(&[&str], i32, &[&str])] = &[
        (
            &["bills", "number:string", "due:dat"],
            2,
            &["field 2 (`due:dat`): unknown type `dat`", caret],
        ),
        (
            &["bills", "note:text:maxx=3"],
            2,
            &["unknown modifier `maxx=3`"],
        ),
        (&["bills", "n:i32:max=x"], 2, &["`x` is not a i32 value"]),
        (&["bills", "type:string"], 2, &["reserved word"]),
        (&["bills", "owner:string"], 2, &["is taken"]),
        (
            &["bills", "a:string", "a:text"],
            2,
            &["field `a` is given twice"],
        ),
        (&["select", "a:string"], 2, &["reserved word"]),
        (&["health", "a:string"], 2, &["is taken"]),
        (&["me", "a:string"], 2, &["is taken"]),
        (
            &["items", "a:string"],
            1,
            &[
                "resource `items` already exists with other fields",
                "- current:   name:string:nonblank:min=1:max=200 notes:text?:max=2000",
            ],
        ),
        (&["Bills", "a:string"], 2, &["snake_case"]),
        (&["bills"], 2, &["has no fields"]),
        (
            &["bills", "c:ref(nope)"],
            2,
            &[
                "refers to `nope`, which is not a resource",
                "resources: items, customers",
            ],
        ),
        (
            &["bills", "secret:string:encrypted"],
            2,
            &["no `encryption` feature"],
        ),
        (
            &["bills", "a:string:encrypted:unique"],
            2,
            &["cannot be unique"],
        ),
        (
            &["bills", "code:string:pattern=^[A-Z"],
            2,
            &["not a valid regular expression", "unclosed character class"],
        ),
        (
            &["bills", "code:string:max=2:pattern=^[A-Z]{3}"],
            2,
            &["no value within the field's `min`/`max` matches the pattern"],
        ),
        (
            &["bills", "code:string:email:pattern=x"],
            2,
            &["cannot be combined with email or url"],
        ),
        (
            &["bills", "a:string", "--roles", "ghost=read"],
            2,
            &["no role `ghost`"],
        ),
        (
            &["bills", "a:string", "--roles", "viewer=peek"],
            2,
            &["unknown action `peek`"],
        ),
        (
            &["customers", "name:text"],
            1,
            &[
                "already exists with other fields",
                "- current:   name:string",
                "+ requested: name:text",
            ],
        ),
    ];
    for (args, code, expected) in cases {
        refused(&sandbox, args, *code, expected);
    }
}

#[test]
fn a_file_in_the_way_of_a_new_one_stops_everything() {
    let sandbox = generated("headers");
    sandbox.write("shop/src/resources/customers/mod.rs", "// mine\n");
    refused(
        &sandbox,
        &["customers", "name:string"],
        1,
        &["already exist", "src/resources/customers/mod.rs"],
    );
}

#[test]
fn a_project_made_before_add_resource_is_told_to_upgrade_first() {
    let sandbox = generated("headers");
    std::fs::remove_file(sandbox.join("shop/src/resources/mod.rs")).unwrap();
    refused(
        &sandbox,
        &["customers", "name:string"],
        1,
        &[
            "has no `src/resources/mod.rs`",
            "run `nestflux upgrade` first",
        ],
    );
}

#[test]
fn private_resources_get_read_any_and_the_roles_asked_for() {
    let sandbox = generated("headers");
    add(
        &sandbox,
        &[
            "notes",
            "body:text",
            "--private",
            "--roles",
            "viewer=read,editor=read+write+delete",
        ],
    )
    .success();
    let policy = sandbox.read("shop/config/rbac.toml");
    assert!(policy.contains("\"notes:read-any\""), "{policy}");
    assert!(
        policy.contains("\"notes:write\", \"notes:delete\"") || policy.contains("\"notes:delete\""),
        "{policy}"
    );
    let module = sandbox.read("shop/src/resources/notes/mod.rs");
    assert!(module.contains("pub const READ_ANY: &str = \"notes:read-any\";"));
    assert!(
        sandbox
            .read("shop/nestflux.toml")
            .contains("private = true\n")
    );
}
