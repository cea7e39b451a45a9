"""`supakit worker` as operators run it: real worker processes against a fresh database, observed through the
database and through each worker's JSON log lines on stderr."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from functions_py.errors import ConfigError
from functions_py.jobs import queue
from functions_py.jobs.registry import Job, JobContext, Registry
from functions_py.jobs.worker import Worker, WorkerConfig, event_loop_kind
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
# Fast cadences so the suite stays short: claims poll every 0.2 s, leases are renewed every lease/3.
FAST = ("--poll-interval", "0.2", "--reap-interval", "0.5")


class WorkerProcess:
    """One `supakit worker` process, its stderr in a file."""

    def __init__(self, url: str, log_path: Path, name: str, args: tuple[str, ...]) -> None:
        self.name = name
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPAKIT_", "DATABASE_URL"))}
        with log_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "worker", "--name", name, *args], cwd=ROOT,
                env={**env, "DATABASE_URL": url}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr)

    def lines(self) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines() if line.strip()]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines() if line.startswith("{")]

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        """The first log event matching `predicate`, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events():
                if predicate(event):
                    return event
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {self.name} (exit code {self.proc.poll()}) never logged the event "
                                     f"awaited; its log:\n" + "\n".join(self.lines()[-30:]))
            time.sleep(0.02)

    def wait_started(self, timeout: float = 15) -> None:
        self.wait_for(lambda e: e["event"] == "worker.started", timeout)

    def job_event(self, event: str, job_id: int, timeout: float = 10) -> dict[str, Any]:
        return self.wait_for(lambda e: e["event"] == event and e.get("job_id") == job_id, timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)


@pytest.fixture
def spawn_worker(fresh_db: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """spawn_worker(*options, name=...) -> a running worker on fresh_db; every one is killed at teardown."""
    workers: list[WorkerProcess] = []

    def spawn(*args: str, name: str | None = None) -> WorkerProcess:
        name = name or f"worker-{len(workers) + 1}"
        worker = WorkerProcess(fresh_db, tmp_path / f"{name}.log", name, args)
        workers.append(worker)
        return worker

    yield spawn
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.kill()
        worker.proc.wait(10)


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


def wait_until(check: Callable[[], Any], timeout: float = 15, interval: float = 0.02) -> Any:
    """The first truthy value of `check()`, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {check.__doc__ or check}"
        time.sleep(interval)
    return value


def job(conn: psycopg.Connection, job_id: int) -> dict[str, Any]:
    row = conn.execute("select status::text, attempts, error, lease_owner, extract(epoch from run_at - now()),"
                       " finished_at is not null from internal.jobs where id = %s", (job_id,)).fetchone()
    status, attempts, error, owner, run_in, finished = row
    return {"status": status, "attempts": attempts, "error": error, "lease_owner": owner,
            "run_in_s": float(run_in), "finished": finished}


def statuses(conn: psycopg.Connection) -> dict[str, int]:
    return dict(conn.execute("select status::text, count(*) from internal.jobs group by 1").fetchall())


@pytest.mark.slow
def test_each_job_runs_exactly_once_across_three_worker_processes(conn, spawn_worker):
    workers = [spawn_worker("--concurrency", "3", *FAST, name=f"w{n}") for n in range(3)]
    for worker in workers:
        worker.wait_started()
    with conn.transaction():  # one transaction, one wake-up for every worker
        ids = queue.enqueue_many(conn, "system.sleep", [{"seconds": 0.02}] * 150)
        ids += queue.enqueue_many(conn, "system.noop", [{}] * 150)

    def all_done() -> bool:
        """every job succeeded"""
        return statuses(conn) == {"succeeded": 300}

    wait_until(all_done, timeout=40)
    assert [worker.stop() for worker in workers] == [0, 0, 0], "graceful shutdown exits 0"

    events = [event for worker in workers for event in worker.events()]
    assert all(line.startswith("{") for worker in workers for line in worker.lines()), "stderr is JSON lines"
    started = Counter(e["job_id"] for e in events if e["event"] == "job.started")
    succeeded = Counter(e["job_id"] for e in events if e["event"] == "job.succeeded")
    assert set(started) == set(ids) and set(started.values()) == {1}, "every job started exactly once"
    assert set(succeeded) == set(ids) and set(succeeded.values()) == {1}, "every job succeeded exactly once"
    others = [e for e in events if e["event"].startswith("job.") and e["event"] not in ("job.started",
                                                                                        "job.succeeded")]
    assert others == [], "nothing was retried, lost, released or reaped"
    assert conn.execute("select count(*) from internal.jobs where status = 'succeeded' and attempts = 1"
                        " and lease_owner is null").fetchone()[0] == 300
    per_worker = Counter(e["worker"] for e in events if e["event"] == "job.succeeded")
    assert len(per_worker) == 3, f"all three workers took part: {dict(per_worker)}"
    fields = {"event", "job_id", "kind", "attempt", "duration_ms", "worker", "ts"}
    assert all(set(e) == fields for e in events if e["event"] in ("job.started", "job.succeeded")), \
        "job lines carry exactly the documented fields (never payloads or results)"


@pytest.mark.slow
def test_a_job_whose_worker_is_killed_is_finished_by_another_worker(conn, spawn_worker):
    options = ("--lease-seconds", "2", *FAST)
    doomed = spawn_worker(*options, name="doomed")
    doomed.wait_started()
    ids = queue.enqueue_many(conn, "system.sleep", [{"seconds": 4}] * 3)
    for job_id in ids:
        doomed.job_event("job.started", job_id)
    rescuer = spawn_worker(*options, name="rescuer")
    rescuer.wait_started()
    assert {job(conn, i)["lease_owner"] for i in ids} == {"doomed"}, "the jobs are still mid-run in the first worker"
    doomed.proc.kill()
    doomed.proc.wait(5)

    def finished() -> bool:
        """every job finished after the kill"""
        return statuses(conn) == {"succeeded": 3}

    wait_until(finished, timeout=20)
    for job_id in ids:
        row = job(conn, job_id)
        assert (row["status"], row["attempts"], row["lease_owner"]) == ("succeeded", 1, None), \
            "run a second time, by the rescuer, and finished: none lost, none stuck running; the crash was a " \
            "lease loss, not a spent attempt (sql/0016)"
        assert rescuer.job_event("job.succeeded", job_id)["attempt"] == 1
    assert not [e for e in doomed.events() if e["event"] == "job.succeeded"]
    reaped = {e["job_id"] for e in rescuer.events() if e["event"] == "job.reaped"}
    assert reaped == set(ids), "the rescuer's reaper put the dead worker's jobs back in the queue"


def test_cancelling_a_running_job_stops_it_within_a_second(conn, spawn_worker):
    worker = spawn_worker(*FAST)
    worker.wait_started()
    job_id = queue.enqueue(conn, "system.sleep", {"seconds": 30})
    worker.job_event("job.started", job_id)
    asked = time.monotonic()
    assert queue.cancel(conn, job_id) == "running", "a running job is asked to stop"

    def cancelled() -> bool:
        """the job is marked cancelled"""
        return job(conn, job_id)["status"] == "cancelled"

    wait_until(cancelled, timeout=5, interval=0.01)
    observed = time.monotonic() - asked
    assert observed < 1.0, f"the cancellation took {observed:.3f} s to be observed"
    assert worker.job_event("job.cancelled", job_id)["attempt"] == 1
    row = job(conn, job_id)
    assert (row["error"], row["finished"], row["lease_owner"]) == ("cancelled while running", True, None)
    assert worker.stop() == 0


def test_sigterm_lets_quick_jobs_finish_and_releases_the_rest(conn, spawn_worker):
    worker = spawn_worker("--concurrency", "2", "--shutdown-timeout", "2", *FAST)
    worker.wait_started()
    quick = queue.enqueue(conn, "system.sleep", {"seconds": 0.8})
    slow = queue.enqueue(conn, "system.sleep", {"seconds": 30})
    worker.job_event("job.started", quick)
    worker.job_event("job.started", slow)
    signalled = time.monotonic()
    assert worker.stop(signal.SIGTERM) == 0, "a graceful shutdown exits 0"
    took = time.monotonic() - signalled
    assert 1.5 < took < 4.5, f"waited for the 2 s deadline, no longer: {took:.2f} s"
    assert job(conn, quick)["status"] == "succeeded", "a job that finishes within the deadline completes"
    row = job(conn, slow)
    assert (row["status"], row["attempts"], row["lease_owner"]) == ("queued", 0, None), \
        "the rest go back to the queue without spending an attempt"
    assert row["run_in_s"] <= 0, "and may run again at once"
    assert worker.job_event("job.released", slow)["worker"] == worker.name
    assert worker.job_event("job.succeeded", quick)


def test_a_handler_that_exceeds_its_timeout_fails_the_attempt_retryably(conn, spawn_worker):
    worker = spawn_worker("--timeouts", "system.sleep=0.5", *FAST)
    worker.wait_started()
    job_id = queue.enqueue(conn, "system.sleep", {"seconds": 20})
    retry = worker.job_event("job.retry", job_id, timeout=10)
    assert retry["error"] == "timed out after 0.5 s" and 450 <= retry["duration_ms"] < 1500
    row = job(conn, job_id)
    assert (row["status"], row["attempts"], row["error"]) == ("queued", 1, "timed out after 0.5 s")
    assert 2.5 < row["run_in_s"] <= 6.25, "retried after the first backoff step (5 s +-25%)"
    assert worker.stop() == 0


def test_permanent_errors_fail_the_job_and_retryable_ones_back_off(conn, spawn_worker):
    worker = spawn_worker(*FAST)
    worker.wait_started()
    permanent = queue.enqueue(conn, "system.fail", {"permanent": True, "message": "card declined"})
    retryable = queue.enqueue(conn, "system.fail", {"permanent": False, "message": "provider overloaded"})
    assert worker.job_event("job.failed", permanent)["error"] == "card declined"
    assert worker.job_event("job.retry", retryable)["error"] == "provider overloaded"
    row = job(conn, permanent)
    assert (row["status"], row["attempts"], row["finished"]) == ("failed", 1, True), "no further attempts"
    row = job(conn, retryable)
    assert (row["status"], row["attempts"], row["finished"]) == ("queued", 1, False)
    assert 2.5 < row["run_in_s"] <= 6.25, "queued again after the first backoff step (5 s +-25%)"
    assert worker.stop(signal.SIGINT) == 0, "SIGINT shuts down gracefully too"


def test_retention_prunes_finished_jobs_beyond_the_keep_counts(conn, spawn_worker):
    worker = spawn_worker("--prune-interval", "0.3", "--keep-succeeded", "3", "--keep-failed", "1", *FAST)
    worker.wait_started()
    queue.enqueue_many(conn, "system.noop", [{}] * 8)
    queue.enqueue_many(conn, "system.fail", [{"permanent": True}] * 3)
    newest = queue.enqueue(conn, "system.noop")

    def pruned() -> dict[str, int] | None:
        """3 succeeded and 1 failed jobs left"""
        left = statuses(conn)
        return left if left == {"succeeded": 3, "failed": 1} else None

    wait_until(pruned, timeout=15)
    assert job(conn, newest)["status"] == "succeeded", "the newest finished jobs are the ones kept"
    assert sum(e["count"] for e in worker.events() if e["event"] == "jobs.pruned") == 8
    assert worker.stop() == 0


def run_in_process(url: str, registry: Registry, until: Callable[[], bool], timeout: float = 10,
                   **options: Any) -> None:
    """Run a Worker in this process until `until()` holds (checked from another connection), then stop it."""

    async def main() -> None:
        worker = Worker(url, registry, WorkerConfig(name="in-process", poll_interval=0.1, **options))
        running = asyncio.create_task(worker.run())
        deadline = time.monotonic() + timeout
        while not until():
            assert not running.done(), "the worker stopped on its own"
            assert time.monotonic() < deadline, f"timed out waiting for {until.__doc__}"
            await asyncio.sleep(0.05)
        worker.request_stop()
        await asyncio.wait_for(running, 15)

    asyncio.run(main())


def test_heartbeats_write_progress_and_only_registered_kinds_are_claimed(conn, fresh_db):
    registry = Registry()

    async def report(job: Job, ctx: JobContext) -> dict:
        ctx.set_progress({"step": 1, "of": 2})
        await asyncio.sleep(3)
        return {"done": True}

    registry.register("test.report", report)
    job_id = queue.enqueue(conn, "test.report")
    stranger = queue.enqueue(conn, "test.unknown")

    def progress_written() -> bool:
        """the handler's progress in the row"""
        return conn.execute("select progress from internal.jobs where id = %s", (job_id,)).fetchone()[0] == \
            {"step": 1, "of": 2}

    run_in_process(fresh_db, registry, progress_written, lease_seconds=1, shutdown_timeout=5)
    assert job(conn, job_id)["status"] == "succeeded", "a graceful stop lets the job finish"
    assert job(conn, stranger)["status"] == "queued", "a kind without a handler here is left for other workers"


def test_a_result_the_database_cannot_store_fails_the_job_instead_of_wedging_the_worker(conn, fresh_db):
    registry = Registry()

    async def nul(job: Job, ctx: JobContext) -> dict:
        return {"text": "a\x00b"}

    async def fine(job: Job, ctx: JobContext) -> dict:
        return {"ok": True}

    registry.register("test.nul", nul)
    registry.register("test.fine", fine)
    bad = queue.enqueue(conn, "test.nul")
    good = queue.enqueue_many(conn, "test.fine", [{}] * 5)

    def settled() -> bool:
        """every job finished"""
        return set(statuses(conn)) <= {"succeeded", "failed"}

    run_in_process(fresh_db, registry, settled)
    row = job(conn, bad)
    assert (row["status"], row["attempts"]) == ("failed", 1) and "NUL" in row["error"]
    assert {job(conn, i)["status"] for i in good} == {"succeeded"}


def test_a_worker_shows_in_the_roster_while_it_runs_and_is_marked_stopped_after(conn, fresh_db):
    if not conn.execute("select to_regprocedure('internal.worker_seen(text, text[], integer, boolean)')").fetchone()[0]:
        pytest.skip("this database has no worker roster (internal.worker_seen)")
    registry = Registry()

    async def noop(job: Job, ctx: JobContext) -> None:
        return None

    registry.register("test.noop", noop)

    def listed() -> bool:
        """the worker in internal.workers"""
        return conn.execute("select count(*) from internal.workers where name = 'in-process' and stopped_at is null"
                            " and kinds = array['test.noop']").fetchone()[0] == 1

    run_in_process(fresh_db, registry, listed)
    assert conn.execute("select stopped_at is not null from internal.workers where name = 'in-process'").fetchone() \
        == (True,), "a graceful stop is recorded"


def test_the_event_loop_is_uvloop_when_installed_and_the_stock_one_on_request():
    try:
        import uvloop  # noqa: F401
        installed = "uvloop"
    except ImportError:
        installed = "asyncio"
    assert event_loop_kind("auto") == installed
    assert event_loop_kind("asyncio") == "asyncio", "SUPAKIT_WORKER_LOOP=asyncio always gets the stock loop"
    with pytest.raises(ConfigError) as bad:
        event_loop_kind("tokio")
    assert "SUPAKIT_WORKER_LOOP" in bad.value.message and "auto, asyncio, uvloop" in bad.value.message


def test_a_bad_loop_setting_stops_the_worker_with_exit_2(fresh_db):
    result = run_cli("worker", env={"DATABASE_URL": fresh_db, "SUPAKIT_WORKER_LOOP": "tokio"}, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "SUPAKIT_WORKER_LOOP" in result.stderr


def test_finished_jobs_do_not_pile_up_in_the_timeout_sweep(conn, fresh_db):
    registry = Registry()
    seen: list[int] = []

    async def quick(job: Job, ctx: JobContext) -> dict:
        seen.append(job.id)
        return {}

    registry.register("test.quick", quick, timeout_s=300)
    queue.enqueue_many(conn, "test.quick", [{}] * 600)

    async def main() -> int:
        worker = Worker(fresh_db, registry, WorkerConfig(name="in-process", concurrency=20, poll_interval=0.1))
        running = asyncio.create_task(worker.run())
        deadline = time.monotonic() + 30
        while statuses(conn) != {"succeeded": 600}:
            assert time.monotonic() < deadline and not running.done()
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # a few sweeps
        pending = len(worker._deadlines)
        worker.request_stop()
        await asyncio.wait_for(running, 15)
        return pending

    pending = asyncio.run(main())
    assert len(seen) == 600
    assert pending <= 64, "600 jobs with a 300 s timeout finished; their deadlines must not be kept for 300 s"


def test_sigterm_stops_a_worker_promptly_when_its_database_is_gone(pg_server, fresh_db, spawn_worker):
    """With its database dropped under it, the worker's writes and roster update cannot succeed; a SIGTERM must
    still end it within the shutdown deadline and the connect timeout. (A stopped server, which this shared test
    server cannot be, made the final roster update wait the pool's 30 s before it was bounded; checked by hand.)"""
    worker = spawn_worker("--shutdown-timeout", "2", *FAST)
    worker.wait_started()
    pg_server.drop_database(psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"])
    worker.wait_for(lambda e: e["event"] == "worker.error", timeout=15)
    signalled = time.monotonic()
    worker.stop(signal.SIGTERM, timeout=60)
    took = time.monotonic() - signalled
    assert took < 15, f"a worker without its database must still stop promptly on SIGTERM: {took:.1f} s"


def test_the_worker_carries_on_when_its_database_connections_are_killed(conn, fresh_db):
    """The exchanges reuse a few warm connections outside the pool; a killed one is given back to the pool (which
    discards it) and the outcomes it carried are written again on a new one."""
    registry = Registry()

    async def noop(job: Job, ctx: JobContext) -> None:
        return None

    registry.register("test.noop", noop)
    first = queue.enqueue_many(conn, "test.noop", [{}] * 20)
    second: list[int] = []

    def all_succeeded(ids) -> bool:
        return conn.execute("select count(*) from internal.jobs where id = any(%s) and status = 'succeeded'",
                            (ids,)).fetchone()[0] == len(ids)

    def done_after_a_kill() -> bool:
        """every job succeeded, before and after the worker's connections were killed"""
        if not second:
            if not all_succeeded(first):
                return False
            killed = conn.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                                  " where application_name like 'supakit worker%%'"
                                  " and datname = current_database()").fetchone()[0]
            assert killed >= 2, "the listener and at least one exchange connection"
            second.extend(queue.enqueue_many(conn, "test.noop", [{}] * 20))
            return False
        return all_succeeded(second)

    run_in_process(fresh_db, registry, done_after_a_kill, timeout=30)
    assert conn.execute("select count(*) from internal.jobs where id = any(%s) and attempts = 1",
                        (first + second,)).fetchone()[0] == 40, "each job ran once"


def test_results_are_stored_exactly_whatever_they_hold(conn, fresh_db):
    """Results travel as a binary text[] (no array-literal quoting); a batch with no result at all as one NULL."""
    results = [{"text": 'a "quoted" \\ back\\slash, {braces}, comma, é, 🚀'}, ["x", 1, None], 42, "plain", None,
               {"nested": {"deep": [1.5, True]}}]
    registry = Registry()

    async def echo(job: Job, ctx: JobContext) -> Any:
        return results[job.payload["i"]]

    registry.register("test.echo", echo)
    ids = queue.enqueue_many(conn, "test.echo", [{"i": i} for i in range(len(results))])
    quiet = queue.enqueue_many(conn, "test.echo", [{"i": 4}] * 3)  # None only

    def settled() -> bool:
        """every job succeeded"""
        return conn.execute("select count(*) from internal.jobs where status = 'succeeded'").fetchone()[0] == \
            len(ids) + len(quiet)

    run_in_process(fresh_db, registry, settled, batch_size=len(results) + 3)
    stored = dict(conn.execute("select id, result from internal.jobs where id = any(%s)", (ids + quiet,)).fetchall())
    assert [stored[i] for i in ids] == results
    assert [stored[i] for i in quiet] == [None, None, None]


@pytest.mark.slow
def test_workers_killed_under_load_lose_no_job_and_spend_no_attempt(conn, spawn_worker):
    """issue 20 item 2: kill -9 one worker after another while they hold jobs. Every job still succeeds, on its first
    handler attempt (max_attempts 1: a crash that spent an attempt would fail the job), and each crash shows as a
    lease loss."""
    options = ("--lease-seconds", "2", "--concurrency", "4", *FAST)
    ids = queue.enqueue_many(conn, "system.sleep", [{"seconds": 0.3}] * 60, max_attempts=1)
    survivor = spawn_worker(*options, name="survivor")
    victims = 4
    for n in range(victims):
        victim = spawn_worker(*options, name=f"victim-{n}")
        victim.wait_for(lambda e: e["event"] == "job.started", timeout=20)  # it holds jobs now
        victim.proc.kill()
        victim.proc.wait(5)

    def all_done() -> bool:
        """every job finished"""
        return conn.execute("select count(*) from internal.jobs where id = any(%s) and finished_at is not null",
                            (ids,)).fetchone()[0] == len(ids)

    wait_until(all_done, timeout=90, interval=0.1)
    rows = conn.execute("select status::text, attempts from internal.jobs where id = any(%s)", (ids,)).fetchall()
    assert Counter(status for status, _ in rows) == {"succeeded": len(ids)}, "none lost, none failed"
    assert {attempts for _, attempts in rows} == {1}, "no crash spent a handler attempt"
    losses, = conn.execute("select sum(lease_losses) from internal.jobs where id = any(%s)", (ids,)).fetchone()
    assert losses >= victims, "each victim held at least one job when it died: a lease loss each"
    assert survivor.stop() == 0


def test_a_database_restart_under_a_running_worker_loses_no_job(pg_server, conn, fresh_db, spawn_worker):
    """issue 20 item 8: the embedded database stopped and started under `supakit worker`. Jobs in flight and jobs
    enqueued while it was down all succeed, none twice-failed or lost; the worker reconnects (listener, pool,
    exchanges) and picks up new work by NOTIFY again."""
    if pg_server.embedded is None:
        pytest.skip("needs the embedded test server (it is stopped and started)")
    worker = spawn_worker("--lease-seconds", "2", "--concurrency", "4", *FAST)
    worker.wait_started()
    before = queue.enqueue_many(conn, "system.sleep", [{"seconds": 0.2}] * 40, max_attempts=1)
    worker.job_event("job.succeeded", before[0], timeout=20)
    conn.close()
    pg_server.embedded.stop()
    worker.wait_for(lambda e: e["event"] == "worker.error", timeout=20)
    pg_server.embedded.start()
    with psycopg.connect(fresh_db, autocommit=True) as again:
        worker.wait_for(lambda e: e["event"] == "worker.listening", timeout=30)  # the listener is back
        after = queue.enqueue_many(again, "system.sleep", [{"seconds": 0.01}] * 20, max_attempts=1)
        ids = before + after

        def all_done() -> bool:
            """every job finished after the restart"""
            return again.execute("select count(*) from internal.jobs where id = any(%s) and finished_at is not null",
                                 (ids,)).fetchone()[0] == len(ids)

        wait_until(all_done, timeout=60, interval=0.1)
        rows = again.execute("select status::text, count(*) from internal.jobs where id = any(%s) group by 1",
                             (ids,)).fetchall()
    assert dict(rows) == {"succeeded": len(ids)}, "no job lost or failed across the restart"
    assert worker.proc.poll() is None, "the worker rode it out"
    assert worker.stop() == 0


def test_stopping_the_loops_survives_a_lost_cancellation():
    """Python 3.11's asyncio.wait_for can swallow a cancellation (psycopg_pool waits for a connection with it); a
    worker's loop that lost one ran on and the worker never finished stopping. stop_tasks cancels again."""
    from functions_py.jobs.worker import stop_tasks

    async def main() -> tuple[int, float]:
        swallowed = 0

        async def stubborn_loop() -> None:
            nonlocal swallowed
            while True:
                try:
                    await asyncio.sleep(0.01)
                except asyncio.CancelledError:
                    if swallowed == 0:  # what a lost cancellation looks like from the loop's side
                        swallowed += 1
                        continue
                    raise

        task = asyncio.create_task(stubborn_loop())
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await asyncio.wait_for(stop_tasks([task]), 5)
        assert task.cancelled()
        return swallowed, time.monotonic() - started

    swallowed, took = asyncio.run(main())
    assert swallowed == 1, "the first cancellation was lost"
    assert took < 3
