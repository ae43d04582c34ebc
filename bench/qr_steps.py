#!/usr/bin/env python3
"""Times each step of the QR login through the gateway's API, the way a service and a phone run
it: the service starts a challenge (`POST /api/auth/qr/generate` with its API key), the phone
scans it (`POST /api/auth/qr/scan` with its access token) and shows the PIN, the service verifies
the PIN (`POST /api/auth/pin/verify`) and gets the session. No Argon2 is on this path (the phone's
password login is made once, before the timing).

Each client keeps one HTTP/1.1 connection open, as a service and a phone would, so what is timed
is the gateway's work and not TCP set-up. Prints one JSON object: p50 and p99 (ms) of each step and
of the whole login, over all logins and over the last 100 (to show whether cost grows as logins
pile up in the login history and the session store).

Python 3 standard library only; uses bench/make_session.py to make the person, the admin and the
service key.

    bench/qr_steps.py --gateway http://127.0.0.1:8080 --config gw.toml --data-dir data --logins 1000
"""

import argparse
import http.client
import json
import pathlib
import secrets
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_session  # noqa: E402  (beside this script)


class Client:
    """One kept-alive connection to the gateway."""

    def __init__(self, gateway):
        url = urllib.parse.urlsplit(gateway)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def post(self, path, body, headers):
        payload = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json", **headers}
        started = time.perf_counter()
        self.conn.request("POST", path, body=payload, headers=headers)
        response = self.conn.getresponse()
        text = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status not in (200, 201):
            sys.exit(f"qr_steps: {path} answered {response.status}: {text[:300]!r}")
        return json.loads(text)["data"], elapsed


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(times):
    return {
        step: {"p50": round(statistics.median(v), 3), "p99": round(percentile(v, 99), 3)}
        for step, v in times.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--gateway-bin", required=True)
    parser.add_argument("--logins", type=int, default=1000)
    parser.add_argument("--service", default="service-b")
    args = parser.parse_args()
    gateway = args.gateway.rstrip("/")
    outbox = pathlib.Path(args.data_dir) / "outbox"
    call = make_session.call

    suffix = secrets.token_hex(5)
    username, admin_name = f"qr-{suffix}", f"qr-admin-{suffix}"
    address = f"{username}@example.com"
    password = make_session.PASSWORD
    call(gateway, "/api/register", {
        "email": address, "username": username, "full_name": "Bench Person",
        "password": password, "password_confirmation": password,
    }, expect=(201,))
    token = make_session.mailed_token(outbox, address, "Verify your email")
    user_id = call(gateway, "/api/auth/verify-email", {"token": token})["user_id"]
    make_session.create_admin(args.gateway_bin, args.config, admin_name, f"{admin_name}@example.com")
    admin = call(gateway, "/api/admin/login",
                 {"username": admin_name, "password": make_session.ADMIN_PASSWORD})["access_token"]
    call(gateway, f"/api/admin/approve/{user_id}", {}, bearer=admin)
    key = call(gateway, f"/api/services/{args.service}/rotate-key", {}, bearer=admin)["api_key"]
    phone_token = call(gateway, "/api/auth/login",
                       {"login": username, "password": password})["access_token"]

    service, phone = Client(gateway), Client(gateway)
    as_service = {"X-API-Key": key}
    as_phone = {"Authorization": f"Bearer {phone_token}"}
    steps = ("generate", "scan", "verify", "login")
    times = {step: [] for step in steps}
    for _ in range(args.logins):
        challenge, generate = service.post("/api/auth/qr/generate", {}, as_service)
        qr_token = challenge["qr_token"]
        shown, scan = phone.post("/api/auth/qr/scan", {"qr_token": qr_token}, as_phone)
        _, verify = service.post("/api/auth/pin/verify",
                                 {"qr_token": qr_token, "pin": shown["pin"]}, as_service)
        for step, ms in zip(steps, (generate, scan, verify, generate + scan + verify)):
            times[step].append(ms)
    last = {step: v[-100:] for step, v in times.items()}
    print(json.dumps({"logins": args.logins, "all": summary(times), "last_100": summary(last)}))


if __name__ == "__main__":
    main()
