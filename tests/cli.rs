//! The `nestflux` command line as a user meets it: help, refusals, exit
//! codes, dry runs and presets. Every refusal checks that nothing changed.

mod common;

use common::Sandbox;
use predicates::prelude::*;
use predicates::str::contains;

#[test]
fn help_lists_every_new_flag_with_its_values_and_default() {
    use nestflux::answers::{Database, Feature, FeatureSet, Idp};
    let sandbox = Sandbox::new();
    let out = sandbox
        .nestflux()
        .args(["new", "--help"])
        .assert()
        .success();
    let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    // clap wraps long lines; compare with the white space folded.
    let folded = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut expected: Vec<String> = [
        "--name <NAME>",
        "--idp <IDP>",
        "--db <DB>",
        "--features <LIST>",
        "--preset <FILE>",
        "--yes",
        "--dry-run",
        "--color <WHEN>",
        "--quiet",
        "--verbose",
        "Examples:",
    ]
    .map(str::to_owned)
    .to_vec();
    expected.extend(Idp::ALL.map(|i| i.key().to_owned()));
    expected.push(format!("[default: {}]", Idp::DEFAULT.key()));
    expected.extend(Database::AVAILABLE.map(|d| d.key().to_owned()));
    expected.push(format!("[default: {}]", Database::DEFAULT.key()));
    expected.push(format!(
        "[possible values: {}]",
        Feature::ALL.map(Feature::key).join(", ")
    ));
    expected.push(format!("[default: {}]", FeatureSet::defaults()));
    for feature in Feature::ALL {
        let state = if feature.on_by_default() { "on" } else { "off" };
        let needs = feature
            .requires()
            .map(|f| format!(", needs {}", f.key()))
            .unwrap_or_default();
        expected.push(format!(
            "{} {}: {state}{needs}",
            feature.key(),
            feature.label()
        ));
    }
    for expected in expected {
        assert!(
            folded.contains(&expected),
            "`new --help` lacks {expected:?}:\n{help}"
        );
    }
}

#[test]
fn version_prints_the_crate_version() {
    Sandbox::new()
        .nestflux()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("nestflux {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn no_arguments_is_a_usage_error_that_shows_help() {
    Sandbox::new()
        .nestflux()
        .assert()
        .code(2)
        .stderr(contains("Usage: nestflux"));
}

#[test]
fn an_unknown_idp_is_a_usage_error_listing_the_valid_ones() {
    Sandbox::new()
        .nestflux()
        .args(["new", "x", "--idp", "okta", "--yes"])
        .assert()
        .code(2)
        .stderr(contains("invalid value 'okta'").and(contains("keycloak, authentik, oidc")));
}

#[test]
fn an_unknown_feature_is_a_usage_error_listing_the_valid_ones() {
    Sandbox::new()
        .nestflux()
        .args(["new", "x", "--features", "headers,waf", "--yes"])
        .assert()
        .code(2)
        .stderr(contains("unknown feature `waf`").and(contains("rate-limit")));
}

#[test]
fn a_bad_name_fails_naming_the_rule_and_a_fix() {
    let cases = [
        ("1api", "cannot start with a digit", Some("--name api1")),
        ("My-Api", "must be lowercase", Some("--name my-api")),
        ("fn", "is a Rust keyword", Some("--name fn-api")),
        ("test", "ships with Rust", Some("--name test-api")),
        ("std", "ships with Rust", Some("--name std-api")),
        ("core", "ships with Rust", Some("--name core-api")),
        ("a/b", "path separator", Some("--name b")),
        ("", "the name is empty", None),
    ];
    for (name, rule, fix) in cases {
        let sandbox = Sandbox::new();
        let assert = sandbox
            .nestflux()
            .args(["new", "dir", "--name", name, "--yes"])
            .assert()
            .code(2)
            .stderr(contains(rule));
        if let Some(fix) = fix {
            assert.stderr(contains(fix));
        }
        assert!(sandbox.snapshot().is_empty(), "`{name}` wrote something");
    }
}

#[test]
fn a_bad_name_taken_from_path_suggests_passing_name() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "2024-api", "--yes"])
        .assert()
        .code(2)
        .stderr(contains(
            "`2024-api` (from PATH) is not valid: it cannot start with a digit",
        ))
        .stderr(contains("pass --name api2024"));
    assert!(sandbox.snapshot().is_empty());
}

#[test]
fn a_bad_path_name_is_fine_when_name_is_given() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "2024-api", "--name", "api", "--yes"])
        .assert()
        .success();
    assert!(
        sandbox
            .read("2024-api/nestflux.toml")
            .contains("name = \"api\"")
    );
}

#[test]
fn without_a_terminal_or_yes_it_fails_naming_the_flags_to_pass() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "my-api", "--idp", "oidc"])
        .assert()
        .code(2)
        .stderr(contains("no terminal to ask"))
        .stderr(
            contains("--db sqlite|postgres")
                .and(contains("--features LIST"))
                .and(contains("--yes")),
        )
        // the flag that was given is not asked for
        .stderr(contains("--idp").not());
    assert!(sandbox.snapshot().is_empty());
}

#[test]
fn every_flag_given_needs_no_terminal_and_no_yes() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args([
            "new",
            "my-api",
            "--idp",
            "oidc",
            "--db",
            "sqlite",
            "--features",
            "none",
        ])
        .assert()
        .success();
    let toml = sandbox.read("my-api/nestflux.toml");
    assert!(
        toml.contains("idp = \"oidc\"") && toml.contains("features = []"),
        "{toml}"
    );
}

#[test]
fn yes_creates_the_default_project_and_prints_next_steps() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "demo", "--yes"])
        .assert()
        .success()
        .stdout("")
        .stderr(
            contains("Created")
                .and(contains("cd demo"))
                .and(contains("cargo run")),
        );
    let toml = sandbox.read("demo/nestflux.toml");
    assert!(toml.contains("name = \"demo\""));
    assert!(toml.contains("idp = \"keycloak\""));
    assert!(toml.contains("database = \"sqlite\""));
    assert!(
        toml.contains(r#"features = ["headers", "rate-limit", "cors", "audit-log", "encryption"]"#)
    );
    assert!(sandbox.join("demo/Cargo.toml").is_file());
    // Nothing but the project: no staging directory left beside it.
    let top: Vec<String> = sandbox
        .snapshot()
        .into_keys()
        .filter(|k| !k.contains('/') || k.matches('/').count() == 1 && k.ends_with('/'))
        .collect();
    assert_eq!(top, ["demo/"]);
}

#[test]
fn the_same_new_again_fails_and_leaves_every_byte_unchanged() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "demo", "--yes"])
        .assert()
        .success();
    sandbox.write("demo/src/my-edit.rs", "// mine\n");
    let before = sandbox.snapshot();
    sandbox
        .nestflux()
        .args(["new", "demo", "--yes"])
        .assert()
        .code(1)
        .stderr(contains(
            "`demo` already exists and is not empty; nothing was written",
        ));
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn an_empty_directory_is_accepted_as_path() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.join("empty")).unwrap();
    sandbox
        .nestflux()
        .args(["new", "empty", "--yes"])
        .assert()
        .success();
    assert!(sandbox.join("empty/nestflux.toml").is_file());
}

#[test]
fn a_file_as_path_is_refused_and_untouched() {
    let sandbox = Sandbox::new();
    sandbox.write("taken", "user data\n");
    sandbox
        .nestflux()
        .args(["new", "taken", "--yes"])
        .assert()
        .code(1)
        .stderr(contains("`taken` already exists and is not a directory"));
    assert_eq!(sandbox.read("taken"), "user data\n");
}

#[test]
fn dry_run_lists_the_files_with_sizes_and_writes_nothing() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "demo", "--yes", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("demo/\n"))
        .stdout(predicates::str::is_match(r"\n  nestflux\.toml +\d+(\.\d)? (B|KiB)\n").unwrap())
        .stdout(predicates::str::is_match(r"\n  Cargo\.toml +\d+(\.\d)? K?i?B\n").unwrap())
        .stdout(contains("(dry run: nothing was written)"));
    assert!(sandbox.snapshot().is_empty());
}

/// `new` lays out the items' code with rustfmt; without it the project is
/// still written, and the user is told to run `cargo fmt` (the generated CI
/// checks the layout), rather than meeting a failing check later.
#[test]
fn without_rustfmt_new_writes_the_project_and_says_to_run_cargo_fmt() {
    let sandbox = Sandbox::new();
    let empty = sandbox.join("no-tools");
    std::fs::create_dir_all(&empty).unwrap();
    sandbox
        .nestflux()
        .env("PATH", &empty)
        .args(["new", "demo", "--yes"])
        .assert()
        .success()
        .stderr(contains("rustfmt did not run"))
        .stderr(contains("run `cargo fmt`"));
    assert!(sandbox.join("demo/src/resources/items/mod.rs").is_file());
    // With rustfmt (CI has it), no such note.
    sandbox
        .nestflux()
        .args(["new", "other", "--yes"])
        .assert()
        .success()
        .stderr(contains("rustfmt did not run").not());
}

#[test]
fn postgres_generates_a_project_with_its_own_migrations_and_a_compose_file() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "demo", "--db", "postgres", "--idp", "oidc", "--yes"])
        .assert()
        .success();
    let project = sandbox.join("demo");
    assert!(
        project
            .join("migrations/postgres/0001_create_items.sql")
            .is_file()
    );
    assert!(!project.join("migrations/sqlite").exists());
    let toml = std::fs::read_to_string(project.join("nestflux.toml")).unwrap();
    assert!(toml.contains("database = \"postgres\""), "{toml}");
    // A generic OIDC provider is the user's own: compose runs only PostgreSQL.
    let compose = std::fs::read_to_string(project.join("compose.yaml")).unwrap();
    assert!(compose.contains("postgres:16"), "{compose}");
    assert!(!compose.contains("keycloak") && !compose.contains("authentik"));
}

#[test]
fn a_preset_round_trips_through_nestflux_toml() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args([
            "new",
            "first",
            "--idp",
            "authentik",
            "--features",
            "cors,audit-log",
            "--yes",
        ])
        .assert()
        .success();
    sandbox
        .nestflux()
        .args(["new", "second", "--preset", "first/nestflux.toml"])
        .assert()
        .success()
        // the preset's own name is not reused for the new project
        .stderr(contains("the preset's name `first` is not used"));
    let first = sandbox.read("first/nestflux.toml");
    let second = sandbox.read("second/nestflux.toml");
    assert_eq!(first.replace("\"first\"", "\"second\""), second);
}

#[test]
fn flags_override_the_preset() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "team.toml",
        "[project]\nidp = \"authentik\"\nfeatures = [\"headers\"]\n",
    );
    sandbox
        .nestflux()
        .args([
            "new",
            "svc",
            "--preset",
            "team.toml",
            "--idp",
            "oidc",
            "--yes",
        ])
        .assert()
        .success();
    let toml = sandbox.read("svc/nestflux.toml");
    assert!(
        toml.contains("idp = \"oidc\"") && toml.contains("features = [\"headers\"]"),
        "{toml}"
    );
}

#[test]
fn a_preset_with_an_unknown_key_names_the_key_file_and_line() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "team.toml",
        "schema = 1\n\n[project]\nidp = \"keycloak\"\nframework = \"axum\"\n",
    );
    let before = sandbox.snapshot();
    sandbox
        .nestflux()
        .args(["new", "svc", "--preset", "team.toml", "--yes"])
        .assert()
        .code(1)
        .stderr(contains(
            "`team.toml` line 5, column 1: unknown field `framework`",
        ))
        .stderr(contains("framework = \"axum\""));
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn a_preset_with_an_unknown_value_names_the_value_file_and_line() {
    let sandbox = Sandbox::new();
    sandbox.write("team.toml", "[project]\ndatabase = \"mysql\"\n");
    sandbox
        .nestflux()
        .args(["new", "svc", "--preset", "team.toml", "--yes"])
        .assert()
        .code(1)
        .stderr(contains("`team.toml` line 2, column 12: unknown variant `mysql`, expected `sqlite` or `postgres`"));
}

#[test]
fn a_missing_preset_is_reported_with_its_path() {
    Sandbox::new()
        .nestflux()
        .args(["new", "svc", "--preset", "nope.toml", "--yes"])
        .assert()
        .code(1)
        .stderr(contains("failed to read preset `nope.toml`"));
}

#[test]
fn quiet_prints_nothing_on_success() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "demo", "--yes", "--quiet"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn verbose_lists_every_file_written() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "demo", "--yes", "-v"])
        .assert()
        .success()
        .stderr(contains("wrote nestflux.toml").and(contains("wrote Cargo.toml")));
}

#[test]
fn colour_is_off_without_a_terminal_and_on_when_asked() {
    let sandbox = Sandbox::new();
    let plain = sandbox
        .nestflux()
        .env_remove("NO_COLOR")
        .args(["new", "1x", "--yes"])
        .assert()
        .code(2);
    assert!(!String::from_utf8_lossy(&plain.get_output().stderr).contains('\u{1b}'));
    let coloured = sandbox
        .nestflux()
        .env_remove("NO_COLOR")
        .args(["--color", "always", "new", "1x", "--yes"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&coloured.get_output().stderr).contains("\u{1b}["));
}

#[test]
fn dot_fills_the_current_empty_directory_and_keeps_it() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.join("svc")).unwrap();
    sandbox
        .nestflux()
        .current_dir(sandbox.join("svc"))
        .args(["new", ".", "--yes"])
        .assert()
        .success();
    assert!(sandbox.read("svc/nestflux.toml").contains("name = \"svc\""));
    let top: Vec<String> = sandbox
        .snapshot()
        .into_keys()
        .filter(|k| k.matches('/').count() == 1 && k.ends_with('/'))
        .collect();
    assert_eq!(top, ["svc/"], "no staging directory may be left behind");
}

/// `KEY=value` of a line in a generated `.env`.
fn env_value(env: &str, key: &str) -> String {
    env.lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in .env:\n{env}"))
        .to_owned()
}

#[test]
fn two_new_projects_get_different_secrets_kept_out_of_nestflux_toml() {
    let sandbox = Sandbox::new();
    for name in ["first", "second"] {
        sandbox
            .nestflux()
            .args(["new", name, "--idp", "keycloak", "--yes"])
            .assert()
            .success();
    }
    let first = sandbox.read("first/.env");
    let second = sandbox.read("second/.env");
    for key in [
        "DEV_CLIENT_SECRET",
        "DEV_PASSWORD_ADMIN",
        "DEV_PASSWORD_VIEWER",
        "KEYCLOAK_ADMIN_PASSWORD",
    ] {
        let (a, b) = (env_value(&first, key), env_value(&second, key));
        assert!(a.len() >= 32, "{key} is too short: {a}");
        assert_ne!(a, b, "{key} is the same in two projects");
        // The realm export holds the same secrets; nestflux.toml and the
        // committed files hold none.
        if key.starts_with("DEV_") {
            assert!(
                sandbox
                    .read("first/deploy/keycloak/realm.json")
                    .contains(&a)
            );
        }
        assert!(!sandbox.read("first/nestflux.toml").contains(&a));
        assert!(!sandbox.read("first/compose.yaml").contains(&a));
    }
}

#[test]
fn the_local_env_file_points_at_the_compose_idp_and_is_git_ignored() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["new", "shop", "--idp", "authentik", "--yes"])
        .assert()
        .success()
        .stderr(contains("docker compose up -d"));
    let env = sandbox.read("shop/.env");
    assert_eq!(
        env_value(&env, "AUTH_ISSUER_URL"),
        "http://localhost:9000/application/o/shop/"
    );
    assert_eq!(env_value(&env, "AUTH_AUDIENCE"), "shop");
    assert!(sandbox.read("shop/.gitignore").lines().any(|l| l == ".env"));
    assert!(
        sandbox
            .join("shop/deploy/authentik/blueprint.yaml")
            .is_file()
    );
    assert!(!sandbox.join("shop/deploy/keycloak").exists());
}
