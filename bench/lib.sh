# What the gateway benches share: process bookkeeping (every process started is stopped on exit,
# error or Ctrl-C), free ports, waiting for a server, and the gateway under test with a live
# ServiceB session. Sourced by bench/gateway.sh and bench/instructions.sh after they set ROOT and
# KEEP (1: keep the temp dir).

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ---- processes: every one started is remembered, and stopped on exit, error or Ctrl-C ----------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-${BENCH_NAME:-gateway}.XXXXXX")
PIDS=()

# Whether our child $1 still runs (an exited child stays a zombie until waited for).
running() {
    [[ -r /proc/$1/stat ]] && [[ $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) != Z ]]
}

stop() {
    local pid=$1
    if running "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        # Pingora stops gracefully on SIGTERM (1 s grace, then at most 5 s for open connections).
        for _ in $(seq 50); do
            running "$pid" || break
            sleep 0.2
        done
        running "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        stop "$pid"
    done
    PIDS=()
    if [[ $KEEP == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in the background with its output in $WORK/<name>.log; sets STARTED to its pid.
start() {
    local name=$1
    shift
    "$@" >"$WORK/$name.log" 2>&1 &
    STARTED=$!
    PIDS+=("$STARTED")
}

forget() {
    local pid=$1 kept=() p
    stop "$pid"
    for p in "${PIDS[@]}"; do
        [[ $p == "$pid" ]] || kept+=("$p")
    done
    PIDS=("${kept[@]}")
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until URL $2 answers at all (any status: ServiceB refuses requests without a token), or
# dies naming $1 (a label) and its log.
wait_for() {
    local label=$1 url=$2
    for _ in $(seq 150); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null) != 000 ]] && return 0
        sleep 0.2
    done
    die "$label did not come up; see $WORK/$label.log: $(tail -5 "$WORK/$label.log")"
}

# wrk's latency value (e.g. 812.00us, 1.23ms, 1.01s) in milliseconds.
to_ms() {
    python3 - "$1" <<'PY'
import re, sys
number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", sys.argv[1]).groups()
print(f"{float(number) * {'us': 0.001, 'ms': 1, 's': 1000, 'm': 60000}[unit]:.2f}")
PY
}

# ---- the gateway under test ---------------------------------------------------------------------

# Starts the gateway binary of directory $1 on port $2 in front of ServiceB on port $3 with $4
# worker threads, the rest of the arguments prefixed to its command (taskset, valgrind), then makes
# a ServiceB session through its API. Leaves GATEWAY_PID, CONFIG, DATA and BENCH_SESSION (exported)
# set.
#
# Embedded store in the temp dir, always open, and service rate limits so high that they never
# throttle the benchmark (they are still checked on every request). Everything else is the shipped
# default, including the access log line per request. BENCH_RATE_LIMITS_EXTRA adds lines to
# [rate_limits] and BENCH_GATEWAY_EXTRA whole sections (e.g. [redis]).
start_bench_gateway() {
    local bin=$1 port=$2 upstream=$3 threads=$4
    shift 4
    DATA=$WORK/data
    CONFIG=$WORK/gateway.toml
    cat >"$CONFIG" <<EOF
[gateway]
listen = "127.0.0.1:$port"
public_url = "http://127.0.0.1:$port"
threads = $threads

[storage]
backend = "embedded"
data_dir = "$DATA"

[schedule]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
open = "00:00"
close = "24:00"

[rate_limits]
service_per_minute_per_session = 100000000
service_per_minute_per_ip = 100000000
${BENCH_RATE_LIMITS_EXTRA:-}

[[services]]
slug = "service-b"
name = "ServiceB"
hosts = ["service-b.localhost"]
path_prefix = "/service-b"
upstreams = ["127.0.0.1:$upstream"]

${BENCH_GATEWAY_EXTRA:-}
EOF
    # RUST_LOG=info is the shipped default (one access log line per request), whatever the caller's;
    # BENCH_GATEWAY_LOG=warn measures the gateway without its access log.
    start gateway env RUST_LOG="${BENCH_GATEWAY_LOG:-info}" "$@" "$bin/auth-gateway" --config "$CONFIG" serve
    GATEWAY_PID=$STARTED
    wait_for gateway "http://127.0.0.1:$port/health"

    log "making a ServiceB session"
    BENCH_SESSION=$(python3 "$ROOT/bench/make_session.py" --gateway "http://127.0.0.1:$port" \
        --config "$CONFIG" --data-dir "$DATA" --gateway-bin "$bin/auth-gateway")
    export BENCH_SESSION
}
