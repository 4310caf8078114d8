//! NF039: a secret value is written in a Kubernetes manifest.

use serde_norway::Value as Yaml;

use super::kubernetes::pods;
use super::nf011_committed_secret_value::{is_secret_key, url_password};
use crate::audit::formats::env;
use crate::audit::scan;
use crate::audit::{Findings, Project, Rule, Severity};
use crate::kubernetes::{Kustomization, join, scalar_text};

pub static RULE: Rule = Rule {
    id: "NF039",
    name: "kubernetes-secret-in-manifest",
    severity: Severity::High,
    title: "A secret value is written in a Kubernetes manifest",
    asvs: &["V2.10.4", "V6.4.1"],
    docs: "A Secret's `data` is base64, not encryption: a Secret, a ConfigMap or an env value written in a committed manifest leaks with the repository, to everyone who can read it and to every tool that renders it. Manifests should only reference secrets (`secretKeyRef`, `envFrom.secretRef`), created outside the repository: by hand, or by the External Secrets Operator or Sealed Secrets from a secret store. CIS Kubernetes Benchmark 5.4.2 (consider external secret storage); OWASP Kubernetes Top 10 K08 (secrets management failures).\n\nThe check reads every Kubernetes manifest and kustomization: a `Secret` with values in `data` or `stringData`; a `ConfigMap` entry, a container `env` value or a `configMapGenerator` literal for a secret variable of the service (DATABASE_URL, DATA_ENCRYPTION_KEYS, AUTH_CLIENT_SECRET, REDIS_URL) or a key that names a secret (…SECRET, …PASSWORD, …TOKEN, …_KEY), unless the value is empty or a placeholder; a URL with a password in it under any key; and a `secretGenerator` whose literals, or whose files, are in the repository. A SQLite `DATABASE_URL` (a file name) is not a secret.",
    fix: "move the value to a Secret created outside the repository (kubectl create secret, External Secrets, Sealed Secrets), reference it with `secretKeyRef`, and rotate it: it is in the repository's history",
    check,
};

/// Whether `value` under `key` is a secret written out.
fn is_secret_value(key: &str, value: &str) -> bool {
    if let Some((_, password)) = url_password(value)
        && !scan::is_placeholder(password)
    {
        return true;
    }
    let named = env::SECRETS.contains(&key) || is_secret_key(key);
    let url = value.contains("://") || value.starts_with("sqlite:");
    // A URL without a password (a SQLite file, a passwordless server) hides nothing.
    named && !url && !scan::is_placeholder(value)
}

fn check(project: &Project, out: &mut Findings) {
    for file in &project.kubernetes {
        for document in &file.documents {
            match document.kind() {
                Some("Secret") => {
                    for field in ["data", "stringData"] {
                        for (key, value) in entries(document.value.get(field)) {
                            if value.is_empty() {
                                continue;
                            }
                            out.add(
                                &file.path,
                                file.at(document, &[field, &key]),
                                format!(
                                    "Secret `{}` writes the value of `{key}` in the repository ({field}; base64 is not encryption)",
                                    document.name().unwrap_or("?")
                                ),
                            );
                        }
                    }
                }
                Some("ConfigMap") => {
                    for (key, value) in entries(document.value.get("data")) {
                        if is_secret_value(&key, &value) {
                            out.add(
                                &file.path,
                                file.at(document, &["data", &key]),
                                format!(
                                    "ConfigMap `{}` holds the secret `{key}`: ConfigMaps are not for secrets, and its value is in the repository",
                                    document.name().unwrap_or("?")
                                ),
                            );
                        }
                    }
                }
                _ => {}
            }
            if file.is_kustomization() {
                check_generators(project, file, document, out);
            }
        }
    }
    for pod in pods(project) {
        for container in pod.containers() {
            for variable in container
                .value
                .get("env")
                .and_then(Yaml::as_sequence)
                .into_iter()
                .flatten()
            {
                let (Some(name), Some(value)) = (
                    variable.get("name").and_then(Yaml::as_str),
                    variable.get("value").and_then(scalar_text),
                ) else {
                    continue;
                };
                if is_secret_value(name, &value) {
                    out.add(
                        &pod.file.path,
                        pod.container_at(&container, &["env", &format!("name={name}"), "value"]),
                        format!(
                            "container `{}` of {} gets the secret `{name}` as a literal value, written in the repository",
                            container.name,
                            pod.describe()
                        ),
                    );
                }
            }
        }
    }
}

fn check_generators(
    project: &Project,
    file: &crate::kubernetes::ManifestFile,
    document: &crate::kubernetes::Document,
    out: &mut Findings,
) {
    let kustomization = Kustomization::read(document);
    for literal in &kustomization.config_literals {
        let (key, value) = literal.split_once('=').unwrap_or((literal, ""));
        if is_secret_value(key, value) {
            out.add(
                &file.path,
                file.at(document, &["configMapGenerator", "literals"]),
                format!("configMapGenerator writes the secret `{key}` in the repository"),
            );
        }
    }
    for literal in &kustomization.secret_literals {
        let (key, value) = literal.split_once('=').unwrap_or((literal, ""));
        if !scan::is_placeholder(value) {
            out.add(
                &file.path,
                file.at(document, &["secretGenerator", "literals"]),
                format!("secretGenerator writes the value of `{key}` in the repository"),
            );
        }
    }
    for source in &kustomization.secret_files {
        let path = join(file.dir(), source);
        if project.file(&path).is_some() {
            out.add(
                &file.path,
                file.at(document, &["secretGenerator"]),
                format!("secretGenerator reads `{path}`, which is committed"),
            );
        }
    }
}

/// The entries of a string map (`data`), values as text.
fn entries(map: Option<&Yaml>) -> Vec<(String, String)> {
    map.and_then(Yaml::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), scalar_text(v).unwrap_or_default())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_is_silent_for_references_placeholders_and_a_sqlite_url() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  APP_ENV: production\n  DATABASE_URL: \"sqlite:///app/data/app.db?mode=rwc\"\n  AUTH_CLIENT_SECRET: \"\"\n  TLS_KEY_PATH: /run/tls/tls.key\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: api:1\n          env:\n            - name: DATA_ENCRYPTION_KEYS\n              valueFrom:\n                secretKeyRef: {name: s, key: DATA_ENCRYPTION_KEYS}\n            - name: DB_PASSWORD\n              value: <set-me>\n";
        let found = TestProject::new().file("k8s/app.yaml", text).check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }

    #[test]
    fn it_fires_on_a_secret_object_a_configmap_entry_a_literal_env_and_generators() {
        let manifests = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  DATA_ENCRYPTION_KEYS: v1:c2VjcmV0LWtleS1tYXRlcmlhbA==\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  APP_ENV: production\n  DATABASE_URL: postgres://app:hunter2hunter2@db/app?sslmode=verify-full\n  SMTP_PASSWORD: s3cr3t-passw0rd\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: api:1\n        - name: worker\n          image: api:1\n          env:\n            - name: APP_ENV\n              value: production\n            - name: AUTH_CLIENT_SECRET\n              value: 9f8e7d6c5b4a\n";
        let kustomization = "resources: [app.yaml]\nconfigMapGenerator:\n  - name: extra\n    literals:\n      - REDIS_URL=redis://:Zq8vN2xK4m@redis:6379\nsecretGenerator:\n  - name: s2\n    envs: [secrets.env]\n";
        let found = TestProject::new()
            .file("k8s/app.yaml", manifests)
            .file("k8s/kustomization.yaml", kustomization)
            .file("k8s/secrets.env", "TOKEN=x\n")
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                "k8s/app.yaml:6:3",
                "k8s/app.yaml:14:3",
                "k8s/app.yaml:15:3",
                "k8s/app.yaml:33:15",
                "k8s/kustomization.yaml:4:5",
                "k8s/kustomization.yaml:6:1"
            ]
        );
    }
}
