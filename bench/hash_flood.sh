#!/usr/bin/env bash
# Whether password hashing can starve the proxy: service traffic through the gateway (a live
# ServiceB session, wrk with 1 thread and 32 connections) alone, then beside a flood of 16 clients
# sending wrong passwords for unknown accounts as fast as they are answered (login limits raised,
# so every attempt costs an Argon2 verification). The whole gateway is pinned to CPU 1, wrk, the
# flood and ServiceB to CPU 0. Prints both runs, the ratio of rates and of p99s, and how the flood
# was answered (401 when hashed, 503 when the hashing queue was full); writes nothing.
#
#   bench/hash_flood.sh
#   BENCH_BIN=/other/checkout/target/release bench/hash_flood.sh
#
# Options, by environment variable: BENCH_DURATION=10s, BENCH_FLOODERS=16, BENCH_BIN, BENCH_KEEP=0.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BENCH_BIN:-$ROOT/target/release}
DURATION=${BENCH_DURATION:-10s}
FLOODERS=${BENCH_FLOODERS:-16}
KEEP=${BENCH_KEEP:-0}
BENCH_NAME=hash-flood
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for tool in python3 curl taskset wrk; do
    command -v "$tool" >/dev/null || die "$tool is missing: scripts/install-prerequisites.sh bench"
done
for binary in auth-gateway service-b; do
    [[ -x $BIN/$binary ]] || die "$BIN/$binary is missing: cargo build --release -p auth-gateway -p auth-examples"
done

UPSTREAM_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
start service-b taskset -c 0 env PORT="$UPSTREAM_PORT" GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT" \
    RUST_LOG=warn "$BIN/service-b"
wait_for service-b "http://127.0.0.1:$UPSTREAM_PORT/"
export BENCH_RATE_LIMITS_EXTRA="login_per_minute = 100000000"
start_bench_gateway "$BIN" "$GATEWAY_PORT" "$UPSTREAM_PORT" 1 taskset -c 1
URL="http://127.0.0.1:$GATEWAY_PORT/"

# Runs wrk for DURATION; prints "requests/s p99-ms".
traffic() {
    local out=$WORK/wrk.$1
    env BENCH_SESSION="$BENCH_SESSION" taskset -c 0 wrk -t1 -c32 -d"$DURATION" --latency \
        -s "$ROOT/bench/session.lua" "$URL" >"$out"
    grep -Eq 'Non-2xx|Socket errors' "$out" && die "errors in the service traffic: $(cat "$out")"
    echo "$(awk '/^Requests\/sec:/ { print $2 }' "$out") $(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
}

traffic warmup >/dev/null
read -r ALONE_RPS ALONE_P99 <<<"$(traffic alone)"
log "alone: $ALONE_RPS requests/s, p99 $ALONE_P99 ms"

taskset -c 0 python3 - "$GATEWAY_PORT" "$FLOODERS" >"$WORK/flood.out" 2>&1 <<'PY' &
import collections, http.client, json, secrets, sys, threading, time
port, flooders = int(sys.argv[1]), int(sys.argv[2])
answers, lock, stop = collections.Counter(), threading.Lock(), time.time() + 3600
def flood():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < stop:
        body = json.dumps({"login": "nobody-" + secrets.token_hex(6), "password": "wrong horse battery"})
        try:
            conn.request("POST", "/api/auth/login", body, {"Content-Type": "application/json"})
            status = conn.getresponse()
            status.read()
            with lock:
                answers[status.status] += 1
        except Exception:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                answers["error"] += 1
def report(*_):
    print(json.dumps(dict(answers)), flush=True)
    sys.exit(0)
import signal
signal.signal(signal.SIGTERM, report)
for _ in range(flooders):
    threading.Thread(target=flood, daemon=True).start()
while True:
    time.sleep(0.2)
PY
FLOOD_PID=$!
sleep 2
read -r FLOOD_RPS FLOOD_P99 <<<"$(traffic flood)"
kill -TERM "$FLOOD_PID"
wait "$FLOOD_PID" || true
log "beside the flood: $FLOOD_RPS requests/s, p99 $FLOOD_P99 ms"

printf '\n| service traffic | requests/s | p99 |\n| --- | ---: | ---: |\n'
printf '| alone | %s | %s ms |\n' "$ALONE_RPS" "$ALONE_P99"
printf '| beside %s clients sending wrong passwords | %s | %s ms |\n' "$FLOODERS" "$FLOOD_RPS" "$FLOOD_P99"
printf '\nRate kept: %s (goal >= 0.7); p99 grew %sx (goal <= 2); the flood was answered: %s (binaries: %s)\n' \
    "$(python3 -c "print(f'{$FLOOD_RPS / $ALONE_RPS:.2f}')")" \
    "$(python3 -c "print(f'{$FLOOD_P99 / $ALONE_P99:.2f}')")" "$(tail -1 "$WORK/flood.out")" "$BIN"
