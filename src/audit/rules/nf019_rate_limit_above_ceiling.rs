//! NF019: a rate limit so high it limits nothing.

use crate::audit::formats::env;
use crate::audit::scan::leading_integer;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF019",
    name: "rate-limit-above-ceiling",
    severity: Severity::Medium,
    title: "A rate limit is above a sane ceiling",
    asvs: &["V11.1.4"],
    docs: "Rate limits apply per client. A client that may send hundreds of requests per second, or burst thousands at once, can still guess credentials, scrape every item or exhaust the database: the limit exists on paper only.\n\nThe check reads RATE_LIMIT_PER_SECOND (ceiling 100) and RATE_LIMIT_BURST (ceiling 500) in committed env files (examples too: they become real settings when copied), Dockerfiles and compose files.",
    fix: "keep per-client limits near what one honest client needs (the generated defaults), and raise them for named clients at a gateway rather than for everyone",
    check,
};

/// The highest values this rule accepts, per variable.
pub const CEILINGS: &[(&str, u64)] = &[(env::RATE_PER_SECOND, 100), (env::RATE_BURST, 500)];

fn check(project: &Project, out: &mut Findings) {
    for (file, assignments) in project.env_sources() {
        for a in &assignments {
            let Some((_, ceiling)) = CEILINGS.iter().find(|(k, _)| *k == a.key) else {
                continue;
            };
            if let Some(value) = leading_integer(&a.value).filter(|v| v > ceiling) {
                out.add(
                    &file.path,
                    a.value_at(),
                    format!("{} is {value}, above the ceiling of {ceiling}", a.key),
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
    fn it_fires_on_limits_above_the_ceiling() {
        let found = TestProject::new()
            .file(
                ".env.example",
                "RATE_LIMIT_PER_SECOND=10000\nRATE_LIMIT_BURST=100000\n",
            )
            .check(&RULE);
        assert_eq!(places(&found), [".env.example:1:23", ".env.example:2:18"]);
    }

    #[test]
    fn it_is_silent_for_limits_within_the_ceiling() {
        let found = TestProject::new()
            .file(
                ".env.example",
                "RATE_LIMIT_PER_SECOND=10\nRATE_LIMIT_BURST=50\n",
            )
            .file(
                "compose.yaml",
                "services:\n  api:\n    environment:\n      RATE_LIMIT_BURST: 500\n",
            )
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
