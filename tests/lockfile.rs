//! The `Cargo.lock` generated projects ship: for every distinct set of
//! dependencies the answers can give, cargo takes it with `--locked` as it
//! is (nothing to add, nothing to drop), and the `rust-version` the projects
//! declare is the highest any locked package needs.
//!
//! The locks come from `templates/lockfile/` (see
//! `nestflux::render::lockfile`). When a template's dependencies change, the
//! first test fails and names the command that writes them again:
//! `NESTFLUX_REFRESH_LOCK=1 cargo test --locked --test lockfile` keeps every
//! locked version that still fits, `NESTFLUX_REFRESH_LOCK=update` takes the
//! newest versions (then run the build matrix). Both then check the result.
//!
//! `cargo metadata --locked --offline` resolves without compiling anything;
//! the packages are fetched once (`cargo fetch --locked`) into cargo's cache.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use nestflux::answers::{Answers, Database, Feature, FeatureSet, Idp, ProjectName};
use nestflux::render::lockfile::{Conditions, Lock, Package};
use nestflux::render::{DEFAULT_ROLES, LOCK_FILE, render_files};
use nestflux::secrets::{Secrets, seeded_rng};

const REFRESH: &str = "NESTFLUX_REFRESH_LOCK=1 cargo test --locked --test lockfile";
/// The lowest Rust the generated code itself builds with: `if let ... &&
/// let` chains (edition 2024) are stable since 1.88.
const CODE_RUST_VERSION: &str = "1.88";

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/lockfile")
}

fn workdir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lockfile")
}

/// One distinct set of dependencies: a project that has it.
struct DependencySet {
    database: Database,
    features: FeatureSet,
    cargo_toml: String,
    lock: String,
}

impl DependencySet {
    fn key(&self) -> String {
        let features: Vec<&str> = self.features.iter().map(Feature::key).collect();
        format!("{}-{}", self.database.key(), features.join("-"))
    }
}

/// Every valid set of features.
fn feature_sets() -> Vec<FeatureSet> {
    (0..1u32 << Feature::ALL.len())
        .map(|bits| {
            Feature::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, feature)| feature)
                .collect::<FeatureSet>()
        })
        .filter(|features| {
            features
                .iter()
                .all(|f| f.requires().is_none_or(|needed| features.contains(needed)))
        })
        .collect()
}

fn answers(idp: Idp, database: Database, features: FeatureSet) -> Answers {
    Answers {
        name: ProjectName::parse("lock-probe").unwrap(),
        idp,
        database,
        features,
        deploy: nestflux::answers::DeploySet::none(),
    }
}

/// What `--locked` depends on in a manifest: its dependency tables.
fn dependencies_of(cargo_toml: &str) -> String {
    let manifest: toml::Table = toml::from_str(cargo_toml).expect("Cargo.toml parses");
    [
        "dependencies",
        "dev-dependencies",
        "build-dependencies",
        "target",
    ]
    .iter()
    .map(|key| format!("{key}: {:?}", manifest.get(*key)))
    .collect::<Vec<_>>()
    .join("\n")
}

/// The features the conditions of the shipped locks name: with the
/// dependencies, all a project's lock depends on.
fn conditioned_features() -> BTreeSet<Feature> {
    let mut features = BTreeSet::new();
    for database in Database::AVAILABLE {
        let path = templates().join(format!("{}.conditions.toml", database.key()));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let conditions = Conditions::parse(&text).unwrap();
        for condition in conditions.edge {
            features.extend(
                condition
                    .features
                    .iter()
                    .filter_map(|key| Feature::from_key(key)),
            );
        }
    }
    features
}

/// One project per distinct set of dependencies, the fewest features first.
/// With `by_lock`, one per distinct lock too: per set of dependencies and of
/// the features the locks' conditions name.
fn dependency_sets_by(by_lock: bool) -> Vec<DependencySet> {
    let secrets = Secrets::generate(&mut seeded_rng(7), DEFAULT_ROLES);
    let conditioned = if by_lock {
        conditioned_features()
    } else {
        BTreeSet::new()
    };
    let mut seen = BTreeSet::new();
    let mut sets = Vec::new();
    let mut feature_sets = feature_sets();
    feature_sets.sort_by_key(|features| features.iter().count());
    for database in Database::AVAILABLE {
        for features in &feature_sets {
            for idp in Idp::ALL {
                let answers = answers(idp, database, features.clone());
                let render = |paths: &[&str]| {
                    render_files(&answers, &secrets, paths)
                        .unwrap_or_else(|e| panic!("{e}: {:?}", e.detail))
                };
                let files = render(&["Cargo.toml"]);
                let cargo_toml = String::from_utf8(files["Cargo.toml"].clone()).unwrap();
                let lock_features: Vec<Feature> = features
                    .iter()
                    .filter(|feature| conditioned.contains(feature))
                    .collect();
                if seen.insert((dependencies_of(&cargo_toml), lock_features)) {
                    // A refresh (`by_lock` off) needs no rendered lock: the
                    // shipped one may not fit a new dependency yet.
                    let lock = if by_lock {
                        String::from_utf8(render(&[LOCK_FILE])[LOCK_FILE].clone()).unwrap()
                    } else {
                        String::new()
                    };
                    sets.push(DependencySet {
                        database,
                        features: features.clone(),
                        cargo_toml,
                        lock,
                    });
                }
            }
        }
    }
    sets
}

fn dependency_sets() -> Vec<DependencySet> {
    dependency_sets_by(true)
}

/// A project directory cargo can resolve: the manifest, the lock, and empty
/// targets where the manifest names them.
fn skeleton(dir: &Path, cargo_toml: &str, lock: &str) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("benches")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), cargo_toml).unwrap();
    std::fs::write(dir.join(LOCK_FILE), lock).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    std::fs::write(dir.join("benches/verify.rs"), "fn main() {}\n").unwrap();
}

/// Runs `cargo <args>` in `dir`; the error carries cargo's message.
fn cargo(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("run cargo");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The lock at `templates/lockfile/<database>.lock`, read back as written.
fn superset(database: Database) -> String {
    std::fs::read_to_string(templates().join(format!("{}.lock", database.key()))).unwrap_or_else(
        |e| {
            panic!(
                "templates/lockfile/{}.lock: {e}; run `{REFRESH}`",
                database.key()
            )
        },
    )
}

/// The project with every feature on, for `database`.
fn all_features(sets: &[DependencySet], database: Database) -> &DependencySet {
    sets.iter()
        .filter(|set| set.database == database)
        .max_by_key(|set| set.features.iter().count())
        .expect("a set per database")
}

#[test]
fn every_dependency_set_builds_with_the_shipped_lock_as_it_is() {
    if let Ok(mode) = std::env::var("NESTFLUX_REFRESH_LOCK") {
        refresh(mode == "update");
        // The templates are compiled into nestflux: only a new build sees them.
        panic!(
            "templates/lockfile/ written again: review the diff, then check it with \
             `cargo test --locked --test lockfile`"
        );
    }
    let sets = dependency_sets();
    // Fetch every package once (from the network only when cargo's cache
    // lacks it); the checks below then run offline.
    for database in Database::AVAILABLE {
        let set = all_features(&sets, database);
        let dir = workdir().join(format!("fetch-{}", database.key()));
        skeleton(&dir, &set.cargo_toml, &set.lock);
        if let Err(error) = cargo(&dir, &["fetch", "--locked"]) {
            panic!(
                "the lock shipped with generated projects does not fit their Cargo.toml \
                 ({}, every feature); refresh it with `{REFRESH}`:\n{error}",
                database.key()
            );
        }
    }
    let mut stale = Vec::new();
    for set in &sets {
        let dir = workdir().join(set.key());
        skeleton(&dir, &set.cargo_toml, &set.lock);
        if let Err(error) = cargo(
            &dir,
            &["metadata", "--locked", "--offline", "--format-version", "1"],
        ) {
            stale.push(format!("{}: {}", set.key(), error.trim()));
        }
    }
    assert!(
        stale.is_empty(),
        "the lock shipped with generated projects is stale for {} of {} dependency sets; \
         refresh it with `{REFRESH}`:\n{}",
        stale.len(),
        sets.len(),
        stale.join("\n")
    );
}

#[test]
fn the_shipped_locks_read_back_byte_for_byte() {
    for database in Database::AVAILABLE {
        let text = superset(database);
        assert_eq!(
            Lock::parse(&text).unwrap().to_cargo_string(),
            text,
            "templates/lockfile/{}.lock",
            database.key()
        );
    }
}

#[test]
fn the_declared_rust_version_is_the_highest_any_locked_package_needs() {
    let sets = dependency_sets();
    let mut needed = CODE_RUST_VERSION.to_owned();
    let mut by = "the generated code".to_owned();
    for database in Database::AVAILABLE {
        let set = all_features(&sets, database);
        let dir = workdir().join(format!("rust-version-{}", database.key()));
        skeleton(&dir, &set.cargo_toml, &set.lock);
        let metadata = cargo(&dir, &["metadata", "--locked", "--format-version", "1"])
            .unwrap_or_else(|e| panic!("cargo metadata ({}): {e}", database.key()));
        let metadata: serde_json::Value = serde_json::from_str(&metadata).unwrap();
        for package in metadata["packages"].as_array().unwrap() {
            let Some(version) = package["rust_version"].as_str() else {
                continue;
            };
            if package["source"].is_null() {
                continue; // the project itself
            }
            if numbers(version) > numbers(&needed) {
                needed = version.to_owned();
                by = format!("{} {}", package["name"], package["version"]);
            }
        }
        let manifest: toml::Table = toml::from_str(&set.cargo_toml).unwrap();
        let declared = manifest["package"]["rust-version"].as_str().unwrap();
        assert_eq!(
            numbers(declared),
            numbers(&needed),
            "templates/Cargo.toml.jinja declares rust-version {declared}; the locked packages \
             need {needed} ({by})"
        );
    }
}

/// `1.88` or `1.88.0` as numbers, for comparing.
fn numbers(version: &str) -> Vec<u64> {
    let mut numbers: Vec<u64> = version.split('.').map(|n| n.parse().unwrap()).collect();
    numbers.resize(3, 0);
    numbers
}

/// Writes `templates/lockfile/` again: each database's lock of every
/// feature, keeping the versions it had (or the newest, with `update`), and
/// the edges that only some features bring.
fn refresh(update: bool) {
    let sets = dependency_sets_by(false);
    // Only the features that change the dependencies can keep an edge.
    let relevant: BTreeSet<Feature> = sets.iter().flat_map(|set| set.features.iter()).collect();
    for database in Database::AVAILABLE {
        let key = database.key();
        let all = all_features(&sets, database);
        let dir = workdir().join(format!("refresh-{key}"));
        let seed = std::fs::read_to_string(templates().join(format!("{key}.lock")))
            .map(|lock| rename_root(&lock, "lock-probe"))
            .unwrap_or_default();
        skeleton(&dir, &all.cargo_toml, &seed);
        if seed.is_empty() {
            std::fs::remove_file(dir.join(LOCK_FILE)).unwrap();
        }
        if update {
            cargo(&dir, &["update"]).unwrap_or_else(|e| panic!("cargo update: {e}"));
        }
        cargo(&dir, &["metadata", "--format-version", "1"])
            .unwrap_or_else(|e| panic!("cargo metadata: {e}"));
        let superset = std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap();

        // What cargo itself locks for each set, starting from the superset.
        let mut exact = Vec::new();
        for set in sets.iter().filter(|set| set.database == database) {
            let dir = workdir().join(format!("refresh-{}", set.key()));
            skeleton(&dir, &set.cargo_toml, &superset);
            cargo(&dir, &["metadata", "--offline", "--format-version", "1"])
                .unwrap_or_else(|e| panic!("cargo metadata ({}): {e}", set.key()));
            let lock = std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap();
            exact.push((set.features.clone(), edges(&Lock::parse(&lock).unwrap())));
        }
        let conditions = conditions(&edges(&Lock::parse(&superset).unwrap()), &exact, &relevant);
        std::fs::write(templates().join(format!("{key}.lock")), &superset).unwrap();
        std::fs::write(
            templates().join(format!("{key}.conditions.toml")),
            conditions,
        )
        .unwrap();
    }
}

/// The lock with its local package named `name`.
fn rename_root(lock: &str, name: &str) -> String {
    let mut parsed = Lock::parse(lock).unwrap();
    for package in &mut parsed.packages {
        if package.source.is_none() {
            package.name = name.to_owned();
        }
    }
    parsed.packages.sort_by(|a, b| a.name.cmp(&b.name));
    parsed.to_cargo_string()
}

/// Every edge of a lock (`name version` of both ends), the local package's
/// left out.
fn edges(lock: &Lock) -> BTreeMap<String, BTreeSet<String>> {
    let ids: BTreeMap<&str, Vec<&Package>> =
        lock.packages
            .iter()
            .fold(BTreeMap::new(), |mut by_name, package| {
                by_name
                    .entry(package.name.as_str())
                    .or_default()
                    .push(package);
                by_name
            });
    lock.packages
        .iter()
        .filter(|package| package.source.is_some())
        .map(|package| {
            let dependencies = package
                .dependencies
                .iter()
                .map(|entry| {
                    let mut parts = entry.split(' ');
                    let name = parts.next().unwrap();
                    let candidates = &ids[name];
                    match parts.next() {
                        Some(version) => format!("{name} {version}"),
                        None => candidates[0].id(),
                    }
                })
                .collect();
            (package.id(), dependencies)
        })
        .collect()
}

/// The conditions file: each edge of `superset` that some set's own lock
/// lacks, with the features whose presence keeps it. Panics when an edge's
/// presence is not "any of these features is on".
fn conditions(
    superset: &BTreeMap<String, BTreeSet<String>>,
    exact: &[(FeatureSet, BTreeMap<String, BTreeSet<String>>)],
    relevant: &BTreeSet<Feature>,
) -> String {
    let mut out = String::from(
        "# Dependencies of packages in the lock beside this file that exist only\n\
         # when one of the features is on (nestflux drops them otherwise).\n\
         # Written by `NESTFLUX_REFRESH_LOCK=1 cargo test --locked --test lockfile`.\n",
    );
    for (from, dependencies) in superset {
        for to in dependencies {
            let seen: Vec<(&FeatureSet, bool)> = exact
                .iter()
                .filter(|(_, lock)| lock.contains_key(from))
                .map(|(features, lock)| (features, lock[from].contains(to)))
                .collect();
            if seen.iter().all(|(_, present)| *present) {
                continue;
            }
            let keeping: Vec<Feature> = relevant
                .iter()
                .copied()
                .filter(|feature| {
                    seen.iter()
                        .all(|(features, present)| *present || !features.contains(*feature))
                })
                .collect();
            for (features, present) in &seen {
                let expected = keeping.iter().any(|feature| features.contains(*feature));
                assert_eq!(
                    *present, expected,
                    "the edge {from} -> {to} is not kept by \"any of some features\" ({features})"
                );
            }
            let keys: Vec<String> = keeping
                .iter()
                .map(|feature| format!("\"{}\"", feature.key()))
                .collect();
            out.push_str(&format!(
                "\n[[edge]]\nfrom = \"{from}\"\nto = \"{to}\"\nfeatures = [{}]\n",
                keys.join(", ")
            ));
        }
    }
    out
}
