"""The Data API's wire module (functions_py/rest/wire.py): a request's statements in one pipeline on a real
PostgreSQL, its prepared statements surviving what other users of a pooled connection do to them."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from functions_py.rest import wire


def _run(url: str, body) -> object:
    async def main():
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        try:
            return await body(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


async def _one_transaction(conn, value: str) -> list:
    batch = wire.Batch(conn)
    batch.add("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY")
    batch.add("select set_config(%s, %s, true)", ["request.method", value])
    at = batch.add("select current_setting('request.method') as method, %s::int + 1 as next, '50%%' as pct, "
                   "'{\"a\": 1}'::json as doc", ["41"])
    batch.add("COMMIT")
    results = await batch.run()
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, "COMMIT ran in the same batch"
    return batch.values(results[at])


def test_a_batch_runs_every_statement_in_one_transaction_and_loads_values_as_psycopg_does(shared_db_url):
    async def body(conn):
        return [await _one_transaction(conn, f"GET{i}") for i in range(4)]

    rows = _run(shared_db_url, body)
    assert rows == [[f"GET{i}", 42, "50%", {"a": 1}] for i in range(4)], \
        "set_config is visible to the statement, parameters are bound, %% is a percent sign, json is loaded"


def test_a_raw_column_is_the_bytes_postgresql_sent(shared_db_url):
    async def body(conn):
        batch = wire.Batch(conn)
        at = batch.add("select json_build_object('name', %s::text)::text, 7::bigint", ["zoë"])
        return batch.values((await batch.run())[at], raw=0)

    assert _run(shared_db_url, body) == ['{"name" : "zoë"}'.encode(), 7]


def test_statements_are_prepared_on_the_second_use_and_reused(shared_db_url):
    async def body(conn):
        for i in range(3):
            await _one_transaction(conn, f"POST{i}")
        cur = await conn.execute("select statement from pg_prepared_statements "
                                 "where name like '\\_sk\\_rest\\_%' order by name")
        return [r[0] for r in await cur.fetchall()]

    statements = _run(shared_db_url, body)
    assert any("set_config($1, $2, true)" in s for s in statements), statements
    assert len(statements) == len(set(statements)), "each statement is prepared once per connection"


def test_a_failure_raises_psycopgs_error_and_leaves_no_phantom_prepared_statement(shared_db_url):
    async def body(conn):
        bad = "select no_such_column from pg_class limit %s"
        failures = []
        for _ in range(3):  # the second and third send a Parse for it, which fails
            batch = wire.Batch(conn)
            batch.add("BEGIN")
            batch.add(bad, ["1"])
            batch.add("COMMIT")
            with pytest.raises(psycopg.errors.UndefinedColumn) as caught:
                await batch.run()
            failures.append(caught.value.diag.message_primary)
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
            await wire.Batch(conn).rollback()
        ok = await _one_transaction(conn, "after")
        names = await (await conn.execute("select count(*) from pg_prepared_statements "
                                          "where statement like '%no_such_column%'")).fetchone()
        return failures, ok, names[0], wire._state(conn).prepared

    failures, ok, server_side, registry = _run(shared_db_url, body)
    assert failures == ['column "no_such_column" does not exist'] * 3
    assert ok[0] == "after", "the connection keeps serving after failed batches"
    assert server_side == 0
    assert not any(b"no_such_column" in text for text, _ in registry), "a failed Parse is not remembered"


def test_prepared_statements_dropped_behind_its_back_are_prepared_again(shared_db_url):
    async def body(conn):
        for i in range(3):
            await _one_transaction(conn, f"x{i}")
        assert wire._state(conn).prepared, "the statements are prepared by now"
        # another user of the pooled connection: psycopg sends DEALLOCATE ALL after a ROLLBACK it manages
        await conn.execute("DEALLOCATE ALL")
        return await _one_transaction(conn, "again")

    assert _run(shared_db_url, body)[0] == "again"


def test_the_least_recently_used_statement_is_deallocated_above_the_limit(shared_db_url, monkeypatch):
    monkeypatch.setattr(wire, "PREPARED_MAX", 3)

    async def body(conn):
        for n in range(8):
            for _ in range(2):
                batch = wire.Batch(conn)
                at = batch.add(f"select {n} + %s::int", ["1"])
                assert batch.values((await batch.run())[at]) == [n + 1]
        row = await (await conn.execute("select count(*) from pg_prepared_statements "
                                        "where name like '\\_sk\\_rest\\_%'")).fetchone()
        return row[0], len(wire._state(conn).prepared)

    server_side, registry = _run(shared_db_url, body)
    assert registry <= 3 and server_side <= 3, (server_side, registry)


def test_an_unknown_placeholder_is_refused():
    with pytest.raises(ValueError, match="%d"):
        wire.wire_text("select %d")


def test_inside_an_open_transaction_a_lost_statement_is_an_error_not_a_silent_resend(shared_db_url):
    """A resend would follow a ROLLBACK: inside a transaction the batch did not open, that would drop the
    caller's earlier work and run the rest outside it. Transaction control is never prepared, so the COMMIT that
    ends a write cannot hit this."""

    async def body(conn):
        for _ in range(2):  # seen twice: prepared
            batch = wire.Batch(conn)
            batch.add("select %s::int * 2", ["21"])
            await batch.run()
        begin = wire.Batch(conn)
        begin.add("BEGIN")
        await begin.run()
        await conn.execute("DEALLOCATE ALL")
        batch = wire.Batch(conn)
        batch.add("select %s::int * 2", ["21"])
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            await batch.run()
        await wire.Batch(conn).rollback()
        names = await (await conn.execute("select count(*) from pg_prepared_statements "
                                          "where statement ilike any (array['begin%', 'commit%', 'rollback%'])"
                                          )).fetchone()
        return names[0]

    assert _run(shared_db_url, body) == 0, "BEGIN, COMMIT and ROLLBACK are never prepared"
