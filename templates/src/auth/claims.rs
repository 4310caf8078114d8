//! Reading values out of verified claims.

use serde_json::Value;

/// The strings of a claim holding one string or an array of strings, without
/// duplicates. Other values give nothing: a malformed claim grants nothing.
pub fn strings(value: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !out.iter().any(|existing| existing == s) {
            out.push(s.to_owned());
        }
    };
    match value {
        Some(Value::String(s)) => push(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut push),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn malformed_role_claims_grant_nothing() {
        assert!(strings(Some(&json!(42))).is_empty());
        assert!(strings(Some(&json!({ "admin": true }))).is_empty());
        assert_eq!(strings(Some(&json!(["a", 1, null, "a", "b"]))), ["a", "b"]);
    }
}
