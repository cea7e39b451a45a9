"""Channels and topics: who is joined where, and fan-out that encodes each message once per protocol version.

A `Channel` is one socket's membership of one topic. Topics are keyed by (private, name): a private and a public
channel of the same name are distinct, as on Supabase (`<tenant>-private:<t>` vs `<tenant>:<t>`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions_py.realtime import protocol
from functions_py.realtime.presence import PresenceTopic

TopicKey = tuple[bool, str]  # (private, name without "realtime:")


class Socket(Protocol):
    """What channels and the server use of a member's socket (functions_py.realtime.connection.Connection)."""

    vsn: str
    channels: dict[str, Channel]

    def enqueue(self, frame: str | bytes) -> None: ...

    def system(self, channel: Channel, extension: str, status: str, message: str) -> None: ...

    async def close_channel(self, channel: Channel, message: str) -> None: ...


@dataclass(eq=False)
class Channel:
    """One socket's membership of a topic, with what the join said and what its token may do."""

    conn: Socket
    topic: str  # as the client names it: "realtime:<name>"
    name: str
    join_ref: str | None
    private: bool
    claims: dict[str, Any]
    broadcast_self: bool = False
    broadcast_ack: bool = False
    presence_key: str = ""
    presence_enabled: bool = False
    read_broadcast: bool = True
    read_presence: bool = True
    write: dict[str, bool] = field(default_factory=dict)  # extension -> allowed; absent: not checked yet
    bindings: list[tuple[int, str, dict]] = field(default_factory=list)  # (id, sub_id, binding)
    expiry: asyncio.TimerHandle | None = None

    @property
    def key(self) -> TopicKey:
        return (self.private, self.name)

    @property
    def role(self) -> str:
        return str(self.claims.get("role") or "anon")


@dataclass
class Outgoing:
    """One broadcast to fan out. Frames are built lazily, once per protocol version, then shared."""

    topic: str
    event: str
    payload_json: str | None  # the user payload as JSON text (None: a binary payload)
    binary: bytes | None = None  # a binary payload (V2 kind 4 with enc 0; never to V1)
    meta: dict | None = None  # {"id": ...} for database broadcasts
    prefer_binary: bool = False  # V2 gets kind 4 even for JSON (binary pushes and database broadcasts)
    _v1: str | None = None
    _v2: str | bytes | None = None

    def frame(self, vsn: str) -> str | bytes | None:
        if vsn == protocol.VSN_2:
            if self._v2 is None:
                self._v2 = self._encode_v2()
            return self._v2
        if self._v1 is None and self.payload_json is not None:
            self._v1 = protocol.encode_raw(protocol.VSN_1, self.topic, "broadcast",
                                           protocol.broadcast_json(self.event, self.payload_json, self.meta))
        return self._v1

    def _encode_v2(self) -> str | bytes:
        if self.binary is not None or self.prefer_binary:
            body, enc = ((self.binary, protocol.ENC_BINARY) if self.binary is not None
                         else (self.payload_json.encode(), protocol.ENC_JSON))  # type: ignore[union-attr]
            frame = protocol.encode_user_broadcast(self.topic, self.event, body, enc, self.meta)
            if frame is not None:
                return frame
            if self.payload_json is None:  # too long a topic for kind 4 and no JSON form: base64 would lie
                return b""
        return protocol.encode_raw(protocol.VSN_2, self.topic, "broadcast",
                                   protocol.broadcast_json(self.event, self.payload_json or "null", self.meta))


class Hub:
    """Every topic's members and presence."""

    def __init__(self) -> None:
        self.topics: dict[TopicKey, set[Channel]] = {}
        self.presence: dict[TopicKey, PresenceTopic] = {}

    def add(self, channel: Channel) -> None:
        self.topics.setdefault(channel.key, set()).add(channel)

    def remove(self, channel: Channel) -> None:
        members = self.topics.get(channel.key)
        if members is not None:
            members.discard(channel)
            if not members:
                del self.topics[channel.key]
        diff = self.untrack(channel)
        if diff is not None:
            self.send_presence_diff(channel.key, diff)

    @property
    def channel_count(self) -> int:
        return sum(len(members) for members in self.topics.values())

    def broadcast(self, key: TopicKey, message: Outgoing, *, sender: Channel | None = None) -> int:
        """Queue `message` to every member allowed to read it (not the sender unless its `self` is on);
        returns how many frames were queued."""
        members = self.topics.get(key)
        if not members:
            return 0
        sent = 0
        for channel in members:
            if channel is sender and not channel.broadcast_self:
                continue
            if not channel.read_broadcast:
                continue
            frame = message.frame(channel.conn.vsn)
            if frame:
                channel.conn.enqueue(frame)
                sent += 1
        return sent

    # -- presence ---------------------------------------------------------------------------------------------

    def presence_state(self, key: TopicKey) -> dict:
        topic = self.presence.get(key)
        return topic.state() if topic else {}

    def track(self, channel: Channel, payload: dict) -> dict:
        topic = self.presence.setdefault(channel.key, PresenceTopic())
        return topic.track(channel, channel.presence_key, payload)

    def untrack(self, channel: Channel) -> dict | None:
        topic = self.presence.get(channel.key)
        if topic is None:
            return None
        diff = topic.untrack(channel)
        if not topic:
            del self.presence[channel.key]
        return diff

    def send_presence_diff(self, key: TopicKey, diff: dict) -> None:
        members = self.topics.get(key)
        if not members:
            return
        payload = protocol.dumps(diff)
        frames: dict[str, str] = {}
        for channel in members:
            if not (channel.presence_enabled and channel.read_presence):
                continue
            vsn = channel.conn.vsn
            if vsn not in frames:
                frames[vsn] = protocol.encode_raw(vsn, channel.topic, "presence_diff", payload)
            channel.conn.enqueue(frames[vsn])
