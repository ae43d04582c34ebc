#!/usr/bin/env bash
# Instructions per proxied request, counted by valgrind's callgrind: the gateway (every request
# carrying a live ServiceB session) and the bare Pingora passthrough, each with one worker thread in
# front of the same ServiceB. Unlike requests per second, an instruction count does not depend on
# what else the machine runs, so two builds (before and after a change) can be compared on a busy
# machine. Prints both counts and their ratio; writes nothing.
#
#   bench/instructions.sh                       # the release binaries of this checkout
#   BENCH_BIN=/other/checkout/target/release bench/instructions.sh
#
# Options, all by environment variable:
#   BENCH_BIN=target/release   where auth-gateway, service-b and bare-proxy are
#   BENCH_REQUESTS=2000        requests counted, sent one after another on one keep-alive connection
#   BENCH_KEEP=0               1: keep the temp dir (config, data, logs, callgrind dumps)
#
# The count covers everything the process executes while the requests run, timers included; the
# same span measured idle afterwards is printed beside it and subtracted. Calls into the
# allocator are counted from the same dumps. The machine needs
# valgrind, python3 and curl.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BENCH_BIN:-$ROOT/target/release}
REQUESTS=${BENCH_REQUESTS:-2000}
KEEP=${BENCH_KEEP:-0}
BENCH_NAME=instructions
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for tool in valgrind callgrind_control python3 curl; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y valgrind)"
done
for binary in auth-gateway service-b bare-proxy; do
    [[ -x $BIN/$binary ]] || die "$BIN/$binary is missing: cargo build --release -p auth-gateway -p auth-examples"
done

# Callgrind, with counting off until the requests start (start-up, the API calls that make the
# session and the warm-up are not counted).
CALLGRIND=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/%q{BENCH_RUN}.callgrind")

# Sends $2 requests to URL $1 one after another on one connection; fails on any answer but 200.
send() {
    python3 - "$1" "$2" <<'EOF'
import http.client, os, sys, urllib.parse
url, count = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
headers = {"Host": "service-b.localhost", "Authorization": f"Bearer {os.environ['BENCH_SESSION']}"}
for _ in range(count):
    conn.request("GET", "/", headers=headers)
    answer = conn.getresponse()
    answer.read()
    if answer.status != 200:
        sys.exit(f"answer {answer.status}, not 200")
EOF
}

# The instruction total of the newest callgrind dump of run $1.
dumped_total() {
    local dump
    dump=$(ls -t "$WORK/$1.callgrind"* | head -1)
    awk '/^(summary|totals):/ { print $2; exit }' "$dump"
}

# Calls into the allocator (allocations and reallocations, through Rust's allocator entry points,
# whichever allocator is behind them) in the newest dump of run $1.
dumped_allocations() {
    local dump
    dump=$(ls -t "$WORK/$1.callgrind"* | head -1)
    python3 - "$dump" <<'EOF2'
import re, sys
wanted = {"__rustc::__rust_alloc", "__rustc::__rust_alloc_zeroed", "__rustc::__rust_realloc"}
names, current, total = {}, None, 0
for line in open(sys.argv[1], errors="replace"):
    # Names are numbered once, where first seen, in a `fn=` or a `cfn=` line.
    named = re.match(r"(c?)fn=\((\d+)\)(?: (.*))?", line)
    if named:
        if named.group(3):
            names[named.group(2)] = named.group(3).strip()
        if named.group(1):
            current = names.get(named.group(2))
        continue
    calls = re.match(r"calls=(\d+)", line)
    if calls and current in wanted:
        total += int(calls.group(1))
        current = None
print(total)
EOF2
}

# Counts run $1 (a label) of the process $2 answering at URL $3: REQUESTS requests, then the same
# span idle. Leaves BUSY, IDLE and PER_REQUEST set.
count() {
    local run=$1 pid=$2 url=$3 started elapsed
    send "$url" 200 # warm-up: connections, caches, the JWKS fetch of ServiceB
    callgrind_control -i on "$pid" >/dev/null
    callgrind_control -z "$pid" >/dev/null
    started=$(date +%s.%N)
    send "$url" "$REQUESTS"
    elapsed=$(python3 -c "import time; print(time.time() - $started)")
    callgrind_control -d "$pid" >/dev/null
    BUSY=$(dumped_total "$run")
    BUSY_ALLOCS=$(dumped_allocations "$run")
    callgrind_control -z "$pid" >/dev/null
    sleep "$elapsed"
    callgrind_control -d "$pid" >/dev/null
    IDLE=$(dumped_total "$run")
    IDLE_ALLOCS=$(dumped_allocations "$run")
    ALLOCS_PER_REQUEST=$(python3 -c "print(f'{($BUSY_ALLOCS - $IDLE_ALLOCS) / $REQUESTS:.1f}')")
    PER_REQUEST=$(((BUSY - IDLE) / REQUESTS))
    log "$run: $BUSY instructions for $REQUESTS requests in ${elapsed%.*} s, $IDLE idle in as long: $PER_REQUEST per request"
}

UPSTREAM_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
BARE_PORT=$(free_port)
start service-b env PORT="$UPSTREAM_PORT" GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT" RUST_LOG=warn \
    "$BIN/service-b"
wait_for service-b "http://127.0.0.1:$UPSTREAM_PORT/"

export BENCH_RUN=gateway
start_bench_gateway "$BIN" "$GATEWAY_PORT" "$UPSTREAM_PORT" 1 "${CALLGRIND[@]}"
count gateway "$GATEWAY_PID" "http://127.0.0.1:$GATEWAY_PORT/"
G_BUSY=$BUSY G_IDLE=$IDLE G_PER=$PER_REQUEST G_ALLOCS=$ALLOCS_PER_REQUEST
forget "$GATEWAY_PID"

export BENCH_RUN=bare
start bare-proxy "${CALLGRIND[@]}" "$BIN/bare-proxy" --listen "127.0.0.1:$BARE_PORT" \
    --upstream "127.0.0.1:$UPSTREAM_PORT" --threads 1
BARE_PID=$STARTED
wait_for bare-proxy "http://127.0.0.1:$BARE_PORT/"
count bare "$BARE_PID" "http://127.0.0.1:$BARE_PORT/"
B_BUSY=$BUSY B_IDLE=$IDLE B_PER=$PER_REQUEST B_ALLOCS=$ALLOCS_PER_REQUEST
forget "$BARE_PID"

printf '\n| | instructions, %s requests | idle in as long | per request | allocations per request |\n' "$REQUESTS"
printf '| --- | ---: | ---: | ---: | ---: |\n'
printf '| gateway | %s | %s | %s | %s |\n' "$G_BUSY" "$G_IDLE" "$G_PER" "$G_ALLOCS"
printf '| bare Pingora | %s | %s | %s | %s |\n' "$B_BUSY" "$B_IDLE" "$B_PER" "$B_ALLOCS"
printf '\nGateway / bare Pingora, instructions per request: %s (binaries: %s)\n' \
    "$(python3 -c "print(f'{$G_PER / $B_PER:.2f}')")" "$BIN"
