-- The console's lists on a million accounts and ten million logins, as EXPLAIN on PostgreSQL
-- showed them (bench/console_queries_pg.sh): the newest accounts first read every account without
-- an index on when they registered; and the logins of a period per service (the dashboard's week,
-- each day of the history chart) read the table's rows, because PostgreSQL cannot skip through
-- `(service, at, success)` without a service named. With the period first, both engines count
-- from the index alone; it serves everything the index on `at` alone served. The same SQL runs on
-- PostgreSQL and SQLite.

CREATE INDEX users_created ON users (created_at, id);
DROP INDEX login_history_at;
CREATE INDEX login_history_at_service_success ON login_history (at, service, success);
