"""What every Auth handler shares: the gateway's pool and settings, the signing keys (the verifier's: the JWT
secret, or the signing keys file's signing key) and issuer, the limiter and the mailer (built once by
`functions_py.auth.service`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool

from functions_py.auth.ratelimit import RateLimiter
from functions_py.config import Settings
from functions_py.tokens import TokenVerifier


@dataclass
class AuthContext:
    settings: Settings
    pool: AsyncConnectionPool = field(repr=False)
    verifier: TokenVerifier = field(repr=False)
    external_url: str
    limiter: RateLimiter
    mailer: Any = None

    @property
    def auth(self) -> Any:
        """The `auth.*` settings section."""
        return self.settings.auth

    def sign(self, claims: dict[str, Any]) -> str:
        """An access token over `claims`, signed as GoTrue signs: the signing key (with its kid) when signing keys
        are configured, else HS256 with the JWT secret."""
        return self.verifier.settings.sign(claims)

    def jwks(self) -> dict[str, Any]:
        """GoTrue's /.well-known/jwks.json: the signing keys' public halves ({"keys": []} with HS256 only)."""
        keys = self.verifier.settings.signing_keys
        return keys.jwks() if keys is not None else {"keys": []}

    @property
    def issuer(self) -> str:
        return f"{self.external_url}/auth/v1"

    @property
    def api_url(self) -> str:
        return f"{self.external_url}/auth/v1"

    @property
    def autoconfirm(self) -> bool:
        return not self.settings.auth.enable_confirmations

    @property
    def jwt_expiry_s(self) -> int:
        return int(self.settings.jwt.expiry_s)
