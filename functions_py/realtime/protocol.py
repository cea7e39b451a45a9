"""The Phoenix wire formats Supabase Realtime speaks (realtime-protocol.md §3): V1 JSON objects, V2 JSON arrays
and V2 binary broadcast frames. Pure functions, no I/O, so they are easy to test and cheap to call in fan-out.

Server frames are encoded exactly like the real server's serializers: V1 objects with keys sorted as Jason sorts
them (`event, payload, ref, topic`, no `join_ref`), V2 arrays `[join_ref, ref, topic, event, payload]`, and the
kind-4 binary `USER_BROADCAST` frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

VSN_1 = "1.0.0"
VSN_2 = "2.0.0"
VERSIONS = (VSN_1, VSN_2)

KIND_USER_BROADCAST_PUSH = 3  # client -> server
KIND_USER_BROADCAST = 4  # server -> client
ENC_BINARY = 0
ENC_JSON = 1

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class ProtocolError(ValueError):
    """A frame the server cannot read; `ref`/`join_ref`/`topic` are set when they could be recovered, so the
    server can answer the push that carried them."""

    def __init__(self, message: str, *, ref: str | None = None, join_ref: str | None = None,
                 topic: str | None = None) -> None:
        super().__init__(message)
        self.ref, self.join_ref, self.topic = ref, join_ref, topic


@dataclass(slots=True)
class Push:
    """One frame from a client. `binary` is set for a V2 kind-3 broadcast push: (event, payload bytes, enc)."""

    topic: str
    event: str
    payload: Any
    ref: str | None = None
    join_ref: str | None = None
    binary: tuple[str, bytes, int] | None = None


def dumps(value: Any) -> str:
    """Compact JSON, as the real server sends it."""
    return _dumps(value)


def _ref(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise ProtocolError(f"a ref must be a string or null, not {type(value).__name__}")


def decode_text(vsn: str, text: str) -> Push:
    """A client text frame in protocol `vsn`, or ProtocolError saying what is wrong with it."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"the frame is not JSON ({error})") from None
    if vsn == VSN_2:
        if not isinstance(data, list) or len(data) != 5:
            raise ProtocolError("a vsn 2.0.0 frame is a JSON array [join_ref, ref, topic, event, payload]")
        join_ref, ref, topic, event, payload = data
    else:
        if not isinstance(data, dict):
            raise ProtocolError('a vsn 1.0.0 frame is a JSON object {"topic","event","payload","ref","join_ref"}')
        join_ref, ref = data.get("join_ref"), data.get("ref")
        topic, event, payload = data.get("topic"), data.get("event"), data.get("payload", {})
    try:
        join_ref, ref = _ref(join_ref), _ref(ref)
    except ProtocolError:
        raise
    if not isinstance(topic, str) or not topic:
        raise ProtocolError("the frame has no topic (a non-empty string)", ref=ref, join_ref=join_ref)
    if not isinstance(event, str) or not event:
        raise ProtocolError("the frame has no event (a non-empty string)", ref=ref, join_ref=join_ref, topic=topic)
    if not isinstance(payload, dict):
        raise ProtocolError("the payload must be a JSON object", ref=ref, join_ref=join_ref, topic=topic)
    return Push(topic=topic, event=event, payload=payload, ref=ref, join_ref=join_ref)


def decode_binary(data: bytes) -> Push:
    """A V2 binary frame: only kind 3 (`USER_BROADCAST_PUSH`) exists client -> server."""
    if len(data) < 7 or data[0] != KIND_USER_BROADCAST_PUSH:
        kind = data[0] if data else None
        raise ProtocolError(f"unknown binary frame kind {kind}; clients send only kind 3 (user broadcast push)")
    sizes = data[1:6]
    enc = data[6]
    offset = 7
    fields = []
    for size in sizes:
        if offset + size > len(data):
            raise ProtocolError("a binary broadcast frame is shorter than its header says")
        fields.append(data[offset:offset + size])
        offset += size
    try:
        join_ref, ref, topic, event, _meta = (field.decode() for field in fields)
    except UnicodeDecodeError:
        raise ProtocolError("a binary broadcast frame's header fields must be UTF-8") from None
    if enc not in (ENC_BINARY, ENC_JSON):
        raise ProtocolError(f"unknown payload encoding {enc} (0 binary, 1 JSON)", ref=ref or None,
                            join_ref=join_ref or None, topic=topic)
    payload = data[offset:]
    return Push(topic=topic, event="broadcast", payload={}, ref=ref or None, join_ref=join_ref or None,
                binary=(event, bytes(payload), enc))


# -- server frames ------------------------------------------------------------------------------------------


def encode(vsn: str, topic: str, event: str, payload: Any, ref: str | None = None,
           join_ref: str | None = None) -> str:
    """A server text frame; `payload` is a JSON-able value."""
    return encode_raw(vsn, topic, event, dumps(payload), ref, join_ref)


def encode_raw(vsn: str, topic: str, event: str, payload_json: str, ref: str | None = None,
               join_ref: str | None = None) -> str:
    """A server text frame around an already-encoded payload (so fan-out encodes each payload once)."""
    if vsn == VSN_2:
        return f"[{dumps(join_ref)},{dumps(ref)},{dumps(topic)},{dumps(event)},{payload_json}]"
    return f'{{"event":{dumps(event)},"payload":{payload_json},"ref":{dumps(ref)},"topic":{dumps(topic)}}}'


def encode_user_broadcast(topic: str, event: str, payload: bytes, enc: int, meta: dict | None = None) -> bytes | None:
    """A kind-4 binary broadcast, or None when a field does not fit its one-byte length (the caller then sends
    JSON text instead)."""
    topic_b, event_b = topic.encode(), event.encode()
    meta_b = dumps(meta).encode() if meta else b""
    if len(topic_b) > 255 or len(event_b) > 255 or len(meta_b) > 255:
        return None
    header = bytes((KIND_USER_BROADCAST, len(topic_b), len(event_b), len(meta_b), enc))
    return b"".join((header, topic_b, event_b, meta_b, payload))


def broadcast_json(event: str, payload_json: str, meta: dict | None = None) -> str:
    """The `broadcast` event's payload object as JSON, keys sorted as the real server sends them."""
    meta_part = f'"meta":{dumps(meta)},' if meta else ""
    return f'{{"event":{dumps(event)},{meta_part}"payload":{payload_json},"type":"broadcast"}}'
