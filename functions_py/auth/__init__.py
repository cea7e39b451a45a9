"""The local GoTrue-compatible Auth API at /auth/v1 (docs/auth.md): `service(context)` builds it for the gateway."""

from __future__ import annotations

from typing import Any

# Routes browsers open without an apikey: the CLI's kong.yml "auth-v1-open*" routes (Kong prefix matches on
# /verify, /callback, /authorize: e-mail links and OAuth redirects), and the public JWKS.
OPEN_PREFIXES = ("/verify", "/callback", "/authorize")
OPEN_PATHS = ("/.well-known/jwks.json",)


class AuthService:
    prefix = "/auth/v1"

    def __init__(self, gateway_context: Any) -> None:
        from functions_py.auth.app import AuthApp
        from functions_py.auth.context import AuthContext
        from functions_py.auth.mail import Mailer
        from functions_py.auth.ratelimit import RateLimiter

        settings = gateway_context.settings
        self.context = AuthContext(
            settings=settings, pool=gateway_context.pool, verifier=gateway_context.verifier,
            external_url=gateway_context.external_url,
            limiter=RateLimiter(),
            mailer=Mailer(settings))
        self.app = AuthApp(self.context)

    def needs_key(self, path: str) -> bool:
        return not (path.startswith(OPEN_PREFIXES) or path in OPEN_PATHS)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def service(context: Any) -> AuthService:
    """The Auth service for the gateway (functions_py/http/gateway.py)."""
    return AuthService(context)
