"""schemathesis hooks for the gateway (loaded through SCHEMATHESIS_HOOKS).

Every operation is tested as generated, the ones that change the world included; these hooks only
put back, after such a change succeeded, what the rest of the run stands on, so that it keeps
testing the API in the state the test set up instead of refusals that follow from an earlier case:

- operating hours: a generated schedule is mostly closed now, which would turn every login route
  into 503 SYSTEM_CLOSED; they are put back to open around the clock;
- the test person: deleted (by themselves or an admin) is restored, blocked is unblocked, an
  address an admin gave them is put back (they sign in by it);
- the test service (service-b): disabled is enabled again; a rotated API key replaces the old one
  in the requests that follow (where a request carries the old key).

And one failure is not counted: a "schema-valid request rejected" (ST202) whose 422 names only
fields of a rule JSON Schema cannot state, listed in CROSS_FIELD_RULES with the rule. Any other
field in the refusal, or any other status, still fails the run.
"""

import json
import os
import re
import urllib.error
import urllib.request

import schemathesis

ALWAYS_OPEN = {
    "timezone": "UTC",
    "weekly": {day: {"open": "00:00", "close": "24:00"}
               for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "exceptions": [],
    "warning_minutes": 15,
}

SERVICE = "service-b"
_key = {"original": os.environ.get("ST_SERVICE_KEY", ""), "current": os.environ.get("ST_SERVICE_KEY", "")}


# Per operation: the fields (patterns over `details.fields[].field`) of rules that depend on
# another field, on stored data, or on a strength estimate, which JSON Schema cannot say.
CROSS_FIELD_RULES = {
    # The password's strength (zxcvbn) and that it holds no part of the email or username; the
    # confirmation equals the password.
    ("POST", "/api/register"): [r"password", r"password_confirmation"],
    ("POST", "/api/auth/password/reset"): [r"new_password"],
    # The current password is the account's (stored data).
    ("PUT", "/api/users/me/password"): [r"current_password", r"new_password"],
    # The refresh token comes from the body or else from the cookie: one of two places.
    ("POST", "/api/auth/refresh"): [r"refresh_token"],
    # At least one of full_name and username.
    ("PUT", "/api/users/me"): [r"body"],
    # Each day closes after it opens; a date is listed once.
    ("PUT", "/api/admin/schedule"): [r"weekly\.\w+", r"exceptions\[\d+\]\.(hours|date)"],
    # Hosts, unless served under a path prefix that shares the gateway's origin, which needs one.
    ("POST", "/api/services/register"): [r"hosts", r"share_gateway_origin"],
    ("PUT", "/api/services/{slug}"): [r"hosts"],
    # The services a person's token names must exist, and be at least one.
    ("POST", "/api/users/me/tokens"): [r"services(\[\d+\])?"],
}


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if getattr(failure, "code", None) != "ST202" or response.status_code != 422:
        return True
    rules = CROSS_FIELD_RULES.get((case.operation.method.upper(), case.operation.path))
    if not rules:
        return True
    try:
        fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
    except (ValueError, KeyError, TypeError):
        return True
    return not fields or not all(any(re.fullmatch(rule, f) for rule in rules) for f in fields)


def _call(method, path, body=None, token=None):
    request = urllib.request.Request(
        os.environ["ST_GATEWAY"] + path,
        data=json.dumps(body if body is not None else {}).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _as_admin(method, path, body=None):
    """Best effort: a restore that finds nothing to restore (409) is fine."""
    login = _call("POST", "/api/admin/login", {
        "username": os.environ["ST_ADMIN_LOGIN"],
        "password": os.environ["ST_ADMIN_PASSWORD"],
    })
    try:
        return _call(method, path, body, login["data"]["access_token"])
    except urllib.error.HTTPError as error:
        if error.code != 409:
            raise
        return None


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == "x-api-key" and value == _key["original"] != _key["current"]:
            headers[name] = _key["current"]


@schemathesis.hook
def after_call(context, case, response):
    if not 200 <= response.status_code < 300:
        return
    route = (case.operation.method.upper(), case.operation.path)
    params = case.path_parameters or {}
    user = os.environ["ST_USER_ID"]
    if route == ("PUT", "/api/admin/schedule"):
        _as_admin("PUT", "/api/admin/schedule", ALWAYS_OPEN)
    elif route == ("DELETE", "/api/users/me") or (
        route == ("DELETE", "/api/admin/users/{id}") and params.get("id") == user
    ):
        _as_admin("POST", f"/api/admin/users/{user}/restore")
    elif route == ("PUT", "/api/admin/users/{id}") and params.get("id") == user:
        # The person signs in by this address.
        _as_admin("PUT", f"/api/admin/users/{user}", {"email": os.environ["ST_USER_LOGIN"]})
    elif route == ("POST", "/api/admin/users/{id}/block") and params.get("id") == user:
        _as_admin("POST", f"/api/admin/users/{user}/unblock")
    elif route == ("POST", "/api/services/{slug}/disable") and params.get("slug") == SERVICE:
        _as_admin("POST", f"/api/services/{SERVICE}/enable")
    elif route == ("POST", "/api/services/{slug}/rotate-key") and params.get("slug") == SERVICE:
        _key["current"] = response.json()["data"]["api_key"]
