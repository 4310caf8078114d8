//! The hash chain of `audit_events`: what is hashed, and `audit verify`.
//!
//! Row `n` stores `hash = SHA-256(encoding(row n))`, where the encoding covers
//! every column, including the row's id and `prev_hash`, the hash of row `n - 1`
//! (32 zero bytes for row 1). Changing a row breaks its own hash; recomputing
//! that hash breaks the next row's `prev_hash`; deleting a row leaves a gap in
//! the ids. [`verify`] walks the table in id order and reports the first row
//! where any of this fails.
//!
//! The encoding is unambiguous: a version tag, then each field in a fixed
//! order as a presence byte (`0` for NULL, `1` for a value) followed by its
//! length (u32, big-endian) and its bytes. No two different rows encode alike,
//! so no two rows can be made to share a hash by moving text between fields.
//!
//! Deleting the *last* rows leaves a shorter chain that is still valid: that
//! is why every event is also logged (target `audit`) with its id and hash,
//! so the log shipped elsewhere anchors the chain's head.

use aws_lc_rs::digest::{SHA256, digest};

use crate::db::Pool;

/// `prev_hash` of the first row.
pub const GENESIS: [u8; 32] = [0; 32];

/// Bumped if the encoding ever changes; part of every hash.
const ENCODING_VERSION: &[u8] = b"audit-event-v1";

/// Rows read per query while verifying.
const VERIFY_PAGE: i64 = 1000;

/// One row of `audit_events`, exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    /// RFC 3339, UTC, microseconds.
    pub occurred_at: String,
    pub event_type: String,
    pub outcome: String,
    pub subject: Option<String>,
    /// A JSON array of role names.
    pub roles: String,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    pub resource: String,
    pub action: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl StoredEvent {
    /// The hash this row must carry, computed from its other columns.
    pub fn computed_hash(&self) -> Vec<u8> {
        let mut encoding = Vec::with_capacity(256);
        field(&mut encoding, Some(ENCODING_VERSION));
        field(&mut encoding, Some(self.id.to_string().as_bytes()));
        field(&mut encoding, Some(self.occurred_at.as_bytes()));
        field(&mut encoding, Some(self.event_type.as_bytes()));
        field(&mut encoding, Some(self.outcome.as_bytes()));
        field(&mut encoding, self.subject.as_deref().map(str::as_bytes));
        field(&mut encoding, Some(self.roles.as_bytes()));
        field(&mut encoding, self.client_ip.as_deref().map(str::as_bytes));
        field(&mut encoding, self.request_id.as_deref().map(str::as_bytes));
        field(&mut encoding, Some(self.resource.as_bytes()));
        field(&mut encoding, Some(self.action.as_bytes()));
        field(&mut encoding, Some(&self.prev_hash));
        digest(&SHA256, &encoding).as_ref().to_vec()
    }
}

fn field(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            // Fields are far below 4 GiB: request bodies are limited to 64 KiB.
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every link holds. `head` is the hash of the last row (to compare with
    /// the last `audit` log line), `None` for an empty table.
    Intact { events: u64, head: Option<Vec<u8>> },
    /// The first row at which the chain is broken, and why.
    Broken { id: i64, reason: String },
}

/// Walks the whole chain in id order, a page at a time, and returns the first
/// broken link.
pub async fn verify(pool: &Pool) -> Result<Verdict, sqlx::Error> {
    let mut expected_id = 1_i64;
    let mut expected_prev = GENESIS.to_vec();
    let mut events = 0_u64;
    loop {
        let page: Vec<StoredEvent> = sqlx::query_as(
            "SELECT id, occurred_at, event_type, outcome, subject, roles, client_ip,
                    request_id, resource, action, prev_hash, hash
             FROM audit_events WHERE id >= $1 ORDER BY id LIMIT $2",
        )
        .bind(expected_id)
        .bind(VERIFY_PAGE)
        .fetch_all(pool.sql())
        .await?;
        if page.is_empty() {
            let head = (events > 0).then_some(expected_prev);
            return Ok(Verdict::Intact { events, head });
        }
        for row in page {
            if let Some(reason) = broken_link(&row, expected_id, &expected_prev) {
                return Ok(Verdict::Broken { id: row.id, reason });
            }
            expected_id += 1;
            expected_prev = row.hash;
            events += 1;
        }
    }
}

/// Why `row` does not continue a chain whose next id is `expected_id` and
/// whose last hash is `expected_prev`, if it does not.
fn broken_link(row: &StoredEvent, expected_id: i64, expected_prev: &[u8]) -> Option<String> {
    if row.id != expected_id {
        return Some(format!(
            "rows {expected_id} to {} are missing (deleted)",
            row.id - 1
        ));
    }
    if row.prev_hash != expected_prev {
        return Some(format!(
            "its prev_hash does not match the hash of row {}: that row was changed or replaced",
            row.id - 1
        ));
    }
    if row.computed_hash() != row.hash {
        return Some("its content does not match its hash: the row was changed".to_owned());
    }
    None
}

/// Lower-case hex, for printing hashes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, prev_hash: Vec<u8>) -> StoredEvent {
        let mut row = StoredEvent {
            id,
            occurred_at: "2026-01-02T10:00:00.000000Z".to_owned(),
            event_type: "data_change".to_owned(),
            outcome: "success".to_owned(),
            subject: Some("user-1".to_owned()),
            roles: r#"["editor"]"#.to_owned(),
            client_ip: Some("127.0.0.1".to_owned()),
            request_id: None,
            resource: "items/1".to_owned(),
            action: "create".to_owned(),
            prev_hash,
            hash: Vec::new(),
        };
        row.hash = row.computed_hash();
        row
    }

    #[test]
    fn a_chain_of_untouched_rows_has_no_broken_link() {
        let first = row(1, GENESIS.to_vec());
        let second = row(2, first.hash.clone());
        assert_eq!(broken_link(&first, 1, &GENESIS), None);
        assert_eq!(broken_link(&second, 2, &first.hash), None);
    }

    #[test]
    fn every_kind_of_tampering_is_named() {
        let first = row(1, GENESIS.to_vec());
        let mut changed = first.clone();
        changed.outcome = "failure".to_owned();
        assert!(
            broken_link(&changed, 1, &GENESIS)
                .unwrap()
                .contains("was changed")
        );

        let mut rehashed = first.clone();
        rehashed.subject = Some("someone-else".to_owned());
        rehashed.hash = rehashed.computed_hash();
        let second = row(2, first.hash.clone());
        assert_eq!(broken_link(&rehashed, 1, &GENESIS), None);
        assert!(
            broken_link(&second, 2, &rehashed.hash)
                .unwrap()
                .contains("row 1")
        );

        assert!(
            broken_link(&second, 1, &GENESIS)
                .unwrap()
                .contains("missing")
        );
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let a = row(1, GENESIS.to_vec());
        let mut b = a.clone();
        b.resource = "items/1c".to_owned();
        b.action = "reate".to_owned();
        let mut c = a.clone();
        c.subject = None;
        let mut d = a.clone();
        d.subject = Some(String::new());
        let hashes = [&a, &b, &c, &d].map(StoredEvent::computed_hash);
        for (i, x) in hashes.iter().enumerate() {
            for y in &hashes[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}
