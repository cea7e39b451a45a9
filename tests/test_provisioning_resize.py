"""Resizing a provisioned instance (sql/0032, functions_py/provisioning/resize.py): the saga snapshot -> launch ->
verify -> switch_dns -> retire_old with the local provider (real roles, schemas and files) and the aws provider on
moto; rollback before the switch leaves the old instance untouched; one resize per organization, requests merged
or queued under concurrent plan changes; the owners told by e-mail."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from functions_py.emails import render
from functions_py.provisioning.aws import AWSProvider
from functions_py.provisioning.local import LocalProvider
from functions_py.provisioning.provider import PermanentStepError, StepContext
from tests.provisioning_helpers import (
    emails,
    infra,
    make_org,
    moto_aws,
    request,
    run_row,
    run_saga,
    steps,
    undo_order,
    use_local_provider,
)
from tests.test_provisioning import live_instances

RESIZE_STEPS = ["snapshot", "launch", "verify", "switch_dns", "retire_old"]


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return use_local_provider(monkeypatch, tmp_path)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from moto_aws(monkeypatch)


def provisioned(conn: psycopg.Connection, url: str, plan: str = "pro") -> dict[str, Any]:
    """An organization on `plan`, provisioned (run succeeded), with a table of customer data in its instance."""
    org = make_org(conn, plan=plan)
    assert run_saga(url, request(conn, org["id"])).status == "succeeded"
    schema = infra(conn, org["id"])["resources"]["instance"].get("schema")
    if schema:  # local: the customer's data lives in its schema
        conn.execute(f'create table "{schema}".notes (id bigint generated always as identity primary key,'
                     ' body text not null)')
        conn.execute(f'insert into "{schema}".notes (body) select \'note \' || g from generate_series(1, 25) as g')
    return org


def set_plan(conn: psycopg.Connection, org: uuid.UUID, plan: str) -> None:
    conn.execute("update internal.plan_assignments set plan_id = %s where organization_id = %s", (plan, org))


def resize(conn: psycopg.Connection, org: uuid.UUID, reason: str = "test",
           instance_type: str | None = None) -> tuple[uuid.UUID | None, str]:
    return conn.execute("select run_id, action from internal.request_resize(%s, %s, %s)",
                        (org, reason, instance_type)).fetchone()


def schemas(conn: psycopg.Connection, org: uuid.UUID) -> list[str]:
    return [n for n, in conn.execute("select nspname::text from pg_namespace where nspname like %s order by 1",
                                     (f"customer_{org.hex}%",))]


def roles(conn: psycopg.Connection, org: uuid.UUID) -> list[str]:
    return [n for n, in conn.execute("select rolname::text from pg_roles where rolname like %s order by 1",
                                     (f"customer_{org.hex}%",))]


# --- local ---------------------------------------------------------------------------------------------------


def test_local_resize_moves_the_data_to_a_new_instance_switches_and_retires_the_old(conn, fresh_db, local_env):
    org = provisioned(conn, fresh_db, "pro")
    base = f"customer_{org['id'].hex}"
    set_plan(conn, org["id"], "team")
    run_id, action = resize(conn, org["id"])
    assert action == "requested"
    run = run_row(conn, run_id)
    assert (run["kind"], run["status"], run["plan_id"], run["instance_type"], run["previous_instance_type"]) == \
        ("resize", "pending", "team", "t3.medium", "t3.small")

    assert run_saga(fresh_db, run_id).status == "succeeded"

    assert steps(conn, run_id) == [(name, "succeeded", 1) for name in RESIZE_STEPS]
    new = f"{base}_r{str(run_id).replace('-', '')[:8]}"
    snapshot = f"{base}_s{str(run_id).replace('-', '')[:8]}"
    assert schemas(conn, org["id"]) == [new, snapshot], "the old schema is retired; the new one and its snapshot"
    assert roles(conn, org["id"]) == [new], "the old role is dropped"
    assert conn.execute(f'select count(*), max(id) from "{new}".notes').fetchone() == (25, 25), "the data moved"
    record = infra(conn, org["id"])
    assert (record["status"], record["plan_id"]) == ("active", "team")
    assert record["resources"]["instance"]["schema"] == new
    assert record["resources"]["instance"]["idempotency_key"] == f"{run_id}:launch"
    config = (local_env / "provisioning" / "customers" / str(org["id"]) / "app" / "config.json").read_text()
    assert '"instance_size": "t3.medium"' in config, "the app config points at the new instance"
    sent = emails(conn, org["id"], "resize_complete")
    assert [(to, d["instance_type"], d["previous_instance_type"]) for to, d in sent] == \
        [(org["owner_email"], "t3.medium", "t3.small")]
    assert emails(conn, org["id"], "resize_failed") == []
    # the next resize (back down) retires this one and the earlier snapshot
    set_plan(conn, org["id"], "pro")
    second, action = resize(conn, org["id"])
    assert action == "requested" and run_saga(fresh_db, second).status == "succeeded"
    tag = str(second).replace("-", "")[:8]
    assert schemas(conn, org["id"]) == [f"{base}_r{tag}", f"{base}_s{tag}"]
    # a teardown removes everything resizes made too
    teardown = conn.execute("select internal.request_deprovisioning(%s, 'test')", (org["id"],)).fetchone()[0]
    assert run_saga(fresh_db, teardown).status == "succeeded"
    assert schemas(conn, org["id"]) == [] and roles(conn, org["id"]) == []


class BrokenVerify(LocalProvider):
    """The new instance fails its check for good (as a corrupt copy would)."""

    def verify_launched_instance(self, ctx: StepContext) -> dict[str, Any]:
        raise PermanentStepError("the new instance's tables differ from the snapshot")


def test_local_failure_before_the_switch_rolls_back_and_leaves_the_old_instance_untouched(conn, fresh_db,
                                                                                          local_env):
    org = provisioned(conn, fresh_db, "pro")
    base = f"customer_{org['id'].hex}"
    before = infra(conn, org["id"])
    hosts_before = (local_env / "provisioning" / "hosts").read_text()
    set_plan(conn, org["id"], "team")
    run_id, _ = resize(conn, org["id"])

    outcome = run_saga(fresh_db, run_id, provider=BrokenVerify.from_env(fresh_db))

    assert outcome.status == "rolled_back"
    assert steps(conn, run_id) == [("snapshot", "compensated", 1), ("launch", "compensated", 1),
                                   ("verify", "compensated", 1), ("switch_dns", "pending", 0),
                                   ("retire_old", "pending", 0)]
    assert undo_order(conn, run_id) == ["launch", "snapshot"], "verify has nothing to undo"
    assert schemas(conn, org["id"]) == [base] and roles(conn, org["id"]) == [base], "only the old instance is left"
    assert conn.execute(f'select count(*) from "{base}".notes').fetchone()[0] == 25
    after = infra(conn, org["id"])
    assert (after["status"], after["plan_id"], after["resources"]) == ("active", "pro", before["resources"])
    assert (local_env / "provisioning" / "hosts").read_text() == hosts_before
    failed = emails(conn, org["id"], "resize_failed")
    assert [(to, d["status"]) for to, d in failed] == [(org["owner_email"], "rolled_back")]
    assert "differ from the snapshot" in failed[0][1]["error"]
    subject, body = render("resize_failed", failed[0][1])  # as the email.send job renders the outbox row
    assert subject.startswith("Resizing Acme") and "from t3.small to t3.medium" in body
    assert "old instance was left untouched" in body


# --- aws (moto) ----------------------------------------------------------------------------------------------


def images(ec2) -> list[dict[str, Any]]:
    return ec2.describe_images(Owners=["self"])["Images"]


def a_record(route53, zone_id: str) -> list[str]:
    sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [v["Value"] for r in sets if r["Type"] == "A" for v in r["ResourceRecords"]]


def test_aws_resize_launches_the_target_type_from_an_image_moves_the_a_record_and_terminates_the_old(
        conn, fresh_db, aws):
    org = provisioned(conn, fresh_db, "pro")
    (old,) = live_instances(aws["ec2"])
    assert old["InstanceType"] == "t3.small"
    set_plan(conn, org["id"], "team")
    run_id, action = resize(conn, org["id"])
    assert action == "requested"

    assert run_saga(fresh_db, run_id).status == "succeeded", run_row(conn, run_id)["error"]

    assert steps(conn, run_id) == [(name, "succeeded", 1) for name in RESIZE_STEPS]
    (new,) = live_instances(aws["ec2"])
    assert new["InstanceId"] != old["InstanceId"] and new["InstanceType"] == "t3.medium"
    (image,) = images(aws["ec2"])
    assert new["ImageId"] == image["ImageId"], "the new instance was launched from the snapshot's image"
    assert {t["Key"]: t["Value"] for t in image["Tags"]}["supakit:key"] == f"{run_id}:snapshot"
    assert a_record(aws["route53"], aws["zone_id"]) == [new["PublicIpAddress"]]
    record = infra(conn, org["id"])
    assert record["resources"]["instance"]["instance_id"] == new["InstanceId"]
    assert record["public_address"] == new["PublicIpAddress"] and record["plan_id"] == "team"
    assert [d["instance_type"] for _, d in emails(conn, org["id"], "resize_complete")] == ["t3.medium"]

    teardown = conn.execute("select internal.request_deprovisioning(%s, 'test')", (org["id"],)).fetchone()[0]
    assert run_saga(fresh_db, teardown).status == "succeeded"
    assert live_instances(aws["ec2"]) == [] and images(aws["ec2"]) == [], "the teardown removed the image too"


class SwitchRefused(AWSProvider):
    """Route53 refuses the change of the A record (e.g. a policy denies it): the switch step fails for good."""

    def switch_dns(self, ctx: StepContext) -> dict[str, Any]:
        raise PermanentStepError("AWS refused to change the A record: AccessDenied")


def test_aws_failure_at_the_switch_rolls_back_the_new_instance_and_image_and_keeps_the_old(conn, fresh_db, aws):
    org = provisioned(conn, fresh_db, "pro")
    (old,) = live_instances(aws["ec2"])
    before = a_record(aws["route53"], aws["zone_id"])
    set_plan(conn, org["id"], "team")
    run_id, _ = resize(conn, org["id"])

    assert run_saga(fresh_db, run_id, provider=SwitchRefused(hosted_zone_id=aws["zone_id"])).status == \
        "rolled_back"

    assert [s[1] for s in steps(conn, run_id)] == ["compensated"] * 4 + ["pending"]
    assert undo_order(conn, run_id) == ["switch_dns", "launch", "snapshot"]
    assert [(i["InstanceId"], i["State"]["Name"]) for i in live_instances(aws["ec2"])] == \
        [(old["InstanceId"], "running")], "only the old instance runs"
    assert images(aws["ec2"]) == [], "the snapshot's image is deregistered"
    assert a_record(aws["route53"], aws["zone_id"]) == before == [old["PublicIpAddress"]]
    record = infra(conn, org["id"])
    assert record["resources"]["instance"]["instance_id"] == old["InstanceId"] and record["plan_id"] == "pro"
    assert [d["status"] for _, d in emails(conn, org["id"], "resize_failed")] == ["rolled_back"]


# --- requests: one resize at a time --------------------------------------------------------------------------


def subscribe(conn: psycopg.Connection, org: uuid.UUID, plan: str, status: str = "active") -> str:
    sub = f"sub_{uuid.uuid4().hex[:12]}"
    conn.execute("insert into public.subscriptions (organization_id, plan_id, status, stripe_subscription_id,"
                 " stripe_customer_id, last_event_at) values (%s, %s, %s, %s, %s, now())",
                 (org, plan, status, sub, f"cus_{org.hex[:12]}"))
    return sub


def live_resizes(conn: psycopg.Connection, org: uuid.UUID) -> list[tuple[uuid.UUID, str, str]]:
    return conn.execute("select id, status, instance_type from public.provisioning_runs where organization_id = %s"
                        " and kind = 'resize' and status in ('pending', 'running', 'compensating')",
                        (org,)).fetchall()


def test_a_plan_change_through_the_subscription_requests_one_resize_and_repeats_merge(conn, fresh_db, local_env):
    org = provisioned(conn, fresh_db, "pro")
    sub = subscribe(conn, org["id"], "pro")
    assert live_resizes(conn, org["id"]) == [], "the same plan: nothing to resize"
    conn.execute("update public.subscriptions set plan_id = 'team' where stripe_subscription_id = %s", (sub,))
    ((run_id, status, size),) = live_resizes(conn, org["id"])
    assert (status, size) == ("pending", "t3.medium")
    assert run_row(conn, run_id)["reason"] == "subscription active on plan team"
    conn.execute("update public.subscriptions set status = 'trialing' where stripe_subscription_id = %s", (sub,))
    assert [r[0] for r in live_resizes(conn, org["id"])] == [run_id], "a repeated event merges into it"
    assert conn.execute("select count(*) from internal.jobs where dedupe_key = %s",
                        (f"resize:{org['id']}",)).fetchone()[0] == 1
    # back to pro before it started: the pending resize is dropped, nothing to do
    conn.execute("update public.subscriptions set plan_id = 'pro' where stripe_subscription_id = %s", (sub,))
    assert live_resizes(conn, org["id"]) == []
    assert run_row(conn, run_id)["status"] == "rolled_back" and "superseded" in run_row(conn, run_id)["error"]
    assert emails(conn, org["id"], "resize_failed") == [], "a resize that never started tells nobody"


def test_concurrent_plan_changes_make_one_resize_and_the_last_one_waits_and_follows(conn, fresh_db, local_env):
    org = provisioned(conn, fresh_db, "pro")
    set_plan(conn, org["id"], "team")
    barrier = threading.Barrier(6)
    answers: list[tuple[uuid.UUID | None, str]] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            with psycopg.connect(fresh_db, autocommit=True) as own:
                barrier.wait()
                answers.append(resize(own, org["id"], "plan change"))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(a for _, a in answers) == ["merged"] * 5 + ["requested"]
    ((first, _, _),) = live_resizes(conn, org["id"])
    assert {r for r, _ in answers} == {first}, "every caller got the one run"

    # while it runs, the plan changes again: that request waits for it and is applied after it
    started = threading.Event()

    class Slow(LocalProvider):
        def verify_launched_instance(self, ctx: StepContext) -> dict[str, Any]:
            started.set()
            assert ready.wait(30)
            return super().verify_launched_instance(ctx)

    ready = threading.Event()
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(run_saga(fresh_db, first,
                                                                     provider=Slow.from_env(fresh_db)).status))
    worker.start()
    assert started.wait(30)
    with pytest.raises(psycopg.errors.UniqueViolation):  # the SQL backstop: no second live resize, whoever writes
        conn.execute("insert into public.provisioning_runs (organization_id, kind, plan_id) values"
                     " (%s, 'resize', 'team')", (org["id"],))
    set_plan(conn, org["id"], "free")
    assert resize(conn, org["id"], "downgrade") == (first, "queued")
    assert resize(conn, org["id"], "downgrade again") == (first, "queued"), "a newer request replaces the waiting one"
    assert conn.execute("select count(*) from internal.resize_requests where organization_id = %s",
                        (org["id"],)).fetchone()[0] == 1
    ready.set()
    worker.join(60)
    assert outcome == ["succeeded"]

    ((follow_up, status, size),) = live_resizes(conn, org["id"])
    assert (status, size) == ("pending", "t3.micro") and follow_up != first
    assert run_row(conn, follow_up)["reason"] == "downgrade again"
    assert run_saga(fresh_db, follow_up).status == "succeeded"
    assert infra(conn, org["id"])["plan_id"] == "free"
    assert live_resizes(conn, org["id"]) == []
    base = f"customer_{org['id'].hex}"
    assert schemas(conn, org["id"]) == [f"{base}_r{str(follow_up).replace('-', '')[:8]}",
                                        f"{base}_s{str(follow_up).replace('-', '')[:8]}"]
    assert roles(conn, org["id"]) == [f"{base}_r{str(follow_up).replace('-', '')[:8]}"]


def test_resize_requests_refuse_bad_input_and_inactive_infrastructure(conn, fresh_db, local_env):
    org = make_org(conn)
    assert resize(conn, org["id"]) == (None, "not_active"), "nothing provisioned"
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="is not an instance type"):
        resize(conn, org["id"], instance_type="t3.medium; drop table x")


# --- past the point of no return -----------------------------------------------------------------------------


class RetireRefused(LocalProvider):
    """Dropping the old instance fails (say its role still has a session open)."""

    def retire_instance(self, ctx: StepContext) -> dict[str, Any]:
        raise PermanentStepError("role is still in use by 1 session")


def test_a_failure_after_the_switch_is_not_rolled_back_and_a_retry_finishes_it_forward(conn, fresh_db, local_env):
    org = provisioned(conn, fresh_db, "pro")
    base = f"customer_{org['id'].hex}"
    set_plan(conn, org["id"], "team")
    run_id, _ = resize(conn, org["id"])

    assert run_saga(fresh_db, run_id, provider=RetireRefused.from_env(fresh_db)).status == "failed"

    assert [s[1] for s in steps(conn, run_id)] == ["succeeded"] * 4 + ["failed"], "nothing was undone"
    new = f"{base}_r{str(run_id).replace('-', '')[:8]}"
    assert infra(conn, org["id"])["resources"]["instance"]["schema"] == new, "the new instance serves"
    assert base in schemas(conn, org["id"]) and base in roles(conn, org["id"]), "the old one is still there"
    assert [d["status"] for _, d in emails(conn, org["id"], "resize_failed")] == ["failed"]
    set_plan(conn, org["id"], "free")
    assert resize(conn, org["id"]) == (None, "queued"), "a new resize waits for the retry of the failed one"

    # the run was executed here, outside the queue: its job ends as a worker's would have ended it
    conn.execute("update internal.jobs set status = 'cancelled', finished_at = now() where id = %s",
                 (run_row(conn, run_id)["job_id"],))
    retried = conn.execute("select run_id, action from internal.retry_provisioning(%s)", (org["id"],)).fetchone()
    assert retried == (run_id, "requeued")
    assert run_saga(fresh_db, run_id).status == "succeeded"
    assert [s[1] for s in steps(conn, run_id)] == ["succeeded"] * 5
    assert base not in schemas(conn, org["id"]) and roles(conn, org["id"]) == [new]
    assert [d["status"] for _, d in emails(conn, org["id"], "resize_complete")] == ["succeeded"]
    ((follow_up, status, size),) = live_resizes(conn, org["id"])
    assert (status, size) == ("pending", "t3.micro"), "the request that waited follows"
