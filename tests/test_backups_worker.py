"""Backups and restores under real processes: `supakit provision backup/backups/restore` in a subprocess, and
`supakit worker` processes SIGKILLed inside backup and restore steps, resumed by another worker without a second of
anything (the export goes to an S3 bucket on moto's server, which the worker subprocesses reach over HTTP)."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer

from functions_py.embedded import free_port
from tests.cli import run_cli
from tests.provisioning_helpers import make_org, request, run_row, steps
from tests.test_provisioning_worker import local_env, spawn  # noqa: F401, F811 - the fixture
from tests.test_worker import wait_until

BUCKET = "supakit-backups-kill"


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def s3_server() -> Iterator[dict[str, Any]]:
    """moto's S3 over HTTP with a bucket, and the environment that points workers' boto3 there."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "SUPAKIT_BACKUP_BUCKET": BUCKET}
    s3 = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                               region_name="us-east-1").client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    s3.create_bucket(Bucket=BUCKET)
    try:
        yield {"env": env, "s3": s3}
    finally:
        server.stop()


def finished(conn: psycopg.Connection, run_id: uuid.UUID) -> Callable[[], bool]:
    def check() -> bool:
        """the run reached a terminal state"""
        return run_row(conn, run_id)["status"] in ("succeeded", "rolled_back", "failed")

    return check


def provision_with_notes(conn: psycopg.Connection, spawn_, tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    org = make_org(conn, plan="team")
    run_id = request(conn, org["id"])
    provisioner = spawn_("provisioner", local_env(tmp_path, **env))
    wait_until(finished(conn, run_id), timeout=60, interval=0.2)
    provisioner.kill()
    provisioner.wait(5)
    assert run_row(conn, run_id)["status"] == "succeeded"
    schema = f"customer_{org['id'].hex}"
    with conn.transaction():
        conn.execute(f'set local role "{schema}"')
        conn.execute(f'create table "{schema}".notes (id integer primary key, body text not null)')
        conn.execute(f'insert into "{schema}".notes select n, %s || n from generate_series(1, 50) as n', ("note ",))
    return {**org, "schema": schema}


def kill_inside(conn: psycopg.Connection, spawn_, name: str, env: dict[str, str], run_id: uuid.UUID,
                step: str) -> None:
    """Start a worker whose steps pause 30 s after their action, wait until it is inside `step`, kill -9 it."""
    worker = spawn_(name, {**env, "SUPAKIT_PROVISIONING_STEP_DELAY_S": "30"})

    def inside() -> bool:
        """the worker is inside the step (its action done, not yet recorded)"""
        logged = conn.execute("select count(*) from public.provisioning_logs where run_id = %s and step_name = %s"
                              " and message like %s", (run_id, step, "%step%")).fetchone()[0]
        state = conn.execute("select status from public.provisioning_steps where run_id = %s and name = %s",
                             (run_id, step)).fetchone()
        return state is not None and state[0] == "running" and logged > 0

    wait_until(inside, timeout=60, interval=0.05)
    conn.execute("select pg_sleep(1.5)")  # the action (a copy, an upload, a swap) is done well within this
    worker.send_signal(signal.SIGKILL)
    worker.wait(5)


@pytest.mark.slow
def test_workers_killed_inside_backup_and_restore_steps_resume_with_exactly_one_of_each(
        conn, spawn, tmp_path, s3_server):  # noqa: F811
    env = local_env(tmp_path, **s3_server["env"])
    org = provision_with_notes(conn, spawn, tmp_path, s3_server["env"])
    before = conn.execute(f'select * from "{org["schema"]}".notes order by id').fetchall()

    # backup: killed inside the snapshot step, then inside the export step
    run_id = conn.execute("select internal.request_backup(%s, 'test')", (org["id"],)).fetchone()[0]
    kill_inside(conn, spawn, "doomed-snapshot", env, run_id, "snapshot")
    kill_inside(conn, spawn, "doomed-export", env, run_id, "export")
    rescuer = spawn("backup-rescuer", env)
    wait_until(finished(conn, run_id), timeout=90, interval=0.2)
    rescuer.send_signal(signal.SIGTERM)
    rescuer.wait(15)
    assert run_row(conn, run_id)["status"] == "succeeded"
    assert steps(conn, run_id) == [("snapshot", "succeeded", 2), ("export", "succeeded", 2)], \
        "each step resumed once after its kill"
    backup_id = run_row(conn, run_id)["backup_id"]
    backups = conn.execute("select id, status, sha256, size_bytes from public.backups where organization_id = %s",
                           (org["id"],)).fetchall()
    assert [(b[0], b[1]) for b in backups] == [(backup_id, "succeeded")], "one backup"
    objects = s3_server["s3"].list_objects_v2(Bucket=BUCKET)["Contents"]
    assert len(objects) == 1 and objects[0]["Size"] == backups[0][3], "one export object, the one recorded"
    snapshots = [p.name for p in (tmp_path / "provisioning" / "snapshots" / str(org["id"])).iterdir()]
    assert snapshots == [f"{run_id}-snapshot"], "one snapshot, no partial copy left"
    job = conn.execute("select status::text, attempts, lease_losses from internal.jobs where id = %s",
                       (run_row(conn, run_id)["job_id"],)).fetchone()
    assert job == ("succeeded", 1, 2), "two kills: two lease losses, no spent attempt"

    # the data changes; the restore is killed inside its swap and resumed
    with conn.transaction():
        conn.execute(f'set local role "{org["schema"]}"')
        conn.execute(f'delete from "{org["schema"]}".notes where id > 10')
    restore_id = conn.execute("select internal.request_restore_run(%s, 'test')", (backup_id,)).fetchone()[0]
    kill_inside(conn, spawn, "doomed-swap", env, restore_id, "swap")
    spawn("restore-rescuer", env)
    wait_until(finished(conn, restore_id), timeout=90, interval=0.2)
    assert run_row(conn, restore_id)["status"] == "succeeded"
    assert [s[:2] for s in steps(conn, restore_id)] == [("stage", "succeeded"), ("swap", "succeeded"),
                                                        ("verify", "succeeded"), ("retire", "succeeded")]
    assert steps(conn, restore_id)[1][2] == 2, "the swap resumed once"
    assert conn.execute(f'select * from "{org["schema"]}".notes order by id').fetchall() == before, \
        "the restore reproduces the backed-up data"
    leftovers = [n for n, in conn.execute("select nspname::text from pg_namespace where nspname like %s",
                                          (f"{org['schema']}%",))]
    assert leftovers == [org["schema"]], "exactly one schema: nothing staged or kept aside is left"
    logs = [m for m, in conn.execute("select message from public.provisioning_logs where run_id = %s"
                                     " and step_name = 'swap' order by id", (restore_id,))]
    assert any("already swapped" in m for m in logs), "the resumed swap found its own work done"


@pytest.mark.slow
def test_cli_backs_up_lists_and_restores(conn, fresh_db, tmp_path):
    org = make_org(conn, plan="pro")
    env = {"DATABASE_URL": fresh_db, "SUPAKIT_DATA_DIR": str(tmp_path)}
    assert run_cli("provision", "run", "--org", org["slug"], "--now", env=env).returncode == 0
    schema = f"customer_{org['id'].hex}"
    with conn.transaction():
        conn.execute(f'set local role "{schema}"')
        conn.execute(f'create table "{schema}".items (id integer primary key, name text)')
        conn.execute(f"insert into \"{schema}\".items values (1, 'kept'), (2, 'also kept')")

    taken = run_cli("provision", "backup", "--org", org["slug"], "--now", "--json", env=env)
    assert taken.returncode == 0, taken.stderr
    backup = json.loads(taken.stdout)
    assert backup["status"] == "succeeded"
    listed = json.loads(run_cli("provision", "backups", "--org", org["slug"], "--json", env=env).stdout)
    assert [(b["id"], b["status"]) for b in listed] == [(backup["backup_id"], "succeeded")]
    assert listed[0]["export_url"].startswith(f"file://{tmp_path}/backups/") and len(listed[0]["sha256"]) == 64

    conn.execute(f'truncate "{schema}".items')
    restored = run_cli("provision", "restore", backup["backup_id"], "--now", "--json", env=env)
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["status"] == "succeeded"
    assert conn.execute(f'select * from "{schema}".items order by id').fetchall() == [(1, "kept"), (2, "also kept")]

    for args, code, words in [
        (("restore", "not-a-uuid"), 2, "is not a backup id"),
        (("restore", str(uuid.uuid4())), 1, "no backup has the id"),
        (("backups", "--org", org["slug"], "--status", "lost"), 2, "is not a backup status"),
        (("backup", "--org", "no-such-org"), 2, "no organization has that id or slug"),
    ]:
        refused = run_cli("provision", *args, env=env)
        assert refused.returncode == code and words in refused.stderr, (args, refused.stderr)
    failed = conn.execute("insert into public.backups (organization_id, plan_id, status, finished_at) values"
                          " (%s, 'pro', 'failed', now()) returning id", (org["id"],)).fetchone()[0]
    refused = run_cli("provision", "restore", str(failed), env=env)
    assert refused.returncode == 2 and "only a succeeded backup can be restored" in refused.stderr
