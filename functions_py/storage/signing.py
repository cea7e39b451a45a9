"""Signed-URL tokens as Storage issues them (local-api-surface.md §3.5): HS256 JWTs over `{url: "<bucket>/<key>",
scope, iat, exp}` for downloads and `{owner, url, upsert, scope, iat, exp}` for uploads. Verification checks the
signature, the scope, that `url` names exactly the requested object, and the expiry, answering Storage's errors.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from functions_py.storage import errors

SCOPE_DOWNLOAD = "download"
SCOPE_UPLOAD = "upload"
UPLOAD_URL_EXPIRY_S = 7200  # storage-api's signedUploadUrlExpirationTime default: two hours


class Signer:
    """Signs and verifies URL tokens with one secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def _sign(self, claims: dict[str, Any], expires_in: int) -> str:
        issued = int(time.time())
        payload = {**claims, "iat": issued, "exp": issued + int(expires_in)}
        return jwt.encode(payload, self.secret, algorithm="HS256", headers={"alg": "HS256", "typ": "JWT"})

    def sign_download(self, url: str, expires_in: int, *, transformations: str | None = None) -> str:
        claims: dict[str, Any] = {"url": url, "scope": SCOPE_DOWNLOAD}
        if transformations:
            claims["transformations"] = transformations
        return self._sign(claims, expires_in)

    def sign_upload(self, url: str, owner: str | None, upsert: bool, expires_in: int = UPLOAD_URL_EXPIRY_S) -> str:
        claims: dict[str, Any] = {"url": url, "upsert": bool(upsert), "scope": SCOPE_UPLOAD}
        if owner:
            claims["owner"] = owner
        return self._sign(claims, expires_in)

    def verify(self, token: str | None, url: str, scope: str) -> dict[str, Any]:
        """The token's claims when it grants `scope` on `url` and has not expired; Storage's error otherwise."""
        if not token:
            raise errors.invalid_signature("Missing token")
        try:
            payload = jwt.decode(token, self.secret, algorithms=["HS256"], options={"verify_aud": False})
        except jwt.ExpiredSignatureError:
            # storage-api verifies the JWT (jose) first: an expired token is InvalidJWT with jose's message
            raise errors.invalid_jwt('"exp" claim timestamp check failed') from None
        except jwt.InvalidSignatureError:
            raise errors.invalid_jwt("signature verification failed") from None
        except jwt.InvalidTokenError:
            raise errors.invalid_jwt("Invalid Compact JWS") from None
        token_scope = payload.get("scope")
        if token_scope is not None and token_scope != scope:
            raise errors.invalid_signature(f"Token is not scoped for {scope}")
        if scope == SCOPE_UPLOAD and token_scope is None and "upsert" not in payload:
            raise errors.invalid_signature(f"Token is not scoped for {scope}")
        if payload.get("url") != url:
            raise errors.invalid_signature()
        exp = payload.get("exp")
        if not isinstance(exp, int | float) or exp < time.time():
            raise errors.expired_signature()
        return payload
