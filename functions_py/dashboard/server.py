"""Serving the dashboard next to the gateway: `supakit serve` runs both uvicorn servers in one process and one
event loop; Ctrl-C / SIGTERM stops both (the gateway's server owns the signal handlers, the dashboard follows)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from functions_py.config import LOCAL_SECRET_KEY, Settings
from functions_py.dashboard.app import LOOPBACK_NAMES, DashboardConfig, build
from functions_py.db import is_local
from functions_py.embedded import port_is_free
from functions_py.errors import ConfigError

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def dashboard_config(settings: Settings, database_url: str) -> DashboardConfig:
    """The dashboard's configuration from the settings, or ConfigError when serving it would expose the project:
    off loopback it needs `dashboard.login` (the secret-key login) and a secret key that is not the public default.
    """
    from functions_py.provisioning.local import mail_root  # where email.send writes when no SMTP is set

    section = settings.dashboard
    login = bool(section.login)
    if not is_loopback(section.host) and not login:
        raise ConfigError(f"the dashboard would listen on {section.host}, which is not a loopback address: set "
                          "dashboard.login (SUPAKIT_DASHBOARD_LOGIN=true) so it asks for the secret key, or bind it "
                          "to 127.0.0.1 (SUPAKIT_DASHBOARD_HOST)")
    key = settings.api.secret_key if login else None
    if login and not is_loopback(section.host) and key == LOCAL_SECRET_KEY:
        raise ConfigError("the dashboard's login would accept the Supabase CLI's public local secret key off "
                          "loopback: set SUPAKIT_SECRET_KEY to a secret of your own")
    if not is_local(database_url) and not login:
        raise ConfigError("the dashboard is for the local stack: the database is not on this machine; set "
                          "dashboard.login to serve it anyway, behind the secret key")
    hosts = LOOPBACK_NAMES if is_loopback(section.host) else (*LOOPBACK_NAMES, section.host.lower())
    return DashboardConfig(database_url=database_url, maildir=mail_root(), max_queued=section.max_queued,
                           max_failure_rate=section.max_failure_rate, poll_s=section.poll_s, login_key=key,
                           allowed_hosts=hosts)


def dashboard_for(settings: Settings, database_url: str, *, wanted: bool | None = None,
                  say: Callable[[str], None] = log.info) -> Any | None:
    """The dashboard's server for `supakit serve` (None when switched off by `wanted` or dashboard.enabled, or when
    its port is taken: then `say` explains and the gateway runs alone). Raises ConfigError for an unsafe bind."""
    if not (settings.dashboard.enabled if wanted is None else wanted):
        return None
    config = dashboard_config(settings, database_url)
    host, port = settings.dashboard.host, settings.dashboard.port
    if is_loopback(host) and not port_is_free(port):
        say(f"warning: dashboard port {port} is in use, so the dashboard is not served; stop what listens there "
            "or set SUPAKIT_DASHBOARD_PORT (--no-dashboard silences this)")
        return None
    say(f"dashboard on http://{host}:{port}/")
    return dashboard_server(config, host=host, port=port)


def dashboard_server(config: DashboardConfig, *, host: str, port: int, log_level: str = "info") -> Any:
    """A uvicorn Server for the dashboard that leaves signal handling to the server it runs beside."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(build(config), host=host, port=port, access_log=False,
                                           log_level=log_level, lifespan="on", server_header=False))
    server.capture_signals = contextlib.nullcontext  # the main server's handlers stop both
    return server


async def serve_beside(main: Any, extra: list[Any]) -> None:
    """Run `main` (a uvicorn Server) and `extra` servers in this loop until `main` stops; then stop the others."""
    tasks = [asyncio.create_task(_serve_apart(server)) for server in extra]
    try:
        await main.serve()
    finally:
        for server in extra:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)


async def _serve_apart(server: Any) -> None:
    """A side server's serve(): its failure to start (uvicorn exits on a bind error) must not stop the main one."""
    try:
        await server.serve()
    except SystemExit:
        log.warning("the dashboard could not start on %s:%s (see above); the API goes on without it",
                    server.config.host, server.config.port)


def run(app: Any, *, dashboard: Any | None, **uvicorn_options: Any) -> None:
    """`uvicorn.run(app, **uvicorn_options)`, with the dashboard server (when given) in the same loop."""
    import uvicorn

    if dashboard is None:
        uvicorn.run(app, **uvicorn_options)
        return
    config = uvicorn.Config(app, **uvicorn_options)
    main = uvicorn.Server(config)
    factory = config.get_loop_factory()
    if factory is None:
        asyncio.run(serve_beside(main, [dashboard]))
        return
    with asyncio.Runner(loop_factory=factory) as runner:  # the loop uvicorn.run would use (uvloop)
        runner.run(serve_beside(main, [dashboard]))
