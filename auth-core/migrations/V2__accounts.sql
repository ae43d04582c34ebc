-- Accounts: the life of a user, single-use email tokens, the audit log, the event outbox and the
-- mail queue. The same SQL runs on PostgreSQL and SQLite.

ALTER TABLE users ADD COLUMN auth_key TEXT;
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
ALTER TABLE users ADD COLUMN decided_at BIGINT;
ALTER TABLE users ADD COLUMN decided_by TEXT;
ALTER TABLE users ADD COLUMN rejection_reason TEXT;
ALTER TABLE users ADD COLUMN blocked_reason TEXT;
-- What a deleted account was, so restoring brings it back intact.
ALTER TABLE users ADD COLUMN status_before_delete TEXT;
ALTER TABLE users ADD COLUMN deleted_at BIGINT;

CREATE UNIQUE INDEX users_auth_key ON users (auth_key);

CREATE TABLE email_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    -- verify_email or password_reset
    purpose TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- Append-only: nothing in the code updates or deletes a row.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    -- admin, user, service, system or anonymous
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    client_ip TEXT,
    -- success, failure or denied
    outcome TEXT NOT NULL,
    -- JSON object
    details TEXT NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
CREATE INDEX audit_log_target ON audit_log (target_id, at);
CREATE INDEX audit_log_action ON audit_log (action, at);

-- Written in the same transaction as the change it announces; published to Redis afterwards.
CREATE TABLE event_outbox (
    id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    user_id TEXT,
    -- JSON object
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    published_at BIGINT
);

CREATE INDEX event_outbox_unpublished ON event_outbox (published_at, id);

-- Mail is queued with the change that causes it and sent by a background worker, with retries.
CREATE TABLE mail_queue (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    sent_at BIGINT,
    last_error TEXT
);

CREATE INDEX mail_queue_due ON mail_queue (sent_at, next_attempt_at);
