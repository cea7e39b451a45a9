"""Runs the local Realtime server for tests: uvicorn in a thread with its own event loop, on a free port, so the
official clients under test (realtime-py in the test's loop, realtime-js in node) talk to it over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import uvicorn

from functions_py import tokens
from functions_py.embedded import free_port
from functions_py.realtime import RealtimeServer, RealtimeSettings
from functions_py.realtime.transport import websocket_protocol
from functions_py.tokens import TokenSettings
from tests import factories

SECRET = tokens.LOCAL_JWT_SECRET
ANON_KEY = tokens.api_key("anon", SECRET)
SERVICE_KEY = tokens.api_key("service_role", SECRET)


@dataclass
class Running:
    """A running server: its Python object (for metrics), its port and base URLs."""

    server: RealtimeServer
    port: int
    uvicorn: uvicorn.Server
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        """What supabase-py / realtime-py are given: http://host:port/realtime/v1."""
        return f"http://127.0.0.1:{self.port}/realtime/v1"

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(timeout=20)


def start_server(database_url: str | None, port: int | None = None, *, ws: Any = None, **settings: Any) -> Running:
    """Start a server and wait until it accepts connections. `ws`: uvicorn's WebSocket protocol; by default the
    one `supakit realtime serve` runs (direct frame writes, functions_py/realtime/transport.py)."""
    port = port or free_port()
    realtime = RealtimeServer(RealtimeSettings(database_url=database_url, port=port,
                                               token=TokenSettings(secret=SECRET), **settings))
    config = uvicorn.Config(realtime.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            ws=ws or websocket_protocol())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"realtime-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (server.started and realtime.started):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Realtime server did not start")
        time.sleep(0.02)
    return Running(realtime, port, server, thread)


@contextlib.contextmanager
def running_server(database_url: str | None, *, ws: Any = None, **settings: Any) -> Iterator[Running]:
    running = start_server(database_url, ws=ws, **settings)
    try:
        yield running
    finally:
        running.stop()


def make_user(url: str, email: str | None = None) -> tuple[uuid.UUID, str]:
    """(id, access token) of a new auth.users row, committed."""
    user_id = uuid.uuid4()
    email = email or f"rt-{user_id.hex[:8]}@example.com"
    with psycopg.connect(url, autocommit=True) as conn:
        factories.user(conn, email, user_id=user_id)
    return user_id, tokens.user_token(user_id, SECRET, email=email)


def make_org(url: str, owner: uuid.UUID, *members: uuid.UUID) -> uuid.UUID:
    """An organization owned by `owner` with `members` as members, committed."""
    with psycopg.connect(url, autocommit=True) as conn:
        org_id = factories.organization(conn, "RT", f"rt-{uuid.uuid4().hex[:8]}", owner=owner)
        for member in members:
            factories.membership(conn, org_id, member)
    return org_id


async def eventually(predicate: Callable[[], bool], timeout_s: float = 10, what: str = "the condition") -> None:
    """Wait (in the event loop) until `predicate()` holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


async def settle(awaitable: Awaitable[Any], timeout_s: float = 15) -> Any:
    return await asyncio.wait_for(awaitable, timeout_s)
