-- A service's closing warning as an admin set it in the console: whether the banner goes into
-- its pages (NULL: the configuration's `[service_warnings]` entry, else on) and its own warning
-- window in minutes (NULL: the configuration's entry, else the schedule's). The same SQL runs on
-- PostgreSQL and SQLite.

ALTER TABLE services ADD COLUMN warning_banner BOOLEAN;
ALTER TABLE services ADD COLUMN warning_minutes BIGINT;
