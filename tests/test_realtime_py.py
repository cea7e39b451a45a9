"""The local Realtime server with realtime-py (`AsyncRealtimeClient`, vsn 1.0.0), the client supabase-py wraps.

Every test drives the official client against the server over a real socket; the database side (broadcast from
the database, private channels) uses a fresh database with real commits.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import psycopg
import pytest
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates

from functions_py import tokens
from tests.realtime_harness import ANON_KEY, SECRET, eventually, make_org, make_user, running_server, settle


@pytest.fixture
def server(fresh_db):
    with running_server(fresh_db) as running:
        yield running


class Recorder:
    """Collects what a channel's callbacks receive."""

    def __init__(self) -> None:
        self.states: list[str] = []
        self.errors: list[str] = []
        self.broadcasts: list[dict] = []
        self.joins: list[tuple] = []
        self.leaves: list[tuple] = []
        self.syncs = 0

    def on_state(self, state: RealtimeSubscribeStates, error: Exception | None) -> None:
        self.states.append(state.value if hasattr(state, "value") else str(state))
        if error is not None:
            self.errors.append(str(error))

    def on_broadcast(self, payload: dict) -> None:
        self.broadcasts.append(payload)

    def on_sync(self) -> None:
        self.syncs += 1

    def on_join(self, key, current, new) -> None:
        self.joins.append((key, new))

    def on_leave(self, key, current, left) -> None:
        self.leaves.append((key, left))


async def subscribed(client: AsyncRealtimeClient, topic: str, *, private: bool = False, ack: bool = False,
                     self_: bool = False, presence_key: str = "", events: str = "*",
                     presence: bool = False) -> tuple[object, Recorder]:
    rec = Recorder()
    channel = client.channel(topic, {"config": {"broadcast": {"ack": ack, "self": self_},
                                                "presence": {"key": presence_key, "enabled": presence},
                                                "private": private}})
    channel.on_broadcast(events, rec.on_broadcast)
    if presence:
        channel.on_presence_sync(rec.on_sync).on_presence_join(rec.on_join).on_presence_leave(rec.on_leave)
    await settle(channel.subscribe(rec.on_state))
    return channel, rec


def test_broadcast_reaches_the_other_members_and_the_sender_only_with_self(server):
    async def scenario():
        alice = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        bob = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        try:
            a_channel, a = await subscribed(alice, "room1", ack=True, self_=True)
            b_channel, b = await subscribed(bob, "room1")
            assert a.states == ["SUBSCRIBED"] and b.states == ["SUBSCRIBED"]
            await a_channel.send_broadcast("cursor", {"x": 1, "y": 2})  # ack: returns after the server's reply
            await b_channel.send_broadcast("cursor", {"x": 3})
            await eventually(lambda: len(a.broadcasts) == 2 and len(b.broadcasts) == 1, what="the broadcasts")
            assert b.broadcasts == [{"event": "cursor", "payload": {"x": 1, "y": 2}}]
            assert sorted(json.dumps(m, sort_keys=True) for m in a.broadcasts) == sorted(
                json.dumps(m, sort_keys=True) for m in ({"event": "cursor", "payload": {"x": 1, "y": 2}},
                                                        {"event": "cursor", "payload": {"x": 3}})), \
                "self:true: alice hears herself (and bob)"
            await asyncio.sleep(0.2)
            assert len(b.broadcasts) == 1, "self:false: bob does not hear his own broadcast"
        finally:
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_a_broadcast_is_acknowledged_only_when_the_channel_asked_for_acks(server):
    async def scenario():
        client = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        try:
            acked, _ = await subscribed(client, "acks", ack=True)
            silent, _ = await subscribed(client, "silent")
            replies: dict[str, list] = {"acked": [], "silent": []}
            push = await acked.push("broadcast", {"type": "broadcast", "event": "e", "payload": {}})
            push.receive("ok", lambda payload: replies["acked"].append(payload))
            push2 = await silent.push("broadcast", {"type": "broadcast", "event": "e", "payload": {}})
            push2.receive("ok", lambda payload: replies["silent"].append(payload))
            await eventually(lambda: replies["acked"], what="the ack")
            await asyncio.sleep(0.3)
            assert replies["silent"] == [], "ack:false: the server does not reply to a broadcast"
        finally:
            await client.close()

    asyncio.run(scenario())


def test_presence_sync_join_and_leave_on_untrack_and_on_disconnect(server):
    async def scenario():
        alice = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        bob = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        try:
            a_channel, a = await subscribed(alice, "lobby", presence_key="alice", presence=True)
            await a_channel.track({"status": "online"})
            await eventually(lambda: "alice" in a_channel.presence_state(), what="alice's own presence")
            b_channel, b = await subscribed(bob, "lobby", presence_key="bob", presence=True)
            await eventually(lambda: "alice" in b_channel.presence_state(), what="presence_state after join")
            assert b.syncs >= 1
            meta = b_channel.presence_state()["alice"][0]
            assert meta["status"] == "online" and meta["presence_ref"], "phx_ref on every meta"
            await b_channel.track({"status": "typing"})
            await eventually(lambda: any(key == "bob" for key, _ in a.joins), what="bob's join at alice")
            await b_channel.untrack()
            await eventually(lambda: any(key == "bob" for key, _ in a.leaves), what="bob's leave on untrack")
            await b_channel.track({"status": "back"})
            await eventually(lambda: "bob" in a_channel.presence_state(), what="bob back")
            await bob.close()
            await eventually(lambda: "bob" not in a_channel.presence_state(), what="bob's leave on disconnect")
        finally:
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_a_message_sent_from_the_database_reaches_public_subscribers_with_the_documented_shape(server, fresh_db):
    async def scenario():
        client = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        try:
            _, rec = await subscribed(client, "news")
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                conn.execute("select realtime.send('{\"headline\": \"hi\"}'::jsonb, 'published', 'news', false)")
                conn.execute("select realtime.send('{\"secret\": true}'::jsonb, 'published', 'news', true)")
            await eventually(lambda: rec.broadcasts, what="the database broadcast")
            await asyncio.sleep(0.3)
            assert len(rec.broadcasts) == 1, "a private message never reaches a public channel"
            message = rec.broadcasts[0]
            assert message["event"] == "published"
            assert message["payload"]["headline"] == "hi"
            assert message["meta"]["id"] == message["payload"]["id"], "realtime.send's id is the message id"
        finally:
            await client.close()

    asyncio.run(scenario())


def test_generation_status_broadcasts_reach_members_on_the_private_org_topic_and_not_outsiders(server, fresh_db):
    member, member_token = make_user(fresh_db)
    outsider, outsider_token = make_user(fresh_db)
    org_id = make_org(fresh_db, member)
    make_org(fresh_db, outsider)
    topic = f"org:{org_id}:jobs"

    async def scenario():
        allowed = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        refused = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        try:
            await allowed.set_auth(member_token)
            await refused.set_auth(outsider_token)
            _, rec = await subscribed(allowed, topic, private=True)
            assert rec.states == ["SUBSCRIBED"], rec.errors
            channel, denied = await subscribed(refused, topic, private=True)
            assert denied.states[0] == "CHANNEL_ERROR"
            assert json.loads(denied.errors[0]) == {
                "reason": f"Unauthorized: You do not have permissions to read from this Channel topic: {topic}"}
            await channel.unsubscribe()
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                conn.execute(
                    "select set_config('role', 'authenticated', false),"
                    " set_config('request.jwt.claims', %s, false)",
                    (json.dumps({"sub": str(member), "role": "authenticated"}),))
                gen_id = conn.execute("select public.request_generation('Make a thing', 'crud_app', %s) ->> 'id'",
                                      (org_id,)).fetchone()[0]
            await eventually(lambda: rec.broadcasts, what="the generation's status broadcast")
            message = rec.broadcasts[0]
            assert message["event"] == "INSERT"
            assert message["payload"]["operation"] == "INSERT" and message["payload"]["table"] == "generations"
            assert message["payload"]["record"]["id"] == str(gen_id)
            assert message["payload"]["record"]["status"] == "queued"
            assert "prompt" not in message["payload"]["record"], "the prompt is not broadcast"
        finally:
            await allowed.close()
            await refused.close()

    asyncio.run(scenario())


def test_a_refreshed_token_that_may_no_longer_read_closes_the_private_channel(server, fresh_db):
    member, member_token = make_user(fresh_db)
    outsider, outsider_token = make_user(fresh_db)
    org_id = make_org(fresh_db, member)
    topic = f"org:{org_id}:jobs"

    async def scenario():
        client = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        try:
            await client.set_auth(member_token)
            channel, rec = await subscribed(client, topic, private=True)
            assert rec.states == ["SUBSCRIBED"]
            fresh_member_token = tokens.user_token(member, SECRET)
            await client.set_auth(fresh_member_token)  # still a member: the channel stays
            await asyncio.sleep(0.3)
            assert channel.is_joined
            await client.set_auth(outsider_token)
            await eventually(lambda: "CHANNEL_ERROR" in rec.states, what="the channel error")
            assert any("do not have permissions to read" in e for e in rec.errors)
        finally:
            await client.close()

    asyncio.run(scenario())


def test_an_invalid_join_token_is_refused_and_an_expiring_one_closes_the_channel(server, fresh_db):
    user, _ = make_user(fresh_db)

    async def scenario():
        client = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        try:
            await client.set_auth(tokens.sign({"role": "authenticated", "sub": str(user), "exp": 1}, SECRET))
            _, rec = await subscribed(client, "expired")
            assert rec.states[0] == "CHANNEL_ERROR"
            assert json.loads(rec.errors[0])["reason"].startswith("InvalidJWTToken: Token has expired ")
            assert json.loads(rec.errors[0])["reason"].endswith(" seconds ago"), "Realtime's words"
            import time
            await client.set_auth(tokens.sign({"role": "authenticated", "sub": str(user),
                                               "exp": int(time.time()) + 1}, SECRET))
            _, soon = await subscribed(client, "expiring")
            assert soon.states == ["SUBSCRIBED"]
            await eventually(lambda: "CHANNEL_ERROR" in soon.states, timeout_s=5, what="expiry")
            assert any("Token has expired" in e for e in soon.errors)
        finally:
            await client.close()

    asyncio.run(scenario())


def test_clients_reconnect_and_rejoin_after_a_server_restart(fresh_db):
    from tests.realtime_harness import start_server

    first = start_server(fresh_db)
    port = first.port

    async def scenario():
        nonlocal first
        listener = AsyncRealtimeClient(first.base_url, token=ANON_KEY, initial_backoff=0.2, max_retries=30)
        try:
            _, rec = await subscribed(listener, "restart")
            await asyncio.get_running_loop().run_in_executor(None, first.stop)
            second = await asyncio.get_running_loop().run_in_executor(None, lambda: start_server(fresh_db, port))
            try:
                await eventually(lambda: rec.states.count("SUBSCRIBED") >= 2, timeout_s=20, what="the rejoin")
                sender = AsyncRealtimeClient(second.base_url, token=ANON_KEY, auto_reconnect=False)
                s_channel, _ = await subscribed(sender, "restart", ack=True)
                await s_channel.send_broadcast("after", {"n": 1})
                await eventually(lambda: rec.broadcasts, what="a broadcast after the restart")
                await sender.close()
            finally:
                await listener.close()
                await asyncio.get_running_loop().run_in_executor(None, second.stop)
        finally:
            await listener.close()

    asyncio.run(scenario())


def test_a_bad_apikey_is_refused_at_the_upgrade_with_401(server):
    import websockets

    async def scenario():
        url = f"ws://127.0.0.1:{server.port}/realtime/v1/websocket?vsn=1.0.0&apikey=not-a-jwt"
        with pytest.raises(websockets.exceptions.InvalidStatus) as caught:
            await websockets.connect(url)
        response = caught.value.response
        assert response.status_code == 401
        assert json.loads(response.body) == {"error": "the token is not a JWT (expected three base64url parts)"}

    asyncio.run(scenario())


def test_http_send_and_the_rest_broadcast_api_deliver_to_members(server):
    import httpx

    async def scenario():
        client = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        try:
            channel, rec = await subscribed(client, "rest")
            await channel.http_send("via-http", {"n": 1})
            async with httpx.AsyncClient() as http:
                response = await http.post(f"{server.base_url}/api/broadcast", headers={"apikey": ANON_KEY},
                                           json={"messages": [{"topic": "rest", "event": "via-api",
                                                               "payload": {"n": 2}}]})
                assert response.status_code == 202
                # an invalid batch: Realtime's changeset errors, 422
                bad = await http.post(f"{server.base_url}/api/broadcast", headers={"apikey": ANON_KEY},
                                      json={"messages": [{"event": "no topic"}, {"topic": "t", "event": "e",
                                                                                 "payload": {}}]})
                assert bad.status_code == 422
                assert bad.json() == {"errors": {"messages": [
                    {"topic": ["can't be blank"], "payload": ["can't be blank"]}, {}]}}
                empty = await http.post(f"{server.base_url}/api/broadcast", headers={"apikey": ANON_KEY},
                                        json={"messages": []})
                assert (empty.status_code, empty.json()) == (422, {"errors": {"messages": ["can't be blank"]}})
                unauthenticated = await http.post(f"{server.base_url}/api/broadcast",
                                                  json={"messages": [{"topic": "rest", "event": "x"}]})
                assert (unauthenticated.status_code, unauthenticated.json()) == (401, {"message": "Unauthorized"})
                xml = await http.post(f"{server.base_url}/api/broadcast/rest/events/x",
                                      headers={"apikey": ANON_KEY, "content-type": "text/xml"}, content=b"<x/>")
                assert xml.status_code == 415 and xml.json()["error"].startswith("Unsupported Media Type")
            await eventually(lambda: len(rec.broadcasts) == 2, what="both REST broadcasts")
            assert [b["event"] for b in rec.broadcasts] == ["via-http", "via-api"]
            assert [b["payload"] for b in rec.broadcasts] == [{"n": 1}, {"n": 2}]
        finally:
            await client.close()

    asyncio.run(scenario())


def test_the_metrics_count_connections_channels_and_messages(server):
    import httpx

    async def scenario():
        client = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        try:
            channel, _ = await subscribed(client, f"m-{uuid.uuid4().hex[:6]}", ack=True)
            await channel.send_broadcast("e", {})
            async with httpx.AsyncClient() as http:
                text = (await http.get(f"http://127.0.0.1:{server.port}/metrics")).text
            values = dict(line.split(" ") for line in text.splitlines() if not line.startswith("#"))
            assert values["realtime_connections"] == "1" and values["realtime_channels"] == "1"
            assert int(values["realtime_joins_total"]) == 1 and int(values["realtime_messages_in_total"]) >= 2
        finally:
            await client.close()

    asyncio.run(scenario())


def test_private_writes_need_an_insert_policy_denied_broadcasts_are_dropped_even_with_ack(server, fresh_db):
    import httpx

    from tests.realtime_harness import SERVICE_KEY

    member, member_token = make_user(fresh_db)
    org_id = make_org(fresh_db, member)
    topic = f"org:{org_id}:jobs"  # members may read it; nobody may insert (policies/generations.sql)

    async def scenario():
        client = AsyncRealtimeClient(server.base_url, token=ANON_KEY, auto_reconnect=False)
        service = AsyncRealtimeClient(server.base_url, token=SERVICE_KEY, auto_reconnect=False)
        try:
            await client.set_auth(member_token)
            channel, rec = await subscribed(client, topic, private=True, ack=True, self_=True)
            replies: list = []
            push = await channel.push("broadcast", {"type": "broadcast", "event": "forged", "payload": {}})
            push.receive("ok", replies.append).receive("error", replies.append)
            track = await channel.push("presence", {"event": "track", "payload": {"online": True}})
            track.receive("ok", lambda p: replies.append(("track ok", p)))
            track.receive("error", lambda p: replies.append(("track error", p)))
            await eventually(lambda: any(isinstance(r, tuple) for r in replies), what="the track reply")
            assert ("track error", {}) in replies, "a denied track gets an error with no reason"
            # the service role bypasses RLS: its broadcast, over the socket and over REST, reaches the member
            s_channel, _ = await subscribed(service, topic, private=True, ack=True)
            await s_channel.send_broadcast("from-service", {"n": 1})
            async with httpx.AsyncClient() as http:
                for key in (member_token, SERVICE_KEY):
                    response = await http.post(
                        f"{server.base_url}/api/broadcast", headers={"apikey": ANON_KEY,
                                                                     "authorization": f"Bearer {key}"},
                        json={"messages": [{"topic": topic, "event": "rest", "private": True,
                                            "payload": {"by": "member" if key == member_token else "service"}}]})
                    assert response.status_code == 202
                # the single-message API says so when a private message may not be written (SingleBroadcast)
                denied = await http.post(f"{server.base_url}/api/broadcast/{topic}/events/rest?private=true",
                                         headers={"apikey": ANON_KEY, "authorization": f"Bearer {member_token}"},
                                         json={"by": "member"})
                assert (denied.status_code, denied.json()) == (403, {"message": "Unauthorized"})
            await eventually(lambda: len(rec.broadcasts) >= 2, what="the service role's broadcasts")
            await asyncio.sleep(0.3)
            assert [(b["event"], b["payload"]) for b in rec.broadcasts] == [
                ("from-service", {"n": 1}), ("rest", {"by": "service"})], \
                "the member's own broadcasts were dropped (no self echo), the service role's delivered"
            assert [r for r in replies if not isinstance(r, tuple)] == [], "no ack for a dropped broadcast"
        finally:
            await client.close()
            await service.close()

    asyncio.run(scenario())
