//! NF018: a data-encryption key shorter than 256 bits, or a placeholder.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::audit::formats::{env, files};
use crate::audit::scan;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF018",
    name: "weak-encryption-key",
    severity: Severity::High,
    title: "An encryption key is shorter than 256 bits or a placeholder",
    asvs: &["V6.2.3", "V6.4.1"],
    docs: "DATA_ENCRYPTION_KEYS holds the keys that encrypt sensitive fields at rest (`kid:base64key,…`, the first one active). A key shorter than 256 bits is weaker than the cipher allows, and a placeholder (all zeros, a repeated character, `changeme`, text that is not base64) is public: anything encrypted with it is as good as plain text.\n\nThe check reads DATA_ENCRYPTION_KEYS in committed env files other than examples (`.env.example` is expected to hold a placeholder), Dockerfiles and compose files. Each key must decode (standard or URL-safe base64) to at least 32 bytes that are not all the same.",
    fix: "generate a key with `openssl rand -base64 32` and set it through the environment or a secret manager, never in a committed file",
    check,
};

/// 256 bits.
pub const MIN_KEY_BYTES: usize = 32;

/// What is wrong with one `kid:base64key` entry, if anything.
pub fn key_problem(entry: &str) -> Option<String> {
    let (kid, key) = entry.split_once(':').unwrap_or(("", entry));
    let key = key.trim();
    let named = if kid.is_empty() {
        String::new()
    } else {
        format!("key `{kid}` ")
    };
    let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(key).ok());
    match decoded {
        None if scan::is_placeholder(key) => Some(format!("{named}is a placeholder")),
        None => Some(format!(
            "{named}is not base64, so it is a placeholder or a typo"
        )),
        Some(bytes) if bytes.windows(2).all(|w| w[0] == w[1]) => {
            Some(format!("{named}is a placeholder: every byte is the same"))
        }
        Some(bytes) if bytes.len() < MIN_KEY_BYTES => Some(format!(
            "{named}is {} bits, shorter than 256",
            bytes.len() * 8
        )),
        Some(_) if scan::is_placeholder(key) => Some(format!("{named}is a placeholder")),
        Some(_) => None,
    }
}

fn check(project: &Project, out: &mut Findings) {
    for (file, assignments) in project.env_sources() {
        if files::is_example_env(&file.path) {
            continue;
        }
        for a in assignments.iter().filter(|a| a.key == env::ENCRYPTION_KEYS) {
            let mut offset = 0;
            for entry in a.value.split(',') {
                let trimmed = entry.trim();
                if !trimmed.is_empty()
                    && let Some(problem) = key_problem(trimmed)
                {
                    let column = a.value_column + a.value[..offset].chars().count();
                    out.add(
                        &file.path,
                        (a.line, column),
                        format!("{}: {problem}", env::ENCRYPTION_KEYS),
                    );
                }
                offset += entry.len() + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_short_and_placeholder_keys_outside_examples() {
        let found = TestProject::new()
            .file(
                ".env.production",
                "DATA_ENCRYPTION_KEYS=v2:c2hvcnQta2V5LTEyOA==,v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            )
            .file("Dockerfile", "FROM scratch\nENV DATA_ENCRYPTION_KEYS=k1:changeme\n")
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                ".env.production:1:22",
                ".env.production:1:46",
                "Dockerfile:2:26"
            ]
        );
        assert!(
            found[0].message.contains("is 104 bits"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn it_is_silent_for_strong_keys_and_placeholders_in_examples() {
        let found = TestProject::new()
            .file(
                ".env.example",
                "DATA_ENCRYPTION_KEYS=v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            )
            .file(
                ".env.staging",
                "DATA_ENCRYPTION_KEYS=v1:q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\n",
            )
            .file("deploy/.env.ci", "DATA_ENCRYPTION_KEYS=\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
