//! The `nestflux` binary: parse, dispatch, and map the outcome to an exit
//! code: 0 success, 1 failure (or audit findings), 2 usage error.

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};
use nestflux::cli::{AddCommand, Cli, ColorChoice, Command};
use nestflux::error::UserError;
use nestflux::ui::{self, Ui};

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version on stdout, errors on stderr.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let ui = Ui::new(&cli.global);
    let result = match cli.command {
        Command::New(args) => nestflux::commands::new::run(args, &ui).map(|()| true),
        Command::Add(AddCommand::Role(args)) => {
            nestflux::commands::add::role(args, &ui).map(|()| true)
        }
        Command::Add(AddCommand::Permission(args)) => {
            nestflux::commands::add::permission(args, &ui).map(|()| true)
        }
        Command::Add(AddCommand::Resource(args)) => {
            nestflux::commands::resource::run(args, &ui).map(|()| true)
        }
        Command::Add(AddCommand::Deploy(args)) => {
            nestflux::commands::deploy::run(args, &ui).map(|()| true)
        }
        Command::AuditConfig(args) => nestflux::commands::audit::run(args, &ui),
        Command::Dev(args) => nestflux::commands::dev::run(args, &ui).map(|()| true),
        // Conflicts, a project behind with --check: reported, exit 1.
        Command::Upgrade(args) => nestflux::commands::upgrade::run(args, &ui),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        // The audit found something at or above --fail-on; the report said so.
        Ok(false) => ExitCode::from(1),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            ui::print_error(&err);
            let usage = err.downcast_ref::<UserError>().is_some_and(|e| e.usage);
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// Parses the command line, honouring `--color` for clap's own output too.
fn parse() -> Result<Cli, clap::Error> {
    let args: Vec<_> = std::env::args_os().collect();
    let color = color_flag(&args);
    if let Some(choice) = color {
        ui::apply_color_choice(choice);
    }
    let mut command = Cli::command();
    command = command.color(match color {
        Some(ColorChoice::Always) => clap::ColorChoice::Always,
        Some(ColorChoice::Never) => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    });
    let matches = command.try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// `--color WHEN` or `--color=WHEN`, read before clap so that clap's own
/// help and errors follow it.
fn color_flag(args: &[std::ffi::OsString]) -> Option<ColorChoice> {
    let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    let value = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--color") {
            Some(rest) if rest.starts_with('=') => Some(&rest[1..]),
            Some("") => args.get(i + 1).copied(),
            _ => None,
        })?;
    match value {
        "always" => Some(ColorChoice::Always),
        "never" => Some(ColorChoice::Never),
        _ => None,
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
