//! `[audit] allow` in `nestflux.toml`: findings accepted on purpose.
//!
//! An entry names a rule, optionally a path (exact, a directory ending in
//! `/`, or a glob such as `src/**/*.rs`), a reason and an expiry date. An
//! entry without a reason, or past its date, suppresses nothing and is
//! reported itself (NF028, NF029), so a forgotten or lazy suppression can
//! never silence a finding.

use globset::{GlobBuilder, GlobMatcher};

use super::rules;
use super::{Date, ProjectConfig, Suppression};
use super::{Finding, Findings, Suppressed};
use crate::NESTFLUX_VERSION;
use crate::diagnostics::located_error;
use crate::error::UserError;

/// An entry with its path compiled.
#[derive(Clone, Debug)]
pub struct Allow {
    pub entry: Suppression,
    matcher: Option<GlobMatcher>,
}

impl Allow {
    fn matches(&self, finding: &Finding) -> bool {
        finding.rule.id == self.entry.rule
            && self
                .matcher
                .as_ref()
                .is_none_or(|m| m.is_match(&finding.location.path))
    }

    fn reason(&self) -> Option<&str> {
        self.entry
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }
}

/// Checks every entry names a rule and a usable path; errors point at the
/// entry in `nestflux.toml`.
pub fn compile(config: &ProjectConfig) -> Result<Vec<Allow>, UserError> {
    let mut out = Vec::new();
    for entry in &config.allow {
        let offset = line_offset(&config.text, entry.line, entry.column);
        if rules::by_id(&entry.rule).is_none() {
            return Err(located_error(
                &config.text,
                &config.path,
                offset,
                &format!(
                    "`{}` names no rule of nestflux {}",
                    entry.rule, NESTFLUX_VERSION
                ),
                &format!(
                    "the rules are {}; `nestflux audit-config --explain NF001` shows one",
                    rules::id_range()
                ),
            ));
        }
        let matcher = match &entry.path {
            None => None,
            Some(path) => {
                let at = entry.path_span.as_ref().map_or(offset, |s| s.start);
                let pattern = match path.strip_suffix('/') {
                    Some(dir) => format!("{dir}/**"),
                    None => path.clone(),
                };
                let bad = |why: &str| {
                    located_error(
                        &config.text,
                        &config.path,
                        at,
                        &format!("`{path}` is not a usable path: {why}"),
                        "write a path relative to the project root, such as \"src/auth/jwt.rs\", \"deploy/\" or \"src/**/*.rs\"",
                    )
                };
                if path.starts_with('/')
                    || path.split('/').any(|p| p == "..")
                    || path.contains('\\')
                {
                    return Err(bad("it must be relative to the project root, with `/`"));
                }
                let glob = GlobBuilder::new(&pattern)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| bad(&e.kind().to_string()))?;
                Some(glob.compile_matcher())
            }
        };
        out.push(Allow {
            entry: entry.clone(),
            matcher,
        });
    }
    Ok(out)
}

fn line_offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let line_text = text[start..].lines().next().unwrap_or_default();
    start
        + line_text
            .char_indices()
            .nth(column - 1)
            .map_or(0, |(i, _)| i)
}

/// Splits `found` into the findings that count and those a valid entry
/// suppresses, and adds a finding for every invalid entry.
pub fn apply(found: Vec<Finding>, allow: &[Allow], today: Date) -> (Vec<Finding>, Vec<Suppressed>) {
    let file = crate::project::PROJECT_FILE;
    let mut unreasoned = Findings::new(&rules::nf028_suppression_without_reason::RULE);
    let mut expired = Findings::new(&rules::nf029_suppression_expired::RULE);
    let mut valid = Vec::new();
    for a in allow {
        let at = (a.entry.line, a.entry.column);
        if a.reason().is_none() {
            unreasoned.add(
                file,
                at,
                format!(
                    "the suppression of {} has no reason, so it suppresses nothing",
                    a.entry.rule
                ),
            );
        } else if let Some(date) = a.entry.expires.filter(|d| *d < today) {
            expired.add(
                file,
                at,
                format!(
                    "the suppression of {} expired on {date}, so it suppresses nothing",
                    a.entry.rule
                ),
            );
        } else {
            valid.push(a);
        }
    }
    let mut findings = Vec::new();
    let mut suppressed = Vec::new();
    for finding in found {
        match valid.iter().find(|a| a.matches(&finding)) {
            Some(a) => suppressed.push(Suppressed {
                reason: a.reason().unwrap_or_default().to_owned(),
                entry_line: a.entry.line,
                finding,
            }),
            None => findings.push(finding),
        }
    }
    findings.extend(unreasoned.into_vec());
    findings.extend(expired.into_vec());
    (findings, suppressed)
}
