#!/usr/bin/env python3
"""Verify gateway-style assertion tokens with PyJWT in a loop and print tokens/s.

The baseline for `auth-sdk`'s benchmark (`cargo bench -p auth-sdk`): the same token shape
(EdDSA, `kid` header, the gateway's claims) verified the way a Python service would, with the
key already cached: read the `kid`, look the key up, check signature, `exp`, `nbf`, `iss`,
`aud`, the required claims and the token kind.

    python3 bench/pyjwt_verify.py [--seconds 5] [--rounds 3]

Needs `pip install 'pyjwt[crypto]'`.
"""

import argparse
import base64
import hashlib
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER = "auth-gateway"
AUDIENCE = "service-b"
ACCEPTED_KINDS = {"assertion", "session"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(public_raw: bytes) -> str:
    """RFC 7638 thumbprint of an Ed25519 key, as the gateway names its keys."""
    canonical = '{"crv":"Ed25519","kty":"OKP","x":"%s"}' % b64url(public_raw)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def make_token(private_key, kid: str) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": str(uuid.uuid4()),
        "aud": AUDIENCE,
        "exp": now + 3600,
        "nbf": now,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "typ": "assertion",
        "sid": str(uuid.uuid4()),
        "role": "user",
        "username": "alice",
        "email": "alice@example.com",
        "name": "Alice Example",
    }
    return jwt.encode(claims, private_key, algorithm="EdDSA", headers={"kid": kid, "typ": "JWT"})


def verify(token: str, keys: dict) -> dict:
    header = jwt.get_unverified_header(token)
    key = keys[header["kid"]]
    claims = jwt.decode(
        token,
        key,
        algorithms=["EdDSA"],
        audience=AUDIENCE,
        issuer=ISSUER,
        leeway=10,
        options={"require": ["exp", "nbf", "iss", "aud", "sub"]},
    )
    if claims.get("typ") not in ACCEPTED_KINDS:
        raise jwt.InvalidTokenError("unexpected token kind")
    return claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is reported")
    args = parser.parse_args()

    private_key = Ed25519PrivateKey.generate()
    public_key = private_key.public_key()
    public_raw = public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    kid = thumbprint(public_raw)
    keys = {kid: public_key}
    token = make_token(private_key, kid)
    verify(token, keys)  # fails loudly if the setup is wrong

    rates = []
    for _ in range(args.rounds):
        count = 0
        start = time.perf_counter()
        deadline = start + args.seconds
        while True:
            for _ in range(100):
                verify(token, keys)
            count += 100
            now = time.perf_counter()
            if now >= deadline:
                break
        rates.append(count / (now - start))

    best = max(rates)
    print(
        f"pyjwt {jwt.__version__}: {best:,.0f} tokens/s "
        f"({1e6 / best:.1f} us/token; rounds: {', '.join(f'{r:,.0f}' for r in rates)})"
    )


if __name__ == "__main__":
    main()
