//! `nestflux new`: flags / preset / questions → `Answers` → render → write.

use std::io::IsTerminal as _;
use std::path::Path;

use crate::answers::{Answers, DeployTarget, Idp, PartialAnswers, ProjectName};
use crate::cli::NewArgs;
use crate::error::UserError;
use crate::prompt::{self, Asker, TerminalAsker};
use crate::render::{self, FileSet};
use crate::secrets::Secrets;
use crate::ui::Ui;
use crate::write;

/// Whether questions can be asked: stdin and stdout are a terminal.
pub fn on_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

pub fn run(args: NewArgs, ui: &Ui) -> anyhow::Result<()> {
    let interactive = !args.yes && on_terminal();
    let mut asker = TerminalAsker::new();
    let asker: Option<&mut dyn Asker> = interactive.then_some(&mut asker as &mut dyn Asker);
    let Some(answers) = resolve_answers(&args, ui, asker)? else {
        ui.text("Cancelled; nothing was written.");
        return Ok(());
    };
    answers.validate()?;
    // Fresh secrets for every project: never a credential two projects share.
    let secrets = Secrets::from_os_rng(render::DEFAULT_ROLES);
    let files = render::render(&answers, &secrets)?;
    // The baseline `nestflux upgrade` merges against (see crate::upgrade).
    let files = crate::upgrade::baseline::attach(files)?;

    if args.dry_run {
        print!("{}", dry_run_listing(&args.path, &files));
        return Ok(());
    }

    ui.status(
        "Creating",
        format_args!("`{}` in `{}`", answers.name, args.path.display()),
    );
    write::write_project(&args.path, &files, ui)?;
    ui.status(
        "Created",
        format_args!(
            "{} files ({} · {} · features: {}{})",
            files.len(),
            answers.idp.key(),
            answers.database.key(),
            answers.features,
            if answers.deploy.is_empty() {
                String::new()
            } else {
                format!(" · deploy: {}", answers.deploy)
            }
        ),
    );
    if render::rustfmt_was_missing() {
        ui.note(render::RUSTFMT_MISSING_NOTE);
    }
    ui.text(next_steps(&args.path, answers.idp));
    if answers.deploy.contains(DeployTarget::Kubernetes) {
        ui.text(
            "\nKubernetes: deploy/kubernetes/README.md says how to pin the image digest, create\n\
             the Secret and apply an overlay (kubectl apply -k deploy/kubernetes/overlays/production).",
        );
    }
    Ok(())
}

/// Everything up to complete `Answers`: the name, the preset, the flags, and
/// (on a terminal) the questions for what is still missing. Returns `None`
/// when the user declines at the confirmation.
pub fn resolve_answers(
    args: &NewArgs,
    ui: &Ui,
    asker: Option<&mut dyn Asker>,
) -> anyhow::Result<Option<Answers>> {
    // Refuse an unusable PATH before asking a single question.
    write::check_target(&args.path)?;

    let derived = derive_name(&args.path)?;
    let preset = match &args.preset {
        Some(path) => {
            let mut preset = crate::project::file::read_preset(path)?;
            if let Some(name) = preset.name.take()
                && Some(&name) != args.name.as_ref().or(derived.as_ref().ok())
            {
                ui.note(format_args!(
                    "the preset's name `{name}` is not used: the project is named after PATH (or --name)"
                ));
            }
            preset
        }
        None => PartialAnswers::default(),
    };
    let flags = PartialAnswers {
        name: args.name.clone(),
        idp: args.idp,
        database: args.db,
        features: args.features.clone(),
        deploy: args.deploy.clone(),
    };
    let given = flags.or(preset);

    match asker {
        Some(asker) => {
            if let Err(e) = &derived {
                ui.note(format_args!("{}", e.message));
            }
            prompt::ask_missing(given, derived.as_ref().ok(), asker)
        }
        None => {
            let name = match (&given.name, derived) {
                (Some(name), _) => name.clone(),
                (None, Ok(name)) => name,
                (None, Err(e)) => return Err(e.into()),
            };
            let missing = given.missing_flags();
            if !args.yes && !missing.is_empty() {
                return Err(UserError::usage(
                    "some answers are missing and there is no terminal to ask them on",
                )
                .with_help(format!(
                    "pass {}, or pass --yes to take the defaults",
                    missing.join(", ")
                ))
                .into());
            }
            Ok(Some(given.with_defaults(name)))
        }
    }
}

/// The project name implied by PATH: its last component, like `cargo new`.
/// The error explains the rule and suggests `--name`.
fn derive_name(path: &Path) -> Result<Result<ProjectName, UserError>, UserError> {
    let last = match path.file_name() {
        Some(name) => name.to_owned(),
        // `.` or `..`: use the name of the directory it stands for.
        None => std::path::absolute(path)
            .ok()
            .and_then(|p| p.canonicalize().ok().or(Some(p)))
            .and_then(|p| p.file_name().map(ToOwned::to_owned))
            .ok_or_else(|| {
                UserError::usage(format!(
                    "cannot take a project name from `{}`",
                    path.display()
                ))
                .with_help("pass --name NAME")
            })?,
    };
    let Some(last) = last.to_str() else {
        return Ok(Err(UserError::usage(format!(
            "the directory name in `{}` is not valid UTF-8",
            path.display()
        ))
        .with_help("pass --name NAME")));
    };
    Ok(ProjectName::parse(last).map_err(|e| {
        let help = match &e.suggestion {
            Some(fix) => format!("pass --name {fix}, or choose another PATH"),
            None => "pass --name NAME, or choose another PATH".to_owned(),
        };
        UserError::usage(format!(
            "the project name `{last}` (from PATH) is not valid: {}",
            e.rule
        ))
        .with_help(help)
    }))
}

/// The tree `--dry-run` prints on stdout: every path with its size.
pub fn dry_run_listing(path: &Path, files: &FileSet) -> String {
    let width = files.keys().map(|p| p.len()).max().unwrap_or(0);
    let mut out = format!("{}/\n", path.display());
    let mut total = 0;
    for (rel, contents) in files {
        total += contents.len();
        out.push_str(&format!(
            "  {rel:<width$}  {:>9}\n",
            human_size(contents.len())
        ));
    }
    out.push_str(&format!(
        "{} files, {} (dry run: nothing was written)\n",
        files.len(),
        human_size(total)
    ));
    out
}

fn human_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn next_steps(path: &Path, idp: Idp) -> String {
    let cd = shell_quote(path);
    let real = match idp {
        Idp::Keycloak | Idp::Authentik => format!(
            "\x20 # or with a real {}: docker compose up -d && cargo run\n",
            idp.label()
        ),
        Idp::Oidc => {
            "\x20 # or with your provider: set AUTH_ISSUER_URL in .env, then cargo run\n".to_owned()
        }
    };
    let env = match idp {
        Idp::Keycloak | Idp::Authentik => {
            "`.env` holds your local settings and this project's development passwords\n\
             (git-ignored); README.md explains each setting and how to get a token."
        }
        Idp::Oidc => {
            "`.env` holds your local settings and this project's development passwords\n\
             (git-ignored); README.md explains each setting and what to configure at\n\
             your identity provider."
        }
    };
    format!(
        "\nNext steps:\n\
         \x20 cd {cd}\n\
         \x20 cargo test              # the project's own tests (no IdP needed)\n\
         \x20 nestflux dev            # a development IdP + cargo run; prints a token per role\n\
         {real}\
         \n\
         {env}"
    )
}

/// Quotes a path for the shell only when it needs it.
fn shell_quote(path: &Path) -> String {
    let s = path.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
