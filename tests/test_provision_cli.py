"""`supakit provision` as users run it: the real command in a subprocess against a fresh database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.cli import run_cli
from tests.provisioning_helpers import make_org


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


@pytest.mark.slow
def test_run_now_status_retry_and_deprovision(conn, fresh_db, tmp_path: Path):
    org = make_org(conn)
    env = {"DATABASE_URL": fresh_db, "SUPAKIT_DATA_DIR": str(tmp_path)}

    ran = run_cli("provision", "run", "--org", org["slug"], "--now", "--json", env=env)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "succeeded"
    assert (tmp_path / "provisioning" / "customers" / str(org["id"]) / "app" / "config.json").exists()

    status = run_cli("provision", "status", "--org", str(org["id"]), "--json", env=env)
    report = json.loads(status.stdout)
    assert report["infrastructure"]["status"] == "active" and report["run"]["status"] == "succeeded"
    assert [s["status"] for s in report["steps"]] == ["succeeded"] * 5
    text = run_cli("provision", "status", "--org", org["slug"], env=env).stdout
    assert "infrastructure: active" in text and "verify" in text

    again = run_cli("provision", "run", "--org", org["slug"], env=env)
    assert again.returncode == 1 and "already has active infrastructure" in again.stderr
    retry = run_cli("provision", "retry", "--org", org["slug"], env=env)
    assert retry.returncode == 1 and "nothing to retry" in retry.stderr

    gone = run_cli("provision", "deprovision", "--org", org["slug"], "--now", env=env)
    assert gone.returncode == 0, gone.stderr
    assert "succeeded" in gone.stdout
    assert not (tmp_path / "provisioning" / "customers" / str(org["id"])).exists()


def test_an_unknown_organization_exits_2_naming_it(fresh_db):
    answer = run_cli("provision", "status", "--org", "no-such-org", env={"DATABASE_URL": fresh_db})
    assert answer.returncode == 2
    assert "--org 'no-such-org': no organization has that id or slug" in answer.stderr


def test_an_unknown_provider_fails_the_run_naming_the_variable(conn, fresh_db, tmp_path: Path):
    org = make_org(conn)
    answer = run_cli("provision", "run", "--org", org["slug"], "--now",
                     env={"DATABASE_URL": fresh_db, "SUPAKIT_DATA_DIR": str(tmp_path),
                          "SUPAKIT_PROVISIONING_PROVIDER": "gcp"})
    assert answer.returncode == 2
    assert "SUPAKIT_PROVISIONING_PROVIDER='gcp' is not a provider" in answer.stderr


@pytest.mark.parametrize(("kind", "job_kind", "attempts"), [("provision", "provisioning.run", 5),
                                                            ("deprovision", "provisioning.deprovision", 10)])
def test_retry_queues_a_run_without_a_live_job_with_the_attempts_its_request_gives(conn, fresh_db, kind, job_kind,
                                                                                   attempts):
    """The rule is sql/0022's internal.retry_provisioning; the CLI used to re-encode it and gave a deprovision
    job 5 attempts where internal.request_deprovisioning gives it 10."""
    org = make_org(conn)
    run_id = conn.execute("insert into public.provisioning_runs (organization_id, kind, plan_id) values (%s, %s, "
                          "'free') returning id", (org["id"], kind)).fetchone()[0]
    retried = run_cli("provision", "retry", "--org", org["slug"], "--json", env={"DATABASE_URL": fresh_db})
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["action"] == "queued again"
    job = conn.execute("select j.kind, j.max_attempts from public.provisioning_runs as r join internal.jobs as j"
                       " on j.id = r.job_id where r.id = %s", (run_id,)).fetchone()
    assert job == (job_kind, attempts)
    again = run_cli("provision", "retry", "--org", org["slug"], "--json", env={"DATABASE_URL": fresh_db})
    assert json.loads(again.stdout)["action"] == "left as is: its job is already queued or running"


@pytest.mark.slow
def test_resize_now_to_an_explicit_type_then_nothing_to_do_and_a_bad_type_is_refused(conn, fresh_db, tmp_path: Path):
    org = make_org(conn)
    env = {"DATABASE_URL": fresh_db, "SUPAKIT_DATA_DIR": str(tmp_path)}
    early = run_cli("provision", "resize", "--org", org["slug"], env=env)
    assert early.returncode == 1 and "nothing provisioned and active" in early.stderr
    assert run_cli("provision", "run", "--org", org["slug"], "--now", env=env).returncode == 0

    resized = run_cli("provision", "resize", "--org", org["slug"], "--instance-type", "t3.large", "--now", "--json",
                      env=env)
    assert resized.returncode == 0, resized.stderr
    answer = json.loads(resized.stdout)
    assert (answer["action"], answer["status"]) == ("requested", "succeeded")
    assert conn.execute("select resources #>> '{instance,instance_type}' from public.customer_infrastructure"
                        " where organization_id = %s", (org["id"],)).fetchone()[0] == "t3.large"
    again = run_cli("provision", "resize", "--org", org["slug"], "--instance-type", "t3.large", env=env)
    assert again.returncode == 1 and "already has that size" in again.stderr
    bad = run_cli("provision", "resize", "--org", org["slug"], "--instance-type", "large please", env=env)
    assert bad.returncode == 2 and "--instance-type" in bad.stderr and "t3.medium" in bad.stderr
