//! `nestflux.toml` as `nestflux audit-config` reads it: the answers, where
//! `features` is written, and the `[audit] allow` entries, checked.

use std::path::{Path, PathBuf};

use super::date::Date;
use crate::answers::{FeatureSet, PartialAnswers};
use crate::diagnostics::{line_column, located_error};
use crate::error::UserError;
use crate::project::file::{self, ProjectFile};

/// A project's `nestflux.toml` for the audit.
#[derive(Clone, Debug)]
pub struct ProjectConfig {
    pub path: PathBuf,
    pub text: String,
    pub answers: PartialAnswers,
    /// 1-based line and column of the `features` value, when it is written.
    pub features_at: Option<(usize, usize)>,
    pub allow: Vec<Suppression>,
}

/// One entry of `[audit] allow`: a finding accepted on purpose. Whether it
/// still counts (a reason, a date not past) is decided in `suppress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// A rule id such as `NF003`.
    pub rule: String,
    /// A path or glob relative to the project root; `None` for every file.
    pub path: Option<String>,
    /// Where `path` is written, for errors about it.
    pub path_span: Option<std::ops::Range<usize>>,
    /// Why the finding is accepted; `None` or blank makes the entry invalid.
    pub reason: Option<String>,
    pub expires: Option<Date>,
    /// 1-based line and column of the entry in `nestflux.toml`.
    pub line: usize,
    pub column: usize,
}

impl ProjectConfig {
    /// The features in force: those written, or the defaults when the file
    /// does not say (as `nestflux new` would have chosen).
    pub fn features(&self) -> FeatureSet {
        file::features_in_force(&self.answers)
    }

    /// Parses the text of the `nestflux.toml` at `path`. Errors name the
    /// file, line and column like those of presets.
    pub fn parse(text: String, path: &Path) -> Result<ProjectConfig, UserError> {
        let file = ProjectFile::parse(&text, path)?;
        let mut allow = Vec::new();
        for entry in &file.allow {
            let (line, column) = line_column(&text, entry.span.start);
            let rule = entry.rule.get_ref();
            let well_formed = rule.len() == 5
                && rule.starts_with("NF")
                && rule[2..].bytes().all(|b| b.is_ascii_digit());
            if !well_formed {
                return Err(located_error(
                    &text,
                    path,
                    entry.rule.span().start,
                    &format!("`{rule}` is not a rule id; ids look like `NF001`"),
                    "`nestflux audit-config --explain NF001` shows a rule; the README lists them all",
                ));
            }
            let expires = match &entry.expires {
                None => None,
                Some(raw) => Some(Date::parse(raw.get_ref()).ok_or_else(|| {
                    located_error(
                        &text,
                        path,
                        raw.span().start,
                        &format!("`{}` is not a date", raw.get_ref()),
                        "write the date as \"YYYY-MM-DD\", e.g. expires = \"2027-01-31\"",
                    )
                })?),
            };
            allow.push(Suppression {
                rule: rule.clone(),
                path: entry.path.as_ref().map(|p| p.get_ref().clone()),
                path_span: entry.path.as_ref().map(toml::Spanned::span),
                reason: entry.reason.clone(),
                expires,
                line,
                column,
            });
        }
        Ok(ProjectConfig {
            path: path.to_owned(),
            features_at: file
                .features_span
                .as_ref()
                .map(|span| line_column(&text, span.start)),
            answers: file.answers,
            text,
            allow,
        })
    }
}
