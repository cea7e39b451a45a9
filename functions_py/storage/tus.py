"""TUS resumable uploads at /upload/resumable: placeholder until the protocol lands (see docs/storage.md)."""

from __future__ import annotations

from typing import Any

from functions_py.storage import errors


class TusApp:
    def __init__(self, storage: Any, directory: Any) -> None:
        self.storage = storage
        self.directory = directory

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        response = errors.not_supported("resumable uploads").response()
        await response(scope, receive, send)
