//! `/api/items`: the example resource, create / read / list / update / delete.
//!
//! Handlers are thin: extract (validated input, the caller's `Principal`),
//! call `repo::items`, shape the response.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::access::{Routes, require};
use crate::auth::Principal;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{Path, Query, ValidatedJson};
use crate::journal::Journal;
use crate::openapi::documented;
use crate::repo::items::{self as repo, Item, ItemFields};
use crate::state::AppState;

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page a client may ask for; bounds the work of one request.
pub const MAX_LIMIT: i64 = 100;

/// Paths are relative: these routes are nested under `/api`. Each declares
/// the permission it needs (`config/rbac.toml` says which roles hold it);
/// each handler's `#[utoipa::path]` describes it (the same method and path).
pub fn routes() -> Routes {
    Routes::new()
        .get("/items", require("items:read"), documented!(list_items))
        .post("/items", require("items:write"), documented!(create_item))
        .get("/items/{id}", require("items:read"), documented!(get_item))
        // Editors may change the items they own; `items:write-any` (admin)
        // any item: see `update_item`.
        .put(
            "/items/{id}",
            require("items:write"),
            documented!(update_item),
        )
        .delete(
            "/items/{id}",
            require("items:delete"),
            documented!(delete_item),
        )
}

/// The permission to change items owned by someone else.
pub const WRITE_ANY: &str = "items:write-any";

/// Body of `POST /api/items` and `PUT /api/items/{id}`. Only these fields are
/// accepted: anything else (`id`, `owner`, ...) is rejected rather than ignored,
/// so a client can never believe it set a field it cannot set.
// The `#[schema]` limits repeat the `#[validate]` ones for the API
// description; `the_description_states_the_validation_limits` keeps them equal.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    /// Lengths count characters (Unicode scalar values), not bytes. Not
    /// whitespace only.
    #[validate(
        length(min = 1, max = 200, message = "must be between 1 and 200 characters"),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// Absent and `null` both mean "no notes".
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

impl ItemRequest {
    fn fields(&self) -> ItemFields<'_> {
        ItemFields {
            name: &self.name,
            notes: self.notes.as_deref(),
        }
    }
}

/// Rejects whitespace-only values. The empty string is left to the length rule,
/// so it gets one error rather than two.
fn not_blank(value: &str) -> Result<(), ValidationError> {
    if !value.is_empty() && value.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    Ok(())
}

/// Raw query of `GET /api/items`. Kept as strings so that a bad value is
/// reported as a 422 naming the parameter, like an out-of-range one.
// The description gives their real type and bounds (`DEFAULT_LIMIT`,
// `MAX_LIMIT`, kept equal by `the_description_states_the_pagination_bounds`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, default = 20)]
    limit: Option<String>,
    /// Where the page starts: the `next` of the previous page (an opaque
    /// string); the first page without it.
    after: Option<String>,
}

/// A page: at most `limit` items, those that come after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pagination {
    limit: i64,
    after: Option<Cursor>,
}

impl TryFrom<ListQuery> for Pagination {
    type Error = ApiError;

    fn try_from(query: ListQuery) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let limit = match query.limit.map(|value| value.parse::<i64>()) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                errors.push(FieldError::parameter(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        };
        let after = match query.after.as_deref().map(Cursor::parse) {
            None => None,
            Some(Some(cursor)) => Some(cursor),
            Some(None) => {
                errors.push(FieldError::parameter(
                    "after",
                    "must be the `next` of a previous page",
                ));
                None
            }
        };
        if errors.is_empty() {
            Ok(Self { limit, after })
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// Where a page ends: the creation time and id of its last item, the order
/// items are listed in. Clients get it as an opaque string (`next`) and send
/// it back as `after`; the next page starts right after that item, found
/// through the `(created_at, id)` index, so a page costs the same wherever it
/// is and no item is skipped or repeated when others are added meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    created_at: DateTime<Utc>,
    id: Uuid,
}

impl Cursor {
    fn of(item: &Item) -> Self {
        Self {
            created_at: item.created_at,
            id: item.id,
        }
    }

    /// `<microseconds since the epoch>.<id in hex>`: timestamps are stored
    /// at microsecond precision, so the cursor names the item exactly.
    fn encode(&self) -> String {
        format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('.')?;
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: Uuid::try_parse(id).ok()?,
        })
    }
}

/// One page of items, and where the next one starts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemList {
    pub items: Vec<Item>,
    pub limit: i64,
    /// The `after` of the next page; `null` on the last one.
    pub next: Option<String>,
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no item with id `{id}`"))
}

/// Records the items of a response whose stored data did not read back (the
/// repository served them marked and logged why).
async fn record_unreadable(state: &AppState, journal: &Journal, items: &[Item]) {
    for item in items.iter().filter(|item| item.unreadable()) {
        journal
            .integrity_failure(&state.db, format!("items/{}", item.id))
            .await;
    }
}

/// Lists the items, oldest first, a page at a time.
#[utoipa::path(get, path = "/items", tag = "items", params(ListQuery),
    responses(
        (status = 200, description = "A page of items", body = ItemList),
        (status = 422, description = "`limit` is not an integer in its bounds, or `after` is not \
            the `next` of a page (`errors` names it)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_items(
    State(state): State<AppState>,
    _principal: Principal,
    journal: Journal,
    Query(query): Query<ListQuery>,
) -> Result<Json<ItemList>, ApiError> {
    let Pagination { limit, after } = query.try_into()?;
    // One item more than the page: whether it exists says if there is a next
    // page, without counting the table.
    let mut items = repo::list(
        &state.db,
        after.map(|cursor| (cursor.created_at, cursor.id)),
        limit + 1,
    )
    .await?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|item| Cursor::of(item).encode())
    } else {
        None
    };
    record_unreadable(&state, &journal, &items).await;
    Ok(Json(ItemList { items, limit, next }))
}

/// Creates an item owned by the caller.
#[utoipa::path(post, path = "/items", tag = "items", request_body = ItemRequest,
    responses((status = 201, description = "The item, created", body = Item,
        headers(("Location" = String, description = "The new item's URL")))))]
async fn create_item(
    State(state): State<AppState>,
    principal: Principal,
    journal: Journal,
    ValidatedJson(request): ValidatedJson<ItemRequest>,
) -> Result<Response, ApiError> {
    let item = repo::create(&state.db, &principal.subject, request.fields(), &journal).await?;
    // The router is nested under /api; keep this in step with `router()`.
    let location = format!("/api/items/{}", item.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(item),
    )
        .into_response())
}

/// One item.
#[utoipa::path(get, path = "/items/{id}", tag = "items", params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The item", body = Item),
        (status = 404, description = "No item with this id", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn get_item(
    State(state): State<AppState>,
    _principal: Principal,
    journal: Journal,
    Path(id): Path<Uuid>,
) -> Result<Json<Item>, ApiError> {
    let item = repo::get(&state.db, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    record_unreadable(&state, &journal, std::slice::from_ref(&item)).await;
    Ok(Json(item))
}

/// Replaces the item's writable fields: an absent `notes` clears it.
/// Editors may change the items they own; `items:write-any` any item.
#[utoipa::path(put, path = "/items/{id}", tag = "items", params(("id" = Uuid, Path)),
    request_body = ItemRequest,
    responses(
        (status = 200, description = "The item, changed", body = Item),
        (status = 403, description = "Not the owner, and without `items:write-any`, \
            or without `items:write`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No item with this id", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn update_item(
    State(state): State<AppState>,
    principal: Principal,
    journal: Journal,
    Path(id): Path<Uuid>,
    ValidatedJson(request): ValidatedJson<ItemRequest>,
) -> Result<Json<Item>, ApiError> {
    // Row-level check, next to the role check of the route: the owner never
    // changes after creation, so reading it first cannot race with the update.
    let existing = repo::get(&state.db, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    if existing.owner != principal.subject && !principal.can(WRITE_ANY) {
        tracing::warn!(subject = %principal.subject, item = %id, "access denied: not the owner");
        return Err(ApiError::Forbidden(format!(
            "only the item's owner, or a caller with `{WRITE_ANY}`, may change it"
        )));
    }
    let item = repo::update(&state.db, id, request.fields(), &journal)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(Json(item))
}

/// Deletes an item.
#[utoipa::path(delete, path = "/items/{id}", tag = "items", params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No item with this id", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn delete_item(
    State(state): State<AppState>,
    _principal: Principal,
    journal: Journal,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    if repo::delete(&state.db, id, &journal).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pagination(limit: Option<&str>, after: Option<&str>) -> Result<Pagination, ApiError> {
        ListQuery {
            limit: limit.map(str::to_owned),
            after: after.map(str::to_owned),
        }
        .try_into()
    }

    fn parameters(error: ApiError) -> Vec<String> {
        let ApiError::Validation(errors) = error else {
            panic!("expected a validation error, got {error:?}");
        };
        errors
            .into_iter()
            .map(|e| match e.location {
                crate::error::FieldLocation::Parameter(name) => name,
                other => panic!("unexpected location {other:?}"),
            })
            .collect()
    }

    #[test]
    fn pagination_defaults_to_the_first_page() {
        assert_eq!(
            pagination(None, None).unwrap(),
            Pagination {
                limit: DEFAULT_LIMIT,
                after: None
            }
        );
    }

    #[test]
    fn pagination_rejects_out_of_range_and_non_numeric_values_and_foreign_cursors() {
        for limit in ["101", "0", "-1", "ten"] {
            assert_eq!(
                parameters(pagination(Some(limit), None).unwrap_err()),
                ["limit"]
            );
        }
        for after in ["", "12", "x.0", "12.not-a-uuid", "99999999999999999999.0"] {
            assert_eq!(
                parameters(pagination(None, Some(after)).unwrap_err()),
                ["after"],
                "{after}"
            );
        }
        assert_eq!(
            parameters(pagination(Some("ten"), Some("x")).unwrap_err()),
            ["limit", "after"]
        );
        assert_eq!(pagination(Some("100"), None).unwrap().limit, 100);
    }

    #[test]
    fn a_cursor_reads_back_as_the_item_it_was_made_from() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
    }

    /// The schema of one operation's parameter or body property, as the
    /// API description gives it.
    fn described(pointer: &str) -> serde_json::Value {
        let document = serde_json::to_value(crate::routes::description(
            crate::openapi::DOCUMENTED_ISSUER,
        ))
        .unwrap();
        document
            .pointer(pointer)
            .unwrap_or_else(|| panic!("the description has no {pointer}"))
            .clone()
    }

    #[test]
    fn the_description_states_the_pagination_bounds() {
        let parameters = described("/paths/~1api~1items/get/parameters");
        let schema = |name: &str| {
            parameters
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("no parameter {name}"))["schema"]
                .clone()
        };
        let limit = schema("limit");
        assert_eq!(limit["minimum"], 1);
        assert_eq!(limit["maximum"], MAX_LIMIT);
        assert_eq!(limit["default"], DEFAULT_LIMIT);
        // An opaque cursor: a string, no bounds.
        assert!(schema("after")["type"].to_string().contains("string"));
    }

    #[test]
    fn the_description_states_the_validation_limits() {
        let properties = described("/components/schemas/ItemRequest/properties");
        let accepted = |name: &str, notes: Option<String>| {
            ItemRequest {
                name: name.to_owned(),
                notes,
            }
            .validate()
            .is_ok()
        };
        let max = |field: &str| properties[field]["maxLength"].as_u64().unwrap() as usize;
        assert_eq!(properties["name"]["minLength"], 1);
        assert!(!accepted("", None));
        assert!(accepted(&"n".repeat(max("name")), None));
        assert!(!accepted(&"n".repeat(max("name") + 1), None));
        assert!(accepted("n", Some("n".repeat(max("notes")))));
        assert!(!accepted("n", Some("n".repeat(max("notes") + 1))));
        assert_eq!(
            described("/components/schemas/ItemRequest/additionalProperties"),
            false
        );
    }

    #[test]
    fn names_are_measured_in_characters() {
        let request = |name: String| ItemRequest { name, notes: None };
        assert!(request("é".repeat(200)).validate().is_ok());
        assert!(request("é".repeat(201)).validate().is_err());
        assert!(request(" \t\n".to_owned()).validate().is_err());
    }
}
