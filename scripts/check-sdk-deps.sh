#!/usr/bin/env bash
# auth-sdk stays a light dependency: a service that links it to verify tokens (default features)
# or to run its own QR login (feature `client`) builds no HTTP server, no database driver and
# nothing of Pingora. Reads `cargo tree` of auth-sdk's normal dependencies (not dev-dependencies,
# which tests may use freely) with the features each crate is built with, and fails naming each
# crate that is one of those, and each HTTP library built with its server half:
#   - crates: pingora*, tokio-postgres, postgres-*, deadpool*, rusqlite, libsqlite3-sys, sqlx*,
#     diesel*, redis, refinery*, and the HTTP servers actix*, axum-server, warp, rocket*,
#     tiny_http, poem*, salvo*, tide;
#   - features: hyper or hyper-util with `server*`, axum with `tokio`, `http1` or `http2` (what
#     `axum::serve` needs; the extractor needs none of them).
# The same check run on auth-gateway must fail, or the check itself is broken. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Prints every forbidden crate or feature in the normal dependencies of `cargo tree "$@"`.
forbidden() {
    cargo tree -e normal --prefix none --format '{p} {f}' "$@" |
        awk '
            { name = $1; features = "," $NF "," }
            name ~ /^(pingora.*|tokio-postgres|postgres-.*|deadpool.*|rusqlite|libsqlite3-sys|sqlx.*|diesel.*|redis|refinery.*|actix.*|axum-server|warp|rocket.*|tiny_http|poem.*|salvo.*|tide)$/ {
                print name " (" $2 ")"; next
            }
            (name == "hyper" || name == "hyper-util") && features ~ /,server/ {
                print name " with its server feature"; next
            }
            name == "axum" && features ~ /,(tokio|http1|http2),/ {
                print "axum with its server features (tokio/http1/http2)"
            }' |
        sort -u
}

status=0
for features in "--no-default-features" "--features=client"; do
    found=$(forbidden -p auth-sdk "$features")
    if [ -n "$found" ]; then
        echo "auth-sdk ($features) pulls in what a token verifier must not:" >&2
        echo "$found" | sed 's/^/  /' >&2
        status=1
    else
        echo "ok   auth-sdk ($features): no HTTP server, database or Pingora crate"
    fi
done

if [ -z "$(forbidden -p auth-gateway)" ]; then
    echo "the dependency check finds nothing in auth-gateway, so it would miss it in auth-sdk" >&2
    status=1
fi
exit "$status"
