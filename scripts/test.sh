#!/usr/bin/env bash
# Runs every test of the workspace. The tests start their own PostgreSQL, Redis and SMTP servers on
# loopback (temp dirs, free ports) and stop them when they finish; this script first installs what
# is missing to run them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-prerequisites.sh test

# The system tests run the gateway and the example services as real processes. The gateway is
# built with the test-only `test-clock` feature, so the expiry tests can move its clock; `cargo
# test` gets the same features, or it would rebuild the gateway without it before the tests run.
# Nothing else turns the feature on: scripts/demo.sh and release builds never have it.
features=(--features auth-gateway/test-clock)
cargo build --workspace --bins "${features[@]}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace "${features[@]}" "$@" 2>&1 | tee "$log" || status=$?

# One closing line for the whole run: cargo prints a result line per test binary.
awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed;?$/)  passed  += $(i-1)
            if ($(i) ~ /^failed;?$/)  failed  += $(i-1)
            if ($(i) ~ /^ignored;?$/) ignored += $(i-1)
        }
     }
     END { printf "total: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
exit "$status"
