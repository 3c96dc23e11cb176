-- Revocable tokens: every token this node issues (login sessions, `director token create`) has a row, keyed by
-- the token's id (the JWT's `jti`); never the token itself. A revoked token keeps its row with revoked_at/by and
-- a revocation sequence number, which a running daemon polls to learn of revocations made by the CLI.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    -- The user name, or `token:NAME` for a service token.
    subject TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'service')),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    -- expires_at as Unix seconds, to prune and to compare.
    expires_unix INTEGER NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    -- 1, 2, 3... in the order of revocation (NULL while valid).
    revoked_seq INTEGER UNIQUE
);
CREATE INDEX tokens_created ON tokens (created_at);
CREATE INDEX tokens_subject ON tokens (subject);

-- A random value per user, carried in the user's session tokens: a new one (on a password change, or when a
-- deleted user is created again) ends every session issued before. '' for users created before this column.
ALTER TABLE users ADD COLUMN session_epoch TEXT NOT NULL DEFAULT '';
