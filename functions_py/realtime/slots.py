"""The feeds' replication slots: one reader that owns a slot and its connection (SlotReader), skipping decoding
while nobody listens (forward_idle_slot), and moving the restart point along while the database is busy
(RestartPointKeeper).

`SlotReader` is the one slot reader of both feeds (database broadcasts, postgres_changes). It connects, checks the
publication, creates a TEMPORARY pgoutput slot and runs the feed's step in a loop. When the database goes away
(restart, network, the slot dropped) it closes everything, reconnects with a capped exponential backoff, creates a
new slot and says so in the log and in its `stats` (the server's /metrics). What was committed while no slot
existed is not delivered: the slot is temporary, as Supabase Realtime's is.

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
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from functions_py.db import connect_async, redact
from functions_py.errors import EXIT_UNAVAILABLE, SupakitError
from functions_py.realtime.pgoutput import lsn_to_int

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


SLOT_CREATE_ONE = "select lsn::text from pg_catalog.pg_create_logical_replication_slot(%s, 'pgoutput', true)"
SLOT_DROP_ONE = "select pg_catalog.pg_drop_replication_slot(%s)"
PUBLICATION_EXISTS_ONE = "select exists (select from pg_catalog.pg_publication where pubname = %s)"
SLOT_GET_MANY = """
select data from pg_catalog.pg_logical_slot_get_binary_changes(
  %(slot)s, null, %(limit)s, 'proto_version', '1', 'publication_names', quote_ident(%(publication)s))
"""
SLOT_PEEK_MANY = """
select data from pg_catalog.pg_logical_slot_peek_binary_changes(
  %(slot)s, null, %(limit)s, 'proto_version', '1', 'publication_names', quote_ident(%(publication)s))
"""
SLOT_ADVANCE_ONE = "select pg_catalog.pg_replication_slot_advance(%s, %s::pg_lsn)"
# Decoding through SQL stops at the flushed WAL, and the local database runs synchronous_commit = off, so a commit
# is decodable only once the WAL writer flushes it (up to wal_writer_delay, 200 ms). A NOTIFY arrives at commit,
# before that: flush first (a non-transactional logical message with flush = true, PostgreSQL 17+; pgoutput
# without `messages` ignores it).
WAL_FLUSH = """
select pg_catalog.pg_logical_emit_message(false, 'supakit_realtime', '', true)
where pg_catalog.pg_current_wal_insert_lsn() > pg_catalog.pg_current_wal_flush_lsn()
"""

BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 5.0
# Losing the database: the connection failed, or the slot is gone (an ERROR in its session drops a temporary slot)
CONNECTION_LOST = (psycopg.OperationalError, psycopg.InterfaceError, psycopg.errors.UndefinedObject)


class SlotError(SupakitError):
    """A feed cannot decode this database's WAL; see the message for what it needs."""

    exit_code = EXIT_UNAVAILABLE


def _last_line(error: BaseException) -> str:
    """The last line of the error's text (psycopg puts the server's reason there), or its type's name."""
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__


class SlotReader:
    """One TEMPORARY pgoutput slot on `publication`, read through SQL on a connection this reader owns.

    `open()` connects and creates the slot (raises SlotError or psycopg's error when it cannot); `run(step)` calls
    `step()` until cancelled, and on a lost connection closes, backs off, reopens with a new slot and goes on.
    `on_open(start_lsn)` runs after each slot creation (the feed resets what it knows, opens its own connections);
    `on_close()` before each close. With `wakeup_channel`, a second connection LISTENs on it and `wait()` returns
    early on a NOTIFY.

    The slot's session runs only reading statements: any ERROR in a session drops its temporary slots.
    """

    def __init__(self, database_url: str, *, feed: str, purpose: str, publication: str, slot_prefix: str,
                 session_settings: str | None = None, wakeup_channel: str | None = None,
                 on_open: Callable[[int], Awaitable[None]] | None = None,
                 on_close: Callable[[], Awaitable[None]] | None = None) -> None:
        self.database_url = database_url
        self.feed = feed  # what the log calls it: "database broadcasts", "postgres_changes"
        self.purpose = purpose  # the slot session's application_name: "supakit realtime <purpose>"
        self.publication = publication
        self.slot_prefix = slot_prefix
        self.session_settings = session_settings
        self.wakeup_channel = wakeup_channel
        self.on_open = on_open
        self.on_close = on_close
        self.slot: str | None = None
        self.conn: psycopg.AsyncConnection | None = None
        self.server_version = 0
        self.stats = {"disconnects_total": 0, "reconnects_total": 0, "errors_total": 0}
        self._listen: psycopg.AsyncConnection | None = None
        self._listener: asyncio.Task | None = None
        self._wake = asyncio.Event()

    # -- connections -------------------------------------------------------------------------------------------

    async def connect(self, purpose: str) -> psycopg.AsyncConnection:
        """An autocommit connection with the reader's session settings (also for the feed's other work)."""
        conn = await connect_async(self.database_url, application_name=f"supakit realtime {purpose}")
        if self.session_settings:
            await conn.execute(self.session_settings)  # type: ignore[arg-type]
        return conn

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.closed and (
            self.wakeup_channel is None or (self._listener is not None and not self._listener.done()))

    async def open(self) -> int:
        """Connect, create a new slot and return its start LSN: what is committed from then on is decoded."""
        conn = await self.connect(self.purpose)
        try:
            exists, = await (await conn.execute(PUBLICATION_EXISTS_ONE, (self.publication,))).fetchone()
            if not exists:  # a read would fail on the slot's connection, and take the slot with it
                raise SlotError(
                    f"the publication {self.publication} does not exist in {redact(self.database_url)}: create it "
                    f"(create publication {self.publication}) and add the tables clients may follow, or run "
                    "`supakit migrate` (the compat layer creates it)")
            slot = f"{self.slot_prefix}_{secrets.token_hex(4)}"
            # Waits for a consistent point (no transaction of the cluster still running from before).
            lsn, = await (await conn.execute(SLOT_CREATE_ONE, (slot,))).fetchone()
        except BaseException as error:
            await conn.close()
            if isinstance(error, psycopg.Error) and not isinstance(error, CONNECTION_LOST):
                raise SlotError(
                    f"{self.feed} cannot decode the WAL of {redact(self.database_url)}: "
                    f"{error.diag.message_primary or error}. The server needs wal_level = logical and a free "
                    "replication slot (max_replication_slots), and the user must be a superuser or have "
                    "REPLICATION; the embedded database (`supakit db start`) is set up for this.") from error
            raise
        self.conn, self.slot, self.server_version = conn, slot, conn.info.server_version
        try:
            if self.wakeup_channel:
                self._listen = await self.connect("listen")
                await self._listen.execute(sql.SQL("listen {}").format(sql.Identifier(self.wakeup_channel)))
                self._listener = asyncio.create_task(self._listen_for_wakeups(self._listen),
                                                     name=f"realtime {self.feed} listen")
            if self.on_open is not None:
                await self.on_open(lsn_to_int(lsn))
        except BaseException:
            await self.close(drop_slot=True)
            raise
        log.info("realtime: %s: decoding publication %s through temporary slot %s at %s", self.feed,
                 self.publication, slot, lsn)
        return lsn_to_int(lsn)

    async def close(self, *, drop_slot: bool = True) -> None:
        """Close the connections; the temporary slot goes with its session (dropped first when asked)."""
        if self.on_close is not None:
            with contextlib.suppress(Exception):
                await self.on_close()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        conn, self.conn = self.conn, None
        listen, self._listen = self._listen, None
        if conn is not None and drop_slot and self.slot and not conn.closed:
            with contextlib.suppress(psycopg.Error):
                await conn.execute(SLOT_DROP_ONE, (self.slot,))
        for each in (conn, listen):
            if each is not None:
                with contextlib.suppress(Exception):
                    await each.close()

    async def _listen_for_wakeups(self, conn: psycopg.AsyncConnection) -> None:
        async for _ in conn.notifies():
            self._wake.set()

    # -- the loop ----------------------------------------------------------------------------------------------

    async def run(self, step: Callable[[], Awaitable[object]]) -> None:
        """Call `step()` until cancelled; reconnect (new slot) with backoff whenever the database is lost."""
        backoff = BACKOFF_FIRST_S
        lost = False
        while True:
            try:
                if not self.connected:
                    if not lost:  # the listener died, or the connection closed between steps
                        lost = True
                        self._lost(psycopg.OperationalError("the connection is closed"), backoff)
                    await self.close(drop_slot=False)
                    await self.open()
                    if lost:
                        self.stats["reconnects_total"] += 1
                        log.warning("realtime: %s: reconnected to %s and recreated slot %s; what was committed "
                                    "while disconnected was not delivered", self.feed, redact(self.database_url),
                                    self.slot)
                        lost = False
                    backoff = BACKOFF_FIRST_S
                await step()
                backoff = BACKOFF_FIRST_S
            except asyncio.CancelledError:
                raise
            except CONNECTION_LOST as error:
                if not lost:
                    lost = True
                    self._lost(error, backoff)
                else:
                    log.info("realtime: %s: still cannot reach the database (%s); retrying in %.1f s", self.feed,
                             _last_line(error), backoff)
                await self.close(drop_slot=False)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except psycopg.Error as error:  # the database said no: its one-line reason, not our traceback
                self.stats["errors_total"] += 1
                log.warning("realtime: %s: the database refused a step (%s %s); retrying in %.1f s", self.feed,
                            error.sqlstate or "no sqlstate", error.diag.message_primary or _last_line(error), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except Exception:
                self.stats["errors_total"] += 1
                log.exception("realtime: %s: a step failed; retrying in %.1f s", self.feed, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _lost(self, error: BaseException, backoff: float) -> None:
        self.stats["disconnects_total"] += 1
        log.warning("realtime: %s: lost the database at %s (%s); reconnecting with backoff (first retry in %.1f s),"
                    " then a new slot", self.feed, redact(self.database_url), _last_line(error), backoff)

    async def wait(self, timeout: float) -> None:
        """Until a NOTIFY on the wake-up channel or `timeout` seconds; raises when the listener was lost."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()
        if self.wakeup_channel and (self._listener is None or self._listener.done()):
            raise psycopg.OperationalError("the LISTEN connection is closed")

    # -- reading -----------------------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Make committed WAL decodable now instead of at the WAL writer's next flush (PostgreSQL 17+)."""
        assert self.conn is not None
        if self.server_version >= 170000:
            await self.conn.execute(WAL_FLUSH)

    async def get(self, limit: int) -> list[bytes]:
        """Decode and consume up to `limit` messages (whole transactions): the slot moves past them."""
        assert self.conn is not None
        cursor = await self.conn.execute(SLOT_GET_MANY, {"slot": self.slot, "limit": limit,
                                                         "publication": self.publication})
        return [bytes(data) for data, in await cursor.fetchall()]

    async def forward(self, idle: Callable[[], bool]) -> str | None:
        """forward_idle_slot on this reader's slot."""
        assert self.conn is not None and self.slot is not None
        return await forward_idle_slot(self.conn, self.slot, idle)


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
