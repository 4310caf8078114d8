//! The questions `nestflux new` asks on a terminal. The flow is written
//! against the [`Asker`] trait: dialoguer answers it on a terminal, and a
//! scripted asker answers it in tests, so both run the same code.

use crate::answers::{
    Answers, Database, DeploySet, DeployTarget, Feature, FeatureSet, Idp, PartialAnswers,
    ProjectName,
};

/// One question at a time; each method returns the user's choice.
pub trait Asker {
    /// Free text, re-asked until `validate` accepts it.
    fn text(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> Result<(), String>,
    ) -> anyhow::Result<String>;
    /// One of `items`; returns its index.
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> anyhow::Result<usize>;
    /// Any of `items`; returns the chosen indices.
    fn multi_select(
        &mut self,
        prompt: &str,
        items: &[String],
        defaults: &[bool],
    ) -> anyhow::Result<Vec<usize>>;
    fn confirm(&mut self, prompt: &str, default: bool) -> anyhow::Result<bool>;
    /// Shows text without asking anything (the summary).
    fn show(&mut self, text: &str);
}

/// Asks for every answer `given` lacks, shows a summary and asks for
/// confirmation. Returns `None` when the user declines.
pub fn ask_missing(
    given: PartialAnswers,
    default_name: Option<&ProjectName>,
    asker: &mut dyn Asker,
) -> anyhow::Result<Option<Answers>> {
    let name = match given.name {
        Some(name) => name,
        None => {
            let raw = asker.text(
                "Project name",
                default_name.map(ProjectName::as_str),
                &|s: &str| {
                    ProjectName::parse(s)
                        .map(drop)
                        .map_err(|e| match e.suggestion {
                            Some(fix) => format!("{}; try `{fix}`", e.rule),
                            None => e.rule,
                        })
                },
            )?;
            ProjectName::parse(&raw)?
        }
    };

    let idp = match given.idp {
        Some(idp) => idp,
        None => choose(
            asker,
            "Identity provider",
            &Idp::ALL,
            Idp::DEFAULT,
            Idp::label,
        )?,
    };

    let database = match given.database {
        Some(db) => db,
        // A question with one possible answer is not worth asking.
        None if Database::AVAILABLE.len() == 1 => Database::AVAILABLE[0],
        None => choose(
            asker,
            "Database",
            &Database::AVAILABLE,
            Database::DEFAULT,
            Database::label,
        )?,
    };

    let features = match given.features {
        Some(features) => features,
        None => {
            let items: Vec<String> = Feature::ALL
                .iter()
                .map(|f| format!("{:<11} {}", f.key(), f.label()))
                .collect();
            let defaults: Vec<bool> = Feature::ALL.iter().map(|f| f.on_by_default()).collect();
            let chosen = asker.multi_select(
                "Security features (space toggles, enter accepts)",
                &items,
                &defaults,
            )?;
            chosen
                .into_iter()
                .map(|i| Feature::ALL[i])
                .collect::<FeatureSet>()
        }
    };

    // One yes/no question per deployment target, off by default: most
    // services start on one machine.
    let deploy = match given.deploy {
        Some(deploy) => deploy,
        None => {
            let mut deploy = DeploySet::none();
            for target in DeployTarget::ALL {
                if asker.confirm(&format!("Generate {}?", target.label()), false)? {
                    deploy.insert(target);
                }
            }
            deploy
        }
    };

    let answers = Answers {
        name,
        idp,
        database,
        features,
        deploy,
    };
    asker.show(&summary(&answers));
    Ok(asker
        .confirm("Create this project?", true)?
        .then_some(answers))
}

/// One of `options`, each shown by its `label`, with `default` chosen
/// unless the user picks another.
fn choose<T: Copy + PartialEq>(
    asker: &mut dyn Asker,
    prompt: &str,
    options: &[T],
    default: T,
    label: fn(T) -> &'static str,
) -> anyhow::Result<T> {
    let items: Vec<String> = options.iter().map(|o| label(*o).to_owned()).collect();
    let default = options.iter().position(|o| *o == default).unwrap_or(0);
    Ok(options[asker.select(prompt, &items, default)?])
}

/// The answers as the user will see them before confirming.
pub fn summary(answers: &Answers) -> String {
    format!(
        "  name:      {}\n  identity:  {}\n  database:  {}\n  features:  {}\n  deploy:    {}",
        answers.name,
        answers.idp.label(),
        answers.database.label(),
        answers.features,
        answers.deploy
    )
}

/// Asks on the terminal with dialoguer.
pub struct TerminalAsker {
    theme: dialoguer::theme::ColorfulTheme,
}

impl TerminalAsker {
    pub fn new() -> Self {
        Self {
            theme: dialoguer::theme::ColorfulTheme::default(),
        }
    }
}

impl Default for TerminalAsker {
    fn default() -> Self {
        Self::new()
    }
}

fn interrupted(e: dialoguer::Error) -> anyhow::Error {
    // dialoguer hides the cursor while a question is open; give it back.
    let _ = console::Term::stderr().show_cursor();
    anyhow::Error::new(e).context("the question was interrupted; nothing was written")
}

impl Asker for TerminalAsker {
    fn text(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> Result<(), String>,
    ) -> anyhow::Result<String> {
        let mut input = dialoguer::Input::<String>::with_theme(&self.theme)
            .with_prompt(prompt)
            .validate_with(|s: &String| validate(s));
        if let Some(default) = default {
            input = input.default(default.to_owned());
        }
        input.interact_text().map_err(interrupted)
    }

    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> anyhow::Result<usize> {
        dialoguer::Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact()
            .map_err(interrupted)
    }

    fn multi_select(
        &mut self,
        prompt: &str,
        items: &[String],
        defaults: &[bool],
    ) -> anyhow::Result<Vec<usize>> {
        dialoguer::MultiSelect::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .defaults(defaults)
            .interact()
            .map_err(interrupted)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> anyhow::Result<bool> {
        dialoguer::Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact()
            .map_err(interrupted)
    }

    fn show(&mut self, text: &str) {
        eprintln!("{text}");
    }
}

/// A test double for [`Asker`]: answers from a script and records every
/// prompt, so that tests drive the real question flow. Test-only.
#[cfg(test)]
mod scripted {
    use std::collections::VecDeque;

    use anyhow::Context as _;

    use super::Asker;

    /// A reply in a script, consumed in order by [`ScriptedAsker`].
    #[derive(Clone, Debug)]
    pub enum Reply {
        /// Accept the default (or the current selection).
        Default,
        Text(String),
        Select(usize),
        MultiSelect(Vec<usize>),
        Confirm(bool),
    }

    /// Answers questions from a script and records every prompt it saw, so
    /// tests can drive the real flow and assert what was asked.
    #[derive(Debug, Default)]
    pub struct ScriptedAsker {
        replies: VecDeque<Reply>,
        pub transcript: Vec<String>,
    }

    impl ScriptedAsker {
        pub fn new(replies: impl IntoIterator<Item = Reply>) -> Self {
            Self {
                replies: replies.into_iter().collect(),
                transcript: Vec::new(),
            }
        }

        fn next(&mut self, prompt: &str) -> anyhow::Result<Reply> {
            self.transcript.push(prompt.to_owned());
            self.replies
                .pop_front()
                .with_context(|| format!("the script has no reply for `{prompt}`"))
        }
    }

    impl Asker for ScriptedAsker {
        fn text(
            &mut self,
            prompt: &str,
            default: Option<&str>,
            validate: &dyn Fn(&str) -> Result<(), String>,
        ) -> anyhow::Result<String> {
            // Like the terminal, re-ask until the validator accepts; rejections
            // are recorded in the transcript.
            loop {
                let value = match self.next(prompt)? {
                    Reply::Default => default.context("no default to accept")?.to_owned(),
                    Reply::Text(t) => t,
                    other => {
                        anyhow::bail!("expected text for `{prompt}`, the script has {other:?}")
                    }
                };
                match validate(&value) {
                    Ok(()) => return Ok(value),
                    Err(e) => self.transcript.push(format!("rejected `{value}`: {e}")),
                }
            }
        }

        fn select(
            &mut self,
            prompt: &str,
            items: &[String],
            default: usize,
        ) -> anyhow::Result<usize> {
            match self.next(prompt)? {
                Reply::Default => Ok(default),
                Reply::Select(i) if i < items.len() => Ok(i),
                other => anyhow::bail!("bad reply for `{prompt}`: {other:?}"),
            }
        }

        fn multi_select(
            &mut self,
            prompt: &str,
            items: &[String],
            defaults: &[bool],
        ) -> anyhow::Result<Vec<usize>> {
            match self.next(prompt)? {
                Reply::Default => Ok((0..items.len()).filter(|&i| defaults[i]).collect()),
                Reply::MultiSelect(chosen) if chosen.iter().all(|&i| i < items.len()) => Ok(chosen),
                other => anyhow::bail!("bad reply for `{prompt}`: {other:?}"),
            }
        }

        fn confirm(&mut self, prompt: &str, default: bool) -> anyhow::Result<bool> {
            match self.next(prompt)? {
                Reply::Default => Ok(default),
                Reply::Confirm(b) => Ok(b),
                other => anyhow::bail!("bad reply for `{prompt}`: {other:?}"),
            }
        }

        fn show(&mut self, text: &str) {
            self.transcript.push(text.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scripted::{Reply, ScriptedAsker};
    use super::*;

    fn name(s: &str) -> ProjectName {
        ProjectName::parse(s).unwrap()
    }

    #[test]
    fn accepting_every_default_gives_the_default_answers() {
        let mut asker = ScriptedAsker::new([
            Reply::Default,
            Reply::Default,
            Reply::Default,
            Reply::Default,
            Reply::Default,
            Reply::Default,
        ]);
        let answers = ask_missing(PartialAnswers::default(), Some(&name("my-api")), &mut asker)
            .unwrap()
            .unwrap();
        assert_eq!(
            answers,
            PartialAnswers::default().with_defaults(name("my-api"))
        );
        assert!(answers.deploy.is_empty());
        assert_eq!(
            asker.transcript[..4],
            [
                "Project name",
                "Identity provider",
                "Database",
                "Security features (space toggles, enter accepts)"
            ]
        );
        assert!(
            asker.transcript[4].starts_with("Generate Kubernetes manifests"),
            "{:?}",
            asker.transcript
        );
        assert!(
            asker.transcript[5]
                .contains("features:  headers, rate-limit, cors, audit-log, encryption")
        );
        assert!(asker.transcript[5].contains("deploy:    none"));
        assert_eq!(asker.transcript[6], "Create this project?");
    }

    #[test]
    fn an_invalid_name_is_asked_again_with_the_rule_and_a_fix() {
        let mut asker = ScriptedAsker::new([
            Reply::Text("1st-api".into()),
            Reply::Text("first-api".into()),
            Reply::Select(2),
            Reply::Select(1),
            Reply::MultiSelect(vec![0, 2]),
            Reply::Confirm(true),
            Reply::Confirm(true),
        ]);
        let answers = ask_missing(PartialAnswers::default(), None, &mut asker)
            .unwrap()
            .unwrap();
        assert_eq!(answers.name, name("first-api"));
        assert_eq!(answers.idp, Idp::Oidc);
        assert_eq!(answers.database, Database::Postgres);
        assert_eq!(answers.features.to_string(), "headers, cors");
        assert_eq!(answers.deploy.to_string(), "kubernetes");
        assert!(
            asker.transcript[1]
                .contains("rejected `1st-api`: it cannot start with a digit; try `st-api1`"),
            "{:?}",
            asker.transcript
        );
    }

    #[test]
    fn only_missing_answers_are_asked() {
        let given = PartialAnswers {
            name: Some(name("given")),
            idp: Some(Idp::Authentik),
            database: Some(Database::Sqlite),
            ..Default::default()
        };
        let mut asker = ScriptedAsker::new([
            Reply::MultiSelect(vec![]),
            Reply::Confirm(false),
            Reply::Confirm(true),
        ]);
        let answers = ask_missing(given, None, &mut asker).unwrap().unwrap();
        assert_eq!(answers.idp, Idp::Authentik);
        assert!(answers.features.is_empty());
        assert_eq!(
            asker.transcript[0],
            "Security features (space toggles, enter accepts)"
        );
    }

    #[test]
    fn a_deployment_choice_given_by_flag_is_not_asked() {
        let given = PartialAnswers {
            name: Some(name("given")),
            idp: Some(Idp::Oidc),
            database: Some(Database::Postgres),
            features: Some(FeatureSet::none()),
            deploy: Some(DeploySet::parse_list("kubernetes").unwrap()),
        };
        let mut asker = ScriptedAsker::new([Reply::Confirm(true)]);
        let answers = ask_missing(given, None, &mut asker).unwrap().unwrap();
        assert!(answers.deploy.contains(DeployTarget::Kubernetes));
        assert!(asker.transcript[0].contains("deploy:    kubernetes"));
        assert_eq!(asker.transcript[1..], ["Create this project?"]);
    }

    #[test]
    fn declining_the_summary_creates_nothing() {
        let mut asker = ScriptedAsker::new([
            Reply::Default,
            Reply::Default,
            Reply::Default,
            Reply::Default,
            Reply::Default,
            Reply::Confirm(false),
        ]);
        let answers = ask_missing(PartialAnswers::default(), Some(&name("x")), &mut asker).unwrap();
        assert_eq!(answers, None);
    }
}
