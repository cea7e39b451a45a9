"""Reading an upload from a request as storage-api's `fileUploadFromRequest` does, streamed.

A `multipart/form-data` body carries `cacheControl` (seconds), optional `metadata` (JSON) and the file as the first
part with a file name (storage-js names it "", storage3 "file"); its part's Content-Type is the object's type. Any
other body is the file itself, typed by `Content-Type`, with `Cache-Control` and `x-metadata` (base64 JSON) headers.
`open()` reads just far enough to know the type and options (so limits and the permission test run before any bytes
are written); `chunks()` then yields the file's bytes as they arrive.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from functions_py.storage import errors


@dataclass
class UploadInfo:
    mimetype: str
    cache_control: str
    user_metadata: dict[str, Any] | None = None
    content_length: int | None = None  # the declared body length of a raw upload


def _user_metadata(raw: str | bytes | None, *, base64_encoded: bool) -> dict[str, Any] | None:
    if raw is None or raw == "" or raw == b"":
        return None
    try:
        text = base64.b64decode(raw, validate=False) if base64_encoded else raw
        value = json.loads(text)
    except (ValueError, binascii.Error):
        raise errors.invalid_parameter("metadata", "Invalid metadata: expected a JSON object") from None
    if not isinstance(value, dict):
        raise errors.invalid_parameter("metadata", "Invalid metadata: expected a JSON object")
    return value


def user_metadata_header(raw: str | None) -> dict[str, Any] | None:
    """The `x-metadata` header (base64 JSON) as user metadata; None when absent."""
    return _user_metadata(raw, base64_encoded=True)


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)
    name: str | None = None
    filename: str | None = None
    is_file: bool = False


class RequestUpload:
    """One upload's options and bytes from a request (module docstring)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.content_type = request.headers.get("content-type", "")
        self.multipart = self.content_type.lower().startswith("multipart/form-data")
        self._stream = request.stream()
        self._pending: collections.deque[bytes] = collections.deque()
        self._fields: dict[str, str] = {}
        self._file: _Part | None = None
        self._file_done = False
        self._part: _Part | None = None
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._parser: MultipartParser | None = None

    # -- multipart parsing callbacks -------------------------------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._part = _Part()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        assert self._part is not None
        self._part.headers[self._header_field.decode("latin-1").lower()] = self._header_value.decode("utf-8",
                                                                                                     "replace")
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        part = self._part
        assert part is not None
        _, options = parse_options_header(part.headers.get("content-disposition", ""))
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        part.filename = filename.decode("utf-8", "replace") if filename is not None else None
        part.is_file = self._file is None and part.filename is not None
        if part.is_file:
            self._file = part

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        assert part is not None
        if part.is_file:
            self._pending.append(bytes(data[start:end]))
        elif self._file is None:
            part.data += data[start:end]
            if len(part.data) > 1 << 20:
                raise errors.invalid_request("form field too large")

    def _on_part_end(self) -> None:
        part = self._part
        if part is None:
            return
        if part.is_file:
            self._file_done = True
        elif part.name is not None and self._file is None:
            self._fields[part.name] = part.data.decode("utf-8", "replace")
        self._part = None

    # -- reading ---------------------------------------------------------------------------------------------------

    async def _feed(self) -> bool:
        """Feed the next chunk of the body to the parser; False at the end of the body."""
        assert self._parser is not None
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            return False
        if chunk:
            try:
                self._parser.write(chunk)
            except errors.StorageError:
                raise
            except Exception:  # noqa: BLE001 - python-multipart raises plain exceptions on malformed bodies
                raise errors.invalid_request("Malformed multipart body") from None
        return True

    async def open(self) -> UploadInfo:
        """The upload's type and options; for multipart, the body is read up to the file part's first bytes."""
        if not self.multipart:
            length = self.request.headers.get("content-length")
            declared = int(length) if length and length.isdigit() else None
            mimetype = self.content_type or "application/octet-stream"
            return UploadInfo(mimetype=mimetype,
                              cache_control=self.request.headers.get("cache-control") or "no-cache",
                              user_metadata=_user_metadata(self.request.headers.get("x-metadata"),
                                                           base64_encoded=True),
                              content_length=declared)
        _, params = parse_options_header(self.content_type)
        boundary = params.get(b"boundary")
        if not boundary:
            raise errors.invalid_request("Malformed multipart body: no boundary")
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._on_part_begin, "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end, "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value, "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
        })
        while self._file is None:
            if not await self._feed():
                raise errors.StorageError("InvalidRequest", 400, "No file provided")
        part = self._file
        cache_time = self._fields.get("cacheControl")
        return UploadInfo(
            mimetype=part.headers.get("content-type") or "text/plain",
            cache_control=f"max-age={cache_time}" if cache_time else "no-cache",
            user_metadata=_user_metadata(self._fields.get("metadata"), base64_encoded=False),
        )

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes."""
        if not self.multipart:
            async for chunk in self._stream:
                yield chunk
            return
        while True:
            while self._pending:
                yield self._pending.popleft()
            if self._file_done:
                break
            if not await self._feed():
                raise errors.invalid_request("Malformed multipart body: the file part is incomplete")
        # the rest of the form (fields after the file) is read and ignored, as storage-api ignores it
        while await self._feed():
            self._pending.clear()
