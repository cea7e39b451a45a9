"""The postgres_changes feed: logical decoding of the `supabase_realtime` publication, filters and per-subscriber
RLS, delivered in commit order to the local Realtime server. Design and guarantees: docs/realtime-changes.md.

One asyncio task polls a TEMPORARY `pgoutput` slot through SQL (psycopg has no replication protocol):

1. probe `pg_current_wal_insert_lsn()` (~0.1 ms); when it has not moved since the last poll, sleep a few ms.
   Decoding through SQL sees only flushed WAL and the embedded database commits asynchronously, so when the
   insert position is ahead of the flush position the probe forces a flush (`pg_logical_emit_message(...,
   flush => true)`, PostgreSQL 17+) instead of waiting up to 200 ms for the WAL writer;
2. peek the slot (`pg_logical_slot_peek_binary_changes`) and decode whole transactions (realtime/pgoutput.py); while
   changes flow, the advance of the previous poll, the probe and the peek share one pipelined round trip;
3. phase 1 (only for what is not cached): table access per (table, role), values and filter comparisons only the
   database can do, in one pipelined round trip;
4. phase 2: the RLS checks, one call per change to a temporary plpgsql function looping over the distinct
   (role, claims) of its subscribers — `set_config` of role, request.jwt.claims, request.jwt.claim.sub/role, then
   the table's prepared `exists(select 1 from <table> where <pk> = ...)` — in a transaction rolled back at the
   end, as Realtime's `apply_rls` does it per subscriber;
5. `await deliver(...)` once per change, in commit order; the next poll advances the slot past what was delivered.

Three connections: the slot's (probe, peek, advance only: any ERROR in a session drops its temporary slots), the
work connection (steps 3-4) and one that validates subscriptions, which arrive at any time. The slot and its
connection belong to `SlotReader` (realtime/slots.py), which reconnects with backoff and creates a new slot when
the database goes away; the feed then starts over from the new slot (subscriptions stay).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from functions_py.realtime.changes.catalog import TableAccess, TypeCache, table_access_one
from functions_py.realtime.changes.filters import SQL_OPERATORS, Filter, NeedsSql
from functions_py.realtime.changes.payload import (
    DEFAULT_MAX_RECORD_BYTES,
    ERROR_NO_PRIMARY_KEY,
    ERROR_RLS_FAILED,
    ERROR_UNAUTHORIZED,
    TypedChange,
    build_data,
    error_data,
    type_change,
)
from functions_py.realtime.changes.subscriptions import Subscription, validate
from functions_py.realtime.pgoutput import UNCHANGED, Change, Decoder, Transaction, lsn_to_int, lsn_to_text
from functions_py.realtime.slots import CONNECTION_LOST, SLOT_ADVANCE_ONE, SLOT_PEEK_MANY, SlotError, SlotReader

log = logging.getLogger("supakit.realtime.changes")


ChangeFeedError = SlotError  # postgres_changes cannot run against this database; the message says what it needs


ACCESS_TTL_S = 1.0

Delivery = tuple[frozenset[str], dict]
Deliver = Callable[[list[Delivery]], Awaitable[None]]

# Decoded text must be in the forms values.py and filters.py parse.
SESSION_SETTINGS = ("set timezone = 'UTC'; set datestyle = 'ISO, MDY'; set intervalstyle = 'postgres';"
                    " set extra_float_digits = 1; set bytea_output = 'hex'")

# The insert position, after forcing a flush when new WAL is not flushed yet (see module docstring).
wal_probe_flush_one = """
select case when pg_catalog.pg_current_wal_insert_lsn() <> %(last)s::pg_lsn
                 and pg_catalog.pg_current_wal_insert_lsn() > pg_catalog.pg_current_wal_flush_lsn()
            then pg_catalog.pg_logical_emit_message(false, 'supakit_realtime', '', true) end is not null,
       pg_catalog.pg_current_wal_insert_lsn()::text, pg_catalog.pg_current_wal_flush_lsn()::text
"""
wal_probe_one = """
select false, pg_catalog.pg_current_wal_insert_lsn()::text, pg_catalog.pg_current_wal_flush_lsn()::text
"""
# Realtime's apply_rls loop, in a temporary function: for each subscriber group, set the role and JWT claims
# locally and run the table's prepared `exists (... where <pk> = ...)`. An error in one check (a policy that
# raises on these claims) answers 'e<message>' for that group only. Returns 't', 'f' or 'e...' per group.
RLS_CHECK_FUNCTION = """
create or replace function pg_temp.supakit_rls_checks_safe(statement text, groups jsonb)
returns text[]
language plpgsql
as $body$
declare
  answers text[] := '{}';
  visible boolean;
begin
  for i in 0 .. pg_catalog.jsonb_array_length(groups) - 1 loop
    begin
      perform pg_catalog.set_config('role', groups -> i ->> 0, true),
              pg_catalog.set_config('request.jwt.claims', groups -> i ->> 1, true),
              pg_catalog.set_config('request.jwt.claim.sub', groups -> i ->> 2, true),
              pg_catalog.set_config('request.jwt.claim.role', groups -> i ->> 0, true);
      execute statement into visible;
      answers := answers || (case when visible then 't' else 'f' end);
    exception when others then
      answers := answers || ('e' || sqlerrm);
    end;
  end loop;
  perform pg_catalog.set_config('role', null, true);
  return answers;
end;
$body$;

-- The same loop without a subtransaction per check (about twice as fast); when it raises, the feed runs the
-- change again through supakit_rls_checks_safe.
create or replace function pg_temp.supakit_rls_checks(statement text, groups jsonb)
returns text[]
language plpgsql
as $body$
declare
  answers text[] := '{}';
  visible boolean;
begin
  for i in 0 .. pg_catalog.jsonb_array_length(groups) - 1 loop
    perform pg_catalog.set_config('role', groups -> i ->> 0, true),
            pg_catalog.set_config('request.jwt.claims', groups -> i ->> 1, true),
            pg_catalog.set_config('request.jwt.claim.sub', groups -> i ->> 2, true),
            pg_catalog.set_config('request.jwt.claim.role', groups -> i ->> 0, true);
    execute statement into visible;
    answers := answers || (case when visible then 't' else 'f' end);
  end loop;
  perform pg_catalog.set_config('role', null, true);
  return answers;
end;
$body$
"""
rls_check_many = "select pg_temp.supakit_rls_checks(%s, %s::text::jsonb)"
rls_check_many_safe = "select pg_temp.supakit_rls_checks_safe(%s, %s::text::jsonb)"


@dataclass(slots=True)
class _Plan:
    """The work for one decoded change: who may receive it and what the database must still tell us."""

    txn: Transaction
    index: int  # position of the change in its transaction
    change: Change
    candidates: list[Subscription]
    typed: TypedChange | None = None
    sql_values: dict[tuple[str, int], int] = field(default_factory=dict)  # (side, column) -> unit index
    sql_filters: dict[str, list[tuple[Filter, int]]] = field(default_factory=dict)  # sub id -> pending filters
    rejected: set[str] = field(default_factory=set)  # failed a filter in Python
    checks: dict[tuple[str, str], int] = field(default_factory=dict)  # RLS group -> index, then its answer


class ChangeFeed:
    """postgres_changes for the local Realtime server (interface: docs/realtime-changes.md)."""

    def __init__(self, database_url: str, deliver: Deliver, *, publication: str = "supabase_realtime",
                 poll_interval: float = 0.002, idle_poll_interval: float = 0.02, max_changes: int = 1000,
                 max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES, slot_prefix: str = "supakit_rt_changes") -> None:
        self.database_url = database_url
        self.deliver = deliver
        self.publication = publication
        self.poll_interval = poll_interval
        self.idle_poll_interval = idle_poll_interval
        self.max_changes = max_changes
        self.max_record_bytes = max_record_bytes
        self.slot_prefix = slot_prefix
        self.reader = SlotReader(database_url, feed="postgres_changes", purpose="changes",
                                 publication=publication, slot_prefix=slot_prefix, session_settings=SESSION_SETTINGS,
                                 on_open=self._opened, on_close=self._closing)
        self._subs: dict[str, Subscription] = {}
        self._types = TypeCache()
        self._work: psycopg.AsyncConnection | None = None  # table access, SQL filters and values, RLS checks
        self._sub_conn: psycopg.AsyncConnection | None = None  # validates subscriptions
        self._sub_lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._last_probe = "0/0"
        self._delivered_lsn = 0  # every transaction ending at or before this LSN has been delivered
        self._advance_to = 0  # where the next poll advances the slot
        self._confirmed_lsn = 0  # where the slot was last advanced to
        self._busy = False
        # TableAccess by (table, role), re-read after ACCESS_TTL_S so that grants and `enable row level security`
        # apply within that time without costing a round trip per batch (policies apply at once: they run live)
        self._access_cache: dict[tuple[int, str], tuple[float, TableAccess]] = {}
        self._accesses: dict[tuple[int, str], TableAccess] = {}  # what the batch being processed uses
        self._partial: tuple[int, int] | None = None  # (end LSN, changes delivered) of a transaction cut short
        self._last_change_at = 0.0
        self._can_force_flush = True
        self._stats = {"polls": 0, "peeks": 0, "transactions": 0, "changes": 0, "deliveries": 0, "rls_checks": 0,
                       "forced_flushes": 0, "forwards": 0, "subscriptions": 0, "wal_moves": 0}

    @property
    def slot(self) -> str | None:
        return self.reader.slot

    # -- lifecycle ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the slot and start decoding; changes committed after this returns will be seen."""
        await self.reader.open()
        self._task = asyncio.create_task(self.reader.run(self._step), name="supakit realtime changes")

    async def stop(self) -> None:
        """Stop decoding, drop the slot, close the connections; idempotent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.reader.close(drop_slot=True)
        if self._sub_conn is not None:
            with contextlib.suppress(Exception):
                await self._sub_conn.close()
            self._sub_conn = None

    async def _opened(self, start_lsn: int) -> None:
        """A new slot (at start, or after reconnecting): open the work connection and start over from it.
        Everything that can fail on user data (RLS policies, casts) runs there, never on the slot's session."""
        work = await self.reader.connect("changes work")
        # psycopg answers a ROLLBACK with DEALLOCATE ALL when it manages prepared statements, which would drop the
        # RLS checks the work connection PREPAREs itself (see _rls_statement): let it manage none.
        work.prepare_threshold = None
        self._work = work
        self._can_force_flush = self.reader.server_version >= 170000
        self._prepared: dict[tuple, str] = {}  # RLS check statements prepared on the work connection
        self._rls_function_ready = False
        self._delivered_lsn = self._advance_to = self._confirmed_lsn = start_lsn
        self._partial = None
        self._busy = False
        self._access_cache.clear()
        self._last_probe = "0/0"

    async def _closing(self) -> None:
        work, self._work = self._work, None
        sub_conn, self._sub_conn = self._sub_conn, None  # reopened by the next subscription
        for conn in (work, sub_conn):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _step(self) -> None:
        if self._work is None or self._work.closed:
            raise psycopg.OperationalError("the work connection is closed")
        busy = await self.poll_once()
        if not busy:
            idle_for = time.monotonic() - self._last_change_at
            await asyncio.sleep(self.poll_interval if idle_for < 1.0 else self.idle_poll_interval)

    # -- subscriptions -----------------------------------------------------------------------------------------

    async def add_subscription(self, sub_id: str, *, role: str, claims: dict, binding: dict) -> None:
        """Validate `binding` and subscribe; raises SubscriptionError (Realtime's message) when it cannot."""
        async with self._sub_lock:
            for attempt in (1, 2):  # a connection broken by a database restart is replaced once
                if self._sub_conn is None or self._sub_conn.closed:
                    self._sub_conn = await self.reader.connect("subscriptions")
                try:
                    subscription = await validate(self._sub_conn, self._types, self.publication, sub_id, role,
                                                  claims, binding)
                    break
                except CONNECTION_LOST:
                    with contextlib.suppress(Exception):
                        await self._sub_conn.close()
                    self._sub_conn = None
                    if attempt == 2:
                        raise
        self._subs[sub_id] = subscription
        self._stats["subscriptions"] = len(self._subs)

    async def remove_subscription(self, sub_id: str) -> None:
        self._subs.pop(sub_id, None)
        self._stats["subscriptions"] = len(self._subs)

    def stats(self) -> dict[str, int]:
        # "reconnects" and "errors" (kept for their readers): the reader's disconnects_total and errors_total
        return {**self._stats, "reconnects": self.reader.stats["disconnects_total"],
                "errors": self.reader.stats["errors_total"], **self.reader.stats}

    # -- polling -----------------------------------------------------------------------------------------------

    async def poll_once(self) -> bool:
        """One poll; True when it should poll again at once (it delivered, or the peek was cut short).

        Busy (the last poll found changes): one round trip advances the slot past what was delivered, probes
        (forcing a flush) and peeks. Idle: the probe alone, and a peek only when the WAL moved."""
        conn = self.reader.conn
        assert conn is not None and self.slot is not None
        self._stats["polls"] += 1
        if not self._subs:
            return await self._forward(conn)
        probe = wal_probe_flush_one if self._can_force_flush else wal_probe_one
        peek_params = {"slot": self.slot, "limit": self.max_changes, "publication": self.publication}
        rows = None
        async with conn.pipeline() as pipeline:
            if self._advance_to > self._confirmed_lsn:
                await conn.execute(SLOT_ADVANCE_ONE, (self.slot, lsn_to_text(self._advance_to)))
            probe_cursor = conn.cursor()
            await probe_cursor.execute(probe, {"last": self._last_probe})
            peek_cursor = None
            if self._busy:
                peek_cursor = conn.cursor()
                await peek_cursor.execute(SLOT_PEEK_MANY, peek_params)
            await pipeline.sync()
            self._confirmed_lsn = max(self._confirmed_lsn, self._advance_to)
            flushed, insert_lsn, flush_lsn = await probe_cursor.fetchone()
            if peek_cursor is not None:
                rows = await peek_cursor.fetchall()
        if flushed:  # the later columns were read after the flush
            self._stats["forced_flushes"] += 1
        if insert_lsn != self._last_probe:
            self._stats["wal_moves"] += 1  # anyone's WAL, the cluster's: not only this database's changes
        if rows is None:
            if insert_lsn == self._last_probe:
                return False
            rows = await (await conn.execute(SLOT_PEEK_MANY, peek_params)).fetchall()
        self._stats["peeks"] += 1
        complete = len(rows) < self.max_changes
        decoder = Decoder()
        transactions = []
        for (data,) in rows:
            txn = decoder.feed(bytes(data))
            if txn is not None and txn.end_lsn > self._delivered_lsn:
                transactions.append(txn)
        self._busy = bool(transactions)
        if transactions:
            self._last_change_at = time.monotonic()
            await self._process(transactions)
        # The next poll advances past what was delivered, or past everything decoded when the peek was complete
        # (the flush position was read before the peek, which decodes up to the flush position at its start).
        self._delivered_lsn = max(self._delivered_lsn, lsn_to_int(flush_lsn) if complete else 0)
        self._advance_to = self._delivered_lsn
        if complete and (self._can_force_flush or lsn_to_int(flush_lsn) >= lsn_to_int(insert_lsn)):
            # Everything written so far was flushed (forced, or by the WAL writer), decoded and delivered. A forced
            # flush may leave the insert position a page header past the flush position: no WAL to wait for.
            self._last_probe = insert_lsn
        return not complete or bool(transactions)  # as Realtime's poller: after delivering, poll again at once

    async def _forward(self, conn: psycopg.AsyncConnection) -> bool:
        """No subscription: skip what is flushed without decoding it (a subscription sees changes from its
        start_lsn, read when it is added, which lies past what is skipped)."""
        moved = await self.reader.forward(lambda: not self._subs)
        if moved is not None:
            self._stats["forwards"] += 1
            self._delivered_lsn = self._advance_to = self._confirmed_lsn = max(self._confirmed_lsn,
                                                                               lsn_to_int(moved))
        self._busy = False
        return bool(self._subs)  # subscribed meanwhile: decode at once

    # -- processing ---------------------------------------------------------------------------------------------

    async def _process(self, transactions: Sequence[Transaction]) -> None:
        by_table: dict[int, list[Subscription]] = {}
        for sub in list(self._subs.values()):
            for oid in sub.tables:
                by_table.setdefault(oid, []).append(sub)
        plans: list[_Plan] = []
        for txn in transactions:
            self._stats["transactions"] += 1
            for index, change in enumerate(txn.changes):
                if not isinstance(change, Change):
                    continue  # TRUNCATE: Realtime's wal2json poller does not send them
                self._stats["changes"] += 1
                candidates = [s for s in by_table.get(change.relation.oid, ())
                              if s.wants(change.type) and txn.final_lsn >= s.start_lsn]
                plans.append(_Plan(txn, index, change, candidates))
        if any(p.candidates for p in plans):
            await self._evaluate(plans)
        for plan in plans:
            txn = plan.txn
            if self._partial is not None and self._partial[0] == txn.end_lsn and plan.index < self._partial[1]:
                continue  # delivered before a failure cut this transaction short
            deliveries = plan_deliveries(plan, self._accesses) if plan.candidates else []
            if deliveries:
                self._stats["deliveries"] += 1
                await self.deliver(deliveries)
            self._partial = (txn.end_lsn, plan.index + 1)
        for txn in transactions:  # every change handed over: the transactions are delivered
            self._delivered_lsn = max(self._delivered_lsn, txn.end_lsn)
        self._partial = None

    async def _evaluate(self, plans: list[_Plan]) -> None:
        conn = self._work
        assert conn is not None
        units: list[list[tuple[object, object]]] = []  # phase 1 statements, one result each

        def unit(query: object, params: object) -> int:
            units.append([(query, params)])
            return len(units) - 1

        access_units: dict[tuple[int, str], int] = {}
        for plan in plans:
            if not plan.candidates:
                continue
            relation = plan.change.relation
            types = tuple([await self._types.get(conn, c.type_oid) for c in relation.columns])
            plan.typed = TypedChange(plan.change, types, None, None, False, "")  # placeholder until phase 1 ends
            now = time.monotonic()
            for sub in plan.candidates:
                key = (relation.oid, sub.role)
                cached = self._access_cache.get(key)
                if key not in access_units and (cached is None or cached[0] < now):
                    access_units[key] = unit(table_access_one, {"oid": relation.oid, "role": sub.role})
            for side, values in (("new", plan.change.new), ("old", plan.change.old)):
                for index, value in enumerate(values or ()):
                    if types[index].kind == "sql" and isinstance(value, str):
                        plan.sql_values[(side, index)] = unit(
                            sql.SQL("select to_jsonb(%s::text::{})").format(sql.SQL(types[index].sql_name)), (value,))
            cells = _filter_cells(plan.change)
            for sub in plan.candidates:
                pending: list[tuple[Filter, int]] = []
                for flt in sub.filters.get(relation.oid, ()):
                    if flt.column not in cells:
                        plan.rejected.add(sub.id)  # the column's value is not in this change
                        break
                    cell = cells[flt.column]
                    try:
                        if flt.evaluate(cell) is not True:
                            plan.rejected.add(sub.id)
                            break
                    except NeedsSql:
                        pending.append((flt, unit(*_filter_query(flt, cell))))
                if pending and sub.id not in plan.rejected:
                    plan.sql_filters[sub.id] = pending
        results = await _run_units(conn, units, transaction=False)
        expires = time.monotonic() + ACCESS_TTL_S
        for key, index in access_units.items():
            row = results[index]
            if isinstance(row, BaseException) or row is None:
                self._access_cache.pop(key, None)  # read again next batch; this change reaches none of them
                self._accesses.pop(key, None)
            else:
                access = TableAccess(bool(row[0]), tuple(row[1]), frozenset(row[2]))
                self._access_cache[key] = (expires, access)
        self._accesses = {key: access for key, (_, access) in self._access_cache.items()}
        for plan in plans:
            if plan.typed is None:
                continue
            json_values = {k: (None if isinstance(results[i], BaseException) else results[i][0])
                           for k, i in plan.sql_values.items()}
            plan.typed = type_change(plan.change, plan.typed.types, json_values, plan.txn.commit_time,
                                     self.max_record_bytes)
            for sub_id, pending in plan.sql_filters.items():
                for flt, index in pending:
                    outcome = results[index]
                    passed = None if isinstance(outcome, BaseException) else outcome[0]
                    if flt.negate and passed is not None:
                        passed = not passed
                    if passed is not True:
                        plan.rejected.add(sub_id)
                        break

        # phase 2: RLS, once per (change, role + claims) among the subscribers still in, looped server-side
        calls: list[list[tuple[object, object]]] = []
        call_plans: list[_Plan] = []
        encoded: dict[tuple, str] = {}
        for plan in plans:
            if plan.typed is None or plan.change.type == "DELETE":
                continue
            relation = plan.change.relation
            groups: list[Subscription] = []
            access = None
            for sub in plan.candidates:
                access = self._accesses.get((relation.oid, sub.role))
                if access is None or sub.id in plan.rejected or not access.rls_enabled or not access.primary_key or \
                        not set(access.primary_key) <= access.selectable or sub.group in plan.checks:
                    continue
                plan.checks[sub.group] = len(groups)
                groups.append(sub)
            if groups and access is not None:
                statement = await self._rls_statement(conn, plan, access)
                key = tuple(sub.group for sub in groups)
                if key not in encoded:  # the same subscribers usually follow every change of a table
                    encoded[key] = json.dumps([[sub.role, sub.claims_json, str(sub.claims.get("sub") or "")]
                                               for sub in groups])
                calls.append([(rls_check_many, (statement, encoded[key]))])
                call_plans.append(plan)
        if calls:
            if not self._rls_function_ready:
                await conn.execute(RLS_CHECK_FUNCTION)
                self._rls_function_ready = True
            outcomes = await _run_units(conn, calls, transaction=True)
            failed = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, BaseException)]
            if failed:  # one check raised: redo those changes one check per subtransaction
                retried = await _run_units(conn, [[(rls_check_many_safe, calls[i][0][1])] for i in failed],
                                           transaction=True)
                for i, outcome in zip(failed, retried, strict=True):
                    outcomes[i] = outcome
            for plan, outcome in zip(call_plans, outcomes, strict=True):
                self._stats["rls_checks"] += len(plan.checks)
                if isinstance(outcome, BaseException) or outcome is None:
                    plan.checks = {group: "e" for group in plan.checks}  # type: ignore[misc]
                else:
                    answers = outcome[0]  # type: ignore[index]
                    plan.checks = {group: answers[i] for group, i in plan.checks.items()}  # type: ignore[misc]

    async def _rls_statement(self, conn: psycopg.AsyncConnection, plan: _Plan, access: TableAccess) -> str:
        """`execute <prepared>(<primary key literals>)` for this change; prepares the table's check once."""
        relation = plan.change.relation
        assert plan.typed is not None
        positions = {c.name: i for i, c in enumerate(relation.columns)}
        indexes = [positions[name] for name in access.primary_key]
        pk_types = tuple(plan.typed.types[i].sql_name for i in indexes)
        key = (relation.oid, relation.schema, relation.name, access.primary_key, pk_types)
        name = self._prepared.get(key)
        if name is None:
            name = f"supakit_rls_{relation.oid}_{len(self._prepared)}"
            conditions = sql.SQL(" and ").join(
                sql.SQL("{} = ${}::{}").format(sql.Identifier(column), sql.SQL(str(n + 1)), sql.SQL(pk_type))
                for n, (column, pk_type) in enumerate(zip(access.primary_key, pk_types, strict=True)))
            await conn.execute(sql.SQL("prepare {} ({}) as select exists (select 1 from {}.{} where {})").format(
                sql.Identifier(name), sql.SQL(", ").join(sql.SQL("text") for _ in pk_types),
                sql.Identifier(relation.schema), sql.Identifier(relation.name), conditions))
            self._prepared[key] = name
        row = plan.change.new or ()
        values = [row[i] if isinstance(row[i], str) else None for i in indexes]
        return sql.SQL("execute {}({})").format(sql.Identifier(name), sql.SQL(", ").join(
            sql.Literal(v) for v in values)).as_string(conn)


_warned: dict[tuple, float] = {}
WARN_EVERY_S = 60.0


def _warn_now_and_then(message: str, *args: object) -> None:
    """Log a warning at most once a minute per distinct message: a policy that raises does so on every change."""
    key = (message, *args)
    now = time.monotonic()
    if now - _warned.get(key, -WARN_EVERY_S) >= WARN_EVERY_S:
        if len(_warned) > 1000:
            _warned.clear()
        _warned[key] = now
        log.warning(message, *args)


def _filter_cells(change: Change) -> dict[str, str | None]:
    """The column values filters see: the new row; for a DELETE, the old row (REPLICA IDENTITY FULL, or keys)."""
    columns = change.relation.columns
    cells: dict[str, str | None] = {}
    old = dict(zip((c.name for c in columns), change.old or (), strict=False))
    row = change.new if change.new is not None else change.old
    for column, value in zip(columns, row or (), strict=False):
        if value is UNCHANGED:
            value = old.get(column.name, UNCHANGED) if change.old_kind == "O" else UNCHANGED
        if value is UNCHANGED or isinstance(value, bytes):
            continue
        if change.new is None and change.old_kind == "K" and not column.is_key:
            continue  # not sent: NULL placeholders
        cells[column.name] = value  # type: ignore[assignment]
    return cells


def _filter_query(flt: Filter, cell: str | None) -> tuple[object, object]:
    cast = sql.SQL(flt.type.sql_name)
    if flt.op == "in":
        return sql.SQL("select %s::text::{} = any(%s::text[]::{}[])").format(cast, cast), (cell, list(flt.values))
    if flt.op == "isdistinct":
        return sql.SQL("select %s::text::{} is distinct from %s::text::{}").format(cast, cast), (cell, flt.value)
    operator = sql.SQL(SQL_OPERATORS[flt.op])
    right = sql.SQL("%s::text") if flt.op in ("like", "ilike", "match", "imatch") else \
        sql.SQL("%s::text::{}").format(cast)
    return sql.SQL("select %s::text::{} {} {}").format(cast, operator, right), (cell, flt.value)


async def _run_units(conn: psycopg.AsyncConnection, units: list[list[tuple[object, object]]], *, transaction: bool
                     ) -> list[object]:
    """Run each unit (statements; the last one's first row is its result) in one pipelined round trip. When a
    statement fails, run them again one unit at a time so that one failure costs only its own unit, whose
    result is then the exception. With `transaction`, everything runs in transactions that are rolled back."""
    if not units:
        return []
    try:
        cursors = []
        async with conn.pipeline() as pipeline:
            if transaction:
                await conn.execute("begin")
            for statements in units:
                cursor = None
                for query, params in statements:
                    cursor = conn.cursor()
                    await cursor.execute(query, params)  # type: ignore[arg-type]
                cursors.append(cursor)
            if transaction:
                await conn.execute("rollback")
            await pipeline.sync()
            return [await c.fetchone() for c in cursors]
    except psycopg.OperationalError:
        raise
    except psycopg.Error:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            await conn.execute("rollback")
    results: list[object] = []
    for statements in units:
        try:
            if transaction:
                await conn.execute("begin")
            cursor = None
            for query, params in statements:
                cursor = await conn.execute(query, params)  # type: ignore[arg-type]
            results.append(await cursor.fetchone())  # type: ignore[union-attr]
        except psycopg.OperationalError:
            raise
        except psycopg.Error as error:
            _warn_now_and_then("postgres_changes: a statement failed: %s", error.diag.message_primary or str(error))
            results.append(error)
        finally:
            if transaction or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                await conn.execute("rollback")
    return results


def plan_deliveries(plan: _Plan, accesses: dict[tuple[int, str], TableAccess]) -> list[Delivery]:
    """Group the subscribers of one change by the identical `data` they receive."""
    typed = plan.typed
    if typed is None:
        return []
    relation = plan.change.relation
    groups: dict[tuple, tuple[set[str], dict]] = {}
    for sub in plan.candidates:
        access = accesses.get((relation.oid, sub.role))
        if access is None:
            continue  # the table's catalog could not be read for this role: send nothing rather than guess
        if plan.change.type != "DELETE" and not access.primary_key:
            key: tuple = ("error", ERROR_NO_PRIMARY_KEY)
        elif plan.change.type != "DELETE" and not set(access.primary_key) <= access.selectable:
            key = ("error", ERROR_UNAUTHORIZED)
        elif sub.id in plan.rejected:
            continue
        else:
            if plan.change.type == "DELETE" or not access.rls_enabled:
                key = ("data", sub.role, sub.select)  # as Realtime: no RLS check for a DELETE (the row is gone)
            else:
                answer = plan.checks.get(sub.group)  # type: ignore[call-overload]
                if answer == "t":
                    key = ("data", sub.role, sub.select)
                elif isinstance(answer, str) and answer.startswith("e"):
                    _warn_now_and_then("postgres_changes: an RLS policy of %s.%s raised for role %s: %s",
                                       relation.schema, relation.name, sub.role, answer[1:])
                    key = ("error", ERROR_RLS_FAILED)  # the policy raised on these claims; the row stays hidden
                else:
                    continue  # RLS hides the row from this subscriber (or no check ran: never deliver)
        if key not in groups:
            data = error_data(typed, key[1]) if key[0] == "error" else build_data(typed, access, sub.select)
            groups[key] = (set(), data)
        groups[key][0].add(sub.id)
    return [(frozenset(ids), data) for ids, data in groups.values()]
