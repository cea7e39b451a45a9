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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg

from functions_py.realtime.pgoutput import Decoder
from functions_py.realtime.slots import forward_idle_slot

log = logging.getLogger("supakit.realtime")

PUBLICATION = "supabase_realtime_messages_publication"
WAKEUP_CHANNEL = "supakit_realtime_messages"
POLL_INTERVAL_S = 0.25  # when no NOTIFY arrives: the fallback, and the wake-up trigger's absence
BATCH_CHANGES = 1000
PARTITIONS_EVERY_S = 3600
SKIP_EVERY_S = 0.05

SLOT_CREATE_ONE = "select slot_name from pg_create_logical_replication_slot(%s, 'pgoutput', true)"
SLOT_CHANGES_MANY = """
select data from pg_logical_slot_get_binary_changes(
  %s, null, %s, 'proto_version', '1', 'publication_names', %s)
"""
PARTITIONS_ENSURE = "select realtime.ensure_partitions()"
# Decoding through SQL stops at the flushed WAL, and the local database runs synchronous_commit = off, so a commit
# is decodable only once the WAL writer flushes it (up to wal_writer_delay, 200 ms). A NOTIFY arrives at commit,
# before that: flush first (a non-transactional logical message with flush = true, PostgreSQL 17+; pgoutput
# without `messages` ignores it). Found by the postgres_changes feed's author; both readers do it.
WAL_FLUSH = """
select pg_logical_emit_message(false, 'supakit_realtime', '', true)
where pg_current_wal_insert_lsn() > pg_current_wal_flush_lsn()
"""


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
        self.slot = f"supakit_realtime_messages_{os.getpid()}_{os.urandom(3).hex()}"
        self.delivered = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._slot_conn: psycopg.AsyncConnection | None = None
        self._listen_conn: psycopg.AsyncConnection | None = None
        self._decoder = Decoder()

    async def start(self) -> None:
        """Create the slot (messages committed from now on will be delivered) and start reading."""
        self._listen_conn = await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True, application_name="supakit realtime listen")
        await self._listen_conn.execute(f"listen {WAKEUP_CHANNEL}")
        self._slot_conn = await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True, application_name="supakit realtime messages")
        await self._slot_conn.execute(SLOT_CREATE_ONE, (self.slot,))
        await self._ensure_partitions()
        self._tasks = [asyncio.create_task(self._listen(), name="realtime-messages-listen"),
                       asyncio.create_task(self._read(), name="realtime-messages-read"),
                       asyncio.create_task(self._janitor(), name="realtime-messages-partitions")]

    async def stop(self) -> None:
        """Stop reading; closing the slot's session drops the temporary slot."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for conn in (self._slot_conn, self._listen_conn):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
        self._slot_conn = self._listen_conn = None

    async def _listen(self) -> None:
        assert self._listen_conn is not None
        async for _ in self._listen_conn.notifies():
            self._wake.set()

    async def _ensure_partitions(self) -> None:
        """realtime.messages' daily partitions (compat's janitor); Supabase's server does the same."""
        assert self._slot_conn is not None
        try:
            await self._slot_conn.execute(PARTITIONS_ENSURE)
        except psycopg.Error as error:
            log.info("realtime: not creating realtime.messages partitions (%s)", str(error).strip())

    async def _janitor(self) -> None:
        while True:
            await asyncio.sleep(PARTITIONS_EVERY_S)
            await self._ensure_partitions()

    async def _read(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_INTERVAL_S)
            self._wake.clear()
            try:
                if self.wanted is not None and not self.wanted():
                    await self.skip()
                    await asyncio.sleep(SKIP_EVERY_S)  # nobody to deliver to: no hurry
                    continue
                await self.drain()
            except psycopg.Error as error:
                log.error("realtime: reading database broadcasts failed: %s", str(error).strip())
                await asyncio.sleep(1)

    async def skip(self) -> bool:
        """Move the slot past everything flushed without decoding it, unless someone joined meanwhile."""
        assert self._slot_conn is not None
        moved = await forward_idle_slot(self._slot_conn, self.slot,
                                        lambda: self.wanted is not None and not self.wanted())
        self.skipped += moved is not None
        return moved is not None

    async def drain(self) -> int:
        """Deliver everything committed so far; returns how many messages."""
        assert self._slot_conn is not None
        total = 0
        # PostgreSQL < 17 has no flush argument: there the reader waits for the WAL writer
        with contextlib.suppress(psycopg.errors.UndefinedFunction):
            await self._slot_conn.execute(WAL_FLUSH)
        while True:
            cursor = await self._slot_conn.execute(SLOT_CHANGES_MANY, (self.slot, BATCH_CHANGES, PUBLICATION))
            rows = await cursor.fetchall()
            if not rows:
                return total
            for (data,) in rows:
                insert = self._decoder.feed(bytes(data))
                if insert is None or insert.relation.name != "messages":
                    continue
                values = insert.values
                if values.get("extension") != "broadcast":
                    continue
                message = DatabaseMessage(
                    id=values.get("id") or "", topic=values.get("topic") or "", event=values.get("event") or "",
                    private=values.get("private") == "t", payload_json=values.get("payload"),
                    binary_payload=_bytea(values.get("binary_payload")))
                result = self.deliver(message)
                if result is not None:
                    await result
                total += 1
                self.delivered += 1
            if len(rows) < BATCH_CHANGES:
                return total
