"""Broadcast from the database: rows inserted into realtime.messages reach the channel's members.

How (docs/realtime.md): like Supabase Realtime, by logical decoding of the publication
`supabase_realtime_messages_publication` with `pgoutput`, from a TEMPORARY slot created when the server starts.
psycopg cannot stream the replication protocol, so the slot is read through the SQL interface
(`pg_logical_slot_get_binary_changes`), which returns committed transactions in commit order and advances the slot
past what it returned. A statement trigger on realtime.messages (supabase/compat/45_realtime_wakeup.sql) sends a
NOTIFY at commit that wakes the reader at once; without it (a database without the compat layer) the reader polls.

Guarantee: every message committed while the server runs is delivered once, in commit order, to the members
joined at that moment; messages committed while no server runs are not delivered (the slot is temporary, as
Supabase's is). Rolled-back rows (private-channel probes) never appear: decoding sees only commits.

While no channel has a member (`wanted()` is false) there is nobody to deliver to: the reader moves the slot to the
flushed WAL with `pg_replication_slot_advance` (fast-forward decoding, no output plugin) at most every SKIP_EVERY_S
instead of decoding every commit. The position is read before the membership check, so a message committed after
someone joins lies past it and is delivered.

The slot, its connections and reconnecting after the database restarts belong to `SlotReader` (slots.py); the
messages are decoded by the one pgoutput decoder (pgoutput.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg

from functions_py.db import connect_async
from functions_py.realtime.pgoutput import Change, Decoder
from functions_py.realtime.slots import SlotReader

log = logging.getLogger("supakit.realtime")

PUBLICATION = "supabase_realtime_messages_publication"
WAKEUP_CHANNEL = "supakit_realtime_messages"
POLL_INTERVAL_S = 0.25  # when no NOTIFY arrives: the fallback, and the wake-up trigger's absence
BATCH_CHANGES = 1000
PARTITIONS_EVERY_S = 3600
SKIP_EVERY_S = 0.05

PARTITIONS_ENSURE = "select realtime.ensure_partitions()"


@dataclass(frozen=True, slots=True)
class DatabaseMessage:
    """One committed realtime.messages row, as the server needs it."""

    id: str
    topic: str
    event: str
    private: bool
    payload_json: str | None  # jsonb text, spliced into frames unparsed
    binary_payload: bytes | None


def _bytea(text: str | None) -> bytes | None:
    if text is None:
        return None
    return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()


class MessageFeed:
    """Reads realtime.messages inserts from a temporary pgoutput slot and hands them to `deliver`."""

    def __init__(self, database_url: str, deliver: Callable[[DatabaseMessage], Awaitable[None] | None], *,
                 wanted: Callable[[], bool] | None = None) -> None:
        self.database_url = database_url
        self.deliver = deliver
        self.wanted = wanted  # False: no member anywhere, skip instead of decoding; None: always decode
        self.skipped = 0
        self.delivered = 0
        self.reader = SlotReader(database_url, feed="database broadcasts", purpose="messages", publication=PUBLICATION,
                                 slot_prefix=f"supakit_realtime_messages_{os.getpid()}",
                                 wakeup_channel=WAKEUP_CHANNEL, on_open=self._opened)
        self._tasks: list[asyncio.Task] = []

    @property
    def slot(self) -> str | None:
        return self.reader.slot

    def stats(self) -> dict[str, int]:
        """For /metrics: realtime_messages_<key>."""
        return {**self.reader.stats, "skips_total": self.skipped}

    async def start(self) -> None:
        """Create the slot (messages committed from now on will be delivered) and start reading."""
        await self.reader.open()
        self._tasks = [asyncio.create_task(self.reader.run(self._step), name="realtime-messages-read"),
                       asyncio.create_task(self._janitor(), name="realtime-messages-partitions")]

    async def stop(self) -> None:
        """Stop reading; closing the slot's session drops the temporary slot."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.reader.close(drop_slot=True)

    async def _opened(self, _start_lsn: int) -> None:
        await self._ensure_partitions()

    async def _ensure_partitions(self) -> None:
        """realtime.messages' daily partitions (compat's janitor); Supabase's server does the same. On a
        connection of its own: an error on the slot's session would drop the slot."""
        try:
            async with await connect_async(self.database_url, application_name="supakit realtime partitions") \
                    as conn:
                await conn.execute(PARTITIONS_ENSURE)
        except psycopg.Error as error:
            log.info("realtime: not creating realtime.messages partitions (%s)", str(error).strip())

    async def _janitor(self) -> None:
        while True:
            await asyncio.sleep(PARTITIONS_EVERY_S)
            await self._ensure_partitions()

    async def _step(self) -> None:
        await self.reader.wait(POLL_INTERVAL_S)
        if self.wanted is not None and not self.wanted():
            await self.skip()
            await asyncio.sleep(SKIP_EVERY_S)  # nobody to deliver to: no hurry
            return
        await self.drain()

    async def skip(self) -> bool:
        """Move the slot past everything flushed without decoding it, unless someone joined meanwhile."""
        moved = await self.reader.forward(lambda: self.wanted is not None and not self.wanted())
        self.skipped += moved is not None
        return moved is not None

    async def drain(self) -> int:
        """Deliver everything committed so far; returns how many messages."""
        total = 0
        await self.reader.flush()  # PostgreSQL < 17 has no flush argument: there the reader waits for the WAL writer
        decoder = Decoder()
        while True:
            rows = await self.reader.get(BATCH_CHANGES)
            for data in rows:
                txn = decoder.feed(data)
                if txn is None:
                    continue
                for change in txn.changes:
                    message = _message(change)
                    if message is None:
                        continue
                    result = self.deliver(message)
                    if result is not None:
                        await result
                    total += 1
                    self.delivered += 1
            if len(rows) < BATCH_CHANGES:
                return total


def _message(change: object) -> DatabaseMessage | None:
    """A broadcast row inserted into realtime.messages, else None."""
    if not isinstance(change, Change) or change.type != "INSERT" or change.relation.name != "messages":
        return None
    values = change.values
    if values.get("extension") != "broadcast":
        return None
    return DatabaseMessage(
        id=_text(values.get("id")) or "", topic=_text(values.get("topic")) or "",
        event=_text(values.get("event")) or "", private=values.get("private") == "t",
        payload_json=_text(values.get("payload")), binary_payload=_bytea(_text(values.get("binary_payload"))))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
