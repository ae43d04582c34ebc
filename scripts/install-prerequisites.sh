#!/usr/bin/env bash
# Installs what building and testing need and a fresh Debian machine lacks. Idempotent: anything
# already present is left alone. Usage: install-prerequisites.sh [build|test|fuzz]
#   build: cmake (pingora's compression library is built with it)
#   test:  build + redis-server and redis-sentinel (the Sentinel tests), the PostgreSQL server,
#          curl (bench/soak.sh), Chromium and ChromeDriver, Node.js with axe-core (the
#          accessibility check of the page tests), the Python packages the tests use (aiosmtpd,
#          the SMTP server mail tests deliver to; PyJWT, which checks our tokens; schemathesis,
#          which tests the API against its OpenAPI document), and what fuzzing needs
#   fuzz:  build + a C++ compiler (libFuzzer is compiled from source) and cargo-fuzz
#   bench: build + what bench/ runs: wrk, nginx (origin and comparison proxy), valgrind
#          (bench/instructions.sh), redis-server, curl, and FastAPI with uvicorn and PyJWT (the
#          auth_request stack bench/peer.sh compares against)
set -euo pipefail

what="${1:-test}"

apt_install() {
    local runner=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            runner=(sudo)
        else
            echo "missing: $* (install them with apt-get as root)" >&2
            exit 1
        fi
    fi
    echo "installing with apt-get: $*"
    "${runner[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq "$@" >/dev/null
}

have_postgres_server() {
    [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/postgres" ] && return 0
    compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null
}

packages=()
command -v cmake >/dev/null 2>&1 || packages+=(cmake)
if [ "$what" = "test" ] || [ "$what" = "fuzz" ]; then
    command -v c++ >/dev/null 2>&1 || packages+=(g++)
fi
if [ "$what" = "test" ]; then
    command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
    # The Sentinel tests run three sentinels beside a master and a replica.
    command -v redis-sentinel >/dev/null 2>&1 || packages+=(redis-sentinel)
    have_postgres_server || packages+=(postgresql)
    # bench/soak.sh (run by .ci/run) checks the gateways' health with curl.
    command -v curl >/dev/null 2>&1 || packages+=(curl)
    # The page tests drive a real headless Chromium over WebDriver.
    command -v chromium >/dev/null 2>&1 || packages+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || packages+=(chromium-driver)
    # npm installs axe-core, which the page tests run inside Chromium.
    command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi
if [ "$what" = "bench" ]; then
    command -v wrk >/dev/null 2>&1 || packages+=(wrk)
    command -v nginx >/dev/null 2>&1 || packages+=(nginx-light)
    command -v valgrind >/dev/null 2>&1 || packages+=(valgrind)
    command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
    command -v curl >/dev/null 2>&1 || packages+=(curl)
fi
if [ "${#packages[@]}" -gt 0 ]; then
    apt_install "${packages[@]}"
fi

if [ "$what" = "bench" ]; then
    python="${PYTHON:-python3}"
    if ! "$python" -c "import fastapi, uvicorn, jwt, cryptography" >/dev/null 2>&1; then
        echo "installing with pip: fastapi uvicorn pyjwt cryptography"
        "$python" -m pip --version >/dev/null 2>&1 || apt_install python3-pip
        pip=("$python" -m pip install --quiet --disable-pip-version-check)
        "${pip[@]}" fastapi uvicorn "pyjwt[crypto]" \
            || "${pip[@]}" --break-system-packages fastapi uvicorn "pyjwt[crypto]"
    fi
fi

if [ "$what" = "test" ]; then
    # axe-core at the version tests/a11y/package-lock.json pins, for the accessibility checks.
    a11y="$(dirname "$0")/../tests/a11y"
    if [ ! -f "$a11y/node_modules/axe-core/axe.min.js" ]; then
        echo "installing with npm: axe-core (tests/a11y)"
        npm ci --prefix "$a11y" --no-audit --no-fund --loglevel=error
    fi
    python="${PYTHON:-python3}"
    # aiosmtpd: the SMTP server mail tests deliver to; PyJWT: the independent verifier of our tokens.
    if ! "$python" -c "import aiosmtpd, jwt, cryptography" >/dev/null 2>&1; then
        echo "installing with pip: aiosmtpd pyjwt cryptography"
        "$python" -m pip --version >/dev/null 2>&1 || apt_install python3-pip
        pip=("$python" -m pip install --quiet --disable-pip-version-check)
        # A Debian-managed Python (PEP 668) refuses plain installs; these two packages are only
        # for the tests, so they go in beside the system's own.
        "${pip[@]}" aiosmtpd "pyjwt[crypto]" \
            || "${pip[@]}" --break-system-packages aiosmtpd "pyjwt[crypto]"
    fi
    # schemathesis, pinned: its checks and generated cases change between releases, and a seed
    # replays a run only on the version that made it (tests/tests/system/schemathesis.rs).
    schemathesis_version=4.32.5
    installed="$("$python" -c "import importlib.metadata as m; print(m.version('schemathesis'))" 2>/dev/null || true)"
    if [ "$installed" != "$schemathesis_version" ]; then
        echo "installing with pip: schemathesis==$schemathesis_version"
        "$python" -m pip --version >/dev/null 2>&1 || apt_install python3-pip
        pip=("$python" -m pip install --quiet --disable-pip-version-check)
        "${pip[@]}" "schemathesis==$schemathesis_version" \
            || "${pip[@]}" --break-system-packages "schemathesis==$schemathesis_version"
    fi
fi

if [ "$what" = "test" ] || [ "$what" = "fuzz" ]; then
    # cargo-fuzz drives the fuzz targets in fuzz/ (scripts/fuzz.sh). Pinned: its build flags are
    # what docs/FUZZING.md describes.
    if ! cargo fuzz --version 2>/dev/null | grep -q "^cargo-fuzz 0.13.2$"; then
        echo "installing with cargo: cargo-fuzz 0.13.2"
        cargo install --locked --quiet cargo-fuzz --version 0.13.2
    fi
fi
