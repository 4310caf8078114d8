//! NF010: a private key or a cloud credential in a committed file.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::audit::scan::line_column;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF010",
    name: "committed-private-key",
    severity: Severity::Critical,
    title: "A private key or cloud credential is committed",
    asvs: &["V2.10.4", "V6.4.1"],
    docs: "Private keys and provider credentials have a recognisable shape, and bots scan public repositories for them within minutes of a push. Such a value in any committed file (source, test, documentation, configuration) must be treated as leaked.\n\nThe check scans every committed text file for PEM private-key blocks with key material (`-----BEGIN … PRIVATE KEY-----` followed by base64, so documentation that shows only the header is not reported), AWS access key ids (`AKIA…`, `ASIA…`, except AWS's documented `…EXAMPLE` ids), GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `github_pat_`), GitLab tokens (`glpat-`), Slack tokens (`xoxb-`, `xoxp-`, …), Stripe live keys (`sk_live_`) and Google API keys (`AIza…`).",
    fix: "revoke or rotate the credential now, remove it from the file and from git history, and load it at run time from the environment or a secret manager",
    check,
};

/// A token shape: a prefix, then at least `min` characters of `charset`.
struct Shape {
    prefix: &'static str,
    min: usize,
    what: &'static str,
    charset: fn(char) -> bool,
}

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}
fn alnum_dash(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}
fn upper_digit(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

const SHAPES: &[Shape] = &[
    Shape {
        prefix: "AKIA",
        min: 16,
        what: "an AWS access key id",
        charset: upper_digit,
    },
    Shape {
        prefix: "ASIA",
        min: 16,
        what: "an AWS temporary access key id",
        charset: upper_digit,
    },
    Shape {
        prefix: "ghp_",
        min: 36,
        what: "a GitHub personal access token",
        charset: alnum,
    },
    Shape {
        prefix: "gho_",
        min: 36,
        what: "a GitHub OAuth token",
        charset: alnum,
    },
    Shape {
        prefix: "ghu_",
        min: 36,
        what: "a GitHub user-to-server token",
        charset: alnum,
    },
    Shape {
        prefix: "ghs_",
        min: 36,
        what: "a GitHub server-to-server token",
        charset: alnum,
    },
    Shape {
        prefix: "github_pat_",
        min: 60,
        what: "a GitHub fine-grained token",
        charset: alnum_dash,
    },
    Shape {
        prefix: "glpat-",
        min: 20,
        what: "a GitLab token",
        charset: alnum_dash,
    },
    Shape {
        prefix: "xoxb-",
        min: 20,
        what: "a Slack bot token",
        charset: alnum_dash,
    },
    Shape {
        prefix: "xoxp-",
        min: 20,
        what: "a Slack user token",
        charset: alnum_dash,
    },
    Shape {
        prefix: "xoxa-",
        min: 20,
        what: "a Slack app token",
        charset: alnum_dash,
    },
    Shape {
        prefix: "sk_live_",
        min: 24,
        what: "a Stripe live secret key",
        charset: alnum,
    },
    Shape {
        prefix: "AIza",
        min: 35,
        what: "a Google API key",
        charset: alnum_dash,
    },
];

const PEM_START: &str = "-----BEGIN ";

/// Every prefix this rule looks for, found in one pass over each file.
static PREFIXES: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::new(std::iter::once(PEM_START).chain(SHAPES.iter().map(|s| s.prefix)))
        .expect("the prefixes are valid patterns")
});

/// The label of a PEM private-key block starting at `at`, when key material
/// follows it (on the next line, or after a `\n` escape in a JSON or TOML
/// string): a header alone, as in documentation, is not a key.
fn private_key_block(text: &str, at: usize) -> Option<&str> {
    let label_start = at + PEM_START.len();
    let label_end = label_start + text[label_start..].find("-----")?;
    let label = &text[label_start..label_end];
    if !label.ends_with("PRIVATE KEY") || label.len() > 40 {
        return None;
    }
    let body = text[label_end + 5..]
        .trim_start_matches(['\r', '\n', ' '])
        .trim_start_matches("\\n");
    let material = body
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .count();
    (material >= 40).then_some(label)
}

fn check(project: &Project, out: &mut Findings) {
    for file in &project.files {
        let text = &file.text;
        for found in PREFIXES.find_iter(text) {
            let at = found.start();
            if found.pattern().as_usize() == 0 {
                if let Some(label) = private_key_block(text, at) {
                    out.add(
                        &file.path,
                        line_column(text, at),
                        format!("a PEM `{label}` block with key material"),
                    );
                }
                continue;
            }
            let shape = &SHAPES[found.pattern().as_usize() - 1];
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let token: String = text[found.end()..]
                .chars()
                .take_while(|c| (shape.charset)(*c))
                .collect();
            if token.len() < shape.min || token.contains("EXAMPLE") {
                continue;
            }
            out.add(
                &file.path,
                line_column(text, at),
                format!("{} (`{}…`)", shape.what, shape.prefix),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_key_blocks_and_credential_shapes_in_any_file() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----\n";
        let found = TestProject::new()
            .file("tests/keys/signing.pem", pem)
            .file("src/aws.rs", "const ID: &str = \"AKIAZ7QWERTYUIOPASDF\";\n")
            .file(
                "deploy/ci.yml",
                "token: ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                "deploy/ci.yml:1:8",
                "src/aws.rs:1:19",
                "tests/keys/signing.pem:1:1"
            ]
        );
    }

    #[test]
    fn it_is_silent_for_headers_in_docs_examples_and_public_keys() {
        let found = TestProject::new()
            .file("README.md", "Put a `-----BEGIN PRIVATE KEY-----` block in the secret store.\n")
            .file("docs/aws.md", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n")
            .file("keys/pub.pem", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
