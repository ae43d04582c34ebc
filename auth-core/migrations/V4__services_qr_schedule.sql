-- Services get a visible key prefix; users get an account-level count of wrong PINs; the operating
-- schedule is stored once changed from its configured default.

ALTER TABLE services ADD COLUMN api_key_prefix TEXT;
ALTER TABLE services ADD COLUMN key_rotated_at BIGINT;

ALTER TABLE users ADD COLUMN failed_pins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN pins_locked_until BIGINT;

CREATE TABLE schedule (
    id BIGINT PRIMARY KEY,
    -- JSON: time zone, weekly hours, exception dates, warning minutes
    definition TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);
