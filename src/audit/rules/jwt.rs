//! Patterns shared by the JWT rules (NF014–NF017), over Rust code with
//! comments and test code blanked.

use crate::audit::scan::find_word;
use crate::audit::{Findings, Project};

/// `field = false` (an assignment, not `==`) or `field(false)`.
pub fn set_to_false(code: &str, at: usize, field: &str) -> bool {
    let rest = code[at + field.len()..].trim_start();
    let value = if let Some(after) = rest.strip_prefix('=') {
        if after.starts_with('=') {
            return false;
        }
        after.trim_start()
    } else if let Some(after) = rest.strip_prefix('(') {
        after.trim_start()
    } else if let Some(after) = rest.strip_prefix(':') {
        after.trim_start() // struct literal: `Validation { validate_exp: false, .. }`
    } else {
        return false;
    };
    value.starts_with("false")
        && !value[5..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reports every `field = false` in the service's Rust sources.
pub fn report_disabled(project: &Project, out: &mut Findings, field: &str, message: &str) {
    for source in project.rust_sources() {
        for at in find_word(&source.code, field) {
            if set_to_false(&source.code, at, field) {
                out.add(
                    &source.path,
                    source.at(at),
                    format!("`{field} = false`: {message}"),
                );
            }
        }
    }
}

/// The statement around byte `at`: from after the previous `;`, `{` or `}`
/// to the next `;`.
pub fn statement(code: &str, at: usize) -> &str {
    let start = code[..at].rfind([';', '{', '}']).map_or(0, |i| i + 1);
    let end = code[at..].find(';').map_or(code.len(), |i| at + i);
    &code[start..end]
}
