"""`supakit realtime serve`: the local Realtime server (Supabase Realtime's protocol) on its own port."""

from __future__ import annotations

import logging

import typer

from cli.context import info, settings
from functions_py.db import is_local
from functions_py.embedded import port_is_free
from functions_py.errors import ConfigError
from functions_py.realtime import RealtimeServer, RealtimeSettings
from functions_py.realtime.server import freeze_startup_objects
from functions_py.realtime.transport import websocket_protocol
from functions_py.stack import database_url
from functions_py.tokens import TokenSettings

app = typer.Typer(no_args_is_help=True, help="The local Realtime server (official Supabase clients connect to it).")


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option(None, "--host", envvar="SUPAKIT_REALTIME_HOST", show_default=False,
                             help="Interface to listen on (default 127.0.0.1)."),
    port: int = typer.Option(None, "--port", envvar="SUPAKIT_REALTIME_PORT", show_default=False,
                             help="TCP port (default 54321, the Supabase CLI's API port)."),
    log_level: str = typer.Option("info", "--log-level", envvar="SUPAKIT_REALTIME_LOG_LEVEL",
                                  help="debug, info, warning or error."),
) -> None:
    """Serve ws://HOST:PORT/realtime/v1/websocket (and /socket/websocket), POST /realtime/v1/api/broadcast and
    /metrics until Ctrl-C; closes sockets with 1001 on shutdown so clients reconnect."""
    import uvicorn  # imported here: the other commands do not need it

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"--log-level {log_level!r}: use debug, info, warning or error")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a TCP port; use 1 to 65535")
    current = settings(ctx)
    url = database_url(current)
    config = RealtimeSettings.from_settings(current, url, host=host, port=port, token=TokenSettings.from_settings(
        current, require_explicit=not is_local(url)))
    if config.host in ("127.0.0.1", "localhost") and not port_is_free(config.port):
        raise ConfigError(f"port {config.port} is in use; stop what listens there or pass --port "
                          "(SUPAKIT_REALTIME_PORT)")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = RealtimeServer(config)
    info(f"realtime: ws://{config.host}:{config.port}/realtime/v1/websocket (Ctrl-C stops)")
    freeze_startup_objects()
    uvicorn.run(server.app(), host=config.host, port=config.port, log_level=log_level.lower(),
                ws_max_size=max(16 * 1024 * 1024, config.max_payload_bytes * 2), lifespan="on",
                ws=websocket_protocol())
