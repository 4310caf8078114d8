-- Items: the example resource. SQLite flavour.
--
-- Types follow sqlx's SQLite mapping, so the Rust code is the same for every
-- database: `id` holds the 16 bytes of a UUID (`BLOB`), timestamps are RFC 3339
-- text in UTC (which sorts chronologically). In PostgreSQL these columns would be
-- `UUID` and `TIMESTAMPTZ`.
-- STRICT makes SQLite reject values of the wrong type instead of storing them.
CREATE TABLE items (
    id         BLOB PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    notes      TEXT,
    owner      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Serves the list endpoint's `ORDER BY created_at, id` and its pagination.
CREATE INDEX items_created_at_id_idx ON items (created_at, id);
