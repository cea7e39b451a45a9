"""The gateway service: the app, its schema cache, and the listener that reloads the cache."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg

from functions_py.rest import schema_cache
from functions_py.rest.app import RestApp

log = logging.getLogger("supakit.rest")
RELOAD_DEBOUNCE_S = 0.05


class _AbortedPipelineFilter(logging.Filter):
    """psycopg warns when a pipeline ends after a failed statement; for the Data API that is an ordinary 4xx
    (the error is answered to the client), not something to log on every request."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored terminating")


_PIPELINE_FILTER = _AbortedPipelineFilter()


class RestService:
    prefix = "/rest/v1"

    def __init__(self, context: Any) -> None:
        self.context = context
        self.app = RestApp(context)
        self._listener: asyncio.Task | None = None
        self._reload_lock = asyncio.Lock()
        self.reloads = 0

    def needs_key(self, path: str) -> bool:
        return True

    async def start(self) -> None:
        logging.getLogger("psycopg").addFilter(_PIPELINE_FILTER)
        try:
            await self.reload()
        except Exception:  # noqa: BLE001 - like PostgREST: answer 503 PGRST002 and keep retrying
            log.warning("could not load the schema cache yet; /rest/v1 answers 503 until it loads", exc_info=True)
        self._listener = asyncio.create_task(self._listen(), name="rest-schema-listener")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None

    async def reload(self) -> None:
        """Build a new schema cache and swap it in (requests see the old one until then)."""
        async with self._reload_lock:
            async with self.context.pool.connection() as conn:
                cache = await schema_cache.load(conn, tuple(self.context.settings.rest.db_schemas))
            self.app.cache = cache
            self.reloads += 1

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.context.database_url, autocommit=True,
                                                             application_name="supakit-rest-listener")
                async with conn:
                    await conn.execute("LISTEN pgrst")
                    delay = 0.5
                    # a reload between the first load and LISTEN would be missed: reload once listening
                    await self.reload()
                    gen = conn.notifies()
                    async for notify in gen:
                        if notify.payload in ("", "reload schema"):
                            await asyncio.sleep(RELOAD_DEBOUNCE_S)
                            try:
                                await self.reload()
                            except psycopg.Error:
                                log.exception("schema cache reload failed; keeping the previous cache")
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the listener must survive a database restart
                log.warning("schema cache listener lost its connection; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
