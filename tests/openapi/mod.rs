//! The build matrix's probe of a generated service's API description, with
//! outside tools (installed by `.ci/install-tools` into target/tools):
//!
//! - the document `<binary> openapi` prints is the committed `openapi.json`
//!   and passes `openapi-spec-validator`;
//! - Schemathesis, from that document, drives the running service (built by
//!   the matrix steps, on a database of its own, against the development
//!   provider on a free port) with an admin's and a viewer's real tokens,
//!   and every response conforms: no server error, and status code, content
//!   type, body schema and headers as documented. Bounded: a fixed number
//!   of examples per operation, a fixed seed, a timeout per request.
//!
//! Whatever it finds is fixed in the templates, never excluded here. The
//! numbers of operations and requests are printed for the record.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nestflux::answers::{Database, Feature};
use nestflux::project::Project;

use crate::dev_support::*;
use crate::{Variant, test_database_url};

/// The checks every response must pass (Schemathesis' names).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,response_headers_conformance";
/// Test cases per operation and phase: enough to reach each documented
/// status, few enough to keep the probe within a minute per variant.
const MAX_EXAMPLES: &str = "12";
/// Reproducible runs.
const SEED: &str = "13";
/// The roles whose tokens drive the API: every permission, and the fewest.
const ROLES: &[&str] = &["admin", "viewer"];

fn tool(name: &str) -> Result<PathBuf, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/tools/bin")
        .join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: run .ci/install-tools",
            path.display()
        ))
    }
}

pub fn probe(variant: &Variant, project: &Path, target_dir: &Path) -> Result<(), String> {
    let validator = tool("openapi-spec-validator")?;
    let schemathesis = tool("schemathesis")?;
    let answers = Project::open(project)
        .map_err(|e| format!("{e:#}"))?
        .answers;
    let binary =
        target_dir
            .join("debug")
            .join(format!("{}{}", answers.name, std::env::consts::EXE_SUFFIX));
    let logs = project.with_file_name(format!("{}-openapi-probe", variant.name));
    if logs.exists() {
        std::fs::remove_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    }
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;

    // The document, printed, committed and valid.
    let printed = Command::new(&binary)
        .arg("openapi")
        .current_dir(project)
        .output()
        .map_err(|e| format!("run {} openapi: {e}", binary.display()))?;
    if !printed.status.success() {
        return Err(format!(
            "`openapi` failed: {}",
            String::from_utf8_lossy(&printed.stderr)
        ));
    }
    let committed = std::fs::read(project.join("openapi.json"))
        .map_err(|e| format!("read openapi.json: {e}"))?;
    if committed != printed.stdout {
        return Err("the committed openapi.json is not what `openapi` prints".to_owned());
    }
    let document = logs.join("openapi.json");
    std::fs::write(&document, &printed.stdout).map_err(|e| format!("write: {e}"))?;
    let validated = Command::new(&validator)
        .arg(&document)
        .output()
        .map_err(|e| format!("run openapi-spec-validator: {e}"))?;
    if !validated.status.success() {
        return Err(format!(
            "openapi-spec-validator refuses the document:\n{}{}",
            String::from_utf8_lossy(&validated.stdout),
            String::from_utf8_lossy(&validated.stderr)
        ));
    }

    // The running service, on a database of its own.
    let service_port = free_port();
    let service = format!("http://127.0.0.1:{service_port}");
    let mut env = vec![
        ("BIND_ADDR", format!("127.0.0.1:{service_port}")),
        (
            "DATABASE_URL",
            database_url(variant, answers.database, &logs)?,
        ),
        // Schemathesis is one client sending hundreds of requests a second:
        // the 429s it would meet otherwise are documented, but they would
        // stand in the way of every other answer.
        ("RATE_LIMIT_PER_SECOND", "10000".to_owned()),
        ("RATE_LIMIT_BURST", "10000".to_owned()),
    ];
    if answers.features.contains(Feature::Session) {
        env.push(("PUBLIC_BASE_URL", service.clone()));
    }
    let env_pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let issuer = DevProvider::free_issuer(project)?;
    let provider = DevProvider::start_at(project, &issuer, logs.join("provider.log"), &env_pairs)?;
    let mut command = Command::new(&binary);
    command.current_dir(project);
    for var in PROVIDER_VARS {
        command.env_remove(var);
    }
    command.envs(env.iter().cloned()).envs(provider.env());
    let mut running = Running::start("service", command, logs.join("service.log"))?;
    let ready = format!("{service}/health/ready");
    let up = wait_for(Duration::from_secs(60), || {
        running.exited().is_none() && get(&ready, &[]).is_ok_and(|r| r.status == 200)
    });
    if !up {
        return Err(format!("{ready} did not answer 200\n{}", running.tail()));
    }

    let mut outcome = Ok(());
    for role in ROLES {
        let token = provider.token(role)?;
        let started = Instant::now();
        let run = Command::new(&schemathesis)
            .args(["run", "--url", &service, "--checks", CHECKS])
            .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
            .args(["--request-timeout", "10", "--no-shrink"])
            .args(["--report", "junit", "--report-dir"])
            .arg(logs.join(format!("report-{role}")))
            .arg("--header")
            .arg(format!("Authorization: Bearer {token}"))
            .arg(&document)
            .env("NO_COLOR", "1")
            .env("SCHEMATHESIS_HOOKS", "")
            // It keeps a `.schemathesis/` cache in its working directory:
            // beside the logs, not in the repository.
            .current_dir(&logs)
            .output()
            .map_err(|e| format!("run schemathesis: {e}"))?;
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        std::fs::write(logs.join(format!("schemathesis-{role}.log")), &output)
            .map_err(|e| format!("write the log: {e}"))?;
        eprintln!(
            "[{}] schemathesis as {role} ({:.1}s): {}",
            variant.name,
            started.elapsed().as_secs_f64(),
            summary(&output)
        );
        if !run.status.success() {
            outcome = Err(format!(
                "Schemathesis found non-conforming responses as {role} ({}):\n{}\n{}",
                run.status,
                tail_of(&output, 80),
                running.tail()
            ));
            break;
        }
    }
    let stopped = running.terminate(Duration::from_secs(15));
    drop(provider);
    stopped?;
    outcome
}

/// A database of the probe's own: a file beside its logs, or a fresh
/// PostgreSQL database on the server of TEST_DATABASE_URL.
fn database_url(variant: &Variant, database: Database, logs: &Path) -> Result<String, String> {
    match database {
        Database::Sqlite => Ok(format!(
            "sqlite://{}?mode=rwc",
            logs.join("schemathesis.db").display()
        )),
        Database::Postgres => {
            let server = test_database_url();
            let name = format!("openapi_probe_{}", variant.name.replace('-', "_"));
            for statement in [
                format!("DROP DATABASE IF EXISTS {name}"),
                format!("CREATE DATABASE {name}"),
            ] {
                let output = Command::new("psql")
                    .args([server.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", &statement])
                    .output()
                    .map_err(|e| format!("run psql (install postgresql-client): {e}"))?;
                if !output.status.success() {
                    return Err(format!(
                        "psql {statement}: {}",
                        String::from_utf8_lossy(&output.stderr)
                    ));
                }
            }
            let (base, _) = server
                .rsplit_once('/')
                .ok_or_else(|| format!("TEST_DATABASE_URL `{server}` names no database"))?;
            Ok(format!("{base}/{name}"))
        }
    }
}

/// Schemathesis' own count of operations and test cases: the lines under
/// its summary's `API Operations:` and `Test cases:`.
fn summary(output: &str) -> String {
    let lines: Vec<&str> = output.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.starts_with("Tested:") {
            out.push(format!("operations {line}"));
        }
        if *line == "Test cases:"
            && let Some(next) = lines.get(index + 1)
        {
            out.push(format!("test cases: {next}"));
        }
    }
    out.join("; ")
}

fn tail_of(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
