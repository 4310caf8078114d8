//! NF016: tokens signed with `none` or a shared-secret (HS*) algorithm are
//! accepted, or signatures are not checked at all.

use super::jwt::statement;
use crate::audit::scan::find_word;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF016",
    name: "jwt-weak-algorithm",
    severity: Severity::Critical,
    title: "JWTs signed with `none` or HS* are accepted, or signatures are not checked",
    asvs: &["V3.5.3"],
    docs: "The identity provider signs access tokens with its private key (RS256, ES256, EdDSA) and the service verifies them with the public keys it publishes. Accepting `alg: none` accepts unsigned tokens. Accepting HS256/384/512 next to the provider's public keys opens the key-confusion attack: a token \"signed\" with HMAC using the public key (which anyone can download) as the secret verifies. Disabling signature validation accepts anything.\n\nThe check reads the service's Rust sources (not tests, not `#[cfg(test)]` code) for `Algorithm::HS256`, `HS384` or `HS512` in an allow list (a statement that mentions `algorithms`, `Validation::new`, `allowed` or `accepted`; a `match` that rejects them is fine), a `\"none\"` algorithm next to `alg`, jsonwebtoken's `insecure_disable_signature_validation()` and `dangerous_insecure_decode`, and env files, Dockerfiles and compose files that set a variable whose name contains `ALG` to a list with `none` or `HS*`.",
    fix: "accept only the asymmetric algorithms your provider signs with (e.g. `Validation::new(Algorithm::RS256)`) and keep signature validation on",
    check,
};

const HMAC: &[&str] = &["HS256", "HS384", "HS512"];
const ALLOW_LIST_WORDS: &[&str] = &["algorithms", "validation::new", "allowed", "accepted"];
const REJECTING_WORDS: &[&str] = &[
    "disallow",
    "reject",
    "forbid",
    "deny",
    "denied",
    "not_allowed",
];
const NO_SIGNATURE: &[&str] = &[
    "insecure_disable_signature_validation",
    "dangerous_insecure_decode",
];

fn in_allow_list(context: &str) -> bool {
    let lower = context.to_ascii_lowercase();
    ALLOW_LIST_WORDS.iter().any(|w| lower.contains(w))
        && !REJECTING_WORDS.iter().any(|w| lower.contains(w))
}

fn check(project: &Project, out: &mut Findings) {
    for source in project.rust_sources() {
        let code = &source.code;
        if !code.contains("HS") && !code.contains("none") && !code.contains("insecure") {
            continue;
        }
        for alg in HMAC {
            for at in find_word(code, alg) {
                if code[..at].ends_with("Algorithm::") && in_allow_list(statement(code, at)) {
                    let start = at - "Algorithm::".len();
                    out.add(
                        &source.path,
                        source.at(start),
                        format!("`Algorithm::{alg}` is accepted"),
                    );
                }
            }
        }
        for (at, _) in code.match_indices("\"none\"") {
            let context = statement(code, at).to_ascii_lowercase();
            if context.contains("alg") && !REJECTING_WORDS.iter().any(|w| context.contains(w)) {
                out.add(
                    &source.path,
                    source.at(at),
                    "the `none` algorithm (unsigned tokens) is accepted",
                );
            }
        }
        for call in NO_SIGNATURE {
            for at in find_word(code, call) {
                out.add(
                    &source.path,
                    source.at(at),
                    format!("`{call}`: token signatures are not verified"),
                );
            }
        }
    }
    for (file, assignments) in project.env_sources() {
        for a in assignments
            .iter()
            .filter(|a| a.key.to_ascii_uppercase().contains("ALG"))
        {
            let weak: Vec<&str> = a
                .value
                .split([',', ' '])
                .map(str::trim)
                .filter(|v| {
                    v.eq_ignore_ascii_case("none") || HMAC.iter().any(|h| v.eq_ignore_ascii_case(h))
                })
                .collect();
            if !weak.is_empty() {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!("{} accepts {}", a.key, weak.join(", ")),
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
    fn it_fires_on_hmac_or_none_in_allow_lists_and_disabled_signatures() {
        let found = TestProject::new()
            .file(
                "src/auth/jwt.rs",
                "fn v() {\n    let mut v = Validation::new(Algorithm::RS256);\n    v.algorithms = vec![Algorithm::RS256, Algorithm::HS256];\n    v.insecure_disable_signature_validation();\n}\n",
            )
            .file(".env.example", "AUTH_ALGORITHMS=RS256,none\n")
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                ".env.example:1:17",
                "src/auth/jwt.rs:3:43",
                "src/auth/jwt.rs:4:7"
            ]
        );
    }

    #[test]
    fn it_is_silent_for_asymmetric_algorithms_rejections_and_tests() {
        let found = TestProject::new()
            .file(
                "src/auth/jwt.rs",
                "fn v(alg: Algorithm) -> Result<(), E> {\n    match alg {\n        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return Err(E::Rejected),\n        _ => {}\n    }\n    let v = Validation::new(Algorithm::RS256);\n    Ok(())\n}\n",
            )
            .file("tests/api/attacks.rs", "let key = EncodingKey::from_secret(b\"k\"); encode(&Header::new(Algorithm::HS256), &c, &key);\n")
            .file(".env.example", "AUTH_ALGORITHMS=RS256,ES256\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
