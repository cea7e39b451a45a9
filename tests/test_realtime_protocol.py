"""Realtime wire formats and bad input: frames exactly as realtime-protocol.md records them, and a server that
answers malformed frames, unknown topics and oversized payloads with clear errors while serving everyone else.

Bad input cannot be produced through the official clients (they only send well-formed frames), so these tests
write raw frames with the `websockets` client."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from functions_py.realtime import protocol
from functions_py.realtime.channels import Outgoing
from functions_py.realtime.pgoutput import Decoder
from functions_py.realtime.presence import PresenceTopic
from tests.realtime_harness import ANON_KEY, running_server

RECORDED_BINARY_PUSH = bytes.fromhex(
    "0301010e06000136377265616c74696d653a726f6f6d31637572736f727b2278223a312c2279223a327d")


def test_v1_server_frames_have_jasons_key_order_and_no_join_ref():
    frame = protocol.encode(protocol.VSN_1, "realtime:room1", "phx_reply", {"status": "ok", "response": {}}, "1",
                            "1")
    assert frame == '{"event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1","topic":"realtime:room1"}'


def test_v2_server_frames_are_arrays_with_join_ref_first():
    frame = protocol.encode(protocol.VSN_2, "realtime:room1", "phx_close", {}, "6", "6")
    assert json.loads(frame) == ["6", "6", "realtime:room1", "phx_close", {}]


def test_the_recorded_binary_push_decodes_and_is_forwarded_as_the_recorded_kind_4_frame():
    push = protocol.decode_binary(RECORDED_BINARY_PUSH)
    assert (push.join_ref, push.ref, push.topic) == ("6", "7", "realtime:room1")
    assert push.binary == ("cursor", b'{"x":1,"y":2}', protocol.ENC_JSON)
    out = Outgoing(topic=push.topic, event="cursor", payload_json='{"x":1,"y":2}', prefer_binary=True)
    assert out.frame(protocol.VSN_2) == bytes.fromhex("040e0600 01".replace(" ", "")) + \
        b'realtime:room1cursor{"x":1,"y":2}'
    assert json.loads(out.frame(protocol.VSN_1)) == {
        "event": "broadcast", "payload": {"event": "cursor", "payload": {"x": 1, "y": 2}, "type": "broadcast"},
        "ref": None, "topic": "realtime:room1"}


def test_a_binary_payload_is_not_delivered_to_v1_and_a_long_topic_falls_back_to_text():
    binary = Outgoing(topic="realtime:t", event="e", payload_json=None, binary=b"\x00\x01", prefer_binary=True)
    assert binary.frame(protocol.VSN_1) is None
    assert binary.frame(protocol.VSN_2)[-2:] == b"\x00\x01"
    long = Outgoing(topic="realtime:" + "x" * 300, event="e", payload_json="{}", prefer_binary=True)
    assert json.loads(long.frame(protocol.VSN_2))[3] == "broadcast", "kind 4 lengths are one byte"


@pytest.mark.parametrize(("vsn", "text", "message"), [
    (protocol.VSN_1, "not json", "not JSON"),
    (protocol.VSN_1, "[1,2]", "JSON object"),
    (protocol.VSN_2, '{"topic":"x"}', "JSON array"),
    (protocol.VSN_1, '{"event":"phx_join","payload":{},"ref":"1"}', "no topic"),
    (protocol.VSN_1, '{"topic":"realtime:a","event":"broadcast","payload":[],"ref":"1"}', "payload must be"),
])
def test_malformed_frames_are_refused_naming_what_is_wrong(vsn, text, message):
    with pytest.raises(protocol.ProtocolError, match=message):
        protocol.decode_text(vsn, text)


def test_presence_retrack_joins_the_new_meta_with_phx_ref_prev_and_leaves_the_old():
    topic = PresenceTopic()
    first = topic.track("owner", "alice", {"status": "online"})
    old = first["joins"]["alice"]["metas"][0]
    second = topic.track("owner", "alice", {"status": "away"})
    new = second["joins"]["alice"]["metas"][0]
    assert new["phx_ref_prev"] == old["phx_ref"] and new["phx_ref"] != old["phx_ref"]
    assert second["leaves"] == {"alice": {"metas": [old]}}
    assert topic.untrack("owner") == {"joins": {}, "leaves": {"alice": {"metas": [new]}}}
    assert topic.untrack("owner") is None


def test_pgoutput_relation_and_insert_messages_decode_to_column_values():
    import struct

    relation = (b"R" + struct.pack(">I", 42) + b"realtime\0messages\0" + b"d" + struct.pack(">h", 2)
                + b"\0topic\0" + struct.pack(">ii", 25, -1) + b"\0payload\0" + struct.pack(">ii", 3802, -1))
    insert = (b"I" + struct.pack(">I", 42) + b"N" + struct.pack(">h", 2) + b"t" + struct.pack(">i", 4) + b"room"
              + b"n")
    decoder = Decoder()
    assert decoder.decode(relation) is None
    change = decoder.decode(insert)
    assert change is not None and change.relation.name == "messages"
    assert change.values == {"topic": "room", "payload": None}


# -- against a running server ---------------------------------------------------------------------------------


def _join(topic: str, ref: str = "1", **config) -> str:
    return json.dumps({"topic": topic, "event": "phx_join", "ref": ref, "join_ref": ref,
                       "payload": {"config": {"broadcast": {"self": True, "ack": True}, **config}}})


async def _recv(ws, event: str | None = None, timeout: float = 5) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if event is None or message["event"] == event:
            return message


def test_bad_frames_get_clear_errors_and_the_server_keeps_serving():
    with running_server(None, max_payload_bytes=1024) as server:
        url = f"ws://127.0.0.1:{server.port}/realtime/v1/websocket?apikey={ANON_KEY}&vsn=1.0.0"

        async def scenario():
            async with websockets.connect(url) as bad, websockets.connect(url) as good:
                await good.send(_join("realtime:ok"))
                assert (await _recv(good, "phx_reply"))["payload"]["status"] == "ok"

                await bad.send("{not json")
                error = await _recv(bad)
                assert error["event"] == "phx_error" and error["topic"] == "phoenix"
                assert error["payload"]["reason"].startswith("malformed message: the frame is not JSON")

                await bad.send(json.dumps({"topic": "realtime:x", "event": "broadcast", "ref": "2",
                                           "payload": "nope"}))
                reply = await _recv(bad)
                assert reply["ref"] == "2" and reply["payload"]["status"] == "error"
                assert "payload must be a JSON object" in reply["payload"]["response"]["reason"]

                await bad.send(json.dumps({"topic": "realtime:never-joined", "event": "broadcast", "ref": "3",
                                           "payload": {"type": "broadcast", "event": "e", "payload": {}}}))
                assert (await _recv(bad))["payload"] == {"status": "error",
                                                         "response": {"reason": "unmatched topic"}}

                await bad.send(_join("elsewhere:topic", "4"))
                assert (await _recv(bad))["payload"]["response"] == {"reason": "unmatched topic"}
                await bad.send(_join("realtime:", "5"))
                assert (await _recv(bad))["payload"]["response"]["reason"].startswith("TopicNameRequired")

                await bad.send(_join("realtime:ok", "6"))
                await _recv(bad, "phx_reply")
                await bad.send(json.dumps({"topic": "realtime:ok", "event": "broadcast", "ref": "7", "join_ref": "6",
                                           "payload": {"type": "broadcast", "event": "big",
                                                       "payload": {"blob": "x" * 5000}}}))
                reply = await _recv(bad, "phx_reply")
                assert reply["payload"]["status"] == "error"
                assert reply["payload"]["response"]["reason"].startswith("PayloadTooLarge: the broadcast payload is")

                await bad.send(bytes([9, 0, 0]))
                assert "unknown binary frame kind 9" in (await _recv(bad))["payload"]["reason"]

                # everyone is still served: the bad socket too, and the good one never saw the oversized message
                await bad.send(json.dumps({"topic": "realtime:ok", "event": "broadcast", "ref": "8", "join_ref": "6",
                                           "payload": {"type": "broadcast", "event": "small", "payload": {"n": 1}}}))
                got = await _recv(good, "broadcast")
                assert got["payload"] == {"event": "small", "payload": {"n": 1}, "type": "broadcast"}
                await good.send(json.dumps({"topic": "phoenix", "event": "heartbeat", "ref": "9", "payload": {}}))
                assert (await _recv(good, "phx_reply"))["payload"] == {"status": "ok", "response": {}}

        asyncio.run(scenario())


def test_the_join_reply_echoes_postgres_changes_bindings_in_order_with_non_zero_ids():
    with running_server(None) as server:
        url = f"ws://127.0.0.1:{server.port}/realtime/v1/websocket?apikey={ANON_KEY}&vsn=2.0.0"
        bindings = [{"event": "INSERT", "schema": "public", "table": "todos"},
                    {"event": "*", "schema": "public", "table": "todos", "filter": "id=eq.1", "select": ["id"]}]

        async def scenario():
            async with websockets.connect(url) as ws:
                await ws.send(json.dumps(["1", "1", "realtime:pg", "phx_join",
                                          {"config": {"postgres_changes": bindings}}]))
                join_ref, ref, topic, event, payload = json.loads(await ws.recv())
                assert (join_ref, ref, topic, event) == ("1", "1", "realtime:pg", "phx_reply")
                echoed = payload["response"]["postgres_changes"]
                assert [{k: v for k, v in b.items() if k != "id"} for b in echoed] == bindings
                assert all(isinstance(b["id"], int) and b["id"] != 0 for b in echoed)
                system = json.loads(await ws.recv())
                assert system[3] == "system" and system[4]["extension"] == "postgres_changes"
                assert system[4]["status"] == "error", "no database: postgres_changes cannot subscribe"
                assert system[4]["channel"] == "pg"

        asyncio.run(scenario())


def test_a_socket_that_stops_sending_is_reaped():
    import time

    with running_server(None, idle_timeout_s=0.5) as server:
        url = f"ws://127.0.0.1:{server.port}/socket/websocket?apikey={ANON_KEY}"

        async def scenario():
            async with websockets.connect(url, ping_interval=None) as ws:
                started = time.monotonic()
                with pytest.raises(websockets.ConnectionClosed):
                    while True:
                        await asyncio.wait_for(ws.recv(), 15)
                return time.monotonic() - started

        assert asyncio.run(scenario()) < 14
        assert server.server.metrics.counters["sockets_reaped_total"] == 1


def test_a_track_on_a_channel_joined_without_presence_sends_the_presence_state():
    """realtime-js enables presence at join only when presence callbacks are registered; a later track turns it on,
    and Phoenix's Presence buffers diffs until a presence_state arrives, so the server sends one then."""
    with running_server(None) as server:
        url = f"ws://127.0.0.1:{server.port}/realtime/v1/websocket?apikey={ANON_KEY}&vsn=1.0.0"

        async def scenario():
            async with websockets.connect(url) as ws:
                await ws.send(_join("realtime:lobby", presence={"enabled": False, "key": "ada"}))
                assert (await _recv(ws, "phx_reply"))["payload"]["status"] == "ok"
                await ws.send(json.dumps({"topic": "realtime:lobby", "event": "presence", "ref": "2", "join_ref": "1",
                                          "payload": {"type": "presence", "event": "track",
                                                      "payload": {"status": "online"}}}))
                state = await _recv(ws, "presence_state")
                assert list(state["payload"]) == ["ada"]
                assert state["payload"]["ada"]["metas"][0]["status"] == "online"

        asyncio.run(scenario())


def test_a_join_with_an_unusable_token_is_refused_in_realtimes_words():
    """The reasons realtime_channel.ex gives (clients and their docs match on them)."""
    from functions_py import tokens
    from tests.realtime_harness import SECRET

    now = int(time.time())
    cases = {
        "not-a-jwt": "MalformedJWT: The token provided is not a valid JWT",
        tokens.sign({"role": "authenticated", "exp": now + 60}, "another-secret-of-at-least-32-characters"):
            "JwtSignatureError: Failed to validate JWT signature",
        tokens.sign({"role": "authenticated"}, SECRET): "InvalidJWTToken: Fields `role` and `exp` are required in JWT",
        tokens.sign({"exp": now + 60}, SECRET): "InvalidJWTToken: Fields `role` and `exp` are required in JWT",
    }
    with running_server(None) as server:
        url = f"ws://127.0.0.1:{server.port}/realtime/v1/websocket?apikey={ANON_KEY}&vsn=1.0.0"

        async def scenario():
            async with websockets.connect(url) as ws:
                for ref, (token, reason) in enumerate(cases.items(), start=1):
                    await ws.send(json.dumps({"topic": f"realtime:t{ref}", "event": "phx_join", "ref": str(ref),
                                              "join_ref": str(ref), "payload": {"access_token": token}}))
                    reply = await _recv(ws, "phx_reply")
                    assert reply["payload"] == {"status": "error", "response": {"reason": reason}}, token
                expired = tokens.sign({"role": "authenticated", "exp": now - 30}, SECRET)
                await ws.send(json.dumps({"topic": "realtime:old", "event": "phx_join", "ref": "9", "join_ref": "9",
                                          "payload": {"access_token": expired}}))
                reason = (await _recv(ws, "phx_reply"))["payload"]["response"]["reason"]
                assert reason.startswith("InvalidJWTToken: Token has expired 3") and reason.endswith(" seconds ago")

        asyncio.run(scenario())
