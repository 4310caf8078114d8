//! What a resource is: its name and its fields, each with a type and rules.
//!
//! The one table of types ([`TYPES`]) says, for every type, its Rust type and
//! its SQL type on each database; the README's grammar section shows the
//! same table (a test compares them).

use std::fmt;

use crate::answers::Database;

/// A field's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// One of the plain types of [`TYPES`].
    Plain(&'static TypeInfo),
    /// `enum(a,b,c)`: one of these words, stored as text.
    Enum(Vec<String>),
    /// `ref(resource)`: the id of a row of another resource of the project.
    Ref(String),
}

/// A plain type, its Rust type and how each database stores it.
#[derive(Debug, PartialEq, Eq)]
pub struct TypeInfo {
    pub key: &'static str,
    /// The Rust type of the field in the generated model.
    pub rust: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
    /// What `min`/`max` bound: a length, a value, or nothing.
    pub bounds: Bounds,
    /// May be declared `unique` (equality is meaningful and cheap).
    pub uniqueable: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bounds {
    /// Characters of the text.
    Length,
    /// The integer value.
    Integer {
        min: i64,
        max: i64,
    },
    /// The floating-point value.
    Float,
    None,
}

/// Every plain type: the single place their Rust and SQL types are decided.
/// `decimal` is exact decimal text (`"12.50"`), never a float; `json` any
/// JSON value, stored as its text.
pub const TYPES: &[TypeInfo] = &[
    TypeInfo {
        key: "string",
        rust: "String",
        sqlite: "TEXT",
        postgres: "TEXT",
        bounds: Bounds::Length,
        uniqueable: true,
    },
    TypeInfo {
        key: "text",
        rust: "String",
        sqlite: "TEXT",
        postgres: "TEXT",
        bounds: Bounds::Length,
        uniqueable: true,
    },
    TypeInfo {
        key: "bool",
        rust: "bool",
        sqlite: "INTEGER",
        postgres: "BOOLEAN",
        bounds: Bounds::None,
        uniqueable: false,
    },
    TypeInfo {
        key: "i32",
        rust: "i32",
        sqlite: "INTEGER",
        postgres: "INTEGER",
        bounds: Bounds::Integer {
            min: i32::MIN as i64,
            max: i32::MAX as i64,
        },
        uniqueable: true,
    },
    TypeInfo {
        key: "i64",
        rust: "i64",
        sqlite: "INTEGER",
        postgres: "BIGINT",
        bounds: Bounds::Integer {
            min: i64::MIN,
            max: i64::MAX,
        },
        uniqueable: true,
    },
    TypeInfo {
        key: "f64",
        rust: "f64",
        sqlite: "REAL",
        postgres: "DOUBLE PRECISION",
        bounds: Bounds::Float,
        uniqueable: false,
    },
    TypeInfo {
        key: "decimal",
        rust: "String",
        sqlite: "TEXT",
        postgres: "TEXT",
        bounds: Bounds::None,
        uniqueable: true,
    },
    TypeInfo {
        key: "uuid",
        rust: "Uuid",
        sqlite: "BLOB",
        postgres: "UUID",
        bounds: Bounds::None,
        uniqueable: true,
    },
    TypeInfo {
        key: "date",
        rust: "chrono::NaiveDate",
        sqlite: "TEXT",
        postgres: "DATE",
        bounds: Bounds::None,
        uniqueable: true,
    },
    TypeInfo {
        key: "datetime",
        rust: "DateTime<Utc>",
        sqlite: "TEXT",
        postgres: "TIMESTAMPTZ",
        bounds: Bounds::None,
        uniqueable: true,
    },
    TypeInfo {
        key: "json",
        rust: "serde_json::Value",
        sqlite: "TEXT",
        postgres: "TEXT",
        bounds: Bounds::None,
        uniqueable: false,
    },
];

/// How `enum(...)` and `ref(...)` are stored (the rows of the README table
/// after [`TYPES`]).
pub const ENUM_SQL: (&str, &str) = ("TEXT", "TEXT");
pub const REF_SQL: (&str, &str) = ("BLOB", "UUID");
/// An encrypted field: nonce, ciphertext and tag (see the project's
/// `src/crypto`), with the id of its key in a `<field>_key_id TEXT` column.
pub const SEALED_SQL: (&str, &str) = ("BLOB", "BYTEA");

pub fn plain(key: &str) -> Option<&'static TypeInfo> {
    TYPES.iter().find(|t| t.key == key)
}

impl FieldType {
    pub fn key(&self) -> &str {
        match self {
            FieldType::Plain(info) => info.key,
            FieldType::Enum(_) => "enum",
            FieldType::Ref(_) => "ref",
        }
    }

    pub fn bounds(&self) -> Bounds {
        match self {
            FieldType::Plain(info) => info.bounds,
            _ => Bounds::None,
        }
    }

    pub fn uniqueable(&self) -> bool {
        match self {
            FieldType::Plain(info) => info.uniqueable,
            FieldType::Enum(_) | FieldType::Ref(_) => true,
        }
    }

    pub fn is_text(&self) -> bool {
        matches!(self, FieldType::Plain(info) if info.bounds == Bounds::Length)
    }

    pub fn rust(&self) -> &'static str {
        match self {
            FieldType::Plain(info) => info.rust,
            FieldType::Enum(_) => "String",
            FieldType::Ref(_) => "Uuid",
        }
    }

    pub fn sql(&self, database: Database) -> &'static str {
        let (sqlite, postgres) = match self {
            FieldType::Plain(info) => (info.sqlite, info.postgres),
            FieldType::Enum(_) => ENUM_SQL,
            FieldType::Ref(_) => REF_SQL,
        };
        match database {
            Database::Sqlite => sqlite,
            Database::Postgres => postgres,
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::Plain(info) => f.write_str(info.key),
            FieldType::Enum(values) => write!(f, "enum({})", values.join(",")),
            FieldType::Ref(target) => write!(f, "ref({target})"),
        }
    }
}

/// What `nonblank` means in the API description: a character other than
/// whitespace (the service's `check_nonblank`).
pub const NONBLANK_PATTERN: &str = r"\S";

/// One field of a resource, as declared.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub optional: bool,
    pub unique: bool,
    /// Length for text types, value for numbers, as written.
    pub min: Option<String>,
    pub max: Option<String>,
    pub pattern: Option<String>,
    pub email: bool,
    pub url: bool,
    /// Not whitespace only (the empty value is left to `min`).
    pub nonblank: bool,
    pub encrypted: bool,
    pub pii: bool,
}

impl Field {
    /// The length a value may have in characters (`min`, `max`), for the
    /// text types; `(0, None)` when unbounded.
    pub fn length_bounds(&self) -> (usize, Option<usize>) {
        let parse = |bound: &Option<String>| bound.as_deref().and_then(|b| b.parse::<usize>().ok());
        (parse(&self.min).unwrap_or(0), parse(&self.max))
    }

    pub fn new(name: &str, ty: FieldType) -> Field {
        Field {
            name: name.to_owned(),
            ty,
            optional: false,
            unique: false,
            min: None,
            max: None,
            pattern: None,
            email: false,
            url: false,
            nonblank: false,
            encrypted: false,
            pii: false,
        }
    }
}

/// The canonical text of a field, as `nestflux.toml` records it and as the
/// parser reads it back: `name:type[?][:modifier]...`, modifiers in a fixed
/// order, `pattern=` last (it takes the rest of the text).
impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.ty)?;
        if self.optional {
            f.write_str("?")?;
        }
        let flags = [
            (self.unique, "unique"),
            (self.email, "email"),
            (self.url, "url"),
            (self.nonblank, "nonblank"),
            (self.encrypted, "encrypted"),
            (self.pii, "pii"),
        ];
        for (on, name) in flags {
            if on {
                write!(f, ":{name}")?;
            }
        }
        if let Some(min) = &self.min {
            write!(f, ":min={min}")?;
        }
        if let Some(max) = &self.max {
            write!(f, ":max={max}")?;
        }
        if let Some(pattern) = &self.pattern {
            write!(f, ":pattern={pattern}")?;
        }
        Ok(())
    }
}

/// A resource: its name (the table, the module, the path `/api/<name>` and
/// the prefix of its permissions) and its fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub name: String,
    pub fields: Vec<Field>,
    /// Rows visible only to their owner and to holders of `<name>:read-any`.
    pub private: bool,
    /// The version of its migration (`migrations/<db>/<NNNN>_create_<name>.sql`),
    /// chosen when it was added and recorded, so that it never changes.
    pub migration: u32,
}

impl Resource {
    /// Its permissions, in the order they are declared in `config/rbac.toml`.
    pub fn permissions(&self) -> Vec<String> {
        let mut actions = vec!["read", "write", "write-any", "delete"];
        if self.private {
            actions.insert(1, "read-any");
        }
        actions
            .into_iter()
            .map(|a| format!("{}:{a}", self.name))
            .collect()
    }

    /// The resources this one refers to.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter_map(|f| match &f.ty {
            FieldType::Ref(target) => Some(target.as_str()),
            _ => None,
        })
    }

    /// The fields that need the `encryption` feature.
    pub fn encrypted(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.encrypted)
    }

    /// The canonical texts of its fields.
    pub fn field_texts(&self) -> Vec<String> {
        self.fields.iter().map(Field::to_string).collect()
    }

    pub fn migration_file(&self) -> String {
        format!("{:04}_create_{}.sql", self.migration, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's table of types is this module's table.
    #[test]
    fn the_readme_shows_the_sql_type_of_every_type() {
        let readme = include_str!("../../README.md");
        for info in TYPES {
            let row = format!(
                "| `{}` | `{}` | `{}` | `{}` |",
                info.key, info.rust, info.sqlite, info.postgres
            );
            assert!(readme.contains(&row), "README.md lacks the row {row}");
        }
        let rows = [
            ("enum(a,b,...)", "String", ENUM_SQL),
            ("ref(resource)", "Uuid", REF_SQL),
        ];
        for (key, rust, (sqlite, postgres)) in rows {
            let row = format!("| `{key}` | `{rust}` | `{sqlite}` | `{postgres}` |");
            assert!(readme.contains(&row), "README.md lacks the row {row}");
        }
        let (sqlite, postgres) = SEALED_SQL;
        let row = format!("| `encrypted` field | `String` | `{sqlite}` | `{postgres}` |");
        assert!(readme.contains(&row), "README.md lacks the row {row}");
    }
}
