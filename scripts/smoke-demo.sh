#!/usr/bin/env bash
# Checks the README's run command end to end: scripts/demo.sh brings up the gateway on the embedded
# store with ServiceB and AppC behind it, /health answers 200, and the services answer through the
# gateway (a browser is sent to the login page, an API client gets 401); ServiceD shows its own
# login page with a QR code from the gateway (so the key the demo made for it works). Run by CI after the tests;
# the demo's data goes to a temp dir, so a developer's ./data is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in 8080 8081 8082 8083; do
    if port_taken "$port"; then
        echo "smoke: port $port is in use, so the demo cannot start here; skipped" >&2
        exit 0
    fi
done

work=$(mktemp -d)
ALWAYS_OPEN=1 AUTH_STORAGE__DATA_DIR="$work/data" bash scripts/demo.sh >"$work/demo.log" 2>&1 &
demo=$!
finish() {
    kill "$demo" 2>/dev/null || true
    wait "$demo" 2>/dev/null || true
    rm -rf "$work"
}
trap finish EXIT

python3 - "$work/demo.log" <<'PY'
import sys, time, urllib.error, urllib.request

class Keep(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

opener = urllib.request.build_opener(Keep)

def get(path, host="127.0.0.1:8080", accept="application/json", port=8080):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}" + path, headers={"Host": host, "Accept": accept})
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()

deadline = time.time() + 300
while True:
    try:
        status, _, body = get("/health")
        if status == 200:
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("smoke: the demo never answered /health:\n" + open(sys.argv[1]).read()[-3000:])
    time.sleep(1)

def service_d_login():
    for _ in range(30):
        try:
            status, _, body = get("/login", host="service-d.localhost:8083", accept="text/html", port=8083)
            return status == 200 and 'id="qr"' in body and "<svg" in body
        except OSError:
            time.sleep(1)
    return False

checks = [
    ("/health is up", get("/health")[0] == 200 and '"database"' in get("/health")[2]),
    ("a browser at service-b.localhost goes to the login page",
     (lambda r: r[0] == 302 and "/login?service=service-b" in (r[1].get("Location") or "")) (
         get("/", host="service-b.localhost:8080", accept="text/html"))),
    ("an API client at service-b.localhost gets 401",
     (lambda r: r[0] == 401 and '"UNAUTHENTICATED"' in r[2])(
         get("/", host="service-b.localhost:8080"))),
    ("the gateway's host serves no service (its origin is the login pages')",
     get("/service-b/")[0] == 404),
    ("an API client at app-c.localhost gets 401",
     get("/", host="app-c.localhost:8080")[0] == 401),
    ("ServiceD at service-d.localhost:8083 shows its own login page with a QR code",
     service_d_login()),
]
failed = [name for name, ok in checks if not ok]
for name, ok in checks:
    print(("ok   " if ok else "FAIL ") + name)
sys.exit(1 if failed else 0)
PY
