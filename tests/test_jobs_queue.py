"""The job queue's SQL (sql/0006_create_jobs.sql): claim order, leases, retries, cancellation, retention."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import timedelta

import psycopg
import pytest


def enqueue(db, kind="test.noop", **kwargs) -> int:
    names = ", ".join(f"{k} => %({k})s" for k in kwargs)
    return db.execute(f"select internal.enqueue_job(%(kind)s{', ' + names if names else ''})",
                      {"kind": kind, **kwargs}).fetchone()[0]


def claim(db, worker="w1", batch=10, kinds=None, lease=30):
    return db.execute("select id, lease_token, attempts, kind from internal.claim_jobs(%s, %s, %s, %s)",
                      (worker, batch, kinds, lease)).fetchall()


def status(db, job_id):
    return db.execute("select status from internal.jobs where id = %s", (job_id,)).fetchone()[0]


def test_claims_go_by_priority_then_run_at_and_skip_future_jobs(db):
    free = enqueue(db, priority=0, run_at="2000-01-01")
    team = enqueue(db, priority=20)
    pro = enqueue(db, priority=10)
    later = enqueue(db, priority=99, run_at="2999-01-01")
    older_free = enqueue(db, priority=0, run_at="1999-01-01")
    # one at a time: the order of a batch's rows is the plan's (a hash join returns them by position), not the claim's
    claimed = [row[0] for _ in range(5) for row in claim(db, batch=1)]
    assert claimed == [team, pro, older_free, free], "team before pro before free; earlier run_at first"
    assert later not in claimed, "a job whose run_at is in the future waits"


def test_claim_takes_a_batch_of_the_requested_kinds_and_starts_attempt_one(db):
    ids = db.execute("select * from internal.enqueue_jobs('test.batch', array_fill('{}'::jsonb, array[5]))").fetchall()
    other = enqueue(db, kind="test.other")
    rows = claim(db, batch=3, kinds=["test.batch"])
    assert len(rows) == 3 and {r[3] for r in rows} == {"test.batch"} and {r[2] for r in rows} == {1}
    assert len({r[1] for r in rows}) == 3, "each claim gets its own lease token"
    assert status(db, other) == "queued"
    assert len(ids) == 5


def test_a_dedupe_key_is_unique_among_unfinished_jobs_only(db):
    first = enqueue(db, dedupe_key="report:42")
    assert enqueue(db, dedupe_key="report:42") == first, "a duplicate returns the existing job"
    (job_id, token, *_), = claim(db)
    db.execute("select internal.complete_jobs(%s, %s)", ([job_id], [token]))
    assert enqueue(db, dedupe_key="report:42") != first, "once finished, the key is free again"
    batch = db.execute("select * from internal.enqueue_jobs('test.noop', array['{}', '{}']::jsonb[],"
                       " dedupe_keys => array['same', 'same'])").fetchall()
    assert len(batch) == 1, "a batch skips its own duplicates"


def test_a_batch_without_dedupe_keys_inserts_every_job_and_one_with_keys_skips_only_the_held_ones(db):
    # sql/0028: a batch with no key at all inserts without the arbiter index; any key takes the on-conflict path
    held = enqueue(db, dedupe_key="sync:7")
    plain = db.execute("select * from internal.enqueue_jobs('test.noop', array['{\"n\": 1}', '{\"n\": 2}']::jsonb[],"
                       " dedupe_keys => array[null, null]::text[])").fetchall()
    assert len(plain) == 2 and plain[0][0] < plain[1][0], "every job inserted, ids in the batch's order"
    mixed = db.execute("select * from internal.enqueue_jobs('test.noop', array['{}', '{}', '{}']::jsonb[],"
                       " dedupe_keys => array[null, 'sync:7', 'sync:8'])").fetchall()
    assert len(mixed) == 2, "the key an unfinished job holds is skipped, the others inserted"
    keys = db.execute("select dedupe_key from internal.jobs where id = any(%s) order by id",
                      ([r[0] for r in mixed],)).fetchall()
    assert keys == [(None,), ("sync:8",)]
    assert db.execute("select count(*) from internal.jobs where dedupe_key = 'sync:7'").fetchone()[0] == 1, \
        f"job {held} still holds its key alone"


def test_enqueue_many_stores_each_payload_in_its_place_with_its_priority_and_key(db):
    """functions_py/jobs/queue.py sends the batch's payloads as one JSON array, split in order in the database."""
    from functions_py.jobs import queue

    payloads = [{"n": n, "text": f"it's \"{n}\" {{}}"} for n in range(300)] + [{}, [], None, "plain", 7]
    ids = queue.enqueue_many(db, "test.noop", payloads, priorities=list(range(len(payloads))),
                             dedupe_keys=[None] * (len(payloads) - 1) + ["many:last"])
    assert len(ids) == len(payloads) and ids == sorted(ids)
    rows = db.execute("select payload, priority, dedupe_key from internal.jobs where id = any(%s) order by id",
                      (ids,)).fetchall()
    assert [r[0] for r in rows] == payloads, "every payload, in the batch's order, unchanged"
    assert [r[1] for r in rows] == list(range(len(payloads))) and rows[-1][2] == "many:last"
    assert queue.enqueue_many(db, "test.noop", []) == []
    assert queue.enqueue_many(db, "test.noop", ({"t": 1}, {"t": 2}))[0] > ids[-1], "any sequence, not only a list"


def test_only_the_current_lease_holder_finishes_a_job(db):
    job_id = enqueue(db)
    (_, token, *_), = claim(db, lease=1)
    db.execute("update internal.jobs set lease_expires_at = now() - interval '1 second' where id = %s", (job_id,))
    reaped = db.execute("select * from internal.reap_expired_leases()").fetchall()
    assert reaped == [(job_id, "queued")], "an expired lease puts the job back in the queue"
    (_, new_token, attempts, _), = claim(db, worker="w2")
    assert attempts == 1, "the lost lease gave the attempt back (sql/0016): the handler never failed"
    assert db.execute("select internal.complete_jobs(%s, %s)", ([job_id], [token])).fetchall() == [], \
        "the dead worker's late completion is ignored"
    assert db.execute("select internal.fail_job(%s, %s, 'late', false)", (job_id, token)).fetchone()[0] is None
    assert db.execute("select * from internal.heartbeat_jobs('w1', %s, %s)", ([job_id], [token])).fetchall() == [], \
        "the dead worker learns it lost the job"
    assert db.execute("select * from internal.complete_jobs(%s, %s, %s)",
                      ([job_id], [new_token], ['{"ok": true}'])).fetchall() == [(job_id,)]
    row = db.execute("select status, result, lease_owner from internal.jobs where id = %s", (job_id,)).fetchone()
    assert row == ("succeeded", {"ok": True}, None)


def test_retryable_failures_back_off_exponentially_until_attempts_are_spent(db):
    job_id = enqueue(db, max_attempts=3)
    delays = []
    for attempt in (1, 2, 3):
        db.execute("update internal.jobs set run_at = now() where id = %s", (job_id,))
        (_, token, attempts, _), = claim(db)
        assert attempts == attempt
        outcome = db.execute("select internal.fail_job(%s, %s, 'overloaded', true)", (job_id, token)).fetchone()[0]
        if attempt < 3:
            assert outcome == "queued"
            delays.append(db.execute("select extract(epoch from run_at - now()) from internal.jobs where id = %s",
                                     (job_id,)).fetchone()[0])
        else:
            assert outcome == "failed", "the last attempt's failure is final"
    assert 3.7 <= delays[0] <= 6.3 and 7.4 <= delays[1] <= 12.6, f"5 s then 10 s, +-25% jitter: {delays}"
    assert db.execute("select error, finished_at is not null from internal.jobs where id = %s",
                      (job_id,)).fetchone() == ("overloaded", True)


def test_a_permanent_failure_fails_at_once(db):
    job_id = enqueue(db)
    (_, token, *_), = claim(db)
    assert db.execute("select internal.fail_job(%s, %s, 'bad request', false)", (job_id, token)).fetchone()[0] == \
        "failed"


def test_reaping_requeues_a_job_even_on_its_last_attempt(db):
    """Until sql/0016 this job failed ("lease expired") although its handler never failed (issue 20 item 2)."""
    job_id = enqueue(db, max_attempts=1)
    claim(db)
    db.execute("update internal.jobs set lease_expires_at = now() - interval '1 second' where id = %s", (job_id,))
    assert db.execute("select * from internal.reap_expired_leases()").fetchall() == [(job_id, "queued")]
    assert "lease expired" in db.execute("select error from internal.jobs where id = %s", (job_id,)).fetchone()[0]


def test_heartbeats_extend_the_lease_and_report_cancel_requests(db):
    job_id = enqueue(db)
    (_, token, *_), = claim(db, lease=5)
    before = db.execute("select lease_expires_at from internal.jobs where id = %s", (job_id,)).fetchone()[0]
    assert db.execute("select * from internal.heartbeat_jobs('w1', %s, %s, 60)", ([job_id], [token])).fetchall() == \
        [(job_id, False)]
    after = db.execute("select lease_expires_at from internal.jobs where id = %s", (job_id,)).fetchone()[0]
    assert after - before > timedelta(seconds=50)
    assert db.execute("select internal.cancel_job(%s)", (job_id,)).fetchone()[0] == "running", \
        "a running job is only asked to stop"
    assert db.execute("select * from internal.heartbeat_jobs('w1', %s, %s)", ([job_id], [token])).fetchall() == \
        [(job_id, True)]
    db.execute("select internal.mark_jobs_cancelled(%s, %s)", ([job_id], [token]))
    assert status(db, job_id) == "cancelled"


def test_cancelling_a_queued_job_is_immediate_and_unknown_jobs_answer_null(db):
    job_id = enqueue(db)
    assert db.execute("select internal.cancel_job(%s)", (job_id,)).fetchone()[0] == "cancelled"
    assert claim(db) == []
    assert db.execute("select internal.cancel_job(-1)").fetchone()[0] is None


def test_a_released_job_does_not_lose_an_attempt(db):
    job_id = enqueue(db)
    (_, token, *_), = claim(db)
    db.execute("select internal.release_jobs(%s, %s)", ([job_id], [token]))
    assert db.execute("select status, attempts from internal.jobs where id = %s", (job_id,)).fetchone() == \
        ("queued", 0)


@pytest.mark.parametrize(("start", "target"), [
    ("queued", "succeeded"), ("queued", "failed"), ("succeeded", "queued"), ("succeeded", "running"),
    ("cancelled", "running"), ("failed", "succeeded"),
])
def test_illegal_status_transitions_are_refused(db, start, target):
    job_id = enqueue(db)
    if start != "queued":
        (_, token, *_), = claim(db)
        if start == "succeeded":
            db.execute("select internal.complete_jobs(%s, %s)", ([job_id], [token]))
        elif start == "failed":
            db.execute("select internal.fail_job(%s, %s, 'x', false)", (job_id, token))
        else:
            db.execute("select internal.mark_jobs_cancelled(%s, %s)", ([job_id], [token]))
    db.execute("savepoint before_illegal")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="illegal status transition"):
        db.execute("update internal.jobs set status = %s where id = %s", (target, job_id))
    db.execute("rollback to savepoint before_illegal")


def test_rows_stay_consistent_with_their_status(db):
    job_id = enqueue(db)
    with pytest.raises(psycopg.errors.CheckViolation, match="running_iff_leased"):
        db.execute("update internal.jobs set status = 'running', started_at = now() where id = %s", (job_id,))


def test_retention_keeps_the_newest_finished_jobs_per_kind(db):
    for kind, count in (("test.keep", 5), ("test.other", 2)):
        for _ in range(count):
            job_id = enqueue(db, kind=kind)
            (_, token, *_), = claim(db, kinds=[kind])
            db.execute("select internal.complete_jobs(%s, %s)", ([job_id], [token]))
    failed = enqueue(db, kind="test.keep")
    (_, token, *_), = claim(db, kinds=["test.keep"])
    db.execute("select internal.fail_job(%s, %s, 'x', false)", (failed, token))
    queued = enqueue(db, kind="test.keep")
    deleted = db.execute("select internal.prune_jobs(keep_succeeded => 2, keep_failed => 1)").fetchone()[0]
    assert deleted == 3, "5 succeeded test.keep jobs, keep 2; test.other under the limit; failed under its limit"
    left = db.execute("select kind, status::text, count(*) from internal.jobs group by 1, 2").fetchall()
    assert sorted(left) == [("test.keep", "failed", 1), ("test.keep", "queued", 1), ("test.keep", "succeeded", 2),
                            ("test.other", "succeeded", 2)]
    assert status(db, queued) == "queued", "unfinished jobs are never pruned"


def test_concurrent_claimers_never_take_the_same_job(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("select internal.enqueue_jobs('test.race', array_fill('{}'::jsonb, array[400]))")
    taken: list[list[int]] = [[], [], []]
    barrier = threading.Barrier(3)

    def worker(n: int) -> None:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            barrier.wait()
            while rows := conn.execute("select id from internal.claim_jobs(%s, 7)", (f"w{n}",)).fetchall():
                taken[n].extend(r[0] for r in rows)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [job for part in taken for job in part]
    assert len(everything) == 400 and len(set(everything)) == 400, "every job claimed exactly once"


def test_enqueueing_wakes_listeners_once_per_transaction(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as listener, psycopg.connect(fresh_db) as producer:
        listener.execute("listen supakit_jobs")
        for _ in range(3):
            producer.execute("select internal.enqueue_job('test.notify')")
        producer.execute("select * from internal.enqueue_jobs('test.notify', array_fill('{}'::jsonb, array[10]))")
        producer.commit()
        wakeups = list(listener.notifies(timeout=1.0))
    assert len(wakeups) == 1, "one transaction, one wake-up, however many jobs"


def test_a_failure_after_a_cancel_request_ends_cancelled(db):
    job_id = enqueue(db)
    (_, token, *_), = claim(db)
    db.execute("select internal.cancel_job(%s)", (job_id,))
    assert db.execute("select internal.fail_job(%s, %s, 'interrupted', true)", (job_id, token)).fetchone()[0] == \
        "cancelled", "the user asked to stop it: no retry"


def test_released_and_reaped_jobs_wake_idle_workers(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as listener, \
            psycopg.connect(fresh_db, autocommit=True) as worker:
        worker.execute("select internal.enqueue_jobs('test.wake', array_fill('{}'::jsonb, array[2]))")
        (a, a_token), (b, _) = worker.execute("select id, lease_token from internal.claim_jobs('w', 2)").fetchall()
        listener.execute("listen supakit_jobs")
        worker.execute("select internal.release_jobs(%s, %s)", ([a], [a_token]))
        assert len(list(listener.notifies(timeout=1.0, stop_after=1))) == 1, "a released job is ready at once"
        worker.execute("update internal.jobs set lease_expires_at = now() - interval '1 second' where id = %s", (b,))
        worker.execute("select internal.reap_expired_leases()")
        assert len(list(listener.notifies(timeout=1.0, stop_after=1))) == 1, "so is a reaped one"


# -- the worker's one-statement exchange (sql/0013_create_job_exchange.sql) --------------------------------------


def exchange(db, ids, tokens, results, batch, kinds=None, worker="w1"):
    return db.execute("select id, kind, lease_token from internal.finish_and_claim_jobs("
                      "%s, %s::bigint[], %s::uuid[], %s::jsonb[], %s, %s)",
                      (worker, ids, tokens, results, batch, kinds)).fetchall()


def test_one_exchange_completes_with_lease_tokens_and_claims_the_next_batch(db):
    first, second = enqueue(db), enqueue(db)
    (job_a, token_a, *_), = claim(db, batch=1)
    (job_b, token_b, *_), = claim(db, batch=1)
    upcoming = [enqueue(db) for _ in range(3)]
    stale = uuid.UUID(int=0)
    rows = exchange(db, [job_a, job_b], [token_a, stale], ['{"ok": true}', None], batch=2)
    completed = [job_id for job_id, kind, _ in rows if kind is None]
    claimed = [(job_id, token) for job_id, kind, token in rows if kind is not None]
    assert completed == [job_a], "only the holder of the current lease completes a job"
    assert status(db, job_a) == "succeeded" and status(db, job_b) == "running", "a stale token changes nothing"
    assert db.execute("select result from internal.jobs where id = %s", (job_a,)).fetchone()[0] == {"ok": True}
    assert [job_id for job_id, _ in claimed] == upcoming[:2] and all(token for _, token in claimed)
    assert {first, second} == {job_a, job_b}


def test_an_exchange_with_nothing_to_claim_only_acks_and_claim_v2_matches_claim(db):
    job_id = enqueue(db)
    (claimed_id, kind, token), = db.execute(
        "select id, kind, lease_token from internal.claim_jobs_v2('w1', 5)").fetchall()
    assert (claimed_id, kind) == (job_id, "test.noop") and status(db, job_id) == "running"
    assert exchange(db, [job_id], [token], [None], batch=0) == [(job_id, None, None)]
    assert status(db, job_id) == "succeeded"


def test_a_null_results_array_completes_the_batch_with_null_results(db):
    """The worker sends one NULL array when no finished job has a result (sql: unnest pads it with NULLs)."""
    first, second = enqueue(db), enqueue(db)
    leases = claim(db, batch=2)
    rows = exchange(db, [row[0] for row in leases], [row[1] for row in leases], None, batch=0)
    assert sorted(job_id for job_id, kind, _ in rows if kind is None) == sorted([first, second])
    assert db.execute("select count(*) from internal.jobs where id = any(%s) and status = 'succeeded'"
                      " and result is null", ([first, second],)).fetchone()[0] == 2


def test_updated_at_moves_on_every_update_whoever_sets_it(fresh_db):
    """sql/0014: the hot-path functions set updated_at themselves (the guard trigger is skipped); every other
    update still gets it from the trigger; an illegal transition is refused either way."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        job_id = enqueue(conn)

        def stamp():
            return conn.execute("select updated_at from internal.jobs where id = %s", (job_id,)).fetchone()[0]

        seen = [stamp()]
        (_, token, *_), = claim(conn)  # claim_jobs: sets it
        seen.append(stamp())
        conn.execute("select * from internal.heartbeat_jobs('w1', %s, %s)", ([job_id], [token]))  # the trigger
        seen.append(stamp())
        conn.execute("update internal.jobs set progress = '{\"step\": 1}' where id = %s", (job_id,))  # by hand
        seen.append(stamp())
        exchange(conn, [job_id], [token], [None], batch=0)  # finish_and_claim_jobs: sets it
        seen.append(stamp())
        assert status(conn, job_id) == "succeeded"
        assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="illegal status transition"):
            conn.execute("update internal.jobs set status = 'queued', updated_at = now() - interval '1 day'"
                         " where id = %s", (job_id,))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="illegal status transition"):
            conn.execute("update internal.jobs set status = 'running' where id = %s", (job_id,))
        assert status(conn, job_id) == "succeeded" and stamp() == seen[-1]


def test_the_exchange_claims_the_most_urgent_jobs_with_one_fresh_token_per_claim(db):
    """sql/0015: one lease token per claim statement (shared by its batch), new at every claim; the generic plan
    still takes jobs by priority."""
    low = [enqueue(db, priority=0) for _ in range(3)]
    high = [enqueue(db, priority=20) for _ in range(2)]
    rows = exchange(db, [], [], [], batch=2)
    assert sorted(job_id for job_id, _, _ in rows) == sorted(high)
    (first_token,) = {token for _, _, token in rows}
    again = exchange(db, [], [], [], batch=3)
    assert sorted(job_id for job_id, _, _ in again) == sorted(low)
    (second_token,) = {token for _, _, token in again}
    assert second_token != first_token
    stale = exchange(db, [high[0]], [second_token], [None], batch=0)
    assert stale == [] and status(db, high[0]) == "running", "another claim's token completes nothing"
    done = exchange(db, high, [first_token, first_token], [None, None], batch=0)
    assert sorted(job_id for job_id, _, _ in done) == sorted(high)


def expire(db, job_id) -> None:
    db.execute("update internal.jobs set lease_expires_at = now() - interval '1 second' where id = %s", (job_id,))


def test_a_lost_lease_gives_the_attempt_back_and_counts_a_lease_loss_instead(db):
    """issue 20 item 2: a worker killed three times must not spend the three attempts of a job that never failed"""
    job_id = enqueue(db, max_attempts=3)
    for loss in (1, 2, 3, 4):
        (_, _, attempts, _), = claim(db)
        assert attempts == 1, "every claim after a crash is still the first attempt of the handler"
        expire(db, job_id)
        assert db.execute("select * from internal.reap_expired_leases()").fetchall() == [(job_id, "queued")]
        row = db.execute("select status::text, attempts, lease_losses, error from internal.jobs where id = %s",
                         (job_id,)).fetchone()
        assert row[:3] == ("queued", 0, loss)
        assert f"lease loss {loss} of 10; the attempt is not counted" in row[3]
    (_, token, attempts, _), = claim(db)
    assert db.execute("select internal.complete_jobs(%s, %s)", ([job_id], [token])).fetchone()[0] == job_id
    assert db.execute("select status::text, attempts, lease_losses from internal.jobs where id = %s",
                      (job_id,)).fetchone() == ("succeeded", 1, 4)


def test_a_job_that_loses_its_lease_max_lease_losses_times_fails(db):
    job_id = enqueue(db, max_attempts=5)
    db.execute("update internal.jobs set max_lease_losses = 2 where id = %s", (job_id,))
    claim(db)
    expire(db, job_id)
    assert db.execute("select * from internal.reap_expired_leases()").fetchall() == [(job_id, "queued")]
    claim(db)
    expire(db, job_id)
    assert db.execute("select * from internal.reap_expired_leases()").fetchall() == [(job_id, "failed")]
    row = db.execute("select attempts, lease_losses, error, finished_at is not null from internal.jobs"
                     " where id = %s", (job_id,)).fetchone()
    assert row[:2] == (0, 2) and row[3], "failed for its lease losses, with no handler attempt spent"
    assert row[2].startswith("lease lost 2 times (max_lease_losses)")
    assert db.execute("select internal.retry_job(%s)::text", (job_id,)).fetchone()[0] == "queued"
    assert db.execute("select attempts, lease_losses from internal.jobs where id = %s", (job_id,)).fetchone() == \
        (0, 0), "a manual retry starts afresh"
    with pytest.raises(psycopg.errors.CheckViolation, match="max_lease_losses_is_positive"):
        db.execute("update internal.jobs set max_lease_losses = 0 where id = %s", (job_id,))


def test_a_handler_failure_still_spends_an_attempt_after_lease_losses(db):
    job_id = enqueue(db, max_attempts=1)
    claim(db)
    expire(db, job_id)
    db.execute("select * from internal.reap_expired_leases()")
    (_, token, attempts, _), = claim(db)
    assert attempts == 1
    assert db.execute("select internal.fail_job(%s, %s, 'boom', true)::text", (job_id, token)).fetchone()[0] == \
        "failed", "the only attempt was spent by the handler, not by the crash"


def test_the_worker_exchange_builds_each_claimed_job_as_the_job_dataclass_would(fresh_db):
    """queue._job fills a frozen Job's __dict__ directly and parses payloads and tokens from text (the worker's hot
    path): every shape of payload, the organization and user, and the batch's one token must come out as
    Job(...) built from the row psycopg types itself."""
    from functions_py.jobs import queue
    from functions_py.jobs.registry import Job

    org, user = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        ids = [enqueue(conn, payload=psycopg.types.json.Jsonb(p), organization_id=org, user_id=user)
               for p in ({}, {"to": "a@example.com", "n": [1, 2.5, None], "deep": {"é": "ü\n"}})]
        ids.append(enqueue(conn))  # the default payload
        scalar = enqueue(conn)
        conn.execute("update internal.jobs set payload = '42' where id = %s", (scalar,))  # not an object
        ids.append(scalar)

        async def exchange() -> queue.Exchange:
            async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as aconn:
                return await queue.finish_and_claim(aconn, [], worker="w", claim=10, kinds=["test.noop"],
                                                    lease_seconds=30)

        claimed = sorted(asyncio.run(exchange()).claimed, key=lambda job: job.id)
        rows = conn.execute("select id, kind, payload, attempts, max_attempts, organization_id, user_id, lease_token"
                            " from internal.jobs where id = any(%s) order by id", (ids,)).fetchall()
    expected = [Job(id=r[0], kind=r[1], payload=r[2] if isinstance(r[2], dict) else {"value": r[2]}, attempts=r[3],
                    max_attempts=r[4], organization_id=r[5], user_id=r[6], lease_token=r[7]) for r in rows]
    assert claimed == expected
    assert [type(job.lease_token) for job in claimed] == [uuid.UUID] * 4
    assert claimed[0].organization_id == org and claimed[3].payload == {"value": 42}
    assert claimed[0].payload is not claimed[2].payload, "each job gets its own payload dict to change"
    with pytest.raises(AttributeError):
        claimed[0].kind = "other"  # still frozen
