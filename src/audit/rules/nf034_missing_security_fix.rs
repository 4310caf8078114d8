//! NF034: the project was generated (or last upgraded) before a security
//! fix of the templates that concerns it.

use semver::Version;

use crate::audit::{Findings, Project, Rule, Severity};
use crate::upgrade::data::{VERSION_KEY, recorded_version};
use crate::upgrade::security::{self, Fix};

pub static RULE: Rule = Rule {
    id: "NF034",
    name: "missing-security-fix",
    severity: Severity::High,
    title: "The project predates a security fix of its templates",
    asvs: &["V14.2.1"],
    docs: "A generated project is a snapshot of nestflux's templates: when a template gets a security fix, projects generated before keep the hole until they are upgraded. nestflux ships a reviewed list of security-relevant template changes, each with the version that ships it and the generated files it changes (`nestflux upgrade --dry-run` shows it too).\n\nThe check reads `nestflux-version` in `nestflux.toml` (the version that generated the project, or last upgraded it without conflicts) and reports each fix shipped after it, up to this nestflux, that concerns the project: it has one of the fix's files. A missing or unreadable version counts as older than every fix.",
    fix: "run `nestflux upgrade` (see `--dry-run` first), resolve any conflict, and commit",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    check_with(project, security::all(), &security::running_version(), out);
}

/// The check against any list and running version (tests pass their own).
fn check_with(project: &Project, fixes: &[Fix], running: &Version, out: &mut Findings) {
    let text = &project.config.text;
    let recorded = recorded_version(text);
    let missing = security::missing(fixes, recorded.as_ref(), running, |file| {
        project.file(file).is_some()
    });
    let at = text
        .lines()
        .position(|l| l.trim_start().starts_with(VERSION_KEY))
        .map_or((1, 1), |i| (i + 1, 1));
    let from = recorded.map_or_else(|| "an unknown version".to_owned(), |v| v.to_string());
    for fix in missing {
        out.add(
            crate::project::PROJECT_FILE,
            at,
            format!(
                "generated with nestflux {from}, before the fix `{}` of nestflux {}: {} (in {})",
                fix.id,
                fix.version,
                fix.title,
                fix.files.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{ALL_FEATURES_TOML, TestProject, places};

    fn fixes() -> Vec<Fix> {
        security::parse(
            "[[fix]]\nid = \"session-fix\"\nversion = \"0.2.0\"\ntitle = \"Sessions end\"\nfixes = \"x\"\nfiles = [\"src/routes/session.rs\"]\nasvs = [\"V3.3.1\"]\n",
        )
        .unwrap()
    }

    fn run(version: &str, with_file: bool) -> Vec<crate::audit::Finding> {
        let toml = ALL_FEATURES_TOML.replace(
            "schema = 1\n",
            &format!("schema = 1\nnestflux-version = \"{version}\"\n"),
        );
        let mut project = TestProject::new().file("nestflux.toml", &toml);
        if with_file {
            project = project.file("src/routes/session.rs", "// sessions\n");
        }
        let mut out = Findings::new(&RULE);
        check_with(&project.load(), &fixes(), &Version::new(0, 2, 0), &mut out);
        out.into_vec()
    }

    #[test]
    fn it_fires_for_a_project_generated_before_a_fix_it_needs() {
        let found = run("0.1.0", true);
        assert_eq!(places(&found), ["nestflux.toml:2:1"]);
        assert!(
            found[0].message.contains("`session-fix` of nestflux 0.2.0"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn it_is_silent_once_upgraded_or_when_the_fix_concerns_other_files() {
        assert!(run("0.2.0", true).is_empty());
        assert!(run("0.1.0", false).is_empty());
    }

    #[test]
    fn the_shipped_list_reports_nothing_on_a_project_of_this_version() {
        let toml = ALL_FEATURES_TOML.replace(
            "schema = 1\n",
            &format!(
                "schema = 1\nnestflux-version = \"{}\"\n",
                crate::NESTFLUX_VERSION
            ),
        );
        let project = TestProject::new()
            .file("nestflux.toml", &toml)
            .file("src/routes/session.rs", "// sessions\n");
        let found = crate::audit::testing::run(&RULE, &project.load());
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
