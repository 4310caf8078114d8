//! What the Kubernetes rules (NF035–NF041) share: the pods of the project's
//! manifests, complete objects told apart from patches, and the JSON 6902
//! operations of kustomize patches.
//!
//! A workload whose every container names an `image` is a complete object:
//! a setting it lacks is a finding. A workload without images is a patch (an
//! overlay's strategic-merge patch names containers, not images): only what
//! it sets explicitly counts, so a patch that turns a base's defence off
//! (`readOnlyRootFilesystem: false`) is found where it is written. JSON 6902
//! operations that set a bad value, or `remove` a defence, are found too.

use serde_norway::Value as Yaml;

use crate::audit::Project;
use crate::kubernetes::{
    self, Document, ManifestFile, PatchOperation, containers, pod_spec, pod_spec_keys,
};

/// A pod spec in a manifest.
pub struct Pod<'a> {
    pub file: &'a ManifestFile,
    pub document: &'a Document,
    pub spec: &'a Yaml,
    /// A whole object (every container has an image), not a patch.
    pub complete: bool,
}

/// One container of a [`Pod`].
pub struct Container<'a> {
    pub list: &'static str,
    pub name: String,
    pub value: &'a Yaml,
}

impl<'a> Pod<'a> {
    pub fn containers(&self) -> Vec<Container<'a>> {
        containers(self.spec)
            .into_iter()
            .map(|(list, value)| Container {
                list,
                name: kubernetes::str_of(value, &["name"])
                    .unwrap_or("?")
                    .to_owned(),
                value,
            })
            .collect()
    }

    /// `kind/name` for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} `{}`",
            self.document.kind().unwrap_or("object"),
            self.document.name().unwrap_or("?")
        )
    }

    /// The place of `keys` below the pod spec.
    pub fn at(&self, keys: &[&str]) -> (usize, usize) {
        let mut path: Vec<&str> = pod_spec_keys(self.document.kind().unwrap_or_default()).to_vec();
        path.extend_from_slice(keys);
        self.file.at(self.document, &path)
    }

    /// The place of `keys` below a container.
    pub fn container_at(&self, container: &Container<'_>, keys: &[&str]) -> (usize, usize) {
        let name = format!("name={}", container.name);
        let mut path = vec![container.list, name.as_str()];
        path.extend_from_slice(keys);
        self.at(&path)
    }

    /// A security-context setting of `container`, or else of the pod (for
    /// the settings a pod may set for all its containers).
    pub fn effective(&self, container: &Container<'a>, key: &str) -> Option<&'a Yaml> {
        kubernetes::get(container.value, &["securityContext", key])
            .or_else(|| kubernetes::get(self.spec, &["securityContext", key]))
    }
}

/// Every pod spec of the project's manifests.
pub fn pods(project: &Project) -> Vec<Pod<'_>> {
    let mut out = Vec::new();
    for file in &project.kubernetes {
        for document in file.all_documents() {
            let Some(spec) = pod_spec(document) else {
                continue;
            };
            let all = containers(spec);
            let complete = !all.is_empty() && all.iter().all(|(_, c)| c.get("image").is_some());
            out.push(Pod {
                file,
                document,
                spec,
                complete,
            });
        }
    }
    out
}

/// A JSON 6902 operation, with where it is written.
pub struct Operation<'a> {
    pub file: &'a ManifestFile,
    pub at: (usize, usize),
    pub op: PatchOperation,
}

impl Operation<'_> {
    /// The last segment of its path (`/…/readOnlyRootFilesystem`).
    pub fn key(&self) -> &str {
        self.op.path.rsplit('/').next().unwrap_or_default()
    }

    pub fn sets(&self) -> bool {
        matches!(self.op.op.as_str(), "add" | "replace")
    }

    pub fn removes(&self) -> bool {
        self.op.op == "remove"
    }

    /// Whether it sets `key` (the path's last segment) to a value `bad`
    /// accepts, or removes `key` or one of `parents` around it.
    pub fn weakens(&self, key: &str, parents: &[&str], bad: impl Fn(&Yaml) -> bool) -> bool {
        let last = self.key();
        (self.sets() && last == key && self.op.value.as_ref().is_some_and(bad))
            || (self.removes() && (last == key || parents.contains(&last)))
    }
}

/// The JSON 6902 operations of the project's kustomize patches: patch files
/// that are lists of operations, and inline patches of kustomizations.
pub fn operations(project: &Project) -> Vec<Operation<'_>> {
    let mut out = Vec::new();
    for file in &project.kubernetes {
        for document in file.all_documents() {
            for op in kubernetes::json6902_operations(&document.value) {
                let at = file.at(document, &[&format!("path={}", op.path)]);
                out.push(Operation { file, at, op });
            }
        }
    }
    out
}
