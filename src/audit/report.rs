//! Rendering an [`Audit`]: text for people (grouped by file, coloured on a
//! terminal), JSON with a versioned schema, and SARIF 2.1.0 for code
//! scanning. The JSON schema is documented in `docs/audit.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use console::{Style, style};
use serde_json::{Value, json};

use super::{Audit, Finding, Rule, Severity, rules};
use crate::NESTFLUX_VERSION;

/// Version of the JSON report layout. Bumped on any incompatible change;
/// new fields may appear without a bump.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// Where the rules are documented, for SARIF `helpUri`.
pub const DOCS_URI: &str = "https://docs.rs/crate/nestflux/latest/source/docs/audit.md";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: findings grouped by file, and a summary
    Text,
    /// For scripts: a documented, versioned JSON object
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers
    Sarif,
}

/// Renders the report. `color` styles the text format (never the others).
pub fn render(audit: &Audit, format: Format, fail_on: Severity, color: bool) -> String {
    match format {
        Format::Text => text(audit, fail_on, color),
        Format::Json => pretty(&json_report(audit, fail_on)),
        Format::Sarif => pretty(&sarif(audit)),
    }
}

fn pretty(value: &Value) -> String {
    let mut out = serde_json::to_string_pretty(value).unwrap_or_default();
    out.push('\n');
    out
}

fn severity_style(severity: Severity) -> Style {
    match severity {
        Severity::Critical => Style::new().red().bold(),
        Severity::High => Style::new().red(),
        Severity::Medium => Style::new().yellow(),
        Severity::Low => Style::new().cyan(),
    }
}

/// The one-line summary: counts by severity and the verdict.
pub fn summary(audit: &Audit, fail_on: Severity) -> String {
    let total = audit.findings.len();
    let mut line = if total == 0 {
        "no findings".to_owned()
    } else {
        let counts: Vec<String> = Severity::DESCENDING
            .iter()
            .map(|s| format!("{} {s}", audit.count(*s)))
            .collect();
        format!(
            "{total} finding{}: {}",
            if total == 1 { "" } else { "s" },
            counts.join(", ")
        )
    };
    if !audit.suppressed.is_empty() {
        let _ = write!(line, " ({} suppressed)", audit.suppressed.len());
    }
    let failing = audit.failing(fail_on);
    let _ = write!(
        line,
        "; {} files checked; {}",
        audit.files_scanned,
        if failing == 0 {
            format!("passed at --fail-on {fail_on}")
        } else {
            format!("{failing} at or above {fail_on}, failed")
        }
    );
    line
}

fn text(audit: &Audit, fail_on: Severity, color: bool) -> String {
    let paint = |s: &str, st: Style| -> String {
        if color {
            st.force_styling(true).apply_to(s).to_string()
        } else {
            s.to_owned()
        }
    };
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in &audit.findings {
        by_file
            .entry(&finding.location.path)
            .or_default()
            .push(finding);
    }
    let mut out = String::new();
    for (path, findings) in by_file {
        let _ = writeln!(out, "{}", paint(path, Style::new().bold().underlined()));
        for f in findings {
            let place = format!("{}:{}", f.location.line, f.location.column);
            let severity = format!("{:<8}", f.severity().key());
            let _ = writeln!(
                out,
                "  {place:<8} {} {}  {}",
                paint(&severity, severity_style(f.severity())),
                paint(f.rule.id, Style::new().bold()),
                f.rule.title
            );
            let _ = writeln!(out, "{:27}{}", "", f.message);
            let _ = writeln!(
                out,
                "{:27}{} {}",
                "",
                paint("fix:", Style::new().green()),
                f.fix()
            );
        }
        out.push('\n');
    }
    let verdict = summary(audit, fail_on);
    let verdict_style = if audit.passes(fail_on) {
        Style::new().green().bold()
    } else {
        Style::new().red().bold()
    };
    let _ = writeln!(out, "{}", paint(&verdict, verdict_style));
    if !audit.findings.is_empty() {
        let _ = writeln!(
            out,
            "`nestflux audit-config --explain {}` explains a rule; accept a finding in `[audit] allow` of nestflux.toml",
            audit.findings[0].rule.id
        );
    }
    out
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "rule": f.rule.id,
        "name": f.rule.name,
        "severity": f.severity(),
        "title": f.rule.title,
        "asvs": f.rule.asvs,
        "path": f.location.path,
        "line": f.location.line,
        "column": f.location.column,
        "message": f.message,
        "fix": f.fix(),
    })
}

/// The JSON report (schema version [`JSON_SCHEMA_VERSION`]).
pub fn json_report(audit: &Audit, fail_on: Severity) -> Value {
    let by_severity: serde_json::Map<String, Value> = Severity::DESCENDING
        .iter()
        .map(|s| (s.key().to_owned(), json!(audit.count(*s))))
        .collect();
    json!({
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": { "name": "nestflux", "version": NESTFLUX_VERSION },
        "project": audit.project_name,
        "fail_on": fail_on,
        "passed": audit.passes(fail_on),
        "summary": {
            "files_checked": audit.files_scanned,
            "findings": audit.findings.len(),
            "failing": audit.failing(fail_on),
            "suppressed": audit.suppressed.len(),
            "by_severity": by_severity,
        },
        "findings": audit.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "suppressed": audit.suppressed.iter().map(|s| {
            let mut value = finding_json(&s.finding);
            value["reason"] = json!(s.reason);
            value["allow_line"] = json!(s.entry_line);
            value
        }).collect::<Vec<_>>(),
    })
}

/// `security-severity` for GitHub: critical ≥ 9.0, high 7.0–8.9, medium
/// 4.0–6.9, low below 4.0.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The help text of a rule, as `--explain` prints it.
pub fn explain(rule: &Rule) -> String {
    format!(
        "{id} {name}: {title}\n\nseverity: {severity}\nOWASP ASVS 4.0.3: {asvs}\n\n{docs}\n\nfix: {fix}\n\nsuppress (with a reason) in nestflux.toml:\n  [audit]\n  allow = [{{ rule = \"{id}\", path = \"…\", reason = \"…\", expires = \"YYYY-MM-DD\" }}]\n",
        id = rule.id,
        name = rule.name,
        title = rule.title,
        severity = rule.severity,
        asvs = rule.asvs.join(", "),
        docs = rule.docs,
        fix = rule.fix,
    )
}

fn sarif_rule(rule: &Rule) -> Value {
    let first_paragraph = rule.docs.split("\n\n").next().unwrap_or(rule.docs);
    let mut tags = vec!["security".to_owned(), "configuration".to_owned()];
    tags.extend(rule.asvs.iter().map(|a| format!("OWASP-ASVS-4.0.3-{a}")));
    json!({
        "id": rule.id,
        "name": rule.name,
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": first_paragraph },
        "help": {
            "text": format!("{}\n\nFix: {}\n\nOWASP ASVS 4.0.3: {}", rule.docs, rule.fix, rule.asvs.join(", ")),
            "markdown": format!(
                "{}\n\n**Fix:** {}\n\n**OWASP ASVS 4.0.3:** {}",
                rule.docs, rule.fix, rule.asvs.join(", ")
            ),
        },
        "helpUri": DOCS_URI,
        "defaultConfiguration": { "level": sarif_level(rule.severity) },
        "properties": {
            "tags": tags,
            "precision": "high",
            "problem.severity": sarif_level(rule.severity),
            "security-severity": security_severity(rule.severity),
        },
    })
}

/// A relative path as a URI reference: `/` kept, anything else that is not
/// unreserved percent-encoded.
fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// SARIF 2.1.0: one run, every rule in the driver, one result per finding
/// (suppressed findings are left out), locations relative to the project
/// root (`%SRCROOT%`).
pub fn sarif(audit: &Audit) -> Value {
    let results: Vec<Value> = audit
        .findings
        .iter()
        .map(|f| {
            let index = rules::ALL
                .iter()
                .position(|r| r.id == f.rule.id)
                .unwrap_or(0);
            json!({
                "ruleId": f.rule.id,
                "ruleIndex": index,
                "level": sarif_level(f.severity()),
                "message": { "text": format!("{}. Fix: {}", f.message, f.fix()) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": uri_reference(&f.location.path),
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {
                            "startLine": f.location.line,
                            "startColumn": f.location.column,
                        },
                    },
                }],
                "properties": { "severity": f.severity() },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "nestflux",
                    "version": NESTFLUX_VERSION,
                    "semanticVersion": NESTFLUX_VERSION,
                    "informationUri": "https://crates.io/crates/nestflux",
                    "rules": rules::ALL.iter().map(|r| sarif_rule(r)).collect::<Vec<_>>(),
                },
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// Prints the summary line on stderr, for formats whose report is not
/// meant for people.
pub fn print_summary(audit: &Audit, fail_on: Severity) {
    let line = summary(audit, fail_on);
    let label = if audit.passes(fail_on) {
        style("audit:").green().bold()
    } else {
        style("audit:").red().bold()
    };
    eprintln!("{label} {line}");
}
