//! NF020: the container image runs as root.

use crate::audit::formats::files;
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF020",
    name: "container-runs-as-root",
    severity: Severity::Medium,
    title: "The container runs as root",
    asvs: &["V1.2.1"],
    docs: "A process running as root inside a container turns any code-execution bug into root in the container, and a single container-runtime or kernel flaw away from root on the host. The generated Dockerfile runs the service as an unprivileged `app` user.\n\nThe check reads every committed Dockerfile (`Dockerfile`, `Dockerfile.*`, `*.Dockerfile`, `Containerfile`): the final stage (after the last `FROM`) must set a `USER` other than `root` or `0`. Base images tagged `nonroot` (distroless) pass without one.",
    fix: "create an unprivileged user in the final stage and switch to it: `RUN useradd --system --uid 10001 app` then `USER app`",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    for file in project
        .files
        .iter()
        .filter(|f| files::is_dockerfile(&f.path))
    {
        let mut last_from: Option<(usize, String)> = None;
        let mut last_user: Option<(usize, usize, String)> = None;
        let mut continued = false;
        for (index, line) in file.text.lines().enumerate() {
            let trimmed = line.trim_start();
            let was_continued = continued;
            continued = line.trim_end().ends_with('\\');
            if was_continued || trimmed.starts_with('#') {
                continue;
            }
            let mut words = trimmed.split_whitespace();
            let instruction = words.next().unwrap_or_default().to_ascii_uppercase();
            match instruction.as_str() {
                "FROM" => {
                    let image = words.find(|w| !w.starts_with("--")).unwrap_or_default();
                    last_from = Some((index + 1, image.to_owned()));
                    last_user = None;
                }
                "USER" => {
                    let user = words.next().unwrap_or_default().to_owned();
                    let column = line.len() - trimmed.len() + 1;
                    last_user = Some((index + 1, column, user));
                }
                _ => {}
            }
        }
        let Some((from_line, image)) = last_from else {
            continue;
        };
        match last_user {
            Some((line, column, user)) => {
                let name = user.split(':').next().unwrap_or_default();
                if name == "root" || name == "0" {
                    out.add(
                        &file.path,
                        (line, column),
                        format!("the final stage switches to `USER {user}`"),
                    );
                }
            }
            None if image.contains("nonroot") => {}
            None => out.add(
                &file.path,
                (from_line, 1),
                format!("the final stage (`FROM {image}`) sets no `USER`, so it runs as root"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    #[test]
    fn it_fires_without_a_user_or_with_root() {
        let found = TestProject::new()
            .file(
                "Dockerfile",
                "FROM rust AS build\nUSER app\nFROM debian:bookworm-slim\nCMD [\"api\"]\n",
            )
            .file(
                "docker/worker.Dockerfile",
                "FROM debian\nUSER app\nRUN x\nUSER 0:0\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&found),
            ["Dockerfile:3:1", "docker/worker.Dockerfile:4:1"]
        );
    }

    #[test]
    fn it_is_silent_for_an_unprivileged_final_stage() {
        let found = TestProject::new()
            .file(
                "Dockerfile",
                "FROM rust AS build\nFROM debian\nRUN useradd app \\\n  && true\nUSER app\n",
            )
            .file(
                "Containerfile",
                "FROM gcr.io/distroless/cc-debian12:nonroot\n",
            )
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
