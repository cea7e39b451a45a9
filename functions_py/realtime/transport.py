"""Writing frames to a client socket without one ASGI `send` per frame.

ASGI has one `websocket.send` message per frame, and each is a chain of awaits through Starlette and uvicorn
before it reaches the socket. Fan-out sends thousands of frames per second, most of them small, so the Realtime
server asks uvicorn for a direct path instead: `websocket_protocol()` is uvicorn's own sans-I/O WebSocket
protocol (the one `ws="auto"` picks when `websockets` is installed) with one addition, a `FrameWriter`
published in the ASGI scope under the extension `supakit.websocket.frames`. A connection that finds it writes
all the frames it has queued in one loop turn with one `transport.write`. Without it (another ASGI server, a
test client) connections fall back to ASGI sends (connection.py).

Framing: a server's frames are unmasked, so a frame with no extension is a 2-, 4- or 10-byte header and the
payload (RFC 6455 §5.2), which `write` builds itself, as `websockets.broadcast` would through the protocol
object but without a `Frame` and a `BytesIO` per frame. When the client negotiated permessage-deflate (browsers
do), each frame goes through the `websockets` state machine uvicorn's own `send` uses, which compresses it. The
connection's state (open, closing) is the state machine's in both cases.

Backpressure is the transport's: `write` refuses (BLOCKED) while the transport is above its high-water mark, and
the caller keeps its frames (bounded, see connection.py) until `wait_writable()` returns.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from typing import Any

from websockets.protocol import State

EXTENSION = "supakit.websocket.frames"
_TEXT, _BINARY = 0x81, 0x82  # FIN + opcode 1 (text) / 2 (binary)
_SHORT = {op: [bytes((op, n)) for n in range(126)] for op in (_TEXT, _BINARY)}  # headers of payloads < 126 B


def frame_header(opcode: int, size: int) -> bytes:
    """The header of an unmasked, unfragmented frame of `size` payload bytes (RFC 6455 §5.2)."""
    if size < 126:
        return _SHORT[opcode][size] if opcode in _SHORT else bytes((opcode, size))
    if size < 65536:
        return struct.pack("!BBH", opcode, 126, size)
    return struct.pack("!BBQ", opcode, 127, size)


class WriteResult(enum.Enum):
    WRITTEN = "written"  # every frame is in the transport's buffer, in order
    BLOCKED = "blocked"  # nothing was written: the client is not reading fast enough; await wait_writable()
    CLOSED = "closed"  # nothing was written: the socket is closing or closed


class FrameWriter:
    """Direct writes to one uvicorn WebSocket connection (a `websocket_protocol()` instance)."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    def write(self, frames: Iterable[str | bytes]) -> WriteResult:
        """Frame and write `frames` (str: text, bytes: binary) in order, with one transport write."""
        p = self._protocol
        conn = p.conn
        if (p.close_sent or p.disconnected or p.initial_response is not None or not p.handshake_complete
                or conn.state is not State.OPEN or p.transport.is_closing()):
            return WriteResult.CLOSED
        if not p.writable.is_set():
            return WriteResult.BLOCKED
        if conn.extensions:  # permessage-deflate: websockets compresses each frame
            for frame in frames:
                if isinstance(frame, str):
                    conn.send_text(frame.encode())
                else:
                    conn.send_binary(frame)
            data = b"".join(conn.data_to_send())
        else:
            parts: list[bytes] = []
            append = parts.append
            text, binary = _SHORT[_TEXT], _SHORT[_BINARY]
            for frame in frames:
                if isinstance(frame, str):
                    payload, short, opcode = frame.encode(), text, _TEXT
                else:
                    payload, short, opcode = frame, binary, _BINARY
                size = len(payload)
                append(short[size] if size < 126 else frame_header(opcode, size))
                append(payload)
            data = b"".join(parts)
        p.transport.write(data)
        return WriteResult.WRITTEN

    async def wait_writable(self) -> None:
        """Until the transport drains below its low-water mark (or the connection is lost)."""
        await self._protocol.writable.wait()

    @property
    def buffered(self) -> int:
        """Bytes in the transport's write buffer (written, not yet taken by the kernel)."""
        return self._protocol.transport.get_write_buffer_size()

    def abort(self) -> None:
        """Drop the TCP connection now (a client that reads nothing cannot receive a close frame)."""
        self._protocol.transport.abort()


_protocol_class: type | None = None


def websocket_protocol() -> type:
    """uvicorn's sans-I/O WebSocket protocol publishing a `FrameWriter` in each scope; pass it as uvicorn's `ws`."""
    global _protocol_class
    if _protocol_class is None:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

        class RealtimeWebSocketProtocol(WebSocketsSansIOProtocol):
            async def run_asgi(self) -> None:
                self.scope["extensions"][EXTENSION] = FrameWriter(self)
                await super().run_asgi()

        _protocol_class = RealtimeWebSocketProtocol
    return _protocol_class


def frame_writer(scope: dict) -> FrameWriter | None:
    """The scope's FrameWriter, when the server provides one."""
    writer = (scope.get("extensions") or {}).get(EXTENSION)
    return writer if isinstance(writer, FrameWriter) else None
