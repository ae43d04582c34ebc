#!/usr/bin/env python3
"""Takes a fresh person from registration to a live ServiceB session through the gateway's API and
prints the session token, for the benchmark's requests to carry.

The steps are the ones the system tests take (tests/tests/system/flows.rs): register, read the
verification token from the mail the gateway wrote to <data_dir>/outbox/, verify, make an admin with
`auth-gateway create-admin` (password on stdin), log in as that admin, approve the person, give the
service a new API key, start a QR challenge as the service, log in as the person and scan it as
their phone, and verify the PIN as the service.

Python 3 standard library only. The gateway must run without SMTP (mail as .eml files).

    bench/make_session.py --gateway http://127.0.0.1:8080 --config gw.toml --data-dir data
"""

import argparse
import email
import email.policy
import json
import pathlib
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request

PASSWORD = "violet harbor tumbles"
ADMIN_PASSWORD = "quiet meadow lantern 42"
MAIL_WAIT_SECS = 10


def log(message):
    print(f"make_session: {message}", file=sys.stderr)


def call(gateway, path, body=None, bearer=None, api_key=None, expect=(200, 201)):
    """POSTs JSON (or GETs when body is None); returns the envelope's `data`."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    if api_key:
        headers["X-API-Key"] = api_key
    request = urllib.request.Request(gateway + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    if status not in expect:
        sys.exit(f"make_session: {path} answered {status}: {text[:500]}")
    return json.loads(text).get("data") or {}


def mailed_token(outbox, to, subject):
    """The token in the newest mail to `to` whose subject contains `subject`."""
    deadline = time.monotonic() + MAIL_WAIT_SECS
    while time.monotonic() < deadline:
        files = sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in files:
            mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to in str(mail["To"]) and subject in str(mail["Subject"]):
                text = mail.get_body(preferencelist=("plain",)).get_content()
                found = re.search(r"token=([A-Za-z0-9._~%-]+)", text)
                if found:
                    return found.group(1)
        time.sleep(0.2)
    sys.exit(f"make_session: no mail '{subject}' to {to} in {outbox}")


def create_admin(gateway_bin, config, username, address):
    """Makes an admin with the command line, the password on stdin as the README says."""
    result = subprocess.run(
        [gateway_bin, "--config", config, "create-admin",
         "--username", username, "--email", address, "--role", "admin"],
        input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        sys.exit(f"make_session: create-admin failed: {result.stdout}{result.stderr}")


def ready_person(gateway, outbox, gateway_bin, config, service, prefix="bench"):
    """Registers, verifies and approves a fresh person, gives `service` a new API key and logs the
    person in as their phone would. Returns (service key, the phone's access token)."""
    # Fresh names, so the script can run again against the same gateway.
    suffix = secrets.token_hex(5)
    username, admin_name = f"{prefix}-{suffix}", f"{prefix}-admin-{suffix}"
    address = f"{username}@example.com"

    log(f"registering {username}")
    call(gateway, "/api/register", {
        "email": address, "username": username, "full_name": "Bench Person",
        "password": PASSWORD, "password_confirmation": PASSWORD,
    }, expect=(201,))
    token = mailed_token(outbox, address, "Verify your email")
    user_id = call(gateway, "/api/auth/verify-email", {"token": token})["user_id"]

    log(f"approving as {admin_name}")
    create_admin(gateway_bin, config, admin_name, f"{admin_name}@example.com")
    admin = call(gateway, "/api/admin/login",
                 {"username": admin_name, "password": ADMIN_PASSWORD})["access_token"]
    call(gateway, f"/api/admin/approve/{user_id}", {}, bearer=admin)
    key = call(gateway, f"/api/services/{service}/rotate-key", {}, bearer=admin)["api_key"]
    phone = call(gateway, "/api/auth/login",
                 {"login": username, "password": PASSWORD})["access_token"]
    return key, phone


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8080", help="the gateway's URL")
    parser.add_argument("--config", required=True, help="the config file the gateway runs with")
    parser.add_argument("--data-dir", required=True, help="the gateway's storage.data_dir")
    parser.add_argument("--gateway-bin", default="target/release/auth-gateway",
                        help="the auth-gateway binary, for create-admin")
    parser.add_argument("--service", default="service-b", help="the service slug")
    args = parser.parse_args()
    gateway = args.gateway.rstrip("/")
    outbox = pathlib.Path(args.data_dir) / "outbox"
    key, phone = ready_person(gateway, outbox, args.gateway_bin, args.config, args.service)

    log(f"logging into {args.service} with a QR code and a PIN")
    qr_token = call(gateway, "/api/auth/qr/generate", {}, api_key=key)["qr_token"]
    pin = call(gateway, "/api/auth/qr/scan", {"qr_token": qr_token}, bearer=phone)["pin"]
    session = call(gateway, "/api/auth/pin/verify",
                   {"qr_token": qr_token, "pin": pin}, api_key=key)
    log(f"session for {args.service}, valid {session.get('expires_in')} s")
    print(session["session_token"])


if __name__ == "__main__":
    main()
