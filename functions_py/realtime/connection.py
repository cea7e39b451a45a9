"""One client socket: reads pushes, answers them as the Phoenix/Realtime server does, and writes through a queue.

Outbound frames go through a per-socket queue that fan-out only appends to, so it never waits on a slow client.
The queue is written out once per event-loop turn for every socket that has frames (one `Flusher` callback for
all of them, not a task wake-up per frame): under uvicorn with `transport.websocket_protocol()` all of a socket's
frames leave in one transport write; elsewhere a writer task sends them through ASGI one by one. While the
client does not read (its transport is above the high-water mark) frames stay queued; a client that falls
`MAX_QUEUED` frames or `MAX_QUEUED_BYTES` behind is disconnected (code 1013) rather than buffered forever.

A connection reaches the rest of the server only through `ChannelHost`, which RealtimeServer implements: tokens,
authorization, the topics' membership and presence, postgres_changes subscriptions, and the counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
import zlib
from collections import deque
from typing import Any, Protocol

import jwt
from starlette.websockets import WebSocket, WebSocketDisconnect

from functions_py.realtime import protocol
from functions_py.realtime.authorization import ReadAccess
from functions_py.realtime.channels import Channel, Outgoing
from functions_py.realtime.transport import WriteResult, frame_writer
from functions_py.tokens import InvalidToken

log = logging.getLogger("supakit.realtime")

MAX_QUEUED = 20_000  # frames queued for one socket (not yet taken by its transport) before it is disconnected
MAX_QUEUED_BYTES = 8 * 1024 * 1024  # or bytes: 20,000 frames of 256 KiB would be 5 GB
CLOSE_TIMEOUT_S = 5.0  # a client that does not read gets this long to take a close frame, then TCP is aborted
TOPIC_PREFIX = "realtime:"
UNMATCHED = {"reason": "unmatched topic"}


def _flag(value: Any, default: bool = False) -> bool:
    """Phoenix's "flexible" booleans: true/false, "true"/"false", 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    if isinstance(value, (int, float)):
        return bool(value)
    return default


def token_refusal(error: InvalidToken, token: Any) -> tuple[str, str]:
    """Realtime's code and message for a token it cannot use (realtime_channel.ex and jwt_verification.ex): a join
    replies `<code>: <message>`, an `access_token` push closes the channel with the message alone. Reasons Realtime
    has no words for keep ours under InvalidJWTToken."""
    reason = getattr(error, "reason", None)
    if reason == "malformed":
        return "MalformedJWT", "The token provided is not a valid JWT"
    if reason == "bad_signature":
        return "JwtSignatureError", "Failed to validate JWT signature"
    if reason in ("no_role", "missing_claims"):
        return "InvalidJWTToken", "Fields `role` and `exp` are required in JWT"
    if reason == "expired":
        try:
            exp = int(jwt.decode(token, options={"verify_signature": False}).get("exp"))
        except (jwt.InvalidTokenError, TypeError, ValueError):
            exp = int(time.time())
        return "InvalidJWTToken", f"Token has expired {max(0, int(time.time()) - exp)} seconds ago"
    return "InvalidJWTToken", error.message


def binding_id(binding: dict) -> int:
    """A stable, non-zero 32-bit id for a postgres_changes binding (Supabase uses phash2 of its params;
    realtime-py never fires callbacks for id 0)."""
    value = zlib.crc32(json.dumps(binding, sort_keys=True, separators=(",", ":")).encode())
    return value or 1


class ChannelHost(Protocol):
    """What a socket needs from the server, and all it may use."""

    max_payload_bytes: int

    def count(self, name: str, amount: int = 1) -> None:
        """Add to the counter `name` (exported on /metrics)."""

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a JWT; raises InvalidToken."""

    async def authorize_read(self, channel: Channel) -> ReadAccess:
        """May the channel's claims read its private topic (broadcast, presence)?"""

    async def authorize_write(self, channel: Channel, extension: str) -> bool:
        """May the channel's claims write `extension` ("broadcast", "presence") to its private topic?"""

    async def joined(self, channel: Channel) -> list[str]:
        """Add a joined channel to its topic, subscribe its postgres_changes bindings and arm its token's expiry;
        returns the subscription errors (empty: all live)."""

    async def refreshed(self, channel: Channel) -> None:
        """The channel's token changed: re-arm the expiry, re-check its postgres_changes subscriptions."""

    async def drop_channel(self, channel: Channel) -> None:
        """Forget a channel: membership, presence, subscriptions."""

    def broadcast(self, channel: Channel, message: Outgoing) -> None:
        """Fan `message` out to the channel's topic (the sender only with `self`)."""

    def presence_state(self, channel: Channel) -> dict:
        """The topic's presence state."""

    def track(self, channel: Channel, payload: dict) -> None:
        """Track the channel's presence with `payload` and send the diff."""

    def untrack(self, channel: Channel) -> None:
        """Untrack the channel's presence and send the diff."""


class Flusher:
    """Writes out every socket's queued frames once per event-loop turn, with one loop callback for all of them."""

    def __init__(self) -> None:
        self._dirty: list[Connection] = []

    def schedule(self, conn: Connection) -> None:
        if not self._dirty:
            asyncio.get_running_loop().call_soon(self._run)
        self._dirty.append(conn)

    def _run(self) -> None:
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            try:
                conn.flush()
            except Exception:  # one broken socket must not leave the others' frames unwritten
                log.exception("realtime: writing to socket %s failed; dropping it", conn.id)
                conn.drop()


class Connection:
    """A WebSocket speaking vsn 1.0.0 or 2.0.0 for a client whose apikey verified to `claims`."""

    def __init__(self, host: ChannelHost, websocket: WebSocket, vsn: str, claims: dict[str, Any],
                 flusher: Flusher | None = None) -> None:
        self.host = host
        self.websocket = websocket
        self.vsn = vsn
        self.claims = claims
        self.id = uuid.uuid4().hex[:12]
        self.channels: dict[str, Channel] = {}
        self.last_seen = time.monotonic()
        self.closed = False
        self._queue: deque[str | bytes] = deque()
        self._queued_bytes = 0  # approximate (str lengths): what the byte bound needs
        self._scheduled = False  # in the flusher's list for this loop turn
        self._writer_owns = False  # the writer task is sending the queue (blocked transport, or no direct path)
        self._ready = asyncio.Event()
        self._flusher = flusher or Flusher()
        self._direct = frame_writer(websocket.scope)
        self._send = websocket.send
        self._closer: asyncio.Task | None = None

    # -- output ------------------------------------------------------------------------------------------------

    def enqueue(self, frame: str | bytes) -> None:
        """Queue a frame; it is written at the end of this loop turn (fan-out never waits on the client)."""
        if self.closed:
            return
        queue = self._queue
        if len(queue) >= MAX_QUEUED or self._queued_bytes >= MAX_QUEUED_BYTES:
            log.warning("realtime: socket %s is %d frames (%d bytes) behind; disconnecting it", self.id, len(queue),
                        self._queued_bytes)
            self.host.count("slow_consumer_disconnects")
            self.close_soon(1013, "too slow: the client fell behind")
            return
        queue.append(frame)
        self._queued_bytes += len(frame)
        if not (self._scheduled or self._writer_owns):
            self._scheduled = True
            self._flusher.schedule(self)

    @property
    def backlog_bytes(self) -> int:
        """Bytes not yet taken by the kernel: queued here (approximately) and in the transport's buffer. Bounded:
        at most MAX_QUEUED_BYTES here, and the transport takes a queue only while under its high-water mark."""
        return self._queued_bytes + (self._direct.buffered if self._direct is not None else 0)

    def flush(self) -> None:
        """Write the queue out now (direct path), or hand it to the writer task; frames keep their order."""
        self._scheduled = False
        queue = self._queue
        if self.closed or self._writer_owns or not queue:
            return
        direct = self._direct
        if direct is not None:
            result = direct.write(queue)
            if result is not WriteResult.BLOCKED:
                if result is WriteResult.WRITTEN:
                    self.host.count("messages_out_total", len(queue))
                    self.host.count("socket_writes_total")
                queue.clear()  # CLOSED: the reader sees the disconnect and the socket is dropped
                self._queued_bytes = 0
                return
        self._writer_owns = True
        self._ready.set()

    def reply(self, push: protocol.Push, status: str, response: dict, topic: str | None = None) -> None:
        self.enqueue(protocol.encode(self.vsn, topic or push.topic, "phx_reply",
                                     {"status": status, "response": response}, push.ref, push.join_ref))

    def push_event(self, topic: str, event: str, payload: Any, ref: str | None = None,
                   join_ref: str | None = None) -> None:
        self.enqueue(protocol.encode(self.vsn, topic, event, payload, ref, join_ref))

    def system(self, channel: Channel, extension: str, status: str, message: str) -> None:
        self.push_event(channel.topic, "system",
                        {"channel": channel.name, "extension": extension, "message": message, "status": status})

    async def _writer(self) -> None:
        """Sends the queue when `flush` cannot write it at once: waits for a blocked transport to drain, or (no
        direct path) sends frame by frame through ASGI."""
        send, queue, count, direct = self._send, self._queue, self.host.count, self._direct
        while not self.closed:
            await self._ready.wait()
            self._ready.clear()
            if self.closed:
                break
            if direct is not None:
                await direct.wait_writable()
                self._writer_owns = False
                self.flush()  # blocked again: flush hands the queue back and sets _ready
                continue
            while queue and not self.closed:
                frame = queue.popleft()
                self._queued_bytes -= len(frame)
                if isinstance(frame, str):
                    await send({"type": "websocket.send", "text": frame})
                else:
                    await send({"type": "websocket.send", "bytes": frame})
                count("messages_out_total")
                count("socket_writes_total")
            self._writer_owns = False

    def close_soon(self, code: int, reason: str) -> None:
        """Stop sending, drop what is queued and close the socket with `code` in a task of its own (the writer
        may be waiting on the very transport that does not drain)."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._queued_bytes = 0
        self._ready.set()
        self._closer = asyncio.get_running_loop().create_task(self.close(code, reason),
                                                             name=f"realtime-close-{self.id}")

    async def close(self, code: int, reason: str) -> None:
        """Close with `code`; a client that reads nothing never takes the close frame (uvicorn's send waits for
        the transport to drain first), so after CLOSE_TIMEOUT_S the TCP connection is dropped."""
        self.closed = True
        try:
            await asyncio.wait_for(self.websocket.close(code=code, reason=reason), CLOSE_TIMEOUT_S)
        except Exception:  # timed out behind a full buffer, or already closed
            self.drop()

    def drop(self) -> None:
        """Drop the TCP connection now, when the server gives a way to (the reader then sees the disconnect)."""
        self.closed = True
        self._queue.clear()
        self._queued_bytes = 0
        self._ready.set()
        if self._direct is not None:
            self._direct.abort()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._writer(), name=f"realtime-writer-{self.id}")
        try:
            while not self.closed:
                message = await self.websocket.receive()
                kind = message["type"]
                if kind == "websocket.disconnect":
                    break
                self.last_seen = time.monotonic()
                self.host.count("messages_in_total")
                try:
                    if message.get("text") is not None:
                        push = protocol.decode_text(self.vsn, message["text"])
                    elif message.get("bytes") is not None:
                        push = protocol.decode_binary(message["bytes"])
                    else:
                        continue
                except protocol.ProtocolError as error:
                    self._bad_frame(error)
                    continue
                try:
                    await self.handle(push)
                except Exception:  # one bad push must not take the socket (or the server) down
                    log.exception("realtime: push %s on %s failed", push.event, push.topic)
                    await self._crashed(push)
        except WebSocketDisconnect:
            pass
        finally:
            self.closed = True
            self._ready.set()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            await self.leave_all()

    async def _crashed(self, push: protocol.Push) -> None:
        """As when a Phoenix channel process crashes: the push is answered with an error, the channel gets
        `phx_error` (ref = its join_ref; clients rejoin) and is dropped."""
        if push.ref is not None:
            self.reply(push, "error", {"reason": "Unknown Error on Channel"})
        channel = self.channels.get(push.topic)
        if channel is not None:
            self.push_event(channel.topic, "phx_error", {"reason": "channel_crash"}, channel.join_ref,
                            channel.join_ref)
            with contextlib.suppress(Exception):
                await self.host.drop_channel(channel)

    async def leave_all(self) -> None:
        for channel in list(self.channels.values()):
            await self.host.drop_channel(channel)
        self.channels.clear()

    def _bad_frame(self, error: protocol.ProtocolError) -> None:
        self.host.count("bad_frames_total")
        log.info("realtime: socket %s sent a bad frame: %s", self.id, error)
        if error.ref is not None and error.topic is not None:
            self.enqueue(protocol.encode(self.vsn, error.topic, "phx_reply",
                                         {"status": "error", "response": {"reason": f"malformed message: {error}"}},
                                         error.ref, error.join_ref))
        else:
            self.push_event("phoenix", "phx_error", {"reason": f"malformed message: {error}"})

    # -- pushes ------------------------------------------------------------------------------------------------

    async def handle(self, push: protocol.Push) -> None:
        event = push.event
        if push.topic == "phoenix":
            if event == "heartbeat":
                self.reply(push, "ok", {})
            else:
                self.reply(push, "error", {"reason": f"unknown event {event!r} on topic phoenix"})
            return
        if event == "phx_join":
            await self.join(push)
            return
        channel = self.channels.get(push.topic)
        if channel is None:
            if push.ref is not None or event != "heartbeat":
                self.reply(push, "error", UNMATCHED)
            return
        if event == "broadcast":
            await self.broadcast(channel, push)
        elif event == "presence":
            await self.presence(channel, push)
        elif event == "access_token":
            await self.refresh_token(channel, push)
        elif event == "phx_leave":
            self.reply(push, "ok", {})
            self.push_event(channel.topic, "phx_close", {}, channel.join_ref, channel.join_ref)
            await self.host.drop_channel(channel)
        else:
            self.reply(push, "error", {"reason": f"unknown event {event!r}"})

    def _token_claims(self, payload: dict) -> dict[str, Any]:
        """The claims of the join's access_token (it overrides the apikey, except `sb_` keys), else the socket's."""
        token = payload.get("access_token")
        if isinstance(token, str) and token and not token.startswith("sb_"):
            return self.host.verify(token)
        return self.claims

    async def join(self, push: protocol.Push) -> None:
        topic = push.topic
        if not topic.startswith(TOPIC_PREFIX):
            self.reply(push, "error", UNMATCHED)
            return
        name = topic[len(TOPIC_PREFIX):]
        if not name:
            self.reply(push, "error", {"reason": "TopicNameRequired: You must provide a topic name"})
            return
        old = self.channels.get(topic)
        if old is not None:  # re-joining a joined topic closes the old channel first
            self.push_event(old.topic, "phx_close", {}, old.join_ref, old.join_ref)
            await self.host.drop_channel(old)
        payload = push.payload
        try:
            claims = self._token_claims(payload)
        except InvalidToken as error:
            log.info("realtime: socket %s joined %r with a bad token: %s", self.id, topic, error.message)
            code, message = token_refusal(error, payload.get("access_token"))
            self.reply(push, "error", {"reason": f"{code}: {message}"})
            return
        config = payload.get("config") if isinstance(payload.get("config"), dict) else {}
        broadcast = config.get("broadcast") if isinstance(config.get("broadcast"), dict) else {}
        presence = config.get("presence") if isinstance(config.get("presence"), dict) else {}
        bindings = config.get("postgres_changes")
        bindings = [b for b in bindings if isinstance(b, dict)] if isinstance(bindings, list) else []
        channel = Channel(
            conn=self, topic=topic, name=name, join_ref=push.join_ref, private=_flag(config.get("private")),
            claims=claims, broadcast_self=_flag(broadcast.get("self")), broadcast_ack=_flag(broadcast.get("ack")),
            presence_key=str(presence.get("key") or "") or str(uuid.uuid4()),
            presence_enabled=_flag(presence.get("enabled")))
        if channel.private:
            access = await self.host.authorize_read(channel)
            if not access.any:
                self.host.count("joins_refused_total")
                log.info("realtime: socket %s may not read private topic %r (role %s)", self.id, name, channel.role)
                self.reply(push, "error", {
                    "reason": f"Unauthorized: You do not have permissions to read from this Channel topic: {name}"})
                return
            channel.read_broadcast, channel.read_presence = access.broadcast, access.presence
        if self.closed:
            return
        self.channels[topic] = channel
        self.host.count("joins_total")
        for index, binding in enumerate(bindings):
            sub_id = f"{self.id}:{topic}:{index}:{push.join_ref}"
            channel.bindings.append((binding_id(binding), sub_id, binding))
        errors = await self.host.joined(channel)
        self.reply(push, "ok", {"postgres_changes": [{**b, "id": i} for i, _, b in channel.bindings]})
        if channel.presence_enabled and channel.read_presence:
            self.push_event(topic, "presence_state", self.host.presence_state(channel))
        if bindings:
            if errors:
                for message in errors:
                    self.system(channel, "postgres_changes", "error", message)
            else:
                self.system(channel, "postgres_changes", "ok", "Subscribed to PostgreSQL")

    async def broadcast(self, channel: Channel, push: protocol.Push) -> None:
        if push.binary is not None:
            event, body, enc = push.binary
            payload_json = None
            if enc == protocol.ENC_JSON:
                payload_json = body.decode(errors="replace")
            size = len(body)
        else:
            event = push.payload.get("event")
            if not isinstance(event, str) or not event:
                if push.ref is not None:
                    self.reply(push, "error", {"reason": "a broadcast needs an event name (payload.event)"})
                return
            payload_json = protocol.dumps(push.payload.get("payload", {}))
            body, enc, size = None, protocol.ENC_JSON, len(payload_json)
        limit = self.host.max_payload_bytes
        if size > limit:
            self.host.count("payloads_too_large_total")
            reason = f"PayloadTooLarge: the broadcast payload is {size} bytes; the limit is {limit} bytes"
            if push.ref is not None:
                self.reply(push, "error", {"reason": reason})
            else:  # nothing to reply to: tell the channel, which stays open
                self.system(channel, "system", "error", reason)
            return
        if channel.private and not await self.host.authorize_write(channel, "broadcast"):
            self.host.count("broadcasts_denied_total")
            return  # dropped silently, even with ack (Supabase's broadcast_handler)
        message = Outgoing(topic=channel.topic, event=event, payload_json=payload_json,
                           binary=body if enc == protocol.ENC_BINARY else None,
                           prefer_binary=push.binary is not None)
        self.host.broadcast(channel, message)
        if channel.broadcast_ack and push.ref is not None:
            self.reply(push, "ok", {})

    async def presence(self, channel: Channel, push: protocol.Push) -> None:
        kind = push.payload.get("event")
        if kind == "track":
            payload = push.payload.get("payload", {})  # absent is an empty meta, as Realtime's presence handler
            if not isinstance(payload, dict):
                self.reply(push, "error", {"reason": "Presence track payload must be a map"})
                return
            if channel.private and not await self.host.authorize_write(channel, "presence"):
                self.reply(push, "error", {})
                return
            was_enabled, channel.presence_enabled = channel.presence_enabled, True
            self.reply(push, "ok", {})
            self.host.track(channel, payload)
            if not was_enabled and channel.read_presence:
                # the track turned presence on (joined without it): the state now, as Realtime's presence handler
                # syncs it; Phoenix clients hold every diff until a state arrives
                self.push_event(channel.topic, "presence_state", self.host.presence_state(channel))
        elif kind == "untrack":
            self.reply(push, "ok", {})
            self.host.untrack(channel)
        else:
            self.reply(push, "error", {"reason": f"unknown presence event {kind!r}; use track or untrack"})

    async def refresh_token(self, channel: Channel, push: protocol.Push) -> None:
        """`access_token`: no reply; a bad token, or one that may no longer read the channel, closes it."""
        token = push.payload.get("access_token")
        if not isinstance(token, str) or not token or token.startswith("sb_"):
            return
        try:
            claims = self.host.verify(token)
        except InvalidToken as error:
            await self.close_channel(channel, token_refusal(error, token)[1])  # the bare message, as Realtime's
            return
        channel.claims = claims
        channel.write.clear()
        if channel.private:
            access = await self.host.authorize_read(channel)
            if not access.any:
                await self.close_channel(
                    channel, f"You do not have permissions to read from this Channel topic: {channel.name}")
                return
            channel.read_broadcast, channel.read_presence = access.broadcast, access.presence
        await self.host.refreshed(channel)

    async def close_channel(self, channel: Channel, message: str) -> None:
        """A `system` error on the channel, then `phx_close`, as Supabase's shutdown_response."""
        if self.channels.get(channel.topic) is not channel:
            return
        self.system(channel, "system", "error", message)
        self.push_event(channel.topic, "phx_close", {}, channel.join_ref, channel.join_ref)
        await self.host.drop_channel(channel)
