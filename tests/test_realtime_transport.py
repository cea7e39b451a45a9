"""How the Realtime server writes to sockets (functions_py/realtime/transport.py, connection.py): frames written
straight to uvicorn's transport are the bytes `websockets` would produce; a socket's frames arrive in order,
batched per loop turn, with and without permessage-deflate and on the plain ASGI path; a client that stops reading
is disconnected with its backlog bounded while everyone else is served; an idle socket is reaped."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import urlsplit

import pytest
import websockets
from websockets.frames import Frame, Opcode

from functions_py.realtime import connection as realtime_connection
from functions_py.realtime.transport import frame_header
from tests.realtime_harness import ANON_KEY, eventually, running_server, settle


def _url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/realtime/v1/websocket?apikey={ANON_KEY}&vsn=1.0.0"


def _join(topic: str, ref: str = "1") -> str:
    return json.dumps({"topic": topic, "event": "phx_join", "ref": ref, "join_ref": ref,
                       "payload": {"config": {"broadcast": {"self": False}}}})


def _broadcast(topic: str, payload: dict) -> str:
    return json.dumps({"topic": topic, "event": "broadcast", "ref": None, "join_ref": "1",
                       "payload": {"type": "broadcast", "event": "n", "payload": payload}})


def _client_frame(text: str) -> bytes:
    """A client text frame, masked with the all-zero key (so the payload reads as is)."""
    data = text.encode()
    size = len(data)
    if size < 126:
        head = bytes((0x81, 0x80 | size))
    elif size < 65536:
        head = bytes((0x81, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x81, 0x80 | 127)) + size.to_bytes(8, "big")
    return head + b"\0\0\0\0" + data


class RawClient:
    """A bare WebSocket client over asyncio streams: writes many frames at once; reads only when told to."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, url: str, *, receive_buffer: int | None = None) -> RawClient:
        parts = urlsplit(url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # before connect, so the window the server sees stays small
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2 ** 22)
        writer.write((f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def send_all(self, texts: list[str]) -> None:
        self.writer.write(b"".join(_client_frame(t) for t in texts))
        await self.writer.drain()

    async def recv_json(self) -> dict:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(await self.reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await self.reader.readexactly(8), "big")
        assert first == 0x81, f"expected a text frame, got {first:#x}"
        return json.loads(await self.reader.readexactly(size))

    def close(self) -> None:
        self.writer.transport.abort()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 300_000])
@pytest.mark.parametrize("opcode", [Opcode.TEXT, Opcode.BINARY])
def test_a_directly_written_frame_is_what_websockets_serializes(size, opcode):
    payload = b"x" * size
    ours = frame_header(0x80 | opcode.value, size) + payload
    assert ours == Frame(opcode, payload).serialize(mask=False), f"{opcode.name} frame of {size} bytes"


@pytest.mark.parametrize("ws", [None, "websockets-sansio"], ids=["direct-writes", "plain-asgi"])
def test_a_burst_reaches_every_subscriber_in_order_compressed_or_not(ws):
    """1,000 pushes arriving in a few TCP reads: each subscriber (one without extensions, one with
    permessage-deflate) gets all of them in order; with direct writes in far fewer socket writes than frames,
    through plain ASGI in one send per frame."""
    count = 1000
    with running_server(None, ws=ws) as running:
        url = _url(running.port)

        async def scenario() -> None:
            async with websockets.connect(url, compression=None) as plain, websockets.connect(url) as deflated:
                for sub in (plain, deflated):
                    await sub.send(_join("realtime:burst"))
                    assert json.loads(await sub.recv())["payload"]["status"] == "ok"
                assert plain.protocol.extensions == [] and len(deflated.protocol.extensions) == 1
                publisher = await RawClient.connect(url)
                await publisher.send_all([_join("realtime:burst")])
                assert (await publisher.recv_json())["payload"]["status"] == "ok"
                before = dict(running.server.metrics.counters)
                await publisher.send_all([_broadcast("realtime:burst", {"n": n, "pad": "p" * 100})
                                          for n in range(count)])
                for sub in (plain, deflated):
                    got = [json.loads(await settle(sub.recv()))["payload"]["payload"]["n"] for _ in range(count)]
                    assert got == list(range(count)), "every frame, in the order it was broadcast"
                publisher.close()
                counters = running.server.metrics.counters
                frames = counters["messages_out_total"] - before.get("messages_out_total", 0)
                writes = counters["socket_writes_total"] - before.get("socket_writes_total", 0)
                assert frames == 2 * count
                if ws is None:
                    assert writes * 4 < frames, f"{writes} socket writes for {frames} frames: not batched"
                else:
                    assert writes == frames, "the ASGI path sends frame by frame"

        asyncio.run(scenario())


def test_a_client_that_stops_reading_is_disconnected_and_its_backlog_stays_bounded():
    """The slow socket never reads after its join: its backlog (queue + transport buffer) stays under its bound,
    it is disconnected (1013, then TCP dropped when it cannot take the close frame), and a fast subscriber on the
    same topic gets every message in order meanwhile."""
    messages, pad = 300, "x" * 100_000  # 30 MB in all; the slow socket's bound is MAX_QUEUED_BYTES (8 MB) queued
    bound = 2 * realtime_connection.MAX_QUEUED_BYTES + 2 * len(pad)  # queue + one flush over the high-water mark
    with running_server(None) as running:
        url = _url(running.port)

        async def scenario() -> None:
            slow = await RawClient.connect(url, receive_buffer=4096)
            await slow.send_all([_join("realtime:slow")])
            assert (await slow.recv_json())["payload"]["status"] == "ok"
            (slow_conn,) = running.server.connections
            async with websockets.connect(url, compression=None, max_size=None) as fast, \
                    websockets.connect(url, compression=None) as publisher:
                await fast.send(_join("realtime:slow"))
                await publisher.send(_join("realtime:slow"))
                assert json.loads(await fast.recv())["payload"]["status"] == "ok"
                assert json.loads(await publisher.recv())["payload"]["status"] == "ok"
                worst = 0

                async def watch() -> None:
                    nonlocal worst
                    while True:
                        worst = max(worst, slow_conn.backlog_bytes)
                        await asyncio.sleep(0.001)

                watcher = asyncio.create_task(watch())
                got: list[int] = []
                for n in range(messages):  # the publisher stays at most 10 messages ahead of the fast reader
                    await publisher.send(_broadcast("realtime:slow", {"n": n, "pad": pad}))
                    while len(got) < n - 10:
                        got.append(json.loads(await settle(fast.recv()))["payload"]["payload"]["n"])
                while len(got) < messages:
                    got.append(json.loads(await settle(fast.recv()))["payload"]["payload"]["n"])
                assert got == list(range(messages)), "the fast subscriber is not held up by the slow one"
                await eventually(lambda: slow_conn not in running.server.connections,
                                 realtime_connection.CLOSE_TIMEOUT_S + 10, "the slow socket to be dropped")
                watcher.cancel()
                assert running.server.metrics.counters["slow_consumer_disconnects"] == 1
                assert worst <= bound, f"the slow socket's backlog reached {worst} bytes (bound {bound})"
                await fast.send(json.dumps({"topic": "phoenix", "event": "heartbeat", "ref": "h", "payload": {}}))
                assert json.loads(await settle(fast.recv()))["ref"] == "h", "and the fast one is still served"
            slow.close()

        asyncio.run(scenario())


def test_an_idle_socket_is_reaped_and_one_that_heartbeats_is_not():
    with running_server(None, idle_timeout_s=1.0) as running:
        url = _url(running.port)

        async def scenario() -> None:
            async with websockets.connect(url) as idle, websockets.connect(url) as alive:
                async def heartbeat() -> None:
                    while True:
                        await alive.send(json.dumps({"topic": "phoenix", "event": "heartbeat", "ref": "h",
                                                     "payload": {}}))
                        await alive.recv()
                        await asyncio.sleep(0.3)

                beating = asyncio.create_task(heartbeat())
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await settle(idle.recv(), 20)
                assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1000, "heartbeat timeout")
                assert not beating.done(), "the socket that heartbeats stays open"
                beating.cancel()
                assert running.server.metrics.counters["sockets_reaped_total"] == 1

        asyncio.run(scenario())
