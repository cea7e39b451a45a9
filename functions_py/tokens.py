"""Supabase JWTs: verify them as Supabase's services do, and mint the local stack's keys and user tokens.

Verification (every service behind the gateway, the edge functions, the local Realtime server): HS256 with the
project's JWT secret, or an asymmetric key (RS256, ES256, EdDSA): one of the project's own signing keys (the JWK file
of `[auth] signing_keys_path`, chosen by the token's `kid`) or one from the JWKS URL when one is configured. `exp`
is required and checked; `aud` is not (anon and service keys carry none, user tokens carry `authenticated`); a
`role` claim is required because every consumer switches to that role. Anything wrong raises InvalidToken with a
reason fit to show the caller.

Signing: with signing keys configured, user tokens are signed as GoTrue signs them with GOTRUE_JWT_KEYS: by the one
key whose `key_ops` has "sign" (RS256 or ES256), with its `kid` in the header; otherwise HS256 with the secret. The
anon and service_role keys stay HS256 (the CLI's well-known local keys). `supakit auth keys` prints those keys and
`supakit auth token EMAIL` a user's access token, shaped like GoTrue's (reference: supabase-surface.md, "JWT claims").
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt

from functions_py import config
from functions_py.config import Settings
from functions_py.errors import ConfigError, SupakitError

# The Supabase CLI's local default: with it, the well-known local anon and service keys verify unchanged.
LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
LOCAL_ISSUER = "supabase-demo"
LOCAL_KEY_EXPIRY = 1983812996  # the Supabase CLI's local keys expire in 2032; ours match them byte for byte
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256", "EdDSA")
SIGNING_ALGORITHMS = ("RS256", "ES256")  # what `supakit gen signing-key` (as `supabase gen signing-key`) makes
MIN_SECRET_LENGTH = 32
# JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1): never published.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class InvalidToken(SupakitError):
    """The token is not a valid Supabase JWT for this project; sign in again or use the project's keys."""

    exit_code = 2


@dataclass(frozen=True)
class SigningKey:
    """One key of the signing keys file: its private key (None for a public-only entry), its public key and the
    public JWK published at /auth/v1/.well-known/jwks.json."""

    kid: str
    algorithm: str
    private: Any = field(repr=False)
    public: Any = field(repr=False)
    public_jwk: dict[str, Any] = field(repr=False)
    signs: bool = False


@dataclass(frozen=True)
class SigningKeys:
    """The project's asymmetric JWT keys (`[auth] signing_keys_path`, GoTrue's GOTRUE_JWT_KEYS): a JSON array of
    private JWKs as `supabase gen signing-key` writes them. Exactly one has "sign" in its `key_ops` and signs new
    tokens; every key verifies tokens carrying its `kid` (so a rotated-out key keeps its sessions valid)."""

    path: Path
    keys: tuple[SigningKey, ...]

    @classmethod
    def load(cls, path: Path) -> SigningKeys:
        """The keys in `path`; a missing, malformed or ambiguous file raises ConfigError saying how to fix it."""
        where = f"the signing keys file {path} (auth.signing_keys_path)"
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise ConfigError(f"{where} does not exist; create it with `supakit gen signing-key --algorithm ES256` "
                              "or remove the setting to sign with the JWT secret (HS256).") from None
        except OSError as error:
            raise ConfigError(f"cannot read {where}: {error.strerror}.") from None
        try:
            document = json.loads(text)
        except ValueError as error:
            raise ConfigError(f"{where} is not JSON ({error}); it holds a JSON array of private JWKs, as "
                              "`supakit gen signing-key` writes it.") from None
        # the CLI's array; a JWKS object or one bare JWK (what `gen signing-key` prints without a path) too
        entries = document.get("keys") if isinstance(document, dict) and "keys" in document else document
        entries = [entries] if isinstance(entries, dict) else entries
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{where} holds no keys; it must be a non-empty JSON array of private JWKs.")
        keys = tuple(_signing_key(entry, f"{where}, key {index + 1}") for index, entry in enumerate(entries))
        kids = [key.kid for key in keys]
        duplicate = next((kid for kid in kids if kids.count(kid) > 1), None)
        if duplicate:
            raise ConfigError(f"{where} has two keys with kid {duplicate!r}; every key needs its own kid.")
        signing = [key for key in keys if key.signs]
        if not signing:
            raise ConfigError(f"{where} has no signing key: give exactly one private key \"key_ops\": [\"sign\", "
                              "\"verify\"] (GoTrue's rule).")
        if len(signing) > 1:
            raise ConfigError(f"{where} has {len(signing)} signing keys ({', '.join(k.kid for k in signing)}); only "
                              "one may have \"sign\" in its key_ops: set the others to [\"verify\"].")
        return cls(path=path, keys=keys)

    @property
    def signing(self) -> SigningKey:
        """The key that signs new tokens."""
        return next(key for key in self.keys if key.signs)

    def by_kid(self, kid: str) -> SigningKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    def jwks(self) -> dict[str, Any]:
        """The public keys as GoTrue's /.well-known/jwks.json publishes them (`use` sig, `key_ops` [verify])."""
        return {"keys": [key.public_jwk for key in self.keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        """A JWT over `claims` signed by the signing key, `kid` in the header (alg, kid, typ: GoTrue's header)."""
        key = self.signing
        return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid, "typ": "JWT"})


def _signing_key(entry: Any, where: str) -> SigningKey:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} is not a JSON object (a JWK).")
    kid, algorithm, key_ops = entry.get("kid"), entry.get("alg"), entry.get("key_ops") or []
    if not isinstance(kid, str) or not kid:
        raise ConfigError(f"{where} has no kid; tokens name their key by kid, so every key needs one.")
    if algorithm not in SIGNING_ALGORITHMS:
        raise ConfigError(f"{where} (kid {kid}) has alg {algorithm!r}; signing keys are "
                          f"{' or '.join(SIGNING_ALGORITHMS)} (`supakit gen signing-key --algorithm ES256`).")
    if algorithm == "ES256" and entry.get("crv") != "P-256":
        raise ConfigError(f"{where} (kid {kid}) is ES256 but its crv is {entry.get('crv')!r}; ES256 uses P-256.")
    if not isinstance(key_ops, list) or not all(isinstance(op, str) for op in key_ops):
        raise ConfigError(f"{where} (kid {kid}): key_ops must be a list such as [\"sign\", \"verify\"].")
    try:
        loaded = jwt.PyJWK(entry, algorithm=algorithm).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as error:
        raise ConfigError(f"{where} (kid {kid}) is not a valid {algorithm} JWK: {error}.") from None
    private = loaded if "d" in entry else None
    if private is None and "sign" in key_ops:
        raise ConfigError(f"{where} (kid {kid}) has \"sign\" in key_ops but no private part (d).")
    public = private.public_key() if private is not None else loaded
    public_jwk = {name: value for name, value in entry.items() if name not in PRIVATE_MEMBERS}
    public_jwk.update(use="sig", key_ops=["verify"])
    return SigningKey(kid=kid, algorithm=algorithm, private=private, public=public,
                      public_jwk=dict(sorted(public_jwk.items())), signs="sign" in key_ops)


def generate_signing_key(algorithm: str) -> dict[str, Any]:
    """A new private JWK as `supabase gen signing-key` makes it: RSA 2048 (RS256) or P-256 (ES256), a UUID kid,
    `use` sig, `key_ops` [sign, verify], `ext` true."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if algorithm not in SIGNING_ALGORITHMS:
        raise ConfigError(f"--algorithm {algorithm!r} is not supported; use {' or '.join(SIGNING_ALGORITHMS)}.")
    if algorithm == "RS256":
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        body = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        body = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    head = {"kty": body.pop("kty"), "kid": str(uuid.uuid4()), "use": "sig", "key_ops": ["sign", "verify"],
            "alg": algorithm, "ext": True}
    return {**head, **{name: value for name, value in body.items() if name not in ("alg", "key_ops", "use")}}


@dataclass(frozen=True)
class TokenSettings:
    """Where verification keys come from: SUPAKIT_JWT_SECRET (HS256), the signing keys file (the project's own
    RS256/ES256 keys, which also sign) and SUPAKIT_JWKS_URL (asymmetric keys held elsewhere)."""

    secret: str
    jwks_url: str | None = None
    secret_is_default: bool = False
    signing_keys: SigningKeys | None = field(default=None, repr=False)

    def sign(self, claims: dict[str, Any]) -> str:
        """A user token over `claims`: by the signing key when one is configured (with its kid), else HS256."""
        return self.signing_keys.sign(claims) if self.signing_keys else sign(claims, self.secret)

    @classmethod
    def from_env(cls, *, require_explicit: bool = False) -> TokenSettings:
        """from_settings with the process's settings (functions_py.config.current())."""
        return cls.from_settings(config.current(), require_explicit=require_explicit)

    @classmethod
    def from_settings(cls, settings: Settings, *, require_explicit: bool = False) -> TokenSettings:
        """jwt.secret and jwt.jwks_url. Without SUPAKIT_JWT_SECRET the Supabase CLI's local default is used,
        which anyone can sign with: `require_explicit` (any non-local deployment) refuses that."""
        secret = settings.jwt.secret or ""
        jwks_url = settings.jwt.jwks_url
        if secret and len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(f"SUPAKIT_JWT_SECRET is {len(secret)} characters; use the project's JWT secret "
                              f"(at least {MIN_SECRET_LENGTH}), from the Supabase dashboard, API settings.")
        if not secret and require_explicit and not jwks_url:
            raise ConfigError("no JWT verification key configured: set SUPAKIT_JWT_SECRET to the project's JWT "
                              "secret (or SUPAKIT_JWKS_URL to its JWKS endpoint); the local default secret is "
                              "public and would accept forged tokens.")
        path = settings.signing_keys_file
        return cls(secret=secret or LOCAL_JWT_SECRET, jwks_url=jwks_url, secret_is_default=not secret,
                   signing_keys=SigningKeys.load(path) if path else None)


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
            own, kid = self.settings.signing_keys, header.get("kid")
            local = own.by_kid(kid) if own is not None and isinstance(kid, str) else None
            if local is not None:
                if local.algorithm != algorithm:  # the key decides the algorithm, never the header
                    raise InvalidToken(f"the token says {algorithm} but its key {kid} is {local.algorithm}",
                                       reason="unknown_key")
                return local.public, [local.algorithm]
            if own is not None and not self.settings.jwks_url:
                raise InvalidToken(f"no signing key with kid {kid!r} in this project's signing keys",
                                   reason="unknown_key")
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
        bad_signature, unsupported_algorithm, unknown_key, no_role, missing_claims)."""
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
            raise InvalidToken("the token has no exp claim; Supabase tokens always expire",
                               reason="missing_claims") from None
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


def user_token(user_id: uuid.UUID | str, secret: str | TokenSettings, *, email: str | None = None,
               expires_in_s: int = 3600, issuer: str = "http://127.0.0.1:54321/auth/v1",
               now: float | None = None) -> str:
    """An access token for a user, with the claims GoTrue puts in one (aud authenticated, role authenticated,
    sub, email, aal, amr, session_id, metadata). `secret` is the HS256 secret, or TokenSettings to sign as Auth
    does (by the signing key when one is configured)."""
    if expires_in_s <= 0:
        raise ConfigError(f"a token must expire in the future; got expires_in_s={expires_in_s}")
    from functions_py.auth.claims import access_token_claims, amr_entries

    issued = int(now if now is not None else time.time())
    claims = access_token_claims(
        user_id=str(user_id), aud="authenticated", role="authenticated", email=email or "", phone="",
        app_metadata={"provider": "email", "providers": ["email"]}, user_metadata={},
        session_id=str(uuid.uuid4()), amr=amr_entries([("password", issued)]), aal="aal1", is_anonymous=False,
        issuer=issuer, issued_at=issued, expires_in_s=expires_in_s)
    return secret.sign(claims) if isinstance(secret, TokenSettings) else sign(claims, secret)
