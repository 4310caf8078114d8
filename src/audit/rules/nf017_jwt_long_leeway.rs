//! NF017: the JWT clock-skew leeway is longer than five minutes.

use crate::audit::scan::{find_word, leading_integer};
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF017",
    name: "jwt-long-leeway",
    severity: Severity::Medium,
    title: "The JWT leeway is longer than five minutes",
    asvs: &["V3.5.3"],
    docs: "The leeway tolerates clock skew between the identity provider and the service when checking `exp` and `nbf`. Clocks synchronised with NTP differ by well under a second; a leeway of many minutes extends the life of every token, leaked ones included, by that much.\n\nThe check reads the service's Rust sources (not tests) for `leeway = N`, `leeway: N` or `leeway(N)` with N above 300 (seconds), and env files, Dockerfiles and compose files for variables whose name contains LEEWAY set above 300.",
    fix: "keep the leeway at 60 seconds or less (jsonwebtoken's default is 60)",
    check,
};

/// Five minutes, in seconds: the longest leeway this rule accepts.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

fn check(project: &Project, out: &mut Findings) {
    for source in project.rust_sources() {
        let code = &source.code;
        for at in find_word(code, "leeway") {
            let rest = code[at + "leeway".len()..].trim_start();
            let value = match rest.chars().next() {
                Some('=') if !rest.starts_with("==") => &rest[1..],
                Some(':' | '(') => &rest[1..],
                _ => continue,
            };
            if let Some(seconds) = leading_integer(value).filter(|s| *s > MAX_LEEWAY_SECONDS) {
                out.add(
                    &source.path,
                    source.at(at),
                    format!("the leeway is {seconds} s"),
                );
            }
        }
    }
    for (file, assignments) in project.env_sources() {
        for a in assignments
            .iter()
            .filter(|a| a.key.to_ascii_uppercase().contains("LEEWAY"))
        {
            if let Some(seconds) = leading_integer(&a.value).filter(|s| *s > MAX_LEEWAY_SECONDS) {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!("{} is {seconds} s", a.key),
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
    fn it_fires_on_a_leeway_over_five_minutes() {
        let found = TestProject::new()
            .file(
                "src/auth/jwt.rs",
                "let mut v = Validation::new(Algorithm::RS256);\nv.leeway = 3_600;\n",
            )
            .file(".env.production", "AUTH_LEEWAY_SECONDS=900\n")
            .check(&RULE);
        assert_eq!(
            places(&found),
            [".env.production:1:21", "src/auth/jwt.rs:2:3"]
        );
    }

    #[test]
    fn it_is_silent_for_short_leeways() {
        let found = TestProject::new()
            .file(
                "src/auth/jwt.rs",
                "v.leeway = 60;\nconst MAX: u64 = 300; v.leeway = MAX;\n",
            )
            .file(".env.example", "AUTH_LEEWAY_SECONDS=300\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
