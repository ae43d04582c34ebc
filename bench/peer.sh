#!/usr/bin/env bash
# The gateway beside its peers, in one run, in front of an origin that cannot be the bottleneck:
# nginx answering `return 200` (one worker, on the load CPU). Measured one after the other, each
# with one worker thread (BENCH_THREADS) alone on CPU 1, wrk on CPU 0:
#
#   origin      wrk straight at the origin (the ceiling)
#   nginx       nginx proxy_pass, keep-alive to the origin, its default access log
#   bare        bare Pingora (examples/src/bin/bare_proxy.rs, the gateway's server settings)
#   gateway     the gateway, every request carrying a live QR + PIN session (embedded store)
#   seeds       nginx auth_request -> FastAPI + PyJWT (bench/seeds_auth.py) -> origin, when
#               fastapi and uvicorn are installed (scripts/install-prerequisites.sh bench)
#
# Each stack: a warm-up, then BENCH_ROUNDS runs; the best run's requests/s, p50 and p99 count.
# Then bare Pingora and the gateway again at half of bare Pingora's peak, paced (examples'
# paced-load), for the latency each adds at a load both carry.
# Prints the table and the ratios, and appends the run to the section "## Gateway, bare Pingora
# and nginx in front of a fast origin" of docs/BENCHMARKS.md (every run is kept there).
#
#   bench/peer.sh
#   BENCH_REDIS=1 bench/peer.sh     # sessions and shared rate limits in Redis (on CPU 1 too)
#
# Options, by environment variable: BENCH_DURATION=10s, BENCH_WARMUP=3s, BENCH_ROUNDS=3,
# BENCH_CONNECTIONS=32, BENCH_THREADS=1, BENCH_PROXY_CPUS=1, BENCH_LOAD_CPUS=0, BENCH_BUILD=1
# (0: use target/release as it is), BENCH_BIN (directory of the binaries), BENCH_DOCS (empty:
# write nothing), BENCH_KEEP=0 (1: keep the temp dir), BENCH_REDIS=0, BENCH_LABEL (what to call
# the binaries in the report, e.g. "abc1234 (before)" with BENCH_BIN; default: this commit).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
PROXY_CPUS=${BENCH_PROXY_CPUS:-1}
LOAD_CPUS=${BENCH_LOAD_CPUS:-0}
BUILD=${BENCH_BUILD:-1}
BIN=${BENCH_BIN:-$ROOT/target/release}
DOCS=${BENCH_DOCS-$ROOT/docs/BENCHMARKS.md}
KEEP=${BENCH_KEEP:-0}
REDIS=${BENCH_REDIS:-0}
LABEL=${BENCH_LABEL:-}
BENCH_NAME=peer

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for tool in python3 curl taskset wrk nginx; do
    command -v "$tool" >/dev/null || die "$tool is missing: scripts/install-prerequisites.sh bench"
done
SEEDS=no
python3 -c 'import fastapi, uvicorn, jwt' 2>/dev/null && SEEDS=yes
[[ $SEEDS == yes ]] || log "fastapi/uvicorn missing: the seeds' stack is left out"

cd "$ROOT"
if [[ $BUILD == 1 ]]; then
    log "building release binaries"
    cargo build --release -p auth-gateway -p auth-examples >&2
fi
for binary in auth-gateway bare-proxy paced-load; do
    [[ -x $BIN/$binary ]] || die "$BIN/$binary is missing: cargo build --release -p auth-gateway -p auth-examples"
done
if (( 10#$(date -u +%H) * 3600 + 10#$(date -u +%M) * 60 > 86400 - 600 )); then
    die "less than 10 minutes to midnight UTC, when the session ends: start again after 00:00"
fi

# ---- nginx, as origin and as proxies ------------------------------------------------------------

ORIGIN_PORT=$(free_port)
start_nginx origin "$LOAD_CPUS" "access_log off;
    server { listen 127.0.0.1:$ORIGIN_PORT; location / { return 200 \"ok\\n\"; } }"
wait_for nginx-origin "http://127.0.0.1:$ORIGIN_PORT/"

UPSTREAM_BLOCK="upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 64; }"
PASS="proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection \"\";"

# ---- one measurement ----------------------------------------------------------------------------

ROWS=()
declare -A RATE
record() {
    RATE[$1]=$RPS
    ROWS+=("$(printf '| %s | %.0f | %s ms | %s ms |' "$2" "$RPS" "$P50" "$P99")")
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the stacks, one after the other ------------------------------------------------------------

# The gateway first: its session is made through its API and then carried by every stack's
# requests, so all of them get the same bytes.
GATEWAY_PORT=$(free_port)
if [[ $REDIS == 1 ]]; then
    command -v redis-server >/dev/null || die "redis-server is missing"
    REDIS_PORT=$(free_port)
    start redis taskset -c "$PROXY_CPUS" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --save "" --appendonly no --dir "$WORK"
    for _ in $(seq 50); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
        sleep 0.1
    done
    export BENCH_RATE_LIMITS_EXTRA="shared = true"
    export BENCH_GATEWAY_EXTRA="[redis]
url = \"redis://127.0.0.1:$REDIS_PORT\""
fi
start_bench_gateway "$BIN" "$GATEWAY_PORT" "$ORIGIN_PORT" "$THREADS" taskset -c "$PROXY_CPUS"
GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT/"
ANONYMOUS=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: service-b.localhost' "$GATEWAY_URL")
[[ $ANONYMOUS == 401 ]] || die "without a session the gateway answered $ANONYMOUS, not 401"
curl -fsS -o /dev/null -H 'Host: service-b.localhost' -H "Authorization: Bearer $BENCH_SESSION" \
    "$GATEWAY_URL" || die "the gateway refused the session"
measure gateway "$GATEWAY_URL" "$BENCH_SESSION"
record gateway "the gateway$([[ $REDIS == 1 ]] && echo ' (sessions and shared limits in Redis)')"
# Kept running (idle) for the paced run below, at half of bare Pingora's peak.

measure origin "http://127.0.0.1:$ORIGIN_PORT/" "$BENCH_SESSION"
record origin "origin (nginx \`return 200\`), hit directly"

NGINX_PORT=$(free_port)
start_nginx proxy "$PROXY_CPUS" "$UPSTREAM_BLOCK
    access_log $WORK/nginx-proxy/access.log;
    server { listen 127.0.0.1:$NGINX_PORT; location / { $PASS } }"
NGINX_PID=$STARTED
wait_for nginx-proxy "http://127.0.0.1:$NGINX_PORT/"
measure nginx "http://127.0.0.1:$NGINX_PORT/" "$BENCH_SESSION"
record nginx "nginx \`proxy_pass\`"
forget "$NGINX_PID"

BARE_PORT=$(free_port)
start bare-proxy taskset -c "$PROXY_CPUS" "$BIN/bare-proxy" --listen "127.0.0.1:$BARE_PORT" \
    --upstream "127.0.0.1:$ORIGIN_PORT" --threads "$THREADS"
BARE_PID=$STARTED
wait_for bare-proxy "http://127.0.0.1:$BARE_PORT/"
measure bare "http://127.0.0.1:$BARE_PORT/" "$BENCH_SESSION"
record bare "bare Pingora passthrough"

# Latency at a load both carry: half of bare Pingora's peak, paced (examples' paced-load), each
# request timed from its write to its whole answer.
HALF_RATE=$(python3 -c "print(int(${RATE[bare]} / 2))")
paced() {
    local name=$1 port=$2
    log "$name: paced at $HALF_RATE requests/s"
    taskset -c "$LOAD_CPUS" "$BIN/paced-load" --addr "127.0.0.1:$port" --host service-b.localhost \
        --token "$BENCH_SESSION" --rate "$HALF_RATE" --connections "$CONNECTIONS" \
        --duration "${DURATION%s}" --warmup "${WARMUP%s}" >"$WORK/$name.paced.json" ||
        die "$name: the paced run failed"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['rate'], r['p50_us'], r['p99_us'])" \
        "$WORK/$name.paced.json"
}
read -r BARE_PACED_RATE BARE_PACED_P50 BARE_PACED_P99 < <(paced bare "$BARE_PORT")
forget "$BARE_PID"
read -r GATEWAY_PACED_RATE GATEWAY_PACED_P50 GATEWAY_PACED_P99 < <(paced gateway "$GATEWAY_PORT")
forget "$GATEWAY_PID"

if [[ $SEEDS == yes ]]; then
    SEEDS_TOKEN=$(python3 "$ROOT/bench/seeds_auth.py" token "$WORK")
    AUTH_PORT=$(free_port)
    start seeds-auth taskset -c "$PROXY_CPUS" python3 "$ROOT/bench/seeds_auth.py" serve "$WORK" "$AUTH_PORT"
    AUTH_PID=$STARTED
    wait_for seeds-auth "http://127.0.0.1:$AUTH_PORT/auth"
    SEEDS_PORT=$(free_port)
    start_nginx seeds "$PROXY_CPUS" "$UPSTREAM_BLOCK
    upstream seeds_auth { server 127.0.0.1:$AUTH_PORT; keepalive 64; }
    access_log $WORK/nginx-seeds/access.log;
    server {
        listen 127.0.0.1:$SEEDS_PORT;
        location / { auth_request /_auth; $PASS }
        location = /_auth {
            internal;
            proxy_pass http://seeds_auth/auth;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_pass_request_body off;
            proxy_set_header Content-Length \"\";
        }
    }"
    SEEDS_PID=$STARTED
    wait_for nginx-seeds "http://127.0.0.1:$SEEDS_PORT/"
    DENIED=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SEEDS_PORT/")
    [[ $DENIED == 401 ]] || die "the seeds' stack let a request without a token through ($DENIED)"
    measure seeds "http://127.0.0.1:$SEEDS_PORT/" "$SEEDS_TOKEN"
    record seeds "nginx \`auth_request\` -> FastAPI + PyJWT -> origin"
    forget "$SEEDS_PID"
    forget "$AUTH_PID"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -------------------------------------------------------------------------------------

ratio() { python3 -c "print(f'{${RATE[$1]} / ${RATE[$2]}:.2f}')"; }
SUMMARY=$(
    printf '| stack | requests/s | p50 | p99 |\n| --- | ---: | ---: | ---: |\n'
    for key in origin nginx bare gateway seeds; do
        for row in "${ROWS[@]}"; do
            case $key in
            origin) [[ $row == "| origin"* ]] && echo "$row" ;;
            nginx) [[ $row == '| nginx `proxy_pass`'* ]] && echo "$row" ;;
            bare) [[ $row == "| bare"* ]] && echo "$row" ;;
            gateway) [[ $row == "| the gateway"* ]] && echo "$row" ;;
            seeds) [[ $row == '| nginx `auth_request`'* ]] && echo "$row" ;;
            esac
        done
    done
    printf '\n- gateway / bare Pingora: **%s** (goal >= %s)\n' "$(ratio gateway bare)" \
        "$([[ $REDIS == 1 ]] && echo 0.7 || echo 0.85)"
    printf -- '- gateway / nginx `proxy_pass`: **%s** (goal >= 0.45); bare Pingora / nginx: %s\n' \
        "$(ratio gateway nginx)" "$(ratio bare nginx)"
    [[ $SEEDS == yes ]] && printf -- "- gateway / the seeds' stack: **%s** (goal >= 6)\n" "$(ratio gateway seeds)"
    printf -- '- paced at %s requests/s (half of bare Pingora'"'"'s peak): bare p50 %s µs, p99 %s µs (%s/s reached); gateway p50 %s µs, p99 %s µs (%s/s reached); added p99 **%s µs** (goal <= 150)\n' \
        "$HALF_RATE" "$BARE_PACED_P50" "$BARE_PACED_P99" "$BARE_PACED_RATE" \
        "$GATEWAY_PACED_P50" "$GATEWAY_PACED_P99" "$GATEWAY_PACED_RATE" \
        "$((GATEWAY_PACED_P99 - BARE_PACED_P99))"
    true
)
printf '\n%s\n\n' "$SUMMARY"

if [[ -n $DOCS ]]; then
    COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    # The results file itself does not count: the previous run wrote it.
    [[ -z $LABEL && -n $(git -C "$ROOT" --no-optional-locks status --porcelain -- . ':!docs/BENCHMARKS.md' 2>/dev/null) ]] &&
        COMMIT="$COMMIT with uncommitted changes"
    RESULTS=$(
        printf '### %s, commit %s%s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "${LABEL:-$COMMIT}" \
            "$([[ $REDIS == 1 ]] && echo ', BENCH_REDIS=1')"
        printf '%s\n\n' "$SUMMARY"
        printf -- '- Best of %s runs of %s after a %s warm-up, %s connections, 1 wrk thread; %s worker thread(s) on CPU %s, wrk and the origin on CPU %s; load average before %s, after %s; %s CPUs, `%s`.\n' \
            "$ROUNDS" "$DURATION" "$WARMUP" "$CONNECTIONS" "$THREADS" "$PROXY_CPUS" "$LOAD_CPUS" \
            "$LOAD_BEFORE" "$LOAD_AFTER" "$(nproc)" "$(uname -srm)"
    )
    python3 - "$DOCS" "$RESULTS" <<'EOF'
import pathlib, sys

path, results = pathlib.Path(sys.argv[1]), sys.argv[2]
TITLE = "## Gateway, bare Pingora and nginx in front of a fast origin"
END = "<!-- bench/peer.sh runs: end -->"
INTRO = """\
`bench/peer.sh` measures, in one run, the gateway beside bare Pingora and nginx, all in front of
an nginx origin answering `return 200` that is far faster than any of them (its row), each proxy
with one worker thread alone on CPU 1 and wrk (1 thread, 32 connections, best of 3 runs of 10 s)
on CPU 0. Every request carries the gateway's live QR + PIN session (`Authorization: Bearer`,
bench/session.lua); the other stacks get the same bytes. The gateway runs on its embedded store
(or, with `BENCH_REDIS=1`, with sessions and shared rate limits in a Redis on its CPU), always
open, service limits raised so they never refuse but are still checked, its access log on;
nginx keeps its default access log too. The seeds' stack is nginx `auth_request` asking a FastAPI
app (one uvicorn worker, PyJWT EdDSA check, bench/seeds_auth.py) about every request. Every run is
kept below, newest last. The older bench/gateway.sh table (ServiceB as upstream, on the load CPU)
is further down.

```sh
scripts/install-prerequisites.sh bench
bench/peer.sh
BENCH_REDIS=1 bench/peer.sh
```
"""

text = path.read_text() if path.exists() else "# Benchmarks\n"
if TITLE not in text:
    anchor = "## Gateway vs bare Pingora"
    section = f"{TITLE}\n\n{INTRO}\n{END}\n\n"
    text = text.replace(anchor, section + anchor, 1) if anchor in text else text.rstrip("\n") + "\n\n" + section
text = text.replace(END, results.rstrip() + "\n\n" + END, 1)
path.write_text(text)
EOF
    log "appended the run to $DOCS"
fi
