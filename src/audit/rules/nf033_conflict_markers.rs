//! NF033: a committed file still holds merge conflict markers.

use crate::audit::{Findings, Project, Rule, Severity};
use crate::upgrade::merge::conflict_markers;

pub static RULE: Rule = Rule {
    id: "NF033",
    name: "conflict-markers",
    severity: Severity::High,
    title: "A file holds unresolved merge conflict markers",
    asvs: &["V14.1.1", "V14.2.1"],
    docs: "`nestflux upgrade` writes a change that both you and the templates made to the same lines between diff3 conflict markers (`<<<<<<< yours`, `||||||| nestflux <old>`, `=======`, `>>>>>>> nestflux <new>`), as git does for a merge. A file committed with them is a merge nobody finished: in Rust it does not compile, but in a configuration file, a Dockerfile, a workflow or the README it may still be read, with both versions or neither, and the security fix the upgrade brought may be the half that is lost.\n\nThe check reports every committed text file with a conflict block: a line starting with `<<<<<<<`, then a line starting with `=======`, then one starting with `>>>>>>>` (a lone `=======`, a Markdown underline, is not one).",
    fix: "keep what you want between the markers, delete the marker lines, then run `nestflux upgrade` again so that it records the new version",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    for file in &project.files {
        for line in conflict_markers(&file.text) {
            out.add(
                &file.path,
                (line, 1),
                "an unresolved merge conflict starts here",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_on_every_conflict_block() {
        let found = TestProject::new()
            .file(
                "src/lib.rs",
                "fn a() {}\n<<<<<<< yours\nfn b() {}\n||||||| nestflux 0.1.0\n=======\nfn c() {}\n>>>>>>> nestflux 0.2.0\n",
            )
            .file(
                "Dockerfile",
                "<<<<<<< yours\nUSER root\n=======\nUSER app\n>>>>>>> nestflux 0.2.0\n",
            )
            .check(&RULE);
        assert_eq!(places(&found), ["Dockerfile:1:1", "src/lib.rs:2:1"]);
    }

    #[test]
    fn it_is_silent_on_markdown_underlines_and_lone_markers() {
        let found = TestProject::new()
            .file("README.md", "Title\n=======\n\nText with <<<<<<< inside.\n")
            .file("notes.txt", "<<<<<<< started but never finished\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
