"""`supakit serve`: the edge app (functions_py/http) under uvicorn."""

from __future__ import annotations

import logging

import typer

from cli.context import info, settings
from functions_py.db import is_local
from functions_py.errors import ConfigError
from functions_py.http.app import DEFAULT_HOST, DEFAULT_PORT, EdgeSettings, create_app
from functions_py.stack import database_url


def serve(
    ctx: typer.Context,
    host: str = typer.Option(DEFAULT_HOST, "--host", envvar="SUPAKIT_API_HOST", help="Interface to listen on."),
    port: int = typer.Option(DEFAULT_PORT, "--port", envvar="SUPAKIT_API_PORT",
                             help="TCP port (default: the Supabase CLI's API port)."),
    access_log: bool = typer.Option(False, "--access-log/--no-access-log", envvar="SUPAKIT_API_ACCESS_LOG",
                                    help="Log every request (uvicorn's access log)."),
) -> None:
    """Serve the edge functions at http://HOST:PORT/functions/v1/<name> (stripe-webhook, billing-checkout,
    billing-portal) until Ctrl-C / SIGTERM."""
    import uvicorn

    if not 1 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a TCP port; use a number from 1 to 65535")
    url = database_url(settings(ctx))
    edge = EdgeSettings.from_env(url, require_explicit_jwt_secret=not is_local(url))
    if not edge.stripe.webhook_secret:
        info("warning: STRIPE_WEBHOOK_SECRET is not set; stripe-webhook answers 503 until it is")
    if not edge.stripe.secret_key:
        info("warning: STRIPE_SECRET_KEY is not set; billing-checkout and billing-portal answer 503 until it is")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    info(f"edge functions on http://{host}:{port}/functions/v1/ (Ctrl-C stops)")
    uvicorn.run(create_app(edge), host=host, port=port, access_log=access_log, log_level="info",
                lifespan="on", server_header=False)
