"""The local Realtime server with realtime-js (`@supabase/realtime-js` from npm, vsn 2.0.0 by default), the client
supabase-js wraps, driven by node scripts in tests/js/ (installed with `npm ci` there; `make test` does it)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from realtime import AsyncRealtimeClient

from tests.realtime_harness import ANON_KEY, eventually, make_org, make_user, running_server, start_server

JS_DIR = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (JS_DIR / "node_modules" / "@supabase" / "realtime-js").is_dir(),
    reason="needs node and `npm ci` in tests/js (make test installs them)")


class Scenario:
    """A running node scenario; reads its JSON lines on a thread."""

    def __init__(self, name: str, base_url: str, **env: str) -> None:
        self.lines: list[dict] = []
        self.process = subprocess.Popen(
            [NODE, "scenario.mjs", name], cwd=JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "REALTIME_URL": base_url, "ANON_KEY": ANON_KEY, **env})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip():
                self.lines.append(json.loads(line))

    def wait_for(self, event: str, timeout_s: float = 60) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            for line in self.lines:
                if line["event"] == event:
                    return line
            if self.process.poll() is not None and not self._reader.is_alive():
                stderr = self.process.stderr.read() if self.process.stderr else ""
                raise AssertionError(f"node exited with {self.process.returncode} before {event!r}: {stderr}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"node did not report {event!r} within {timeout_s} s")
            time.sleep(0.02)

    def finish(self, timeout_s: float = 60) -> dict:
        done = self.wait_for("done", timeout_s)
        self.process.wait(timeout=10)
        return done


@pytest.fixture
def server(fresh_db):
    with running_server(fresh_db) as running:
        yield running


def test_js_broadcast_with_self_and_ack_over_vsn_2(server):
    result = Scenario("broadcast", server.base_url).finish()
    assert result["vsn"] == "2.0.0"
    assert [s[0]["status"] for s in result["statuses"]] == ["SUBSCRIBED", "SUBSCRIBED"]
    assert result["sent"] == "ok", "ack:true: send() resolves once the server acknowledges"
    expected = {"type": "broadcast", "event": "cursor", "payload": {"x": 1, "y": 2}}
    assert result["got"]["a"] == [expected], "self:true: the sender hears itself"
    assert result["got"]["b"] == [expected]


def test_v1_and_v2_subscribers_on_one_channel_receive_each_others_broadcasts(server):
    scenario = Scenario("mixed", server.base_url)
    scenario.wait_for("ready")

    async def python_side() -> list[dict]:
        client = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        got: list[dict] = []
        channel = client.channel("mixed", {"config": {"broadcast": {"ack": True, "self": False},
                                                      "presence": {"key": "", "enabled": False},
                                                      "private": False}})
        channel.on_broadcast("*", got.append)
        await channel.subscribe()
        await channel.send_broadcast("from-py", {"n": 0})
        await eventually(lambda: {m["event"] for m in got} >= {"from-v1", "from-v2"}, timeout_s=20,
                         what="the JS broadcasts at the Python client")
        await client.close()
        return got

    py_got = asyncio.run(python_side())
    result = scenario.finish()
    assert result["sent"] == ["ok", "ok"]
    v1_events = {m["event"]: m["payload"] for m in result["got"]["v1"]}
    v2_events = {m["event"]: m["payload"] for m in result["got"]["v2"]}
    assert v1_events["from-v2"] == {"n": 2}, "a V2 binary broadcast reaches a V1 client as JSON"
    assert v2_events["from-v1"] == {"n": 1} and v2_events["from-py"] == {"n": 0}
    assert {m["event"]: m["payload"] for m in py_got}["from-v2"] == {"n": 2}


def test_js_presence_sync_join_and_leave(server):
    result = Scenario("presence", server.base_url).finish()
    assert result["tracked"] == "ok"
    assert result["bobSeesAlice"][0]["status"] == "online" and result["bobSeesAlice"][0]["presence_ref"]
    joins = [e for e in result["events"] if "join" in e]
    assert any(e["join"] == "bob" and e["metas"][0]["status"] == "typing" for e in joins)
    assert any(e.get("leave") == "bob" for e in result["events"])


def test_js_private_channel_allowed_refused_and_database_broadcast(server, fresh_db):
    member, member_token = make_user(fresh_db)
    _, outsider_token = make_user(fresh_db)
    org_id = make_org(fresh_db, member)
    topic = f"org:{org_id}:jobs"
    scenario = Scenario("private", server.base_url, USER_TOKEN=member_token, OTHER_TOKEN=outsider_token,
                        TOPIC=topic)
    ready = scenario.wait_for("ready")
    assert ready["okStatus"][0]["status"] == "SUBSCRIBED"
    assert ready["refusedStatus"][0]["status"] == "CHANNEL_ERROR"
    assert "Unauthorized: You do not have permissions to read from this Channel topic" in \
        ready["refusedStatus"][0]["error"]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("select realtime.send(jsonb_build_object('progress', 50), 'progress', %s)", (topic,))
    result = scenario.finish()
    message = result["got"][0]
    assert message["type"] == "broadcast" and message["event"] == "progress"
    assert message["payload"]["progress"] == 50 and message["meta"]["id"] == message["payload"]["id"]


def test_js_token_refresh_to_a_token_that_may_not_read_closes_the_channel(server, fresh_db):
    member, member_token = make_user(fresh_db)
    _, outsider_token = make_user(fresh_db)
    topic = f"org:{make_org(fresh_db, member)}:jobs"
    result = Scenario("refresh", server.base_url, USER_TOKEN=member_token, OTHER_TOKEN=outsider_token,
                      TOPIC=topic).finish()
    assert result["statuses"][0]["status"] == "SUBSCRIBED"
    assert [s["status"] for s in result["statuses"]] == ["SUBSCRIBED", "CLOSED"] and result["state"] == "closed"
    assert result["systems"] == [{"channel": topic, "extension": "system", "status": "error",
                                  "message": f"You do not have permissions to read from this Channel topic: {topic}"}]


def test_js_reconnects_and_rejoins_after_a_server_restart(fresh_db):
    first = start_server(fresh_db)
    scenario = Scenario("reconnect", first.base_url)
    scenario.wait_for("ready")
    first.stop()
    second = start_server(fresh_db, first.port)
    try:
        deadline = time.monotonic() + 40
        while scenario.process.poll() is None and time.monotonic() < deadline:
            httpx.post(f"{second.base_url}/api/broadcast", headers={"apikey": ANON_KEY},
                       json={"messages": [{"topic": "js-restart", "event": "after", "payload": {"ok": True}}]})
            if any(line["event"] == "done" for line in scenario.lines):
                break
            time.sleep(0.5)
        result = scenario.finish()
    finally:
        second.stop()
    assert result["statuses"].count("SUBSCRIBED") >= 2, "rejoined after the reconnect"
    assert result["got"][0]["payload"] == {"ok": True}


def test_realtime_js_with_a_publishable_key_through_the_gateway(fresh_db):
    """supabase-js configured with `sb_publishable_…` puts it in the socket URL; the gateway gives Realtime the anon
    JWT it stands for (the CLI's Kong `QueryToken`), and the REST broadcast API takes the key as `apikey`."""
    from tests.api_harness import PUBLISHABLE_KEY, running_api

    with running_api(fresh_db, realtime=True) as api:
        result = Scenario("broadcast", f"{api.url}/realtime/v1", ANON_KEY=PUBLISHABLE_KEY).finish()
        assert [s[0]["status"] for s in result["statuses"]] == ["SUBSCRIBED", "SUBSCRIBED"], result
        assert result["got"]["b"] == [{"type": "broadcast", "event": "cursor", "payload": {"x": 1, "y": 2}}]
        sent = httpx.post(f"{api.url}/realtime/v1/api/broadcast", headers={"apikey": PUBLISHABLE_KEY},
                          json={"messages": [{"topic": "room", "event": "e", "payload": {"n": 1}}]})
        assert sent.status_code == 202, sent.text
        for path in ("/realtime/v1/api/broadcast", "/functions/v1/stripe-webhook"):
            preflight = httpx.options(f"{api.url}{path}", headers={
                "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, apikey, content-type, x-custom"})
            assert preflight.status_code == 200, (path, preflight.text)
            assert preflight.headers["access-control-allow-origin"] == "*"
            assert preflight.headers["access-control-allow-headers"] == "authorization, apikey, content-type, x-custom"
