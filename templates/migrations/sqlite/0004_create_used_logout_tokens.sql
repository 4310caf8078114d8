-- Back-channel logout tokens already used (feature `session`, src/routes/session.rs).
-- SQLite flavour; migrations/postgres/ holds the same table for PostgreSQL.
--
-- A logout token is accepted once: its `jti` is remembered until the token
-- expires (then it is refused as expired anyway, and the row is purged with
-- the ended sessions). Only the SHA-256 of the `jti` is stored.
CREATE TABLE used_logout_tokens (
    jti_hash   BLOB PRIMARY KEY NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX used_logout_tokens_expires_at_idx ON used_logout_tokens (expires_at);
