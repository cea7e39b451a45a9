"""Runs the whole local API gateway for tests (functions_py/http/gateway.py, as `supakit serve` builds it): uvicorn in
a thread with its own event loop, on a free port, so the official clients under test (supabase-py in-process,
supabase-js in node) talk to it over real HTTP.

    with running_api(fresh_db) as api:
        httpx.get(f"{api.url}/rest/v1/tasks", headers=api.anon_headers)

`settings` overrides options by dotted name (`{"rest.db_schemas": ("public", "test")}`); `services` replaces the
discovered services (a test of the gateway itself passes its own).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from functions_py.config import LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY, Settings
from functions_py.embedded import free_port
from functions_py.http import gateway
from functions_py.http.app import EdgeSettings
from functions_py.tokens import LOCAL_JWT_SECRET, TokenSettings, api_key

ROOT = Path(__file__).resolve().parents[1]
SECRET = LOCAL_JWT_SECRET
ANON_KEY = api_key("anon", SECRET)
SERVICE_KEY = api_key("service_role", SECRET)
PUBLISHABLE_KEY = LOCAL_PUBLISHABLE_KEY
SECRET_KEY = LOCAL_SECRET_KEY


@dataclass
class RunningApi:
    """A running gateway: `url` is what supabase-js / supabase-py are given (http://127.0.0.1:<port>)."""

    app: gateway.Gateway
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    settings: Settings

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def anon_headers(self) -> dict[str, str]:
        return {"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}"}

    @property
    def service_headers(self) -> dict[str, str]:
        return {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}

    def user_headers(self, access_token: str) -> dict[str, str]:
        return {"apikey": ANON_KEY, "Authorization": f"Bearer {access_token}"}

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def api_settings(port: int, overrides: Mapping[str, Any] | None = None, *, data_dir: Path | None = None) -> Settings:
    """Settings for a test gateway: this repository's project, the environment ignored (tests are hermetic), the
    local JWT secret, and `overrides`."""
    environ = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME")}
    if data_dir is not None:
        environ["SUPAKIT_DATA_DIR"] = str(data_dir)
    base = Settings.load(project_dir=ROOT, environ=environ)
    return base.replace(**{"api.port": port, **(overrides or {})})


def start_api(database_url: str, *, settings: Mapping[str, Any] | None = None, realtime: bool = False,
              services: Sequence[gateway.Service] | None = None, data_dir: Path | None = None) -> RunningApi:
    """Start the gateway on a free port and wait until it serves."""
    port = free_port()
    config = api_settings(port, settings, data_dir=data_dir)
    # the keys as `supakit serve` reads them: the local secret, and the signing keys file when a test sets one
    keys = TokenSettings.from_settings(config)
    edge = EdgeSettings(database_url=database_url, tokens=keys, pool_size=4)
    server_obj = None
    if realtime:
        from functions_py.realtime import RealtimeServer, RealtimeSettings

        server_obj = RealtimeServer(RealtimeSettings(database_url=database_url, port=port,
                                                     token=keys))
    app = gateway.build(config, database_url, edge=edge, realtime=server_obj, services=services)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                     **gateway.uvicorn_options()))
    thread = threading.Thread(target=uv.run, name=f"api-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API gateway did not start")
        time.sleep(0.02)
    return RunningApi(app, port, uv, thread, config)


@contextlib.contextmanager
def running_api(database_url: str, **options: Any) -> Iterator[RunningApi]:
    running = start_api(database_url, **options)
    try:
        yield running
    finally:
        running.stop()
