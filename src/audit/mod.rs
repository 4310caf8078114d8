//! `nestflux audit-config`: a security gate over a generated project as it
//! is on disk. It reads the project (never runs it), applies every rule in
//! [`rules::ALL`], then the suppressions of `nestflux.toml`.
//!
//! The shape follows cargo's lints: each rule is a static [`Rule`] (id,
//! severity, title, ASVS reference, documentation, fix) with a `check`
//! function over the loaded [`Project`], in a file of its own under
//! `rules/`. Where the files a rule reads come from, and their formats, is
//! decided in [`formats`].

pub mod config;
pub mod date;
pub mod defaults;
pub mod formats;
pub mod project;
pub mod report;
pub mod rules;
pub mod scan;
pub mod suppress;

#[cfg(test)]
pub(crate) mod testing;

use std::fmt;

use serde::Serialize;

pub use config::{ProjectConfig, Suppression};
pub use date::Date;
pub use project::Project;

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// From the most to the least severe, the order summaries use.
    pub const DESCENDING: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A rule: a static descriptor and its check.
pub struct Rule {
    /// Stable id, `NF` and three digits. Never reused for another rule.
    pub id: &'static str,
    /// A short kebab-case name, e.g. `cors-wildcard-origin`.
    pub name: &'static str,
    pub severity: Severity,
    /// One line saying what is wrong, e.g. "CORS allows any origin".
    pub title: &'static str,
    /// The OWASP ASVS 4.0.3 requirements the rule verifies, e.g. `V14.5.3`.
    pub asvs: &'static [&'static str],
    /// Why it matters and what exactly is checked; shown by `--explain`
    /// and as SARIF help. Plain text, paragraphs separated by blank lines.
    pub docs: &'static str,
    /// How to fix a finding, when the finding does not say more precisely.
    pub fix: &'static str,
    pub check: fn(&Project, &mut Findings),
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule").field("id", &self.id).finish()
    }
}

/// Where a finding is: a path relative to the project root (with `/`), and
/// a 1-based line and column (in characters).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub column: usize,
}

/// What a rule found.
#[derive(Clone, Debug)]
pub struct Finding {
    pub rule: &'static Rule,
    pub location: Location,
    /// What was found, specific to this place.
    pub message: String,
    /// A fix specific to this finding; [`Rule::fix`] otherwise.
    pub fix: Option<String>,
}

impl Finding {
    pub fn fix(&self) -> &str {
        self.fix.as_deref().unwrap_or(self.rule.fix)
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity
    }
}

/// The findings of one rule, collected by its check.
pub struct Findings {
    rule: &'static Rule,
    found: Vec<Finding>,
}

impl Findings {
    pub fn new(rule: &'static Rule) -> Self {
        Self {
            rule,
            found: Vec::new(),
        }
    }

    /// Records a finding of this rule at `path:line:column`.
    pub fn add(&mut self, path: &str, (line, column): (usize, usize), message: impl Into<String>) {
        self.found.push(Finding {
            rule: self.rule,
            location: Location {
                path: path.to_owned(),
                line,
                column,
            },
            message: message.into(),
            fix: None,
        });
    }

    pub fn into_vec(self) -> Vec<Finding> {
        self.found
    }
}

/// A finding accepted by an entry of `[audit] allow`.
#[derive(Clone, Debug)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
    /// The line of the `allow` entry in `nestflux.toml`.
    pub entry_line: usize,
}

/// The outcome of an audit, before it is rendered.
#[derive(Debug)]
pub struct Audit {
    /// The project name from `nestflux.toml`, when it has one.
    pub project_name: Option<String>,
    pub files_scanned: usize,
    /// Findings that count, sorted by path, line, column and rule.
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
}

impl Audit {
    /// Runs every rule over `project` and applies the suppressions as of
    /// `today`.
    pub fn run(project: &Project, today: Date) -> Audit {
        // Rules are independent: spread them over the cores, interleaved so
        // that the heavier ones (secret scans) do not share a thread.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let found: Vec<Finding> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let mut found = Vec::new();
                        for rule in rules::ALL.iter().skip(t).step_by(threads) {
                            let mut findings = Findings::new(rule);
                            (rule.check)(project, &mut findings);
                            found.extend(findings.into_vec());
                        }
                        found
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a rule panicked"))
                .collect()
        });
        let (mut findings, mut suppressed) = suppress::apply(found, &project.allow, today);
        findings.sort_by(|a, b| (&a.location, a.rule.id).cmp(&(&b.location, b.rule.id)));
        suppressed.sort_by(|a, b| {
            (&a.finding.location, a.finding.rule.id).cmp(&(&b.finding.location, b.finding.rule.id))
        });
        Audit {
            project_name: project
                .config
                .answers
                .name
                .as_ref()
                .map(ToString::to_string),
            files_scanned: project.files.len(),
            findings,
            suppressed,
        }
    }

    /// How many findings there are of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity() == severity)
            .count()
    }

    /// The findings at or above `fail_on`.
    pub fn failing(&self, fail_on: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity() >= fail_on)
            .count()
    }

    pub fn passes(&self, fail_on: Severity) -> bool {
        self.failing(fail_on) == 0
    }
}
