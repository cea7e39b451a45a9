"""A request's transaction on the wire: its statements sent as one libpq pipeline and read back in one wait, on a
pooled psycopg connection.

Why not `conn.pipeline()` and one `execute()` per statement: psycopg flushes and polls the socket at every
`execute()`, builds a cursor per statement and decodes the JSON body PostgreSQL rendered into a str the server then
encodes again. Per request that was a large share of the server's CPU (docs/rest.md, "Performance"). Here every
statement of the request (BEGIN, the set_config batch, the statement, COMMIT) is queued with
PQsendQueryPrepared, one Sync ends the batch, the socket is flushed once and the results are read in one wait.
The body is taken as the bytes PostgreSQL sent.

What stays psycopg's: the connection and its pool, the waiting (`AsyncConnection.wait`), the parameter dumpers
(the connection's Transformer, so every value is bound exactly as `cursor.execute` binds it: strings untyped,
PostgreSQL infers the type), the result loaders, and the error classes (`psycopg.errors.error_from_result`), so a
failure reaches the caller as the same psycopg.Error it was before.

Prepared statements: each connection keeps its own (named `_sk_rest_<n>`, never reused), prepared the second time a
statement text is seen, at most PREPARED_MAX per connection (the least recently used is deallocated). A name is
remembered only when PostgreSQL answered its Parse, so an aborted batch never leaves the registry believing in a
statement the server does not have.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Generator, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.waiting import Ready, Wait

PREPARED_MAX = 256
SEEN_MAX = 4096
_PLACEHOLDER = re.compile(r"%(.)", re.DOTALL)
_PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
_COMMAND_OK = pq.ExecStatus.COMMAND_OK
_FATAL_ERROR = pq.ExecStatus.FATAL_ERROR
_TEXT = pq.Format.TEXT
# never prepared: nothing to plan, and a COMMIT or ROLLBACK must not be able to fail with 26000 (see `run`)
_TRANSACTION_CONTROL = (b"BEGIN", b"COMMIT", b"ROLLBACK")


@lru_cache(maxsize=4096)
def wire_text(sql: str) -> bytes:
    """`sql` with psycopg's `%s` placeholders as `$1…$n` and `%%` as `%` (the only two our SQL uses), UTF-8."""
    counter = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal counter
        char = match.group(1)
        if char == "%":
            return "%"
        if char == "s":
            counter += 1
            return f"${counter}"
        raise ValueError(f"unexpected placeholder %{char} in the Data API's SQL")

    return _PLACEHOLDER.sub(replace, sql).encode()


class _ConnectionState:
    """What one connection remembers: its transformer and its prepared statements."""

    __slots__ = ("transformer", "prepared", "counter")

    def __init__(self, conn: psycopg.AsyncConnection) -> None:
        self.transformer = Transformer(conn)
        self.prepared: OrderedDict[tuple[bytes, tuple[int, ...]], bytes] = OrderedDict()
        self.counter = 0


_STATE_ATTRIBUTE = "_supakit_rest_wire"
# statement texts seen once (prepared on the second sight), shared by the connections
_seen: OrderedDict[bytes, None] = OrderedDict()


def _state(conn: psycopg.AsyncConnection) -> _ConnectionState:
    state = getattr(conn, _STATE_ATTRIBUTE, None)
    if state is None:
        state = _ConnectionState(conn)
        setattr(conn, _STATE_ATTRIBUTE, state)
    return state


def forget(conn: psycopg.AsyncConnection) -> None:
    """Forget the connection's prepared statements (after `DEALLOCATE ALL` was sent on it)."""
    state = getattr(conn, _STATE_ATTRIBUTE, None)
    if state is not None:
        state.prepared.clear()


def _worth_preparing(sql: bytes) -> bool:
    if sql in _seen:
        _seen.move_to_end(sql)
        return True
    _seen[sql] = None
    if len(_seen) > SEEN_MAX:
        _seen.popitem(last=False)
    return False


class Batch:
    """Statements queued for one round trip; `run()` sends them with one Sync and returns each one's result."""

    def __init__(self, conn: psycopg.AsyncConnection) -> None:
        self.conn = conn
        self.state = _state(conn)
        self._commands: list[tuple[bytes, Any, Any, Any]] = []  # (text, dumped params, types, formats)

    def add(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Queue `sql` (psycopg placeholders) with `params`; the index of its result in `run()`'s answer."""
        types: Any = None
        formats: Any = None
        dumped: Any = None
        if params:
            tx = self.state.transformer
            dumped = tx.dump_sequence(params, [PyFormat.AUTO] * len(params))
            types, formats = tuple(tx.types or ()), list(tx.formats or ())
        self._commands.append((wire_text(sql), dumped, types, formats))
        return len(self._commands) - 1

    def _send(self) -> list[tuple[int, tuple[bytes, Any] | None, bytes | None]]:
        """Queue the commands on the libpq connection and a Sync: per command, the index of its result group,
        the registry key it prepares (when it does) and that name."""
        pgconn = self.conn.pgconn
        prepared = self.state.prepared
        plan = []
        for text, _params, types, _formats in self._commands:
            key = (text, types or ())
            name = prepared.get(key)
            if name is not None:
                prepared.move_to_end(key)
                plan.append(("prepared", key, name))
            elif not text.startswith(_TRANSACTION_CONTROL) and _worth_preparing(text):
                self.state.counter += 1
                plan.append(("prepare", key, f"_sk_rest_{self.state.counter}".encode()))
            else:
                plan.append(("exec", key, None))
        evicted = []
        while len(prepared) + sum(1 for kind, _, _ in plan if kind == "prepare") > PREPARED_MAX and prepared:
            evicted.append(prepared.popitem(last=False)[1])
        pgconn.enter_pipeline_mode()
        group = 0
        for name in evicted:  # first, so nothing aborts them
            pgconn.send_query_params(b'DEALLOCATE "' + name + b'"', None)
            group += 1
        slots = []
        for (kind, key, name), (text, params, types, formats) in zip(plan, self._commands, strict=True):
            if kind == "prepared":
                pgconn.send_query_prepared(name, params, param_formats=formats)
                slots.append((group, None, None))
            elif kind == "prepare":
                pgconn.send_prepare(name, text, param_types=types)
                group += 1
                pgconn.send_query_prepared(name, params, param_formats=formats)
                slots.append((group, key, name))
            else:
                pgconn.send_query_params(text, params, param_types=types, param_formats=formats)
                slots.append((group, None, None))
            group += 1
        pgconn.pipeline_sync()
        return slots

    async def _round_trip(self) -> tuple[list[tuple[int, Any, Any]], list[list[Any]]]:
        conn = self.conn
        async with conn.lock:
            slots = self._send()
            try:
                groups = await conn.wait(_exchange(conn.pgconn))
            except BaseException:
                # mid-pipeline with results pending, the connection cannot be reused: the pool replaces it
                await conn.close()
                raise
            conn.pgconn.exit_pipeline_mode()
        return slots, groups

    async def run(self) -> list[Any]:
        """Send the batch and read it back: each command's result. Raises the first failure as psycopg.Error;
        the transaction is then aborted and the caller rolls back."""
        # a resend is safe only when the batch opened its own transaction: what failed then rolled everything back
        resendable = self.conn.pgconn.transaction_status == pq.TransactionStatus.IDLE
        for attempt in (1, 2):
            slots, groups = await self._round_trip()
            prepared = self.state.prepared
            for index, key, name in slots:
                if key is not None:  # remembered only when PostgreSQL answered its Parse
                    parse = groups[index - 1]
                    if parse and parse[-1].status == _COMMAND_OK:
                        prepared[key] = name
            failure = next((g[-1] for g in groups if g and g[-1].status == _FATAL_ERROR), None)
            if failure is None:
                return [groups[index][-1] for index, _, _ in slots]
            error = psycopg.errors.error_from_result(failure, encoding=self.conn.info.encoding)
            if attempt == 1 and resendable and error.sqlstate == "26000":
                # our prepared statements are gone (another user of the pooled connection sent DEALLOCATE ALL,
                # as psycopg does after a ROLLBACK): forget them, roll back, send the batch again
                self.state.prepared.clear()
                if self.conn.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                    await Batch(self.conn).rollback()
                continue
            raise error
        raise AssertionError("unreachable")

    async def rollback(self) -> None:
        """ROLLBACK in its own round trip (not through psycopg, which would drop every prepared statement)."""
        self._commands.clear()
        self.add("ROLLBACK")
        await self.run()

    def values(self, result: Any, raw: int | None = None) -> list[Any] | None:
        """The first row of `result` loaded by psycopg's loaders (None when it has no row); column `raw` is
        left as the bytes PostgreSQL sent."""
        if result.ntuples == 0:
            return None
        tx = self.state.transformer
        out: list[Any] = []
        for column in range(result.nfields):
            value = result.get_value(0, column)
            if value is not None and column != raw:
                value = tx.get_loader(result.ftype(column), _TEXT).load(value)
            out.append(value)
        return out


def _exchange(pgconn: Any) -> Generator[Wait, Ready, list[list[Any]]]:
    """Flush the queued batch, then read results up to the Sync: a list of results per command."""
    while pgconn.flush() == 1:
        ready = yield Wait.RW
        if ready & Ready.R:
            pgconn.consume_input()
    groups: list[list[Any]] = []
    current: list[Any] = []
    while True:
        if pgconn.is_busy():
            yield Wait.R
            pgconn.consume_input()
            continue
        result = pgconn.get_result()
        if result is None:
            groups.append(current)
            current = []
        elif result.status == _PIPELINE_SYNC:
            return groups
        else:
            current.append(result)
