//! Kubernetes manifests and kustomizations as nestflux reads them: YAML
//! documents (read with `serde_norway`, the one YAML parser nestflux uses)
//! with the place of each document in its file, the pod specs of workloads,
//! the settings they pass to containers, and where a key is written (for
//! messages). `audit-config` checks them (rules NF035 to NF041); nestflux's
//! own manifests are rendered from `templates/deploy/kubernetes/`.

use serde::Deserialize as _;
use serde_norway::Value as Yaml;

/// The kinds whose objects run pods, with the path to their pod spec.
const WORKLOADS: &[(&str, &[&str])] = &[
    ("Pod", &["spec"]),
    ("Deployment", &["spec", "template", "spec"]),
    ("StatefulSet", &["spec", "template", "spec"]),
    ("DaemonSet", &["spec", "template", "spec"]),
    ("ReplicaSet", &["spec", "template", "spec"]),
    ("Job", &["spec", "template", "spec"]),
    (
        "CronJob",
        &["spec", "jobTemplate", "spec", "template", "spec"],
    ),
];

/// The container lists of a pod spec that run the image's code.
pub const CONTAINER_LISTS: &[&str] = &["initContainers", "containers"];

/// One YAML document of a file, and where it is.
#[derive(Clone, Debug)]
pub struct Document {
    pub value: Yaml,
    /// Byte range of the document in the file's text.
    pub start: usize,
    pub end: usize,
}

impl Document {
    pub fn kind(&self) -> Option<&str> {
        self.value.get("kind").and_then(Yaml::as_str)
    }

    pub fn name(&self) -> Option<&str> {
        self.value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Yaml::as_str)
    }
}

/// A YAML file holding Kubernetes objects or a kustomization.
#[derive(Clone, Debug)]
pub struct ManifestFile {
    /// Relative to the project, with `/`.
    pub path: String,
    pub text: String,
    pub documents: Vec<Document>,
    /// A kustomization's inline patches (`patch: |`), each document placed
    /// at its block in this file's text.
    pub inline_patches: Vec<Document>,
}

impl ManifestFile {
    /// Reads `text` when it is a Kubernetes manifest: YAML whose documents
    /// include an object with `apiVersion` and `kind`, a kustomization, or a
    /// JSON 6902 patch (a list of `op`/`path` operations).
    /// Anything else (other YAML, invalid YAML) is `None`: not this reader's
    /// to judge.
    pub fn read(path: &str, text: &str) -> Option<ManifestFile> {
        let documents = documents(text)?;
        let is_manifest = is_kustomization_path(path)
            || documents.iter().any(|d| {
                (d.kind().is_some() && d.value.get("apiVersion").and_then(Yaml::as_str).is_some())
                    || !json6902_operations(&d.value).is_empty()
            });
        let inline_patches = if is_kustomization_path(path) {
            inline_patches(text)
        } else {
            Vec::new()
        };
        is_manifest.then(|| ManifestFile {
            path: path.to_owned(),
            text: text.to_owned(),
            documents,
            inline_patches,
        })
    }

    /// Its documents, and then its inline patches.
    pub fn all_documents(&self) -> impl Iterator<Item = &Document> {
        self.documents.iter().chain(&self.inline_patches)
    }

    /// The directory holding the file (`""` at the project's root).
    pub fn dir(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(dir, _)| dir)
    }

    pub fn is_kustomization(&self) -> bool {
        is_kustomization_path(&self.path)
    }

    /// Line and column of the place `keys` lead to in `document`: each key
    /// is looked for after the previous one (a `key:` at the start of a line,
    /// or `- key:`; `name=value` finds a list item's `name: value`). Stops
    /// at the last key found; the document's first line when none is.
    pub fn at(&self, document: &Document, keys: &[&str]) -> (usize, usize) {
        let text = &self.text[document.start..document.end];
        let mut found = first_content(text);
        let mut from = 0;
        for key in keys {
            match find_key(text, from, key) {
                Some(at) => {
                    found = at;
                    from = at + 1;
                }
                None => break,
            }
        }
        crate::diagnostics::line_column(&self.text, document.start + found)
    }
}

/// `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
pub fn is_kustomization_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

/// The documents of a multi-document YAML text, each with its byte range;
/// `None` when the text is not valid YAML.
pub fn documents(text: &str) -> Option<Vec<Document>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    let mut chunks = Vec::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") || trimmed == "..." {
            chunks.push((start, offset));
            start = offset + line.len();
        }
        offset += line.len();
    }
    chunks.push((start, text.len()));
    for (start, end) in chunks {
        let chunk = &text[start..end];
        let value = Yaml::deserialize(serde_norway::Deserializer::from_str(chunk)).ok()?;
        if !value.is_null() {
            out.push(Document { value, start, end });
        }
    }
    Some(out)
}

/// The documents of each `patch: |` block scalar of a kustomization, each
/// with the byte range of its block.
fn inline_patches(text: &str) -> Vec<Document> {
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line))
        })
        .collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut out = Vec::new();
    for (i, (_, line)) in lines.iter().enumerate() {
        let item = line.trim_start();
        let item = item.strip_prefix("- ").unwrap_or(item).trim_start();
        let Some(rest) = item.strip_prefix("patch:") else {
            continue;
        };
        if !rest.trim_start().starts_with(['|', '>']) {
            continue;
        }
        let own = indent(line);
        let block: Vec<&(usize, &str)> = lines[i + 1..]
            .iter()
            .take_while(|(_, l)| l.trim().is_empty() || indent(l) > own)
            .collect();
        let (Some(first), Some(last)) = (block.first(), block.last()) else {
            continue;
        };
        let cut = block
            .iter()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(_, l)| indent(l))
            .min()
            .unwrap_or(0);
        let dedented: String = block
            .iter()
            .map(|(_, l)| l.get(cut..).unwrap_or("\n"))
            .collect();
        let (start, end) = (first.0, last.0 + last.1.len());
        for document in documents(&dedented).unwrap_or_default() {
            out.push(Document {
                value: document.value,
                start,
                end,
            });
        }
    }
    out
}

fn first_content(text: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !trimmed.trim().is_empty() && !trimmed.starts_with('#') {
            return offset + line.len() - trimmed.len();
        }
        offset += line.len();
    }
    0
}

/// The offset of `key:` (or `name: value` for `name=value`) at or after
/// `from`, at the start of a line or of a list item.
fn find_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let (key, value) = match key.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (key, None),
    };
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        if line_start + line.len() <= from {
            continue;
        }
        let trimmed = line.trim_start();
        let item = trimmed.strip_prefix("- ").unwrap_or(trimmed).trim_start();
        let unquoted = item.trim_start_matches(['"', '\'']);
        let Some(rest) = unquoted.strip_prefix(key) else {
            continue;
        };
        let rest = rest.trim_start_matches(['"', '\'']);
        let Some(after) = rest.strip_prefix(':') else {
            continue;
        };
        if let Some(value) = value
            && after.trim().trim_matches(['"', '\'']) != value
        {
            continue;
        }
        let at = line_start + (line.len() - unquoted.len());
        if at >= from {
            return Some(at);
        }
    }
    None
}

/// A workload's pod spec, when the document is a workload.
pub fn pod_spec(document: &Document) -> Option<&Yaml> {
    let kind = document.kind()?;
    let (_, path) = WORKLOADS.iter().find(|(k, _)| *k == kind)?;
    path.iter()
        .try_fold(&document.value, |value, key| value.get(*key))
}

/// The kind's path from the document to its pod spec, for locating keys.
pub fn pod_spec_keys(kind: &str) -> &'static [&'static str] {
    WORKLOADS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, path)| path)
}

/// The containers of a pod spec: (list name, container).
pub fn containers(pod: &Yaml) -> Vec<(&'static str, &Yaml)> {
    CONTAINER_LISTS
        .iter()
        .flat_map(|list| items(pod, list).map(move |c| (*list, c)))
        .collect()
}

/// A string-valued field, read as Kubernetes reads it.
pub fn str_of<'a>(value: &'a Yaml, keys: &[&str]) -> Option<&'a str> {
    get(value, keys).and_then(Yaml::as_str)
}

pub fn bool_of(value: &Yaml, keys: &[&str]) -> Option<bool> {
    get(value, keys).and_then(Yaml::as_bool)
}

pub fn int_of(value: &Yaml, keys: &[&str]) -> Option<i64> {
    get(value, keys).and_then(Yaml::as_i64)
}

pub fn get<'a>(value: &'a Yaml, keys: &[&str]) -> Option<&'a Yaml> {
    keys.iter().try_fold(value, |v, key| v.get(*key))
}

/// A scalar as text (`true`, `8080`, `"x"` → `x`); `None` for maps, lists
/// and null.
pub fn scalar_text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An operation of a JSON 6902 patch (`op`, `path`, `value`), as
/// kustomize's `patches` take them.
#[derive(Clone, Debug)]
pub struct PatchOperation {
    pub op: String,
    pub path: String,
    pub value: Option<Yaml>,
}

/// The operations of a JSON 6902 patch text (a YAML or JSON list), or
/// nothing when it is not one.
pub fn json6902_operations(value: &Yaml) -> Vec<PatchOperation> {
    value
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|op| {
            Some(PatchOperation {
                op: str_of(op, &["op"])?.to_owned(),
                path: str_of(op, &["path"])?.to_owned(),
                value: op.get("value").cloned(),
            })
        })
        .collect()
}

/// What a kustomization refers to: its resources, its patches (files, or
/// inline patches with their text), and its generators' literals.
#[derive(Clone, Debug, Default)]
pub struct Kustomization {
    pub resources: Vec<String>,
    pub patch_files: Vec<String>,
    pub inline_patches: Vec<String>,
    /// `configMapGenerator` literals, `KEY=value`.
    pub config_literals: Vec<String>,
    /// `secretGenerator` literals, and the files and env files it reads.
    pub secret_literals: Vec<String>,
    pub secret_files: Vec<String>,
}

impl Kustomization {
    pub fn read(document: &Document) -> Kustomization {
        let value = &document.value;
        let strings = |key: &str| list_of(value, key);
        let mut out = Kustomization {
            resources: [
                strings("resources"),
                strings("bases"),
                strings("components"),
            ]
            .concat(),
            patch_files: strings("patchesStrategicMerge"),
            ..Kustomization::default()
        };
        for key in ["patches", "patchesJson6902"] {
            for patch in items(value, key) {
                if let Some(path) = patch.as_str().or_else(|| str_of(patch, &["path"])) {
                    out.patch_files.push(path.to_owned());
                }
                if let Some(text) = str_of(patch, &["patch"]) {
                    out.inline_patches.push(text.to_owned());
                }
            }
        }
        for generator in items(value, "configMapGenerator") {
            out.config_literals.extend(list_of(generator, "literals"));
        }
        for generator in items(value, "secretGenerator") {
            out.secret_literals.extend(list_of(generator, "literals"));
            out.secret_files
                .extend(list_of(generator, "files").into_iter().map(|f| {
                    // `key=path` or `path`.
                    f.split_once('=').map_or(f.clone(), |(_, p)| p.to_owned())
                }));
            out.secret_files.extend(list_of(generator, "envs"));
        }
        out
    }
}

/// The items of the sequence at `key` of `value`: none when it is absent or
/// not a sequence.
fn items<'a>(value: &'a Yaml, key: &str) -> impl Iterator<Item = &'a Yaml> + use<'a> {
    value
        .get(key)
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
}

/// The strings of the sequence at `key` of `value`.
fn list_of(value: &Yaml, key: &str) -> Vec<String> {
    items(value, key)
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// `dir/rel` normalised (`..` and `.` resolved), with `/`.
pub fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  APP_ENV: production\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: x\n        - name: side\n          image: y\n          securityContext:\n            privileged: true\n";

    #[test]
    fn documents_are_read_with_their_place() {
        let file = ManifestFile::read("k8s/app.yaml", TWO).unwrap();
        assert_eq!(file.documents.len(), 2);
        assert_eq!(file.documents[1].kind(), Some("Deployment"));
        assert_eq!(file.at(&file.documents[0], &[]), (2, 1));
        let deployment = &file.documents[1];
        assert_eq!(
            file.at(deployment, &["containers", "name=side", "privileged"]),
            (22, 13)
        );
        // A key that is not there: the place of the last one found.
        assert_eq!(
            file.at(deployment, &["containers", "name=side", "nope"]),
            (19, 11)
        );
        let pod = pod_spec(deployment).unwrap();
        assert_eq!(containers(pod).len(), 2);
    }

    #[test]
    fn other_yaml_is_not_a_manifest() {
        assert!(ManifestFile::read("compose.yaml", "services:\n  db:\n    image: x\n").is_none());
        assert!(ManifestFile::read("a.yaml", "key: [unclosed\n").is_none());
        assert!(ManifestFile::read("o/kustomization.yaml", "resources: [../base]\n").is_some());
    }

    #[test]
    fn kustomizations_name_their_resources_patches_and_literals() {
        let text = "resources:\n  - ../../base\npatches:\n  - path: config.yaml\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: remove\n        path: /spec\nconfigMapGenerator:\n  - name: c\n    literals: [APP_ENV=development]\nsecretGenerator:\n  - name: s\n    envs: [secrets.env]\n";
        let file = ManifestFile::read("o/kustomization.yaml", text).unwrap();
        let k = Kustomization::read(&file.documents[0]);
        assert_eq!(k.resources, ["../../base"]);
        assert_eq!(k.patch_files, ["config.yaml"]);
        assert_eq!(k.inline_patches.len(), 1);
        assert_eq!(k.config_literals, ["APP_ENV=development"]);
        assert_eq!(k.secret_files, ["secrets.env"]);
        // The inline patch, placed at its block (line 8).
        assert_eq!(file.inline_patches.len(), 1);
        let inline = &file.inline_patches[0];
        assert!(inline.value.is_sequence());
        assert_eq!(file.at(inline, &["path=/spec"]), (9, 9));
        assert_eq!(join("o/p", "../../base"), "base");
    }
}
