//! Timings of `nestflux audit-config` (issue #7, "fast"): a generated
//! project, and a synthetic project of 10,000 committed files beside a
//! `target/` and an ignored directory that must not be read.
//!
//! Run with `cargo bench --bench audit`. Prints the best and median time
//! of several runs, loading included (walk, read, parse) — what a user waits
//! for, minus process start.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use nestflux::answers::{Answers, Database, DeploySet, FeatureSet, Idp, ProjectName};
use nestflux::audit::{Audit, Date, Project};

const RUNS: usize = 15;

fn write(root: &Path, rel: &str, contents: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn generated(root: &Path) {
    let answers = Answers {
        name: ProjectName::parse("bench-api").unwrap(),
        idp: Idp::Keycloak,
        database: Database::Sqlite,
        features: FeatureSet::all(),
        deploy: DeploySet::parse_list("kubernetes").unwrap(),
    };
    let secrets = nestflux::secrets::Secrets::from_os_rng(nestflux::render::DEFAULT_ROLES);
    for (rel, bytes) in nestflux::render::render(&answers, &secrets).unwrap() {
        write(root, &rel, &bytes);
    }
}

/// A generated project plus 10,000 committed files: Rust sources (about
/// 2 KiB each), TOML and YAML configuration and env files; and, to be
/// skipped, 2,000 files in `target/`, 2,000 in an ignored `vendor-cache/`
/// and one 5 MiB file.
fn synthetic(root: &Path) -> usize {
    generated(root);
    let gitignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    write(
        root,
        ".gitignore",
        format!("{gitignore}/vendor-cache\n").as_bytes(),
    );
    let mut rust = String::new();
    for i in 0..40 {
        let _ = writeln!(
            rust,
            "/// Handler number {i}.\npub async fn handler_{i}(state: State<AppState>) -> Result<Json<Item>, ApiError> {{\n    let item = repo::get(&state.db, {i}).await?;\n    Ok(Json(item))\n}}"
        );
    }
    let committed = 10_000;
    for i in 0..committed {
        let dir = format!("crates/part{:02}/src", i / 200);
        match i % 10 {
            0 => write(
                root,
                &format!("{dir}/settings_{i}.toml"),
                format!(
                    "[service]\nname = \"svc{i}\"\nport = {}\nlog = \"info\"\n",
                    8000 + i % 1000
                )
                .as_bytes(),
            ),
            1 => write(
                root,
                &format!("{dir}/deploy_{i}.yaml"),
                format!(
                    "service:\n  name: svc{i}\n  replicas: 2\n  env:\n    APP_ENV: development\n"
                )
                .as_bytes(),
            ),
            2 => write(
                root,
                &format!("{dir}/svc{i}/.env.example"),
                b"APP_ENV=development\nBIND_ADDR=127.0.0.1:8080\nRATE_LIMIT_PER_SECOND=10\n",
            ),
            _ => write(root, &format!("{dir}/module_{i}.rs"), rust.as_bytes()),
        }
    }
    for i in 0..2_000 {
        write(
            root,
            &format!("target/debug/deps/artifact_{i}.rs"),
            rust.as_bytes(),
        );
        write(root, &format!("vendor-cache/pkg_{i}.rs"), rust.as_bytes());
    }
    write(root, "assets/huge.sql", &vec![b'x'; 5 * 1024 * 1024]);
    committed
}

fn time(label: &str, root: &Path) {
    let today = Date::today();
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut loads: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut summary = String::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let project = Project::load(root).expect("load");
        loads.push(started.elapsed());
        let audit = Audit::run(&project, today);
        times.push(started.elapsed());
        summary = format!(
            "{} files read, {} findings, {} skipped as too large",
            project.files.len(),
            audit.findings.len(),
            project.too_large.len()
        );
    }
    times.sort();
    loads.sort();
    println!(
        "{label:<34} best {:>7.1} ms   median {:>7.1} ms   (loading: median {:.1} ms; {summary})",
        times[0].as_secs_f64() * 1e3,
        times[RUNS / 2].as_secs_f64() * 1e3,
        loads[RUNS / 2].as_secs_f64() * 1e3,
    );
}

/// The slowest rules on `root`, one run each (after a warm-up run).
fn slowest_rules(root: &Path) {
    let project = Project::load(root).expect("load");
    let _ = Audit::run(&project, Date::today());
    let mut times: Vec<(Duration, &str)> = nestflux::audit::rules::ALL
        .iter()
        .map(|rule| {
            let started = Instant::now();
            let mut findings = nestflux::audit::Findings::new(rule);
            (rule.check)(&project, &mut findings);
            (started.elapsed(), rule.id)
        })
        .collect();
    times.sort_by(|a, b| b.cmp(a));
    let top: Vec<String> = times
        .iter()
        .take(5)
        .map(|(t, id)| format!("{id} {:.1} ms", t.as_secs_f64() * 1e3))
        .collect();
    println!("{:<34} {}", "  slowest rules", top.join(", "));
}

fn main() {
    let small = tempfile::tempdir().unwrap();
    generated(small.path());
    time("generated project", small.path());

    let large = tempfile::tempdir().unwrap();
    let committed = synthetic(large.path());
    time(
        &format!("synthetic, {committed} committed files"),
        large.path(),
    );
    slowest_rules(large.path());
}
