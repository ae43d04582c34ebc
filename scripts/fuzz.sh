#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ (cargo-fuzz, libFuzzer) and runs each in turn for a while. Fails
# on the first crash, printing the path of the input that caused it and how to replay it.
#
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]    (default: 45 s, every target)
#   FUZZ_SANITIZER=address  build with AddressSanitizer; on a stable compiler this sets
#                           RUSTC_BOOTSTRAP=1 for the build. The default is none: docs/FUZZING.md
#                           says why
#   FUZZ_NICE=19            run the fuzzers at this niceness (default 10)
#   FUZZ_TARGET_DIR=DIR     build there instead of fuzz/target (CI keeps one across clones, so
#                           only the workspace's own crates are rebuilt)
#
# New inputs the fuzzer finds go to fuzz/corpus/<target> (not committed); the hand-made seeds in
# fuzz/seeds/<target> and the dictionaries in fuzz/dicts are read too.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-45}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
    exit 2
fi

bash scripts/install-prerequisites.sh fuzz

cd fuzz
sanitizer="${FUZZ_SANITIZER:-none}"
# 16 codegen units (cargo-fuzz defaults to 1): a much shorter build, for slightly slower runs.
build=(--sanitizer "$sanitizer" --codegen-units 16 --target-dir "${FUZZ_TARGET_DIR:-target}")
if [ "$sanitizer" != none ] && ! rustc -V | grep -q nightly; then
    # -Zsanitizer is a nightly flag; this unlocks it on the stable compiler the project uses.
    export RUSTC_BOOTSTRAP=1
fi
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

started=$SECONDS
nice -n "${FUZZ_NICE:-10}" cargo fuzz build "${build[@]}"
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - started)) s"

passed=0
for target in "${targets[@]}"; do
    corpus="corpus/$target"
    mkdir -p "$corpus" logs
    seeds=()
    [ -d "seeds/$target" ] && seeds=("seeds/$target")
    options=(
        -max_total_time="$seconds"
        -timeout=10
        -rss_limit_mb=4096
        -print_final_stats=1
    )
    [ -f "dicts/$target.dict" ] && options+=(-dict="dicts/$target.dict")
    log="logs/$target.log"
    echo "fuzz: $target for $seconds s"
    if nice -n "${FUZZ_NICE:-10}" cargo fuzz run "${build[@]}" "$target" "$corpus" "${seeds[@]}" \
        -- "${options[@]}" >"$log" 2>&1; then
        # libFuzzer's closing figures: runs, coverage and features reached.
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|#[0-9]+.*DONE' "$log" \
            | sed "s/^/  /" || true
        passed=$((passed + 1))
    else
        # The panic and libFuzzer's summary; cargo-fuzz's dump of the input is cut short.
        grep -v '^Output of `std::fmt::Debug`' "$log" | tail -c 6000 >&2
        crash=$(grep -oE 'Test unit written to \S+' "$log" | tail -n 1 | cut -d' ' -f5 || true)
        echo "fuzz: $target FAILED (full log: fuzz/$log)" >&2
        if [ -n "$crash" ]; then
            echo "fuzz: crash input: $crash" >&2
            echo "fuzz: replay with: cd fuzz && cargo fuzz run ${build[*]} $target $crash" >&2
        fi
        echo "fuzz: $passed passed, 1 failed"
        exit 1
    fi
done
echo "fuzz: $passed passed, 0 failed"
