//! NF011: a secret-looking value in a committed configuration file.

use crate::audit::formats::files;
use crate::audit::scan::{self, Assignment};
use crate::audit::{Findings, Project, Rule, Severity};
use crate::project::env;

pub static RULE: Rule = Rule {
    id: "NF011",
    name: "committed-secret-value",
    severity: Severity::High,
    title: "A secret-looking value is committed",
    asvs: &["V2.10.4", "V6.4.1"],
    docs: "Passwords, tokens, client secrets and keys written into committed configuration leak with the repository. Configuration should name where a secret comes from (an environment variable, a secret manager), never contain it.\n\nThe check reads the assignments (`KEY=value`, `key: value`, `key = \"value\"`, `\"key\": \"value\"`, Dockerfile `ENV`) of committed configuration files: env files (examples too), Dockerfiles, `.toml`, `.yaml`, `.json`, `.ini`, `.conf` and `.properties` files, lock files and Kubernetes manifests (NF039's) excepted. It reports a value that looks real (8 characters or more, some variety, not a placeholder such as `changeme`, `<your-token>`, `${VAR}` or `****`) assigned to a key ending in SECRET, PASSWORD, TOKEN, _KEY or _KEYS (public keys and *_FILE, *_PATH, *_URL keys excepted); a URL with a password in it (`postgres://user:pass@host`); and, in env files, any value that looks like random key material (high entropy).",
    fix: "replace the value with a placeholder (or remove the line), load the secret from the environment or a secret manager, and rotate it: it is in the repository's history",
    check,
};

const SECRET_SUFFIXES: &[&str] = &[
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "_KEY",
    "_KEYS",
    "APIKEY",
    "CREDENTIALS",
];
const NOT_SECRET_PARTS: &[&str] = &["PUBLIC", "_FILE", "_PATH", "_URL", "_URI", "_ID", "_NAME"];

/// Whether a key names a secret: `DB_PASSWORD`, `clientSecret`, `api-key`.
pub fn is_secret_key(key: &str) -> bool {
    let key = scan::normalize_key(key);
    SECRET_SUFFIXES
        .iter()
        .any(|s| key.ends_with(s) || key == s.trim_start_matches('_'))
        && !NOT_SECRET_PARTS.iter().any(|p| key.contains(p))
}

/// Whether a value is the name of a variable (`DATA_ENCRYPTION_KEYS`), as a
/// Kubernetes `secretKeyRef` names the key it reads (`key: REDIS_URL`): a
/// reference, not a secret.
fn is_variable_name(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_uppercase())
        && value.contains('_')
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The password in `scheme://user:password@host`, with its byte offset.
pub fn url_password(value: &str) -> Option<(usize, &str)> {
    let after_scheme = value.find("://")? + 3;
    let rest = &value[after_scheme..];
    let at = rest.find('@')?;
    let userinfo = &rest[..at];
    let colon = userinfo.find(':')?;
    let password = &userinfo[colon + 1..];
    Some((after_scheme + colon + 1, password))
}

fn check(project: &Project, out: &mut Findings) {
    // Kubernetes manifests are NF039's: it reads their structure, where
    // `topologyKey`, a toleration's `key` or a `secretKeyRef` name things
    // rather than hold secrets.
    for file in project
        .files
        .iter()
        .filter(|f| files::is_config_file(&f.path) && project.manifest(&f.path).is_none())
    {
        let env_file = files::is_env_file(&file.path);
        let assignments: Vec<Assignment> = if env_file {
            env::parse(&file.text)
        } else {
            scan::config_assignments(&file.text)
        };
        for a in assignments {
            if let Some((offset, password)) = url_password(&a.value)
                && password.len() >= 4
                && !scan::is_placeholder(password)
            {
                out.add(
                    &file.path,
                    (a.line, a.value_column + a.value[..offset].chars().count()),
                    format!("`{}` is a URL with a password in it", a.key),
                );
            } else if is_secret_key(&a.key)
                && scan::looks_real(&a.value)
                && !a.value.contains("://")
                && !is_variable_name(&a.value)
            {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!(
                        "`{}` is set to a value that looks like a real secret",
                        a.key
                    ),
                );
            } else if env_file && scan::is_high_entropy(&a.value) {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!(
                        "`{}` is set to a high-entropy value, likely a secret",
                        a.key
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_real_looking_secrets_credentials_in_urls_and_random_values() {
        let found = TestProject::new()
            .file(".env.example", "AUTH_CLIENT_SECRET=Zx81-kQ2v_99LmPq\n")
            .file("compose.yaml", "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: Tr0ub4dor&3x\n")
            .file(".env.staging", "DATABASE_URL=postgres://app:Wq9zLr2Kx@db:5432/app\nSESSION=9dKq2LxV7pZrT4mWc8bN1yHs6fJ3gA0e\n")
            .file("deploy/realm.json", "{\n  \"clientSecret\": \"f3a9c1d07b2e4a65\"\n}\n")
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                ".env.example:1:20",
                ".env.staging:1:29",
                ".env.staging:2:9",
                "compose.yaml:4:26",
                "deploy/realm.json:2:19"
            ]
        );
    }

    #[test]
    fn it_is_silent_for_placeholders_references_and_public_values() {
        let found = TestProject::new()
            .file(".env.example", "AUTH_CLIENT_SECRET=\nDB_PASSWORD=changeme\nAPI_TOKEN=${API_TOKEN}\nDATABASE_URL=sqlite://data/app.db?mode=rwc\nAPP_ENV=development\n")
            .file("compose.yaml", "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: postgres\n      JWT_PUBLIC_KEY: MIIBIjANBgkqhkiG9w0BAQEFAAOC\n")
            .file("deploy/realm.json", "{\n  \"secret\": \"**********\",\n  \"id\": \"550e8400-e29b-41d4-a716-446655440000\"\n}\n")
            .file("Cargo.lock", "checksum = \"5426cb1b964690d913f6c5c1a1ae0b42f428ec506bb4d452876d7a209c9bca3b\"\n")
            .file("settings.yaml", "env:\n  - name: REDIS_URL\n    valueFrom:\n      secretKeyRef:\n        name: api-secrets\n        key: REDIS_URL\n")
            .file("k8s/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      topologySpreadConstraints:\n        - topologyKey: kubernetes.io/hostname\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
