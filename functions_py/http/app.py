"""The edge app: a Starlette ASGI application serving edge functions at `/functions/v1/<name>`, the address
supabase-js `functions.invoke('<name>')` uses (with the user's JWT in `Authorization` and CORS for browsers).

    app = create_app(EdgeSettings.from_env(database_url), extra_routes=realtime.routes,
                     on_startup=[realtime.start], on_shutdown=[realtime.stop])

`extra_routes`, `on_startup` and `on_shutdown` let other servers (the local Realtime server) share the process
and the port. Functions answer JSON; errors are `{"error": {"code": …, "message": …}}`.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import psycopg
import psycopg_pool
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from functions_py.billing.sessions import stripe_client
from functions_py.billing.settings import StripeSettings
from functions_py.errors import ConfigError
from functions_py.tokens import TokenSettings, TokenVerifier

log = logging.getLogger("supakit.http")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 54321  # the Supabase CLI's API port: supabase-js pointed at http://127.0.0.1:54321 reaches us
FUNCTIONS_PREFIX = "/functions/v1"
# What Supabase's edge-function CORS guide allows: supabase-js sends these headers on every invoke.
CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "authorization, x-client-info, apikey, content-type, x-region",
    "access-control-allow-methods": "POST, GET, OPTIONS, PUT, PATCH, DELETE",
    "access-control-max-age": "86400",
}

Hook = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True)
class EdgeSettings:
    """What the edge app needs: the database, JWT verification keys and Stripe settings."""

    database_url: str = field(repr=False)
    tokens: TokenSettings = field(repr=False)
    stripe: StripeSettings = field(default_factory=StripeSettings, repr=False)
    pool_size: int = 10

    @classmethod
    def from_env(cls, database_url: str, *, require_explicit_jwt_secret: bool = False) -> EdgeSettings:
        raw = os.environ.get("SUPAKIT_API_POOL_SIZE") or "10"
        if not raw.isdigit() or not 1 <= int(raw) <= 200:
            raise ConfigError(f"SUPAKIT_API_POOL_SIZE={raw!r}: use a number of connections from 1 to 200")
        return cls(database_url=database_url,
                   tokens=TokenSettings.from_env(require_explicit=require_explicit_jwt_secret),
                   stripe=StripeSettings.from_env(), pool_size=int(raw))


class EdgeState:
    """What the functions share: a connection pool (autocommit: each statement is its own transaction), the token
    verifier, the Stripe settings and client."""

    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.verifier = TokenVerifier(settings.tokens)
        self.pool = psycopg_pool.AsyncConnectionPool(
            settings.database_url, min_size=1, max_size=settings.pool_size, open=False, timeout=10,
            kwargs={"autocommit": True, "application_name": "supakit-edge"})

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


def _functions() -> dict[str, tuple[Function, frozenset[str]]]:
    from functions_py.http import billing, twilio  # the functions register here; imported late (modules stay small)

    return {
        "stripe-webhook": (billing.stripe_webhook, frozenset({"POST"})),
        "twilio-webhook": (twilio.twilio_webhook, frozenset({"POST"})),
        "billing-checkout": (billing.checkout, frozenset({"POST"})),
        "billing-portal": (billing.portal, frozenset({"POST"})),
    }


async def _run_hooks(hooks: Iterable[Hook]) -> None:
    for hook in hooks:
        outcome = hook()
        if inspect.isawaitable(outcome):
            await outcome


def create_app(settings: EdgeSettings, *, extra_routes: Sequence[BaseRoute] = (), on_startup: Sequence[Hook] = (),
               on_shutdown: Sequence[Hook] = (), fallback: Any = None) -> Starlette:
    """The edge app: the functions at /functions/v1/<name>, `GET /functions/v1/` listing them, `extra_routes`
    mounted beside them, and the hooks run after / before the connection pool opens / closes. `fallback` (an ASGI
    app) answers paths no route matches (the gateway's Kong-shaped 404)."""
    state = EdgeState(settings)
    functions = _functions()

    async def dispatch(request: Request) -> Response:
        name = request.path_params["name"]
        entry = functions.get(name)
        if entry is None:
            return error_response(404, "NOT_FOUND", f"Requested function {name!r} was not found")
        if request.method == "OPTIONS":  # CORS preflight, answered before any authentication (as Supabase's)
            return PlainTextResponse("ok", headers=CORS_HEADERS)
        function, methods = entry
        if request.method not in methods:
            return error_response(405, "method_not_allowed", f"{name} accepts {', '.join(sorted(methods))}")
        try:
            response = await function(request, state)
        except (psycopg_pool.PoolTimeout, psycopg.OperationalError):
            log.error("database unavailable for %s", name)
            return error_response(503, "database_unavailable", "the database is not reachable; try again")
        except ConfigError as error:
            log.error("%s: %s", name, error.message)
            return error_response(503, "not_configured", error.message)
        response.headers.update(CORS_HEADERS)
        return response

    async def index(request: Request) -> Response:
        return JSONResponse({"functions": sorted(functions)}, headers=CORS_HEADERS)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await state.pool.open(wait=False)
        await _run_hooks(on_startup)
        try:
            yield
        finally:
            await _run_hooks(on_shutdown)
            await state.pool.close()

    routes: list[BaseRoute] = [
        Route(f"{FUNCTIONS_PREFIX}/", index, methods=["GET"]),
        Route(f"{FUNCTIONS_PREFIX}/{{name}}", dispatch,
              methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        *extra_routes,
    ]
    if fallback is not None:
        routes.append(Mount("", app=fallback))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.edge = state
    return app
