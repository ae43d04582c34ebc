#!/usr/bin/env bash
# Whether the gateway's cost stays flat as the data grows: service requests (wrk, as in
# bench/peer.sh: gateway on CPU 1, wrk and an nginx origin on CPU 0, a live session on every
# request) and QR logins (bench/qr_steps.py) measured first with a handful of users, then again
# after bench/seed_big.py has added BENCH_USERS users, BENCH_HISTORY login-history rows and
# BENCH_SESSIONS live sessions, on the embedded store and on PostgreSQL + Redis. Also reports
# memory: the gateway's resident set per live session (embedded: sessions are held in process;
# Redis: Redis's own used_memory) and per idle client connection. Prints a table and appends it to
# docs/BENCHMARKS.md.
#
#   bench/big_data.sh          # about 15 minutes at the default sizes
#
# Options, by environment variable: BENCH_USERS=1000000, BENCH_HISTORY=10000000,
# BENCH_SESSIONS=100000, BENCH_IDLE=10000 (idle connections), BENCH_STORES="embedded postgres",
# BENCH_LOGINS=300, BENCH_DURATION=10s, BENCH_ROUNDS=3, BENCH_BUILD=1, BENCH_BIN, BENCH_DOCS
# (empty: write nothing), BENCH_KEEP=0.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
USERS=${BENCH_USERS:-1000000}
HISTORY=${BENCH_HISTORY:-10000000}
SESSIONS=${BENCH_SESSIONS:-100000}
IDLE=${BENCH_IDLE:-10000}
STORES=${BENCH_STORES:-embedded postgres}
LOGINS=${BENCH_LOGINS:-300}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNECTIONS=32
PROXY_CPUS=1
LOAD_CPUS=0
BUILD=${BENCH_BUILD:-1}
BIN=${BENCH_BIN:-$ROOT/target/release}
DOCS=${BENCH_DOCS-$ROOT/docs/BENCHMARKS.md}
KEEP=${BENCH_KEEP:-0}
BENCH_NAME=big-data

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for tool in python3 curl taskset wrk nginx psql redis-cli; do
    command -v "$tool" >/dev/null || die "$tool is missing: scripts/install-prerequisites.sh bench"
done
cd "$ROOT"
if [[ $BUILD == 1 ]]; then
    log "building release binaries"
    cargo build --release -p auth-gateway >&2
fi
[[ -x $BIN/auth-gateway ]] || die "$BIN/auth-gateway is missing: cargo build --release -p auth-gateway"
ulimit -n "$(ulimit -Hn)"

ORIGIN_PORT=$(free_port)
start_nginx origin "$LOAD_CPUS" "access_log off;
    server { listen 127.0.0.1:$ORIGIN_PORT; location / { return 200 \"ok\\n\"; } }"
wait_for nginx-origin "http://127.0.0.1:$ORIGIN_PORT/"

raise_login_limits

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
redis_memory() { redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ { print $2 }' | tr -d '\r'; }

# Holds $1 idle connections to port $2 (from 127.0.0.2 on, at most 200 per address, under the
# gateway's per-address cap) and prints the gateway's resident set growth per connection (bytes).
idle_cost() {
    local count=$1 port=$2 before after
    before=$(rss_kib "$GATEWAY_PID")
    python3 - "$count" "$port" >"$WORK/idle.log" 2>&1 <<'PY' &
import socket, sys, time
count, port = int(sys.argv[1]), int(sys.argv[2])
held = []
for n in range(count):
    s = socket.socket()
    s.bind((f"127.0.{2 + n // 200 // 250}.{2 + n // 200 % 250}", 0))
    s.connect(("127.0.0.1", port))
    held.append(s)
print("held", len(held), flush=True)
time.sleep(600)
PY
    local holder=$!
    for _ in $(seq 300); do
        grep -q held "$WORK/idle.log" 2>/dev/null && break
        sleep 0.1
    done
    sleep 2
    after=$(rss_kib "$GATEWAY_PID")
    kill "$holder" 2>/dev/null || true
    wait "$holder" 2>/dev/null || true
    echo $(( (after - before) * 1024 / count ))
}

# Measures the running gateway (port $1): sets RPS, P99 (wrk) and QR_P50, QR_P99 (whole login).
measure_gateway() {
    local port=$1 label=$2
    measure "$label" "http://127.0.0.1:$port/" "$BENCH_SESSION"
    taskset -c "$LOAD_CPUS" python3 "$ROOT/bench/qr_steps.py" --gateway "http://127.0.0.1:$port" \
        --config "$CONFIG" --data-dir "$DATA" --gateway-bin "$BIN/auth-gateway" \
        --logins "$LOGINS" >"$WORK/$label.qr.json"
    read -r QR_P50 QR_P99 < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['all']['login']; print(r['p50'], r['p99'])" "$WORK/$label.qr.json")
}

ROWS=()
for store in $STORES; do
    use_store "$store"
    port=$(free_port)
    start_bench_gateway "$BIN" "$port" "$ORIGIN_PORT" 1 taskset -c "$PROXY_CPUS"
    measure_gateway "$port" "$store-small"
    small=("$RPS" "$P99" "$QR_P50" "$QR_P99")
    rss_small=$(rss_kib "$GATEWAY_PID")
    forget "$GATEWAY_PID"

    log "$store: seeding $USERS users, $HISTORY history rows, $SESSIONS sessions"
    if [[ $store == embedded ]]; then
        python3 "$ROOT/bench/seed_big.py" --sqlite "$DATA/auth.db" --users "$USERS" \
            --history "$HISTORY" --sessions "$SESSIONS"
    else
        memory_before=$(redis_memory)
        python3 "$ROOT/bench/seed_big.py" --psql "$PG_URL" --redis-port "$REDIS_PORT" \
            --users "$USERS" --history "$HISTORY" --sessions "$SESSIONS"
        per_session=$(( ($(redis_memory) - memory_before) / SESSIONS ))
    fi
    start_bench_gateway "$BIN" "$port" "$ORIGIN_PORT" 1 taskset -c "$PROXY_CPUS"
    rss_big=$(rss_kib "$GATEWAY_PID")
    [[ $store == embedded ]] && per_session=$(( (rss_big - rss_small) * 1024 / SESSIONS ))
    measure_gateway "$port" "$store-big"
    big=("$RPS" "$P99" "$QR_P50" "$QR_P99")
    per_connection=$(idle_cost "$IDLE" "$port")
    forget "$GATEWAY_PID"
    label=$([[ $store == embedded ]] && echo "embedded" || echo "PostgreSQL + Redis")
    ROWS+=("$(printf '| %s | %.0f / %.0f (%.2f) | %s / %s ms | %s / %s ms | %s B%s | %s B |' \
        "$label" "${small[0]}" "${big[0]}" "$(python3 -c "print(${big[0]} / ${small[0]})")" \
        "${small[1]}" "${big[1]}" "${small[2]}" "${big[2]}" \
        "$per_session" "$([[ $store == embedded ]] && echo ' (gateway RSS)' || echo ' (Redis)')" \
        "$per_connection")")
    rm -rf "$DATA"
done

TABLE=$(
    printf '| store | service req/s, small / large (ratio) | service p99, small / large | QR login p50, small / large | memory per live session | gateway memory per idle connection |\n'
    printf '| --- | ---: | ---: | ---: | ---: | ---: |\n'
    printf '%s\n' "${ROWS[@]}"
)
printf '\n%s\n' "$TABLE"
if [[ -n $DOCS ]]; then
    RUN=$(
        printf '### %s, commit %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(git rev-parse --short HEAD)"
        printf -- '- small = the few users the bench makes; large = %s users, %s login-history rows and %s live sessions more (bench/seed_big.py). Service requests as in bench/peer.sh (best of %s runs of %s, 32 connections, gateway on CPU 1, wrk and an nginx origin on CPU 0); QR logins: %s one after another (bench/qr_steps.py). Idle connections: %s held open. %s CPUs, `%s`.\n\n' \
            "$USERS" "$HISTORY" "$SESSIONS" "$ROUNDS" "$DURATION" "$LOGINS" "$IDLE" "$(nproc)" "$(uname -srm)"
        printf '%s\n' "$TABLE"
    )
    append_to_section "$DOCS" "## Cost as the data grows" "$RUN"
    log "appended to $DOCS"
fi
