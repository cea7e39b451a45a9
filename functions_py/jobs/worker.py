"""The worker runtime: claims jobs from the queue and runs their handlers, `concurrency` at a time.

One asyncio process, four loops sharing a psycopg pool:

- the dispatcher writes finished jobs and claims new ones in one pipelined transaction (the acks of batch k ride
  with the claim of batch k+1; up to MAX_EXCHANGES such round trips in flight); it claims only when slots are
  free, only kinds with a handler, and once the queue is found dry it waits for a NOTIFY on `supakit_jobs` or
  the poll interval;
- the listener holds a dedicated connection LISTENing on `supakit_jobs` (wake-up hints) and
  `supakit_jobs_cancel` (stop a running job now);
- the heartbeat renews every in-flight lease in one call every lease/3, writes `ctx.progress`, stops jobs whose
  cancellation was requested, and stops without a word jobs whose lease was lost (reaped: another worker owns
  them now);
- maintenance reaps expired leases (any worker does it; crashed workers' jobs go back to the queue) and prunes
  finished jobs (retention).

Shutdown (SIGTERM/SIGINT, or `request_stop()`): stop claiming, let in-flight jobs finish within
`shutdown_timeout`, then cancel the rest and release them (the attempt is not counted). A second signal cuts the
wait short. A worker killed outright loses nothing: its leases expire and a reaper requeues the jobs.

Every job transition is logged as exactly one JSON line (`JsonLogFormatter`), never with payloads or results.
The lines of one exchange (its outcomes written, its jobs started) are rendered directly and handed to logging as
one record, written and flushed once, in the same event-loop turn as the database answer: at thousands of jobs a
second a LogRecord, a json.dumps and a flush per line was the worker's largest cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import itertools
import json
import logging
import os
import random
import re
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from functions_py import config
from functions_py.db import CONNECT_TIMEOUT_S, async_pool, connect_async, describe_target, redact
from functions_py.errors import ConfigError, DatabaseUnavailable
from functions_py.jobs import queue
from functions_py.jobs.queue import Finished
from functions_py.jobs.registry import Handler, Job, JobContext, PermanentJobError, Registry, RetryableJobError

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 2.0  # how long a stopped handler may take to unwind before the worker moves on without it
FLUSH_TIMEOUT_S = 5.0  # at shutdown, how long the last writes may take before leases are left to expire
LOG_ERROR_MAX_CHARS = 500
RETRY_PAUSE_MAX_S = 5.0  # the longest pause between attempts to reach an unreachable database
JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # a \u0000 escape (not an escaped backslash + "u0000")
EVENT_LEVELS = {"job.retry": logging.WARNING, "job.lost": logging.WARNING, "job.failed": logging.ERROR,
                "worker.error": logging.WARNING}
# Claim/ack round trips in flight at once: while one is at the database, the jobs of the other run. Helps only
# when the batch size is below the concurrency (e.g. half of it).
MAX_EXCHANGES = 2
GC_YOUNG_THRESHOLD = 20_000  # allocations between collections of the youngest generation (Python's default: 700)
STOP_RETRY_S = 0.5  # at shutdown, how long a cancelled loop may take to end before it is cancelled again
TIMEOUT_TICK_S = 0.05  # how often handler timeouts are checked (one sweep for all jobs, not a timer per job)


def default_name() -> str:
    """`<hostname>:<pid>`, unique enough among the workers sharing a database."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker runs. `kinds` None means every kind the registry has a handler for; `batch_size` None means
    `concurrency`; `timeouts` overrides handlers' own timeout per kind; `prune_interval` 0 turns retention off."""

    name: str = field(default_factory=default_name)
    kinds: tuple[str, ...] | None = None
    concurrency: int = 3
    batch_size: int | None = None
    lease_seconds: int = 30
    poll_interval: float = 1.0
    shutdown_timeout: float = 10.0
    reap_interval: float = 5.0
    prune_interval: float = 60.0
    keep_succeeded: int = 100
    keep_failed: int = 500
    timeouts: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checks = [
            (self.concurrency >= 1, "concurrency must be at least 1"),
            (self.batch_size is None or self.batch_size >= 1, "batch size must be at least 1"),
            (self.lease_seconds >= 1, "the lease must be at least 1 second"),
            (self.poll_interval > 0, "the poll interval must be positive"),
            (self.shutdown_timeout >= 0, "the shutdown timeout cannot be negative"),
            (self.reap_interval > 0, "the reap interval must be positive"),
            (self.prune_interval >= 0, "the prune interval cannot be negative (0 turns retention off)"),
            (self.keep_succeeded >= 0 and self.keep_failed >= 0, "keep counts cannot be negative"),
            (all(t > 0 for t in self.timeouts.values()), "handler timeouts must be positive"),
            (bool(self.name), "the worker name cannot be empty"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"{message}; fix the worker option (see `supakit worker --help`).")

    @property
    def claim_batch(self) -> int:
        return self.batch_size or self.concurrency


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line. Records logged with `extra={"fields": {...}}` render those fields (job and worker
    events); any other record renders as {"event": "log", "level", "logger", "message"}."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "lines", None) is not None:  # job transitions rendered by the worker, one line each
            return record.getMessage()
        fields = getattr(record, "fields", None)
        if fields is None:
            fields = {"event": "log", "level": record.levelname.lower(), "logger": record.name,
                      "message": record.getMessage()}
            if record.exc_info:
                fields["error"] = self.formatException(record.exc_info)
        return json.dumps({"ts": round(record.created, 3), **fields}, default=str)


def _describe(error: BaseException) -> str:
    """A failure as the job's error: our job errors by their message, anything else with its type."""
    if isinstance(error, PermanentJobError | RetryableJobError):
        return error.message
    if isinstance(error, psycopg.Error):  # the primary message only: DETAIL and CONTEXT may quote row data
        text = (error.diag.message_primary or str(error).strip().split("\n")[0]).strip()
        return f"{type(error).__name__}: {text}"
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass(eq=False, slots=True)
class _Deadline:
    """The jobs of one claimed batch that share a timeout, and how many of them have not settled yet."""

    entries: list[_Running] = field(default_factory=list)
    live: int = 0


@dataclass(eq=False, slots=True)
class _Running:
    """A job this worker runs: its handler task, when it started, and why it is being stopped (if it is)."""

    job: Job
    handler: Handler
    ctx: JobContext
    started: float  # loop time
    lease_deadline: float  # loop time after which the lease has certainly expired unless renewed
    timeout_s: float
    deadline: _Deadline
    task: asyncio.Task | None = None
    stop_reason: str | None = None  # cancelled | lost | shutdown | timeout
    settled: bool = False  # its outcome has been handed on (normally when the task ends; see _abandon)

    def stop(self, reason: str) -> bool:
        """Cancel the handler for `reason` (the first reason wins); False when it was already stopping."""
        if self.stop_reason is not None or self.settled:
            return False
        self.stop_reason = reason
        if self.task is not None:
            self.task.cancel()
        return True

    def elapsed_ms(self, now: float) -> int:
        return int((now - self.started) * 1000)


class Worker:
    """Runs jobs of `registry`'s kinds from the queue at `database_url` until asked to stop."""

    def __init__(self, database_url: str, registry: Registry, config: WorkerConfig | None = None) -> None:
        self.url = database_url
        self.registry = registry
        self.config = config or WorkerConfig()
        self.name = self.config.name
        known = registry.kinds
        if self.config.kinds is not None:
            unknown = sorted(set(self.config.kinds) - set(known))
            if unknown:
                raise ConfigError(f"no handler for job kind(s) {', '.join(unknown)}; registered kinds: "
                                  f"{', '.join(known) or 'none'}. Fix --kinds.")
            self.kinds = sorted(set(self.config.kinds))
        else:
            self.kinds = known
        if not self.kinds:
            raise ConfigError("no job handlers are registered, so the worker has nothing to run; "
                              "import the handler modules before starting it.")
        self._pool: AsyncConnectionPool | None = None
        self._warm: list[psycopg.AsyncConnection] = []  # the exchanges' connections, reused last-in first-out
        self._running: dict[int, _Running] = {}
        self._finished: list[Finished] = []  # outcomes waiting for the dispatcher to write them
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._listening = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._hurry = asyncio.Event()
        self._stopping = False  # no more claims
        self._cutoff = False  # the shutdown deadline passed: anything still running is released
        self._dry = False  # the last claim found fewer jobs than asked: wait for a hint or the poll interval
        self._hints = 0  # wake-up hints seen (NOTIFY, reaped jobs, listener reconnects)
        self._exchanges = 0  # claim/ack round trips in flight
        self._exchange_tasks: set[asyncio.Task] = set()
        self._reserved = 0  # slots the claims in flight may fill
        self._failures = 0  # consecutive failed round trips
        self._paused_until = 0.0  # after a failed round trip, wait before the next
        self._roster = False  # the database records worker presence (internal.worker_seen)
        self._schedules = False  # the database has recurring schedules (internal.fire_due_schedules, sql/0030)
        # handler timeouts, a heap swept every tick: one entry per claimed batch and timeout, not per job
        self._deadlines: list[tuple[float, int, _Deadline]] = []
        self._sequence = itertools.count()
        self._log_lines: list[str] = []  # job transition lines not yet handed to logging (this loop turn's)
        self._log_level = logging.NOTSET  # the highest level among them
        self._line_end = f', "worker": {json.dumps(self.name)}'  # every job line ends with the worker's name

    # -- public ---------------------------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Begin a graceful shutdown; asked a second time, stop waiting for in-flight jobs."""
        if self._stop_requested.is_set():
            self._hurry.set()
            self._event("worker.hurry", in_flight=len(self._running))
        else:
            self._stop_requested.set()

    async def run(self, *, install_signal_handlers: bool = False) -> None:
        """Run until `request_stop()` (or SIGTERM/SIGINT when `install_signal_handlers`), then shut down
        gracefully. Raises DatabaseUnavailable when the database cannot be reached at start."""
        loop = asyncio.get_running_loop()
        await self._check_database()
        self._pool = async_pool(self.url, application_name="supakit worker", min_size=2,
                                max_size=self.config.concurrency + 4, name=f"worker {self.name}")
        try:
            await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
        except psycopg.OperationalError as error:
            await self._pool.close()
            raise DatabaseUnavailable(
                f"the worker cannot connect to the database at {describe_target(self.url)}; check DATABASE_URL "
                "(or --database-url), or start the embedded database with `supakit db start`.") from error
        loops: list[asyncio.Task] = []
        signals = (signal.SIGTERM, signal.SIGINT) if install_signal_handlers else ()
        try:
            for sig in signals:
                loop.add_signal_handler(sig, self.request_stop)
            loops = [asyncio.create_task(coro, name=f"worker-{coro.__name__}") for coro in (
                self._listen_loop(), self._heartbeat_loop(), self._maintenance_loop(), self._timeout_loop())]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), CONNECT_TIMEOUT_S * 2)
            await self._seen()
            dispatcher = asyncio.create_task(self._dispatch_loop(), name="worker-dispatch")
            self._event("worker.started", kinds=self.kinds, concurrency=self.config.concurrency,
                        loop=type(loop).__module__.split(".")[0],
                        batch_size=self.config.claim_batch, lease_seconds=self.config.lease_seconds,
                        listening=self._listening.is_set())
            stop = asyncio.create_task(self._stop_requested.wait())
            done, _ = await asyncio.wait({stop, dispatcher, *loops}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            crashed = next((t for t in done if t is not stop and not t.cancelled() and t.exception()), None)
            await self._shutdown(dispatcher)
            await self._seen(stopping=True)
            if crashed is not None:
                raise crashed.exception()  # a bug, not a database hiccup: those are retried inside the loops
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            await stop_tasks(loops)
            while self._warm:
                await self._pool.putconn(self._warm.pop())
            await self._pool.close()
        self._event("worker.stopped")

    async def _check_database(self) -> None:
        """Fail fast, with the reason, when the database is unreachable or lacks the queue."""
        try:
            conn = await connect_async(self.url, application_name="supakit worker")
        except psycopg.Error as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "no reason given"
            raise DatabaseUnavailable(
                f"the worker cannot connect to the database at {describe_target(self.url)}: {reason}. Check "
                "DATABASE_URL (or --database-url), or start the embedded database with `supakit db start`.",
                url=redact(self.url)) from error
        async with conn:
            if not await queue.queue_installed(conn):
                raise queue.QueueMissing()
            self._roster = await queue.worker_roster_installed(conn)
            self._schedules = await queue.schedules_installed(conn)

    async def _seen(self, *, stopping: bool = False) -> None:
        """Tell the roster this worker is alive (or stopped); a failure only costs a missed sighting."""
        if not self._roster:
            return
        try:  # bounded: a worker whose database is gone must not wait the pool's 30 s to stop
            async with self._pool.connection(timeout=CONNECT_TIMEOUT_S) as conn:
                await queue.worker_seen(conn, worker=self.name, kinds=self.kinds,
                                        concurrency=self.config.concurrency, stopping=stopping)
        except psycopg.Error as error:
            self._event("worker.error", error=f"roster: {_describe(error)}"[:500])

    # -- shutdown -------------------------------------------------------------------------------------------------

    async def _shutdown(self, dispatcher: asyncio.Task) -> None:
        self._stopping = True
        self._wake.set()
        self._event("worker.stopping", in_flight=len(self._running), timeout_s=self.config.shutdown_timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.shutdown_timeout
        hurry = asyncio.create_task(self._hurry.wait())
        if self._exchange_tasks:  # claims in flight: their jobs get the same chance to finish
            await asyncio.wait({*self._exchange_tasks, hurry}, timeout=self.config.shutdown_timeout)
        if self._running and not hurry.done():
            idle = asyncio.create_task(self._idle.wait())
            await asyncio.wait({idle, hurry}, timeout=max(0.0, deadline - loop.time()),
                               return_when=asyncio.FIRST_COMPLETED)
            idle.cancel()
        hurry.cancel()
        self._cutoff = True
        for entry in list(self._running.values()):
            self._stop(entry, "shutdown")
        self._wake.set()
        if not dispatcher.done():
            # The dispatcher returns once every job has settled (handlers get CANCEL_GRACE_S to unwind) and the
            # outcomes are written; leases of anything it could not write simply expire.
            done, _ = await asyncio.wait({dispatcher}, timeout=CANCEL_GRACE_S + FLUSH_TIMEOUT_S)
            if not done:
                self._event("worker.error", error="shutdown: could not write every outcome in time; the leases "
                            "left will expire and the reaper will requeue those jobs")
                await stop_tasks([dispatcher])

    # -- dispatcher: write outcomes, claim ------------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                free = self.config.concurrency - len(self._running) - self._reserved
                if self._exchanges < MAX_EXCHANGES and loop.time() >= self._paused_until:
                    want = 0 if (self._stopping or self._dry) else min(self.config.claim_batch, free)
                    if self._finished or want > 0:
                        batch, self._finished = self._finished, []
                        self._exchanges += 1
                        self._reserved += want
                        task = asyncio.create_task(self._exchange(batch, want))
                        self._exchange_tasks.add(task)
                        task.add_done_callback(self._exchange_tasks.discard)
                        continue
                if self._stopping and not self._running and not self._finished and not self._exchanges:
                    return
                timeout = None
                if self._paused_until > loop.time():
                    timeout = self._paused_until - loop.time()
                elif not self._stopping and free > 0 and self._exchanges < MAX_EXCHANGES:
                    timeout = self.config.poll_interval
                # A timer that sets the event, rather than wait_for: no task per wake-up on the NOTIFY path.
                timer = loop.call_later(timeout, self._poll_due) if timeout is not None else None
                await self._wake.wait()
                if timer is not None:
                    timer.cancel()
                self._wake.clear()
        finally:
            for task in self._exchange_tasks:
                task.cancel()

    def _poll_due(self) -> None:
        self._dry = False
        self._wake.set()

    async def _exchange(self, batch: list[Finished], want: int) -> None:
        """One round trip: write `batch`, claim up to `want` jobs, start them."""
        loop = asyncio.get_running_loop()
        hints = self._hints
        sent = loop.time()
        # The same few connections every time, not the pool's least recently used one: their backends stay warm
        # (caches, prepared statements), which takes ~0.3 ms off an idle worker's commit -> handler latency.
        conn, warm = None, False
        try:
            conn = self._warm.pop() if self._warm else await self._pool.getconn()
            answer = await queue.finish_and_claim(conn, batch, worker=self.name, claim=want, kinds=self.kinds,
                                                  lease_seconds=self.config.lease_seconds)
            warm = True
        except Exception as error:  # whatever it is, outcomes must not be dropped silently
            self._failures += 1
            self._paused_until = loop.time() + min(self.config.poll_interval * self._failures, RETRY_PAUSE_MAX_S)
            self._event("worker.error", error=f"claim/ack failed, retrying: {_describe(error)}"[:500])
            if isinstance(error, psycopg.OperationalError) or not batch:
                self._finished.extend(batch)  # the database is unreachable: try again after the pause
            else:
                # The database refused the statement: one outcome must be poisoned; write them one by one so the
                # others go through.
                self._finished.extend(await self._write_one_by_one(batch))
            return
        finally:
            if conn is not None:
                if warm:
                    self._warm.append(conn)
                else:  # failed or cancelled: the pool rolls it back, or discards it when broken
                    await self._pool.putconn(conn)
            self._exchanges -= 1
            self._reserved -= want
            self._wake.set()
        self._failures = 0
        self._report(batch, answer)
        self._start(answer.claimed, lease_from=sent)
        if want and len(answer.claimed) < want and self._hints == hints:
            self._dry = True

    async def _write_one_by_one(self, batch: Sequence[Finished]) -> list[Finished]:
        """Write each outcome in its own transaction; returns those to retry (the database was unreachable). One
        the database refuses is given up: its lease expires and the reaper requeues the job."""
        retry: list[Finished] = []
        pending = list(batch)
        while pending:
            item = pending.pop(0)
            try:
                async with self._pool.connection() as conn:
                    answer = await queue.finish_and_claim(conn, [item], worker=self.name, claim=0, kinds=self.kinds,
                                                          lease_seconds=self.config.lease_seconds)
            except psycopg.OperationalError:
                retry.append(item)
            except Exception as error:  # refused by the database (or a bug)
                if item.outcome == "succeeded":  # most likely its result: fail the job, saying why
                    pending.append(Finished(item.job, "failed", retryable=False, duration_ms=item.duration_ms,
                                            error=f"the handler's result cannot be stored: {_describe(error)}"))
                    continue
                self._job_event("job.lost", item.job, item.duration_ms,
                                f"its outcome ({item.outcome}) could not be written: {_describe(error)}; "
                                "the lease will expire and the job will be retried")
            else:
                self._report([item], answer)
        return retry

    def _start(self, jobs: Sequence[Job], *, lease_from: float) -> None:
        if not jobs:
            return
        loop = asyncio.get_running_loop()
        now, ts = loop.time(), _timestamp()  # one clock reading for the batch's entries and log lines
        lease_deadline = lease_from + self.config.lease_seconds
        timeouts, pool, name, running = self.config.timeouts, self._pool, self.name, self._running
        by_timeout: dict[float, _Deadline] = {}
        for job in jobs:
            handler = self.registry.get(job.kind)
            if handler is None:  # cannot happen: claims ask only for registered kinds
                self._finished.append(Finished(job, "failed", error=f"no handler for kind {job.kind}",
                                               retryable=False))
                continue
            timeout_s = timeouts.get(job.kind, handler.timeout_s)
            deadline = by_timeout.get(timeout_s)
            if deadline is None:
                deadline = by_timeout[timeout_s] = _Deadline()
            entry = _Running(job, handler, JobContext(pool, name), now, lease_deadline, timeout_s, deadline)
            deadline.entries.append(entry)
            deadline.live += 1
            running[job.id] = entry
            self._job_event("job.started", job, None, ts=ts)
            entry.task = task = loop.create_task(self._call(entry))
            task.add_done_callback(lambda _, entry=entry: self._settle(entry))
            if self._cutoff:  # claimed while shutting down past the deadline: give it straight back
                self._stop(entry, "shutdown")
        if running:
            self._idle.clear()
        for timeout_s, deadline in by_timeout.items():
            heapq.heappush(self._deadlines, (now + timeout_s, next(self._sequence), deadline))

    @staticmethod
    async def _call(entry: _Running) -> Any:
        return await entry.handler.func(entry.job, entry.ctx)

    def _stop(self, entry: _Running, reason: str) -> None:
        """Stop a running job's handler; if it does not unwind within CANCEL_GRACE_S, settle without it."""
        if entry.stop(reason):
            asyncio.get_running_loop().call_later(CANCEL_GRACE_S, self._abandon, entry)

    def _abandon(self, entry: _Running) -> None:
        if not entry.settled:
            self._event("worker.error", job_id=entry.job.id, kind=entry.job.kind,
                        error=f"the handler ignored cancellation ({entry.stop_reason}) for {CANCEL_GRACE_S} s; "
                              "moving on without it")
            self._settle(entry, abandoned=True)

    def _settle(self, entry: _Running, *, abandoned: bool = False) -> None:
        """The handler ended (or was given up on): turn what happened into an outcome for the dispatcher."""
        if entry.settled:
            return
        entry.settled = True
        entry.deadline.live -= 1
        job, task = entry.job, entry.task
        duration = entry.elapsed_ms(asyncio.get_running_loop().time())
        if self._running.get(job.id) is entry:
            del self._running[job.id]
        if not self._running:
            self._idle.set()
        reason = entry.stop_reason
        ran_to_the_end = task is not None and task.done() and not task.cancelled() and task.exception() is None
        if ran_to_the_end:
            # It finished before the stop took effect: its result stands (a lost lease shows when writing it).
            result = task.result()
            try:
                # {} (a handler with nothing to report) is the common result: no encoder call for it
                text = None if result is None else "{}" if type(result) is dict and not result else json.dumps(result)
                if text is not None and "\\u0000" in text and JSON_NUL.search(text):
                    raise ValueError("it holds a NUL character (\\u0000), which PostgreSQL's jsonb cannot store")
            except (TypeError, ValueError) as error:
                outcome = Finished(job, "failed", error=f"the handler's result cannot be stored: {error}",
                                   retryable=False, duration_ms=duration)
            else:
                outcome = Finished(job, "succeeded", result=text, duration_ms=duration)
        elif reason == "lost":
            self._job_event("job.lost", job, duration, "the lease expired (the job was reaped); another worker "
                            "may run it")
            self._wake.set()
            return
        elif reason == "cancelled":
            outcome = Finished(job, "cancelled", duration_ms=duration)
        elif reason == "shutdown":
            outcome = Finished(job, "released", duration_ms=duration)
        elif reason == "timeout":
            outcome = Finished(job, "failed", error=f"timed out after {entry.timeout_s:g} s", retryable=True,
                               duration_ms=duration)
        elif abandoned or task is None or task.cancelled():
            outcome = Finished(job, "failed", error="the handler was cancelled", retryable=True,
                               duration_ms=duration)
        else:
            error = task.exception()
            outcome = Finished(job, "failed", error=_describe(error),
                               retryable=not isinstance(error, PermanentJobError), duration_ms=duration)
        self._finished.append(outcome)
        self._wake.set()

    def _report(self, batch: Sequence[Finished], answer: queue.Exchange) -> None:
        """One log line per written outcome; an outcome the database did not take means the lease was lost."""
        lost = "the lease was no longer held (the job was reaped); another worker may run it"
        ts = _timestamp()
        for item in batch:
            job, ms = item.job, item.duration_ms
            if item.outcome == "succeeded":
                took = job.id in answer.completed
                self._job_event("job.succeeded" if took else "job.lost", job, ms, None if took else lost, ts=ts)
            elif item.outcome == "cancelled":
                took = job.id in answer.cancelled
                self._job_event("job.cancelled" if took else "job.lost", job, ms, None if took else lost, ts=ts)
            elif item.outcome == "released":
                took = job.id in answer.released
                self._job_event("job.released" if took else "job.lost", job, ms, None if took else lost, ts=ts)
            else:
                status = answer.failed.get(job.id)
                event = {"queued": "job.retry", "failed": "job.failed"}.get(status or "", "job.lost")
                self._job_event(event, job, ms, item.error if status else f"{lost}; failure was: {item.error}",
                                ts=ts)

    # -- listener -------------------------------------------------------------------------------------------------

    def _hint(self) -> None:
        self._hints += 1
        self._dry = False
        self._wake.set()

    def _cancel_requested(self, payload: str) -> None:
        try:
            job_id = int(payload)
        except ValueError:
            return
        entry = self._running.get(job_id)
        if entry is not None:
            self._stop(entry, "cancelled")

    async def _listen_loop(self) -> None:
        failures = 0
        while True:
            try:
                conn = await connect_async(self.url, application_name="supakit worker listener")
                async with conn:
                    await conn.execute(queue.jobs_listen)
                    await conn.execute(queue.cancels_listen)
                    if failures:
                        self._event("worker.listening")
                    failures = 0
                    self._listening.set()
                    self._hint()  # anything enqueued while we were not listening
                    async for note in conn.notifies():
                        if note.channel == queue.CANCEL_CHANNEL:
                            self._cancel_requested(note.payload)
                        else:
                            self._hint()
            except psycopg.Error as error:
                failures += 1
                self._event("worker.error", error=f"listener: {_describe(error)}"[:500])
                await asyncio.sleep(min(0.5 * failures, RETRY_PAUSE_MAX_S))

    # -- timeouts -------------------------------------------------------------------------------------------------

    async def _timeout_loop(self) -> None:
        """Stop handlers past their kind's timeout: one sweep every TIMEOUT_TICK_S over a heap of deadlines."""
        loop = asyncio.get_running_loop()
        deadlines = self._deadlines
        while True:
            await asyncio.sleep(TIMEOUT_TICK_S)
            now = loop.time()
            while deadlines and deadlines[0][0] <= now:
                deadline = heapq.heappop(deadlines)[2]
                if deadline.live:
                    for entry in deadline.entries:
                        if not entry.settled:
                            self._stop(entry, "timeout")
            # Batches whose jobs all finished leave their deadline behind; drop them before they pile up (hundreds
            # a second, each kept for its whole timeout otherwise). Each live batch has a running job, so past
            # this size at least 64 are stale.
            if len(deadlines) > len(self._running) + 64:
                deadlines[:] = [item for item in deadlines if item[2].live]
                heapq.heapify(deadlines)

    # -- heartbeat ------------------------------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        lease = self.config.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            now = loop.time()
            entries = []
            for entry in list(self._running.values()):  # stopping ones too: they may take CANCEL_GRACE_S
                if now > entry.lease_deadline:  # no renewal got through in time: someone may have reaped it
                    self._stop(entry, "lost")
                elif not entry.settled:
                    entries.append(entry)
            if not entries:
                continue
            try:
                async with self._pool.connection() as conn:
                    held = await queue.heartbeat(conn, worker=self.name, jobs=[e.job for e in entries],
                                                 progresses=[e.ctx.progress for e in entries], lease_seconds=lease)
            except psycopg.Error as error:
                self._event("worker.error", error=f"heartbeat failed: {_describe(error)}"[:500])
                continue
            for entry in entries:
                if self._running.get(entry.job.id) is not entry:
                    continue  # finished while the heartbeat was in flight
                if entry.job.id not in held:
                    self._stop(entry, "lost")
                else:
                    entry.lease_deadline = now + lease
                    if held[entry.job.id]:
                        self._stop(entry, "cancelled")

    # -- maintenance ----------------------------------------------------------------------------------------------

    async def _maintenance_loop(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        # Random first runs spread the work of many workers started together.
        next_reap = loop.time() + random.uniform(0, config.reap_interval)
        next_prune = loop.time() + random.uniform(0, config.prune_interval) if config.prune_interval else None
        while True:
            wake_at = min(t for t in (next_reap, next_prune) if t is not None)
            await asyncio.sleep(max(0.0, wake_at - loop.time()))
            now = loop.time()
            try:
                if now >= next_reap:
                    next_reap = now + config.reap_interval
                    async with self._pool.connection() as conn:
                        reaped = await queue.reap(conn)
                    for job_id, status in reaped:
                        self._event("job.reaped", job_id=job_id, status=status,
                                    error="the lease expired: its worker stopped heart-beating")
                    if any(status == "queued" for _, status in reaped):
                        self._hint()
                    await self._seen()
                    await self._fire_schedules()
                if next_prune is not None and now >= next_prune:
                    next_prune = now + config.prune_interval
                    async with self._pool.connection() as conn:
                        pruned = await queue.prune(conn, keep_succeeded=config.keep_succeeded,
                                                   keep_failed=config.keep_failed)
                    if pruned:
                        self._event("jobs.pruned", count=pruned, keep_succeeded=config.keep_succeeded,
                                    keep_failed=config.keep_failed)
            except psycopg.Error as error:
                self._event("worker.error", error=f"maintenance: {_describe(error)}"[:500])

    async def _fire_schedules(self) -> None:
        """Enqueue the jobs of due recurring schedules (any worker may; SQL fires each slot once, sql/0030)."""
        if not self._schedules:
            return
        async with self._pool.connection() as conn:
            fired = await queue.fire_schedules(conn)
        for name, slot, job_id in fired:
            self._event("schedule.fired", schedule=name, slot=slot.isoformat(), job_id=job_id)
        if fired:
            self._hint()

    # -- logs -----------------------------------------------------------------------------------------------------

    def _job_event(self, event: str, job: Job, duration_ms: int | None, error: str | None = None, *,
                   ts: str | None = None) -> None:
        """Queue one job transition line; the lines of this loop turn are written together (_flush_log). `ts` is
        the batch's `_timestamp()` when the caller renders many lines at once."""
        level = EVENT_LEVELS.get(event, logging.INFO)
        if not log.isEnabledFor(level):
            return
        # Rendered here, as JsonLogFormatter would: kinds are dotted lower-case names (a CHECK in the queue), ids
        # and attempts integers, so only the worker's name (once) and the error need JSON escaping.
        line = (f'{{"ts": {ts or _timestamp()}, "event": "{event}", "job_id": {job.id}, "kind": "{job.kind}", '
                f'"attempt": {job.attempts}, "duration_ms": {"null" if duration_ms is None else int(duration_ms)}'
                f"{self._line_end}")
        if error:
            line += f', "error": {json.dumps(error[:LOG_ERROR_MAX_CHARS])}'
        if not self._log_lines:
            asyncio.get_running_loop().call_soon(self._flush_log)
        self._log_lines.append(line + "}")
        self._log_level = max(self._log_level, level)

    def _flush_log(self) -> None:
        """Hand the queued job lines to logging as one record (one write, one flush)."""
        if not self._log_lines:
            return
        lines, self._log_lines = self._log_lines, []
        level, self._log_level = self._log_level, logging.NOTSET
        log.handle(log.makeRecord(log.name, level, __file__, 0, "\n".join(lines), (), None,
                                  extra={"lines": len(lines)}))

    def _event(self, event: str, **fields: Any) -> None:
        level = EVENT_LEVELS.get(event, logging.INFO)
        if log.isEnabledFor(level):
            self._flush_log()  # keep the lines in order
            _emit(level, event, {"event": event, "worker": self.name, **fields})


async def stop_tasks(tasks: Sequence[asyncio.Task]) -> None:
    """Cancel `tasks` and wait until every one has ended. A cancellation can be lost: Python 3.11's
    asyncio.wait_for (psycopg_pool waits for a free connection with it) returns the inner result when that completed
    as the outer task was cancelled, and a loop then runs on. So a task still running after STOP_RETRY_S is
    cancelled again (a worker used to hang at shutdown, now and then, with its maintenance loop still running)."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=STOP_RETRY_S)
    await asyncio.gather(*tasks, return_exceptions=True)  # their exceptions retrieved, not logged as lost


def _timestamp() -> str:
    """Now as a log line's `ts` (Unix seconds, milliseconds)."""
    return repr(round(time.time(), 3))


def _emit(level: int, event: str, fields: dict[str, Any]) -> None:
    # makeRecord + handle instead of log.log: the same record, without the caller-frame lookup (two lines per job
    # add up at thousands of jobs a second).
    log.handle(log.makeRecord(log.name, level, __file__, 0, event, (), None, extra={"fields": fields}))


def configure_logging(stream: Any = None, level: int = logging.INFO) -> logging.Handler:
    """Make the process log JSON lines to `stream` (default stderr): the worker's events from `level` up, other
    libraries' (psycopg, the pool) warnings and errors. Returns the handler installed on the root logger."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    log.setLevel(level)
    return handler


def event_loop_kind(requested: str | None = None) -> str:
    """The event loop a worker runs on: `uvloop` when it is installed (the `worker` extra; about a third less
    CPU per job on the worker's hot path), else `asyncio`; SUPAKIT_WORKER_LOOP=asyncio forces the stock loop."""
    requested = (requested or config.current().worker.loop or "auto").strip().lower()
    if requested not in ("auto", "asyncio", "uvloop"):
        raise ConfigError(f"SUPAKIT_WORKER_LOOP={requested!r} is not one of auto, asyncio, uvloop; fix it or unset it.")
    if requested == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if requested == "uvloop":
            raise ConfigError("SUPAKIT_WORKER_LOOP=uvloop but uvloop is not installed; install it with "
                              "`pip install uvloop`, or unset the variable.") from None
        return "asyncio"
    return "uvloop"


def tune_gc() -> None:
    """A worker process's garbage collector settings. Each job allocates a few short-lived containers (its task,
    its row, its outcome), so the youngest generation fills every few hundred jobs and, every 100 collections, the
    oldest generation walks the whole heap: the imported modules and SDKs, which are never garbage. A profile of two
    workers put ~10% of their CPU in the collector. Freeze the startup heap (never scanned again) and collect the
    youngest generation every GC_YOUNG_THRESHOLD allocations instead of 700; cycles are still collected."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)


def run_worker(database_url: str, registry: Registry, config: WorkerConfig | None = None) -> None:
    """Run a worker in a new event loop (see event_loop_kind) until SIGTERM/SIGINT; returns after a graceful
    shutdown."""
    kind = event_loop_kind()
    tune_gc()
    main = Worker(database_url, registry, config).run(install_signal_handlers=True)
    if kind == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)
