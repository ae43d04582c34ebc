#!/usr/bin/env python3
"""The auth service of the stack bench/peer.sh compares the gateway with: nginx `auth_request`
asks it about every request, and it checks the bearer token with PyJWT (EdDSA, `exp`, `iss`,
`aud`, the key loaded once), the way a small team would put a login in front of its services
without a gateway.

    bench/seeds_auth.py token KEY_DIR          # makes the key if needed, prints a 1-hour token
    bench/seeds_auth.py serve KEY_DIR PORT     # answers GET /auth: 200 or 401

Needs fastapi, uvicorn and pyjwt[crypto] (scripts/install-prerequisites.sh bench).
"""

import pathlib
import sys
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER = "bench-seeds"
AUDIENCE = "service-b"


def private_key(key_dir: pathlib.Path) -> Ed25519PrivateKey:
    path = key_dir / "seeds.key"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def token(key_dir: pathlib.Path) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "iat": now, "exp": now + 3600}
    return jwt.encode(claims, private_key(key_dir), algorithm="EdDSA")


def serve(key_dir: pathlib.Path, port: int) -> None:
    import uvicorn
    from fastapi import FastAPI, Request, Response

    public = private_key(key_dir).public_key()
    app = FastAPI()

    @app.get("/auth")
    def auth(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return Response(status_code=401)
        try:
            jwt.decode(
                header[len("Bearer ") :],
                public,
                algorithms=["EdDSA"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub"]},
            )
        except jwt.InvalidTokenError:
            return Response(status_code=401)
        return Response(status_code=200)

    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, access_log=False, log_level="warning")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "token":
        print(token(pathlib.Path(sys.argv[2])))
    elif len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(pathlib.Path(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(__doc__)
