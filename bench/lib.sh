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
    stop_postgres
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

# ---- nginx, as origin and as proxies ----------------------------------------------------------

# Starts nginx named $1 on the CPUs $2 with the http {} body $3.
start_nginx() {
    local name=$1 cpus=$2 body=$3 dir=$WORK/nginx-$1
    mkdir -p "$dir"
    local user=""
    [[ $(id -u) == 0 ]] && user="user root;"
    cat >"$dir/nginx.conf" <<EOF
$user
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    $body
}
EOF
    start "nginx-$name" taskset -c "$cpus" nginx -p "$dir" -c "$dir/nginx.conf"
}

# ---- wrk -------------------------------------------------------------------------------------

# Runs wrk against $2 with the token $3: a warm-up, then $ROUNDS runs; leaves RPS, P50, P99 of the
# best run set and its output in $WORK/$1.best.wrk. Any non-2xx answer or socket error is fatal.
measure() {
    local name=$1 url=$2 token=$3 round out best_rps=0
    local wrk=(env BENCH_SESSION="$token" taskset -c "$LOAD_CPUS" wrk -t1 -c"$CONNECTIONS"
        --latency -s "$ROOT/bench/session.lua" "$url")
    log "$name: warm-up $WARMUP"
    "${wrk[@]}" -d"$WARMUP" >"$WORK/$name.warmup.wrk"
    for round in $(seq "$ROUNDS"); do
        out=$WORK/$name.$round.wrk
        "${wrk[@]}" -d"$DURATION" >"$out"
        grep -Eq 'Non-2xx|Socket errors' "$out" && die "$name: errors in run $round: $(cat "$out")"
        local rps
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
        log "$name: run $round: $rps requests/s"
        if python3 -c "import sys; sys.exit(0 if $rps > $best_rps else 1)"; then
            best_rps=$rps
            cp "$out" "$WORK/$name.best.wrk"
        fi
    done
    RPS=$best_rps
    P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/$name.best.wrk")")
    P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$WORK/$name.best.wrk")")
}

# ---- PostgreSQL and Redis for the gateway ------------------------------------------------------

# Set by start_postgres_and_redis: how to stop that PostgreSQL (cleanup does it first).
PG_STOP=()
stop_postgres() {
    if (( ${#PG_STOP[@]} )); then
        as_pg "${PG_STOP[@]}" >/dev/null 2>&1 || true
    fi
    PG_STOP=()
}

# PostgreSQL refuses to run as root; it runs as the postgres user then.
as_pg() {
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts PostgreSQL and Redis on CPU 1; sets BENCH_STORAGE_EXTRA and BENCH_GATEWAY_EXTRA for
# start_bench_gateway, and PG_URL and REDIS_PORT.
start_postgres_and_redis() {
    local pg=${PG_BIN:-$(compgen -G "/usr/lib/postgresql/*/bin" | sort -V | tail -1 || true)}
    [[ -x $pg/pg_ctl ]] || die "no PostgreSQL server binaries (set PG_BIN)"
    local pg_port
    pg_port=$(free_port)
    REDIS_PORT=$(free_port)
    PG_URL="postgres://postgres@127.0.0.1:$pg_port/auth"
    mkdir -p "$WORK/pg"
    if [[ $(id -u) == 0 ]]; then
        chmod 755 "$WORK"
        chown postgres "$WORK/pg"
    fi
    as_pg "$pg/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --locale=C >"$WORK/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -5 "$WORK/initdb.log")"
    as_pg taskset -c 1 "$pg/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w -t 30 \
        -o "-p $pg_port -h 127.0.0.1 -k $WORK/pg" start >/dev/null
    PG_STOP=("$pg/pg_ctl" -D "$WORK/pg" -m fast -w -t 30 stop)
    "$pg/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres auth
    start redis taskset -c 1 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
        --appendonly no --dir "$WORK"
    for _ in $(seq 50); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
        sleep 0.1
    done
    export BENCH_STORAGE_EXTRA="backend = \"postgres\"
[storage.postgres]
url = \"$PG_URL\""
    export BENCH_GATEWAY_EXTRA="[redis]
url = \"redis://127.0.0.1:$REDIS_PORT\""
}

# ---- the report ------------------------------------------------------------------------------

# Adds the run $3 (markdown) to file $1 at the end of its section titled $2 (a "## " line), so
# runs stay beside their section's explanation; a missing section is added at the end.
append_to_section() {
    python3 - "$1" "$2" "$3" <<'PY'
import pathlib, sys
path, title, run = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3].strip("\n")
lines = path.read_text().split("\n") if path.exists() else ["# Benchmarks", ""]
if title not in lines:
    while lines and lines[-1] == "":
        lines.pop()
    lines += ["", title, ""]
start = lines.index(title)
end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
while end > start + 1 and lines[end - 1] == "":
    end -= 1
lines[end:end] = ["", run]
path.write_text("\n".join(lines).rstrip("\n") + "\n")
PY
}

# The stores a bench names: "embedded" (the default mode) or "postgres" (PostgreSQL and Redis
# started here, on CPU 1).
use_store() {
    case $1 in
        embedded) unset BENCH_STORAGE_EXTRA BENCH_GATEWAY_EXTRA ;;
        postgres) start_postgres_and_redis ;;
        *) die "unknown store $1 (embedded or postgres)" ;;
    esac
}

# Raises every login budget so far that a bench of logins is never refused (still checked).
raise_login_limits() {
    export BENCH_RATE_LIMITS_EXTRA="challenge_per_minute = 100000000
scan_per_minute = 100000000
pin_per_minute = 100000000
poll_per_minute = 100000000
login_per_minute = 100000000
register_per_minute = 100000000
service_key_per_minute = 100000000"
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
# [rate_limits] and BENCH_GATEWAY_EXTRA whole sections (e.g. [redis]); BENCH_STORAGE_EXTRA adds
# lines to [storage] (e.g. backend = "postgres" and its [storage.postgres] table).
start_bench_gateway() {
    local bin=$1 port=$2 upstream=$3 threads=$4
    shift 4
    DATA=$WORK/data
    CONFIG=$WORK/gateway.toml
    local storage=${BENCH_STORAGE_EXTRA:-'backend = "embedded"'}
    cat >"$CONFIG" <<EOF
[gateway]
listen = "127.0.0.1:$port"
public_url = "http://127.0.0.1:$port"
threads = $threads

[storage]
data_dir = "$DATA"
$storage

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
