"""Provisioning under real `supakit worker` processes: a worker SIGKILLed inside a step, the run resumed by another
at that step, against moto's AWS emulator served over HTTP (so the worker subprocesses reach it with real boto3
calls through AWS_ENDPOINT_URL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer

from functions_py.embedded import free_port
from tests.provisioning_helpers import emails, make_org, request, run_row, steps
from tests.test_worker import wait_until

ROOT = Path(__file__).resolve().parents[1]
FAST = ("--poll-interval", "0.2", "--reap-interval", "0.5", "--lease-seconds", "2")


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def moto_server() -> Iterator[dict[str, Any]]:
    """moto as an HTTP server on localhost, a hosted zone in it, and the environment that points boto3 there."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto keeps its backends in process-wide state: without a reset, one test's instances are the next one's
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST"), timeout=10)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")

    def client(name: str):
        return session.client(name, endpoint_url=env["AWS_ENDPOINT_URL"])

    zone = client("route53").create_hosted_zone(Name="customers.example.com", CallerReference=uuid.uuid4().hex)
    env["SUPAKIT_AWS_HOSTED_ZONE_ID"] = zone["HostedZone"]["Id"].split("/")[-1]
    env["SUPAKIT_PROVISIONING_PROVIDER"] = "aws"
    try:
        yield {"env": env, "client": client, "zone_id": env["SUPAKIT_AWS_HOSTED_ZONE_ID"]}
    finally:
        server.stop()


@pytest.fixture
def spawn(fresh_db: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """spawn(name, env) -> a `supakit worker` process on fresh_db; every one is killed at teardown."""
    processes: list[subprocess.Popen] = []

    def start(name: str, env: dict[str, str]) -> subprocess.Popen:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SUPAKIT_", "DATABASE_URL", "AWS_"))}
        with (tmp_path / f"{name}.log").open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "worker", "--name", name, *FAST], cwd=ROOT,
                env={**base, **env, "DATABASE_URL": fresh_db, "SUPAKIT_DATA_DIR": str(tmp_path / name)},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def all_instances(ec2) -> list[dict[str, Any]]:
    return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]


@pytest.mark.slow
def test_a_worker_killed_inside_a_step_is_resumed_and_makes_exactly_one_of_each_resource(
        conn, fresh_db, moto_server, spawn):
    ec2, route53 = moto_server["client"]("ec2"), moto_server["client"]("route53")
    # the doomed worker pauses 30 s after each step's action, before recording it: the kill lands in that window
    doomed = spawn("doomed", {**moto_server["env"], "SUPAKIT_PROVISIONING_STEP_DELAY_S": "30"})
    org = make_org(conn, plan="team")
    run_id = request(conn, org["id"], "subscription")

    def instance_launched_but_step_not_recorded() -> bool:
        """the instance exists while its step is still running"""
        return bool(all_instances(ec2)) and steps(conn, run_id)[0][1:] == ("running", 1)

    wait_until(instance_launched_but_step_not_recorded, timeout=30, interval=0.1)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(5)
    assert run_row(conn, run_id)["status"] == "running" and run_row(conn, run_id)["current_step"] == "instance"

    spawn("rescuer", moto_server["env"])

    def finished() -> bool:
        """the run finished after the kill"""
        return run_row(conn, run_id)["status"] in ("succeeded", "rolled_back", "failed")

    wait_until(finished, timeout=60, interval=0.2)
    assert run_row(conn, run_id)["status"] == "succeeded"
    assert steps(conn, run_id) == [("instance", "succeeded", 2), ("dns", "succeeded", 1), ("mail", "succeeded", 1),
                                   ("deploy", "succeeded", 1), ("verify", "succeeded", 1)], \
        "the instance step ran again (resumed), every other step once"
    instances = all_instances(ec2)
    assert len(instances) == 1, "exactly one instance was ever launched: the resumed step found the first one"
    assert instances[0]["State"]["Name"] == "running" and instances[0]["InstanceType"] == "t3.medium"
    sets = route53.list_resource_record_sets(HostedZoneId=moto_server["zone_id"])["ResourceRecordSets"]
    assert [r["Name"] for r in sets if r["Type"] == "A"] == [f"{org['slug']}.customers.example.com."]
    assert moto_server["client"]("ses").list_identities()["Identities"] == [f"{org['slug']}.customers.example.com"]
    messages = [m for m, in conn.execute("select message from public.provisioning_logs where run_id = %s"
                                         " and step_name = 'instance' order by id", (run_id,))]
    assert any(m.startswith("resuming step") for m in messages)
    assert any("already exists for this step" in m for m in messages), "the provider adopted the first instance"
    assert [to for to, _ in emails(conn, org["id"], "provisioning_complete")] == [org["owner_email"]]
    job = conn.execute("select status::text, attempts, lease_losses from internal.jobs"
                       " where kind = 'provisioning.run' and organization_id = %s", (org["id"],)).fetchone()
    assert job == ("succeeded", 1, 1), "the kill was a lease loss, not a spent attempt (sql/0016)"


def local_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The local provider, with every worker sharing one provisioning directory and maildir."""
    return {"SUPAKIT_PROVISIONING_PROVIDER": "local", "SUPAKIT_PROVISIONING_DIR": str(tmp_path / "provisioning"),
            "SUPAKIT_MAILDIR": str(tmp_path / "mail"), **extra}


def local_resources(conn: psycopg.Connection, tmp_path: Path, org: dict[str, Any]) -> dict[str, bool]:
    """Which of the organization's local resources exist: role and schema, hosts line, credentials, maildir."""
    role = f"customer_{org['id'].hex}"
    hosts = tmp_path / "provisioning" / "hosts"
    customer = tmp_path / "provisioning" / "customers" / str(org["id"])
    return {
        "role": conn.execute("select exists (select 1 from pg_roles where rolname = %s)", (role,)).fetchone()[0],
        "schema": conn.execute("select exists (select 1 from pg_namespace where nspname = %s)", (role,)).fetchone()[0],
        "hosts": hosts.exists() and str(org["id"]) in hosts.read_text(),
        "credentials": (customer / "database.env").exists(),
        "app": (customer / "app" / "config.json").exists(),
        "maildir": (tmp_path / "mail" / "customers" / f"{org['slug']}.localhost").exists(),
    }


def kill_holder_in_steps(conn: psycopg.Connection, spawn: Callable[..., subprocess.Popen], tmp_path: Path,
                         run_id: uuid.UUID, ordinals: list[int]) -> None:
    """For each ordinal: start a worker (each step takes a second), wait until it runs that step, kill -9 it."""
    for n, ordinal in enumerate(ordinals):
        holder = spawn(f"holder-{n}", local_env(tmp_path, SUPAKIT_PROVISIONING_STEP_DELAY_S="1"))

        def in_step(ordinal: int = ordinal, name: str = f"holder-{n}") -> bool:
            """the holder is inside the step"""
            owner = conn.execute("select j.lease_owner from public.provisioning_runs as r join internal.jobs as j"
                                 " on j.id = r.job_id where r.id = %s", (run_id,)).fetchone()[0]
            state = conn.execute("select status from public.provisioning_steps where run_id = %s and ordinal = %s",
                                 (run_id, ordinal)).fetchone()
            return owner == name and state is not None and state[0] == "running"

        wait_until(in_step, timeout=40, interval=0.05)
        holder.send_signal(signal.SIGKILL)
        holder.wait(5)


def finished(conn: psycopg.Connection, run_id: uuid.UUID) -> Callable[[], bool]:
    def check() -> bool:
        """the run reached a terminal state"""
        return run_row(conn, run_id)["status"] in ("succeeded", "rolled_back", "failed")

    return check


@pytest.mark.slow
def test_a_run_whose_holder_is_killed_again_and_again_ends_active_with_every_resource(conn, spawn, tmp_path):
    """issue 20 item 2: three kill -9s, in three different steps; no attempt is spent, the run resumes each time and
    ends active (the infrastructure exists, exactly once), its job succeeded with three lease losses."""
    org = make_org(conn)
    run_id = request(conn, org["id"])
    kill_holder_in_steps(conn, spawn, tmp_path, run_id, [1, 2, 3])
    spawn("finisher", local_env(tmp_path))
    wait_until(finished(conn, run_id), timeout=60, interval=0.2)

    assert run_row(conn, run_id)["status"] == "succeeded"
    assert conn.execute("select status from public.customer_infrastructure where organization_id = %s",
                        (org["id"],)).fetchone()[0] == "active"
    assert local_resources(conn, tmp_path, org) == dict.fromkeys(
        ("role", "schema", "hosts", "credentials", "app", "maildir"), True)
    assert (tmp_path / "provisioning" / "hosts").read_text().count(str(org["id"])) == 1, "one hosts line"
    assert [s[1] for s in steps(conn, run_id)] == ["succeeded"] * 5
    job = "select {} from internal.jobs where kind = 'provisioning.run' and organization_id = %s"
    assert conn.execute(job.format("status::text, attempts"), (org["id"],)).fetchone() == ("succeeded", 1), \
        "three crashes spent no handler attempt"
    assert conn.execute(job.format("lease_losses"), (org["id"],)).fetchone() == (3,), "but count 3 lease losses"


@pytest.mark.slow
def test_a_run_whose_job_loses_its_lease_too_often_is_rolled_back_and_leaves_nothing(conn, spawn, tmp_path):
    """The job's lease-loss limit reached (here 2, by update, for speed): the job fails, the run goes compensating
    and a new job undoes every step made, the one in flight included. Nothing is left, and a new request works."""
    org = make_org(conn)
    run_id = request(conn, org["id"])
    conn.execute("update internal.jobs set max_lease_losses = 2 where id = (select job_id from"
                 " public.provisioning_runs where id = %s)", (run_id,))
    first_job = run_row(conn, run_id)["job_id"]
    kill_holder_in_steps(conn, spawn, tmp_path, run_id, [2, 3])
    spawn("rescuer", local_env(tmp_path))
    wait_until(finished(conn, run_id), timeout=60, interval=0.2)

    run = run_row(conn, run_id)
    assert run["status"] == "rolled_back" and "lease lost 2 times" in run["error"]
    assert conn.execute("select status::text from internal.jobs where id = %s", (first_job,)).fetchone()[0] == \
        "failed"
    assert local_resources(conn, tmp_path, org) == dict.fromkeys(
        ("role", "schema", "hosts", "credentials", "app", "maildir"), False), "nothing is left behind"
    assert [s[1] for s in steps(conn, run_id)] == ["compensated"] * 3 + ["pending"] * 2
    assert conn.execute("select status from public.customer_infrastructure where organization_id = %s",
                        (org["id"],)).fetchone()[0] == "deleted"
    assert request(conn, org["id"]) not in (None, run_id), "a new request starts a new run"


@pytest.mark.slow
def test_a_resize_whose_holder_is_killed_in_four_steps_resumes_and_makes_exactly_one_of_each_resource(
        conn, spawn, tmp_path):
    """issue 19: kill -9 inside snapshot, launch, switch_dns and retire_old (past the point of no return); each
    resumed step finds what the killed one made. One new instance (schema and role), one snapshot, one hosts line,
    the old instance retired, one e-mail; no attempt spent."""
    org = make_org(conn, plan="pro")
    provision = request(conn, org["id"])
    builder = spawn("builder", local_env(tmp_path))
    wait_until(finished(conn, provision), timeout=60, interval=0.2)
    builder.kill()
    builder.wait(5)
    assert run_row(conn, provision)["status"] == "succeeded"
    base = f"customer_{org['id'].hex}"
    conn.execute(f'create table "{base}".notes (id bigint generated always as identity primary key, body text)')
    conn.execute(f'insert into "{base}".notes (body) select g::text from generate_series(1, 40) as g')

    conn.execute("update internal.plan_assignments set plan_id = 'team' where organization_id = %s", (org["id"],))
    run_id, action = conn.execute("select run_id, action from internal.request_resize(%s, 'upgrade')",
                                  (org["id"],)).fetchone()
    assert action == "requested"
    kill_holder_in_steps(conn, spawn, tmp_path, run_id, [1, 2, 4, 5])
    spawn("finisher", local_env(tmp_path))
    wait_until(finished(conn, run_id), timeout=90, interval=0.2)

    assert run_row(conn, run_id)["status"] == "succeeded", run_row(conn, run_id)["error"]
    assert [(s[0], s[1]) for s in steps(conn, run_id)] == [
        (name, "succeeded") for name in ("snapshot", "launch", "verify", "switch_dns", "retire_old")]
    assert [s[2] for s in steps(conn, run_id)] == [2, 2, 1, 2, 2], "the four killed steps ran again, once each"
    tag = str(run_id).replace("-", "")[:8]
    names = "select {0}::text from pg_{1} where {0} like %s order by 1"
    assert [n for n, in conn.execute(names.format("nspname", "namespace"), (f"{base}%",))] == \
        [f"{base}_r{tag}", f"{base}_s{tag}"], "one new instance and one snapshot; the old schema is retired"
    assert [n for n, in conn.execute(names.format("rolname", "roles"), (f"{base}%",))] == [f"{base}_r{tag}"]
    assert conn.execute(f'select count(*) from "{base}_r{tag}".notes').fetchone()[0] == 40
    assert (tmp_path / "provisioning" / "hosts").read_text().count(str(org["id"])) == 1, "one hosts line"
    customer = tmp_path / "provisioning" / "customers" / str(org["id"])
    assert sorted(p.name for p in customer.glob("database*.env")) == [f"database-r{tag}.env"]
    assert conn.execute("select resources #>> '{instance,schema}', plan_id from public.customer_infrastructure"
                        " where organization_id = %s", (org["id"],)).fetchone() == (f"{base}_r{tag}", "team")
    assert [to for to, _ in emails(conn, org["id"], "resize_complete")] == [org["owner_email"]]
    assert emails(conn, org["id"], "resize_failed") == []
    job_id = run_row(conn, run_id)["job_id"]

    def job_settled() -> bool:
        """the worker wrote its job's outcome (the run finishes a moment before that)"""
        return conn.execute("select status <> 'running' from internal.jobs where id = %s", (job_id,)).fetchone()[0]

    wait_until(job_settled, timeout=30, interval=0.1)
    job = conn.execute("select status::text, attempts, lease_losses from internal.jobs where id = %s",
                       (job_id,)).fetchone()
    assert job == ("succeeded", 1, 4), "four crashes: four lease losses, no attempt spent"


@pytest.mark.slow
def test_an_aws_resize_killed_after_the_image_and_after_the_launch_makes_one_image_and_one_new_instance(
        conn, moto_server, spawn):
    """issue 19 on moto's server: a worker SIGKILLed after CreateImage (before the step is recorded), the next one
    after RunInstances; each resumed step finds the first one's resource by its idempotency-key tag."""
    ec2 = moto_server["client"]("ec2")
    org = make_org(conn, plan="pro")
    provision = request(conn, org["id"])
    builder = spawn("builder", moto_server["env"])
    wait_until(finished(conn, provision), timeout=60, interval=0.2)
    builder.kill()
    builder.wait(5)
    (old,) = all_instances(ec2)
    conn.execute("update internal.plan_assignments set plan_id = 'team' where organization_id = %s", (org["id"],))
    run_id, _ = conn.execute("select run_id, action from internal.request_resize(%s, 'upgrade')",
                             (org["id"],)).fetchone()

    def made_but_not_recorded(ordinal: int, made: Callable[[], bool]) -> Callable[[], bool]:
        def check() -> bool:
            """the step's resource exists while the step is still running"""
            return made() and steps(conn, run_id)[ordinal - 1][1] == "running"
        return check

    images = lambda: ec2.describe_images(Owners=["self"])["Images"]  # noqa: E731
    for n, (ordinal, made) in enumerate(((1, lambda: bool(images())), (2, lambda: len(all_instances(ec2)) == 2))):
        doomed = spawn(f"doomed-{n}", {**moto_server["env"], "SUPAKIT_PROVISIONING_STEP_DELAY_S": "30"})
        wait_until(made_but_not_recorded(ordinal, made), timeout=60, interval=0.1)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(5)
    spawn("rescuer", moto_server["env"])
    wait_until(finished(conn, run_id), timeout=90, interval=0.2)

    assert run_row(conn, run_id)["status"] == "succeeded", run_row(conn, run_id)["error"]
    assert [(s[1], s[2]) for s in steps(conn, run_id)] == [("succeeded", 2), ("succeeded", 2)] + \
        [("succeeded", 1)] * 3
    assert len(images()) == 1, "one image: the resumed snapshot step adopted the first"
    instances = {i["InstanceId"]: (i["State"]["Name"], i["InstanceType"]) for i in all_instances(ec2)}
    assert len(instances) == 2, "the old instance and exactly one new one were ever launched"
    assert instances.pop(old["InstanceId"])[0] in ("shutting-down", "terminated")
    assert list(instances.values()) == [("running", "t3.medium")]
    assert [to for to, _ in emails(conn, org["id"], "resize_complete")] == [org["owner_email"]]
