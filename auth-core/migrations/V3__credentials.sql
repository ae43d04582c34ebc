-- Credentials: lockout counters, signing keys, refresh-token families, personal access tokens and
-- the login history.

ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
ALTER TABLE users ADD COLUMN password_changed_at BIGINT;
ALTER TABLE admins ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN locked_until BIGINT;

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    -- nonce followed by the ChaCha20-Poly1305 ciphertext of the PKCS#8 private key
    private_key_sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    -- set when a newer key takes over signing
    retired_at BIGINT,
    -- after this the key verifies nothing and leaves the JWKS
    verify_until BIGINT
);

CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY,
    -- user or admin
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);

CREATE INDEX refresh_families_subject ON refresh_families (subject_id);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at BIGINT
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE personal_access_tokens (
    id TEXT PRIMARY KEY,
    -- user or admin
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- the first characters, so an owner can tell tokens apart
    token_prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE INDEX personal_access_tokens_owner ON personal_access_tokens (owner_id);

CREATE TABLE login_history (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    user_id TEXT,
    -- the service slug, or NULL for the auth API itself
    service TEXT,
    -- password, qr or pat
    method TEXT NOT NULL,
    success BOOLEAN NOT NULL,
    failure_reason TEXT,
    client_ip TEXT,
    user_agent TEXT
);

CREATE INDEX login_history_user_at ON login_history (user_id, at);
CREATE INDEX login_history_service_at ON login_history (service, at);
CREATE INDEX login_history_at ON login_history (at);
