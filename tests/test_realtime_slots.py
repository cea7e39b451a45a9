"""What the local Realtime server's slots cost the database when nobody listens, and under a write load.

- The database-broadcast feed skips what it cannot deliver: with no member joined anywhere it moves its slot past
  the WAL without decoding it, and a member who joins afterwards gets what is committed from then on.
- The postgres_changes feed does the same while it has no subscription.
- The restart-point keeper writes a running-transactions record when a slot restarts too far behind the WAL, so a
  poll through the SQL interface re-decodes little (functions_py/realtime/slots.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from functions_py.realtime import slots
from functions_py.realtime.changes import ChangeFeed
from functions_py.realtime.messages import MessageFeed
from functions_py.realtime.slots import RestartPointKeeper

pytestmark = pytest.mark.slow

PUBLICATION = "supabase_realtime_messages_publication"


def run(scenario):
    return asyncio.run(asyncio.wait_for(scenario, 120))


async def slot_position(conn: psycopg.AsyncConnection, slot: str) -> tuple[int, int]:
    """(bytes the slot restarts behind the WAL, bytes its confirmed position is behind the WAL)."""
    cursor = await conn.execute(
        "select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), restart_lsn)::bigint,"
        " pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::bigint"
        " from pg_replication_slots where slot_name = %s", (slot,))
    return await cursor.fetchone()


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def send(conn: psycopg.AsyncConnection, topic: str, n: int) -> None:
    await conn.execute("select realtime.send(jsonb_build_object('n', %s::int), 'e', %s, false)", (n, topic))


def test_the_broadcast_feed_skips_what_nobody_can_receive_and_delivers_from_the_moment_someone_joins(fresh_db):
    async def scenario():
        delivered: list = []
        members: set[str] = set()
        feed = MessageFeed(fresh_db, delivered.append, wanted=lambda: bool(members))
        await feed.start()
        try:
            async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as writer:
                for n in range(5):
                    await send(writer, "room:1", n)
                end, = await (await writer.execute("select pg_current_wal_insert_lsn()::text")).fetchone()

                async def skipped_past_them() -> bool:
                    cursor = await writer.execute("select confirmed_flush_lsn >= %s::pg_lsn from pg_replication_slots"
                                                  " where slot_name = %s", (end, feed.slot))
                    return (await cursor.fetchone())[0]

                await until(skipped_past_them)
                assert feed.skipped >= 1 and delivered == [], "nobody joined: nothing decoded, nothing delivered"

                members.add("room:1")
                await send(writer, "room:1", 99)

                async def arrived() -> bool:
                    return bool(delivered)

                await until(arrived)
                await asyncio.sleep(0.2)
                assert [json.loads(m.payload_json)["n"] for m in delivered] == [99], \
                    "a member gets what is committed after joining, and none of what was skipped"
        finally:
            await feed.stop()

    run(scenario())


def test_the_changes_feed_moves_its_slot_along_without_decoding_while_nobody_subscribes(fresh_db):
    async def scenario():
        delivered: list = []

        async def deliver(deliveries) -> None:
            delivered.extend(data for _, data in deliveries)

        feed = ChangeFeed(fresh_db, deliver)
        await feed.start()
        try:
            async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as writer:
                await writer.execute("create table public.rts_items (id integer primary key)")
                await writer.execute("grant select on public.rts_items to service_role")
                await writer.execute("alter publication supabase_realtime add table public.rts_items")
                await writer.execute("insert into public.rts_items select g from generate_series(1, 200) as g")
                end, = await (await writer.execute("select pg_current_wal_insert_lsn()::text")).fetchone()

                async def forwarded_past_them() -> bool:
                    cursor = await writer.execute("select confirmed_flush_lsn >= %s::pg_lsn from pg_replication_slots"
                                                  " where slot_name = %s", (end, feed.slot))
                    return (await cursor.fetchone())[0]

                await until(forwarded_past_them)
                stats = feed.stats()
                assert stats["forwards"] >= 1 and stats["peeks"] == 0, stats

                await feed.add_subscription("late", role="service_role", claims={"role": "service_role"},
                                            binding={"event": "INSERT", "schema": "public", "table": "rts_items"})
                await writer.execute("insert into public.rts_items values (1000)")

                async def arrived() -> bool:
                    return bool(delivered)

                await until(arrived)
                assert [d["record"]["id"] for d in delivered] == [1000]
        finally:
            await feed.stop()

    run(scenario())


def test_the_keeper_lets_a_lagging_slot_restart_close_to_the_wal(fresh_db):
    slot = f"rts_{uuid.uuid4().hex[:8]}"

    async def scenario():
        async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as slot_conn, \
                await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as writer, \
                AsyncConnectionPool(fresh_db, min_size=1, max_size=1, open=False) as pool:
            await slot_conn.execute("select pg_create_logical_replication_slot(%s, 'pgoutput', true)", (slot,))
            keeper = RestartPointKeeper(pool, lambda: [None, slot])
            assert not await keeper.check_once(), "no lag yet: nothing written"

            await writer.execute("create table public.rts_filler (x text)")
            await writer.execute("insert into public.rts_filler select repeat('x', 500) from generate_series(1, 4000)")
            restart_before, _ = await slot_position(writer, slot)
            assert restart_before > slots.RESTART_LAG_BYTES

            assert await keeper.check_once() and keeper.snapshots == 1
            # the feeds flush before they decode (decoding through SQL stops at the flushed WAL); so does this test
            await writer.execute("select pg_logical_emit_message(false, 'rts', '', true)")
            await slot_conn.execute("select count(*) from pg_logical_slot_get_binary_changes(%s, null, null,"
                                    " 'proto_version', '1', 'publication_names', %s)", (slot, PUBLICATION))
            restart_after, _ = await slot_position(writer, slot)
            assert restart_after < slots.RESTART_LAG_BYTES < restart_before, (restart_before, restart_after)

    run(scenario())


def test_without_the_right_to_write_the_record_the_keeper_says_so_once_and_stops(fresh_db, caplog):
    role = f"rts_weak_{uuid.uuid4().hex[:8]}"
    slot = f"rts_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(f"create role {role} login")

    async def scenario():
        weak = psycopg.conninfo.make_conninfo(fresh_db, user=role)
        async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as admin, \
                AsyncConnectionPool(weak, min_size=1, max_size=1, open=False) as pool:
            await admin.execute("select pg_create_logical_replication_slot(%s, 'pgoutput', true)", (slot,))
            await admin.execute("create table public.rts_filler (x text)")
            await admin.execute("insert into public.rts_filler select repeat('x', 500) from generate_series(1, 4000)")
            with caplog.at_level(logging.INFO, logger="supakit.realtime"):
                await asyncio.wait_for(RestartPointKeeper(pool, lambda: [slot]).run(), 5)
        assert "not advancing the slots' restart point" in caplog.text

    try:
        run(scenario())
    finally:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(f"drop owned by {role}")
            conn.execute(f"drop role {role}")


def test_a_step_the_database_refuses_is_one_warning_line_and_the_reader_goes_on(fresh_db, caplog):
    """issue 17: a database error in a step is logged as its SQLSTATE and reason, not a traceback; the loop retries."""
    async def scenario():
        reader = slots.SlotReader(fresh_db, feed="test feed", purpose="test", publication=PUBLICATION,
                                  slot_prefix="rts_refused")
        calls = 0

        async def step() -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as other:
                    await other.execute("select * from no_such_table")
            elif calls == 2:
                raise asyncio.CancelledError

        await reader.open()
        try:
            with caplog.at_level(logging.INFO, logger="supakit.realtime"), pytest.raises(asyncio.CancelledError):
                await reader.run(step)
        finally:
            await reader.close()
        return reader.stats

    stats = run(scenario())
    refused = [r for r in caplog.records if "refused a step" in r.getMessage()]
    assert len(refused) == 1, caplog.text
    assert "42P01" in refused[0].getMessage() and 'relation "no_such_table" does not exist' in refused[0].getMessage()
    assert refused[0].levelno == logging.WARNING and refused[0].exc_info is None, "one line, no traceback"
    assert "lost the database" not in caplog.text
    assert stats["errors_total"] == 1 and stats["disconnects_total"] == 0
