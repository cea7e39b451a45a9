"""The local file backend: object bytes under `<storage root>/<version[:2]>/<version>`.

Every upload writes a new version (a fresh uuid) to a temporary file in `<root>/.tmp/`, streamed chunk by chunk
(never held whole) with its size and MD5 counted on the way, then renames it into place; only then is the row
committed, and if that commit fails the caller deletes the version again. Paths are built from the version id alone,
never from the object's key, so no key can reach outside the root; and since bytes are found only through a row's
`version`, a file whose row never committed is never served. `sweep()` removes temporary files a crash left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions_py.storage import errors

_VERSION_CHARS = frozenset("0123456789abcdef-")
BLOCK_BYTES = 1 << 20


def _write_block(fd: int, digest: Any, block: list[bytes]) -> None:
    data = block[0] if len(block) == 1 else b"".join(block)
    digest.update(data)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@dataclass(frozen=True)
class WrittenFile:
    """A version written in place: its byte count and Storage's ETag (the MD5 in double quotes)."""

    version: str
    size: int
    etag: str


class FileBackend:
    """Bytes of every bucket under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / ".tmp"

    def prepare(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, version: str) -> Path:
        if not version or not set(version) <= _VERSION_CHARS:
            raise errors.no_such_key()
        return self.root / version[:2] / version

    @staticmethod
    def new_version() -> str:
        return str(uuid.uuid4())

    def temp_path(self) -> Path:
        return self.tmp / f"{uuid.uuid4()}.part"

    async def write(self, chunks: AsyncIterator[bytes], limit: int, *, version: str | None = None,
                    entity: str = "object") -> WrittenFile:
        """Stream `chunks` into a new version; more than `limit` bytes is Storage's 413 and leaves nothing.

        Chunks are gathered into blocks of about 1 MiB, each hashed and written on a worker thread (both release
        the GIL), so the event loop keeps reading the socket while the previous block goes to disk."""
        version = version or self.new_version()
        temp = self.temp_path()
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        block: list[bytes] = []
        pending = 0
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit:
                    raise errors.entity_too_large(entity)
                block.append(chunk)
                pending += len(chunk)
                if pending >= BLOCK_BYTES:
                    await asyncio.to_thread(_write_block, fd, digest, block)
                    block, pending = [], 0
            if block:
                await asyncio.to_thread(_write_block, fd, digest, block)
            os.close(fd)
            fd = -1
            final = self.path(version)
            final.parent.mkdir(exist_ok=True)
            os.replace(temp, final)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        return WrittenFile(version, size, f'"{digest.hexdigest()}"')

    def adopt(self, temp: Path, version: str) -> None:
        """Move a finished temporary file (a completed resumable upload) into place as `version`."""
        final = self.path(version)
        final.parent.mkdir(exist_ok=True)
        os.replace(temp, final)

    def copy(self, source_version: str, version: str | None = None) -> str:
        """A new version with the same bytes (a hard link when the filesystem allows)."""
        version = version or self.new_version()
        source, target = self.path(source_version), self.path(version)
        if not source.exists():
            raise errors.no_such_key()
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            temp = self.temp_path()
            shutil.copyfile(source, temp)
            os.replace(temp, target)
        return version

    def exists(self, version: str | None) -> bool:
        return bool(version) and self.path(version).is_file()  # type: ignore[arg-type]

    def size(self, version: str) -> int:
        return self.path(version).stat().st_size

    def delete(self, *versions: str | None) -> None:
        for version in versions:
            if not version:
                continue
            with contextlib.suppress(FileNotFoundError, errors.StorageError):
                self.path(version).unlink()

    def read(self, version: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The bytes of `version` from `start` to `end` inclusive, in chunks."""
        with open(self.path(version), "rb", buffering=0) as handle:
            handle.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                want = chunk_size if remaining is None else min(chunk_size, remaining)
                data = handle.read(want)
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
                yield data

    def sweep(self) -> int:
        """Remove temporary files left by interrupted writes; the number removed."""
        removed = 0
        if self.tmp.is_dir():
            for entry in self.tmp.iterdir():
                if entry.suffix == ".part":
                    with contextlib.suppress(FileNotFoundError):
                        entry.unlink()
                        removed += 1
        return removed
