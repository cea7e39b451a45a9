"""JWT authentication as PostgREST does it: no token → the anon role; a token is verified (HS256 secret or the
JWKS, through the gateway's TokenVerifier key selection) and its claims validated (exp, nbf, iat with 30 s of
skew, aud when jwt-aud is set); the role comes from the claim at `jwt-role-claim-key`. Failures are PostgREST's
401s (PGRST301 / PGRST302 / PGRST303 with `WWW-Authenticate: Bearer error="invalid_token", …`)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections import OrderedDict
from typing import Any

import jwt

from functions_py.rest import errors
from functions_py.tokens import InvalidToken, TokenVerifier

SKEW_S = 30
_PATH_PART = re.compile(r'\.(?:"((?:[^"\\]|\\.)*)"|([^."\[\]]+))|\[(\d+)\]')


def role_claim_path(key: str) -> list[str | int]:
    """`.role`, `."https://x".role`, `.roles[0]` → the path's keys and indexes."""
    path: list[str | int] = []
    for quoted, plain, index in _PATH_PART.findall(key):
        if index:
            path.append(int(index))
        else:
            path.append(quoted or plain)
    return path or ["role"]


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def claims_text(role: str, claims: dict[str, Any]) -> str:
    """`request.jwt.claims` as PostgREST sets it: the claims with `role` set to the role in effect."""
    return json.dumps({**claims, "role": role}, separators=(",", ":"))


class Authenticator:
    """Verifies bearer tokens and answers (role, the `request.jwt.claims` text); validated tokens are cached by
    their text until they expire, so a token's signature is checked once."""

    def __init__(self, verifier: TokenVerifier, *, anon_role: str | None, audience: str | None,
                 role_claim_key: str) -> None:
        self.verifier = verifier
        self.anon_role = anon_role or None
        self.audience = audience
        self.role_path = role_claim_path(role_claim_key)
        self._cache: OrderedDict[str, tuple[float, str, str]] = OrderedDict()
        self._anon = (self.anon_role, claims_text(self.anon_role, {})) if self.anon_role else None

    def authenticate(self, authorization: str | None) -> tuple[str, str]:
        token = None
        if authorization is not None:
            scheme, _, rest = authorization.partition(" ")
            if scheme.lower() == "bearer":
                token = rest.strip()
        if token is None:
            if self._anon is None:
                raise errors.jwt_required()
            return self._anon
        if token == "":
            raise errors.jwt_decode("Empty JWT is sent in Authorization header")
        now = time.time()
        hit = self._cache.get(token)
        if hit is not None and (hit[0] == 0 or hit[0] > now - SKEW_S):
            self._cache.move_to_end(token)
            return hit[1], hit[2]
        role, claims, expires = self._verify(token, now)
        text = claims_text(role, claims)
        self._cache[token] = (expires, role, text)
        if len(self._cache) > 1000:
            self._cache.popitem(last=False)
        return role, text

    def _verify(self, token: str, now: float) -> tuple[str, dict[str, Any], float]:
        parts = token.split(".")
        if len(parts) != 3:
            raise errors.jwt_decode(f"Expected 3 parts in JWT; got {len(parts)}")
        try:
            header = json.loads(_b64(parts[0]))
            if not isinstance(header, dict):
                raise ValueError
        except ValueError:
            raise errors.jwt_decode("JWT couldn't be decoded") from None
        try:
            key, algorithms = self.verifier._key(token, header)  # noqa: SLF001 - the gateway's key selection
        except InvalidToken as error:
            if error.reason == "unknown_key":
                raise errors.jwt_decode("No suitable key or wrong key type", str(error)) from None
            raise errors.jwt_decode("Wrong or unsupported encoding algorithm",
                                    f"{header.get('alg')} not supported") from None
        try:
            claims = jwt.decode(token, key, algorithms=algorithms,
                                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                         "verify_aud": False, "verify_iss": False})
        except jwt.InvalidSignatureError:
            raise errors.jwt_decode("JWT cryptographic operation failed") from None
        except jwt.DecodeError:
            raise errors.jwt_decode("JWT couldn't be decoded") from None
        except jwt.InvalidTokenError:
            raise errors.jwt_decode("JWT cryptographic operation failed") from None
        if not isinstance(claims, dict):
            raise errors.jwt_claims("Parsing claims failed")
        exp = claims.get("exp")
        for name, message in (("exp", "The JWT 'exp' claim must be a number"),
                              ("nbf", "The JWT 'nbf' claim must be a number"),
                              ("iat", "The JWT 'iat' claim must be a number")):
            value = claims.get(name)
            if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
                raise errors.jwt_claims(message)
        if exp is not None and now - SKEW_S > exp:
            raise errors.jwt_claims("JWT expired")
        nbf = claims.get("nbf")
        if nbf is not None and now + SKEW_S < nbf:
            raise errors.jwt_claims("JWT not yet valid")
        iat = claims.get("iat")
        if iat is not None and now + SKEW_S < iat:
            raise errors.jwt_claims("JWT issued at future")
        aud = claims.get("aud")
        if aud is not None:
            if isinstance(aud, str):
                auds = [aud]
            elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
                auds = aud
            else:
                raise errors.jwt_claims("The JWT 'aud' claim must be a string or an array of strings")
            if self.audience and auds and self.audience not in auds:
                raise errors.jwt_claims("JWT not in audience")
        role: Any = claims
        for step in self.role_path:
            if isinstance(step, int):
                role = role[step] if isinstance(role, list) and step < len(role) else None
            else:
                role = role.get(step) if isinstance(role, dict) else None
            if role is None:
                break
        if not isinstance(role, str) or not role:
            if self.anon_role is None:
                raise errors.jwt_required()
            role = self.anon_role
        return role, claims, float(exp) if exp is not None else 0.0
