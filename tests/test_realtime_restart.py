"""The local Realtime server survives a restart of its database (issue 20, item 1).

A real embedded PostgreSQL of its own (the session's server is shared by every test) is stopped and started under
a running Realtime server, as `supakit db stop && supakit db start` under `supakit serve` does. Afterwards both
feeds have reconnected and recreated their slots: database broadcasts (`realtime.send`) reach the socket that was
joined before the restart and a socket that joins a private topic after it, postgres_changes reach the old
subscription, the log says the feeds reconnected and /metrics counts it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import websockets

from functions_py.embedded import EmbeddedPostgres, free_port
from tests.conftest import ROOT, TEST_SERVER_SETTINGS
from tests.realtime_harness import ANON_KEY, SERVICE_KEY, running_server

pytestmark = pytest.mark.slow

TABLE = """
create table public.rt_restart (id bigint primary key, body text not null);
grant select on public.rt_restart to anon;
alter publication supabase_realtime add table public.rt_restart;
"""


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[tuple[EmbeddedPostgres, str]]:
    """An embedded cluster of this test's own, with the compat layer (realtime schema, publications)."""
    from functions_py.migrations.engine import Migrator

    data_dir = Path(tempfile.mkdtemp(prefix="supakit-restart-"))
    server = EmbeddedPostgres(data_dir, free_port(), extra_settings=TEST_SERVER_SETTINGS)
    status, _ = server.start()
    try:
        empty = tmp_path / "empty"
        empty.mkdir()
        Migrator(status.url, root=ROOT, compat_dir=ROOT / "supabase" / "compat", sql_dir=empty,
                 policies_dir=empty).migrate()
        with psycopg.connect(status.url, autocommit=True) as conn:
            conn.execute(TABLE)
        yield server, status.url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def _next(ws, event: str, timeout: float) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time())))
        if message["event"] == event:
            return message


async def _join(ws, topic: str, **config) -> None:
    await ws.send(json.dumps({"topic": topic, "event": "phx_join", "ref": "1", "join_ref": "1",
                              "payload": {"config": config}}))
    reply = await _next(ws, "phx_reply", 10)
    assert reply["payload"]["status"] == "ok", reply


async def _until_delivered(url: str, ws, event: str, write, timeout: float = 40) -> dict:
    """Write (a new row or message each time) until `event` arrives: what is committed before the feed has
    recreated its slot is not delivered (the slot is temporary, as Supabase's is)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    n = 0
    while loop.time() < deadline:
        n += 1
        with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
            write(conn, n)
        try:
            return await _next(ws, event, 0.5)
        except TimeoutError:
            continue
    raise AssertionError(f"no {event} within {timeout} s of writing after the restart")


def test_both_feeds_reconnect_and_deliver_again_after_the_database_restarts(own_database, caplog):
    server, url = own_database
    caplog.set_level(logging.INFO, logger="supakit.realtime")

    def send(conn: psycopg.Connection, n: int) -> None:
        conn.execute("select realtime.send(jsonb_build_object('n', %s::int), 'e', 'room', false)", (n,))

    def private_send(conn: psycopg.Connection, n: int) -> None:
        conn.execute("select realtime.send(jsonb_build_object('n', %s::int), 'e', 'vault', true)", (n,))

    def insert(conn: psycopg.Connection, n: int) -> None:
        conn.execute("insert into public.rt_restart values (%s, 'after') on conflict do nothing", (1000 + n,))

    with running_server(url) as running:
        base = f"ws://127.0.0.1:{running.port}/realtime/v1/websocket"

        async def scenario() -> None:
            async with websockets.connect(f"{base}?apikey={ANON_KEY}&vsn=1.0.0") as old:
                await _join(old, "realtime:room")
                await _join(old, "realtime:rows", postgres_changes=[
                    {"event": "INSERT", "schema": "public", "table": "rt_restart"}])
                await _next(old, "system", 10)  # "Subscribed to PostgreSQL"
                before = await _until_delivered(url, old, "broadcast", send, timeout=10)
                assert before["payload"]["payload"]["n"] >= 1, "delivered before the restart"

                await asyncio.to_thread(server.stop)
                await asyncio.to_thread(server.start)

                after = await _until_delivered(url, old, "broadcast", send)
                assert after["payload"]["event"] == "e", "a database broadcast reaches a socket joined before"
                change = await _until_delivered(url, old, "postgres_changes", insert)
                assert change["payload"]["data"]["record"]["body"] == "after", \
                    "postgres_changes reach a subscription made before the restart"

            async with websockets.connect(f"{base}?apikey={SERVICE_KEY}&vsn=1.0.0") as new:
                await _join(new, "realtime:vault", private=True)  # authorized through the server's pool
                message = await _until_delivered(url, new, "broadcast", private_send)
                assert message["payload"]["event"] == "e", "a socket joined after the restart gets them too"

        asyncio.run(asyncio.wait_for(scenario(), 150))
        metrics = httpx.get(f"http://127.0.0.1:{running.port}/realtime/v1/metrics").text

    assert "realtime_messages_reconnects_total 1" in metrics, metrics
    assert "realtime_changes_reconnects_total 1" in metrics, metrics
    logged = [r.getMessage() for r in caplog.records]
    assert any("database broadcasts: reconnected" in m and "recreated slot" in m for m in logged), logged
    assert any("postgres_changes: reconnected" in m and "recreated slot" in m for m in logged), logged
