"""Backups and restores (sql/0031, functions_py/provisioning/backups.py): schedules per plan, the backup saga with
the local provider and an S3 bucket on moto, and with the aws provider on moto (EBS snapshots); retention; retries
and the failure alert; the restore saga reproducing the data, its compensation, and the owner-only RPC."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from psycopg_pool import AsyncConnectionPool

from functions_py.errors import RequestError
from functions_py.handlers.provisioning import run as provisioning_run
from functions_py.jobs import queue
from functions_py.jobs.registry import JobContext, RetryableJobError
from functions_py.postgrest import as_user
from functions_py.provisioning import backups
from functions_py.provisioning.backups import BackupOperations
from functions_py.provisioning.local import LocalProvider
from functions_py.provisioning.provider import PermanentStepError, RetryableStepError, StepContext
from functions_py.provisioning.saga import execute_run
from tests.provisioning_helpers import emails, make_org, request, run_row, run_saga, steps

BUCKET = "supakit-backups-test"


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def local_s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """The local provider under tmp_path, exports to an S3 bucket in moto's in-process AWS; returns the S3 client."""
    for name in ("SUPAKIT_PROVISIONING_DIR", "SUPAKIT_MAILDIR", "SUPAKIT_PROVISIONING_STEP_DELAY_S",
                 "SUPAKIT_SMTP_HOST", "AWS_ENDPOINT_URL", "AWS_PROFILE", "SUPAKIT_BACKUP_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (("SUPAKIT_DATA_DIR", str(tmp_path)), ("SUPAKIT_PROVISIONING_PROVIDER", "local"),
                        ("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("SUPAKIT_BACKUP_BUCKET", BUCKET)):
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield s3


def provisioned(conn: psycopg.Connection, url: str, plan: str = "team") -> dict[str, Any]:
    """An organization provisioned with the local provider, with a table of notes in its schema."""
    org = make_org(conn, plan=plan)
    assert run_saga(url, request(conn, org["id"])).status == "succeeded"
    schema = f"customer_{org['id'].hex}"
    with conn.transaction():
        conn.execute(f'set local role "{schema}"')
        conn.execute(f'create table "{schema}".notes (id integer primary key, body text not null, tags text[],'
                     f' created_at timestamptz not null default now(), score numeric(6, 2))')
        conn.execute(f'insert into "{schema}".notes (id, body, tags, score) values (1, %s, %s, 1.5), (2, %s, null,'
                     f' null)', ("first 'note'", ["a", "b"], "second\nnote"))
        conn.execute(f'create table "{schema}".empty_table (k text)')
    return {**org, "schema": schema}


def notes(conn: psycopg.Connection, schema: str) -> list[tuple]:
    return conn.execute(f'select id, body, tags, created_at, score from "{schema}".notes order by id').fetchall()


def schemas(conn: psycopg.Connection, org: dict[str, Any]) -> list[str]:
    return [n for n, in conn.execute("select nspname::text from pg_namespace where nspname like %s order by 1",
                                     (f"customer_{org['id'].hex}%",))]


def backup_row(conn: psycopg.Connection, backup_id: uuid.UUID) -> dict[str, Any]:
    cur = conn.execute("select * from public.backups where id = %s", (backup_id,))
    return dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))


def take_backup(conn: psycopg.Connection, url: str, org: dict[str, Any], **saga: Any) -> tuple[uuid.UUID, str]:
    run_id = backups.request_backup(conn, org["id"], "test")
    outcome = run_saga(url, run_id, **saga)
    return run_row(conn, run_id)["backup_id"], outcome.status


# --- schedules ------------------------------------------------------------------------------------------------


def test_backup_schedules_follow_the_infrastructure_and_its_plan(conn, fresh_db, local_s3):
    def schedule(org_id: uuid.UUID) -> tuple | None:
        return conn.execute("select kind, every::text, payload from internal.job_schedules where name = %s",
                            (f"backups:{org_id}",)).fetchone()

    org = make_org(conn, plan="team")
    run_id = request(conn, org["id"])
    assert schedule(org["id"]) is None, "nothing to back up while it is being provisioned"
    run_saga(fresh_db, run_id)
    assert schedule(org["id"]) == ("provisioning.backup", "01:00:00", {"organization_id": str(org["id"])}), \
        "Team: hourly"
    conn.execute("update public.customer_infrastructure set plan_id = 'pro' where organization_id = %s", (org["id"],))
    assert schedule(org["id"])[1] == "1 day", "Pro: daily"
    conn.execute("update public.customer_infrastructure set plan_id = 'free' where organization_id = %s",
                 (org["id"],))
    assert schedule(org["id"]) is None, "Free: no backups"
    conn.execute("update public.customer_infrastructure set plan_id = 'team' where organization_id = %s",
                 (org["id"],))
    conn.execute("update public.customer_infrastructure set status = 'deleted' where organization_id = %s",
                 (org["id"],))
    assert schedule(org["id"]) is None, "deleted infrastructure is not backed up"


def test_a_schedule_slot_requests_exactly_one_backup(conn, fresh_db, local_s3):
    org = provisioned(conn, fresh_db)
    conn.execute("update internal.job_schedules set next_run_at = next_run_at - interval '1 hour' where name = %s",
                 (f"backups:{org['id']}",))
    (_, slot_text, job_id), = conn.execute("select schedule_name, slot, job_id from internal.fire_due_schedules()"
                                           " where schedule_name like 'backups:%'").fetchall()
    payload = conn.execute("select payload from internal.jobs where id = %s", (job_id,)).fetchone()[0]
    first = backups.request_backup(conn, org["id"], "scheduled", payload["slot"])
    again = backups.request_backup(conn, org["id"], "scheduled", payload["slot"])
    assert first == again, "the same slot, the same backup (a retried provisioning.backup job)"
    assert conn.execute("select count(*) from public.backups where organization_id = %s",
                        (org["id"],)).fetchone()[0] == 1
    assert conn.execute("select kind, dedupe_key from internal.jobs where id = %s",
                        (run_row(conn, first)["job_id"],)).fetchone() == ("provisioning.run", f"backup:{org['id']}")


# --- backup ---------------------------------------------------------------------------------------------------


def test_a_backup_snapshots_the_instance_and_exports_the_data_to_s3_with_size_and_sha256(conn, fresh_db, local_s3,
                                                                                         tmp_path):
    org = provisioned(conn, fresh_db)
    backup_id, status = take_backup(conn, fresh_db, org)
    assert status == "succeeded"
    row = backup_row(conn, backup_id)
    assert (row["status"], row["provider"], row["plan_id"]) == ("succeeded", "local", "team")
    key = f"supakit-backups/{org['id']}/{row['export_url'].rsplit('/', 1)[1]}"
    assert row["export_url"] == f"s3://{BUCKET}/{key}"
    stored = local_s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert row["size_bytes"] == len(stored) and row["sha256"] == hashlib.sha256(stored).hexdigest()
    document = json.loads(gzip.decompress(stored))
    tables = {t["name"]: t for t in document["data"]["tables"]}
    assert [r["id"] for r in tables["notes"]["rows"]] == [1, 2] and tables["notes"]["primary_key"] == ["id"]
    assert tables["empty_table"]["rows"] == []
    snapshot = Path(row["snapshot"]["path"])
    assert row["snapshot_id"] == f"local:{snapshot.name}" and (snapshot / "app" / "config.json").is_file()
    assert [s[:2] for s in steps(conn, run_row(conn, backup_id_run(conn, backup_id))["id"])] == [
        ("snapshot", "succeeded"), ("export", "succeeded")]
    assert emails(conn, org["id"], "provisioning_complete") == emails(conn, org["id"], "provisioning_complete")[:1], \
        "a backup run sends no provisioning e-mail"
    assert conn.execute("select status from public.customer_infrastructure where organization_id = %s",
                        (org["id"],)).fetchone()[0] == "active", "a backup leaves the infrastructure as it is"


def backup_id_run(conn: psycopg.Connection, backup_id: uuid.UUID) -> uuid.UUID:
    return conn.execute("select id from public.provisioning_runs where backup_id = %s and kind = 'backup'",
                        (backup_id,)).fetchone()[0]


def test_without_a_bucket_exports_go_to_the_backups_directory(conn, fresh_db, local_s3, monkeypatch, tmp_path):
    monkeypatch.delenv("SUPAKIT_BACKUP_BUCKET")
    org = provisioned(conn, fresh_db)
    backup_id, status = take_backup(conn, fresh_db, org)
    row = backup_row(conn, backup_id)
    path = Path(row["export_url"].removeprefix("file://"))
    assert status == "succeeded" and path.is_relative_to(tmp_path / "backups")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]


class ExportThrottled(BackupOperations):
    """S3 answers SlowDown to every write: a retryable failure."""

    def export_data(self, ctx: StepContext) -> dict[str, Any]:
        raise RetryableStepError("S3 refused to write: SlowDown: Please reduce your request rate")


def test_a_failing_backup_is_retried_then_rolled_back_and_the_owners_are_alerted(conn, fresh_db, local_s3):
    org = provisioned(conn, fresh_db)
    run_id = backups.request_backup(conn, org["id"], "test")
    operations = ExportThrottled(LocalProvider.from_env(fresh_db))
    with pytest.raises(RetryableStepError):
        run_saga(fresh_db, run_id, provider=operations, final_attempt=False)
    assert run_row(conn, run_id)["status"] == "running", "not the last attempt: left for the job's retry"
    assert steps(conn, run_id) == [("snapshot", "succeeded", 1), ("export", "running", 1)]
    snapshot = Path(conn.execute("select output ->> 'path' from public.provisioning_steps where run_id = %s"
                                 " and name = 'snapshot'", (run_id,)).fetchone()[0])
    assert snapshot.is_dir()

    operations = ExportThrottled(LocalProvider.from_env(fresh_db))
    assert run_saga(fresh_db, run_id, provider=operations, final_attempt=True).status == "rolled_back"
    assert steps(conn, run_id) == [("snapshot", "compensated", 1), ("export", "compensated", 2)]
    assert not snapshot.exists(), "the snapshot of the failed backup was deleted"
    backup = backup_row(conn, run_row(conn, run_id)["backup_id"])
    assert backup["status"] == "failed" and "SlowDown" in backup["error"]
    alerts = emails(conn, org["id"], "backup_failed")
    assert [to for to, _ in alerts] == [org["owner_email"]] and alerts[0][1]["backup_id"] == str(backup["id"])
    assert local_s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0, "no export left behind"


def test_retention_expires_backups_beyond_the_plan_keep_count(conn, fresh_db, local_s3):
    org = provisioned(conn, fresh_db, plan="pro")
    conn.execute("update internal.backup_policies set keep = 2 where plan_id = 'pro'")
    taken = [take_backup(conn, fresh_db, org)[0] for _ in range(3)]
    statuses = [backup_row(conn, b)["status"] for b in taken]
    assert statuses == ["expiring", "succeeded", "succeeded"], "the newest two are kept"
    job = conn.execute("select kind, payload from internal.jobs where dedupe_key = %s",
                       (f"expire_backups:{org['id']}",)).fetchone()
    assert job == ("provisioning.expire_backups", {"organization_id": str(org["id"])})
    oldest = backup_row(conn, taken[0])
    assert backups.expire_backups(fresh_db, org["id"]) == [taken[0]]
    assert backups.expire_backups(fresh_db, org["id"]) == [], "idempotent"
    assert backup_row(conn, taken[0])["status"] == "expired"
    keys = [o["Key"] for o in local_s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 2 and oldest["export_url"].rsplit("/", 1)[1] not in " ".join(keys)
    assert not Path(oldest["snapshot"]["path"]).exists()


def test_aws_backup_takes_an_ebs_snapshot_and_exports_the_app_config(conn, fresh_db, monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("SUPAKIT_PROVISIONING_PROVIDER", "aws"),
                        ("SUPAKIT_BACKUP_BUCKET", BUCKET)):
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "SUPAKIT_AWS_AMI_ID", "SUPAKIT_PROVISIONING_STEP_DELAY_S"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        zone = boto3.client("route53").create_hosted_zone(Name="customers.example.com",
                                                         CallerReference=uuid.uuid4().hex)
        monkeypatch.setenv("SUPAKIT_AWS_HOSTED_ZONE_ID", zone["HostedZone"]["Id"].split("/")[-1])
        s3, ec2, ssm = boto3.client("s3"), boto3.client("ec2"), boto3.client("ssm")
        s3.create_bucket(Bucket=BUCKET)
        org = make_org(conn, plan="team")
        assert run_saga(fresh_db, request(conn, org["id"])).status == "succeeded"
        backup_id, status = take_backup(conn, fresh_db, org)
        assert status == "succeeded"
        row = backup_row(conn, backup_id)
        snapshots = ec2.describe_snapshots(Filters=[{"Name": "tag:supakit:organization",
                                                     "Values": [str(org["id"])]}])["Snapshots"]
        assert [s["SnapshotId"] for s in snapshots] == [row["snapshot_id"]], "one snapshot, the one recorded"
        tags = {t["Key"]: t["Value"] for t in snapshots[0]["Tags"]}
        assert tags["supakit:key"].endswith(":snapshot") and tags["supakit:organization"] == str(org["id"])
        stored = s3.get_object(Bucket=BUCKET, Key=row["export_url"].split(f"{BUCKET}/", 1)[1])["Body"].read()
        assert hashlib.sha256(stored).hexdigest() == row["sha256"]
        parameter = f"/supakit/customers/{org['id']}/app-config"
        exported = json.loads(gzip.decompress(stored))["data"]
        assert exported["app_config"] == json.loads(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])

        # restore: the app config as it was in the backup, after it changed
        ssm.put_parameter(Name=parameter, Value=json.dumps({"changed": True}), Type="String", Overwrite=True)
        restore_run = backups.request_restore(conn, backup_id)
        assert run_saga(fresh_db, restore_run).status == "succeeded"
        assert json.loads(ssm.get_parameter(Name=parameter)["Parameter"]["Value"]) == exported["app_config"]
        names = [p["Name"] for p in ssm.describe_parameters()["Parameters"]]
        assert names == [parameter], "nothing staged or kept aside is left"


# --- restore --------------------------------------------------------------------------------------------------


def test_restoring_a_backup_reproduces_the_data(conn, fresh_db, local_s3):
    org = provisioned(conn, fresh_db)
    before = notes(conn, org["schema"])
    backup_id, _ = take_backup(conn, fresh_db, org)
    with conn.transaction():
        conn.execute(f'set local role "{org["schema"]}"')
        conn.execute(f'delete from "{org["schema"]}".notes where id = 1')
        conn.execute(f'update "{org["schema"]}".notes set body = %s where id = 2', ("overwritten",))
        conn.execute(f'insert into "{org["schema"]}".notes (id, body) values (3, %s)', ("added later",))
        conn.execute(f'drop table "{org["schema"]}".empty_table')
        conn.execute(f'create table "{org["schema"]}".made_later (x int)')
    assert notes(conn, org["schema"]) != before

    run_id = backups.request_restore(conn, backup_id, "test")
    assert backups.request_restore(conn, backup_id, "test") == run_id, "asked twice: one restore"
    outcome = run_saga(fresh_db, run_id)

    assert outcome.status == "succeeded"
    assert notes(conn, org["schema"]) == before, "every row as it was in the backup, types included"
    tables = [t for t, in conn.execute("select tablename::text from pg_tables where schemaname = %s order by 1",
                                       (org["schema"],))]
    assert tables == ["empty_table", "notes"]
    assert schemas(conn, org) == [org["schema"]], "nothing staged or kept aside is left"
    owner = conn.execute("select tableowner::text from pg_tables where schemaname = %s and tablename = 'notes'",
                         (org["schema"],)).fetchone()[0]
    assert owner == org["schema"], "the restored tables belong to the customer's role"
    assert [s[:2] for s in steps(conn, run_id)] == [("stage", "succeeded"), ("swap", "succeeded"),
                                                    ("verify", "succeeded"), ("retire", "succeeded")]
    assert [to for to, _ in emails(conn, org["id"], "restore_complete")] == [org["owner_email"]]
    assert conn.execute("select status from public.customer_infrastructure where organization_id = %s",
                        (org["id"],)).fetchone()[0] == "active"


class VerifyFails(BackupOperations):
    """The restored data does not check out (simulated): the swap must be undone."""

    def check_data(self, ctx: StepContext) -> dict[str, Any]:
        raise PermanentStepError("the restored data does not match the export (simulated)")


def test_a_failing_restore_step_compensates_and_the_live_data_is_back(conn, fresh_db, local_s3):
    org = provisioned(conn, fresh_db)
    backup_id, _ = take_backup(conn, fresh_db, org)
    with conn.transaction():
        conn.execute(f'set local role "{org["schema"]}"')
        conn.execute(f'insert into "{org["schema"]}".notes (id, body) values (3, %s)', ("written after",))
    live = notes(conn, org["schema"])
    run_id = backups.request_restore(conn, backup_id)
    outcome = run_saga(fresh_db, run_id, provider=VerifyFails(LocalProvider.from_env(fresh_db)))
    assert outcome.status == "rolled_back"
    assert [s[:2] for s in steps(conn, run_id)] == [("stage", "compensated"), ("swap", "compensated"),
                                                    ("verify", "compensated"), ("retire", "pending")]
    assert notes(conn, org["schema"]) == live, "the data as it was before the restore"
    assert schemas(conn, org) == [org["schema"]]
    failed = emails(conn, org["id"], "restore_failed")
    assert [to for to, _ in failed] == [org["owner_email"]] and failed[0][1]["status"] == "rolled_back"


def test_a_tampered_export_is_refused_and_nothing_changes(conn, fresh_db, local_s3):
    org = provisioned(conn, fresh_db)
    backup_id, _ = take_backup(conn, fresh_db, org)
    url = backup_row(conn, backup_id)["export_url"]
    local_s3.put_object(Bucket=BUCKET, Key=url.split(f"{BUCKET}/", 1)[1], Body=gzip.compress(b'{"format": "x"}'))
    before = notes(conn, org["schema"])
    run_id = backups.request_restore(conn, backup_id)
    assert run_saga(fresh_db, run_id).status == "rolled_back"
    assert "does not match its backup record" in run_row(conn, run_id)["error"]
    assert notes(conn, org["schema"]) == before and schemas(conn, org) == [org["schema"]]


def test_only_a_succeeded_backup_can_be_restored(conn, fresh_db, local_s3):
    org = provisioned(conn, fresh_db)
    run_id = backups.request_backup(conn, org["id"])
    pending = run_row(conn, run_id)["backup_id"]
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="only a succeeded backup"):
        backups.request_restore(conn, pending)
    with pytest.raises(psycopg.errors.NoDataFound, match="not found"):
        backups.request_restore(conn, uuid.uuid4())


def test_a_restore_waiting_for_an_earlier_run_spends_no_attempt_and_starts_when_that_run_ends(conn, fresh_db,
                                                                                                local_s3):
    """sql/0034: runs of one organization go one at a time, in order; the later one's job waits without using up
    its attempts (5 by default, ~40 s of backoff: less than a resize on AWS takes) and is made due at the end."""
    org = provisioned(conn, fresh_db)
    before = notes(conn, org["schema"])
    backup_id, _ = take_backup(conn, fresh_db, org)
    conn.execute(f'delete from "{org["schema"]}".notes')
    earlier = backups.request_backup(conn, org["id"], "the run that goes first")
    restore = backups.request_restore(conn, backup_id, "test")
    job_of = "select job_id from public.provisioning_runs where id = %s"
    earlier_job, restore_job = (conn.execute(job_of, (r,)).fetchone()[0] for r in (earlier, restore))
    # the runs above were executed here, not by their jobs: only the restore's job may be claimed
    conn.execute("update internal.jobs set run_at = now() + interval '1 hour' where status = 'queued' and id <> %s",
                 (restore_job,))
    assert earlier_job != restore_job

    async def one_try(pool: AsyncConnectionPool) -> object:
        """What a worker does with the restore's job: claim it, run the handler, write the outcome."""
        async with pool.connection() as own:
            await own.set_autocommit(True)
            (job,) = (await queue.finish_and_claim(own, [], worker="t", claim=1, kinds=["provisioning.run"],
                                                   lease_seconds=60)).claimed
            assert job.id == restore_job
            try:
                result = await provisioning_run(job, JobContext(pool=pool, worker="t"))
            except RetryableJobError as error:
                await queue.finish_and_claim(own, [queue.Finished(job, "failed", error=error.message)], worker="t",
                                             claim=0, kinds=["provisioning.run"], lease_seconds=60)
                return error
            await queue.finish_and_claim(own, [queue.Finished(job, "succeeded", result=json.dumps(result))],
                                         worker="t", claim=0, kinds=["provisioning.run"], lease_seconds=60)
            return result

    async def scenario() -> None:
        async with AsyncConnectionPool(fresh_db, min_size=1, max_size=2, open=False) as pool:
            for _ in range(7):  # more tries than the job's 5 attempts
                conn.execute("update internal.jobs set run_at = now() where id = %s", (restore_job,))
                outcome = await one_try(pool)
                assert isinstance(outcome, RetryableJobError) and "earlier run of the other kind" in outcome.message
            status, attempts, max_attempts, due_later = conn.execute(
                "select status::text, attempts, max_attempts, run_at > now() from internal.jobs where id = %s",
                (restore_job,)).fetchone()
            assert (status, attempts, max_attempts, due_later) == ("queued", 7, 12, True), "each wait gave one back"
            assert run_row(conn, restore)["status"] == "pending" and notes(conn, org["schema"]) == []
            assert conn.execute("select internal.keep_provisioning_job_waiting(%s, gen_random_uuid())",
                                (restore_job,)).fetchone()[0] is False, "only the lease holder extends the job"

            assert (await execute_run(fresh_db, earlier)).status == "succeeded"
            assert conn.execute("select run_at <= now() from internal.jobs where id = %s",
                                (restore_job,)).fetchone()[0], "the earlier run's end makes the waiting job due"
            assert await one_try(pool) == {"run_id": str(restore), "kind": "restore", "status": "succeeded"}

    asyncio.run(scenario())
    assert notes(conn, org["schema"]) == before


def test_the_restore_rpc_is_for_owners_only(db, make_user):
    owner, admin, member, outsider = make_user(), make_user(), make_user(), make_user()
    org = db.execute("insert into public.organizations (name, slug) values ('R', %s) returning id",
                     (f"r-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
    db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner'),"
               " (%s, %s, 'admin'), (%s, %s, 'member')", (org, owner, org, admin, org, member))
    db.execute("insert into public.customer_infrastructure (organization_id, plan_id, status, provider)"
               " values (%s, 'team', 'active', 'local')", (org,))
    backup = db.execute("insert into public.backups (organization_id, plan_id, provider, status, export_url,"
                        " size_bytes, sha256, finished_at) values (%s, 'team', 'local', 'succeeded', 's3://b/k', 1,"
                        " repeat('a', 64), now()) returning id", (org,)).fetchone()[0]
    for user in (admin, member, outsider):
        with pytest.raises(RequestError) as refused, as_user(db, user, method="POST") as cur:
            cur.execute("select public.request_restore(%s)", (backup,))
        assert refused.value.status == 404, "anyone but an owner is told the backup does not exist"
    with as_user(db, owner, method="POST") as cur:
        run_id = cur.execute("select public.request_restore(%s)", (backup,)).fetchone()[0]
    run = db.execute("select kind, backup_id, status from public.provisioning_runs where id = %s",
                     (run_id,)).fetchone()
    assert run == ("restore", backup, "pending")
    with pytest.raises(RequestError) as refused, as_user(db, owner, method="POST") as cur:
        cur.execute("select public.request_restore(null)")
    assert refused.value.status == 400
