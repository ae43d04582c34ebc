#!/usr/bin/env python3
"""Fills a stopped gateway's stores with a large deployment's data, for bench/big_data.sh: users,
login-history rows and live sessions, each a copy of a real row the gateway wrote (so sizes,
formats and timestamps are the gateway's own) under new ids. Rows are generated inside the
database (a recursive CTE on SQLite, generate_series on PostgreSQL), so seeding ten million rows
takes minutes, not hours.

    bench/seed_big.py --sqlite data/auth.db --users 1000000 --history 10000000 --sessions 100000
    bench/seed_big.py --psql postgres://postgres@127.0.0.1:5432/auth --redis-port 6379 ...

Python 3 standard library; PostgreSQL through the `psql` command, Redis through `redis-cli`.
"""

import argparse
import sqlite3
import subprocess
import sys
import time

# Copies of the newest real row, with new ids; `{numbers}` is the source of `i`, 1..count.
USERS = """
INSERT INTO users (id, email, email_normalized, username, username_normalized, full_name,
                   password_hash, status, created_at, updated_at)
SELECT 'seed-' || i, 'seed' || i || '@example.com', 'seed' || i || '@example.com',
       'seed' || i, 'seed' || i, t.full_name, t.password_hash, t.status,
       t.created_at - i, t.updated_at - i
FROM {numbers}, (SELECT * FROM users WHERE status = 'active' ORDER BY created_at DESC LIMIT 1) t
"""
HISTORY = """
INSERT INTO login_history (id, at, user_id, service, method, success, failure_reason, client_ip,
                           user_agent)
SELECT 'seed-h-' || i, t.at - i * 50, 'seed-' || (i % {users} + 1), t.service, t.method,
       t.success, t.failure_reason, t.client_ip, t.user_agent
FROM {numbers}, (SELECT * FROM login_history WHERE service IS NOT NULL ORDER BY at DESC LIMIT 1) t
"""
SESSIONS = """
INSERT INTO ephemeral_entries (key, kind, value, expires_at)
SELECT 'session:seed-' || i, t.kind, t.value, t.expires_at
FROM {numbers}, (SELECT * FROM ephemeral_entries WHERE key LIKE 'session:%' LIMIT 1) t
"""


def log(message):
    print(f"seed_big: {message}", file=sys.stderr, flush=True)


def timed(what, run):
    started = time.monotonic()
    run()
    log(f"{what} in {time.monotonic() - started:.0f} s")


def seed_sqlite(path, users, history, sessions):
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")

    def insert(sql, count, **names):
        numbers = f"(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) SELECT i FROM n)"
        db.execute(sql.format(numbers=numbers, **names))
        db.commit()

    timed(f"{users} users", lambda: insert(USERS, users))
    timed(f"{history} login-history rows", lambda: insert(HISTORY, history, users=users))
    if sessions:
        timed(f"{sessions} sessions", lambda: insert(SESSIONS, sessions))
    db.execute("ANALYZE")
    db.close()


def seed_postgres(url, users, history):
    def run(sql, count, **names):
        numbers = f"generate_series(1, {count}) AS n(i)"
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
                        sql.format(numbers=numbers, **names)], check=True)

    timed(f"{users} users", lambda: run(USERS, users))
    timed(f"{history} login-history rows", lambda: run(HISTORY, history, users=users))
    subprocess.run(["psql", "-q", url, "-c", "VACUUM ANALYZE"], check=True)


def resp(*parts):
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        part = part if isinstance(part, bytes) else str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


def seed_redis(port, prefix, sessions):
    cli = ["redis-cli", "-p", str(port)]
    keys = subprocess.run(cli + ["--scan", "--pattern", f"{prefix}session:*"], check=True,
                          capture_output=True).stdout.split()
    if not keys:
        sys.exit("seed_big: no session in Redis to copy")
    template = keys[0]
    value = subprocess.run(cli + ["--raw", "GET", template], check=True,
                           capture_output=True).stdout.rstrip(b"\n")
    ttl = int(subprocess.run(cli + ["PTTL", template], check=True,
                             capture_output=True).stdout.strip())

    def run():
        commands = b"".join(
            resp("SET", f"{prefix}session:seed-{i}", value, "PX", ttl) for i in range(1, sessions + 1))
        subprocess.run(cli + ["--pipe"], input=commands, check=True, capture_output=True)

    timed(f"{sessions} sessions in Redis", run)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", help="the embedded database file")
    parser.add_argument("--psql", help="a PostgreSQL URL")
    parser.add_argument("--redis-port", type=int, help="Redis holding the sessions")
    parser.add_argument("--redis-prefix", default="auth:")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=10_000_000)
    parser.add_argument("--sessions", type=int, default=100_000)
    args = parser.parse_args()
    if args.sqlite:
        seed_sqlite(args.sqlite, args.users, args.history,
                    0 if args.redis_port else args.sessions)
    elif args.psql:
        seed_postgres(args.psql, args.users, args.history)
    else:
        sys.exit("seed_big: --sqlite or --psql")
    if args.redis_port:
        seed_redis(args.redis_port, args.redis_prefix, args.sessions)


if __name__ == "__main__":
    main()
