//! Timings of `nestflux add resource` (issue #14, "under 100 ms"): the
//! release binary run as a user runs it, on a generated project (every
//! feature) that has one resource already, adding a second that refers to
//! it. Each run starts from a fresh copy of the project.
//!
//! Run with `cargo bench --bench add_resource`. Prints the best and median
//! wall time of several runs, process start included (what a user waits
//! for), and the same with rustfmt out of `PATH` (the files are then left
//! as rendered), which shows what laying out the resources' code costs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nestflux::answers::{Answers, Database, DeploySet, FeatureSet, Idp, ProjectName};

const RUNS: usize = 15;
const NESTFLUX: &str = env!("CARGO_BIN_EXE_nestflux");

fn write_project(root: &Path) {
    let answers = Answers {
        name: ProjectName::parse("bench-api").unwrap(),
        idp: Idp::Oidc,
        database: Database::Sqlite,
        features: FeatureSet::all(),
        deploy: DeploySet::none(),
    };
    let secrets = nestflux::secrets::Secrets::from_os_rng(nestflux::render::DEFAULT_ROLES);
    for (rel, bytes) in nestflux::render::render(&answers, &secrets).unwrap() {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

fn add(project: &Path, path_var: &str, args: &[&str]) {
    let status = Command::new(NESTFLUX)
        .args(["add", "resource", "--quiet"])
        .args(args)
        .current_dir(project)
        .env("PATH", path_var)
        .status()
        .unwrap();
    assert!(status.success(), "nestflux add resource {args:?} failed");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `PATH` without the directories that hold a `rustfmt`.
fn path_without_rustfmt() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| !dir.join("rustfmt").exists())
        .map(|dir| dir.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

fn measure(seed: &Path, scratch: &Path, path_var: &str) -> (Duration, Duration) {
    let mut times = Vec::new();
    for run in 0..RUNS {
        let project: PathBuf = scratch.join(format!("run{run}"));
        std::fs::create_dir_all(&project).unwrap();
        copy_dir(seed, &project);
        let started = Instant::now();
        add(
            &project,
            path_var,
            &[
                "orders",
                "customer:ref(customers)",
                "total:decimal",
                "due:date?",
            ],
        );
        times.push(started.elapsed());
        std::fs::remove_dir_all(&project).unwrap();
    }
    times.sort();
    (times[0], times[RUNS / 2])
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    write_project(&seed);
    let path = std::env::var("PATH").unwrap_or_default();
    add(
        &seed,
        &path,
        &[
            "customers",
            "name:string:max=200",
            "email:string:email:pii:unique",
            "iban:string?:encrypted:pii",
        ],
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (best, median) = measure(&seed, dir.path(), &path);
    println!(
        "add resource (release, the second resource): best {:.1} ms, median {:.1} ms over {RUNS} runs",
        ms(best),
        ms(median)
    );
    let (best, median) = measure(&seed, dir.path(), &path_without_rustfmt());
    println!(
        "  the same without rustfmt in PATH:          best {:.1} ms, median {:.1} ms",
        ms(best),
        ms(median)
    );
}
