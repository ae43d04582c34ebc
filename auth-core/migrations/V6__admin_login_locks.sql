-- Wrong admin passwords are counted per admin and client (an IPv4 address, or the /64 of an IPv6
-- one), so nobody can keep an admin locked out from somewhere else. The same SQL runs on
-- PostgreSQL and SQLite.
--
-- The per-admin columns `admins.failed_logins` and `admins.locked_until` of V3 are no longer read
-- or written. They stay for now, so a gateway of the previous version still runs against this
-- schema during a rolling upgrade.

CREATE TABLE admin_login_locks (
    admin_id TEXT NOT NULL REFERENCES admins (id),
    -- "203.0.113.7", "2001:db8:1:2::/64", or "unknown" when the transport gave no address
    client_key TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    PRIMARY KEY (admin_id, client_key)
);
