//! What the resource templates see: each field with its Rust type, its
//! column on each database, its validation rules, and the values its tests
//! send, worked out here so the templates stay plain.

use serde::Serialize;

use super::spec::{Bounds, Field, FieldType, Resource, SEALED_SQL};
use crate::answers::Database;

#[derive(Clone, Debug, Serialize)]
pub struct ResourceContext {
    pub name: String,
    /// The name in PascalCase: prefixes the names of its types in the API
    /// description (`OrdersRecord`), which has one namespace for all.
    pub type_name: String,
    pub private: bool,
    pub migration_file: String,
    pub fields: Vec<FieldContext>,
    /// Any field is stored encrypted.
    pub sealed: bool,
    /// Any field is decoded fallibly (encrypted, or JSON kept as text).
    pub fallible: bool,
    /// Every column in the order of the table, for `SELECT` and `RETURNING`.
    pub columns: String,
    /// The same, one name each (the positions a row is decoded by).
    pub column_list: Vec<String>,
    /// `INSERT` placeholders: `$1, $2, ...`.
    pub insert_placeholders: String,
    /// `UPDATE ... SET` list, placeholders from `$1`.
    pub update_set: String,
    /// The placeholder of the id in the `UPDATE` (after the fields and `updated_at`).
    pub update_id: String,
    /// Table constraints (unique fields), per database they are the same.
    pub constraints: Vec<String>,
    pub refs: Vec<RefContext>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RefContext {
    pub field: String,
    pub target: String,
    pub optional: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct FieldContext {
    pub name: String,
    pub key: String,
    /// The type as the API sees it (`Option<...>` when optional).
    pub rust: String,
    /// The type in the record the API returns: an encrypted value may be
    /// withheld (`null`), so it is always an `Option`.
    pub record_rust: String,
    /// The type as the row stores it.
    pub row_rust: String,
    /// For an encrypted field, the lines of the doc comment of its
    /// `<name>_unreadable` flag (the API description's text of it).
    pub unreadable_doc: Vec<String>,
    pub optional: bool,
    pub unique: bool,
    pub sealed: bool,
    pub json: bool,
    pub pii: bool,
    pub enum_values: Vec<String>,
    /// The items of its `#[validate(...)]`, empty for none.
    pub validate: Vec<String>,
    /// The items of its `#[schema(...)]`: the same rules, for the API
    /// description. Empty for none.
    pub schema: Vec<String>,
    /// Column definitions, one per line (an encrypted field has two).
    pub sqlite: Vec<String>,
    pub postgres: Vec<String>,
    /// A Rust expression (of type `serde_json::Value`) for a valid value,
    /// different for each `n: u32` as far as the rules allow.
    pub sample: String,
    /// Values that break one rule each: a Rust expression and the rule.
    pub invalid: Vec<InvalidValue>,
    /// The `pattern=` rule as a Rust string literal, if any.
    pub pattern: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct InvalidValue {
    pub value: String,
    pub rule: String,
}

impl ResourceContext {
    pub fn new(resource: &Resource) -> ResourceContext {
        let fields: Vec<FieldContext> = resource.fields.iter().map(field_context).collect();
        let mut columns = vec!["id".to_owned()];
        for field in &resource.fields {
            columns.push(field.name.clone());
            if field.encrypted {
                columns.push(format!("{}_key_id", field.name));
            }
        }
        columns.extend(["owner", "created_at", "updated_at"].map(str::to_owned));
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        // UPDATE sets every stored field column, then updated_at, WHERE id.
        let set_columns: Vec<&String> = columns[1..columns.len() - 3].iter().collect();
        let mut set: Vec<String> = set_columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        set.push(format!("updated_at = ${}", set_columns.len() + 1));
        let constraints = resource
            .fields
            .iter()
            .filter(|f| f.unique)
            .map(|f| {
                format!(
                    "CONSTRAINT {0}_{1}_unique UNIQUE ({1})",
                    resource.name, f.name
                )
            })
            .collect();
        let refs = resource
            .fields
            .iter()
            .filter_map(|f| match &f.ty {
                FieldType::Ref(target) => Some(RefContext {
                    field: f.name.clone(),
                    target: target.clone(),
                    optional: f.optional,
                }),
                _ => None,
            })
            .collect();
        ResourceContext {
            name: resource.name.clone(),
            type_name: super::openapi::type_name(&resource.name),
            private: resource.private,
            migration_file: resource.migration_file(),
            sealed: fields.iter().any(|f| f.sealed),
            fallible: fields.iter().any(|f| f.sealed || f.json),
            fields,
            columns: columns.join(", "),
            column_list: columns.clone(),
            insert_placeholders: placeholders.join(", "),
            update_id: format!("${}", set_columns.len() + 2),
            update_set: set.join(", "),
            constraints,
            refs,
        }
    }
}

fn field_context(field: &Field) -> FieldContext {
    let inner = field.ty.rust();
    let wrap = |t: &str| {
        if field.optional {
            format!("Option<{t}>")
        } else {
            t.to_owned()
        }
    };
    let json = matches!(&field.ty, FieldType::Plain(info) if info.key == "json");
    let row_inner = if field.encrypted {
        "Vec<u8>"
    } else if json {
        "String"
    } else {
        inner
    };
    let null = if field.optional { "" } else { " NOT NULL" };
    let column = |database: Database| -> Vec<String> {
        if field.encrypted {
            let blob = match database {
                Database::Sqlite => SEALED_SQL.0,
                Database::Postgres => SEALED_SQL.1,
            };
            return vec![
                format!("{} {blob}{null}", field.name),
                format!("{}_key_id TEXT{null}", field.name),
            ];
        }
        let mut line = format!("{} {}{null}", field.name, field.ty.sql(database));
        match &field.ty {
            FieldType::Enum(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
                line.push_str(&format!(
                    " CHECK ({} IN ({}))",
                    field.name,
                    quoted.join(", ")
                ));
            }
            FieldType::Ref(target) => {
                // A referenced row cannot be deleted while this one points at it.
                line.push_str(&format!(" REFERENCES {target} (id) ON DELETE RESTRICT"));
            }
            _ => {}
        }
        vec![line]
    };
    // Drawn once: the sample and the invalid values both come from it.
    let pattern = pattern_values(field);
    FieldContext {
        name: field.name.clone(),
        key: field.ty.key().to_owned(),
        rust: wrap(inner),
        record_rust: if field.encrypted {
            format!("Option<{inner}>")
        } else {
            wrap(inner)
        },
        row_rust: wrap(row_inner),
        unreadable_doc: if field.encrypted {
            super::openapi::unreadable_doc(&field.name).to_vec()
        } else {
            Vec::new()
        },
        optional: field.optional,
        unique: field.unique,
        sealed: field.encrypted,
        json,
        pii: field.pii,
        enum_values: match &field.ty {
            FieldType::Enum(values) => values.clone(),
            _ => Vec::new(),
        },
        validate: validate(field),
        schema: schema(field),
        sqlite: column(Database::Sqlite),
        postgres: column(Database::Postgres),
        sample: sample(field, pattern.as_ref()),
        invalid: invalid(field, pattern.as_ref()),
        pattern: field.pattern.as_deref().map(|p| format!("{p:?}")),
    }
}

/// The values of a field's `pattern=` rule (checked when the field was read).
fn pattern_values(field: &Field) -> Option<super::pattern::Values> {
    let (min, max) = field.length_bounds();
    let pattern = field.pattern.as_deref()?;
    Some(
        super::pattern::values(pattern, min, max)
            .expect("a pattern checked when the field was read"),
    )
}

/// The `#[schema(...)]` items stating what [`validate`] checks, so that the
/// API description promises what the server enforces. An enum's values come
/// from `schema_with` (utoipa has no field-level list of values).
fn schema(field: &Field) -> Vec<String> {
    let mut items = Vec::new();
    let (min, max) = (field.min.as_deref(), field.max.as_deref());
    match field.ty.bounds() {
        Bounds::Length => {
            if let Some(min) = min {
                items.push(format!("min_length = {min}"));
            }
            if let Some(max) = max {
                items.push(format!("max_length = {max}"));
            }
        }
        Bounds::Integer { .. } | Bounds::Float => {
            let literal = |v: &str| {
                if field.ty.bounds() == Bounds::Float {
                    float(v)
                } else {
                    v.to_owned()
                }
            };
            if let Some(min) = min {
                items.push(format!("minimum = {}", literal(min)));
            }
            if let Some(max) = max {
                items.push(format!("maximum = {}", literal(max)));
            }
        }
        Bounds::None => {}
    }
    if let Some(pattern) = &field.pattern {
        items.push(format!("pattern = {pattern:?}"));
    }
    if field.nonblank {
        // What `check_nonblank` enforces: a character other than whitespace.
        items.push(format!("pattern = {:?}", super::spec::NONBLANK_PATTERN));
    }
    if field.email {
        items.push("format = Email".to_owned());
    }
    if field.url {
        items.push("format = \"uri\"".to_owned());
    }
    if let FieldType::Enum(_) = &field.ty {
        items.push(format!("schema_with = {}_schema", field.name));
    }
    items
}

fn float(text: &str) -> String {
    format!("{:?}", text.parse::<f64>().unwrap_or_default())
}

fn validate(field: &Field) -> Vec<String> {
    let mut rules = Vec::new();
    let (min, max) = (field.min.as_deref(), field.max.as_deref());
    match field.ty.bounds() {
        Bounds::Length if min.is_some() || max.is_some() => {
            let (args, message) = match (min, max) {
                (Some(min), Some(max)) => (
                    format!("min = {min}, max = {max}"),
                    format!("must be between {min} and {max} characters"),
                ),
                (Some(min), None) => (
                    format!("min = {min}"),
                    format!("must be at least {min} characters"),
                ),
                (None, Some(max)) => (
                    format!("max = {max}"),
                    format!("must be at most {max} characters"),
                ),
                (None, None) => unreachable!(),
            };
            rules.push(format!("length({args}, message = \"{message}\")"));
        }
        Bounds::Integer { .. } | Bounds::Float if min.is_some() || max.is_some() => {
            let literal = |v: &str| {
                if field.ty.bounds() == Bounds::Float {
                    float(v)
                } else {
                    v.to_owned()
                }
            };
            let mut args = Vec::new();
            let mut words = Vec::new();
            if let Some(min) = min {
                args.push(format!("min = {}", literal(min)));
                words.push(format!("at least {min}"));
            }
            if let Some(max) = max {
                args.push(format!("max = {}", literal(max)));
                words.push(format!("at most {max}"));
            }
            rules.push(format!(
                "range({}, message = \"must be {}\")",
                args.join(", "),
                words.join(" and ")
            ));
        }
        _ => {}
    }
    if let Some(pattern) = &field.pattern {
        rules.push(format!(
            "regex(path = *{}_PATTERN, message = {:?})",
            field.name.to_uppercase(),
            format!("must match {pattern}")
        ));
    }
    if field.nonblank {
        rules.push("custom(function = \"crate::resources::check_nonblank\")".to_owned());
    }
    if field.email {
        rules.push("email(message = \"must be an email address\")".to_owned());
    }
    if field.url {
        rules.push("url(message = \"must be a URL\")".to_owned());
    }
    match &field.ty {
        FieldType::Enum(_) => rules.push(format!("custom(function = \"check_{}\")", field.name)),
        FieldType::Plain(info) if info.key == "decimal" => {
            rules.push("custom(function = \"crate::resources::check_decimal\")".to_owned());
        }
        _ => {}
    }
    rules
}

/// A valid value for test record `n` (a `u32` in scope).
fn sample(field: &Field, pattern: Option<&super::pattern::Values>) -> String {
    // Values drawn from the pattern (only text fields have one).
    if let Some(pattern) = pattern {
        let list: Vec<String> = pattern.matching.iter().map(|v| format!("{v:?}")).collect();
        return format!("json!([{}][n as usize % {}])", list.join(", "), list.len());
    }
    let min_len = field
        .min
        .as_deref()
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(0);
    let max_len = field.max.as_deref().and_then(|m| m.parse::<usize>().ok());
    match &field.ty {
        FieldType::Enum(values) => {
            let list: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
            format!(
                "json!([{}][n as usize % {}])",
                list.join(", "),
                values.len()
            )
        }
        // A record of its own: `n` would collide with the records the
        // test itself makes from the same numbers.
        FieldType::Ref(target) => {
            format!("json!(super::{target}::create(app, super::fresh()).await)")
        }
        FieldType::Plain(info) => match info.key {
            "string" | "text" => {
                let base = if field.email {
                    "format!(\"user{n}@example.com\")"
                } else if field.url {
                    "format!(\"https://example.com/{n}\")"
                } else {
                    "format!(\"value {n}\")"
                };
                let width = min_len.max(1);
                match max_len {
                    Some(max) if !field.email && !field.url => {
                        format!("json!(super::fit({base}, {width}, {max}))")
                    }
                    _ => format!("json!(super::fit({base}, {width}, usize::MAX))"),
                }
            }
            "bool" => "json!(super::flag(n))".to_owned(),
            "i32" | "i64" => {
                let lo = field.min.clone().unwrap_or_else(|| "0".to_owned());
                let hi = match (&field.max, info.key) {
                    (Some(max), _) => max.clone(),
                    (None, "i32") => "i64::from(i32::MAX)".to_owned(),
                    (None, _) => "i64::MAX".to_owned(),
                };
                format!("json!(super::whole(n, {lo}, {hi}))")
            }
            "f64" => {
                let lo = field
                    .min
                    .as_deref()
                    .map(float)
                    .unwrap_or_else(|| "0.0".to_owned());
                let hi = field
                    .max
                    .as_deref()
                    .map(float)
                    .unwrap_or_else(|| "f64::MAX".to_owned());
                format!("json!(super::real({lo}, {hi}))")
            }
            "decimal" => "json!(format!(\"{n}.50\"))".to_owned(),
            "uuid" => "json!(uuid::Uuid::new_v4())".to_owned(),
            "date" => "json!(format!(\"2024-01-{:02}\", n % 28 + 1))".to_owned(),
            "datetime" => "json!(format!(\"2024-01-01T00:00:{:02}Z\", n % 60))".to_owned(),
            "json" => "json!({ \"n\": n, \"tags\": [\"a\", \"b\"] })".to_owned(),
            other => unreachable!("a sample for every type: {other}"),
        },
    }
}

/// One value per rule of the field that breaks that rule alone.
fn invalid(field: &Field, pattern: Option<&super::pattern::Values>) -> Vec<InvalidValue> {
    let mut out = Vec::new();
    let mut push = |value: String, rule: &str| {
        out.push(InvalidValue {
            value,
            rule: rule.to_owned(),
        });
    };
    if !field.optional {
        push("Value::Null".to_owned(), "required");
    }
    match &field.ty {
        FieldType::Plain(info) => {
            // A value of the wrong JSON type.
            let wrong = match info.key {
                "string" | "text" | "decimal" | "uuid" | "date" | "datetime" => "json!(42)",
                "json" => "",
                _ => "json!(\"not a number\")",
            };
            if !wrong.is_empty() {
                push(wrong.to_owned(), "type");
            }
            match info.bounds {
                Bounds::Length => {
                    // Rust expressions of a value one character too long and
                    // one too short. With a pattern, values the pattern takes,
                    // so that each breaks the length rule only.
                    let (min, max) = field.length_bounds();
                    let (too_long, too_short) = match pattern {
                        Some(pattern) => (
                            pattern.too_long.as_ref().map(|v| format!("{v:?}")),
                            pattern.too_short.as_ref().map(|v| format!("{v:?}")),
                        ),
                        None => (
                            max.map(|max| format!("\"x\".repeat({})", max + 1)),
                            (min > 0).then(|| format!("\"x\".repeat({})", min - 1)),
                        ),
                    };
                    if let Some(value) = too_long {
                        push(format!("json!({value})"), "max");
                    }
                    if let Some(value) = too_short {
                        push(format!("json!({value})"), "min");
                    }
                }
                Bounds::Integer { min, max } => {
                    if let Some(hi) = field.max.as_deref().and_then(|m| m.parse::<i64>().ok())
                        && hi < max
                    {
                        push(format!("json!({}_i64)", hi + 1), "max");
                    }
                    if let Some(lo) = field.min.as_deref().and_then(|m| m.parse::<i64>().ok())
                        && lo > min
                    {
                        push(format!("json!({}_i64)", lo - 1), "min");
                    }
                }
                Bounds::Float => {
                    if let Some(hi) = field.max.as_deref() {
                        push(format!("json!({} + 1.0)", float(hi)), "max");
                    }
                    if let Some(lo) = field.min.as_deref() {
                        push(format!("json!({} - 1.0)", float(lo)), "min");
                    }
                }
                Bounds::None => {}
            }
            match info.key {
                "decimal" => push("json!(\"12.3.4\")".to_owned(), "decimal"),
                "uuid" => push("json!(\"not-a-uuid\")".to_owned(), "uuid"),
                "date" => push("json!(\"2024-02-30\")".to_owned(), "date"),
                "datetime" => push("json!(\"2024-01-01 25:00\")".to_owned(), "datetime"),
                _ => {}
            }
        }
        FieldType::Enum(_) => push("json!(\"not one of them\")".to_owned(), "enum"),
        FieldType::Ref(_) => push("json!(\"not-a-uuid\")".to_owned(), "ref"),
    }
    if let Some(failing) = pattern.and_then(|v| v.failing.as_ref()) {
        push(format!("json!({failing:?})"), "pattern");
    }
    if field.nonblank {
        // Whitespace only, as long as the length rule allows.
        let (min, max) = field.length_bounds();
        let width = min.max(1);
        if max.is_none_or(|max| width <= max) {
            let blank = if width == 1 {
                "json!(\" \")".to_owned()
            } else {
                format!("json!(\" \".repeat({width}))")
            };
            push(blank, "nonblank");
        }
    }
    if field.email {
        push("json!(\"not-an-email\")".to_owned(), "email");
    }
    if field.url {
        push("json!(\"not a url\")".to_owned(), "url");
    }
    out
}
