-- Browser sessions (feature `session`, src/session). SQLite flavour;
-- migrations/postgres/ holds the same table for PostgreSQL.
--
-- A row is the server side of one signed-in browser. The cookie holds a random
-- 256-bit id; only its SHA-256 is stored (`id_hash`), so a copy of this table
-- does not let anyone take over a session. The identity provider's tokens are
-- encrypted (src/crypto), each bound to this row and column, with the id of
-- the key that sealed it beside it.
CREATE TABLE sessions (
    id_hash              BLOB PRIMARY KEY NOT NULL,
    -- The `sub` of the ID token: ends every session of a user at once.
    subject              TEXT NOT NULL,
    -- The `sid` of the ID token, when the provider sends one: what a
    -- back-channel logout names.
    idp_session_id       TEXT,
    -- SHA-256 of the anti-CSRF token the browser sends back in X-CSRF-Token.
    csrf_hash            BLOB NOT NULL,
    access_token         BLOB NOT NULL,
    access_token_key_id  TEXT NOT NULL,
    refresh_token        BLOB,
    refresh_token_key_id TEXT,
    -- Kept for `id_token_hint` at logout.
    id_token             BLOB NOT NULL,
    id_token_key_id      TEXT NOT NULL,
    -- When the access token expires: it is refreshed shortly before.
    access_expires_at    TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    -- The idle timeout counts from here.
    last_seen_at         TEXT NOT NULL,
    -- The absolute timeout: the session ends then, whatever happens.
    expires_at           TEXT NOT NULL,
    CHECK ((refresh_token IS NULL) = (refresh_token_key_id IS NULL))
) STRICT;

CREATE INDEX sessions_subject_idx ON sessions (subject);
CREATE INDEX sessions_idp_session_id_idx ON sessions (idp_session_id);
-- Serves the periodic purge of ended sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
