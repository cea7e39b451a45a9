"""Supabase JWTs: verify them as Supabase's services do, and mint the local stack's keys and user tokens.

Verification (the edge functions, the local Realtime server): HS256 with the project's JWT secret, or an asymmetric
key (RS256, ES256, EdDSA) from the JWKS URL when one is configured. `exp` is required and checked; `aud` is not
(anon and service keys carry none, user tokens carry `authenticated`); a `role` claim is required because every
consumer switches to that role. Anything wrong raises InvalidToken with a reason fit to show the caller.

Minting exists because no GoTrue runs locally: `supakit auth keys` prints the anon and service_role keys for the
local stack and `supakit auth token EMAIL` a user's access token, shaped like GoTrue's (reference:
supabase-surface.md, "JWT claims").
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jwt

from functions_py.errors import ConfigError, SupakitError

# The Supabase CLI's local default: with it, the well-known local anon and service keys verify unchanged.
LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
LOCAL_ISSUER = "supabase-demo"
LOCAL_KEY_EXPIRY = 1983812996  # the Supabase CLI's local keys expire in 2032; ours match them byte for byte
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256", "EdDSA")
MIN_SECRET_LENGTH = 32


class InvalidToken(SupakitError):
    """The token is not a valid Supabase JWT for this project; sign in again or use the project's keys."""

    exit_code = 2


@dataclass(frozen=True)
class TokenSettings:
    """Where verification keys come from: SUPAKIT_JWT_SECRET (HS256) and SUPAKIT_JWKS_URL (asymmetric)."""

    secret: str
    jwks_url: str | None = None
    secret_is_default: bool = False

    @classmethod
    def from_env(cls, *, require_explicit: bool = False) -> TokenSettings:
        """Settings from the environment. Without SUPAKIT_JWT_SECRET the Supabase CLI's local default is used,
        which anyone can sign with: `require_explicit` (any non-local deployment) refuses that."""
        secret = os.environ.get("SUPAKIT_JWT_SECRET") or ""
        jwks_url = os.environ.get("SUPAKIT_JWKS_URL") or None
        if secret and len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(f"SUPAKIT_JWT_SECRET is {len(secret)} characters; use the project's JWT secret "
                              f"(at least {MIN_SECRET_LENGTH}), from the Supabase dashboard, API settings.")
        if not secret and require_explicit and not jwks_url:
            raise ConfigError("no JWT verification key configured: set SUPAKIT_JWT_SECRET to the project's JWT "
                              "secret (or SUPAKIT_JWKS_URL to its JWKS endpoint); the local default secret is "
                              "public and would accept forged tokens.")
        return cls(secret=secret or LOCAL_JWT_SECRET, jwks_url=jwks_url, secret_is_default=not secret)


class TokenVerifier:
    """Verifies Supabase access tokens and API keys; safe to share across requests (the JWKS is cached)."""

    def __init__(self, settings: TokenSettings, *, leeway_s: float = 0) -> None:
        self.settings = settings
        self.leeway_s = leeway_s

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient:
        assert self.settings.jwks_url
        return jwt.PyJWKClient(self.settings.jwks_url, cache_keys=True, lifespan=600, timeout=5)

    def _key(self, token: str, header: dict[str, Any]) -> tuple[Any, list[str]]:
        algorithm = header.get("alg")
        if algorithm == "HS256":
            return self.settings.secret, ["HS256"]
        if algorithm in ASYMMETRIC_ALGORITHMS:
            if not self.settings.jwks_url:
                raise InvalidToken(f"the token is signed with {algorithm} but no JWKS URL is configured "
                                   "(SUPAKIT_JWKS_URL)", reason="unsupported_algorithm")
            try:
                return self._jwks.get_signing_key_from_jwt(token).key, [algorithm]
            except jwt.PyJWKClientError as error:
                raise InvalidToken(f"no signing key for the token: {error}", reason="unknown_key") from None
        raise InvalidToken(f"unsupported signing algorithm {algorithm!r}; Supabase tokens use HS256, RS256, "
                           "ES256 or EdDSA", reason="unsupported_algorithm")

    def verify(self, token: str | None) -> dict[str, Any]:
        """The token's claims, or InvalidToken naming what is wrong (`.reason`: missing, malformed, expired,
        bad_signature, unsupported_algorithm, unknown_key, no_role)."""
        if not token:
            raise InvalidToken("no token: send the anon key or a user's access token", reason="missing")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise InvalidToken("the token is not a JWT (expected three base64url parts)", reason="malformed") \
                from None
        key, algorithms = self._key(token, header)
        try:
            claims = jwt.decode(token, key, algorithms=algorithms, leeway=self.leeway_s,
                                options={"require": ["exp"], "verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired; refresh the session", reason="expired") from None
        except jwt.MissingRequiredClaimError:
            raise InvalidToken("the token has no exp claim; Supabase tokens always expire", reason="malformed") \
                from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not match this project's key", reason="bad_signature") \
                from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"the token is invalid: {error}", reason="malformed") from None
        if not isinstance(claims.get("role"), str) or not claims["role"]:
            raise InvalidToken("the token has no role claim", reason="no_role")
        return claims


def sign(claims: dict[str, Any], secret: str) -> str:
    """An HS256 JWT over `claims` (header exactly as Supabase's: alg then typ)."""
    return jwt.encode(claims, secret, algorithm="HS256", headers={"alg": "HS256", "typ": "JWT"})


def api_key(role: str, secret: str) -> str:
    """The local stack's `anon` or `service_role` key: the Supabase CLI's payload, so with the default secret
    it equals the CLI's well-known local key."""
    if role not in ("anon", "service_role"):
        raise ConfigError(f"no API key for role {role!r}; API keys exist for anon and service_role")
    return sign({"iss": LOCAL_ISSUER, "role": role, "exp": LOCAL_KEY_EXPIRY}, secret)


def user_token(user_id: uuid.UUID | str, secret: str, *, email: str | None = None, expires_in_s: int = 3600,
               issuer: str = "http://127.0.0.1:54321/auth/v1", now: float | None = None) -> str:
    """An access token for a user, with the claims GoTrue puts in one (aud authenticated, role authenticated,
    sub, email, aal, amr, session_id, metadata)."""
    if expires_in_s <= 0:
        raise ConfigError(f"a token must expire in the future; got expires_in_s={expires_in_s}")
    from functions_py.auth.claims import access_token_claims, amr_entries

    issued = int(now if now is not None else time.time())
    return sign(access_token_claims(
        user_id=str(user_id), aud="authenticated", role="authenticated", email=email or "", phone="",
        app_metadata={"provider": "email", "providers": ["email"]}, user_metadata={},
        session_id=str(uuid.uuid4()), amr=amr_entries([("password", issued)]), aal="aal1", is_anonymous=False,
        issuer=issuer, issued_at=issued, expires_in_s=expires_in_s), secret)
