-- Webhooks: each event of the outbox is fanned out into one delivery per configured webhook that
-- subscribes to its type, and every attempt to deliver it is logged for admins. The same SQL runs
-- on PostgreSQL and SQLite.

-- When the event was fanned out into deliveries (webhooks do not need Redis, so this is apart
-- from `published_at`, the Redis Stream's mark).
ALTER TABLE event_outbox ADD COLUMN dispatched_at BIGINT;

CREATE INDEX event_outbox_undispatched ON event_outbox (dispatched_at, id);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    -- the outbox row: the id receivers deduplicate by, stable across retries
    event_id TEXT NOT NULL,
    -- the `name` of the webhook in the configuration
    webhook TEXT NOT NULL,
    event_type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- a gateway that took the delivery holds it until then, so no other sends it at the same time
    claimed_until BIGINT,
    delivered_at BIGINT,
    given_up_at BIGINT,
    UNIQUE (event_id, webhook)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;

-- One row per attempt: the delivery log admins read.
CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    webhook TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- 1 for the first attempt
    attempt BIGINT NOT NULL,
    attempted_at BIGINT NOT NULL,
    -- the receiver's HTTP status, NULL when it gave none (refused, timed out)
    status BIGINT,
    -- what went wrong, NULL when delivered
    error TEXT,
    -- delivered | retrying | given_up
    outcome TEXT NOT NULL
);

CREATE INDEX webhook_attempts_at ON webhook_attempts (attempted_at, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
