-- Retention: how far back the sweep may remove rows of a table that is otherwise append-only
-- (the audit log's delete trigger checks this), and indexes the sweep's queries use.
CREATE TABLE retention_cutoffs (
    name TEXT PRIMARY KEY,
    before_at BIGINT NOT NULL
);

CREATE INDEX email_tokens_expiry ON email_tokens (expires_at);
CREATE INDEX personal_access_tokens_expiry ON personal_access_tokens (expires_at);
CREATE INDEX refresh_tokens_family_expiry ON refresh_tokens (family_id, expires_at);
CREATE INDEX refresh_families_revoked ON refresh_families (revoked_at);
CREATE INDEX mail_queue_created ON mail_queue (created_at);

-- Notifications: when each admin was last told of new accounts waiting, and up to when the
-- accounts it named had been verified, so a burst of registrations makes one mail per window.
CREATE TABLE admin_notices (
    admin_id TEXT PRIMARY KEY REFERENCES admins (id),
    last_sent_at BIGINT NOT NULL,
    covered_until BIGINT NOT NULL
);
