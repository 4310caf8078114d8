//! Messages for the person at the terminal, on stderr; data goes to stdout.
//! Styling happens here, at print time, so error strings stay plain text.

use console::style;

use crate::cli::{ColorChoice, GlobalArgs};

/// How chatty to be, decided once from the global flags.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    quiet: bool,
    verbose: bool,
}

impl Ui {
    pub fn new(args: &GlobalArgs) -> Self {
        apply_color_choice(args.color);
        Self {
            quiet: args.quiet,
            verbose: args.verbose > 0,
        }
    }

    /// A right-aligned, cargo-style status line: `    Creating my-api`.
    pub fn status(&self, verb: &str, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{:>12} {message}", style(verb).green().bold());
        }
    }

    /// Detail shown only with `--verbose`.
    pub fn detail(&self, message: impl std::fmt::Display) {
        if self.verbose && !self.quiet {
            eprintln!("{:>12} {message}", style("").dim());
        }
    }

    pub fn note(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{} {message}", style("note:").cyan().bold());
        }
    }

    /// Free text such as the next steps; suppressed by `--quiet`.
    pub fn text(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }
}

pub fn apply_color_choice(choice: ColorChoice) {
    match choice {
        // console already colours only terminals and honours NO_COLOR / CLICOLOR_FORCE.
        ColorChoice::Auto => {}
        ColorChoice::Always => {
            console::set_colors_enabled(true);
            console::set_colors_enabled_stderr(true);
        }
        ColorChoice::Never => {
            console::set_colors_enabled(false);
            console::set_colors_enabled_stderr(false);
        }
    }
}

/// Prints an error the way cargo does: `error:` then causes, detail and help.
pub fn print_error(err: &anyhow::Error) {
    let user = err.downcast_ref::<crate::error::UserError>();
    eprintln!("{} {err}", style("error:").red().bold());
    for cause in err.chain().skip(1) {
        eprintln!("  {} {cause}", style("caused by:").dim());
    }
    if let Some(user) = user {
        if let Some(detail) = &user.detail {
            eprintln!("\n{detail}");
        }
        for help in &user.help {
            eprintln!("\n{} {help}", style("help:").cyan().bold());
        }
    }
}
