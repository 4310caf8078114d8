//! `/api/items`: the example resource, create / read / list / update / delete.
//!
//! Handlers are thin: extract (validated input, the caller's `Principal`),
//! call `repo::items`, shape the response.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::access::{Routes, require};
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::extract::{Path, Query, ValidatedJson};
use crate::journal::Journal;
use crate::openapi::documented;
use crate::page::{Cursor, ListQuery, Pagination};
use crate::repo::items::{self as repo, Item, ItemFields};
use crate::state::AppState;

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
    let page: Pagination = query.try_into()?;
    let mut items = repo::list(&state.db, page.after.map(Cursor::key), page.fetch()).await?;
    let next = page.next(&mut items, |item| Cursor {
        created_at: item.created_at,
        id: item.id,
    });
    record_unreadable(&state, &journal, &items).await;
    Ok(Json(ItemList {
        items,
        limit: page.limit,
        next,
    }))
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
    use crate::page::{DEFAULT_LIMIT, MAX_LIMIT};

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
