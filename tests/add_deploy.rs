//! `nestflux add deploy kubernetes` on an existing project: it writes
//! exactly what `nestflux new --deploy kubernetes` would have, only the new
//! files, records the target in `nestflux.toml`, and never replaces a file.

mod common;

use common::{Sandbox, tree};
use predicates::str::contains;

const ANSWERS: &[&str] = &[
    "--idp",
    "oidc",
    "--db",
    "postgres",
    "--features",
    "headers,rate-limit,redis,encryption",
];

/// A project `api/` made by `nestflux new` with `extra` flags.
fn project(sandbox: &Sandbox, dir: &str, extra: &[&str]) {
    sandbox
        .nestflux()
        .args(["new", dir, "--name", "api", "--yes", "--quiet"])
        .args(ANSWERS)
        .args(extra)
        .assert()
        .success();
}

/// The files of a project, without `.env` (its keys are random per project).
fn files(sandbox: &Sandbox, dir: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = tree(&sandbox.join(dir));
    files.remove(".env");
    files
}

#[test]
fn adding_kubernetes_later_gives_the_project_new_would_have_made() {
    let sandbox = Sandbox::new();
    project(&sandbox, "later", &[]);
    project(&sandbox, "at-once", &["--deploy", "kubernetes"]);
    let before = files(&sandbox, "later");
    sandbox
        .nestflux()
        .args(["add", "deploy", "kubernetes", "--project", "later"])
        .assert()
        .success()
        .stderr(contains("Added"))
        .stderr(contains("deploy/kubernetes/"))
        // The README gains a section and the files in its layout: a file the
        // user may have edited, so `add` leaves it to `upgrade`'s merge.
        .stderr(contains("left as they are"))
        .stderr(contains("README.md"));
    let after = files(&sandbox, "later");
    // Only new files, nestflux.toml and the baseline `upgrade` merges against.
    for (path, bytes) in &before {
        if !["nestflux.toml", ".nestflux/baseline.tar.gz"].contains(&path.as_str()) {
            assert!(after.get(path) == Some(bytes), "{path} changed");
        }
    }
    // `upgrade` then brings the README in: the project is the one
    // `new --deploy kubernetes` makes, baseline included.
    sandbox
        .nestflux()
        .args(["upgrade", "--project", "later"])
        .assert()
        .success();
    let after = files(&sandbox, "later");
    assert_eq!(after, files(&sandbox, "at-once"));
    assert!(
        before[".nestflux/baseline.tar.gz"] != after[".nestflux/baseline.tar.gz"],
        "the baseline did not follow"
    );
    assert!(sandbox.read("later/nestflux.toml").contains("[deploy]\n"));
}

#[test]
fn adding_it_again_changes_nothing_and_says_so() {
    let sandbox = Sandbox::new();
    project(&sandbox, "api", &["--deploy", "kubernetes"]);
    std::fs::remove_file(sandbox.join("api/deploy/kubernetes/overlays/dev/config.yaml")).unwrap();
    let before = sandbox.snapshot();
    sandbox
        .nestflux()
        .args(["add", "deploy", "kubernetes", "--project", "api"])
        .assert()
        .success()
        .stderr(contains("already lists `kubernetes`"));
    // A file the user deleted does not come back.
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn dry_run_lists_the_files_and_the_change_and_writes_nothing() {
    let sandbox = Sandbox::new();
    project(&sandbox, "api", &[]);
    let before = sandbox.snapshot();
    sandbox
        .nestflux()
        .args([
            "add",
            "deploy",
            "kubernetes",
            "--dry-run",
            "--project",
            "api",
        ])
        .assert()
        .success()
        .stdout(contains("deploy/kubernetes/base/deployment.yaml"))
        .stdout(contains("+[deploy]"))
        .stdout(contains("+targets = [\"kubernetes\"]"))
        .stdout(contains("nothing was written"));
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn a_file_in_the_way_stops_it_before_anything_is_written() {
    let sandbox = Sandbox::new();
    project(&sandbox, "api", &[]);
    sandbox.write("api/deploy/kubernetes/base/deployment.yaml", "mine\n");
    let before = sandbox.snapshot();
    sandbox
        .nestflux()
        .args(["add", "deploy", "kubernetes", "--project", "api"])
        .assert()
        .code(1)
        .stderr(contains("already exist; nothing was written"))
        .stderr(contains("deploy/kubernetes/base/deployment.yaml"));
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn an_edited_project_file_keeps_every_edit() {
    let sandbox = Sandbox::new();
    project(&sandbox, "api", &[]);
    let path = "api/nestflux.toml";
    let edited = sandbox.read(path).replace(
        "allow = [",
        "# our own note\nallow = [\n  { rule = \"NF019\", reason = \"load test\" },",
    );
    sandbox.write(path, &edited);
    sandbox
        .nestflux()
        .args(["add", "deploy", "kubernetes", "--project", "api"])
        .assert()
        .success();
    let after = sandbox.read(path);
    let (head, tail) = after.split_once("\n[deploy]\n").expect("a [deploy] table");
    // The table went in before [audit], and nothing else moved.
    assert!(tail.contains("\n[audit]\n"), "{after}");
    let table_end = tail.find("\n[audit]").unwrap();
    assert_eq!(format!("{head}{}", &tail[table_end..]), edited);
}

#[test]
fn an_unknown_target_is_a_usage_error() {
    let sandbox = Sandbox::new();
    sandbox
        .nestflux()
        .args(["add", "deploy", "nomad"])
        .assert()
        .code(2)
        .stderr(contains("kubernetes"));
}

#[test]
fn a_preset_with_kubernetes_generates_the_manifests_and_deploy_none_overrides_it() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "team.toml",
        "[project]\ndatabase = \"postgres\"\n\n[deploy]\ntargets = [\"kubernetes\"]\n",
    );
    sandbox
        .nestflux()
        .args(["new", "with", "--preset", "team.toml", "--yes", "--quiet"])
        .assert()
        .success();
    assert!(
        sandbox
            .join("with/deploy/kubernetes/base/deployment.yaml")
            .is_file()
    );
    assert!(
        sandbox
            .read("with/nestflux.toml")
            .contains("targets = [\"kubernetes\"]")
    );
    sandbox
        .nestflux()
        .args([
            "new",
            "without",
            "--preset",
            "team.toml",
            "--deploy",
            "none",
            "--yes",
            "--quiet",
        ])
        .assert()
        .success();
    assert!(!sandbox.join("without/deploy/kubernetes").exists());
    assert!(!sandbox.read("without/nestflux.toml").contains("[deploy]"));
}
