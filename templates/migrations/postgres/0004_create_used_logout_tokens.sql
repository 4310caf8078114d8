-- Back-channel logout tokens already used (feature `session`, src/routes/session.rs).
-- PostgreSQL flavour; migrations/sqlite/ holds the same table for SQLite.
--
-- A logout token is accepted once: its `jti` is remembered until the token
-- expires (then it is refused as expired anyway, and the row is purged with
-- the ended sessions). Only the SHA-256 of the `jti` is stored.
CREATE TABLE used_logout_tokens (
    jti_hash   BYTEA PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX used_logout_tokens_expires_at_idx ON used_logout_tokens (expires_at);
