"""A provisioning run ends whenever its job ends (sql/0016, issue 20 item 2): whatever made the job terminal (a
permanent error, its lease lost too often, an operator's cancel), the run is driven to a terminal state with
compensation, so no run stays `running` with the organization's resources left behind."""

from __future__ import annotations

import asyncio
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from functions_py.provisioning.local import LocalProvider
from functions_py.provisioning.provider import RetryableStepError, StepContext
from functions_py.provisioning.saga import execute_run
from tests.conftest import ROOT, migrator
from tests.provisioning_helpers import emails, infra, make_org, request, run_row, run_saga, steps


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("SUPAKIT_PROVISIONING_DIR", "SUPAKIT_MAILDIR", "SUPAKIT_PROVISIONING_DOMAIN",
                 "SUPAKIT_PROVISIONING_STEP_DELAY_S", "SUPAKIT_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPAKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPAKIT_PROVISIONING_PROVIDER", "local")
    return tmp_path


class MailUnavailable(LocalProvider):
    """The local provider with a mail service that is down for now (a retryable error)."""

    def create_mail_identity(self, ctx: StepContext) -> dict:
        raise RetryableStepError("mail service unavailable")


def job_of(conn: psycopg.Connection, run_id: uuid.UUID) -> tuple[int, str, str]:
    return conn.execute("select j.id, j.kind, j.status::text from public.provisioning_runs as r"
                        " join internal.jobs as j on j.id = r.job_id where r.id = %s", (run_id,)).fetchone()


def claim(conn: psycopg.Connection, job_id: int) -> uuid.UUID:
    kind, = conn.execute("select kind from internal.jobs where id = %s", (job_id,)).fetchone()
    rows = conn.execute("select id, lease_token from internal.claim_jobs('tester', 10, %s, 30)", ([kind],)).fetchall()
    return dict(rows)[job_id]


def fail_for_good(conn: psycopg.Connection, job_id: int, message: str = "the handler gave up") -> None:
    token = claim(conn, job_id)
    assert conn.execute("select internal.fail_job(%s, %s, %s, false)::text",
                        (job_id, token, message)).fetchone()[0] == "failed"


def lose_lease_for_good(conn: psycopg.Connection, job_id: int) -> None:
    conn.execute("update internal.jobs set max_lease_losses = 1 where id = %s", (job_id,))
    claim(conn, job_id)
    conn.execute("update internal.jobs set lease_expires_at = now() - interval '1 second' where id = %s", (job_id,))
    assert conn.execute("select * from internal.reap_expired_leases()").fetchall() == [(job_id, "failed")]


def role_exists(conn: psycopg.Connection, org: uuid.UUID) -> bool:
    return conn.execute("select exists (select 1 from pg_roles where rolname = %s)",
                        (f"customer_{org.hex}",)).fetchone()[0]


@pytest.mark.parametrize("how", ["fail", "cancel", "lease"])
def test_a_job_that_ends_before_any_step_started_rolls_its_run_back(conn, how):
    org = make_org(conn)
    run_id = request(conn, org["id"])
    job_id, kind, _ = job_of(conn, run_id)
    assert kind == "provisioning.run"
    {"fail": fail_for_good, "cancel": lambda c, j: c.execute("select internal.cancel_job(%s)", (j,)),
     "lease": lose_lease_for_good}[how](conn, job_id)

    run = run_row(conn, run_id)
    assert run["status"] == "rolled_back", "nothing was made, so nothing is undone: the run is over"
    assert f"its job {job_id} ended" in run["error"]
    assert infra(conn, org["id"])["status"] == "deleted"
    assert [to for to, _ in emails(conn, org["id"], "provisioning_failed")] == [org["owner_email"]]
    again = request(conn, org["id"])
    assert again not in (None, run_id), "a new request starts a new run instead of returning the dead one"


def test_a_job_that_ends_mid_run_queues_a_compensation_that_removes_every_resource(conn, fresh_db, local_env):
    org = make_org(conn)
    run_id = request(conn, org["id"])
    job_id, _, _ = job_of(conn, run_id)
    with pytest.raises(RetryableStepError, match="mail service unavailable"):
        run_saga(fresh_db, run_id, provider=MailUnavailable.from_env(fresh_db), final_attempt=False)
    assert [s[:2] for s in steps(conn, run_id)[:3]] == [("instance", "succeeded"), ("dns", "succeeded"),
                                                       ("mail", "running")]
    assert role_exists(conn, org["id"]), "the instance step made the customer's role"

    lose_lease_for_good(conn, job_id)  # e.g. the fifth worker in a row was killed while running it

    run = run_row(conn, run_id)
    assert run["status"] == "compensating" and "lease lost" in run["error"]
    compensation, kind, status = job_of(conn, run_id)
    assert (kind, status) == ("provisioning.run", "queued") and compensation != job_id, \
        "a new job undoes what was made"
    assert request(conn, org["id"]) == run_id, "while it rolls back, a request answers the live run"
    # an executor still holding the old job may not record progress on a run that is rolling back
    mail_step, = conn.execute("select id from public.provisioning_steps where run_id = %s and name = 'mail'",
                              (run_id,)).fetchone()
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="is compensating, not running"):
        conn.execute("select internal.succeed_provisioning_step(%s, '{}')", (mail_step,))

    assert run_saga(fresh_db, run_id).status == "rolled_back"
    assert [s[1] for s in steps(conn, run_id)] == ["compensated"] * 3 + ["pending"] * 2, \
        "the step in flight (mail) was undone as well"
    assert not role_exists(conn, org["id"]), "the role is gone"
    assert (local_env / "provisioning" / "hosts").read_text() == "", "so is the hosts line"
    assert not (local_env / "provisioning" / "customers" / str(org["id"])).exists(), "and the credentials"
    assert infra(conn, org["id"])["status"] == "deleted" and infra(conn, org["id"])["resources"] == {}


def test_a_compensation_whose_job_ends_too_fails_the_run_and_says_resources_may_be_left(conn, fresh_db, local_env):
    org = make_org(conn)
    run_id = request(conn, org["id"])
    job_id, _, _ = job_of(conn, run_id)
    with pytest.raises(RetryableStepError):
        run_saga(fresh_db, run_id, provider=MailUnavailable.from_env(fresh_db), final_attempt=False)
    fail_for_good(conn, job_id)
    compensation, _, _ = job_of(conn, run_id)
    conn.execute("select internal.cancel_job(%s)", (compensation,))

    run = run_row(conn, run_id)
    assert run["status"] == "failed" and run["error"].startswith("rollback stopped: its job")
    assert conn.execute("select count(*) from internal.jobs where kind = 'provisioning.run' and status in"
                        " ('queued', 'running')").fetchone()[0] == 0, "no endless chain of jobs"
    assert infra(conn, org["id"])["status"] == "failed"
    assert request(conn, org["id"]) is None, "a failed rollback is retried by an operator first"
    assert run_saga(fresh_db, run_id).status == "rolled_back", "which `supakit provision retry` does"
    assert not role_exists(conn, org["id"])


def test_a_teardown_whose_job_ends_fails_its_run(conn, fresh_db, local_env):
    org = make_org(conn)
    assert run_saga(fresh_db, request(conn, org["id"])).status == "succeeded"
    teardown = conn.execute("select internal.request_deprovisioning(%s, 'test')", (org["id"],)).fetchone()[0]
    job_id, kind, _ = job_of(conn, teardown)
    assert kind == "provisioning.deprovision"
    fail_for_good(conn, job_id)

    run = run_row(conn, teardown)
    assert run["status"] == "failed" and run["error"].startswith("teardown stopped: its job")
    assert infra(conn, org["id"])["status"] == "active", "a teardown that never started changed nothing"
    again = conn.execute("select internal.request_deprovisioning(%s, 'retry')", (org["id"],)).fetchone()[0]
    assert again not in (None, teardown), "a new teardown can be requested"
    assert run_saga(fresh_db, again).status == "succeeded"
    assert not role_exists(conn, org["id"])


def test_a_job_that_succeeded_leaves_a_finished_run_alone(conn, fresh_db, local_env):
    org = make_org(conn)
    run_id = request(conn, org["id"])
    job_id, _, _ = job_of(conn, run_id)
    token = claim(conn, job_id)
    assert run_saga(fresh_db, run_id).status == "succeeded"
    conn.execute("select internal.complete_jobs(%s, %s)", ([job_id], [token]))
    assert run_row(conn, run_id)["status"] == "succeeded"
    assert conn.execute("select count(*) from internal.jobs where kind = 'provisioning.run'").fetchone()[0] == 1


class SlowInstance(LocalProvider):
    """The local provider whose instance step blocks until the test lets it go."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entered, self.release = threading.Event(), threading.Event()

    def create_instance(self, ctx: StepContext) -> dict:
        self.entered.set()
        assert self.release.wait(30), "the test never let the step go"
        return super().create_instance(ctx)


def test_a_cancelled_executor_keeps_the_run_locked_until_its_provider_call_returns(conn, fresh_db, local_env):
    """A thread cannot be interrupted: a saga cancelled (job cancelled, lease lost) while its provider makes a
    resource must not let another executor in (a compensation) before the call is over, or that resource leaks."""
    org = make_org(conn)
    run_id = request(conn, org["id"])
    provider = SlowInstance.from_env(fresh_db)

    def lock_is_free() -> bool:
        with psycopg.connect(fresh_db, autocommit=True) as other:
            key = "hashtextextended('supakit.provisioning.run:' || %s::text, 0)"
            if other.execute(f"select pg_try_advisory_lock({key})", (org["id"],)).fetchone()[0]:
                other.execute(f"select pg_advisory_unlock({key})", (org["id"],))
                return True
            return False

    async def main() -> None:
        task = asyncio.create_task(execute_run(fresh_db, run_id, provider=provider, final_attempt=False))
        assert await asyncio.to_thread(provider.entered.wait, 30)
        task.cancel()
        await asyncio.sleep(0)  # deliver the cancellation
        assert not await asyncio.to_thread(lock_is_free), "the lock is held while the provider call runs"
        assert not task.done()
        provider.release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(lock_is_free), "and let go once it returned"

    asyncio.run(main())
    assert role_exists(conn, org["id"]), "the call finished its resource"
    assert steps(conn, run_id)[0][:2] == ("instance", "running"), "left in flight: the next executor resumes it"


def test_migrating_to_0016_ends_the_runs_the_defect_already_stranded(empty_db, tmp_path):
    """Databases that ran the old accounting hold runs left `running` by a failed job, or `pending` with their job
    pruned; sql/0016 ends them as the trigger would have."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "supabase" / "compat", project / "supabase" / "compat")
    # The old database: migrations before 0016, no policies (today's policies need today's migrations; set-up runs
    # as the superuser, which they do not restrict). The upgrade below brings 0016, everything after it and policies.
    (project / "policies").mkdir()
    (project / "sql").mkdir()
    for path in sorted((ROOT / "sql").glob("*.sql")):
        if path.name < "0016":
            shutil.copy(path, project / "sql")
    migrator(empty_db, project).migrate()
    with psycopg.connect(empty_db, autocommit=True) as conn:
        first, second = make_org(conn), make_org(conn)
        stranded = request(conn, first["id"])  # as issue 20 saw it: a step done, the job failed, the run running
        conn.execute("update public.provisioning_runs set status = 'running', started_at = now() where id = %s",
                     (stranded,))
        conn.execute("insert into public.provisioning_steps (run_id, organization_id, ordinal, name, idempotency_key,"
                     " status) values (%s, %s, 1, 'instance', %s, 'succeeded')",
                     (stranded, first["id"], f"{stranded}:instance"))
        job_id = run_row(conn, stranded)["job_id"]
        fail_for_good(conn, job_id, "lease expired: the worker w stopped heart-beating")
        orphaned = request(conn, second["id"])  # pending, its job pruned
        conn.execute("delete from internal.jobs where id = %s", (run_row(conn, orphaned)["job_id"],))

        for path in sorted((ROOT / "sql").glob("*.sql")):
            if path.name >= "0016":
                shutil.copy(path, project / "sql")
        shutil.rmtree(project / "policies")
        shutil.copytree(ROOT / "policies", project / "policies")
        migrator(empty_db, project).migrate()

        assert run_row(conn, stranded)["status"] == "compensating", "its done step will be undone"
        assert job_of(conn, stranded)[1:] == ("provisioning.run", "queued")
        assert run_row(conn, orphaned)["status"] == "rolled_back"
        assert "ended and was pruned" in run_row(conn, orphaned)["error"]
