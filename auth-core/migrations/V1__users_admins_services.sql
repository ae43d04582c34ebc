-- Written once for both engines (PostgreSQL and SQLite): TEXT ids, BIGINT times in UTC
-- milliseconds, BOOLEAN flags.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL,
    username_normalized TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- unverified, pending, active, blocked, rejected, deleted
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX users_status_created ON users (status, created_at);

CREATE TABLE admins (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    username_normalized TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- admin (everything) or support (read-only)
    role TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE services (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- JSON arrays of strings
    hosts TEXT NOT NULL,
    path_prefix TEXT UNIQUE,
    upstreams TEXT NOT NULL,
    api_key_hash TEXT,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Short-lived state of the embedded mode, kept here so it survives a restart.
CREATE TABLE ephemeral_entries (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX ephemeral_entries_expiry ON ephemeral_entries (expires_at);
