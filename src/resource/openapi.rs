//! The resources' part of the committed `openapi.json`.
//!
//! `nestflux` cannot compile a project to ask it for its API description, so
//! the document is rendered (`templates/openapi.json.jinja`) and each recorded
//! resource's paths and schemas are added here: what the `#[utoipa::path]` and
//! `ToSchema` of `templates/resource/src/*.jinja` produce, key for key, in
//! utoipa's order (paths and schemas sorted by name, as its maps are). The
//! generated project's `the_committed_openapi_json_is_current` proves the two
//! equal on every build-matrix variant with resources.

use serde_json::{Map, Value, json};

use super::spec::{Bounds, Field, FieldType, Resource};

/// `document` (the rendered `openapi.json`) with the paths and schemas of
/// `resources`, in the layout the project's `openapi` command prints.
pub fn with_resources(
    document: &str,
    resources: &[Resource],
    rate_limit: bool,
) -> Result<String, String> {
    let mut document: Value =
        serde_json::from_str(document).map_err(|e| format!("openapi.json: {e}"))?;
    let mut paths = take_object(&mut document, &["paths"])?;
    let mut schemas = take_object(&mut document, &["components", "schemas"])?;
    for resource in resources {
        let described = Described {
            resource,
            rate_limit,
        };
        paths.insert(format!("/api/{}", resource.name), described.collection());
        paths.insert(format!("/api/{}/{{id}}", resource.name), described.member());
        let name = type_name(&resource.name);
        schemas.insert(format!("{name}List"), described.list(&name));
        schemas.insert(format!("{name}Record"), described.record());
        schemas.insert(format!("{name}Request"), described.request());
    }
    document["paths"] = Value::Object(sorted(paths));
    document["components"]["schemas"] = Value::Object(sorted(schemas));
    let mut text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

fn take_object(document: &mut Value, at: &[&str]) -> Result<Map<String, Value>, String> {
    let mut value = &mut *document;
    for key in at {
        value = value
            .get_mut(*key)
            .ok_or_else(|| format!("openapi.json has no `{}`", at.join(".")))?;
    }
    match value.take() {
        Value::Object(map) => Ok(map),
        _ => Err(format!("openapi.json: `{}` is not an object", at.join("."))),
    }
}

/// utoipa's maps are ordered by key.
fn sorted(map: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// `order_lines` → `OrderLines`: the prefix of the resource's schema names
/// (`#[schema(as = ...)]` of the model), as [`super::context`] names it.
pub fn type_name(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

struct Described<'a> {
    resource: &'a Resource,
    rate_limit: bool,
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

fn body(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

impl Described<'_> {
    fn name(&self) -> &str {
        &self.resource.name
    }

    fn schema(&self, suffix: &str) -> String {
        format!("{}{suffix}", type_name(self.name()))
    }

    fn unseen(&self) -> &'static str {
        if self.resource.private {
            " the caller may see"
        } else {
            ""
        }
    }

    /// What `openapi::secure` adds to an operation that needs `permission`
    /// and did not document these statuses itself.
    fn secured(
        &self,
        mut operation: Map<String, Value>,
        mut responses: Map<String, Value>,
        action: &str,
    ) -> Value {
        let permission = format!("{}:{action}", self.name());
        let mut unauthorized =
            problem("No access token, or one that is not valid (see `WWW-Authenticate`)");
        unauthorized.as_object_mut().unwrap().shift_insert(
            1,
            "headers".to_owned(),
            json!({"WWW-Authenticate": {"schema": {"type": "string"}, "description": "The Bearer challenge (RFC 6750)"}}),
        );
        let mut add = |status: &str, response: Value| {
            responses.entry(status.to_owned()).or_insert(response);
        };
        add("401", unauthorized);
        add(
            "403",
            problem(&format!("The caller's roles do not grant `{permission}`")),
        );
        add(
            "503",
            problem(
                "The service cannot answer now (a dependency is down, or the request took too long)",
            ),
        );
        if self.rate_limit {
            let mut limited = problem(
                "Too many requests from this client (or this user): wait `Retry-After` seconds",
            );
            limited.as_object_mut().unwrap().shift_insert(
                1,
                "headers".to_owned(),
                json!({"Retry-After": {"schema": {"type": "string"}, "description": "Seconds until a request can succeed"}}),
            );
            add("429", limited);
        }
        if operation.contains_key("parameters") {
            add("400", problem("A parameter that does not parse"));
        }
        if operation.contains_key("requestBody") {
            add("400", problem("The body is not valid JSON"));
            add("413", problem("The body is larger than the limit"));
            add("415", problem("The body is not `application/json`"));
            add(
                "422",
                problem("The body breaks the rules (`errors` lists each field)"),
            );
        }
        operation.insert("responses".to_owned(), Value::Object(sorted(responses)));
        operation.insert(
            "security".to_owned(),
            json!([{"bearer": []}, {"openIdConnect": []}]),
        );
        operation.insert("x-required-permissions".to_owned(), json!([permission]));
        Value::Object(operation)
    }

    fn operation(
        &self,
        summary: &str,
        id: &str,
        parameters: Option<Value>,
        request: bool,
    ) -> Map<String, Value> {
        let mut operation = Map::new();
        operation.insert("tags".to_owned(), json!([self.name()]));
        operation.insert("summary".to_owned(), json!(summary));
        operation.insert(
            "operationId".to_owned(),
            json!(format!("{id}_{}", self.name())),
        );
        if let Some(parameters) = parameters {
            operation.insert("parameters".to_owned(), parameters);
        }
        if request {
            operation.insert(
                "requestBody".to_owned(),
                json!({
                    "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", self.schema("Request"))}}},
                    "required": true
                }),
            );
        }
        operation
    }

    fn id_parameter() -> Value {
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}])
    }

    /// `/api/<name>`: list and create.
    fn collection(&self) -> Value {
        let pages = json!([
            {"name": "limit", "in": "query", "description": "Items per page.", "required": false,
             "schema": {"type": "integer", "format": "int64", "default": 20, "maximum": 100, "minimum": 1}},
            {"name": "after", "in": "query",
             "description": "Where the page starts: the `next` of the previous page (an opaque\nstring); the first page without it.",
             "required": false, "schema": {"type": "string"}}
        ]);
        let list = self.operation(
            &format!(
                "Lists the records{}, oldest first, a page at a time.",
                self.unseen()
            ),
            "list",
            Some(pages),
            false,
        );
        let mut list_responses = Map::new();
        list_responses.insert(
            "200".to_owned(),
            body("A page of records", &self.schema("List")),
        );
        list_responses.insert(
            "422".to_owned(),
            problem(
                "`limit` is not an integer in its bounds, or `after` is not the `next` of a page (`errors` names it)",
            ),
        );
        let create = self.operation(
            "Creates a record owned by the caller.",
            "create",
            None,
            true,
        );
        let mut created = body("The record, created", &self.schema("Record"));
        created.as_object_mut().unwrap().shift_insert(
            1,
            "headers".to_owned(),
            json!({"Location": {"schema": {"type": "string"}, "description": "The new record's URL"}}),
        );
        let mut create_responses = Map::new();
        create_responses.insert("201".to_owned(), created);
        json!({
            "get": self.secured(list, list_responses, "read"),
            "post": self.secured(create, create_responses, "write"),
        })
    }

    /// `/api/<name>/{id}`: get, replace, delete.
    fn member(&self) -> Value {
        let missing = format!("No record with this id{}", self.unseen());
        let get = self.operation("One record.", "get", Some(Self::id_parameter()), false);
        let mut get_responses = Map::new();
        get_responses.insert("200".to_owned(), body("The record", &self.schema("Record")));
        get_responses.insert("404".to_owned(), problem(&missing));
        let update = self.operation(
            "Full replacement of the fields: an absent optional field is cleared.",
            "update",
            Some(Self::id_parameter()),
            true,
        );
        let mut update_responses = Map::new();
        update_responses.insert(
            "200".to_owned(),
            body("The record, changed", &self.schema("Record")),
        );
        update_responses.insert(
            "403".to_owned(),
            problem(&format!(
                "Not the owner, and without `{}:write-any`",
                self.name()
            )),
        );
        update_responses.insert("404".to_owned(), problem(&missing));
        let delete = self.operation(
            "Deletes a record.",
            "delete",
            Some(Self::id_parameter()),
            false,
        );
        let mut delete_responses = Map::new();
        delete_responses.insert("204".to_owned(), json!({"description": "Deleted"}));
        delete_responses.insert("404".to_owned(), problem(&missing));
        delete_responses.insert("409".to_owned(), problem("Other records refer to this one"));
        json!({
            "get": self.secured(get, get_responses, "read"),
            "put": self.secured(update, update_responses, "write"),
            "delete": self.secured(delete, delete_responses, "delete"),
        })
    }

    fn list(&self, name: &str) -> Value {
        json!({
            "type": "object",
            "description": "One page of records, and where the next one starts.",
            "required": ["items", "limit"],
            "properties": {
                "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}Record")}},
                "limit": {"type": "integer", "format": "int64"},
                "next": {"type": ["string", "null"], "description": "The `after` of the next page; `null` on the last one."}
            }
        })
    }

    fn record(&self) -> Value {
        let mut required = vec![json!("id")];
        let mut properties = Map::new();
        properties.insert("id".to_owned(), json!({"type": "string", "format": "uuid"}));
        for field in &self.resource.fields {
            // An encrypted value may be withheld (`null`, see `unreadable_doc`).
            let nullable = field.optional || field.encrypted;
            if !nullable {
                required.push(json!(field.name));
            }
            let field = Field {
                optional: nullable,
                ..field.clone()
            };
            properties.insert(field.name.clone(), field_schema(&field, false));
        }
        required.extend([json!("owner"), json!("created_at"), json!("updated_at")]);
        for field in self.resource.encrypted() {
            properties.insert(
                format!("{}_unreadable", field.name),
                json!({"type": "boolean", "description": unreadable_doc(&field.name).join("\n")}),
            );
        }
        properties.insert(
            "owner".to_owned(),
            json!({"type": "string", "description": "The subject of the principal that created the record."}),
        );
        for at in ["created_at", "updated_at"] {
            properties.insert(
                at.to_owned(),
                json!({"type": "string", "format": "date-time"}),
            );
        }
        json!({
            "type": "object",
            "description": "A record as the API returns it.",
            "required": required,
            "properties": sorted(properties),
        })
    }

    fn request(&self) -> Value {
        let required: Vec<&str> = self
            .resource
            .fields
            .iter()
            .filter(|f| !f.optional)
            .map(|f| f.name.as_str())
            .collect();
        let properties: Map<String, Value> = self
            .resource
            .fields
            .iter()
            .map(|f| (f.name.clone(), field_schema(f, true)))
            .collect();
        let mut schema = Map::new();
        schema.insert("type".to_owned(), json!("object"));
        schema.insert(
            "description".to_owned(),
            json!("Body of `POST` and `PUT`. Only these fields are accepted: anything else\n(`id`, `owner`, ...) is rejected rather than ignored."),
        );
        if !required.is_empty() {
            schema.insert("required".to_owned(), json!(required));
        }
        schema.insert("properties".to_owned(), Value::Object(sorted(properties)));
        schema.insert("additionalProperties".to_owned(), json!(false));
        Value::Object(schema)
    }
}

/// The doc comment of an encrypted field's `<name>_unreadable` flag in the
/// generated record (and so its description in the API), line by line.
pub fn unreadable_doc(name: &str) -> [String; 2] {
    [
        format!("The stored `{name}` could not be opened: `{name}` is `null` because it is"),
        "withheld, not because there is none. In responses only when `true`.".to_owned(),
    ]
}

/// A bound as utoipa writes it: a whole number without a fraction.
fn number(text: &str) -> Value {
    match text.parse::<i64>() {
        Ok(n) => json!(n),
        Err(_) => {
            let value = text.parse::<f64>().unwrap_or_default();
            if value.fract() == 0.0 && value.abs() < 9.0e15 {
                json!(value as i64)
            } else {
                json!(value)
            }
        }
    }
}

/// A field's schema; `request` adds the rules the request checks (the
/// `#[schema]` items of `Request`).
fn field_schema(field: &Field, request: bool) -> Value {
    let (ty, format) = match &field.ty {
        FieldType::Enum(values) => {
            let mut values: Vec<Value> = values.iter().map(|v| json!(v)).collect();
            let ty = if field.optional {
                values.push(Value::Null);
                json!(["string", "null"])
            } else {
                json!("string")
            };
            return json!({"type": ty, "enum": values});
        }
        FieldType::Ref(_) => ("string", Some("uuid")),
        FieldType::Plain(info) => match info.key {
            "json" => return json!({}),
            "bool" => ("boolean", None),
            "i32" => ("integer", Some("int32")),
            "i64" => ("integer", Some("int64")),
            "f64" => ("number", Some("double")),
            "uuid" => ("string", Some("uuid")),
            "date" => ("string", Some("date")),
            "datetime" => ("string", Some("date-time")),
            _ => ("string", None),
        },
    };
    let mut schema = Map::new();
    schema.insert(
        "type".to_owned(),
        if field.optional {
            json!([ty, "null"])
        } else {
            json!(ty)
        },
    );
    let format = if request && field.email {
        Some("email")
    } else if request && field.url {
        Some("uri")
    } else {
        format
    };
    if let Some(format) = format {
        schema.insert("format".to_owned(), json!(format));
    }
    if request {
        let (min, max) = (field.min.as_deref(), field.max.as_deref());
        match field.ty.bounds() {
            Bounds::Integer { .. } | Bounds::Float => {
                if let Some(max) = max {
                    schema.insert("maximum".to_owned(), number(max));
                }
                if let Some(min) = min {
                    schema.insert("minimum".to_owned(), number(min));
                }
            }
            Bounds::Length => {
                if let Some(max) = max {
                    schema.insert("maxLength".to_owned(), number(max));
                }
                if let Some(min) = min {
                    schema.insert("minLength".to_owned(), number(min));
                }
            }
            Bounds::None => {}
        }
        if let Some(pattern) = &field.pattern {
            schema.insert("pattern".to_owned(), json!(pattern));
        } else if field.nonblank {
            schema.insert("pattern".to_owned(), json!(super::spec::NONBLANK_PATTERN));
        }
    }
    Value::Object(schema)
}
