"""Provisioning (sql/0012, functions_py/provisioning): the saga with the local provider and with the aws provider
against moto (real boto3 calls, AWS emulated in-process), rollback, concurrency of requests, the status RPC and
the state machines."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_user
from functions_py.provisioning.aws import AWSProvider
from functions_py.provisioning.local import LocalProvider
from functions_py.provisioning.provider import PermanentStepError, RetryableStepError, StepContext
from tests.provisioning_helpers import (
    broadcasts,
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

STEP_NAMES = ["instance", "dns", "mail", "deploy", "verify"]


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The local provider's settings: everything under tmp_path."""
    return use_local_provider(monkeypatch, tmp_path)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto's in-process AWS with a hosted zone for customers' subdomains; the aws provider selected."""
    yield from moto_aws(monkeypatch)


def live_instances(ec2) -> list[dict[str, Any]]:
    reservations = ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                                    "Values": ["pending", "running", "stopping", "stopped"]}])
    return [i for r in reservations["Reservations"] for i in r["Instances"]]


def records(route53, zone_id: str, kind: str) -> list[str]:
    sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [r["Name"].rstrip(".") for r in sets if r["Type"] == kind]


def role_exists(conn: psycopg.Connection, org: uuid.UUID) -> bool:
    return conn.execute("select exists (select 1 from pg_roles where rolname = %s)",
                        (f"customer_{org.hex}",)).fetchone()[0]


def schema_exists(conn: psycopg.Connection, org: uuid.UUID) -> bool:
    return conn.execute("select exists (select 1 from pg_namespace where nspname = %s)",
                        (f"customer_{org.hex}",)).fetchone()[0]


# --- local ---------------------------------------------------------------------------------------------------


def test_local_happy_path_creates_real_resources_and_queues_the_completion_email(conn, fresh_db, local_env):
    org = make_org(conn, plan="team")
    run_id = request(conn, org["id"])
    assert run_row(conn, run_id)["status"] == "pending"
    assert conn.execute("select kind, payload from internal.jobs where dedupe_key = %s",
                        (f"provisioning:{org['id']}",)).fetchone() == ("provisioning.run", {"run_id": str(run_id)})

    outcome = run_saga(fresh_db, run_id)

    assert outcome.status == "succeeded"
    run = run_row(conn, run_id)
    assert (run["status"], run["provider"], run["plan_id"]) == ("succeeded", "local", "team")
    assert steps(conn, run_id) == [(name, "succeeded", 1) for name in STEP_NAMES]
    # the resources, as anyone can inspect them
    assert role_exists(conn, org["id"]) and schema_exists(conn, org["id"]), "the customer's role and schema exist"
    customer_dir = local_env / "provisioning" / "customers" / str(org["id"])
    credentials = customer_dir / "database.env"
    assert credentials.stat().st_mode & 0o777 == 0o600, "the customer's password file is private"
    config = (customer_dir / "app" / "config.json").read_text()
    assert f'"url": "http://{org["slug"]}.localhost"' in config and '"instance_size": "t3.medium"' in config
    hosts = (local_env / "provisioning" / "hosts").read_text().splitlines()
    assert hosts == [f"127.0.0.1 {org['slug']}.localhost  # supakit:{org['id']}"]
    assert (local_env / "mail" / "customers" / f"{org['slug']}.localhost" / "identity.json").exists()
    # the records
    record = infra(conn, org["id"])
    assert (record["status"], record["provider"], record["subdomain"], record["public_address"]) == \
        ("active", "local", f"{org['slug']}.localhost", "127.0.0.1")
    assert sorted(record["resources"]) == sorted(STEP_NAMES)
    assert record["resources"]["instance"]["role"] == f"customer_{org['id'].hex}"
    assert "PGPASSWORD" not in str(record["resources"]) and "PGPASSWORD" not in str(
        conn.execute("select array_agg(message || data::text) from public.provisioning_logs").fetchone()[0])
    # the completion e-mail, queued to the owner only
    assert [(to, data["subdomain"]) for to, data in emails(conn, org["id"], "provisioning_complete")] == \
        [(org["owner_email"], f"{org['slug']}.localhost")]
    # and the live updates
    messages = broadcasts(conn, org["id"])
    run_statuses = [m["record"]["status"] for m in messages if m["table"] == "provisioning_runs"]
    assert list(dict.fromkeys(run_statuses)) == ["pending", "running", "succeeded"], "each change, in order"
    assert {(m["record"]["name"], m["record"]["status"]) for m in messages if m["table"] == "provisioning_steps"} >= \
        {(name, "succeeded") for name in STEP_NAMES}

    # a second request while active does nothing
    assert request(conn, org["id"]) is None

    # deprovisioning removes everything again
    teardown = conn.execute("select internal.request_deprovisioning(%s, 'test')", (org["id"],)).fetchone()[0]
    assert run_saga(fresh_db, teardown).status == "succeeded"
    assert not role_exists(conn, org["id"]) and not schema_exists(conn, org["id"])
    assert not customer_dir.exists()
    assert (local_env / "provisioning" / "hosts").read_text() == ""
    assert not (local_env / "mail" / "customers" / f"{org['slug']}.localhost").exists()
    assert infra(conn, org["id"])["status"] == "deleted" and infra(conn, org["id"])["resources"] == {}


def test_local_step_3_failing_for_good_undoes_steps_2_and_1_and_notifies_the_owner(conn, fresh_db, local_env):
    org = make_org(conn)
    # a real obstacle: a plain file where the mail step must create the customers' maildir tree
    (local_env / "mail").mkdir()
    (local_env / "mail" / "customers").write_text("in the way\n")
    run_id = request(conn, org["id"])

    outcome = run_saga(fresh_db, run_id)

    assert outcome.status == "rolled_back"
    run = run_row(conn, run_id)
    assert run["status"] == "rolled_back" and "step mail failed" in run["error"]
    assert steps(conn, run_id) == [("instance", "compensated", 1), ("dns", "compensated", 1),
                                   ("mail", "compensated", 1), ("deploy", "pending", 0), ("verify", "pending", 0)]
    assert undo_order(conn, run_id) == ["mail", "dns", "instance"], "undone in reverse order"
    assert not role_exists(conn, org["id"]) and not schema_exists(conn, org["id"]), "nothing left in the database"
    assert (local_env / "provisioning" / "hosts").read_text() == "", "no hosts line left"
    assert not (local_env / "provisioning" / "customers" / str(org["id"])).exists()
    assert infra(conn, org["id"])["status"] == "deleted"
    failed = emails(conn, org["id"], "provisioning_failed")
    assert [to for to, _ in failed] == [org["owner_email"]], "the owner is told"
    assert failed[0][1]["status"] == "rolled_back" and "maildir" in failed[0][1]["error"]
    assert emails(conn, org["id"], "provisioning_complete") == []
    # a rolled-back organization may be provisioned again
    assert request(conn, org["id"]) not in (None, run_id)


# --- aws (moto) ----------------------------------------------------------------------------------------------


def test_aws_happy_path_launches_the_plan_sized_instance_dns_ses_and_config(conn, fresh_db, aws):
    org = make_org(conn, plan="pro")
    run_id = request(conn, org["id"])

    assert run_saga(fresh_db, run_id).status == "succeeded"

    instances = live_instances(aws["ec2"])
    assert len(instances) == 1 and instances[0]["InstanceType"] == "t3.small", "pro is the business size"
    tags = {t["Key"]: t["Value"] for t in instances[0]["Tags"]}
    assert tags["supakit:key"] == f"{run_id}:instance" and tags["supakit:organization"] == str(org["id"])
    subdomain = f"{org['slug']}.customers.example.com"
    assert records(aws["route53"], aws["zone_id"], "A") == [subdomain]
    assert records(aws["route53"], aws["zone_id"], "TXT") == [f"_amazonses.{subdomain}"]
    assert aws["ses"].list_identities(IdentityType="Domain")["Identities"] == [subdomain]
    parameter = aws["ssm"].get_parameter(Name=f"/supakit/customers/{org['id']}/app-config")["Parameter"]
    assert f'"url": "https://{subdomain}"' in parameter["Value"]
    record = infra(conn, org["id"])
    assert (record["status"], record["provider"], record["subdomain"]) == ("active", "aws", subdomain)
    assert record["public_address"] == instances[0]["PublicIpAddress"]
    assert record["resources"]["instance"]["instance_id"] == instances[0]["InstanceId"]
    assert [to for to, _ in emails(conn, org["id"], "provisioning_complete")] == [org["owner_email"]]

    teardown = conn.execute("select internal.request_deprovisioning(%s, 'test')", (org["id"],)).fetchone()[0]
    assert run_saga(fresh_db, teardown).status == "succeeded"
    assert live_instances(aws["ec2"]) == [] and records(aws["route53"], aws["zone_id"], "A") == []
    assert aws["ses"].list_identities()["Identities"] == []


class SESRefused(AWSProvider):
    """The aws provider in an account whose SES refuses the identity (e.g. a sending quota of zero): step 3."""

    def create_mail_identity(self, ctx: StepContext) -> dict[str, Any]:
        raise PermanentStepError("AWS refused to create the SES identity: AccessDenied: sending is paused")


def test_aws_step_3_failing_for_good_leaves_no_instance_and_no_dns_record(conn, fresh_db, aws):
    org = make_org(conn)
    run_id = request(conn, org["id"])
    provider = SESRefused(hosted_zone_id=aws["zone_id"])

    assert run_saga(fresh_db, run_id, provider=provider).status == "rolled_back"

    assert steps(conn, run_id)[:3] == [("instance", "compensated", 1), ("dns", "compensated", 1),
                                       ("mail", "compensated", 1)]
    assert undo_order(conn, run_id) == ["mail", "dns", "instance"]
    assert live_instances(aws["ec2"]) == [], "moto shows no instance"
    assert records(aws["route53"], aws["zone_id"], "A") == [], "moto shows no DNS record"
    assert run_row(conn, run_id)["status"] == "rolled_back"
    assert [to for to, _ in emails(conn, org["id"], "provisioning_failed")] == [org["owner_email"]]


def test_a_retryable_error_leaves_the_run_resumable_at_that_step(conn, fresh_db, aws):
    org = make_org(conn)
    run_id = request(conn, org["id"])

    class Throttled(AWSProvider):
        def create_dns_record(self, ctx: StepContext) -> dict[str, Any]:
            raise RetryableStepError("AWS refused to create the A record: Throttling: rate exceeded")

    with pytest.raises(RetryableStepError, match="Throttling"):
        run_saga(fresh_db, run_id, provider=Throttled(hosted_zone_id=aws["zone_id"]), final_attempt=False)
    assert run_row(conn, run_id)["status"] == "running"
    assert steps(conn, run_id)[:2] == [("instance", "succeeded", 1), ("dns", "running", 1)]
    assert len(live_instances(aws["ec2"])) == 1


# --- requests under concurrency ------------------------------------------------------------------------------


def test_concurrent_requests_for_one_organization_make_exactly_one_run_and_one_job(conn, fresh_db):
    org = make_org(conn)
    barrier = threading.Barrier(8)
    answers: list[uuid.UUID] = []

    def ask() -> None:
        with psycopg.connect(fresh_db, autocommit=True) as own:
            barrier.wait()
            answers.append(request(own, org["id"], "subscription"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 8 and len(set(answers)) == 1, "every caller got the one run"
    assert conn.execute("select count(*) from public.provisioning_runs where organization_id = %s",
                        (org["id"],)).fetchone()[0] == 1
    assert conn.execute("select count(*) from internal.jobs where kind = 'provisioning.run' and organization_id = %s",
                        (org["id"],)).fetchone()[0] == 1


def test_the_partial_unique_index_refuses_a_second_live_run_even_without_the_function(conn):
    org = make_org(conn)
    request(conn, org["id"])
    with pytest.raises(psycopg.errors.UniqueViolation, match="provisioning_runs_one_live_per_organization_idx"):
        conn.execute("insert into public.provisioning_runs (organization_id, plan_id) values (%s, 'free')",
                     (org["id"],))


# --- state machines ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "to"), [("pending", "succeeded"), ("pending", "rolled_back"),
                                           ("running", "rolled_back"), ("succeeded", "running")])
def test_illegal_run_transitions_are_refused(db, make_user, start, to):
    org = db.execute("insert into public.organizations (name, slug) values ('T', %s) returning id",
                     (f"t-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
    run = db.execute("insert into public.provisioning_runs (organization_id, plan_id) values (%s, 'free')"
                     " returning id", (org,)).fetchone()[0]
    path = {"pending": [], "running": ["running"], "succeeded": ["running", "succeeded"]}[start]
    for status in path:
        db.execute("update public.provisioning_runs set status = %s, started_at = coalesce(started_at, now()),"
                   " finished_at = case when %s = 'succeeded' then now() end where id = %s", (status, status, run))
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=f"illegal status transition {start} -> {to}"):
        db.execute("update public.provisioning_runs set status = %s, started_at = now(), finished_at = now()"
                   " where id = %s", (to, run))


def test_logs_are_append_only(db):
    org = db.execute("insert into public.organizations (name, slug) values ('T', %s) returning id",
                     (f"t-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
    run = db.execute("select internal.request_provisioning(%s, 'test')", (org,)).fetchone()[0]
    for statement in ("update public.provisioning_logs set message = 'edited' where run_id = %s",
                      "delete from public.provisioning_logs where run_id = %s"):
        db.execute("savepoint s")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            db.execute(statement, (run,))
        db.execute("rollback to savepoint s")
    db.execute("delete from public.organizations where id = %s", (org,))  # the cascade may remove them
    assert db.execute("select count(*) from public.provisioning_logs where run_id = %s", (run,)).fetchone()[0] == 0


# --- what members see ----------------------------------------------------------------------------------------


def test_members_read_the_status_rpc_and_outsiders_are_refused(db, make_user):
    owner, member, outsider = make_user(), make_user(), make_user()
    org = db.execute("insert into public.organizations (name, slug) values ('T', %s) returning id",
                     (f"t-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
    db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner'),"
               " (%s, %s, 'client')", (org, owner, org, member))
    run = db.execute("select internal.request_provisioning(%s, 'test')", (org,)).fetchone()[0]
    with as_user(db, member, method="POST") as cur:
        status = cur.execute("select public.provisioning_status(%s)", (org,)).fetchone()[0]
    assert status["run"]["id"] == str(run) and status["run"]["status"] == "pending"
    assert status["infrastructure"]["status"] == "provisioning"
    assert [entry["message"] for entry in status["logs"]] == ["provisioning requested"]
    with pytest.raises(RequestError) as refused, as_user(db, outsider, method="POST") as cur:
        cur.execute("select public.provisioning_status(%s)", (org,))
    assert refused.value.status == 403, "a non-member is refused, not shown an empty status"


def test_the_first_owner_gets_one_welcome_email(db, make_user):
    first, second = make_user("first@example.com"), make_user("second@example.com")
    org = db.execute("insert into public.organizations (name, slug) values ('Welcome Co', %s) returning id",
                     (f"w-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
    db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner')",
               (org, first))
    db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner')",
               (org, second))
    rows = db.execute("select to_address, data ->> 'organization_name' from internal.outbox_emails"
                      " where organization_id = %s and template = 'welcome'", (org,)).fetchall()
    assert rows == [("first@example.com", "Welcome Co")]


def test_members_may_join_the_provisioning_topic_and_the_jobs_topic_still_works(db, make_user):
    from tests.test_generations import can_join

    member, outsider = make_user(), make_user()
    org = db.execute("insert into public.organizations (name, slug) values ('T', %s) returning id",
                     (f"t-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
    db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner')",
               (org, member))
    for suffix in ("provisioning", "jobs"):
        topic = f"org:{org}:{suffix}"
        assert can_join(db, member, topic) == {"read": True, "write": False}, f"members receive {suffix} updates"
        assert can_join(db, outsider, topic) == {"read": False, "write": False}, f"others cannot join {topic}"


# --- subscriptions (sql/0011) drive provisioning -------------------------------------------------------------


def subscribe(conn: psycopg.Connection, org: uuid.UUID, status: str = "active", plan: str = "pro") -> str:
    sub = f"sub_{uuid.uuid4().hex[:12]}"
    conn.execute("insert into public.subscriptions (organization_id, plan_id, status, stripe_subscription_id,"
                 " stripe_customer_id, last_event_at) values (%s, %s, %s, %s, %s, now())",
                 (org, plan, status, sub, f"cus_{org.hex[:12]}"))
    return sub


def test_concurrent_subscription_events_for_one_organization_make_exactly_one_run(conn, fresh_db):
    org = make_org(conn)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def event(status: str) -> None:
        try:
            with psycopg.connect(fresh_db, autocommit=True) as own:
                barrier.wait()
                with own.transaction():
                    subscribe(own, org["id"], status)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=event, args=(s,)) for s in ("active", "trialing") * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    runs = conn.execute("select kind, status, reason from public.provisioning_runs where organization_id = %s",
                        (org["id"],)).fetchall()
    assert len(runs) == 1 and runs[0][:2] == ("provision", "pending") and runs[0][2].startswith("subscription ")
    assert conn.execute("select count(*) from internal.jobs where kind = 'provisioning.run' and organization_id = %s",
                        (org["id"],)).fetchone()[0] == 1


def test_a_subscription_that_ends_queues_one_deprovision_and_only_when_nothing_else_gives_access(conn, fresh_db,
                                                                                                  local_env):
    org = make_org(conn)
    first = subscribe(conn, org["id"], "active", "team")
    run_id = conn.execute("select id from public.provisioning_runs where organization_id = %s", (org["id"],)
                          ).fetchone()[0]
    assert run_row(conn, run_id)["plan_id"] == "team", "the plan comes from the subscription (organization_plan)"
    assert run_saga(fresh_db, run_id).status == "succeeded"
    second = subscribe(conn, org["id"], "active", "pro")
    conn.execute("update public.subscriptions set status = 'canceled', canceled_at = now(), ended_at = now()"
                 " where stripe_subscription_id = %s", (first,))
    assert conn.execute("select count(*) from public.provisioning_runs where organization_id = %s"
                        " and kind = 'deprovision'", (org["id"],)).fetchone()[0] == 0, "the other one still pays"
    conn.execute("update public.subscriptions set status = 'canceled', canceled_at = now(), ended_at = now()"
                 " where stripe_subscription_id = %s", (second,))
    [(teardown, reason)] = conn.execute("select id, reason from public.provisioning_runs where organization_id = %s"
                                        " and kind = 'deprovision'", (org["id"],)).fetchall()
    assert reason == "subscription canceled"
    assert conn.execute("select kind from internal.jobs where dedupe_key = %s", (f"deprovisioning:{org['id']}",)
                        ).fetchone() == ("provisioning.deprovision",)
    assert run_saga(fresh_db, teardown).status == "succeeded"
    assert not role_exists(conn, org["id"]) and infra(conn, org["id"])["status"] == "deleted"


class DNSUndoBroken(LocalProvider):
    """The local provider whose dns undo fails (say the hosts file is read-only for a while)."""

    def remove_dns_record(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        raise PermanentStepError("hosts file is read-only")


def test_a_failed_undo_leaves_the_run_failed_and_a_retry_finishes_the_rollback(conn, fresh_db, local_env):
    org = make_org(conn)
    (local_env / "mail").mkdir()
    (local_env / "mail" / "customers").write_text("in the way\n")
    run_id = request(conn, org["id"])

    assert run_saga(fresh_db, run_id, provider=DNSUndoBroken.from_env(fresh_db)).status == "failed"

    assert steps(conn, run_id)[:3] == [("instance", "succeeded", 1), ("dns", "compensation_failed", 1),
                                       ("mail", "compensated", 1)], "the rollback stopped at the broken undo"
    assert role_exists(conn, org["id"]), "the instance is still there: the run says so"
    assert infra(conn, org["id"])["status"] == "failed"
    assert emails(conn, org["id"], "provisioning_failed")[0][1]["status"] == "failed"
    assert request(conn, org["id"]) is None, "a new run waits until the failed rollback is finished"

    # `supakit provision retry` re-queues the run; its next execution resumes the compensation
    assert run_saga(fresh_db, run_id).status == "rolled_back"
    assert steps(conn, run_id)[:2] == [("instance", "compensated", 1), ("dns", "compensated", 1)]
    assert not role_exists(conn, org["id"]) and (local_env / "provisioning" / "hosts").read_text() == ""
    assert infra(conn, org["id"])["status"] == "deleted"


def test_a_second_executor_of_the_same_organization_backs_off(conn, fresh_db, local_env):
    org = make_org(conn)
    run_id = request(conn, org["id"])
    with psycopg.connect(fresh_db, autocommit=True) as other:  # an executor that holds the organization's lock
        other.execute("select pg_advisory_lock(hashtextextended('supakit.provisioning.run:' || %s::text, 0))",
                      (org["id"],))
        with pytest.raises(RetryableStepError, match="Another worker is executing"):
            run_saga(fresh_db, run_id)
    assert run_row(conn, run_id)["status"] == "pending", "untouched"
    assert run_saga(fresh_db, run_id).status == "succeeded", "once the lock is free"
    teardown = conn.execute("select internal.request_deprovisioning(%s, 'test')", (org["id"],)).fetchone()[0]
    assert run_saga(fresh_db, teardown).status == "succeeded"
