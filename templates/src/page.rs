//! Keyset pagination, shared by every list route (`items` and the resources
//! added with `nestflux add resource`): a page holds at most `limit` records
//! in creation order, and ends with `next`, the opaque `after` of the page
//! that follows. Nothing counts the table: a page costs the same wherever it
//! is, and no record is skipped or repeated when others are added meanwhile.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page a client may ask for; bounds the work of one request.
pub const MAX_LIMIT: i64 = 100;

/// Raw query of a list route. Kept as strings so that a bad value is
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

/// A page: at most `limit` records, those that come after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    pub limit: i64,
    pub after: Option<Cursor>,
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

impl Pagination {
    /// How many rows to fetch: one more than the page, so that whether it
    /// exists says if there is a next page, without counting the table.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts `rows` (fetched with [`Pagination::fetch`]) to the page; the
    /// `next` of the page, `None` on the last one.
    pub fn next<T>(&self, rows: &mut Vec<T>, cursor: impl Fn(&T) -> Cursor) -> Option<String> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|row| cursor(row).encode())
        } else {
            None
        }
    }
}

/// Where a page ends: the creation time and id of its last record, the
/// order records are listed in. The next page starts right after it, found
/// through the table's `(created_at, id)` index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// `<microseconds since the epoch>.<id in hex>`: timestamps are stored
    /// at microsecond precision, so the cursor names the record exactly.
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

    /// The position as the repositories take it.
    pub fn key(self) -> (DateTime<Utc>, Uuid) {
        (self.created_at, self.id)
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
    fn a_cursor_reads_back_as_the_record_it_was_made_from() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
    }

    #[test]
    fn a_page_ends_with_the_cursor_of_its_last_row_only_when_more_follow() {
        let page = Pagination {
            limit: 2,
            after: None,
        };
        let at = |n: i64| Cursor {
            created_at: DateTime::from_timestamp_micros(n).unwrap(),
            id: Uuid::nil(),
        };
        let mut rows = vec![1, 2, 3];
        assert_eq!(page.next(&mut rows, |&n| at(n)), Some(at(2).encode()));
        assert_eq!(rows, [1, 2]);
        let mut last = vec![1, 2];
        assert_eq!(page.next(&mut last, |&n| at(n)), None);
        assert_eq!(last, [1, 2]);
    }
}
