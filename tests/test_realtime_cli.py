"""`supakit realtime serve` as a user runs it: a real process, the official client, Ctrl-C, and bad options."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

import psycopg
from realtime import AsyncRealtimeClient

from functions_py.embedded import free_port
from tests.cli import ROOT, run_cli
from tests.realtime_harness import ANON_KEY, eventually


def _env(url: str, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUPAKIT_") and k != "DATABASE_URL"}
    return {**base, "DATABASE_URL": url, **extra}


def test_serve_accepts_the_official_client_and_stops_cleanly_on_ctrl_c(fresh_db):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "realtime", "serve", "--port", str(port)],
                               cwd=ROOT, env=_env(fresh_db), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not listen"
                time.sleep(0.1)

        async def scenario() -> list:
            client = AsyncRealtimeClient(f"http://127.0.0.1:{port}/realtime/v1", token=ANON_KEY,
                                         auto_reconnect=False)
            got: list = []
            channel = client.channel("cli", {"config": {"broadcast": {"self": True, "ack": True},
                                                        "presence": {"key": "", "enabled": False},
                                                        "private": False}})
            await channel.on_broadcast("hello", got.append).subscribe()
            await channel.send_broadcast("hello", {"from": "cli"})
            await eventually(lambda: got, what="the broadcast")
            await client.close()
            return got

        assert asyncio.run(scenario()) == [{"event": "hello", "payload": {"from": "cli"}}]
        with psycopg.connect(fresh_db) as conn:
            slots = conn.execute("select count(*) from pg_replication_slots where database = current_database()"
                                 " and temporary").fetchone()[0]
        assert slots >= 1, "the server decodes from its own temporary slots"
    finally:
        process.send_signal(signal.SIGINT)
        stderr = process.communicate(timeout=30)[1]
    assert process.returncode == 0, stderr
    assert f"ws://127.0.0.1:{port}/realtime/v1/websocket" in stderr
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select count(*) from pg_replication_slots where database = current_database()"
                            ).fetchone()[0] == 0, "shutdown drops the slots"


def test_serve_refuses_a_port_in_use_and_a_bad_port_setting(fresh_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("realtime", "serve", "--port", str(port), env=_env(fresh_db))
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1, which the Realtime server needs, is in use by" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("realtime", "serve", env=_env(fresh_db, SUPAKIT_REALTIME_PORT="http"))
    assert result.returncode == 2 and "--port" in result.stderr, result.stderr


def test_serve_without_a_database_says_how_to_start_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPAKIT_") and k != "DATABASE_URL"}
    result = run_cli("realtime", "serve", env={**env, "SUPAKIT_DATA_DIR": str(tmp_path / "none")})
    assert result.returncode == 3
    assert "supakit db start" in result.stderr
