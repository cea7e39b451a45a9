"""Recurring jobs (sql/0030): aligned slots, one job per (schedule, slot) however many workers fire at once, missed
slots fired once, and `supakit jobs schedules`."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from functions_py.jobs import queue
from functions_py.jobs.registry import Job, JobContext, Registry
from functions_py.jobs.worker import Worker, WorkerConfig
from tests.cli import run_cli


def upsert(conn: psycopg.Connection, name: str, every: str, kind: str = "test.tick", **extra) -> datetime:
    return conn.execute("select internal.upsert_job_schedule(%s, %s, %s::interval, %s::jsonb)",
                        (name, kind, every, json.dumps(extra or {}))).fetchone()[0]


def test_slots_are_aligned_like_cron_and_redeclaring_a_schedule_keeps_its_next_slot(db):
    hourly = upsert(db, "report.hourly", "1 hour")
    daily = upsert(db, "report.daily", "1 day")
    now = db.execute("select now()").fetchone()[0]
    assert (hourly.minute, hourly.second, hourly.microsecond) == (0, 0, 0), "hourly fires on the hour"
    assert now < hourly <= now + timedelta(hours=1)
    assert daily.astimezone(UTC).time() == datetime.min.time(), "daily fires at midnight UTC"
    db.execute("update internal.job_schedules set next_run_at = next_run_at + interval '1 hour' where name = %s",
               ("report.hourly",))
    assert upsert(db, "report.hourly", "1 hour") == hourly + timedelta(hours=1), \
        "re-declaring an unchanged schedule (a deploy) does not move its next slot"
    assert upsert(db, "report.hourly", "30 minutes") <= now + timedelta(minutes=30), "a new interval applies at once"


def test_bad_schedules_are_refused_with_what_to_do(db):
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="at least 1 second"), db.transaction():
        upsert(db, "too.fast", "0 seconds")
    with pytest.raises(psycopg.errors.CheckViolation, match="kind_is_dotted_name"), db.transaction():
        upsert(db, "bad.kind", "1 hour", kind="Not A Kind")
    with pytest.raises(psycopg.errors.CheckViolation, match="every_has_no_months"), db.transaction():
        upsert(db, "monthly", "1 month")


def test_missed_slots_fire_once_for_the_latest_and_are_counted(db):
    upsert(db, "report.hourly", "1 hour")
    db.execute("update internal.job_schedules set next_run_at = next_run_at - interval '6 hours'")
    fired = db.execute("select schedule_name, slot, job_id from internal.fire_due_schedules()").fetchall()
    assert len(fired) == 1, "workers down for 5 slots: one job, not a burst of 6"
    name, slot, job_id = fired[0]
    row = db.execute("select next_run_at, last_slot, last_job_id, missed from internal.job_schedules").fetchone()
    assert row == (slot + timedelta(hours=1), slot, job_id, 5)
    payload, dedupe = db.execute("select payload, dedupe_key from internal.jobs where id = %s", (job_id,)).fetchone()
    assert payload["schedule"] == "report.hourly" and payload["slot"] == f"{slot.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    assert dedupe == f"schedule:report.hourly:{payload['slot']}"
    assert db.execute("select * from internal.fire_due_schedules()").fetchall() == [], "nothing more is due"


def test_a_slot_fired_already_enqueues_nothing_even_if_next_run_at_went_back(db):
    upsert(db, "report.hourly", "1 hour")
    db.execute("update internal.job_schedules set next_run_at = next_run_at - interval '1 hour'")
    assert len(db.execute("select * from internal.fire_due_schedules()").fetchall()) == 1
    db.execute("update internal.job_schedules set next_run_at = next_run_at - interval '1 hour'")
    assert db.execute("select * from internal.fire_due_schedules()").fetchall() == [], \
        "the firings' primary key (schedule, slot) refuses the second job"
    assert db.execute("select count(*) from internal.jobs where kind = 'test.tick'").fetchone()[0] == 1


def test_connections_racing_on_due_schedules_enqueue_exactly_one_job_per_slot(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for n in range(5):
            upsert(conn, f"race.{n}", "1 second")
    stop = time.monotonic() + 3.0
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                barrier.wait()
                while time.monotonic() < stop:
                    conn.execute("select * from internal.fire_due_schedules()")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        per_slot = conn.execute("""
            select payload ->> 'schedule', payload ->> 'slot', count(*) from internal.jobs
            where kind = 'test.tick' group by 1, 2""").fetchall()
        firings = conn.execute("select count(*) from internal.job_schedule_firings").fetchone()[0]
    assert len(per_slot) >= 10, "five schedules over three seconds fire many slots"
    assert all(count == 1 for _, _, count in per_slot), "exactly one job per (schedule, slot)"
    assert firings == len(per_slot)


def test_two_workers_racing_run_exactly_one_job_per_slot(fresh_db, caplog):
    caplog.set_level(logging.INFO, logger="functions_py.jobs.worker")
    runs: list[tuple[str, str]] = []
    registry = Registry()

    async def tick(job: Job, ctx: JobContext) -> dict:
        runs.append((job.payload["schedule"], job.payload["slot"]))
        return {}

    registry.register("test.tick", tick)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        upsert(conn, "tick.every_second", "1 second")

    async def main() -> None:
        workers = [Worker(fresh_db, registry, WorkerConfig(name=f"w{n}", poll_interval=0.1, reap_interval=0.05))
                   for n in range(2)]
        tasks = [asyncio.create_task(w.run()) for w in workers]
        await asyncio.sleep(4)
        for worker in workers:
            worker.request_stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)

    asyncio.run(main())
    fired = [r.fields for r in caplog.records if getattr(r, "fields", {}).get("event") == "schedule.fired"]
    assert len(runs) >= 3, "a schedule every second over four seconds"
    assert len(set(runs)) == len(runs), f"a slot ran twice: {sorted(runs)}"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        jobs = conn.execute("select count(*), count(distinct payload ->> 'slot') from internal.jobs"
                            " where kind = 'test.tick'").fetchone()
    assert jobs[0] == jobs[1] == len(fired), "each firing (by either worker) is one job of its own slot"
    assert len(runs) <= jobs[0]


def test_cli_lists_schedules_with_their_next_slot_and_last_job(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        upsert(conn, "report.hourly", "1 hour")
        upsert(conn, "report.daily", "1 day", kind="test.report")
        conn.execute("update internal.job_schedules set next_run_at = next_run_at - interval '1 hour'"
                     " where name = 'report.hourly'")
        job_id = conn.execute("select job_id from internal.fire_due_schedules()").fetchone()[0]
    listed = run_cli("jobs", "schedules", "--json", env={"DATABASE_URL": fresh_db})
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["report.hourly"]["last_job_id"] == job_id and rows["report.hourly"]["last_job_status"] == "queued"
    assert rows["report.daily"]["every"] == "1 day" and rows["report.daily"]["last_job_id"] is None
    text = run_cli("jobs", "schedules", "--kind", "test.report", env={"DATABASE_URL": fresh_db})
    assert "report.daily" in text.stdout and "report.hourly" not in text.stdout


def test_queue_api_reports_schedules_installed(fresh_db):
    async def check() -> bool:
        async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
            return await queue.schedules_installed(conn)

    assert asyncio.run(check())
