//! NF041: a production Kubernetes overlay does not run with
//! `APP_ENV=production`.

use serde_norway::Value as Yaml;

use crate::audit::formats::{env, files};
use crate::audit::{Findings, Project, Rule, Severity};
use crate::kubernetes::{
    Document, Kustomization, ManifestFile, containers, join, json6902_operations, pod_spec,
    scalar_text,
};

pub static RULE: Rule = Rule {
    id: "NF041",
    name: "kubernetes-production-app-env",
    severity: Severity::High,
    title: "A production Kubernetes overlay does not set APP_ENV=production",
    asvs: &["V14.3.2"],
    docs: "The generated service is strict only with `APP_ENV=production`: then it refuses to start with an http:// issuer, a database without verified TLS, rate limiting off or insecure cookies, naming the variable. Without it (it defaults to `development`) it accepts all of these, reads a `.env` file and logs for a developer. A production deployment that says otherwise, often through an overlay patch copied from development, runs with the development rules.\n\nThe check reads every kustomization in a directory named `production` or `prod` (e.g. deploy/kubernetes/overlays/production) and works out the APP_ENV it deploys, as kustomize would: the overlay's own settings (ConfigMap patches, `configMapGenerator` literals, JSON 6902 operations on `/data/APP_ENV`, container `env` values in patches) win over those of its resources, followed through `resources` to the base; a container `env` value wins over a ConfigMap. It reports a value other than `production` where it is written, and an overlay that sets APP_ENV nowhere.",
    fix: "set `APP_ENV: production` in the production overlay's ConfigMap patch (a generated project's overlays/production/config.yaml does) and remove the patch that sets another value",
    check,
};

/// An APP_ENV value and where it is written.
struct Setting {
    value: String,
    path: String,
    at: (usize, usize),
    /// Set through a container's `env` (wins over a ConfigMap).
    container_env: bool,
}

fn check(project: &Project, out: &mut Findings) {
    for file in project.kubernetes.iter().filter(|f| f.is_kustomization()) {
        if !file.dir().split('/').any(files::is_production_name) {
            continue;
        }
        let mut visited = Vec::new();
        let settings = settings_of(project, file, &mut visited);
        // The overlay's own settings come first, then each resource's in
        // order; the first level that sets it decides, its last value wins.
        let effective = settings
            .iter()
            .find(|level| level.iter().any(|s| s.container_env))
            .and_then(|level| level.iter().rev().find(|s| s.container_env))
            .or_else(|| settings.iter().find_map(|level| level.last()));
        let overlay = file.dir();
        match effective {
            None => out.add(
                &file.path,
                (1, 1),
                format!(
                    "the production overlay `{overlay}` sets no {} (the service then runs as development)",
                    env::APP_ENV
                ),
            ),
            Some(setting) if !setting.value.eq_ignore_ascii_case("production") => out.add(
                &setting.path,
                setting.at,
                format!(
                    "the production overlay `{overlay}` runs with {}={}",
                    env::APP_ENV,
                    setting.value
                ),
            ),
            Some(_) => {}
        }
    }
}

/// The APP_ENV settings a kustomization deploys, by level: its own first,
/// then those of its resources (each resource's levels flattened after it).
fn settings_of(
    project: &Project,
    file: &ManifestFile,
    visited: &mut Vec<String>,
) -> Vec<Vec<Setting>> {
    if visited.contains(&file.path) {
        return Vec::new();
    }
    visited.push(file.path.clone());
    let mut own = Vec::new();
    let mut below = Vec::new();
    for document in &file.documents {
        let kustomization = Kustomization::read(document);
        for literal in &kustomization.config_literals {
            if let Some(value) = literal.strip_prefix(&format!("{}=", env::APP_ENV)) {
                own.push(Setting {
                    value: value.to_owned(),
                    path: file.path.clone(),
                    at: file.at(document, &["configMapGenerator", "literals"]),
                    container_env: false,
                });
            }
        }
        for patch in &kustomization.patch_files {
            if let Some(patch_file) = project.manifest(&join(file.dir(), patch)) {
                for document in &patch_file.documents {
                    own.extend(in_document(patch_file, document));
                }
            }
        }
        for resource in &kustomization.resources {
            let path = join(file.dir(), resource);
            let nested = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
                .iter()
                .find_map(|name| project.manifest(&join(&path, name)));
            match (nested, project.manifest(&path)) {
                (Some(nested), _) => below.extend(settings_of(project, nested, visited)),
                (None, Some(resource)) => below.push(
                    resource
                        .documents
                        .iter()
                        .flat_map(|d| in_document(resource, d))
                        .collect(),
                ),
                (None, None) => {}
            }
        }
    }
    for document in &file.inline_patches {
        own.extend(in_document(file, document));
    }
    let mut levels = vec![own];
    levels.extend(below.into_iter().filter(|level| !level.is_empty()));
    levels.retain(|level| !level.is_empty());
    levels
}

/// The APP_ENV settings one document makes: a ConfigMap's data, container
/// `env` values, JSON 6902 operations on `/data/APP_ENV`.
fn in_document(file: &ManifestFile, document: &Document) -> Vec<Setting> {
    let mut out = Vec::new();
    let setting = |value: String, keys: &[&str], container_env| Setting {
        value,
        path: file.path.clone(),
        at: file.at(document, keys),
        container_env,
    };
    if document.kind() == Some("ConfigMap")
        && let Some(value) = document
            .value
            .get("data")
            .and_then(|d| d.get(env::APP_ENV))
            .and_then(scalar_text)
    {
        out.push(setting(value, &["data", env::APP_ENV], false));
    }
    if let Some(pod) = pod_spec(document) {
        for (_, container) in containers(pod) {
            for variable in container
                .get("env")
                .and_then(Yaml::as_sequence)
                .into_iter()
                .flatten()
            {
                if variable.get("name").and_then(Yaml::as_str) == Some(env::APP_ENV)
                    && let Some(value) = variable.get("value").and_then(scalar_text)
                {
                    let name = format!("name={}", env::APP_ENV);
                    out.push(setting(value, &["env", &name], true));
                }
            }
        }
    }
    for op in json6902_operations(&document.value) {
        if matches!(op.op.as_str(), "add" | "replace")
            && op.path == format!("/data/{}", env::APP_ENV)
            && let Some(value) = op.value.as_ref().and_then(scalar_text)
        {
            out.push(setting(value, &[&format!("path={}", op.path)], false));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    const BASE_KUSTOMIZATION: &str = "resources: [configmap.yaml, deployment.yaml]\n";
    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: api:1\n";

    fn config(app_env: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api-config\ndata:\n  APP_ENV: {app_env}\n"
        )
    }

    fn project(base_env: &str) -> TestProject {
        TestProject::new()
            .file("k8s/base/kustomization.yaml", BASE_KUSTOMIZATION)
            .file("k8s/base/configmap.yaml", &config(base_env))
            .file("k8s/base/deployment.yaml", DEPLOYMENT)
    }

    #[test]
    fn it_is_silent_when_production_runs_as_production() {
        // From the base, or set by the overlay over a development base; a
        // development overlay may say development.
        let found = project("production")
            .file(
                "k8s/overlays/production/kustomization.yaml",
                "resources: [../../base]\n",
            )
            .file(
                "k8s/overlays/dev/kustomization.yaml",
                "resources: [../../base]\npatches: [{path: config.yaml}]\n",
            )
            .file("k8s/overlays/dev/config.yaml", &config("development"))
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
        let found = project("development")
            .file(
                "k8s/overlays/prod/kustomization.yaml",
                "resources: [../../base]\npatches:\n  - path: config.yaml\n",
            )
            .file("k8s/overlays/prod/config.yaml", &config("production"))
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }

    #[test]
    fn it_fires_on_an_overlay_patch_a_generator_a_base_value_and_a_container_env() {
        let patch = project("production")
            .file(
                "k8s/overlays/production/kustomization.yaml",
                "resources: [../../base]\npatches:\n  - path: debug.yaml\n",
            )
            .file("k8s/overlays/production/debug.yaml", &config("development"))
            .check(&RULE);
        assert_eq!(places(&patch), ["k8s/overlays/production/debug.yaml:6:3"]);

        let generator = project("production")
            .file(
                "k8s/overlays/production/kustomization.yaml",
                "resources: [../../base]\nconfigMapGenerator:\n  - name: api-config\n    behavior: merge\n    literals: [APP_ENV=development]\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&generator),
            ["k8s/overlays/production/kustomization.yaml:5:5"]
        );

        let from_base = project("development")
            .file(
                "k8s/overlays/production/kustomization.yaml",
                "resources: [../../base]\n",
            )
            .check(&RULE);
        assert_eq!(places(&from_base), ["k8s/base/configmap.yaml:6:3"]);

        let env_patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          env:\n            - name: APP_ENV\n              value: development\n";
        let container_env = project("production")
            .file(
                "k8s/overlays/production/kustomization.yaml",
                "resources: [../../base]\npatches:\n  - path: env.yaml\n",
            )
            .file("k8s/overlays/production/env.yaml", env_patch)
            .check(&RULE);
        assert_eq!(
            places(&container_env),
            ["k8s/overlays/production/env.yaml:11:15"]
        );

        let inline = project("production")
            .file(
                "k8s/overlays/production/kustomization.yaml",
                "resources: [../../base]\npatches:\n  - target: {kind: ConfigMap}\n    patch: |-\n      - op: replace\n        path: /data/APP_ENV\n        value: development\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&inline),
            ["k8s/overlays/production/kustomization.yaml:6:9"]
        );
    }

    #[test]
    fn an_overlay_that_sets_it_nowhere_is_reported() {
        let found = TestProject::new()
            .file(
                "k8s/base/kustomization.yaml",
                "resources: [deployment.yaml]\n",
            )
            .file("k8s/base/deployment.yaml", DEPLOYMENT)
            .file(
                "k8s/overlays/production/kustomization.yaml",
                "resources: [../../base]\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&found),
            ["k8s/overlays/production/kustomization.yaml:1:1"]
        );
    }
}
