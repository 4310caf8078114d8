//! NF009: `.gitignore` does not ignore `.env`.

use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF009",
    name: "env-not-ignored",
    severity: Severity::Medium,
    title: "`.gitignore` does not ignore `.env`",
    asvs: &["V2.10.4"],
    docs: "The generated service reads local settings, secrets included, from `.env` in development. If `.gitignore` does not ignore it, the first `git add .` commits it. This rule reports the missing safety net even when no `.env` exists yet; NF008 reports an env file that is actually committed.\n\nThe check asks the root `.gitignore` (with git's matching rules, via the `ignore` crate) whether `.env` is ignored.",
    fix: "add a line `.env` to `.gitignore`",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    if project.is_gitignored(".env") {
        return;
    }
    let message = if project.has_gitignore() {
        "`.gitignore` does not ignore `.env`".to_owned()
    } else {
        "the project has no `.gitignore` (or an empty one), so `.env` is not ignored".to_owned()
    };
    out.add(".gitignore", (1, 1), message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_when_gitignore_is_missing_or_lets_env_through() {
        assert_eq!(places(&TestProject::new().check(&RULE)), [".gitignore:1:1"]);
        let found = TestProject::new()
            .file(".gitignore", ".env\n!.env\n")
            .check(&RULE);
        assert_eq!(places(&found), [".gitignore:1:1"]);
    }

    #[test]
    fn it_is_silent_when_gitignore_ignores_env() {
        for ignore in [
            ".env\n",
            "/.env\n",
            ".env*\n!.env.example\n",
            "*.env\n.env\n",
        ] {
            let found = TestProject::new().file(".gitignore", ignore).check(&RULE);
            assert!(found.is_empty(), "{ignore:?}");
        }
    }
}
