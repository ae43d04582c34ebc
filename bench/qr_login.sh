#!/usr/bin/env bash
# The QR login's own latency: each step (generate, scan, PIN verify) timed from a client that
# keeps its connections open (bench/qr_steps.py), over BENCH_LOGINS logins one after another, on
# the embedded store and on PostgreSQL + Redis. The gateway, and PostgreSQL and Redis where used,
# run on CPU 1 and the client on CPU 0. Argon2 is not on this path: the phone's password login is
# made once, before the timing. Prints a table and appends it to docs/BENCHMARKS.md.
#
#   bench/qr_login.sh                       # needs release binaries (built unless BENCH_BUILD=0)
#
# Options, by environment variable: BENCH_LOGINS=1000, BENCH_STORES="embedded postgres",
# BENCH_BUILD=1, BENCH_BIN, BENCH_DOCS (empty: write nothing), BENCH_KEEP=0, PG_BIN (directory of
# initdb and pg_ctl; default the newest /usr/lib/postgresql/*/bin).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOGINS=${BENCH_LOGINS:-1000}
STORES=${BENCH_STORES:-embedded postgres}
BUILD=${BENCH_BUILD:-1}
BIN=${BENCH_BIN:-$ROOT/target/release}
DOCS=${BENCH_DOCS-$ROOT/docs/BENCHMARKS.md}
KEEP=${BENCH_KEEP:-0}
BENCH_NAME=qr-login

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

cd "$ROOT"
if [[ $BUILD == 1 ]]; then
    log "building release binaries"
    cargo build --release -p auth-gateway >&2
fi
[[ -x $BIN/auth-gateway ]] || die "$BIN/auth-gateway is missing: cargo build --release -p auth-gateway"

raise_login_limits

ROWS=()
for store in $STORES; do
    use_store "$store"
    port=$(free_port)
    start_bench_gateway "$BIN" "$port" "$(free_port)" 1 taskset -c 1
    log "$store: $LOGINS QR logins"
    taskset -c 0 python3 "$ROOT/bench/qr_steps.py" --gateway "http://127.0.0.1:$port" \
        --config "$CONFIG" --data-dir "$DATA" --gateway-bin "$BIN/auth-gateway" \
        --logins "$LOGINS" >"$WORK/$store.json"
    forget "$GATEWAY_PID"
    label=$([[ $store == embedded ]] && echo "embedded" || echo "PostgreSQL + Redis")
    ROWS+=("$(python3 - "$WORK/$store.json" "$label" <<'PY'
import json, sys
result, label = json.load(open(sys.argv[1])), sys.argv[2]
cells = lambda part: " | ".join(
    f"{part[s]['p50']:.2f} / {part[s]['p99']:.2f}" for s in ("generate", "scan", "verify", "login"))
print(f"| {label}, all {result['logins']} | {cells(result['all'])} |")
print(f"| {label}, last 100 | {cells(result['last_100'])} |")
PY
)")
    rm -rf "$DATA"
done

TABLE=$(
    printf '| store, logins | generate | scan | PIN verify | whole login |\n'
    printf '| --- | ---: | ---: | ---: | ---: |\n'
    printf '%s\n' "${ROWS[@]}"
)
printf '\np50 / p99 in ms:\n\n%s\n' "$TABLE"

if [[ -n $DOCS ]]; then
    RUN=$(
        printf '### %s, commit %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(git rev-parse --short HEAD)"
        printf -- '- %s logins one after another; p50 / p99 in ms from a client keeping its connections open; gateway (and PostgreSQL, Redis) on CPU 1, client on CPU 0; %s CPUs, `%s`.\n\n' \
            "$LOGINS" "$(nproc)" "$(uname -srm)"
        printf '%s\n' "$TABLE"
    )
    append_to_section "$DOCS" "## QR login steps" "$RUN"
    log "appended to $DOCS"
fi
