#!/usr/bin/env bash
# Runs the gateway on the embedded default (one SQLite file under ./data, no Redis) with ServiceB
# and AppC behind it. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-prerequisites.sh build
cargo build --bins -p auth-gateway -p auth-examples

bin=target/debug
pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_all EXIT INT TERM

PORT=8081 "$bin/service-b" & pids+=($!)
PORT=8082 "$bin/app-c" & pids+=($!)
"$bin/auth-gateway" "$@" & pids+=($!)

wait "${pids[2]}"
