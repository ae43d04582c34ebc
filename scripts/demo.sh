#!/usr/bin/env bash
# Runs the gateway on the embedded default (one SQLite file under ./data, no Redis) with ServiceB
# and AppC behind it, and ServiceD (http://service-d.localhost:8083), which runs its own login page
# against the gateway's API. Ctrl-C stops all four. Arguments go to the gateway (e.g. --config FILE).
#
# ServiceD needs an API key at start: the demo makes a new one for it each run with
# `auth-gateway services rotate-key service-d` (before the gateway starts, on the same database) and
# hands it over in SERVICE_D_API_KEY; the previous run's key stops working.
#
# The default schedule is open Monday to Friday, 09:00-17:00 UTC; outside those hours services and
# logins answer "closed". ALWAYS_OPEN=1 ./scripts/demo.sh opens it around the clock for trying out.
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

if [ "${ALWAYS_OPEN:-0}" = "1" ]; then
    export AUTH_SCHEDULE__DAYS='["mon","tue","wed","thu","fri","sat","sun"]'
    export AUTH_SCHEDULE__OPEN=00:00 AUTH_SCHEDULE__CLOSE=24:00
fi

PORT=8081 "$bin/service-b" & pids+=($!)
PORT=8082 "$bin/app-c" & pids+=($!)
if service_d_key=$("$bin/auth-gateway" "$@" services rotate-key service-d 2>/dev/null); then
    SERVICE_D_API_KEY="$service_d_key" PORT=8083 "$bin/service-d" & pids+=($!)
else
    echo "demo: the configuration has no service-d, so ServiceD is not started" >&2
fi
"$bin/auth-gateway" "$@" & gateway=$!
pids+=("$gateway")

# Started outside the hours, every page would only say "Closed": say why, and how to try it now.
if [ "${ALWAYS_OPEN:-0}" != "1" ]; then
    status=""
    for _ in $(seq 1 100); do
        status=$(curl -fsS --max-time 2 http://127.0.0.1:8080/api/system/status 2>/dev/null) && break
        sleep 0.2
    done
    case "$status" in
    *'"status":"closed"'*)
        opens=$(printf '%s' "$status" | sed -n 's/.*"opens_at":"\([^"]*\)".*/\1/p')
        echo >&2
        echo "demo: the system is CLOSED now: it is outside the operating hours (by default" >&2
        echo "demo: Monday to Friday, 09:00-17:00 UTC), so every service page says \"Closed\"." >&2
        echo "demo: it opens at ${opens:-no time yet (nothing scheduled)}." >&2
        echo "demo: to try it now, stop this (Ctrl-C) and run: ALWAYS_OPEN=1 ./scripts/demo.sh" >&2
        echo >&2
        ;;
    esac
fi

wait "$gateway"
