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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import psycopg_pool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from functions_py.errors import ConfigError
from functions_py.http.edge import CORS_HEADERS, EdgeSettings, EdgeState, Function, error_response

__all__ = ["CORS_HEADERS", "DEFAULT_HOST", "DEFAULT_PORT", "EdgeSettings", "EdgeState", "Function", "create_app",
           "error_response"]

log = logging.getLogger("supakit.http")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 54321  # the Supabase CLI's API port: supabase-js pointed at http://127.0.0.1:54321 reaches us
FUNCTIONS_PREFIX = "/functions/v1"
Hook = Callable[[], Awaitable[None] | None]


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
