#!/usr/bin/env python3
"""Measures whether the answers that must not tell accounts apart take the same time: password
login (wrong password for a real account against an unknown login, and a locked account against a
locked unknown login), resend-verification (an unverified account against an unknown address) and
password/forgot (an account against an unknown address). Prints the median of each path and the
ratio of the two, and the median of the paired differences; the tests only check that the answers are identical, never their timing.

The script starts its own gateway (embedded store in a temp dir, mail as .eml files, the schedule
always open, rate limits out of the way), makes an admin with `auth-gateway create-admin`, an
active account and unverified ones, then calls each pair of paths interleaved, one request at a
time over one kept-alive connection.

Python 3 standard library only.

    bench/enumeration_timing.py [--gateway-bin target/debug/auth-gateway] [--rounds 25]
"""

import argparse
import email
import email.policy
import http.client
import json
import pathlib
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PASSWORD = "violet harbor tumbles"
ADMIN_PASSWORD = "quiet meadow lantern 42"


def log(message):
    print(f"enumeration_timing: {message}", file=sys.stderr)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gateway:
    """A gateway process of its own, and one kept-alive connection to it."""

    def __init__(self, binary, work):
        self.binary = binary
        self.port = free_port()
        self.data = work / "data"
        self.config = work / "gateway.toml"
        self.config.write_text(f"""
[gateway]
listen = "127.0.0.1:{self.port}"
public_url = "http://127.0.0.1:{self.port}"
[storage]
backend = "embedded"
data_dir = "{self.data}"
[accounts]
# One unverified account is asked for again and again; its path does the whole work each time.
verification_resends_per_hour = 100000
[schedule]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
open = "00:00"
close = "24:00"
[rate_limits]
login_per_minute = 100000000
register_per_minute = 100000000
pin_per_minute = 100000000
scan_per_minute = 100000000
service_per_minute_per_session = 100000000
service_per_minute_per_ip = 100000000
""")
        self.log = open(work / "gateway.log", "wb")
        self.process = subprocess.Popen(
            [binary, "--config", str(self.config), "serve"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    sys.exit(f"enumeration_timing: the gateway did not start (see {work})")
                time.sleep(0.1)
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def call(self, path, body=None, bearer=None):
        """POSTs JSON (GETs without a body); returns status, body and the seconds it took."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        started = time.perf_counter()
        self.connection.request("POST" if body is not None else "GET", path, data, headers)
        response = self.connection.getresponse()
        text = response.read()
        elapsed = time.perf_counter() - started
        return response.status, json.loads(text or b"null"), elapsed

    def data_of(self, path, body=None, bearer=None, expect=(200, 201, 202)):
        status, answer, _ = self.call(path, body, bearer)
        if status not in expect:
            sys.exit(f"enumeration_timing: {path} answered {status}: {answer}")
        return (answer or {}).get("data") or {}

    def stop(self):
        self.connection.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def mailed_token(outbox, to, subject):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to in str(mail["To"]) and subject in str(mail["Subject"]):
                text = mail.get_body(preferencelist=("plain",)).get_content()
                found = re.search(r"token=([A-Za-z0-9._~%-]+)", text)
                if found:
                    return found.group(1)
        time.sleep(0.1)
    sys.exit(f"enumeration_timing: no mail '{subject}' to {to}")


def register(gateway, name):
    address = f"{name}@example.com"
    gateway.data_of("/api/register", {
        "email": address, "username": name, "full_name": "Bench Person",
        "password": PASSWORD, "password_confirmation": PASSWORD,
    })
    return address


def fresh(prefix):
    return f"{prefix}-{secrets.token_hex(5)}"


def measure(rounds, first, second, pause):
    """Calls `first()` and `second()` interleaved `rounds` times each; their times in ms. After
    each call the script waits `pause` seconds (not measured), so that work a call left running
    after its answer (the mail) is done before the next call is timed."""
    times = ([], [])
    for _ in range(rounds):
        for index, call in enumerate((first, second)):
            times[index].append(call() * 1000)
            time.sleep(pause)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway-bin", default="target/debug/auth-gateway")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--pause-ms", type=float, default=300,
                        help="unmeasured wait after each call (more than the 100 ms the mail work waits)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-enumeration-"))
    gateway = Gateway(args.gateway_bin, work)
    outbox = gateway.data / "outbox"
    try:
        log("making an admin, an active account and unverified ones")
        admin_name = fresh("bench-admin")
        result = subprocess.run(
            [args.gateway_bin, "--config", str(gateway.config), "create-admin",
             "--username", admin_name, "--email", f"{admin_name}@example.com", "--role", "admin"],
            input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit(f"enumeration_timing: create-admin failed: {result.stdout}{result.stderr}")
        admin = gateway.data_of("/api/admin/login",
                                {"username": admin_name, "password": ADMIN_PASSWORD})["access_token"]
        active = fresh("bench-active")
        register(gateway, active)
        token = mailed_token(outbox, active, "Verify your email")
        user_id = gateway.data_of("/api/auth/verify-email", {"token": token})["user_id"]
        gateway.data_of(f"/api/admin/approve/{user_id}", {}, bearer=admin)
        unverified = register(gateway, fresh("bench-unverified"))
        # password/forgot drops a sixth request per address and hour, so each call gets its own.
        forgettable = [register(gateway, fresh("bench-forgot")) for _ in range(args.rounds)]

        def login(name, password="not the password"):
            return lambda: gateway.call("/api/auth/login", {"login": name, "password": password})[2]

        rows = []
        # Warm both paths up (connections, caches) before anything is measured.
        for _ in range(3):
            login(fresh("nobody"))()
            gateway.call("/api/auth/login", {"login": active, "password": PASSWORD})

        log("login: wrong password against unknown login")
        pause = args.pause_ms / 1000
        known, unknown = [], []
        for round_ in range(args.rounds):
            known.append(login(active)() * 1000)
            time.sleep(pause)
            unknown.append(login(fresh("nobody"))() * 1000)
            time.sleep(pause)
            # Four wrong tries at most in a row, so the account never locks here.
            if round_ % 4 == 3:
                gateway.call("/api/auth/login", {"login": active, "password": PASSWORD})
        rows.append(("password login", "wrong password", known, "unknown login", unknown))

        log("login: locked account against locked unknown login")
        nobody = fresh("nobody")
        for _ in range(5):
            login(active)()
            login(nobody)()
        known, unknown = measure(args.rounds, login(active), login(nobody), pause)
        rows.append(("password login, locked", "locked account", known,
                     "locked unknown login", unknown))

        log("resend-verification: unverified account against unknown address")
        known, unknown = measure(
            args.rounds,
            lambda: gateway.call("/api/auth/resend-verification", {"email": unverified})[2],
            lambda: gateway.call("/api/auth/resend-verification",
                                 {"email": f"{fresh('nobody')}@example.com"})[2],
            pause)
        rows.append(("resend-verification", "unverified account", known,
                     "unknown address", unknown))

        log("password/forgot: account against unknown address")
        addresses = iter(forgettable)
        known, unknown = measure(
            args.rounds,
            lambda: gateway.call("/api/auth/password/forgot", {"email": next(addresses)})[2],
            lambda: gateway.call("/api/auth/password/forgot",
                                 {"email": f"{fresh('nobody')}@example.com"})[2],
            pause)
        rows.append(("password/forgot", "account", known, "unknown address", unknown))

        # The calls are interleaved in pairs, so the median of the paired differences is less
        # moved by the load of a shared machine drifting during the run than the two medians are.
        print(f"{args.rounds} calls of each path")
        print()
        print("| endpoint | known path | median | unknown path | median | unknown / known "
              "| median of paired (unknown - known) |")
        print("|---|---|---|---|---|---|---|")
        for endpoint, known_name, known, unknown_name, unknown in rows:
            a, b = statistics.median(known), statistics.median(unknown)
            paired = statistics.median(u - k for k, u in zip(known, unknown))
            print(f"| {endpoint} | {known_name} | {a:.2f} ms | {unknown_name} | {b:.2f} ms "
                  f"| {b / a:.2f} | {paired:+.2f} ms |")
    finally:
        gateway.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
