"""Verifies a token the gateway issued with PyJWT, using nothing but the published JWKS.

Usage: verify_with_pyjwt.py JWKS_URL TOKEN AUDIENCE ISSUER
Prints the subject and exits 0 when the token verifies; exits 1 with the reason when it does not.
"""

import json
import sys
import urllib.request

import jwt


def main() -> int:
    jwks_url, token, audience, issuer = sys.argv[1:5]
    with urllib.request.urlopen(jwks_url, timeout=10) as response:
        jwks = json.load(response)
    kid = jwt.get_unverified_header(token).get("kid")
    keys = {key["kid"]: key for key in jwks["keys"]}
    if kid not in keys:
        print(f"unknown kid {kid!r}", file=sys.stderr)
        return 1
    public_key = jwt.PyJWK(keys[kid]).key
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["EdDSA"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    print(claims["sub"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
