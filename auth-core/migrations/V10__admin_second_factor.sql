-- An admin's second factor for the console: the TOTP secret, sealed under a key derived from the
-- master key (NULL until the admin has enrolled), when it was enrolled (console sessions from
-- before are refused, so a reset ends them in every gateway), the last time step a code was
-- accepted for (so a code works once), and ten single-use recovery codes, stored as SHA-256
-- hashes. The same SQL
-- runs on PostgreSQL and SQLite.

ALTER TABLE admins ADD COLUMN totp_sealed BYTEA;
ALTER TABLE admins ADD COLUMN totp_enrolled_at BIGINT;
ALTER TABLE admins ADD COLUMN totp_last_step BIGINT;

CREATE TABLE admin_recovery_codes (
    admin_id TEXT NOT NULL REFERENCES admins (id),
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (admin_id, code_hash)
);
