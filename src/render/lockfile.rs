//! The `Cargo.lock` of a generated project, written exactly as cargo writes
//! it, so that `cargo build --locked` accepts it as it is.
//!
//! nestflux ships one lock per database: the lock of the project with every
//! feature on (`templates/lockfile/<database>.lock`), the one the build
//! matrix proves. A project gets that lock cut down to what its own
//! `Cargo.toml` reaches: its dependencies, theirs, and so on. Some
//! dependencies of a locked package exist only because a feature of the
//! project turns them on (axum-server, with `tls`, asks hyper for HTTP/2,
//! which brings `h2`): `<database>.conditions.toml` names those edges and
//! the features that keep them, and the others are dropped before the walk.
//! Both files are written by `NESTFLUX_REFRESH_LOCK=1 cargo test --locked
//! --test lockfile`, and that test proves for every distinct set of
//! dependencies that cargo takes the result with `--locked`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

use crate::answers::{Feature, FeatureSet};

/// A parsed `Cargo.lock`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    pub version: i64,
    pub packages: Vec<Package>,
}

/// One `[[package]]` of a lock, its dependencies as cargo writes them
/// (`name`, or `name version` where the lock holds several versions).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    pub checksum: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
}

impl Package {
    /// `name version`: what identifies a package in one lock.
    pub fn id(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

#[derive(Deserialize)]
struct RawLock {
    version: i64,
    package: Vec<Package>,
}

/// The edges of a superset lock that exist only with some features on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Conditions {
    #[serde(default)]
    pub edge: Vec<Condition>,
}

/// `from` depends on `to` only when one of `features` is on.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `name version` of the dependent package.
    pub from: String,
    /// `name version` of the dependency.
    pub to: String,
    /// Feature keys (`tls`, `redis`, ...).
    pub features: Vec<String>,
}

impl Conditions {
    pub fn parse(text: &str) -> Result<Self, String> {
        let conditions: Conditions =
            toml::from_str(text).map_err(|e| format!("lock conditions: {e}"))?;
        for condition in &conditions.edge {
            if let Some(unknown) = condition
                .features
                .iter()
                .find(|key| Feature::from_key(key).is_none())
            {
                return Err(format!(
                    "lock conditions: `{}` -> `{}` names the unknown feature `{unknown}`",
                    condition.from, condition.to
                ));
            }
        }
        Ok(conditions)
    }

    /// Whether the edge `from` -> `to` exists with `features` on.
    fn keeps(&self, from: &str, to: &str, features: &FeatureSet) -> bool {
        self.edge
            .iter()
            .filter(|condition| condition.from == from && condition.to == to)
            .all(|condition| {
                condition.features.iter().any(|key| {
                    Feature::from_key(key).is_some_and(|feature| features.contains(feature))
                })
            })
    }
}

impl Lock {
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawLock = toml::from_str(text).map_err(|e| format!("Cargo.lock: {e}"))?;
        Ok(Self {
            version: raw.version,
            packages: raw.package,
        })
    }

    /// The packages of this lock by name, for [`Lock::resolve`].
    fn by_name(&self) -> HashMap<&str, Vec<&Package>> {
        let mut by_name: HashMap<&str, Vec<&Package>> = HashMap::new();
        for package in &self.packages {
            by_name.entry(&package.name).or_default().push(package);
        }
        by_name
    }

    /// The package a dependency entry of this lock names.
    fn resolve<'a>(
        by_name: &HashMap<&str, Vec<&'a Package>>,
        entry: &str,
    ) -> Result<&'a Package, String> {
        let mut parts = entry.splitn(3, ' ');
        let name = parts.next().unwrap_or_default();
        let version = parts.next();
        let mut found = by_name
            .get(name)
            .into_iter()
            .flatten()
            .copied()
            .filter(|p| version.is_none_or(|v| p.version == v));
        match (found.next(), found.next()) {
            (Some(package), None) => Ok(package),
            (None, _) => Err(format!("Cargo.lock: no package `{entry}`")),
            (Some(_), Some(_)) => Err(format!("Cargo.lock: `{entry}` is ambiguous")),
        }
    }

    /// The lock text, byte for byte as cargo writes it: packages in order of
    /// name and version, each dependency named by `name` alone unless the
    /// lock holds several versions of it.
    pub fn to_cargo_string(&self) -> String {
        let mut versions: BTreeMap<&str, usize> = BTreeMap::new();
        for package in &self.packages {
            *versions.entry(&package.name).or_default() += 1;
        }
        let encode = |id: &str| -> String {
            let name = id.split(' ').next().unwrap_or(id);
            if versions.get(name).copied().unwrap_or(0) > 1 {
                id.to_owned()
            } else {
                name.to_owned()
            }
        };
        let mut out = String::from(
            "# This file is automatically @generated by Cargo.\n\
             # It is not intended for manual editing.\n",
        );
        out.push_str(&format!("version = {}\n", self.version));
        for package in &self.packages {
            out.push_str("\n[[package]]\n");
            out.push_str(&format!("name = \"{}\"\n", package.name));
            out.push_str(&format!("version = \"{}\"\n", package.version));
            if let Some(source) = &package.source {
                out.push_str(&format!("source = \"{source}\"\n"));
            }
            if let Some(checksum) = &package.checksum {
                out.push_str(&format!("checksum = \"{checksum}\"\n"));
            }
            if !package.dependencies.is_empty() {
                out.push_str("dependencies = [\n");
                for dependency in &package.dependencies {
                    out.push_str(&format!(" \"{}\",\n", encode(dependency)));
                }
                out.push_str("]\n");
            }
        }
        out
    }
}

/// The lock of a project whose manifest is `cargo_toml`, with `features` on,
/// cut from the `superset` lock (whose root package is the all-features
/// project) under `conditions`.
pub fn for_project(
    superset: &str,
    conditions: &str,
    cargo_toml: &str,
    features: &FeatureSet,
) -> Result<String, String> {
    let superset = Lock::parse(superset)?;
    let conditions = Conditions::parse(conditions)?;
    let (name, version, wanted) = manifest_dependencies(cargo_toml)?;

    let mut roots = superset.packages.iter().filter(|p| p.source.is_none());
    let root = match (roots.next(), roots.next()) {
        (Some(root), None) => root,
        _ => return Err("Cargo.lock: expected exactly one local package".to_owned()),
    };
    // Full ids of every edge, with the conditional ones already dropped.
    let by_name = superset.by_name();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in &superset.packages {
        let id = package.id();
        let mut kept = Vec::new();
        for entry in &package.dependencies {
            let dependency = Lock::resolve(&by_name, entry)?.id();
            if conditions.keeps(&id, &dependency, features) {
                kept.push(dependency);
            }
        }
        edges.insert(id, kept);
    }
    // The project's own dependencies, as the all-features project locked them.
    let mut direct = Vec::new();
    for wanted_name in &wanted {
        let entry = edges[&root.id()]
            .iter()
            .find(|id| id.split(' ').next() == Some(wanted_name.as_str()))
            .ok_or_else(|| {
                format!(
                    "Cargo.lock: the project depends on `{wanted_name}`, which the lock of every feature does not have"
                )
            })?;
        direct.push(entry.clone());
    }
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut stack = direct.clone();
    while let Some(id) = stack.pop() {
        if reached.insert(id.clone()) {
            stack.extend(edges[&id].iter().cloned());
        }
    }

    let mut packages: Vec<Package> = superset
        .packages
        .iter()
        .filter(|p| p.source.is_some() && reached.contains(&p.id()))
        .map(|p| Package {
            dependencies: edges[&p.id()].clone(),
            ..p.clone()
        })
        .collect();
    direct.sort_by(|a, b| compare_ids(a, b));
    let own = Package {
        name,
        version,
        source: None,
        checksum: None,
        dependencies: direct,
    };
    let at = packages
        .iter()
        .position(|p| compare_ids(&p.id(), &own.id()) == Ordering::Greater)
        .unwrap_or(packages.len());
    packages.insert(at, own);
    Ok(Lock {
        version: superset.version,
        packages,
    }
    .to_cargo_string())
}

/// The package's name, version, and the names of everything it depends on
/// (normal, dev and build dependencies, every target).
fn manifest_dependencies(cargo_toml: &str) -> Result<(String, String, BTreeSet<String>), String> {
    let manifest: toml::Table =
        toml::from_str(cargo_toml).map_err(|e| format!("Cargo.toml: {e}"))?;
    let package = manifest.get("package").and_then(toml::Value::as_table);
    let field = |key: &str| {
        package
            .and_then(|p| p.get(key))
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("Cargo.toml: no `package.{key}`"))
    };
    let mut tables = Vec::new();
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        tables.extend(manifest.get(key).and_then(toml::Value::as_table));
        if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
            tables.extend(
                targets
                    .values()
                    .filter_map(|target| target.get(key))
                    .filter_map(toml::Value::as_table),
            );
        }
    }
    let names = tables
        .into_iter()
        .flat_map(|table| {
            table.iter().map(|(key, spec)| {
                spec.get("package")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(key)
                    .to_owned()
            })
        })
        .collect();
    Ok((field("name")?, field("version")?, names))
}

/// Cargo's order of packages: by name, then by version (semver precedence).
fn compare_ids(a: &str, b: &str) -> Ordering {
    let (name_a, version_a) = a.split_once(' ').unwrap_or((a, ""));
    let (name_b, version_b) = b.split_once(' ').unwrap_or((b, ""));
    name_a
        .cmp(name_b)
        .then_with(|| compare_versions(version_a, version_b))
}

/// Semver precedence: the numbers, then a pre-release sorts before its
/// release, its dot-separated identifiers numerically or by ASCII; build
/// metadata breaks remaining ties.
fn compare_versions(a: &str, b: &str) -> Ordering {
    fn split(version: &str) -> (Vec<u64>, Option<&str>, &str) {
        let (version, build) = version.split_once('+').unwrap_or((version, ""));
        let (core, pre) = match version.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (version, None),
        };
        let numbers = core.split('.').map(|n| n.parse().unwrap_or(0)).collect();
        (numbers, pre, build)
    }
    let (core_a, pre_a, build_a) = split(a);
    let (core_b, pre_b, build_b) = split(b);
    core_a
        .cmp(&core_b)
        .then_with(|| match (pre_a, pre_b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => {
                let mut a = a.split('.');
                let mut b = b.split('.');
                loop {
                    match (a.next(), b.next()) {
                        (None, None) => break Ordering::Equal,
                        (None, Some(_)) => break Ordering::Less,
                        (Some(_), None) => break Ordering::Greater,
                        (Some(x), Some(y)) => {
                            let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                                (Ok(x), Ok(y)) => x.cmp(&y),
                                (Ok(_), Err(_)) => Ordering::Less,
                                (Err(_), Ok(_)) => Ordering::Greater,
                                (Err(_), Err(_)) => x.cmp(y),
                            };
                            if order != Ordering::Equal {
                                break order;
                            }
                        }
                    }
                }
            }
        })
        .then_with(|| build_a.cmp(build_b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPERSET: &str = r#"# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 4

[[package]]
name = "all"
version = "0.1.0"
dependencies = [
 "hyper",
 "redis",
 "serde 1.0.200",
]

[[package]]
name = "h2"
version = "0.4.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aa"

[[package]]
name = "hyper"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bb"
dependencies = [
 "h2",
 "serde 1.0.200",
]

[[package]]
name = "redis"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "cc"
dependencies = [
 "serde 0.9.0",
]

[[package]]
name = "serde"
version = "0.9.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "dd"

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "ee"
"#;

    const CONDITIONS: &str = r#"
[[edge]]
from = "hyper 1.0.0"
to = "h2 0.4.1"
features = ["tls"]
"#;

    fn features(list: &str) -> FeatureSet {
        FeatureSet::parse_list(list).unwrap()
    }

    fn manifest(name: &str, dependencies: &str) -> String {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n[dependencies]\n{dependencies}"
        )
    }

    #[test]
    fn a_lock_is_written_back_exactly_as_cargo_wrote_it() {
        let lock = Lock::parse(SUPERSET).unwrap();
        assert_eq!(lock.to_cargo_string(), SUPERSET);
    }

    #[test]
    fn the_project_gets_what_its_manifest_reaches_under_its_own_name() {
        let lock = for_project(
            SUPERSET,
            CONDITIONS,
            &manifest("my-api", "hyper = \"1\"\n"),
            &features("tls"),
        )
        .unwrap();
        let lock = Lock::parse(&lock).unwrap();
        let ids: Vec<String> = lock.packages.iter().map(Package::id).collect();
        assert_eq!(
            ids,
            ["h2 0.4.1", "hyper 1.0.0", "my-api 0.1.0", "serde 1.0.200"]
        );
        // One version of serde is left: it is named without its version.
        let hyper = &lock.packages[1];
        assert_eq!(hyper.dependencies, ["h2", "serde"]);
    }

    #[test]
    fn an_edge_whose_features_are_off_is_dropped_with_what_only_it_reached() {
        let lock = for_project(
            SUPERSET,
            CONDITIONS,
            &manifest("my-api", "hyper = \"1\"\n"),
            &features("none"),
        )
        .unwrap();
        assert!(!lock.contains("\"h2\""), "{lock}");
        assert!(!lock.contains("name = \"h2\""), "{lock}");
    }

    #[test]
    fn several_versions_of_a_package_are_named_with_their_version() {
        let lock = for_project(
            SUPERSET,
            CONDITIONS,
            &manifest("my-api", "redis = \"1\"\nserde = \"1\"\n"),
            &features("none"),
        )
        .unwrap();
        assert!(lock.contains(" \"serde 0.9.0\",\n"), "{lock}");
        assert!(lock.contains(" \"serde 1.0.200\",\n"), "{lock}");
    }

    #[test]
    fn the_projects_own_entry_sorts_by_name() {
        let lock = for_project(
            SUPERSET,
            CONDITIONS,
            &manifest("a-first", "hyper = \"1\"\n"),
            &features("none"),
        )
        .unwrap();
        let first = lock.find("name = ").unwrap();
        assert!(lock[first..].starts_with("name = \"a-first\""), "{lock}");
    }

    #[test]
    fn a_dependency_the_superset_lacks_is_an_error_naming_it() {
        let error = for_project(
            SUPERSET,
            CONDITIONS,
            &manifest("my-api", "tokio = \"1\"\n"),
            &features("none"),
        )
        .unwrap_err();
        assert!(error.contains("`tokio`"), "{error}");
    }

    #[test]
    fn conditions_name_only_known_features() {
        let error =
            Conditions::parse("[[edge]]\nfrom = \"a 1\"\nto = \"b 1\"\nfeatures = [\"nope\"]\n")
                .unwrap_err();
        assert!(error.contains("`nope`"), "{error}");
    }

    #[test]
    fn versions_sort_by_semver_precedence() {
        let mut versions = [
            "1.0.0",
            "0.10.0",
            "0.9.1",
            "1.0.0-rc.1",
            "1.0.0-alpha",
            "1.0.0-alpha.2",
            "1.0.0-beta",
        ];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            versions,
            [
                "0.9.1",
                "0.10.0",
                "1.0.0-alpha",
                "1.0.0-alpha.2",
                "1.0.0-beta",
                "1.0.0-rc.1",
                "1.0.0"
            ]
        );
    }
}
