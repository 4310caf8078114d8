//! `nestflux audit-config`: find the project, load it, run the rules, render
//! the report. Returns whether the project passes at `--fail-on`.

use std::io::Write as _;

use anyhow::Context as _;

use crate::audit::report::{self, Format};
use crate::audit::{Audit, Date, Project, rules};
use crate::cli::AuditArgs;
use crate::error::UserError;
use crate::ui::Ui;

/// How `audit-config` takes the project on its command line, for messages.
const HOW_TO_NAME_THE_PROJECT: &str = "`nestflux audit-config path/to/project`";

pub fn run(args: AuditArgs, ui: &Ui) -> anyhow::Result<bool> {
    if let Some(id) = &args.explain {
        let rule = rules::by_id(id.trim()).ok_or_else(|| {
            UserError::usage(format!("`{id}` is not a rule of nestflux audit-config")).with_help(
                format!(
                    "the rules are {}: {}",
                    rules::id_range(),
                    rules::ALL
                        .iter()
                        .map(|r| format!("{} {}", r.id, r.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        print!("{}", report::explain(rule));
        return Ok(true);
    }

    let root = crate::project::locate(args.path.as_deref(), HOW_TO_NAME_THE_PROJECT)?;
    let project = Project::load(&root)?;
    let audit = Audit::run(&project, Date::today());
    for path in &project.too_large {
        ui.detail(format_args!("skipped `{path}`: larger than 1 MiB"));
    }

    let to_terminal = args.output.is_none();
    let color = to_terminal && args.format == Format::Text && console::colors_enabled();
    let rendered = report::render(&audit, args.format, args.fail_on, color);
    match &args.output {
        Some(path) => {
            std::fs::write(path, &rendered)
                .with_context(|| format!("failed to write the report to `{}`", path.display()))?;
            ui.status(
                "Wrote",
                format_args!("`{}` ({} findings)", path.display(), audit.findings.len()),
            );
            if !ui.is_quiet() {
                report::print_summary(&audit, args.fail_on);
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(rendered.as_bytes())?;
            stdout.flush()?;
            if args.format != Format::Text && !ui.is_quiet() {
                report::print_summary(&audit, args.fail_on);
            }
        }
    }
    Ok(audit.passes(args.fail_on))
}
