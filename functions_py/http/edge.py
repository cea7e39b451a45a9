"""What the edge functions share (functions_py/http/app.py serves them, functions_py/http/billing.py defines the
billing ones): their settings, their state (pool, token verifier, Stripe client), CORS and the error shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property

import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions_py import config
from functions_py.billing.sessions import stripe_client
from functions_py.billing.settings import StripeSettings
from functions_py.config import Settings
from functions_py.db import async_pool
from functions_py.tokens import TokenSettings, TokenVerifier

# What Supabase's edge-function CORS guide allows: supabase-js sends these headers on every invoke.
CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "authorization, x-client-info, apikey, content-type, x-region",
    "access-control-allow-methods": "POST, GET, OPTIONS, PUT, PATCH, DELETE",
    "access-control-max-age": "86400",
}



@dataclass(frozen=True)
class EdgeSettings:
    """What the edge app needs: the database, JWT verification keys and Stripe settings."""

    database_url: str = field(repr=False)
    tokens: TokenSettings = field(repr=False)
    stripe: StripeSettings = field(default_factory=StripeSettings, repr=False)
    pool_size: int = 10

    @classmethod
    def from_env(cls, database_url: str, *, require_explicit_jwt_secret: bool = False) -> EdgeSettings:
        """from_settings with the process's settings (functions_py.config.current())."""
        return cls.from_settings(config.current(), database_url,
                                 require_explicit_jwt_secret=require_explicit_jwt_secret)

    @classmethod
    def from_settings(cls, settings: Settings, database_url: str, *,
                      require_explicit_jwt_secret: bool = False) -> EdgeSettings:
        return cls(database_url=database_url,
                   tokens=TokenSettings.from_settings(settings, require_explicit=require_explicit_jwt_secret),
                   stripe=StripeSettings.from_settings(settings), pool_size=settings.api.pool_size)


class EdgeState:
    """What the functions share: a connection pool (autocommit: each statement is its own transaction), the token
    verifier, the Stripe settings and client."""

    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.verifier = TokenVerifier(settings.tokens)
        self.pool = async_pool(settings.database_url, application_name="supakit-edge", max_size=settings.pool_size,
                               timeout=10)

    @property
    def stripe_settings(self) -> StripeSettings:
        return self.settings.stripe

    @cached_property
    def stripe(self) -> stripe.StripeClient:
        """The Stripe client (ConfigError when STRIPE_SECRET_KEY is not set)."""
        return stripe_client(self.settings.stripe)


Function = Callable[[Request, EdgeState], Awaitable[Response]]


def error_response(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status,
                        headers=CORS_HEADERS)
