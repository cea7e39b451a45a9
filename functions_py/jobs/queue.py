"""The queue client: named queries over the SQL API of sql/0006_create_jobs.sql (and the worker's one-statement
exchange of sql/0013_create_job_exchange.sql), and small functions calling them.

The async functions take a psycopg `AsyncConnection` in autocommit mode (the worker's pool gives those);
`enqueue` and `enqueue_many` are synchronous, for the CLI and scripts. Every write that finishes a job presents
the job's lease token: a worker whose lease expired can no longer change the job (the call answers nothing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from functions_py.errors import EXIT_BAD_INPUT, SupakitError
from functions_py.jobs.registry import Job

# Constraint names this module reacts to (sql/0006_create_jobs.sql).
KIND_IS_DOTTED_NAME = "kind_is_dotted_name"
MAX_ATTEMPTS_IS_POSITIVE = "max_attempts_is_positive"

ERROR_MAX_CHARS = 4000  # fail_job keeps this much of a message

# ---------------------------------------------------------------------------------------------------------------
# named queries
# ---------------------------------------------------------------------------------------------------------------

job_enqueue_one = """
select internal.enqueue_job(
  %(kind)s, %(payload)s, %(organization_id)s, %(user_id)s, %(priority)s, %(run_at)s, %(max_attempts)s, %(dedupe_key)s
)
"""

# the payloads travel as one JSON array (one json.dumps, no array literal to quote), split in order server-side
job_enqueue_many = """
select job_id from internal.enqueue_jobs(
  %(kind)s,
  array(select e.value from pg_catalog.jsonb_array_elements(%(payloads)s::jsonb) with ordinality as e (value, n)
        order by e.n),
  %(priorities)s::integer[], %(run_ats)s::timestamptz[],
  %(dedupe_keys)s::text[], %(max_attempts)s
) as enqueued (job_id)
"""

# Claimed jobs' payload and lease token come back as text (psycopg's C text loader, not its Python jsonb and uuid
# loaders): _job parses each payload once (the empty object not at all) and each batch's one token once (sql/0015).
CLAIMED_COLUMNS = "id, kind, payload::text, attempts, max_attempts, organization_id, user_id, lease_token::text"

job_claim_many = f"""
select {CLAIMED_COLUMNS}
from internal.claim_jobs_v2(%(worker)s, %(batch_size)s, %(kinds)s::text[], %(lease_seconds)s)
"""

# The common exchange (every finished job succeeded) in one autocommit statement: completed ids (kind null), then
# the claimed jobs. Results (JSON text) go as a binary text[]: no array-literal quoting of each one.
job_complete_and_claim_many = f"""
select {CLAIMED_COLUMNS}
from internal.finish_and_claim_jobs(%(worker)s, %(ids)b::bigint[], %(tokens)b::uuid[], %(results)b::text[]::jsonb[],
  %(batch_size)s, %(kinds)s::text[], %(lease_seconds)s)
"""

job_heartbeat_many = """
select id, cancel_requested
from internal.heartbeat_jobs(%(worker)s, %(ids)s::bigint[], %(tokens)s::uuid[], %(lease_seconds)s,
  %(progresses)s::jsonb[])
"""

job_complete_many = """
select job_id from internal.complete_jobs(%(ids)s::bigint[], %(tokens)s::uuid[], %(results)s::jsonb[])
  as completed (job_id)
"""

job_fail_one = "select internal.fail_job(%(id)s, %(token)s, %(message)s, %(retryable)s)::text"

job_release_many = """
select job_id from internal.release_jobs(%(ids)s::bigint[], %(tokens)s::uuid[]) as released (job_id)
"""

job_mark_cancelled_many = """
select job_id from internal.mark_jobs_cancelled(%(ids)s::bigint[], %(tokens)s::uuid[]) as cancelled (job_id)
"""

job_cancel_one = "select internal.cancel_job(%(id)s)::text"

job_reap_many = "select id, status::text from internal.reap_expired_leases()"

job_prune_many = "select internal.prune_jobs(%(keep_succeeded)s, %(keep_failed)s)"

# Recurring jobs (sql/0030): fire every due schedule once per slot; optional, like the worker roster.
schedule_fire_many = "select schedule_name, slot, job_id from internal.fire_due_schedules(%(max_count)s)"
schedule_fire_present = "select to_regprocedure('internal.fire_due_schedules(integer)') is not null"

queue_api_present = "select to_regprocedure('internal.claim_jobs(text, integer, text[], integer)') is not null"
exchange_api_present = """
select to_regprocedure('internal.finish_and_claim_jobs(text, bigint[], uuid[], jsonb[], integer, text[], integer)')
  is not null
"""

# Worker presence for `supakit jobs stats` (optional: a database without internal.worker_seen just has no roster).
worker_seen_present = "select to_regprocedure('internal.worker_seen(text, text[], integer, boolean)') is not null"
worker_seen_one = "select internal.worker_seen(%(worker)s, %(kinds)s::text[], %(concurrency)s, %(stopping)s)"

# NOTIFY channels: a wake-up hint after enqueue (empty payload), and a cancel request for a running job (its id).
JOBS_CHANNEL = "supakit_jobs"
CANCEL_CHANNEL = "supakit_jobs_cancel"
jobs_listen = "listen supakit_jobs"
cancels_listen = "listen supakit_jobs_cancel"


# ---------------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------------


class JobRejected(SupakitError):
    """The queue refused the job; job kinds are dotted lower-case names (`email.send`), max_attempts is 1-100."""

    exit_code = EXIT_BAD_INPUT


class QueueMissing(SupakitError):
    """The job queue is not installed in this database; run `supakit migrate` first."""


def _rejected(error: psycopg.errors.CheckViolation) -> JobRejected:
    constraint = error.diag.constraint_name
    if constraint == KIND_IS_DOTTED_NAME:
        return JobRejected("the job kind must be a dotted lower-case name such as `email.send` or `ai.generate`; "
                           "rename the kind.", constraint=constraint)
    if constraint == MAX_ATTEMPTS_IS_POSITIVE:
        return JobRejected("max_attempts must be between 1 and 100; pass a value in that range.",
                           constraint=constraint)
    return JobRejected(f"the queue refused the job ({constraint}); see sql/0006_create_jobs.sql.",
                       constraint=constraint)


# ---------------------------------------------------------------------------------------------------------------
# enqueue (sync)
# ---------------------------------------------------------------------------------------------------------------


def enqueue(conn: psycopg.Connection, kind: str, payload: dict[str, Any] | None = None, *,
            organization_id: UUID | None = None, user_id: UUID | None = None, priority: int = 0,
            run_at: datetime | None = None, max_attempts: int = 3, dedupe_key: str | None = None) -> int:
    """Enqueue one job and return its id; with a `dedupe_key` an unfinished job holds, that job's id.

    Runs in the connection's current transaction (the job becomes visible, and workers are woken, at commit).
    """
    try:
        row = conn.execute(job_enqueue_one, {
            "kind": kind, "payload": Jsonb(payload or {}), "organization_id": organization_id, "user_id": user_id,
            "priority": priority, "run_at": run_at, "max_attempts": max_attempts, "dedupe_key": dedupe_key,
        }).fetchone()
    except psycopg.errors.CheckViolation as error:
        raise _rejected(error) from error
    except psycopg.errors.UndefinedFunction as error:
        raise QueueMissing() from error
    assert row is not None
    return row[0]


def enqueue_many(conn: psycopg.Connection, kind: str, payloads: Sequence[dict[str, Any]], *,
                 priorities: Sequence[int] | None = None, run_ats: Sequence[datetime] | None = None,
                 dedupe_keys: Sequence[str | None] | None = None, max_attempts: int = 3) -> list[int]:
    """Enqueue many jobs of one kind in one statement; returns the ids inserted, in order (duplicates of a
    dedupe key an unfinished job holds are skipped)."""
    try:
        rows = conn.execute(job_enqueue_many, {
            "kind": kind, "payloads": json.dumps(payloads if isinstance(payloads, list) else list(payloads)),
            "priorities": list(priorities) if priorities is not None else None,
            "run_ats": list(run_ats) if run_ats is not None else None,
            "dedupe_keys": list(dedupe_keys) if dedupe_keys is not None else None, "max_attempts": max_attempts,
        }).fetchall()
    except psycopg.errors.CheckViolation as error:
        raise _rejected(error) from error
    except psycopg.errors.UndefinedFunction as error:
        raise QueueMissing() from error
    return [row[0] for row in rows]


def cancel(conn: psycopg.Connection, job_id: int) -> str | None:
    """Cancel a job: a queued one at once, a running one by asking its worker to stop it. Returns the status
    after the call (`cancelled`, or `running` while the worker stops it), None for an unknown job."""
    row = conn.execute(job_cancel_one, {"id": job_id}).fetchone()
    return row[0] if row else None


# ---------------------------------------------------------------------------------------------------------------
# worker side (async)
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Finished:
    """What became of one job the worker ran, waiting to be written: `outcome` is one of succeeded, failed
    (with `retryable`), cancelled, released."""

    job: Job
    outcome: str
    result: str | None = None  # JSON text, for succeeded
    error: str | None = None
    retryable: bool = True
    duration_ms: int = 0


@dataclass
class Exchange:
    """The answer to `finish_and_claim`: the ids each kind of write took effect for (a job missing there was
    lost: its lease had expired), fail_job's new status per job, and the jobs claimed."""

    completed: set[int] = field(default_factory=set)
    cancelled: set[int] = field(default_factory=set)
    released: set[int] = field(default_factory=set)
    failed: dict[int, str | None] = field(default_factory=dict)  # job id -> 'queued' | 'failed' | None (lost)
    claimed: list[Job] = field(default_factory=list)


_new_object = object.__new__


def _job(row: tuple, tokens: dict[str, UUID]) -> Job:
    """A claimed job from its CLAIMED_COLUMNS row; `tokens` caches the UUID of each lease token text seen."""
    job_id, kind, text, attempts, max_attempts, organization_id, user_id, token_text = row
    payload = {} if text == "{}" else json.loads(text)
    if not isinstance(payload, dict):
        payload = {"value": payload}
    token = tokens.get(token_text)
    if token is None and token_text is not None:
        token = tokens[token_text] = UUID(token_text)
    # Job is a frozen dataclass: its __init__ sets each field through object.__setattr__, three times the cost of
    # filling the instance's __dict__ at once (the worker builds thousands a second). tests/test_jobs_queue.py
    # checks the two build equal jobs.
    job = _new_object(Job)
    job.__dict__.update(id=job_id, kind=kind, payload=payload, attempts=attempts, max_attempts=max_attempts,
                        organization_id=organization_id, user_id=user_id, lease_token=token)
    return job


def _leases(items: Sequence[Finished]) -> dict[str, list]:
    return {"ids": [f.job.id for f in items], "tokens": [f.job.lease_token for f in items]}


def clean_message(message: str) -> str:
    """`message` as PostgreSQL text can hold it (no NUL), cut to what fail_job keeps."""
    return message.replace("\x00", "")[:ERROR_MAX_CHARS]


async def finish_and_claim(conn: psycopg.AsyncConnection, finished: Sequence[Finished], *, worker: str,
                           claim: int, kinds: Sequence[str], lease_seconds: int) -> Exchange:
    """Write every finished job and claim up to `claim` new ones, in one transaction and one round trip: the
    acks of batch k ride along with the claim of batch k+1. When every finished job succeeded that is a single
    autocommit statement (internal.finish_and_claim_jobs); otherwise a pipelined transaction."""
    by_outcome: dict[str, list[Finished]] = {"succeeded": [], "failed": [], "cancelled": [], "released": []}
    for item in finished:
        by_outcome[item.outcome].append(item)
    answer = Exchange()
    done = by_outcome["succeeded"]
    if len(done) == len(finished) and conn.autocommit and (done or claim > 0):
        results = [f.result for f in done]
        cursor = await conn.execute(job_complete_and_claim_many, {
            # no results at all (no-op jobs, side-effect-only handlers) go as one NULL array: unnest() pads with
            # NULLs, and the worker skips dumping a list of them
            **_leases(done), "results": results if any(r is not None for r in results) else None,
            "worker": worker, "batch_size": claim,
            "kinds": list(kinds), "lease_seconds": lease_seconds}, binary=True)
        tokens: dict[str, UUID] = {}
        for row in await cursor.fetchall():
            if row[1] is None:
                answer.completed.add(row[0])
            else:
                answer.claimed.append(_job(row, tokens))
        return answer
    async with conn.pipeline(), conn.transaction():
        # This exchange need not wait for its WAL flush: were a commit lost in a crash, its claims and acks are
        # recovered like any lost worker's (leases expire, delivery is at least once). Handlers' own writes, on
        # other transactions, keep the server's durability. (finish_and_claim_jobs does the same.)
        await conn.execute("set local synchronous_commit = off")
        cursors: dict[str, psycopg.AsyncCursor] = {}
        if done := by_outcome["succeeded"]:
            cursors["completed"] = await conn.execute(
                job_complete_many, {**_leases(done), "results": [f.result for f in done]})
        if done := by_outcome["cancelled"]:
            cursors["cancelled"] = await conn.execute(job_mark_cancelled_many, _leases(done))
        if done := by_outcome["released"]:
            cursors["released"] = await conn.execute(job_release_many, _leases(done))
        failures = [(item.job.id, await conn.execute(job_fail_one, {
            "id": item.job.id, "token": item.job.lease_token, "message": clean_message(item.error or "failed"),
            "retryable": item.retryable})) for item in by_outcome["failed"]]
        claim_cursor = None
        if claim > 0:
            claim_cursor = await conn.execute(job_claim_many, {
                "worker": worker, "batch_size": claim, "kinds": list(kinds), "lease_seconds": lease_seconds})
    for name, cursor in cursors.items():
        getattr(answer, name).update(row[0] for row in await cursor.fetchall())
    for job_id, cursor in failures:
        row = await cursor.fetchone()
        answer.failed[job_id] = row[0] if row else None
    if claim_cursor is not None:
        tokens = {}
        answer.claimed = [_job(row, tokens) for row in await claim_cursor.fetchall()]
    return answer


async def heartbeat(conn: psycopg.AsyncConnection, *, worker: str, jobs: Sequence[Job],
                    progresses: Sequence[dict[str, Any] | None], lease_seconds: int) -> dict[int, bool]:
    """Extend the leases of `jobs` and record their progress. Returns {job id: cancel requested} for each lease
    still held; a job missing from the answer was lost (its lease expired and it was reaped)."""
    cursor = await conn.execute(job_heartbeat_many, {
        "worker": worker, "ids": [j.id for j in jobs], "tokens": [j.lease_token for j in jobs],
        "lease_seconds": lease_seconds,
        "progresses": [json.dumps(p) if p is not None else None for p in progresses],
    })
    return {job_id: cancel_requested for job_id, cancel_requested in await cursor.fetchall()}


async def reap(conn: psycopg.AsyncConnection) -> list[tuple[int, str]]:
    """Requeue (or fail, or cancel) running jobs whose lease expired; returns (id, new status) for each."""
    cursor = await conn.execute(job_reap_many)
    return await cursor.fetchall()


async def prune(conn: psycopg.AsyncConnection, *, keep_succeeded: int, keep_failed: int) -> int:
    """Delete finished jobs beyond the newest `keep_succeeded` succeeded and `keep_failed` failed/cancelled
    per kind; returns how many rows went."""
    cursor = await conn.execute(job_prune_many, {"keep_succeeded": keep_succeeded, "keep_failed": keep_failed})
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def fire_schedules(conn: psycopg.AsyncConnection, *, max_count: int = 100) -> list[tuple[str, datetime, int]]:
    """Enqueue the job of every due recurring schedule (sql/0030), once per slot however many workers call this at
    the same moment; returns (schedule name, slot, job id) for each job enqueued."""
    cursor = await conn.execute(schedule_fire_many, {"max_count": max_count})
    return [tuple(row) for row in await cursor.fetchall()]


async def schedules_installed(conn: psycopg.AsyncConnection) -> bool:
    """True when the database has recurring schedules (sql/0030)."""
    cursor = await conn.execute(schedule_fire_present)
    row = await cursor.fetchone()
    return bool(row and row[0])


async def worker_seen(conn: psycopg.AsyncConnection, *, worker: str, kinds: Sequence[str], concurrency: int,
                      stopping: bool = False) -> None:
    """Record that `worker` is alive (or, with `stopping`, that it stopped gracefully)."""
    await conn.execute(worker_seen_one, {"worker": worker, "kinds": list(kinds), "concurrency": concurrency,
                                         "stopping": stopping})


async def worker_roster_installed(conn: psycopg.AsyncConnection) -> bool:
    """True when the database records worker presence (internal.worker_seen)."""
    cursor = await conn.execute(worker_seen_present)
    row = await cursor.fetchone()
    return bool(row and row[0])


async def queue_installed(conn: psycopg.AsyncConnection) -> bool:
    """True when the database has the queue's SQL API (sql/0006_create_jobs.sql applied)."""
    cursor = await conn.execute(queue_api_present)
    row = await cursor.fetchone()
    return bool(row and row[0])


# ---------------------------------------------------------------------------------------------------------------
# inspection and operation (sync, for `supakit jobs`)
# ---------------------------------------------------------------------------------------------------------------

job_list_many = """
select id, kind, status::text, priority, attempts, max_attempts, run_at, created_at, finished_at, lease_owner, error
from internal.jobs
where (%(status)s::text is null or status::text = %(status)s) and (%(kind)s::text is null or kind = %(kind)s)
order by id desc
limit %(limit)s
"""
job_get_one = "select row_to_json(j) from internal.jobs as j where j.id = %s"
job_retry_one = "select internal.retry_job(%s)::text"
job_status_one = "select status::text from internal.jobs where id = %s"
job_depth_many = "select kind, status::text, count(*) from internal.jobs group by 1, 2 order by 1, 2"
job_window_outcomes_one = """
select count(*) filter (where status = 'failed'), count(*) filter (where status in ('succeeded', 'failed'))
from internal.jobs where finished_at >= now() - %s::interval
"""
job_oldest_queued_one = """
select extract(epoch from now() - min(run_at)) from internal.jobs where status = 'queued' and run_at <= now()
"""
worker_seen_many = """
select name, kinds, concurrency, last_seen_at from internal.workers
where stopped_at is null and last_seen_at >= now() - %s::interval order by name
"""

schedule_list_many = """
select s.name, s.kind, s.organization_id, s.every::text, s.enabled, s.next_run_at, s.last_slot, s.last_job_id,
  j.status::text as last_job_status, s.missed, s.payload
from internal.job_schedules as s left join internal.jobs as j on j.id = s.last_job_id
where (%(kind)s::text is null or s.kind = %(kind)s)
order by s.next_run_at, s.name
limit %(limit)s
"""
SCHEDULE_LIST_COLUMNS = ("name", "kind", "organization_id", "every", "enabled", "next_run_at", "last_slot",
                         "last_job_id", "last_job_status", "missed", "payload")

JOB_LIST_COLUMNS = ("id", "kind", "status", "priority", "attempts", "max_attempts", "run_at", "created_at",
                    "finished_at", "worker", "error")


def list_jobs(conn: psycopg.Connection, *, status: str | None, kind: str | None, limit: int) -> list[dict[str, Any]]:
    """Jobs newest first, as dicts keyed by JOB_LIST_COLUMNS (`worker` is the lease owner)."""
    rows = conn.execute(job_list_many, {"status": status, "kind": kind, "limit": limit}).fetchall()
    return [dict(zip(JOB_LIST_COLUMNS, row, strict=True)) for row in rows]


def list_schedules(conn: psycopg.Connection, *, kind: str | None, limit: int) -> list[dict[str, Any]]:
    """Recurring schedules, next due first, as dicts keyed by SCHEDULE_LIST_COLUMNS (`last_job_status` is None once
    the last job was pruned)."""
    rows = conn.execute(schedule_list_many, {"kind": kind, "limit": limit}).fetchall()
    return [dict(zip(SCHEDULE_LIST_COLUMNS, row, strict=True)) for row in rows]


def get_job(conn: psycopg.Connection, job_id: int) -> dict[str, Any] | None:
    """Every column of one job (JSON types), None for an unknown id."""
    row = conn.execute(job_get_one, (job_id,)).fetchone()
    return row[0] if row else None


def retry(conn: psycopg.Connection, job_id: int) -> tuple[str | None, str | None]:
    """Queue a failed or cancelled job again (internal.retry_job): (the new status or None when it was not
    retryable, the job's status now or None for an unknown job)."""
    outcome = conn.execute(job_retry_one, (job_id,)).fetchone()[0]
    current = conn.execute(job_status_one, (job_id,)).fetchone()
    return outcome, current[0] if current else None


@dataclass
class QueueStats:
    """Queue depth per (kind, status), outcomes over a window, the oldest ready job's wait, the live workers."""

    depth: list[tuple[str, str, int]]
    failed: int
    finished: int
    oldest_queued_s: float | None
    workers: list[tuple[str, list[str] | None, int, datetime]]

    @property
    def queued(self) -> int:
        return sum(count for _, status, count in self.depth if status == "queued")

    @property
    def failure_rate(self) -> float:
        return self.failed / self.finished if self.finished else 0.0


def stats(conn: psycopg.Connection, window: Any) -> QueueStats:
    """QueueStats over `window` (a timedelta)."""
    depth = conn.execute(job_depth_many).fetchall()
    failed, finished = conn.execute(job_window_outcomes_one, (window,)).fetchone()
    oldest = conn.execute(job_oldest_queued_one).fetchone()[0]
    workers = conn.execute(worker_seen_many, (window,)).fetchall()
    return QueueStats(depth=[tuple(row) for row in depth], failed=failed, finished=finished,
                      oldest_queued_s=float(oldest) if oldest is not None else None,
                      workers=[tuple(row) for row in workers])
