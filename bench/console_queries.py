#!/usr/bin/env python3
"""The admin console's heavy queries on a large embedded store: seeds USERS accounts and HISTORY
login-history rows (and an audit entry per account) into a freshly migrated SQLite file, runs
ANALYZE, then prints each query's plan and its time.

    target/release/auth-gateway migrate   # with AUTH_STORAGE__DATA_DIR=/tmp/console-bench
    bench/console_queries.py /tmp/console-bench/auth.db [USERS] [HISTORY]

Defaults: 1,000,000 accounts and 10,000,000 history rows over a year, 5 services. The SQL is the
console's own (the statements auth-core sends for the dashboard, the queue, a person's history
and the audit entries about them), with their parameters inlined.
"""

import sqlite3
import sys
import time

path = sys.argv[1]
users = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
history = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
services = ["service-b", "app-c", "service-d", "reports", "wiki"]
now = int(time.time())
year = 365 * 24 * 3600

db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = OFF")

if db.execute("SELECT COUNT(*) FROM users").fetchone()[0] < users:
    # Generated inside SQLite (a recursive count), which is far faster than rows from Python.
    started = time.time()
    db.execute(
        f"""WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {users})
        INSERT INTO users (id, email, email_normalized, username, username_normalized, full_name,
                           status, password_hash, created_at, updated_at)
        SELECT printf('u-%08d', i), printf('user%d@example.com', i),
               printf('user%d@example.com', i), printf('user%d', i), printf('user%d', i),
               printf('Person %d', i), CASE WHEN i % 1000 = 0 THEN 'pending' ELSE 'active' END,
               'x', {now} - abs(random()) % {year}, {now} FROM n""")
    db.commit()
    print(f"seeded {users:,} accounts in {time.time() - started:.0f} s")
    started = time.time()
    whens = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(services))
    db.execute(
        f"""WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {history})
        INSERT INTO login_history (id, at, user_id, service, method, success, failure_reason,
                                   client_ip)
        SELECT printf('h-%010d', i), {now} - abs(random()) % {year},
               printf('u-%08d', abs(random()) % {users}),
               CASE abs(random()) % {len(services)} {whens} END,
               'qr', CASE WHEN abs(random()) % 20 = 0 THEN 0 ELSE 1 END, NULL, '203.0.113.7'
        FROM n""")
    db.execute(
        f"""INSERT INTO audit_log (id, at, actor_kind, action, target_kind, target_id, client_ip,
                                  outcome, details)
        SELECT 'a-' || id, created_at, 'anonymous', 'user.registered', 'user', id,
               '203.0.113.7', 'success', '{{}}' FROM users""")
    db.commit()
    print(f"seeded {history:,} history rows and {users:,} audit entries in "
          f"{time.time() - started:.0f} s")
    db.execute("ANALYZE")

someone = db.execute("SELECT id, username_normalized FROM users LIMIT 1 OFFSET 4242").fetchone()
week = now - 7 * 24 * 3600
hour = now - 3600
queries = {
    "dashboard: logins per service this week":
        f"SELECT h.service, CAST(SUM(CASE WHEN h.success THEN 1 ELSE 0 END) AS BIGINT) AS logins,"
        f" CAST(SUM(CASE WHEN h.success THEN 0 ELSE 1 END) AS BIGINT) AS failures"
        f" FROM login_history h WHERE h.success = 1 AND h.at >= {week}"
        f" GROUP BY h.service ORDER BY logins DESC",
    "dashboard: failed logins in the last hour":
        f"SELECT CAST(SUM(CASE WHEN h.success THEN 1 ELSE 0 END) AS BIGINT),"
        f" CAST(SUM(CASE WHEN h.success THEN 0 ELSE 1 END) AS BIGINT)"
        f" FROM login_history h WHERE h.at >= {hour}",
    "dashboard and queue: pending accounts, oldest first":
        "SELECT * FROM users WHERE status = 'pending' ORDER BY created_at, id LIMIT 50",
    "queue: how many wait":
        "SELECT COUNT(*) FROM users WHERE status = 'pending'",
    "history: one person and service this week, per person and service":
        f"SELECT h.user_id, u.username, h.service,"
        f" CAST(SUM(CASE WHEN h.success THEN 1 ELSE 0 END) AS BIGINT) AS logins"
        f" FROM login_history h LEFT JOIN users u ON u.id = h.user_id"
        f" WHERE u.username_normalized = '{someone[1]}' AND h.service = 'service-b'"
        f" AND h.at >= {week} GROUP BY h.user_id, u.username, h.service",
    "user page: latest logins":
        f"SELECT h.*, u.username FROM login_history h LEFT JOIN users u ON u.id = h.user_id"
        f" WHERE h.user_id = '{someone[0]}' ORDER BY h.at DESC, h.id DESC LIMIT 20",
    "user page: audit entries about them":
        f"SELECT * FROM audit_log WHERE target_id = '{someone[0]}'"
        f" ORDER BY at DESC, id DESC LIMIT 20",
    "users: search by part of a name (no SQLite index serves '%…%')":
        "SELECT * FROM users WHERE (lower(full_name) || char(10) || email_normalized || char(10)"
        " || username_normalized) LIKE '%son 4242%' ESCAPE '\\'"
        " ORDER BY created_at DESC, id DESC LIMIT 50",
}
for name, sql in queries.items():
    plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]
    started = time.perf_counter()
    db.execute(sql).fetchall()
    took = (time.perf_counter() - started) * 1000
    print(f"{name}: {took:.1f} ms")
    for step in plan:
        print(f"    {step}")
