-- The audit log (src/audit): append-only, each row chained to the one before it
-- by `prev_hash` (see src/audit/chain.rs for what is hashed). SQLite flavour;
-- migrations/postgres/ holds the same table for PostgreSQL.
--
-- Every column is stored as written and hashed as stored: `occurred_at` is RFC
-- 3339 text (UTC, microseconds) and `roles` a JSON array, so that a row reads
-- back byte for byte and `audit verify` recomputes the same hash.
-- Ids are 1, 2, 3, ... without gaps: the service assigns them while it holds
-- the chain's lock, so a deleted row leaves a visible hole.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY NOT NULL,
    occurred_at TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    subject     TEXT,
    roles       TEXT NOT NULL,
    client_ip   TEXT,
    request_id  TEXT,
    resource    TEXT NOT NULL,
    action      TEXT NOT NULL,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL
) STRICT;

-- Append-only: rows are never changed or removed, by the service or anyone
-- with access to the file. (Someone who can write the file can drop these
-- triggers too; `audit verify` then still finds the broken chain.)
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
