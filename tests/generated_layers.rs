//! The modules of a generated service depend on each other in one direction
//! (its `src/lib.rs` lists the layers): the settings at the bottom, then
//! storage, authentication, the defences, the state, the routes and start-up.
//! Checked on the source text, without compiling: a `crate::<module>` path
//! outside a file's `#[cfg(test)]` part is a dependency on that module.

use std::collections::{BTreeMap, BTreeSet};

use nestflux::answers::{Answers, Database, FeatureSet, Idp, ProjectName};
use nestflux::render::{DEFAULT_ROLES, render};
use nestflux::secrets::{Secrets, seeded_rng};

/// Each top-level module of `src/` with the top-level modules it uses.
fn dependencies(
    features: FeatureSet,
    idp: Idp,
    database: Database,
) -> BTreeMap<String, BTreeSet<String>> {
    let answers = Answers {
        name: ProjectName::parse("layers").unwrap(),
        idp,
        database,
        features,
        deploy: nestflux::answers::DeploySet::none(),
    };
    let files = render(
        &answers,
        &Secrets::generate(&mut seeded_rng(1), DEFAULT_ROLES),
    )
    .unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, bytes) in &files {
        let Some(rest) = path.strip_prefix("src/") else {
            continue;
        };
        if !rest.ends_with(".rs") || matches!(rest, "lib.rs" | "main.rs") {
            continue;
        }
        let module = rest
            .split(['/', '.'])
            .next()
            .expect("a module name")
            .to_owned();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let used = graph.entry(module.clone()).or_default();
        for line in code
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
        {
            for (at, _) in line.match_indices("crate::") {
                let name: String = line[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    used.insert(name);
                }
            }
        }
    }
    graph
}

/// A cycle of `graph`, if it has one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut found = path[start..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_generated_modules_depend_on_each_other_in_one_direction() {
    for idp in Idp::ALL {
        for database in Database::AVAILABLE {
            for features in [FeatureSet::none(), FeatureSet::all()] {
                let graph = dependencies(features.clone(), idp, database);
                assert!(graph.contains_key("config") && graph.contains_key("routes"));
                if let Some(cycle) = cycle(&graph) {
                    panic!(
                        "{idp:?} {database:?} {features}: the modules depend on each other in a circle: {}",
                        cycle.join(" -> ")
                    );
                }
                let below_config: BTreeSet<&str> = ["crypto", "error"].into();
                let config_uses: Vec<&String> = graph["config"]
                    .iter()
                    .filter(|used| !below_config.contains(used.as_str()))
                    .collect();
                assert!(
                    config_uses.is_empty(),
                    "{idp:?} {database:?} {features}: the settings sit at the bottom, but config uses {config_uses:?}"
                );
            }
        }
    }
}

#[test]
fn a_circle_between_modules_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(node, next)| {
        (
            node.to_owned(),
            next.into_iter().map(str::to_owned).collect(),
        )
    })
    .collect();
    assert_eq!(cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    let mut acyclic = graph.clone();
    acyclic.get_mut("c").unwrap().clear();
    assert_eq!(cycle(&acyclic), None);
}
