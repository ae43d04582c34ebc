#!/usr/bin/env bash
# The admin console's heavy queries on a large PostgreSQL store: a fresh server on loopback, the
# schema from `auth-gateway migrate` (with the user search's trigram index), USERS accounts and
# HISTORY login-history rows over a year across 5 services (generate_series), ANALYZE, then
# `EXPLAIN (ANALYZE, BUFFERS)` of each statement auth-core sends for the dashboard, the queue, the
# user search and list, a person's history and the audit entries about them.
#
#   bench/console_queries_pg.sh            # 1,000,000 accounts, 10,000,000 history rows
#   BENCH_USERS=100000 BENCH_HISTORY=1000000 bench/console_queries_pg.sh
#
# BENCH_BIN: the directory of the auth-gateway binary (target/debug by default).

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_NAME=console-pg
KEEP=${BENCH_KEEP:-0}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
USERS=${BENCH_USERS:-1000000}
HISTORY=${BENCH_HISTORY:-10000000}
BIN=${BENCH_BIN:-$ROOT/target/debug}
[[ -x $BIN/auth-gateway ]] || die "no $BIN/auth-gateway (cargo build -p auth-gateway)"

start_postgres_and_redis
psql_run() { psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" "$@"; }

AUTH_STORAGE__BACKEND=postgres AUTH_STORAGE__POSTGRES__URL=$PG_URL \
    AUTH_STORAGE__DATA_DIR=$WORK/data "$BIN/auth-gateway" migrate >/dev/null
log "seeding $USERS accounts and $HISTORY history rows"
started=$(date +%s)
psql_run <<SQL
SET synchronous_commit = off;
INSERT INTO users (id, email, email_normalized, username, username_normalized, full_name,
                   status, password_hash, created_at, updated_at)
SELECT format('u-%s', lpad(i::text, 8, '0')), format('user%s@example.com', i),
       format('user%s@example.com', i), format('user%s', i), format('user%s', i),
       format('Person %s', i), CASE WHEN i % 1000 = 0 THEN 'pending' ELSE 'active' END, 'x',
       extract(epoch FROM now())::bigint - (random() * 31536000)::bigint,
       extract(epoch FROM now())::bigint
FROM generate_series(0, $USERS - 1) i;
INSERT INTO login_history (id, at, user_id, service, method, success, failure_reason, client_ip)
SELECT format('h-%s', i), extract(epoch FROM now())::bigint - (random() * 31536000)::bigint,
       format('u-%s', lpad((random() * ($USERS - 1))::bigint::text, 8, '0')),
       (ARRAY['service-b', 'app-c', 'service-d', 'reports', 'wiki'])[1 + (i % 5)],
       'qr', random() > 0.05, NULL, '203.0.113.7'
FROM generate_series(0, $HISTORY - 1) i;
INSERT INTO audit_log (id, at, actor_kind, action, target_kind, target_id, client_ip, outcome,
                       details)
SELECT 'a-' || id, created_at, 'anonymous', 'user.registered', 'user', id, '203.0.113.7',
       'success', '{}' FROM users;
VACUUM ANALYZE;
SQL
log "seeded in $(( $(date +%s) - started )) s"
psql_run -At -c "SELECT 'index: ' || indexdef FROM pg_indexes WHERE indexname = 'users_search_trgm'"

now=$(date +%s)
week=$(( now - 7 * 24 * 3600 ))
hour=$(( now - 3600 ))
someone=$(psql_run -At -c "SELECT id || ' ' || username_normalized FROM users OFFSET 4242 LIMIT 1")
read -r someone_id someone_name <<<"$someone"
search="(lower(full_name) || E'\n' || email_normalized || E'\n' || username_normalized)"
declare -A queries=(
    ["dashboard: logins per service this week"]="SELECT h.service, CAST(SUM(CASE WHEN h.success THEN 1 ELSE 0 END) AS BIGINT) AS logins FROM login_history h WHERE h.success = true AND h.at >= $week GROUP BY h.service ORDER BY logins DESC"
    ["dashboard: failed logins in the last hour"]="SELECT CAST(SUM(CASE WHEN h.success THEN 0 ELSE 1 END) AS BIGINT) FROM login_history h WHERE h.at >= $hour"
    ["queue: pending accounts, oldest first"]="SELECT * FROM users WHERE status = 'pending' ORDER BY created_at, id LIMIT 50"
    ["queue: how many wait"]="SELECT COUNT(*) FROM users WHERE status = 'pending'"
    ["users: the newest page"]="SELECT * FROM users ORDER BY created_at DESC, id DESC LIMIT 50"
    ["users: search by part of a name"]="SELECT * FROM users WHERE $search LIKE '%son 4242%' ESCAPE '\\' ORDER BY created_at DESC, id DESC LIMIT 50"
    ["users: the search's count"]="SELECT COUNT(*) FROM users WHERE $search LIKE '%son 4242%' ESCAPE '\\'"
    ["history: one person and service this week"]="SELECT h.user_id, u.username, h.service, COUNT(*) FROM login_history h LEFT JOIN users u ON u.id = h.user_id WHERE u.username_normalized = '$someone_name' AND h.service = 'service-b' AND h.at >= $week GROUP BY h.user_id, u.username, h.service"
    ["history: one day of the chart, per service"]="SELECT h.service, COUNT(*) FROM login_history h WHERE h.success = true AND h.at >= $week AND h.at < $(( week + 86400 )) GROUP BY h.service"
    ["user page: latest logins"]="SELECT h.*, u.username FROM login_history h LEFT JOIN users u ON u.id = h.user_id WHERE h.user_id = '$someone_id' ORDER BY h.at DESC, h.id DESC LIMIT 20"
    ["user page: audit entries about them"]="SELECT * FROM audit_log WHERE target_id = '$someone_id' ORDER BY at DESC, id DESC LIMIT 20"
)
for name in "${!queries[@]}"; do
    printf '\n### %s\n' "$name"
    psql_run -At -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${queries[$name]}" |
        grep -v '^ *Buffers\|^Planning:$' | sed 's/^/    /'
done
