"""`supakit realtime serve`: the local Realtime server (Supabase Realtime's protocol) on its own port."""

from __future__ import annotations

import logging

import typer

from cli.context import info, settings
from functions_py.db import is_local
from functions_py.embedded import check_port
from functions_py.http.access_log import mask_query_secrets
from functions_py.realtime import RealtimeServer, RealtimeSettings
from functions_py.realtime.server import freeze_startup_objects
from functions_py.realtime.transport import websocket_protocol
from functions_py.stack import database_url
from functions_py.tokens import TokenSettings

app = typer.Typer(no_args_is_help=True, help="The local Realtime server (official Supabase clients connect to it).")


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option(None, "--host", show_default=False,
                             help="Interface to listen on (default: realtime.host, 127.0.0.1)."),
    port: int = typer.Option(None, "--port", min=1, max=65535, show_default=False,
                             help="TCP port (default: realtime.port, 54321, the Supabase CLI's API port)."),
    log_level: str = typer.Option(None, "--log-level", show_default=False,
                                  help="debug, info, warning or error (default: realtime.log_level, info)."),
) -> None:
    """Serve ws://HOST:PORT/realtime/v1/websocket (and /socket/websocket), POST /realtime/v1/api/broadcast and
    /metrics until Ctrl-C; closes sockets with 1001 on shutdown so clients reconnect."""
    import uvicorn  # imported here: the other commands do not need it

    current = settings(ctx, **{"realtime.host": host, "realtime.port": port,
                               "realtime.log_level": log_level.lower() if log_level else None})
    level = current.realtime.log_level
    check_port(current.realtime.port, what="the Realtime server", how="--port or SUPAKIT_REALTIME_PORT",
               host=current.realtime.host)
    url = database_url(current)
    config = RealtimeSettings.from_settings(current, url, token=TokenSettings.from_settings(
        current, require_explicit=not is_local(url)))
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    mask_query_secrets()
    server = RealtimeServer(config)
    info(f"realtime: ws://{config.host}:{config.port}/realtime/v1/websocket (Ctrl-C stops)")
    freeze_startup_objects()
    uvicorn.run(server.app(), host=config.host, port=config.port, log_level=level,
                ws_max_size=max(16 * 1024 * 1024, config.max_payload_bytes * 2), lifespan="on",
                ws=websocket_protocol())
