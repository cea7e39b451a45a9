"""`supakit serve`: the local API gateway under uvicorn (functions_py/http/gateway.py) — the Data, Auth and Storage
APIs at /rest/v1, /auth/v1 and /storage/v1 (as far as they are built), the edge functions at /functions/v1/<name>
and the Realtime server at /realtime/v1, on one port, as Supabase serves them under one project URL (so supabase-js
pointed at http://127.0.0.1:54321 reaches all of them)."""

from __future__ import annotations

import logging

import typer

from cli.context import info, settings
from functions_py.dashboard import dashboard_for
from functions_py.dashboard import run as run_servers
from functions_py.db import is_local
from functions_py.embedded import check_port
from functions_py.http import gateway
from functions_py.http.access_log import mask_query_secrets
from functions_py.http.app import EdgeSettings
from functions_py.realtime import RealtimeServer, RealtimeSettings
from functions_py.realtime.server import freeze_startup_objects
from functions_py.stack import database_url
from functions_py.tokens import TokenSettings


def serve(
    ctx: typer.Context,
    host: str = typer.Option(None, "--host", show_default=False, help="Interface to listen on (default: api.host)."),
    port: int = typer.Option(None, "--port", min=1, max=65535, show_default=False,
                             help="TCP port (default: api.port, the Supabase CLI's API port)."),
    realtime: bool = typer.Option(True, "--realtime/--no-realtime",
                                  help="Also serve the Realtime server at /realtime/v1 (default)."),
    access_log: bool = typer.Option(None, "--access-log/--no-access-log", show_default=False,
                                    help="Log every request (uvicorn's access log; keys and tokens in query strings "
                                         "masked)."),
    dashboard: bool = typer.Option(None, "--dashboard/--no-dashboard", show_default=False,
                                   help="Also serve the local dashboard (default: dashboard.enabled, true)."),
) -> None:
    """Serve the edge functions at http://HOST:PORT/functions/v1/<name> (stripe-webhook, billing-checkout,
    billing-portal) and Realtime at ws://HOST:PORT/realtime/v1/websocket until Ctrl-C / SIGTERM."""
    config_settings = settings(ctx, **{"api.host": host, "api.port": port, "api.access_log": access_log,
                                       "dashboard.enabled": dashboard})
    host, port = config_settings.api.host, config_settings.api.port
    check_port(port, what="the API gateway", how="--port or SUPAKIT_API_PORT", host=host)
    url = database_url(config_settings)
    edge = EdgeSettings.from_settings(config_settings, url, require_explicit_jwt_secret=not is_local(url))
    if not edge.stripe.webhook_secret:
        info("warning: STRIPE_WEBHOOK_SECRET is not set; stripe-webhook answers 503 until it is")
    if not edge.stripe.secret_key:
        info("warning: STRIPE_SECRET_KEY is not set; billing-checkout and billing-portal answer 503 until it is")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    mask_query_secrets()
    ws_max_size = 16 * 1024 * 1024
    server = None
    if realtime:
        config = RealtimeSettings.from_settings(config_settings, url, host=host, port=port, token=TokenSettings.
                                                from_settings(config_settings, require_explicit=not is_local(url)))
        server = RealtimeServer(config)
        ws_max_size = max(ws_max_size, config.max_payload_bytes * 2)
        info(f"realtime on ws://{host}:{port}/realtime/v1/websocket")
    app = gateway.build(config_settings, url, edge=edge, realtime=server,
                        require_explicit_jwt_secret=not is_local(url))
    for service in app.services:
        info(f"{service.prefix} on http://{host}:{port}{service.prefix}")
    info(f"edge functions on http://{host}:{port}/functions/v1/ (Ctrl-C stops)")
    board = dashboard_for(config_settings, url, say=info)
    freeze_startup_objects()
    run_servers(app, dashboard=board, host=host, port=port, access_log=config_settings.api.access_log,
                log_level="info", lifespan="on", ws_max_size=ws_max_size, **gateway.uvicorn_options())
