-- The audit log (src/audit): append-only, each row chained to the one before it
-- by `prev_hash` (see src/audit/chain.rs for what is hashed). PostgreSQL
-- flavour; migrations/sqlite/ holds the same table for SQLite.
--
-- Every column is stored as written and hashed as stored: `occurred_at` is RFC
-- 3339 text (UTC, microseconds) rather than TIMESTAMPTZ and `roles` a JSON
-- array as text, so that a row reads back byte for byte and `audit verify`
-- recomputes the same hash.
-- Ids are 1, 2, 3, ... without gaps: the service assigns them while it holds
-- the chain's lock (a sequence would leave gaps on rollback), so a deleted row
-- leaves a visible hole.
CREATE TABLE audit_events (
    id          BIGINT PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    subject     TEXT,
    roles       TEXT NOT NULL,
    client_ip   TEXT,
    request_id  TEXT,
    resource    TEXT NOT NULL,
    action      TEXT NOT NULL,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL
);

-- Append-only: rows are never changed or removed, whatever the role. The
-- runtime role should also have only INSERT and SELECT on this table (README.md,
-- "Database roles"), so that it cannot drop these triggers either.
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP;
END;
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
