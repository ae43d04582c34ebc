#!/usr/bin/env python3
"""The load and the verdict of bench/soak.sh: a bounded mixed load on several gateways while the
script injects faults, then the checks.

The load, from a few worker threads, each request to a gateway picked at random: registrations,
email verifications (the token read from the mail the gateways write to a shared outbox), approvals
by an admin, password logins, QR + PIN logins into ServiceB, service traffic with live sessions,
API calls with access tokens, personal access tokens made and used, and revocations (an admin
revoking a service session, a person logging out, a token deleted), each revoked credential then
tried again now and then.

Each request is recorded when it is sent and when it is answered. A credential or account counts
as acknowledged only once its answer arrived; a request without an answer (a gateway killed under
it) leaves its outcome unknown, and the checks leave such things out.

After the load (and once bench/soak.sh has written that its fault schedule is over), the checks:

1. every acknowledged account exists; those not yet active are verified and approved now; each
   logs in with its password;
2. every acknowledged credential that was not revoked still works;
3. no revoked credential was accepted by a request sent more than 100 ms after its revocation was
   acknowledged (the load's tries, and one more try of each now);
4. every answer that was not the one expected is a 503 with `Retry-After`, inside a fault window
   (widened by 2 s), and every request left unanswered went to the gateway that was down.

Prints the figures, writes them as JSON to --summary, and exits 1 when a check fails.
Python 3 standard library only.
"""

import argparse
import base64
import email
import email.policy
import http.client
import json
import pathlib
import random
import re
import sys
import threading
import time

PASSWORD = "violet harbor tumbles"
ADMIN_PASSWORD = "quiet meadow lantern 42"
REVOCATION_GRACE = 0.1
FAULT_GRACE = 2.0
TIMEOUT = 30.0

# The mix: operation and weight.
MIX = [
    ("register", 8),
    ("verify", 8),
    ("approve", 8),
    ("password_login", 10),
    ("qr_login", 8),
    ("service_traffic", 30),
    ("api_call", 8),
    ("pat_create", 3),
    ("pat_use", 8),
    ("revoke", 5),
    ("probe_revoked", 4),
]


def log(message):
    print(f"soak: {message}", file=sys.stderr, flush=True)


class Answer:
    """One request and its answer: status 0 when none came (refused, reset, timed out)."""

    def __init__(self, op, port, sent):
        self.op, self.port, self.sent = op, port, sent
        self.received, self.status, self.retry_after, self.body, self.error = sent, 0, None, {}, ""

    @property
    def data(self):
        return self.body.get("data") or {} if isinstance(self.body, dict) else {}

    @property
    def code(self):
        if isinstance(self.body, dict):
            return (self.body.get("error") or {}).get("code")
        return None


class Soak:
    def __init__(self, args):
        self.ports = [int(p) for p in args.ports.split(",")]
        self.outbox = pathlib.Path(args.outbox)
        self.faults_path = pathlib.Path(args.faults)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counter = 0
        self.answers = 0
        self.by_op = {}
        self.unexpected = []  # Answers that were not what the operation expects.
        self.accounts = []  # dicts: username, email, user_id, state
        self.credentials = []  # dicts: kind, token, owner, acked, revoking, revoked_at, sid/id
        self.late_acceptances = []
        self.probes_after_revocation = 0
        self.tokens_by_mail = {}
        self.mail_seen = set()
        self.latencies = {}
        self.admin = None
        self.service_key = None
        self.run_id = f"{int(time.time()) % 100000:05d}{random.randrange(1000):03d}"

    # ---- requests --------------------------------------------------------------------------------

    def request(self, op, method, path, body=None, bearer=None, api_key=None, host=None,
                port=None, expect=(200,), record=True):
        port = port or random.choice(self.ports)
        headers = {"Accept": "application/json", "Connection": "close"}
        if host:
            headers["Host"] = f"{host}:{port}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        if api_key:
            headers["X-API-Key"] = api_key
        answer = Answer(op, port, time.time())
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            text = response.read()
            answer.status = response.status
            answer.retry_after = response.getheader("Retry-After")
            try:
                answer.body = json.loads(text) if text else {}
            except ValueError:
                answer.body = {"raw": text[:200].decode(errors="replace")}
        except (OSError, http.client.HTTPException) as err:
            answer.error = f"{type(err).__name__}: {err}"
        finally:
            connection.close()
        answer.received = time.time()
        if record:
            with self.lock:
                self.answers += 1
                counts = self.by_op.setdefault(op, {})
                counts[answer.status] = counts.get(answer.status, 0) + 1
                if answer.status in expect:
                    self.latencies.setdefault(op, []).append(answer.received - answer.sent)
                else:
                    self.unexpected.append(answer)
        return answer

    def fresh_name(self):
        with self.lock:
            self.counter += 1
            return f"soak{self.run_id}n{self.counter}"

    # ---- set-up ----------------------------------------------------------------------------------

    def admin_login(self, admin_name):
        for _ in range(100):
            answer = self.request("admin_login", "POST", "/api/admin/login",
                                  {"username": admin_name, "password": ADMIN_PASSWORD},
                                  record=False)
            if answer.status == 200:
                self.admin = answer.data["access_token"]
                return
            time.sleep(0.3)
        sys.exit(f"soak: the admin cannot log in: {answer.status} {answer.body}")

    def set_up(self, admin_name):
        self.admin_login(admin_name)
        answer = self.request("set_up", "POST", "/api/services/service-b/rotate-key", {},
                              bearer=self.admin, record=False)
        if answer.status != 200:
            sys.exit(f"soak: no ServiceB key: {answer.status} {answer.body}")
        self.service_key = answer.data["api_key"]

    # ---- mail ------------------------------------------------------------------------------------

    def read_mail(self):
        """Verification tokens of new messages in the outbox, by recipient."""
        try:
            names = [p for p in self.outbox.iterdir() if p.suffix == ".eml"]
        except FileNotFoundError:
            return
        for path in names:
            if path.name in self.mail_seen:
                continue
            try:
                mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                text = mail.get_body(preferencelist=("plain",)).get_content()
            except (OSError, AttributeError, LookupError):
                continue  # Still being written; read it next time.
            self.mail_seen.add(path.name)
            if "Verify your email" not in str(mail["Subject"]):
                continue
            found = re.search(r"token=([A-Za-z0-9._~%-]+)", text)
            if found:
                with self.lock:
                    self.tokens_by_mail[str(mail["To"]).strip("<> ")] = found.group(1)

    def mail_reader(self):
        while not self.stop.is_set():
            self.read_mail()
            time.sleep(0.3)

    # ---- operations ------------------------------------------------------------------------------

    def pick(self, items, wanted, claim=None):
        """One of `items` for which `wanted` holds, at random; with `claim`, updated by it in the
        same step, so no two workers take the same one."""
        with self.lock:
            chosen = [item for item in items if wanted(item)]
            item = random.choice(chosen) if chosen else None
            if item is not None and claim:
                claim(item)
        return item

    def op_register(self):
        name = self.fresh_name()
        address = f"{name}@example.com"
        answer = self.request("register", "POST", "/api/register", {
            "email": address, "username": name, "full_name": "Soak Person",
            "password": PASSWORD, "password_confirmation": PASSWORD,
        }, expect=(201,))
        if answer.status == 201:
            with self.lock:
                self.accounts.append({"username": name, "email": address,
                                      "user_id": answer.data["user_id"], "state": "unverified"})

    def op_verify(self):
        account = self.pick(
            self.accounts,
            lambda a: a["state"] == "unverified" and a["email"] in self.tokens_by_mail,
            claim=lambda a: a.update(state="verifying"))
        if account is None:
            return self.op_register()
        token = self.tokens_by_mail[account["email"]]
        answer = self.request("verify", "POST", "/api/auth/verify-email", {"token": token})
        # Without an answer the token may or may not be spent: the checks look at the account.
        account["state"] = "pending" if answer.status == 200 else "unknown"

    def op_approve(self):
        account = self.pick(self.accounts, lambda a: a["state"] == "pending",
                            claim=lambda a: a.update(state="approving"))
        if account is None:
            return self.op_verify()
        answer = self.request("approve", "POST", f"/api/admin/approve/{account['user_id']}", {},
                              bearer=self.admin)
        account["state"] = "active" if answer.status == 200 else "unknown"

    def active_account(self):
        return self.pick(self.accounts, lambda a: a["state"] == "active")

    def login(self, op, account):
        answer = self.request(op, "POST", "/api/auth/login",
                              {"login": account["username"], "password": PASSWORD})
        if answer.status != 200:
            return None
        token = answer.data["access_token"]
        self.remember("api", token, account, answer.received, sid=claims(token)["sid"])
        return token

    def remember(self, kind, token, account, acked, **extra):
        with self.lock:
            self.credentials.append({"kind": kind, "token": token, "owner": account,
                                     "acked": acked, "revoking": False, "revoked_at": None,
                                     **extra})

    def op_password_login(self):
        account = self.active_account()
        if account is None:
            return self.op_approve()
        self.login("password_login", account)

    def op_qr_login(self):
        account = self.active_account()
        if account is None:
            return self.op_approve()
        challenge = self.request("qr_generate", "POST", "/api/auth/qr/generate", {},
                                 api_key=self.service_key, expect=(201,))
        if challenge.status != 201:
            return
        qr_token = challenge.data["qr_token"]
        phone = self.login("qr_phone_login", account)
        if phone is None:
            return
        scan = self.request("qr_scan", "POST", "/api/auth/qr/scan", {"qr_token": qr_token},
                            bearer=phone)
        if scan.status != 200:
            return
        verified = self.request("pin_verify", "POST", "/api/auth/pin/verify",
                                {"qr_token": qr_token, "pin": scan.data["pin"]},
                                api_key=self.service_key)
        if verified.status == 200:
            token = verified.data["session_token"]
            self.remember("service", token, account, verified.received, sid=claims(token)["sid"])

    def use(self, op, credential):
        """One request with `credential` where it is meant to work."""
        if credential["kind"] == "service":
            return self.request(op, "GET", "/", bearer=credential["token"],
                                host="service-b.localhost", expect=self.expected(credential))
        return self.request(op, "GET", "/api/users/me", bearer=credential["token"],
                            expect=self.expected(credential))

    @staticmethod
    def expected(credential):
        # A credential being revoked may be refused from the moment the revocation is sent.
        return (200, 401) if credential["revoking"] else (200,)

    def live(self, kind):
        return self.pick(self.credentials,
                         lambda c: c["kind"] == kind and not c["revoking"])

    def op_service_traffic(self):
        credential = self.live("service")
        if credential is None:
            return self.op_qr_login()
        self.use("service_traffic", credential)

    def op_api_call(self):
        credential = self.live("api")
        if credential is None:
            return self.op_password_login()
        self.use("api_call", credential)

    def op_pat_create(self):
        access = self.live("api")
        if access is None:
            return self.op_password_login()
        answer = self.request("pat_create", "POST", "/api/users/me/tokens", {
            "name": self.fresh_name(), "expires_in_days": 30, "services": ["service-b"],
        }, bearer=access["token"], expect=(201,))
        if answer.status == 201:
            self.remember("pat", answer.data["token"], access["owner"], answer.received,
                          id=answer.data["id"], access=access)

    def op_pat_use(self):
        credential = self.live("pat")
        if credential is None:
            return self.op_pat_create()
        if random.random() < 0.5:
            self.request("pat_use", "GET", "/", bearer=credential["token"],
                         host="service-b.localhost", expect=self.expected(credential))
        else:
            self.use("pat_use", credential)

    def op_revoke(self):
        kind = random.choice(["service", "service", "api", "pat"])

        def claim(credential):
            credential["revoking"] = True
            if kind == "pat":
                # Deleted by its owner with the access token it was made with, which nobody may
                # revoke meanwhile.
                credential["access"]["revoking"] = True

        credential = self.pick(
            self.credentials,
            lambda c: c["kind"] == kind and not c["revoking"]
            and not (kind == "pat" and c["access"]["revoking"]),
            claim=claim)
        if credential is None:
            return
        if kind == "service":
            answer = self.request("revoke_session", "DELETE",
                                  f"/api/admin/sessions/{credential['sid']}", bearer=self.admin)
        elif kind == "api":
            answer = self.request("logout", "POST", "/api/auth/logout", {},
                                  bearer=credential["token"])
        else:
            answer = self.request("pat_delete", "DELETE",
                                  f"/api/users/me/tokens/{credential['id']}",
                                  bearer=credential["access"]["token"])
            with self.lock:
                credential["access"]["revoking"] = False
        if answer.status == 200:
            credential["revoked_at"] = answer.received
        else:
            credential["unknown"] = True  # Revoked or not: left out of the checks.

    def probe(self, op, credential):
        if credential["kind"] == "service" or (credential["kind"] == "pat" and
                                               random.random() < 0.5):
            answer = self.request(op, "GET", "/", bearer=credential["token"],
                                  host="service-b.localhost", expect=(200, 401))
        else:
            answer = self.request(op, "GET", "/api/users/me", bearer=credential["token"],
                                  expect=(200, 401))
        if answer.sent > credential["revoked_at"] + REVOCATION_GRACE:
            with self.lock:
                self.probes_after_revocation += 1
                if answer.status == 200:
                    self.late_acceptances.append({
                        "kind": credential["kind"], "port": answer.port,
                        "after_ms": round(1000 * (answer.sent - credential["revoked_at"])),
                    })
        return answer

    def op_probe_revoked(self):
        credential = self.pick(self.credentials, lambda c: c["revoked_at"] is not None)
        if credential is None:
            return self.op_revoke()
        self.probe("probe_revoked", credential)

    # ---- the run ---------------------------------------------------------------------------------

    def worker(self, pace):
        operations, weights = zip(*MIX)
        while not self.stop.is_set():
            began = time.monotonic()
            name = random.choices(operations, weights)[0]
            getattr(self, f"op_{name}")()
            rest = pace - (time.monotonic() - began)
            if rest > 0:
                self.stop.wait(rest)

    def run(self, duration, workers, rate):
        reader = threading.Thread(target=self.mail_reader, daemon=True)
        reader.start()
        # Each worker starts an operation every `pace` seconds at most: the load is bounded.
        pace = workers / rate
        threads = [threading.Thread(target=self.worker, args=(pace,), daemon=True)
                   for _ in range(workers)]
        for thread in threads:
            thread.start()
        self.stop.wait(duration)
        self.stop.set()
        for thread in threads:
            thread.join(TIMEOUT + 5)
        reader.join(5)


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# ---- the checks ----------------------------------------------------------------------------------

def read_faults(path, done_path, wait):
    deadline = time.time() + wait
    while not pathlib.Path(done_path).exists():
        if time.time() > deadline:
            sys.exit("soak: the fault schedule did not finish")
        time.sleep(0.5)
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line]


def wait_until_healthy(soak):
    deadline = time.time() + 60
    for port in soak.ports:
        while soak.request("health", "GET", "/health", port=port, record=False).status != 200:
            if time.time() > deadline:
                sys.exit(f"soak: gateway {port} is not healthy after the load")
            time.sleep(0.5)


def finish_accounts(soak):
    """Check 1: each acknowledged account exists, is finished if it is not active, and logs in."""
    failures = []
    finished_now = 0
    soak.read_mail()
    for account in soak.accounts:
        got = soak.request("check_account", "GET", f"/api/admin/users/{account['user_id']}",
                           bearer=soak.admin, record=False)
        if got.status != 200:
            failures.append(f"{account['username']}: admin lookup {got.status} {got.code}")
            continue
        status = got.data.get("status")
        if status == "unverified":
            token = soak.tokens_by_mail.get(account["email"])
            verified = token and soak.request("check_account", "POST", "/api/auth/verify-email",
                                              {"token": token}, record=False).status == 200
            if not verified:
                failures.append(f"{account['username']}: cannot be verified")
                continue
            status = "pending"
        if status == "pending":
            approved = soak.request("check_account", "POST",
                                    f"/api/admin/approve/{account['user_id']}", {},
                                    bearer=soak.admin, record=False)
            if approved.status != 200:
                failures.append(f"{account['username']}: approval {approved.status}")
                continue
            status = "active"
        if status != "active":
            failures.append(f"{account['username']}: {status}")
            continue
        if account["state"] != "active":
            finished_now += 1
        login = soak.request("check_account", "POST", "/api/auth/login",
                             {"login": account["username"], "password": PASSWORD}, record=False)
        if login.status != 200:
            failures.append(f"{account['username']}: login {login.status} {login.code}")
    return finished_now, failures


def check_credentials(soak):
    """Checks 2 and 3 on each credential: live ones work, revoked ones are refused."""
    live = revoked = 0
    failures = []
    for credential in soak.credentials:
        if credential.get("unknown"):
            continue
        if credential["revoked_at"] is not None:
            revoked += 1
            soak.probe("check_revoked", credential)
            continue
        if credential["revoking"]:
            continue
        live += 1
        answer = soak.use("check_live", credential)
        if answer.status != 200:
            failures.append(f"{credential['kind']} of {credential['owner']['username']}: "
                            f"{answer.status} {answer.code}")
    return live, revoked, failures


def check_errors(soak, faults):
    """Check 4: what was not the expected answer happened inside a fault window, as a 503 with
    Retry-After, or as no answer from the gateway that was down."""
    windows = [(f["start"], f["end"] + FAULT_GRACE, f) for f in faults]
    failures = []
    tally = {"503": 0, "503_without_retry_after": 0, "unanswered": 0}
    per_fault = {f["fault"]: {} for f in faults}
    for answer in soak.unexpected:
        inside = [f for start, end, f in windows
                  if answer.sent <= end and answer.received >= start]
        for fault in inside:
            counts = per_fault[fault["fault"]]
            counts[answer.status] = counts.get(answer.status, 0) + 1
        what = (f"{answer.op} on {answer.port}: {answer.status or answer.error} {answer.code or ''}"
                f" at +{answer.sent - soak.started:.1f}s")
        if answer.status == 503:
            tally["503"] += 1
            if not answer.retry_after:
                tally["503_without_retry_after"] += 1
                failures.append(f"503 without Retry-After: {what}")
            if not inside:
                failures.append(f"503 outside every fault window: {what}")
        elif answer.status == 0:
            tally["unanswered"] += 1
            down = [f for f in inside if f.get("port") == answer.port]
            if not down:
                failures.append(f"no answer outside the gateway's own outage: {what}")
        else:
            failures.append(f"unexpected answer: {what}")
    return tally, per_fault, failures


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", required=True, help="the gateways' ports, comma separated")
    parser.add_argument("--admin", required=True, help="an admin's username, made with ADMIN_PASSWORD")
    parser.add_argument("--outbox", required=True, help="the gateways' shared mail outbox")
    parser.add_argument("--faults", required=True, help="JSON lines of the fault windows")
    parser.add_argument("--faults-done", required=True, help="written when the schedule ends")
    parser.add_argument("--started", required=True, help="written when the load starts")
    parser.add_argument("--summary", required=True, help="where the figures go, as JSON")
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--rate", type=float, default=25, help="operations per second, at most")
    args = parser.parse_args()

    soak = Soak(args)
    soak.set_up(args.admin)
    soak.started = time.time()
    pathlib.Path(args.started).write_text(f"{soak.started}\n")
    log(f"load: {args.duration:.0f} s, {args.workers} workers, at most {args.rate}/s, "
        f"gateways {soak.ports}")
    soak.run(args.duration, args.workers, args.rate)
    load_ended = time.time()
    load_requests = soak.answers
    log(f"load over: {soak.answers} requests; waiting for the fault schedule, then checking")

    faults = read_faults(args.faults, args.faults_done, 120)
    wait_until_healthy(soak)
    soak.admin_login(args.admin)
    finished_now, account_failures = finish_accounts(soak)
    live, revoked, credential_failures = check_credentials(soak)
    tally, per_fault, error_failures = check_errors(soak, faults)
    late = soak.late_acceptances

    active_during_load = sum(1 for a in soak.accounts if a["state"] == "active")
    kinds = {k: sum(1 for c in soak.credentials if c["kind"] == k) for k in ("api", "service", "pat")}
    checks = {
        "accounts": not account_failures,
        "live_credentials": not credential_failures,
        "revocations": not late,
        "errors": not error_failures,
    }
    summary = {
        "duration_s": round(load_ended - soak.started, 1),
        "gateways": len(soak.ports),
        "requests": load_requests,
        "requests_per_s": round(load_requests / max(1.0, load_ended - soak.started), 1),
        "check_requests": soak.answers - load_requests,
        "by_operation": {op: dict(sorted(c.items())) for op, c in sorted(soak.by_op.items())},
        "latency_ms_p50_p99": {op: [percentile(v, 0.5), percentile(v, 0.99)]
                               for op, v in sorted(soak.latencies.items())},
        "faults": [{"fault": f["fault"], "at_s": round(f["start"] - soak.started, 1),
                    "lasted_s": round(f["end"] - f["start"], 1),
                    "unexpected_answers": dict(sorted(per_fault[f["fault"]].items()))}
                   for f in faults],
        "accounts_acknowledged": len(soak.accounts),
        "accounts_active_during_load": active_during_load,
        "accounts_finished_by_check": finished_now,
        "credentials_acknowledged": kinds,
        "credentials_live_checked": live,
        "revocations_acknowledged": revoked,
        "probes_after_revocation": soak.probes_after_revocation,
        "revoked_accepted_late": len(late),
        "unexpected": tally,
        "checks": checks,
    }
    pathlib.Path(args.summary).write_text(json.dumps(summary, indent=2) + "\n")

    print(f"load {summary['duration_s']} s on {len(soak.ports)} gateways: "
          f"{load_requests} requests ({summary['requests_per_s']}/s), then "
          f"{summary['check_requests']} for the checks")
    for op, counts in summary["by_operation"].items():
        p50, p99 = summary["latency_ms_p50_p99"].get(op, [None, None])
        print(f"  {op:<16} {counts}  p50 {p50} ms  p99 {p99} ms")
    for fault in summary["faults"]:
        print(f"fault {fault['fault']:<16} at +{fault['at_s']} s for {fault['lasted_s']} s; "
              f"other answers by status (0: none) within it +2 s: "
              f"{fault['unexpected_answers']}")
    print(f"accounts: {len(soak.accounts)} acknowledged ({active_during_load} active during the "
          f"load, {finished_now} verified/approved by the check), "
          f"{len(account_failures)} failed")
    print(f"credentials: {kinds} acknowledged; {live} live ones checked, "
          f"{len(credential_failures)} refused")
    print(f"revocations: {revoked} acknowledged, {soak.probes_after_revocation} tries after them, "
          f"{len(late)} accepted late")
    print(f"unexpected answers: {tally['503']} x 503 ({tally['503_without_retry_after']} without "
          f"Retry-After), {tally['unanswered']} unanswered at the stopped gateway, "
          f"{len(error_failures)} not allowed")
    problems = account_failures + credential_failures + error_failures + [
        f"revoked {c['kind']} accepted {c['after_ms']} ms after the revocation at {c['port']}"
        for c in late]
    for problem in problems[:40]:
        print(f"  FAIL {problem}")
    if len(problems) > 40:
        print(f"  ... and {len(problems) - 40} more")
    verdict = "passed" if all(checks.values()) else "FAILED"
    print(f"soak {verdict}: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}"
                                         for k, v in checks.items()))
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
