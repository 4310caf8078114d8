//! NF008: an env file other than an example is committed.

use crate::audit::formats::files;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF008",
    name: "committed-env-file",
    severity: Severity::High,
    title: "An env file is committed",
    asvs: &["V2.10.4", "V6.4.1"],
    docs: "`.env` files hold the settings of one machine, secrets included (database passwords, client secrets, encryption keys). Once committed, every clone, fork, CI log and backup of the repository has them, and removing the file later does not remove it from history.\n\nThe check reports every env file (`.env`, `.env.*`, in any directory) that is committed, or would be (it is not ignored by `.gitignore`). In a git checkout it also reads git's index, so a `.env` committed before `.gitignore` listed it is found. Examples meant to be committed (`.env.example`, `.env.sample`, `.env.template`, `.env.dist`) are not reported; rules NF010 and NF011 still check their values.",
    fix: "remove the file from the repository (`git rm --cached <file>`), make sure `.gitignore` ignores it, and rotate every secret it held; document variables in `.env.example` instead",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    for file in project.env_files() {
        if files::is_example_env(&file.path) {
            continue;
        }
        let message = if project.is_gitignored(&file.path) {
            format!(
                "`{}` is in git's index: it is committed although `.gitignore` ignores it",
                file.path
            )
        } else {
            format!(
                "`{}` is committed, or will be: `.gitignore` does not ignore it",
                file.path
            )
        };
        out.add(&file.path, (1, 1), message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_env_files_that_are_not_ignored() {
        let found = TestProject::new()
            .file(".gitignore", "/target\n")
            .file(".env", "A=1\n")
            .file("deploy/.env.production", "A=1\n")
            .check(&RULE);
        assert_eq!(places(&found), [".env:1:1", "deploy/.env.production:1:1"]);
        assert!(found[0].message.contains("does not ignore it"));
    }

    #[test]
    fn it_fires_on_an_ignored_env_file_that_git_tracks() {
        let project = TestProject::new()
            .file(".gitignore", ".env\n")
            .file(".env", "A=1\n");
        let dir = project.load().root.clone();
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(&dir)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        };
        if !git(&["init", "-q"]) || !git(&["add", "-f", ".env"]) {
            return; // no git on this machine: the index cannot be made
        }
        let found = project.check(&RULE);
        assert_eq!(places(&found), [".env:1:1"]);
        assert!(
            found[0].message.contains("in git's index"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn it_is_silent_for_ignored_env_files_and_examples() {
        let found = TestProject::new()
            .file(".gitignore", ".env\n.env.*\n!.env.example\n")
            .file(".env", "A=1\n")
            .file(".env.local", "A=1\n")
            .file(".env.example", "A=\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
