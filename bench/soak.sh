#!/usr/bin/env bash
# A soak with faults: three gateways on one PostgreSQL and one Redis, a bounded mixed load from
# bench/soak_load.py (registrations, verifications, approvals, password logins, QR + PIN logins,
# service traffic with live sessions, API calls, personal access tokens, revocations), while a
# fault schedule restarts Redis, restarts PostgreSQL, kills one gateway (SIGKILL) and starts it
# again, and pauses Redis for 5 s (SIGSTOP, SIGCONT). Then the load script checks what was
# acknowledged and prints the figures:
#
#   - every acknowledged account exists and logs in;
#   - every acknowledged credential that was not revoked still works;
#   - no revoked credential is accepted more than 100 ms after its revocation was acknowledged;
#   - every answer other than the expected one is a 503 with Retry-After inside a fault window
#     (+2 s), and only the gateway that was down left requests unanswered.
#
# Exits non-zero when a check fails.
#
#   bench/soak.sh [SECONDS]        # default 600; .ci/run runs 60
#
# Options, by environment variable:
#   SOAK_WORKERS=6         load threads
#   SOAK_RATE=25           operations per second at most (an operation is one to four requests)
#   SOAK_BUILD=1           0: use target/debug as it is
#   SOAK_SUMMARY=FILE      also copy the figures (JSON) there
#   SOAK_KEEP=0            1: keep the temp dir (configs, logs, data)
#
# Durable settings, as production runs them: PostgreSQL with its defaults (fsync, synchronous
# commit), Redis with an append-only file fsynced on every write, so a restart loses nothing that
# was acknowledged. The machine needs the PostgreSQL server binaries (PG_BIN or
# /usr/lib/postgresql/*/bin), redis-server, redis-cli, curl and python3
# (scripts/install-prerequisites.sh test installs them).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${1:-600}
WORKERS=${SOAK_WORKERS:-6}
RATE=${SOAK_RATE:-25}
BUILD=${SOAK_BUILD:-1}
SUMMARY=${SOAK_SUMMARY:-}
KEEP=${SOAK_KEEP:-0}
BIN=$ROOT/target/debug
ADMIN=soak-admin
# bench/soak_load.py logs in with the same.
ADMIN_PASSWORD="quiet meadow lantern 42"

log() { printf 'soak: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
now() { date +%s.%N; }

[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 30)) || die "the duration is whole seconds, at least 30"
for tool in python3 curl redis-server redis-cli; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-prerequisites.sh test)"
done
if [[ -n ${PG_BIN:-} ]]; then
    PG=$PG_BIN
else
    PG=$(compgen -G "/usr/lib/postgresql/*/bin" | sort -V | tail -1 || true)
fi
[[ -x $PG/pg_ctl ]] || die "no PostgreSQL server binaries (set PG_BIN)"

cd "$ROOT"
if [[ $BUILD == 1 ]]; then
    # The build scripts/test.sh makes, so CI builds nothing again; the test clock stays off
    # unless GATEWAY_TEST_CLOCK is set, which nothing here does.
    log "building the gateway and ServiceB"
    cargo build --workspace --bins --features auth-gateway/test-clock >&2
fi
for binary in auth-gateway service-b; do
    [[ -x $BIN/$binary ]] || die "$BIN/$binary is missing: cargo build --workspace --bins"
done

# ---- processes: every one started is stopped on exit, error or Ctrl-C ---------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")
chmod 755 "$WORK"
declare -A PID=()

running() {
    [[ -n ${1:-} && -r /proc/$1/stat ]] &&
        [[ $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) != Z ]]
}

stop_pid() {
    local pid=$1 signal=${2:-TERM}
    if running "$pid"; then
        kill -CONT "$pid" 2>/dev/null || true
        kill "-$signal" "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            running "$pid" || break
            sleep 0.2
        done
        running "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null || true
}

# PostgreSQL runs as the postgres user when this script runs as root (it refuses root).
as_pg() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cleanup() {
    local name
    for name in "${!PID[@]}"; do
        stop_pid "${PID[$name]}"
    done
    [[ -f $WORK/pg/PG_VERSION ]] && as_pg "$PG/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
    if [[ $KEEP == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until $2 (a command) succeeds, for at most 30 s, or dies naming $1.
wait_for() {
    local label=$1
    shift
    for _ in $(seq 300); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "$label did not come up: see $WORK/$label.log"
}

healthy() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/health") == 200 ]]; }

# ---- PostgreSQL and Redis -----------------------------------------------------------------------

PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
mkdir -p "$WORK/pg" "$WORK/redis"
[[ $(id -u) == 0 ]] && chown postgres "$WORK/pg"
as_pg "$PG/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --locale=C >"$WORK/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -5 "$WORK/initdb.log")"

pg_start() {
    as_pg "$PG/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w -t 30 \
        -o "-p $PG_PORT -h 127.0.0.1 -k $WORK/pg -c max_connections=200" start >/dev/null
}
pg_stop() { as_pg "$PG/pg_ctl" -D "$WORK/pg" -m fast -w -t 30 stop >/dev/null; }
pg_ready() { "$PG/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

redis_ready() { [[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
redis_start() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode no --dir "$WORK/redis" \
        --appendonly yes --appendfsync always --save "" >>"$WORK/redis.log" 2>&1 &
    PID[redis]=$!
    wait_for redis redis_ready
}

pg_start
"$PG/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres auth
redis_start

# ---- ServiceB and three gateways ----------------------------------------------------------------

PORTS=("$(free_port)" "$(free_port)" "$(free_port)")
UPSTREAM_PORT=$(free_port)
MASTER_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
# Long enough that nothing made during the load expires before the checks.
TTL=$((DURATION + 3600))

config() {
    local n=$1 port=${PORTS[$1]}
    mkdir -p "$WORK/gw$n"
    cat >"$WORK/gw$n/gateway.toml" <<EOF
[gateway]
listen = "127.0.0.1:$port"
public_url = "http://127.0.0.1:$port"

[storage]
backend = "postgres"
data_dir = "$WORK/gw$n/data"

[storage.postgres]
url = "postgres://postgres@127.0.0.1:$PG_PORT/auth"
connect_timeout_secs = 1
acquire_timeout_secs = 2

[redis]
url = "redis://127.0.0.1:$REDIS_PORT"

[keys]
master_key = "$MASTER_KEY"

[mail]
outbox_dir = "$WORK/outbox"

[tokens]
access_ttl_secs = $TTL

[sessions]
service_ttl_secs = $TTL

[schedule]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
open = "00:00"
close = "24:00"

# The load comes from one address: no budget may throttle it (each is still checked).
[rate_limits]
shared = true
login_per_minute = 1000000
register_per_minute = 1000000
pin_per_minute = 1000000
scan_per_minute = 1000000
challenge_per_minute = 1000000
poll_per_minute = 1000000
service_key_per_minute = 1000000
service_per_minute_per_session = 1000000
service_per_minute_per_ip = 1000000

[[services]]
slug = "service-b"
name = "ServiceB"
hosts = ["service-b.localhost"]
upstreams = ["127.0.0.1:$UPSTREAM_PORT"]
EOF
}

gateway_start() {
    local n=$1
    RUST_LOG=warn "$BIN/auth-gateway" --config "$WORK/gw$n/gateway.toml" serve \
        >>"$WORK/gw$n.log" 2>&1 &
    PID[gw$n]=$!
    wait_for "gw$n" healthy "${PORTS[$n]}"
}

for n in 0 1 2; do
    config "$n"
done
# ServiceB checks the identity assertion with the keys of the first gateway, never stopped.
PORT=$UPSTREAM_PORT GATEWAY_URL="http://127.0.0.1:${PORTS[0]}" RUST_LOG=warn "$BIN/service-b" \
    >"$WORK/service-b.log" 2>&1 &
PID[service_b]=$!
# One gateway first, so the others find the migrations done.
gateway_start 0
gateway_start 1
gateway_start 2
printf '%s\n' "$ADMIN_PASSWORD" |
    "$BIN/auth-gateway" --config "$WORK/gw0/gateway.toml" create-admin \
        --username "$ADMIN" --email "$ADMIN@example.com" --role admin >"$WORK/create-admin.log" 2>&1 ||
    die "create-admin failed: $(cat "$WORK/create-admin.log")"

# ---- the load, and the faults while it runs -----------------------------------------------------

FAULTS=$WORK/faults.jsonl
: >"$FAULTS"
python3 "$ROOT/bench/soak_load.py" --ports "$(IFS=,; echo "${PORTS[*]}")" --admin "$ADMIN" \
    --outbox "$WORK/outbox" --faults "$FAULTS" --faults-done "$WORK/faults.done" \
    --started "$WORK/load.started" --summary "$WORK/summary.json" \
    --duration "$DURATION" --workers "$WORKERS" --rate "$RATE" &
PID[load]=$!
for _ in $(seq 600); do
    [[ -f $WORK/load.started ]] && break
    running "${PID[load]}" || die "the load script stopped before it started"
    sleep 0.1
done
[[ -f $WORK/load.started ]] || die "the load did not start"
STARTED=$(cat "$WORK/load.started")

# Sleeps until $1 (a share of the duration, in %) of the load has passed.
at() {
    local wait
    wait=$(python3 -c "import time; print(max(0, $STARTED + $DURATION * $1 / 100 - time.time()))")
    sleep "$wait"
}

# One line of $FAULTS: the fault $1, from $2 to now, and more JSON fields in $3.
fault_done() {
    printf '{"fault": "%s", "start": %s, "end": %s%s}\n' "$1" "$2" "$(now)" "${3:-}" >>"$FAULTS"
    log "fault $1: over"
}

at 10
log "fault redis-restart"
start=$(now)
stop_pid "${PID[redis]}"
redis_start
fault_done redis-restart "$start"

at 30
log "fault postgres-restart"
start=$(now)
pg_stop
pg_start
wait_for postgres pg_ready
fault_done postgres-restart "$start"

at 50
log "fault gateway-kill (the third gateway)"
start=$(now)
kill -KILL "${PID[gw2]}"
wait "${PID[gw2]}" 2>/dev/null || true
sleep 3
gateway_start 2
fault_done gateway-kill "$start" ", \"port\": ${PORTS[2]}"

at 70
log "fault redis-pause (5 s)"
start=$(now)
kill -STOP "${PID[redis]}"
sleep 5
kill -CONT "${PID[redis]}"
wait_for redis redis_ready
fault_done redis-pause "$start"

touch "$WORK/faults.done"
status=0
wait "${PID[load]}" || status=$?
unset 'PID[load]'
if [[ -n $SUMMARY && -f $WORK/summary.json ]]; then
    cp "$WORK/summary.json" "$SUMMARY"
fi
if ((status != 0)); then
    SOAK_KEEP=1 KEEP=1
    log "the soak failed; its logs are in $WORK"
fi
exit "$status"
