//! The grammar of a field on the command line (and in `nestflux.toml`):
//!
//! ```text
//! field    = name ":" type ["?"] { ":" modifier }
//! type     = string | text | bool | i32 | i64 | f64 | decimal | uuid | date
//!          | datetime | json | "enum(" word { "," word } ")" | "ref(" resource ")"
//! modifier = unique | email | url | nonblank | encrypted | pii
//!          | "min=" number | "max=" number | "pattern=" regex (the rest of the field)
//! ```
//!
//! Errors carry the column (in characters, from 0) of the bad part, so the
//! command can point at it under the command line.

use super::spec::{Bounds, Field, FieldType, plain};

/// A field that does not parse: what is wrong, where, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Character offset of the bad part within the field's text.
    pub column: usize,
    /// How many characters it spans (at least 1).
    pub width: usize,
    pub message: String,
    pub help: String,
}

fn error(column: usize, width: usize, message: String, help: impl Into<String>) -> FieldError {
    FieldError {
        column,
        width: width.max(1),
        message,
        help: help.into(),
    }
}

/// Words a resource or a field may not be named: Rust keywords (the names
/// become modules and struct fields) and SQL reserved words (they become
/// tables and columns).
pub const RESERVED_WORDS: &[&str] = &[
    // Rust (strict, reserved and weak keywords)
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "union",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    // SQL (reserved in SQLite or PostgreSQL)
    "all",
    "alter",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "asc",
    "between",
    "by",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "cross",
    "current",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "delete",
    "desc",
    "distinct",
    "drop",
    "except",
    "exists",
    "foreign",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "index",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "left",
    "like",
    "limit",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "right",
    "select",
    "session_user",
    "set",
    "some",
    "table",
    "then",
    "to",
    "transaction",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "when",
    "window",
    "with",
];

/// Names a resource may not take: the routes, tables and modules every
/// project already has.
pub const TAKEN_RESOURCE_NAMES: &[&str] = &[
    "me",
    "health",
    "auth",
    "openapi",
    "docs",
    "api",
    "sessions",
    "session",
    "audit",
    "audit_events",
    "resources",
    "tests",
    "helpers",
];

/// Columns every resource has; no field may take their names.
pub const IMPLICIT_COLUMNS: &[&str] = &["id", "owner", "created_at", "updated_at"];

/// A lowercase identifier: a letter, then letters, digits or `_`.
fn identifier_problem(name: &str, max: usize) -> Option<String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if name.is_empty() {
        Some("is empty".to_owned())
    } else if !first_ok || !rest_ok || name.ends_with('_') || name.contains("__") {
        Some(
            "must be a lowercase letter followed by lowercase letters, digits and single `_` (snake_case)"
                .to_owned(),
        )
    } else if name.len() > max {
        Some(format!("is longer than {max} characters"))
    } else if RESERVED_WORDS.contains(&name) {
        Some("is a reserved word of Rust or SQL".to_owned())
    } else {
        None
    }
}

/// Checks a resource's name; the message says why it is refused.
pub fn check_resource_name(name: &str) -> Result<(), String> {
    if let Some(problem) = identifier_problem(name, 40) {
        return Err(format!("resource name `{name}` {problem}"));
    }
    if TAKEN_RESOURCE_NAMES.contains(&name) {
        return Err(format!(
            "resource name `{name}` is taken: every project has a route, table or module of that name"
        ));
    }
    Ok(())
}

/// Parses one field, `name:type[?][:modifier]...`.
pub fn parse_field(text: &str) -> Result<Field, FieldError> {
    let (name, rest) = text.split_once(':').ok_or_else(|| {
        error(
            0,
            text.chars().count(),
            format!("`{text}` has no type"),
            format!("write it as name:type, e.g. {text}:string"),
        )
    })?;
    if let Some(problem) = identifier_problem(name, 63) {
        return Err(error(
            0,
            name.chars().count(),
            format!("field name `{name}` {problem}"),
            "choose another name, e.g. with a suffix",
        ));
    }
    if IMPLICIT_COLUMNS.contains(&name) {
        return Err(error(
            0,
            name.chars().count(),
            format!("field name `{name}` is taken: every resource has it, set by the service"),
            format!(
                "every resource has {}; drop this field",
                IMPLICIT_COLUMNS.join(", ")
            ),
        ));
    }
    let mut at = name.chars().count() + 1;

    // The type runs to the first `:` outside parentheses.
    let type_end = {
        let mut depth = 0usize;
        rest.char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                c == ':' && depth == 0
            })
            .map_or(rest.len(), |(i, _)| i)
    };
    let (mut type_text, modifiers) = rest.split_at(type_end);
    let optional = type_text.ends_with('?');
    if optional {
        type_text = &type_text[..type_text.len() - 1];
    }
    let ty = parse_type(type_text)
        .map_err(|(offset, width, message, help)| error(at + offset, width, message, help))?;
    let mut field = Field::new(name, ty);
    field.optional = optional;
    at += rest[..type_end].chars().count();

    let mut modifiers = modifiers;
    while let Some(after) = modifiers.strip_prefix(':') {
        at += 1;
        // `pattern=` takes the rest of the text: a regex may hold `:`.
        if let Some(pattern) = after.strip_prefix("pattern=") {
            if pattern.is_empty() {
                return Err(error(
                    at,
                    8,
                    "`pattern=` needs a regular expression".to_owned(),
                    "e.g. pattern=^[A-Z]{3}$",
                ));
            }
            field.pattern = Some(pattern.to_owned());
            break;
        }
        let (modifier, next) = after.split_at(after.find(':').unwrap_or(after.len()));
        apply_modifier(&mut field, modifier)
            .map_err(|(message, help)| error(at, modifier.chars().count(), message, help))?;
        at += modifier.chars().count();
        modifiers = next;
    }
    check_field(&field).map_err(|(message, help)| {
        error(
            name.chars().count() + 1,
            text.chars().count() - name.chars().count() - 1,
            message,
            help,
        )
    })?;
    Ok(field)
}

type TypeError = (usize, usize, String, String);

fn parse_type(text: &str) -> Result<FieldType, TypeError> {
    let width = text.chars().count();
    if let Some(info) = plain(text) {
        return Ok(FieldType::Plain(info));
    }
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(list) = inner("enum(") {
        let mut values: Vec<String> = Vec::new();
        let mut offset = 5;
        for value in list.split(',') {
            let ok = !value.is_empty()
                && value.len() <= 63
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err((
                    offset,
                    value.chars().count(),
                    format!("enum value `{value}` must be 1 to 63 letters, digits, `_` or `-`"),
                    "e.g. enum(draft,sent,paid)".to_owned(),
                ));
            }
            if values.iter().any(|v| v == value) {
                return Err((
                    offset,
                    value.len(),
                    format!("enum value `{value}` is listed twice"),
                    "list each value once".to_owned(),
                ));
            }
            values.push(value.to_owned());
            offset += value.len() + 1;
        }
        return Ok(FieldType::Enum(values));
    }
    if let Some(target) = inner("ref(") {
        if target.is_empty() {
            return Err((
                0,
                width,
                "`ref()` needs a resource".to_owned(),
                "e.g. ref(customers)".to_owned(),
            ));
        }
        if let Some(problem) = identifier_problem(target, 40) {
            return Err((
                4,
                target.chars().count(),
                format!("resource name `{target}` {problem}"),
                "name a resource of the project".to_owned(),
            ));
        }
        return Ok(FieldType::Ref(target.to_owned()));
    }
    let known: Vec<&str> = super::spec::TYPES.iter().map(|t| t.key).collect();
    Err((
        0,
        width,
        if text.is_empty() {
            "the type is missing".to_owned()
        } else {
            format!("unknown type `{text}`")
        },
        format!("types: {}, enum(a,b,...), ref(resource)", known.join(", ")),
    ))
}

fn apply_modifier(field: &mut Field, modifier: &str) -> Result<(), (String, String)> {
    let set = |flag: &mut bool| {
        if *flag {
            Err((
                format!("`{modifier}` is given twice"),
                "give each modifier once".to_owned(),
            ))
        } else {
            *flag = true;
            Ok(())
        }
    };
    match modifier.split_once('=') {
        None => match modifier {
            "unique" => set(&mut field.unique),
            "email" => set(&mut field.email),
            "url" => set(&mut field.url),
            "nonblank" => set(&mut field.nonblank),
            "encrypted" => set(&mut field.encrypted),
            "pii" => set(&mut field.pii),
            "?" => Err((
                "`?` goes right after the type".to_owned(),
                format!("write {}:{}?", field.name, field.ty),
            )),
            _ => Err(unknown_modifier(modifier)),
        },
        Some((key @ ("min" | "max"), value)) => {
            let given = if key == "min" { &field.min } else { &field.max };
            if given.is_some() {
                return Err((
                    format!("`{key}` is given twice"),
                    "give each modifier once".to_owned(),
                ));
            }
            bound(field, value)?;
            let slot = if key == "min" {
                &mut field.min
            } else {
                &mut field.max
            };
            *slot = Some(value.to_owned());
            Ok(())
        }
        Some(_) => Err(unknown_modifier(modifier)),
    }
}

fn unknown_modifier(modifier: &str) -> (String, String) {
    (
        format!("unknown modifier `{modifier}`"),
        "modifiers: unique, min=N, max=N, pattern=REGEX, email, url, nonblank, encrypted, pii (and `?` after the type)"
            .to_owned(),
    )
}

/// The rules between a field's type and its modifiers.
fn check_field(field: &Field) -> Result<(), (String, String)> {
    let ty = &field.ty;
    let name = &field.name;
    if field.unique && !ty.uniqueable() {
        return Err((
            format!("`{name}`: a `{}` field cannot be unique", ty.key()),
            "drop `unique`".to_owned(),
        ));
    }
    if (field.email || field.url || field.pattern.is_some() || field.nonblank) && !ty.is_text() {
        return Err((
            format!(
                "`{name}`: email, url, pattern and nonblank apply to string and text fields only"
            ),
            format!("make it {name}:string, or drop the modifier"),
        ));
    }
    if field.pattern.is_some() && (field.email || field.url) {
        return Err((
            format!("`{name}`: a pattern cannot be combined with email or url"),
            "keep `email`/`url`, or write the whole rule as the pattern".to_owned(),
        ));
    }
    if field.nonblank && field.pattern.is_some() {
        return Err((
            format!("`{name}`: a pattern already says what the value may be"),
            "drop `nonblank`, or write a pattern that needs a non-space character (e.g. pattern=\\S)"
                .to_owned(),
        ));
    }
    if field.email && field.url {
        return Err((
            format!("`{name}` cannot be both an email address and a URL"),
            "keep one of `email` and `url`".to_owned(),
        ));
    }
    if field.encrypted {
        if !ty.is_text() {
            return Err((
                format!("`{name}`: only string and text fields can be encrypted"),
                format!("make it {name}:string:encrypted, or drop `encrypted`"),
            ));
        }
        if field.unique {
            return Err((
                format!(
                    "`{name}`: an encrypted field cannot be unique (its stored value differs every time it is written, so it cannot be compared, indexed or filtered on)"
                ),
                "drop `unique` or `encrypted`".to_owned(),
            ));
        }
    }
    let min = field.min.as_deref().map(|v| bound(field, v)).transpose()?;
    let max = field.max.as_deref().map(|v| bound(field, v)).transpose()?;
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err((
            format!("`{name}`: min is greater than max"),
            "swap them".to_owned(),
        ));
    }
    if let Some(pattern) = &field.pattern {
        let (min, max) = field.length_bounds();
        super::pattern::values(pattern, min, max)
            .map_err(|(message, help)| (format!("`{name}`: {message}"), help))?;
    }
    Ok(())
}

/// The value of a `min` or `max` for the field's type.
fn bound(field: &Field, value: &str) -> Result<f64, (String, String)> {
    let ty = &field.ty;
    let name = &field.name;
    match ty.bounds() {
        Bounds::Length => value.parse::<u32>().map(f64::from).map_err(|_| {
            (
                format!("`{name}`: `{value}` is not a length (a whole number from 0)"),
                "e.g. max=200".to_owned(),
            )
        }),
        Bounds::Integer { min, max } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n as f64),
            _ => Err((
                format!("`{name}`: `{value}` is not a {} value", ty.key()),
                format!("a whole number from {min} to {max}"),
            )),
        },
        Bounds::Float => match value.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n),
            _ => Err((
                format!("`{name}`: `{value}` is not a finite number"),
                "e.g. min=0.5".to_owned(),
            )),
        },
        Bounds::None => Err((
            format!("`{name}`: a `{}` field takes no min or max", ty.key()),
            "min/max bound the length of string and text, and the value of i32, i64 and f64"
                .to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_and_modifier_parses_and_prints_back_the_same() {
        for text in [
            "number:string:unique",
            "amount:decimal",
            "currency:enum(EUR,USD)",
            "due:date",
            "note:text?:max=2000",
            "iban:string:encrypted",
            "customer:ref(customers)",
            "email:string:email:pii",
            "name:string:nonblank:min=1:max=200",
            "site:string?:url",
            "code:string:min=5:max=5:pattern=^[A-Z]{3}:x$",
            "count:i32:min=0:max=10",
            "big:i64?",
            "ratio:f64:min=0.5",
            "done:bool",
            "token:uuid:unique",
            "at:datetime?",
            "extra:json?",
        ] {
            let field = parse_field(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(field.to_string(), text);
        }
    }

    fn column_of(text: &str) -> (usize, String) {
        let e = parse_field(text).unwrap_err();
        (e.column, e.message)
    }

    #[test]
    fn errors_point_at_the_bad_part() {
        assert_eq!(column_of("due:dat").0, 4);
        assert!(column_of("due:dat").1.contains("unknown type `dat`"));
        assert_eq!(column_of("note:text?:max=x").0, 11);
        assert_eq!(column_of("note:text:maxx=3").0, 10);
        assert!(column_of("note:text:maxx=3").1.contains("unknown modifier"));
        assert_eq!(column_of("Note:text").0, 0);
        assert_eq!(column_of("c:enum(a,b c)").0, 9);
        assert!(column_of("type:string").1.contains("reserved word"));
        assert!(column_of("owner:string").1.contains("is taken"));
        assert!(column_of("x").1.contains("has no type"));
    }

    #[test]
    fn modifiers_that_do_not_fit_the_type_are_refused() {
        for (text, expected) in [
            ("a:bool:unique", "cannot be unique"),
            ("a:i32:email", "string and text fields only"),
            ("a:i32:encrypted", "only string and text"),
            ("a:string:encrypted:unique", "cannot be unique"),
            ("a:date:max=3", "takes no min or max"),
            ("a:i32:max=3000000000", "not a i32 value"),
            ("a:string:min=5:max=2", "min is greater than max"),
            ("a:string:email:url", "both"),
            ("a:string:pii:pii", "given twice"),
            ("a:i32:nonblank", "string and text fields only"),
            ("a:string:nonblank:pattern=^a", "a pattern already"),
        ] {
            let message = column_of(text).1;
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn resource_names_follow_the_rules() {
        assert!(check_resource_name("invoices").is_ok());
        assert!(check_resource_name("order_lines").is_ok());
        for (name, expected) in [
            ("Invoices", "snake_case"),
            ("me", "is taken"),
            ("health", "is taken"),
            ("select", "reserved"),
            ("match", "reserved"),
            ("a__b", "snake_case"),
        ] {
            let message = check_resource_name(name).unwrap_err();
            assert!(message.contains(expected), "{name}: {message}");
        }
    }
}
