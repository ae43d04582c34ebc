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

Python 3 standard library only; bench/make_session.py makes the person, the service key and the
phone's login.

    bench/qr_steps.py --gateway http://127.0.0.1:8080 --config gw.toml --data-dir data --logins 1000
"""

import argparse
import http.client
import json
import pathlib
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
    key, phone_token = make_session.ready_person(
        gateway, outbox, args.gateway_bin, args.config, args.service, prefix="qr")

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
