//! The Kubernetes manifests (`--deploy kubernetes`) and the Dockerfile,
//! checked by the outside tools a platform team would run on them: for each
//! database, with and without `redis` (and so with one replica or an
//! autoscaler), and with `tls` and `session` on and off,
//!
//! - `kubectl kustomize` builds each overlay (offline),
//! - `kubernetes-validate --strict` validates every built object against the
//!   Kubernetes schemas,
//! - `checkov` reports no failed check on the built manifests and the
//!   Dockerfiles (one run over every variant; a skip must carry its reason
//!   next to the object, and only the skips listed here are accepted),
//! - `hadolint` is clean on every Dockerfile,
//!
//! and, without tools, that the manifests say what the service needs. No
//! cluster is needed (none is available here): this is what can be
//! validated statically. The tools are installed by `bash .ci/install-tools`
//! into `target/tools/bin`; a missing tool fails the test naming that
//! command.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use common::Sandbox;
use serde_norway::Value as Yaml;

/// The answer sets rendered, as `nestflux new` flags.
const VARIANTS: &[(&str, &[&str])] = &[
    (
        "sqlite-keycloak-defaults",
        &["--idp", "keycloak", "--db", "sqlite"],
    ),
    (
        "sqlite-authentik-all",
        &[
            "--idp",
            "authentik",
            "--db",
            "sqlite",
            "--features",
            "headers,rate-limit,cors,audit-log,encryption,redis,tls,session",
        ],
    ),
    (
        "postgres-oidc-defaults",
        &["--idp", "oidc", "--db", "postgres"],
    ),
    (
        "postgres-keycloak-redis",
        &[
            "--idp",
            "keycloak",
            "--db",
            "postgres",
            "--features",
            "headers,rate-limit,cors,audit-log,encryption,redis,tls,session",
        ],
    ),
    (
        "postgres-authentik-none",
        &[
            "--idp",
            "authentik",
            "--db",
            "postgres",
            "--features",
            "none",
        ],
    ),
];

const OVERLAYS: &[&str] = &["dev", "production"];

/// The checkov checks skipped on purpose, each with the reason the
/// manifests give next to the object.
const ACCEPTED_SKIPS: &[&str] = &[
    // The service reads its configuration from the environment only; the
    // secrets come from a Secret by reference.
    "CKV_K8S_35",
];

/// The directory the tools are installed into by `.ci/install-tools`.
fn tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin")
}

/// A tool from `target/tools/bin`, or a failure naming the installer.
fn tool(name: &str) -> Command {
    let path = tools().join(name);
    assert!(
        path.exists(),
        "`{name}` is not installed in {}: run `bash .ci/install-tools` (what .ci/run does) and test again",
        tools().display()
    );
    Command::new(path)
}

/// Runs `command`, failing with its output unless it succeeds; returns its
/// standard output.
fn run(mut command: Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The rendered variants and their built overlays, made once per test run.
struct Rendered {
    sandbox: Sandbox,
    /// `<variant>-<overlay>.yaml` → the output of `kubectl kustomize`.
    built: BTreeMap<String, String>,
    /// The directory holding the built overlays and a copy of each
    /// Dockerfile (`<variant>.Dockerfile`): what the scanners read. Not
    /// under a hidden directory (such as tempfile's `.tmpXXXX`): checkov
    /// skips those.
    scan_dir: PathBuf,
    _scan: tempfile::TempDir,
}

fn rendered() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let started = Instant::now();
        let sandbox = Sandbox::new();
        let scan = tempfile::Builder::new()
            .prefix("nestflux-kubernetes-")
            .tempdir()
            .unwrap();
        let scan_dir = scan.path().to_owned();
        let mut built = BTreeMap::new();
        for (variant, flags) in VARIANTS {
            sandbox
                .nestflux()
                .args(["new", variant, "--deploy", "kubernetes", "--yes", "--quiet"])
                .args(*flags)
                .assert()
                .success();
            let project = sandbox.join(variant);
            std::fs::copy(
                project.join("Dockerfile"),
                scan_dir.join(format!("{variant}.Dockerfile")),
            )
            .unwrap();
            for overlay in OVERLAYS {
                let mut kustomize = tool("kubectl");
                kustomize
                    .arg("kustomize")
                    .arg(project.join("deploy/kubernetes/overlays").join(overlay));
                let yaml = run(kustomize, &format!("kubectl kustomize {variant} {overlay}"));
                let name = format!("{variant}-{overlay}.yaml");
                std::fs::write(scan_dir.join(&name), &yaml).unwrap();
                built.insert(name, yaml);
            }
        }
        eprintln!(
            "rendered {} variants and built {} overlays in {:.1}s",
            VARIANTS.len(),
            built.len(),
            started.elapsed().as_secs_f64()
        );
        Rendered {
            sandbox,
            built,
            scan_dir,
            _scan: scan,
        }
    })
}

/// The objects of a multi-document YAML text.
fn objects(yaml: &str) -> Vec<Yaml> {
    use serde::Deserialize as _;
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| Yaml::deserialize(doc).expect("valid YAML"))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn of_kind<'a>(objects: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some(kind))
        .collect()
}

#[test]
fn every_overlay_builds_with_kubectl_kustomize() {
    let rendered = rendered();
    assert_eq!(rendered.built.len(), VARIANTS.len() * OVERLAYS.len());
    for (name, yaml) in &rendered.built {
        let objects = objects(yaml);
        for kind in [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Deployment",
            "Service",
            "NetworkPolicy",
            "PodDisruptionBudget",
        ] {
            assert!(!of_kind(&objects, kind).is_empty(), "{name} has no {kind}");
        }
        assert!(
            of_kind(&objects, "Secret").is_empty(),
            "{name} renders a Secret: secrets are created outside the manifests"
        );
    }
}

#[test]
fn every_object_validates_against_the_kubernetes_schemas() {
    let rendered = rendered();
    let started = Instant::now();
    let mut validate = tool("kubernetes-validate");
    validate.args(["--strict", "--quiet"]);
    validate.args(
        rendered
            .built
            .keys()
            .map(|name| rendered.scan_dir.join(name)),
    );
    run(validate, "kubernetes-validate --strict");
    eprintln!(
        "kubernetes-validate: {} files in {:.1}s",
        rendered.built.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn hadolint_is_clean_on_every_dockerfile() {
    let rendered = rendered();
    for (variant, _) in VARIANTS {
        let mut hadolint = tool("hadolint");
        hadolint
            .arg("--no-color")
            .arg(rendered.scan_dir.join(format!("{variant}.Dockerfile")));
        let out = run(hadolint, &format!("hadolint on {variant}'s Dockerfile"));
        assert!(out.trim().is_empty(), "hadolint on {variant}:\n{out}");
    }
}

#[test]
fn checkov_reports_no_failed_check_on_the_manifests_and_dockerfiles() {
    let rendered = rendered();
    let started = Instant::now();
    let mut checkov = tool("checkov");
    checkov
        .arg("--directory")
        .arg(&rendered.scan_dir)
        .args(["--framework", "kubernetes", "dockerfile"])
        // Offline: the built-in checks only, no download of others.
        .args(["--skip-download", "--output", "json"]);
    // checkov exits 1 when a check fails: read its report either way.
    let output = checkov.output().expect("run checkov");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON report ({e}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let reports = report.as_array().expect("one report per framework");
    let mut ran = BTreeMap::new();
    for report in reports {
        let framework = report["check_type"].as_str().unwrap_or_default();
        let results = &report["results"];
        let failed: Vec<String> = results["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{} {} ({}): {}",
                    c["check_id"].as_str().unwrap_or_default(),
                    c["file_path"].as_str().unwrap_or_default(),
                    c["resource"].as_str().unwrap_or_default(),
                    c["check_name"].as_str().unwrap_or_default()
                )
            })
            .collect();
        assert!(
            failed.is_empty(),
            "checkov ({framework}) failed checks:\n{}",
            failed.join("\n")
        );
        for skipped in results["skipped_checks"].as_array().into_iter().flatten() {
            let id = skipped["check_id"].as_str().unwrap_or_default();
            let reason = skipped["check_result"]["suppress_comment"]
                .as_str()
                .unwrap_or_default();
            assert!(
                ACCEPTED_SKIPS.contains(&id) && reason.len() > 20,
                "checkov skipped {id} on {} with reason `{reason}`: not an accepted skip",
                skipped["resource"]
            );
        }
        let passed: Vec<&str> = results["passed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["check_id"].as_str())
            .collect();
        assert!(!passed.is_empty(), "checkov ran no {framework} check");
        let ids: std::collections::BTreeSet<&str> = passed.into_iter().collect();
        ran.insert(
            framework.to_owned(),
            ids.into_iter().collect::<Vec<_>>().join(" "),
        );
    }
    assert_eq!(
        ran.keys().map(String::as_str).collect::<Vec<_>>(),
        ["dockerfile", "kubernetes"]
    );
    eprintln!(
        "checkov in {:.1}s; checks passed: {ran:#?}",
        started.elapsed().as_secs_f64()
    );
}

/// The Deployment of a built overlay.
fn deployment(objects: &[Yaml]) -> &Yaml {
    of_kind(objects, "Deployment")[0]
}

fn config(objects: &[Yaml]) -> &Yaml {
    &of_kind(objects, "ConfigMap")[0]["data"]
}

#[test]
fn production_runs_as_production_and_dev_as_development() {
    for (name, yaml) in &rendered().built {
        let objects = objects(yaml);
        let expected = if name.ends_with("-production.yaml") {
            "production"
        } else {
            "development"
        };
        assert_eq!(
            config(&objects)["APP_ENV"].as_str(),
            Some(expected),
            "{name}"
        );
        let issuer = config(&objects)["AUTH_ISSUER_URL"].as_str().unwrap();
        assert!(issuer.starts_with("https://"), "{name}: {issuer}");
        if name.starts_with("postgres") && expected == "production" {
            assert_eq!(
                config(&objects)["DATABASE_ALLOW_UNVERIFIED_TLS"].as_str(),
                Some("false"),
                "{name}"
            );
        }
    }
}

#[test]
fn the_pod_runs_as_the_dockerfiles_user_and_only_sqlite_stays_at_one_replica() {
    let rendered = rendered();
    for (variant, _) in VARIANTS {
        let dockerfile = rendered.sandbox.read(&format!("{variant}/Dockerfile"));
        let user = dockerfile
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("USER "))
            .expect("a USER line");
        let uid: u64 = user
            .split(':')
            .next()
            .unwrap()
            .parse()
            .expect("a numeric USER");
        let objects = objects(&rendered.built[&format!("{variant}-production.yaml")]);
        let pod = &deployment(&objects)["spec"]["template"]["spec"];
        assert_eq!(
            pod["securityContext"]["runAsUser"].as_u64(),
            Some(uid),
            "{variant}"
        );
        assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
        let hpa = of_kind(&objects, "HorizontalPodAutoscaler");
        let replicas = deployment(&objects)["spec"]["replicas"].as_u64();
        // Scaling out needs PostgreSQL, and Redis when rate limits are on.
        let scales = variant.starts_with("postgres") && *variant != "postgres-oidc-defaults";
        assert_eq!(hpa.len(), usize::from(scales), "{variant}");
        assert_eq!(replicas, if scales { None } else { Some(1) }, "{variant}");
        let pvc = of_kind(&objects, "PersistentVolumeClaim");
        assert_eq!(
            pvc.len(),
            usize::from(variant.starts_with("sqlite")),
            "{variant}"
        );
    }
}

#[test]
fn every_secret_of_env_example_comes_from_the_secret_by_reference() {
    let rendered = rendered();
    for (variant, _) in VARIANTS {
        let example = rendered.sandbox.read(&format!("{variant}/.env.example"));
        // A variable is secret when its comment block says so; commented
        // out (`# REDIS_URL=...`) or not.
        let mut comment = String::new();
        let mut secrets = Vec::new();
        for line in example.lines() {
            let text = line.trim_start_matches(['#', ' ']);
            let variable = text.split_once('=').map(|(name, _)| name).filter(|name| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            });
            match variable {
                Some(name) => {
                    if comment.to_ascii_lowercase().contains("secret") {
                        secrets.push(name.to_owned());
                    }
                    comment.clear();
                }
                None if line.starts_with('#') => comment.push_str(text),
                None => comment.clear(),
            }
        }
        assert!(
            secrets.iter().any(|s| s == "DATABASE_URL"),
            "{variant}: no secret found in .env.example: {secrets:?}"
        );
        for overlay in OVERLAYS {
            let objects = objects(&rendered.built[&format!("{variant}-{overlay}.yaml")]);
            let container = &deployment(&objects)["spec"]["template"]["spec"]["containers"][0];
            let referenced: Vec<&str> = container["env"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter(|e| e["valueFrom"]["secretKeyRef"]["key"].as_str() == e["name"].as_str())
                .filter_map(|e| e["name"].as_str())
                .collect();
            for secret in &secrets {
                // A SQLite URL names the file on the volume: no credential.
                if secret == "DATABASE_URL" && variant.starts_with("sqlite") {
                    let url = config(&objects)["DATABASE_URL"].as_str().unwrap();
                    assert!(url.starts_with("sqlite:///app/data/"), "{url}");
                    continue;
                }
                // Development-only variables of compose.yaml and `cargo test`.
                if ["TEST_DATABASE_URL", "POSTGRES_PASSWORD"].contains(&secret.as_str()) {
                    continue;
                }
                assert!(
                    referenced.contains(&secret.as_str()),
                    "{variant} {overlay}: {secret} is not read from the Secret"
                );
            }
            assert!(
                container["env"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .all(|e| e.get("value").is_none()),
                "{variant} {overlay}: a literal env value"
            );
        }
    }
}

#[test]
fn the_grace_period_matches_the_services_request_timeout() {
    let limits = include_str!("../templates/src/security/limits.rs");
    assert!(
        limits.contains(&format!(
            "pub const REQUEST_TIMEOUT: Duration = Duration::from_secs({});",
            nestflux::deploy::REQUEST_TIMEOUT_SECONDS
        )),
        "the service's REQUEST_TIMEOUT changed: update nestflux::deploy::REQUEST_TIMEOUT_SECONDS"
    );
    let objects = objects(&rendered().built["postgres-keycloak-redis-production.yaml"]);
    let pod = &deployment(&objects)["spec"]["template"]["spec"];
    assert_eq!(
        pod["terminationGracePeriodSeconds"].as_u64(),
        Some(u64::from(nestflux::deploy::TERMINATION_GRACE_SECONDS))
    );
    assert_eq!(
        pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"].as_u64(),
        Some(u64::from(nestflux::deploy::PRE_STOP_SECONDS))
    );
}
