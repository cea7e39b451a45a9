"""Keep the feeds' replication slots cheap to read: skip decoding while nobody listens (forward_idle_slot), and
move their restart point along while the database is busy (RestartPointKeeper).

Both feeds read a temporary logical slot through SQL (`pg_logical_slot_get/peek_binary_changes`), and every call
decodes again from the slot's `restart_lsn`, not from where the last call stopped. `restart_lsn` advances only
when decoding passes a running-transactions record (`xl_running_xacts`), which PostgreSQL writes every 15 s
(LOG_SNAPSHOT_INTERVAL_MS) or at a checkpoint. Under a steady write load each poll therefore re-decoded up to 15 s
of WAL: at 600 webhook events/s that was 30 MB per poll and about 0.9 ms of database CPU per event.

`pg_log_standby_snapshot()` (PostgreSQL 16+) writes that record on demand. Every CHECK_EVERY_S, when one of our
slots restarts more than RESTART_LAG_BYTES behind the WAL, the keeper writes one (a few dozen bytes of WAL), so a
poll re-decodes at most a few hundred milliseconds of WAL. Supabase's Realtime streams the slot over the
replication protocol, where decoding resumes where it stopped; this is only the SQL interface's cost.

Without the function (PostgreSQL < 16) or the right to call it (superuser by default), the keeper logs once and
stops: the feeds still work, only costlier under load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

import psycopg
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("supakit.realtime")

CHECK_EVERY_S = 0.1
RESTART_LAG_BYTES = 256 << 10

STANDBY_SNAPSHOT_ONE = """
select pg_catalog.pg_log_standby_snapshot() is not null
where exists (
  select from pg_catalog.pg_replication_slots
  where slot_name = any(%s)
    and pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_insert_lsn(), restart_lsn) > %s
)
"""


WAL_FLUSHED_ONE = "select pg_catalog.pg_current_wal_flush_lsn()::text"
# No row when the slot is there already: an advance below its confirmed position would be an ERROR, and an error
# in the session drops a temporary slot.
SLOT_FORWARD_ONE = """
select pg_catalog.pg_replication_slot_advance(slot_name, %(lsn)s::pg_lsn) is not null
from pg_catalog.pg_replication_slots where slot_name = %(slot)s and confirmed_flush_lsn < %(lsn)s::pg_lsn
"""


async def forward_idle_slot(conn: psycopg.AsyncConnection, slot: str, idle: Callable[[], bool]) -> str | None:
    """Nobody listens: move `slot` to the flushed WAL without decoding it (`pg_replication_slot_advance`
    fast-forwards: no output plugin). The position is read before `idle()` is asked, so anything committed after
    a listener arrives lies past it and will be decoded. Returns the position moved to; None when a listener
    arrived meanwhile or the slot was there already."""
    flushed, = await (await conn.execute(WAL_FLUSHED_ONE)).fetchone()
    if not idle():
        return None
    cursor = await conn.execute(SLOT_FORWARD_ONE, {"lsn": flushed, "slot": slot})
    return flushed if await cursor.fetchone() is not None else None


class RestartPointKeeper:
    """Writes a running-transactions record when a slot named by `slots()` lags; run() until cancelled."""

    def __init__(self, pool: AsyncConnectionPool, slots: Callable[[], Iterable[str | None]]) -> None:
        self.pool = pool
        self.slots = slots
        self.snapshots = 0  # records written, for the server's metrics

    async def check_once(self) -> bool:
        """One check; True when it wrote a record."""
        names = [name for name in self.slots() if name]
        if not names:
            return False
        async with self.pool.connection() as conn:
            cursor = await conn.execute(STANDBY_SNAPSHOT_ONE, (names, RESTART_LAG_BYTES))
            wrote = await cursor.fetchone() is not None
        self.snapshots += wrote
        return wrote

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            try:
                await self.check_once()
            except (psycopg.errors.UndefinedFunction, psycopg.errors.InsufficientPrivilege) as error:
                log.info("realtime: not advancing the slots' restart point (%s); under load each poll re-decodes "
                         "up to 15 s of WAL", str(error).strip().splitlines()[0])
                return
            except (psycopg.Error, OSError) as error:  # the feeds report the database's absence themselves
                log.debug("realtime: restart point check failed: %s", error)
                await asyncio.sleep(1)
