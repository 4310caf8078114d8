//! The proof that generated projects work: for a matrix of answers that
//! covers every identity provider, every database and every feature on and
//! off, generate the project, then inside it run `cargo fmt --check`,
//! `cargo build`, `cargo clippy --all-targets -- -D warnings` and
//! `cargo test`.
//!
//! All variants share one `CARGO_TARGET_DIR` (`target/generated-projects/target`)
//! so their dependencies compile once; the first run is cold (minutes), later
//! runs rebuild only the generated crates. Set `NESTFLUX_MATRIX=<variant>[,…]`
//! to run only some variants while iterating, and
//! `NESTFLUX_MATRIX_TARGET_DIR=<dir>` to build elsewhere (e.g. to time a cold run).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

#[cfg(unix)]
mod dev_probe;
#[cfg(unix)]
mod dev_support;

/// One generated project: a name, the `nestflux new` flags that make it, and
/// nestflux commands run inside it afterwards (`add role`, ...), so that the
/// build and tests prove the edited project too.
struct Variant {
    name: &'static str,
    args: &'static [&'static str],
    then: &'static [&'static [&'static str]],
}

/// The defences on by default.
const DEFAULT_FEATURES: &str = "headers,rate-limit,cors,audit-log,encryption";
/// Every key: the defaults plus the deployment options `redis` and `tls`, and
/// the browser sessions.
const ALL_FEATURES: &str = "headers,rate-limit,cors,audit-log,encryption,redis,tls,session";

const VARIANTS: &[Variant] = &[
    // Every key at once: the redis and tls code and tests (against the local
    // Redis, and a certificate made at test time) without a variant each.
    Variant {
        name: "keycloak-sqlite-all",
        args: &[
            "--idp",
            "keycloak",
            "--db",
            "sqlite",
            "--features",
            ALL_FEATURES,
            // The longest name allowed, sorting after every dependency: no
            // generated line may depend on the name's length or rank (rustfmt).
            "--name",
            "zulu-shop-with-the-longest-nam",
        ],
        then: &[
            &["add", "role", "auditor", "--permissions", "items:read"],
            &[
                "add",
                "permission",
                "reports:read",
                "--roles",
                "auditor,admin",
            ],
        ],
    },
    Variant {
        name: "authentik-sqlite-none",
        args: &["--idp", "authentik", "--db", "sqlite", "--features", "none"],
        then: &[],
    },
    // PostgreSQL, against the server of TEST_DATABASE_URL: every feature with
    // the IdP that has no compose file of its own, and with another IdP the
    // least a session needs (its events then only logged, no audit table).
    Variant {
        name: "oidc-postgres-all",
        args: &[
            "--idp",
            "oidc",
            "--db",
            "postgres",
            "--features",
            ALL_FEATURES,
        ],
        then: &[],
    },
    Variant {
        name: "authentik-postgres-session",
        args: &[
            "--idp",
            "authentik",
            "--db",
            "postgres",
            "--features",
            "encryption,session",
        ],
        then: &[],
    },
    Variant {
        name: "oidc-sqlite-defaults",
        args: &[
            "--idp",
            "oidc",
            "--db",
            "sqlite",
            "--features",
            DEFAULT_FEATURES,
        ],
        then: &[],
    },
];

/// A check run against a variant after its steps passed, reusing what they
/// built: the project directory and the shared target directory (the debug
/// binary is `<target>/debug/<crate name>`). Each probe decides for itself
/// whether it applies to a variant and returns `Ok(())` when it does not.
type Probe = fn(variant: &Variant, project: &Path, target_dir: &Path) -> Result<(), String>;

/// The probes, by name (the name is shown in failures and timings). Outside
/// tools and running services are driven from here, so that no variant is
/// built twice.
const PROBES: &[(&str, Probe)] = &[
    ("rbac-fixtures", rbac_fixtures),
    // `nestflux dev`: the service against the development identity provider
    // (tests/dev_probe).
    #[cfg(unix)]
    ("nestflux dev", dev_probe::probe),
];

/// The generated service's policy parser (`templates/src/rbac.rs`, through
/// its `check-policy` command) accepts and refuses the same policies as
/// nestflux's (`src/rbac.rs`, whose unit tests run over the same files), and
/// refuses each with the message its fixture names; the project's own policy
/// (after the variant's `add` commands) passes too. Applies to every variant.
fn rbac_fixtures(_variant: &Variant, project: &Path, target_dir: &Path) -> Result<(), String> {
    let name = nestflux::project::Project::open(project)
        .map_err(|e| format!("cannot read the project's answers: {e}"))?
        .answers
        .name;
    let binary = target_dir
        .join("debug")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let check = |file: Option<&Path>| -> Result<Output, String> {
        let mut command = Command::new(&binary);
        command.arg("check-policy").current_dir(project);
        command.args(file);
        command
            .output()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))
    };
    let own = check(None)?;
    if !own.status.success() {
        return Err(format!(
            "`check-policy` refuses the project's own config/rbac.toml:\n{}",
            tail(&own, 10)
        ));
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rbac");
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for (kind, accept) in [("accept", true), ("refuse", false)] {
        let dir = fixtures.join(kind);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        for file in files {
            let output = check(Some(&file))?;
            checked += 1;
            let stderr = String::from_utf8_lossy(&output.stderr);
            let label = format!("{kind}/{}", file.file_name().unwrap().to_string_lossy());
            if output.status.success() != accept {
                disagreements.push(format!(
                    "{label}: {} ({})",
                    if accept { "refused" } else { "accepted" },
                    stderr.trim()
                ));
                continue;
            }
            if !accept {
                let text = std::fs::read_to_string(&file).map_err(|e| format!("{label}: {e}"))?;
                let expected = text
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("# refuse:"))
                    .ok_or_else(|| format!("{label} does not start with `# refuse:`"))?
                    .trim();
                if !stderr.contains(expected) {
                    disagreements.push(format!(
                        "{label}: the message does not contain `{expected}`: {}",
                        stderr.trim()
                    ));
                }
            }
        }
    }
    if checked < 10 {
        return Err(format!("only {checked} fixtures in {}", fixtures.display()));
    }
    if disagreements.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the generated parser disagrees with nestflux's on {} of {checked} fixtures:\n{}",
            disagreements.len(),
            disagreements.join("\n")
        ))
    }
}

/// The steps run inside each generated project, in order.
/// `--locked`: the project builds with the `Cargo.lock` nestflux wrote, as
/// its own CI does, and fails if cargo would change it.
const STEPS: &[&[&str]] = &[
    &["fmt", "--check"],
    &["build", "--locked"],
    &[
        "clippy",
        "--locked",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ],
    &["test", "--locked"],
];

fn workdir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/generated-projects")
}

fn selected() -> Vec<&'static Variant> {
    match std::env::var("NESTFLUX_MATRIX") {
        Ok(filter) if !filter.is_empty() => {
            let wanted: Vec<&str> = filter.split(',').collect();
            let chosen: Vec<_> = VARIANTS
                .iter()
                .filter(|v| wanted.contains(&v.name))
                .collect();
            assert!(
                !chosen.is_empty(),
                "NESTFLUX_MATRIX={filter} matches no variant"
            );
            chosen
        }
        _ => VARIANTS.iter().collect(),
    }
}

fn tail(output: &Output, lines: usize) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The server the PostgreSQL variants test against: ours, or the local one.
fn test_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Generates `variant` and runs every step; returns the failure, if any,
/// naming the variant and the command and showing the end of its output.
fn check(variant: &Variant, target_dir: &Path) -> Result<(), String> {
    let dir = workdir().join(variant.name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("{}: cannot clean {}: {e}", variant.name, dir.display()))?;
    }
    let generated = Command::new(env!("CARGO_BIN_EXE_nestflux"))
        .arg("new")
        .arg(&dir)
        .args(variant.args)
        .arg("--quiet")
        .output()
        .expect("run nestflux");
    if !generated.status.success() {
        return Err(format!(
            "{}: `nestflux new` failed:\n{}",
            variant.name,
            tail(&generated, 40)
        ));
    }
    for command in variant.then {
        let output = Command::new(env!("CARGO_BIN_EXE_nestflux"))
            .args(*command)
            .current_dir(&dir)
            .output()
            .expect("run nestflux");
        if !output.status.success() {
            return Err(format!(
                "{}: `nestflux {}` failed:\n{}",
                variant.name,
                command.join(" "),
                tail(&output, 40)
            ));
        }
    }
    for step in STEPS {
        let started = Instant::now();
        let output = Command::new(env!("CARGO"))
            .args(*step)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", target_dir)
            // Lean debug builds: no incremental caches and no debug info keep
            // each variant at tens of MB in the shared target dir.
            .env("CARGO_INCREMENTAL", "0")
            .env("CARGO_PROFILE_DEV_DEBUG", "0")
            .env("CARGO_TERM_COLOR", "never")
            // The generated project's own tests must not depend on our env.
            .env_remove("RUSTFLAGS")
            .env_remove("DATABASE_URL")
            // The PostgreSQL variants' tests create and drop their databases here.
            .env("TEST_DATABASE_URL", test_database_url())
            .output()
            .expect("run cargo");
        eprintln!(
            "[{}] cargo {} ({:.1}s)",
            variant.name,
            step.join(" "),
            started.elapsed().as_secs_f64()
        );
        if !output.status.success() {
            return Err(format!(
                "{}: `cargo {}` failed ({}); last lines:\n{}",
                variant.name,
                step.join(" "),
                output.status,
                tail(&output, 60)
            ));
        }
    }
    for (name, probe) in PROBES {
        let started = Instant::now();
        let outcome = probe(variant, &dir, target_dir);
        eprintln!(
            "[{}] probe {name} ({:.1}s)",
            variant.name,
            started.elapsed().as_secs_f64()
        );
        outcome.map_err(|e| format!("{}: probe `{name}` failed:\n{e}", variant.name))?;
    }
    Ok(())
}

#[test]
fn every_generated_variant_builds_is_clippy_clean_and_passes_its_own_tests() {
    let target_dir = std::env::var_os("NESTFLUX_MATRIX_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workdir().join("target"));
    std::fs::create_dir_all(&target_dir).unwrap();
    let started = Instant::now();
    let failures: Vec<String> = selected()
        .into_iter()
        .filter_map(|variant| check(variant, &target_dir).err())
        .collect();
    eprintln!(
        "generated-project matrix: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} variant(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
