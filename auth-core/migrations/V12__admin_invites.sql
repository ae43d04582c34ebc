-- Joining the staff by a one-time link: a new admin or support person is mailed a link with which
-- they choose their own password. Only the token's SHA-256 hash is kept; the row goes when the
-- link is used, so an admin with a row here has not joined yet (and does not count as one who can
-- act). The same SQL runs on PostgreSQL and SQLite.

CREATE TABLE admin_invites (
    admin_id TEXT PRIMARY KEY REFERENCES admins (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
