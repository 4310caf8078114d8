//! Small text scanners shared by the rules: `KEY=VALUE` assignments in
//! configuration files (env files are read by [`crate::project::env`]),
//! placeholder and entropy tests for values, and Rust source with comments
//! and test code blanked out.

use crate::diagnostics::char_column;
pub use crate::diagnostics::line_column;
pub use crate::project::env::Assignment;
use crate::project::env::{is_key, unquote};

/// A key in `UPPER_SNAKE_CASE`: `clientSecret`, `client-secret` and
/// `client.secret` all become `CLIENT_SECRET`.
pub fn normalize_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut previous_lower = false;
    for c in key.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(match c {
            '-' | '.' | ' ' => '_',
            c => c.to_ascii_uppercase(),
        });
    }
    out
}

/// Assignments in any line-oriented configuration file: YAML (`key: value`,
/// `- KEY=value`), TOML (`key = "value"`), JSON (`"key": "value",`),
/// Dockerfile `ENV` lines (`ENV A=1 B=2`, continued lines too) and env
/// files. Best effort: one assignment per line (several for `ENV`), values
/// that span lines are skipped.
pub fn config_assignments(text: &str) -> Vec<Assignment> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || trimmed.starts_with("//") {
            continue;
        }
        let mut start = line.len() - trimmed.len();
        let mut rest = trimmed;
        for prefix in ["ENV ", "ARG ", "export ", "- "] {
            if let Some(after) = rest.strip_prefix(prefix) {
                start += rest.len() - after.trim_start().len();
                rest = after.trim_start();
            }
        }
        // `ENV A=1 B=2` and continuation lines of such an `ENV`.
        if rest.contains('=') && !rest.contains(": ") && !rest.contains(" = ") {
            let mut offset = start;
            let mut pushed = false;
            for token in rest.split_whitespace() {
                let position = offset + rest[offset - start..].find(token).unwrap_or(0);
                offset = position + token.len();
                let Some(eq) = token.find('=') else { continue };
                let key = token[..eq].trim_matches('"');
                if !is_key(key) {
                    continue;
                }
                let value = unquote(token[eq + 1..].trim_end_matches('\\'), true);
                out.push(Assignment {
                    key: key.to_owned(),
                    value,
                    line: index + 1,
                    key_column: char_column(line, position),
                    value_column: char_column(line, position + eq + 1),
                });
                pushed = true;
            }
            if pushed {
                continue;
            }
        }
        // `key: value`, `"key": "value"`, `key = value`.
        let separator = [": ", " = ", ":\t", "="]
            .iter()
            .filter_map(|sep| rest.find(sep).map(|i| (i, sep.len())))
            .min_by_key(|(i, _)| *i);
        let Some((at, sep_len)) = separator else {
            continue;
        };
        let key = rest[..at].trim().trim_matches(|c| c == '"' || c == '\'');
        if !is_key(key) {
            continue;
        }
        let raw = &rest[at + sep_len..];
        let value_start = start + at + sep_len + (raw.len() - raw.trim_start().len());
        let value = unquote(raw.trim().trim_end_matches(','), false);
        if value.is_empty() || value.starts_with(['{', '[', '|', '>']) {
            continue;
        }
        out.push(Assignment {
            key: key.to_owned(),
            value,
            line: index + 1,
            key_column: char_column(line, start + rest[..at].find(key).unwrap_or(0)),
            value_column: char_column(line, value_start),
        });
    }
    out
}

/// Shannon entropy of `value`, in bits per character.
pub fn entropy(value: &str) -> f64 {
    let mut counts = [0usize; 256];
    let mut total = 0usize;
    for b in value.bytes() {
        counts[usize::from(b)] += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| {
            let p = n as f64 / total as f64;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark a value as an example rather than a real secret.
const PLACEHOLDER_WORDS: &[&str] = &[
    "change",
    "example",
    "placeholder",
    "replace",
    "your",
    "xxx",
    "dummy",
    "sample",
    "fake",
    "test",
    "todo",
    "redacted",
    "insert",
    "secret",
    "password",
    "passwd",
    "postgres",
    "admin",
    "localdev",
    "development",
    "notreal",
    "not-a-",
    "generate",
    "fill",
];

/// Whether a value is plainly not a real secret: empty, a reference to
/// another variable or template, a masked value, a run of one character, or
/// a value made of a placeholder word.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if v.starts_with('$')
        || v.contains("${")
        || v.contains("{{")
        || v.contains("%(")
        || (v.starts_with('<') && v.ends_with('>'))
        || v.contains("...")
        || v.contains("***")
    {
        return true;
    }
    if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // `AAAA…`, `0000…`, and base64 of zeros (`AAAA…=`).
    let core = v.trim_end_matches('=');
    let mut chars = core.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return true;
    }
    false
}

/// Whether a value looks like a real secret: long enough, not a
/// placeholder, and not a plain word (some variety of characters).
pub fn looks_real(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 8 && !is_placeholder(v) && entropy(v) >= 2.5 && !v.contains(char::is_whitespace)
}

/// Whether a value looks like random key material: long, dense in
/// information, and drawn from a base64 or hex alphabet.
pub fn is_high_entropy(value: &str) -> bool {
    let v = value.trim();
    if v.len() < 20 || v.contains(char::is_whitespace) || is_placeholder(v) || is_uuid(v) {
        return false;
    }
    if v.contains("://") || v.contains('/') && v.matches('/').count() > 2 {
        return false; // URLs and paths
    }
    let alphabet = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_' | ':'));
    let classes = [
        v.chars().any(|c| c.is_ascii_lowercase()),
        v.chars().any(|c| c.is_ascii_uppercase()),
        v.chars().any(|c| c.is_ascii_digit()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let hex = v.chars().all(|c| c.is_ascii_hexdigit());
    alphabet && ((hex && v.len() >= 32 && entropy(v) >= 3.0) || (classes >= 2 && entropy(v) >= 4.0))
}

fn is_uuid(v: &str) -> bool {
    v.len() == 36
        && v.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Rust source prepared for pattern matching: comments and test code
/// (`#[cfg(test)]` items) replaced by spaces, so byte offsets, lines and
/// columns still match the file; string literals kept.
pub fn rust_code(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut code = bytes.to_vec();
    // `skeleton` also blanks string contents, for brace matching.
    let mut skeleton = bytes.to_vec();
    let blank = |buf: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut buf[from..to] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                blank(&mut code, i, end);
                blank(&mut skeleton, i, end);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                let mut j = i;
                while j < bytes.len() {
                    if bytes[j..].starts_with(b"/*") {
                        depth += 1;
                        j += 2;
                    } else if bytes[j..].starts_with(b"*/") {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                blank(&mut code, i, j);
                blank(&mut skeleton, i, j);
                i = j;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'#' | b'"'))
                && (i == 0 || !is_ident_byte(bytes[i - 1])) =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                if bytes.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                let end = text[body..]
                    .find(&close)
                    .map_or(bytes.len(), |n| body + n + close.len());
                blank(
                    &mut skeleton,
                    body,
                    end.saturating_sub(close.len()).max(body),
                );
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut skeleton, i + 1, j.min(bytes.len()));
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
                if bytes.get(i + 1) == Some(&b'\\') {
                    let end = text[i + 2..].find('\'').map_or(bytes.len(), |n| i + 2 + n);
                    blank(&mut skeleton, i + 1, end);
                    i = end + 1;
                } else if let Some(c) = text[i + 1..].chars().next()
                    && text[i + 1 + c.len_utf8()..].starts_with('\'')
                {
                    blank(&mut skeleton, i + 1, i + 1 + c.len_utf8());
                    i += 2 + c.len_utf8();
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    // Blank every `#[cfg(test)]` item: up to its `;`, or its `{ … }` block.
    let skeleton_text = String::from_utf8_lossy(&skeleton).into_owned();
    let mut from = 0;
    while let Some(found) = skeleton_text[from..].find("#[cfg(test)]") {
        let start = from + found;
        let after = start + "#[cfg(test)]".len();
        let rest = &skeleton_text[after..];
        let end = match (rest.find('{'), rest.find(';')) {
            (Some(brace), semi) if semi.is_none_or(|s| brace < s) => {
                matching_brace(&skeleton_text, after + brace).unwrap_or(skeleton_text.len())
            }
            (_, Some(semi)) => after + semi + 1,
            _ => skeleton_text.len(),
        };
        blank(&mut code, start, end);
        from = end.max(after);
    }
    String::from_utf8(code).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The offset just past the `}` matching the `{` at `open`.
pub fn matching_brace(text: &str, open: usize) -> Option<usize> {
    matching(text, open, b'{', b'}')
}

/// The offset just past the `)` matching the `(` at `open`.
pub fn matching_paren(text: &str, open: usize) -> Option<usize> {
    matching(text, open, b'(', b')')
}

fn matching(text: &str, open: usize, up: u8, down: u8) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &b) in text.as_bytes().iter().enumerate().skip(open) {
        if b == up {
            depth += 1;
        } else if b == down {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i + 1);
            }
        }
    }
    None
}

/// The arguments of a call, `args` being the text between its parentheses:
/// split at the commas outside brackets and string literals, each trimmed.
/// A trailing comma adds no argument.
pub fn top_level_args(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start, mut in_string, mut escaped) = (0usize, 0, false, false);
    for (i, b) in args.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = args[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// Every occurrence of `word` as a whole identifier (not part of a longer
/// one), as byte offsets.
pub fn find_word<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    text.match_indices(word).filter_map(move |(i, _)| {
        let before = text[..i].bytes().next_back();
        let after = text[i + word.len()..].bytes().next();
        let boundary = |b: Option<u8>| b.is_none_or(|b| !is_ident_byte(b));
        (boundary(before) && boundary(after)).then_some(i)
    })
}

/// Calls `name("literal", …)`: the offset of the literal's first character
/// and its contents. Whitespace is allowed around the parenthesis.
pub fn string_calls<'a>(
    code: &'a str,
    name: &'a str,
) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    find_word(code, name).filter_map(move |at| {
        let rest = &code[at + name.len()..];
        let open = rest.trim_start();
        let open = open.strip_prefix('(')?;
        let literal = open.trim_start().strip_prefix('"')?;
        let end = literal.find('"')?;
        let literal_at = code.len() - literal.len();
        Some((literal_at, &literal[..end]))
    })
}

/// The integer literal at the start of `text` (after whitespace), if any:
/// `300`, `1_000`, `86400u64`.
pub fn leading_integer(text: &str) -> Option<u64> {
    let digits: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .filter(|c| *c != '_')
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_assignments_read_yaml_toml_json_and_dockerfile_env() {
        let yaml = config_assignments(
            "services:\n  api:\n    environment:\n      API_TOKEN: abc123\n      - DB_PASSWORD=s3cr3t\n",
        );
        let keys: Vec<_> = yaml
            .iter()
            .map(|a| (a.key.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(keys, [("API_TOKEN", "abc123"), ("DB_PASSWORD", "s3cr3t")]);
        let toml = config_assignments("[db]\npassword = \"hunter2\" # c\n");
        assert_eq!(toml[0].value, "hunter2");
        let json = config_assignments("{\n  \"clientSecret\": \"abc\",\n}\n");
        assert_eq!(normalize_key(&json[0].key), "CLIENT_SECRET");
        let docker = config_assignments("ENV APP_ENV=production \\\n    BIND_ADDR=0.0.0.0:8080\n");
        let keys: Vec<_> = docker
            .iter()
            .map(|a| (a.key.as_str(), a.line, a.value_column))
            .collect();
        assert_eq!(keys, [("APP_ENV", 1, 13), ("BIND_ADDR", 2, 15)]);
    }

    #[test]
    fn placeholders_and_real_values_are_told_apart() {
        for placeholder in [
            "",
            "changeme",
            "${SECRET}",
            "<your-token>",
            "AAAAAAAAAAAA=",
            "********",
            "postgres",
        ] {
            assert!(is_placeholder(placeholder), "{placeholder}");
        }
        assert!(looks_real("hunter2hunter2"));
        assert!(!looks_real("short"));
        assert!(is_high_entropy("9dKq2LxV7pZrT4mWc8bN1yHs6fJ3gA0e"));
        assert!(!is_high_entropy("550e8400-e29b-41d4-a716-446655440000"));
        assert!(!is_high_entropy("sqlite://data/app.db?mode=rwc"));
    }

    #[test]
    fn rust_code_blanks_comments_and_test_modules_but_keeps_offsets() {
        let text = "fn a() { let s = \"// not a comment\"; } // gone\n#[cfg(test)]\nmod tests { fn b() { x } }\nfn c<'a>(c: char) -> bool { c == '}' }\n";
        let code = rust_code(text);
        assert_eq!(code.len(), text.len());
        assert!(code.contains("\"// not a comment\""));
        assert!(!code.contains("gone"));
        assert!(!code.contains("mod tests"));
        assert!(code.contains("fn c<'a>"));
    }

    #[test]
    fn string_calls_find_literal_arguments() {
        let code = "x.route_layer(require(\"items:read\")); requires (\"no\"); require (\"a:b\")";
        let found: Vec<_> = string_calls(code, "require").map(|(_, s)| s).collect();
        assert_eq!(found, ["items:read", "a:b"]);
    }

    #[test]
    fn call_arguments_split_at_top_level_commas_only() {
        assert_eq!(
            top_level_args(r#""/items", require("a:b"), list, "#),
            [r#""/items""#, r#"require("a:b")"#, "list"]
        );
        assert_eq!(top_level_args(r#""a, b", f(x, y), [1, 2]"#).len(), 3);
        assert!(top_level_args("  ").is_empty());
    }
}
