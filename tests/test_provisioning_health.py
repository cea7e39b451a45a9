"""Health checks and usage of provisioned instances (sql/0033, functions_py/provisioning/health.py): the provider's
instance state plus an HTTP GET of the deployed site (a local HTTP server here), recorded with history and a
verdict decided in SQL; usage into SQL; the dashboard's provisioning_status for members only; broadcasts on a
change; the sweep jobs; `supakit provision health`."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import psycopg_pool
import pytest

from functions_py.errors import RequestError
from functions_py.handlers import provisioning as provisioning_jobs
from functions_py.jobs.registry import Job, JobContext, PermanentJobError
from functions_py.postgrest import as_user
from functions_py.provisioning import health
from tests.cli import run_cli
from tests.provisioning_helpers import broadcasts, infra, make_org, moto_aws, request, run_saga, use_local_provider
from tests.test_provisioning import live_instances


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


class Site:
    """A customer's deployed site: a real HTTP server on localhost whose answer the test sets."""

    def __init__(self) -> None:
        self.status, self.delay_s, self.paths = 200, 0.0, []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                site.paths.append(self.path)
                time.sleep(site.delay_s)
                body = b"ok\n"
                self.send_response(site.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    served = Site()
    monkeypatch.setenv("SUPAKIT_HEALTH_URL", f"http://127.0.0.1:{served.port}/sites/{{subdomain}}/healthz")
    monkeypatch.setenv("SUPAKIT_HEALTH_TIMEOUT_S", "0.5")
    yield served
    served.stop()


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return use_local_provider(monkeypatch, tmp_path)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from moto_aws(monkeypatch)


def provisioned(conn: psycopg.Connection, url: str) -> dict[str, Any]:
    org = make_org(conn, plan="pro")
    assert run_saga(url, request(conn, org["id"])).status == "succeeded"
    return org


def history(conn: psycopg.Connection, org: uuid.UUID) -> list[tuple]:
    return conn.execute("select status, previous_status, instance_state, http_status, timed_out from"
                        " public.instance_health_checks where organization_id = %s order by id", (org,)).fetchall()


def test_local_health_checks_record_healthy_degraded_and_down_with_history_and_broadcast_changes(
        conn, fresh_db, local_env, site):
    org = provisioned(conn, fresh_db)
    subdomain = f"{org['slug']}.localhost"

    first = health.check_health(fresh_db, org["id"])
    assert (first["status"], first["instance_state"], first["http_status"]) == ("healthy", "running", 200)
    assert site.paths == [f"/sites/{subdomain}/healthz"], "the URL template was filled with the subdomain"
    health.check_health(fresh_db, org["id"])  # unchanged: recorded, not broadcast
    site.status = 503
    assert health.check_health(fresh_db, org["id"])["status"] == "degraded"
    site.status, site.delay_s = 200, 2.0
    slow = health.check_health(fresh_db, org["id"])
    assert (slow["status"], slow["timed_out"], slow["error"]) == ("degraded", True, "no answer within 0.5 s")
    site.delay_s = 0.0
    # the instance goes: its credentials are gone, so the provider cannot log in as the customer
    Path(infra(conn, org["id"])["resources"]["instance"]["credentials_file"]).unlink()
    down = health.check_health(fresh_db, org["id"])
    assert (down["status"], down["instance_state"]) == ("down", "missing") and down["error"].startswith("instance")

    assert history(conn, org["id"]) == [
        ("healthy", None, "running", 200, False), ("healthy", "healthy", "running", 200, False),
        ("degraded", "healthy", "running", 503, False), ("degraded", "degraded", "running", None, True),
        ("down", "degraded", "missing", 200, False)]
    changes = [m["record"]["status"] for m in broadcasts(conn, org["id"]) if m["table"] == "instance_health_checks"]
    assert changes == ["healthy", "degraded", "down"], "one broadcast per change of verdict"


def test_a_site_that_refuses_connections_is_degraded_and_says_why(conn, fresh_db, local_env, monkeypatch):
    org = provisioned(conn, fresh_db)
    closed = Site()
    closed.stop()
    monkeypatch.setenv("SUPAKIT_HEALTH_URL", f"http://127.0.0.1:{closed.port}/")
    check = health.check_health(fresh_db, org["id"])
    assert (check["status"], check["http_status"]) == ("degraded", None)
    assert check["error"].startswith("cannot connect")


def test_local_usage_measures_storage_counts_members_and_keeps_one_row_per_day(conn, fresh_db, local_env):
    org = provisioned(conn, fresh_db)
    schema = infra(conn, org["id"])["resources"]["instance"]["schema"]
    first = health.collect_usage(fresh_db, org["id"])
    assert (first["users"], first["bandwidth_bytes"]) == (2, None), "owner and member; no bandwidth measured locally"
    conn.execute(f'create table "{schema}".blobs as select repeat(md5(g::text), 100) as body'
                 ' from generate_series(1, 2000) as g')
    second = health.collect_usage(fresh_db, org["id"])
    assert second["storage_bytes"] > first["storage_bytes"] + 100_000, "the new table's bytes are counted"
    rows = conn.execute("select day, period_start, users from public.infrastructure_usage where organization_id = %s",
                        (org["id"],)).fetchall()
    assert len(rows) == 1 and rows[0][1] == rows[0][0].replace(day=1), "one row per day, this month's period"
    assert set(second["sources"]) == {"storage_bytes", "bandwidth_bytes", "users"}


def test_aws_health_reads_ec2_status_and_usage_reads_volumes_and_cloudwatch(conn, fresh_db, aws, site):
    org = provisioned(conn, fresh_db)
    check = health.check_health(fresh_db, org["id"])
    assert (check["status"], check["instance_state"], check["provider"]) == ("healthy", "running", "aws")
    usage = health.collect_usage(fresh_db, org["id"])
    (instance,) = live_instances(aws["ec2"])
    volumes = aws["ec2"].describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                                     "Values": [instance["InstanceId"]]}])["Volumes"]
    assert usage["storage_bytes"] == sum(v["Size"] for v in volumes) * 1024**3 > 0
    assert usage["bandwidth_bytes"] == 0 and "CloudWatch" in usage["sources"]["bandwidth_bytes"]
    aws["ec2"].stop_instances(InstanceIds=[instance["InstanceId"]])
    stopped = health.check_health(fresh_db, org["id"])
    assert (stopped["status"], stopped["instance_state"]) == ("down", "stopped")


def test_checks_refuse_an_organization_without_active_infrastructure(conn, fresh_db, local_env):
    org = make_org(conn)
    with pytest.raises(health.NotProvisioned, match="no active infrastructure"):
        health.check_health(fresh_db, org["id"])


def test_the_sweep_queues_one_job_per_active_infrastructure_deduplicated_and_prunes_old_checks(
        conn, fresh_db, local_env, site):
    active, other = provisioned(conn, fresh_db), make_org(conn)
    health.check_health(fresh_db, active["id"])
    conn.execute("insert into public.instance_health_checks (organization_id, checked_at, status, instance_state,"
                 " instance_ok) values (%s, now() - interval '40 days', 'healthy', 'running', true)", (active["id"],))
    for _ in range(2):
        assert health.sweep(fresh_db, "provisioning.check_health")["organizations"] == 1
    jobs = conn.execute("select organization_id, payload from internal.jobs where kind = 'provisioning.check_health'"
                        " and status = 'queued'").fetchall()
    assert jobs == [(active["id"], {"org_id": str(active["id"])})], "one job, for the active organization only"
    assert conn.execute("select count(*) from public.instance_health_checks where organization_id = %s",
                        (active["id"],)).fetchone()[0] == 1, "the 40-day-old check was pruned"
    assert other["id"] not in {row[0] for row in jobs}
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("select internal.enqueue_provisioning_checks('email.send')")


def run_job(url: str, kind: str, payload: dict[str, Any]) -> dict:
    """A check job's handler, run as the worker would, on a pool of its own."""

    async def main() -> dict:
        async with psycopg_pool.AsyncConnectionPool(url, min_size=1, max_size=2, open=False,
                                                    kwargs={"autocommit": True}) as pool:
            handler = provisioning_jobs.check_health if kind == "provisioning.check_health" else \
                provisioning_jobs.collect_usage
            return await handler(Job(id=1, kind=kind, payload=payload, attempts=1, max_attempts=3),
                                 JobContext(pool=pool, worker="test"))

    return asyncio.run(main())


def test_the_jobs_sweep_check_one_organization_skip_inactive_ones_and_refuse_bad_payloads(
        conn, fresh_db, local_env, site):
    provisioned(conn, fresh_db)
    idle = make_org(conn)
    assert run_job(fresh_db, "provisioning.check_health", {}) == {"organizations": 1, "pruned": 0}
    (payload,) = [p for p, in conn.execute("select payload from internal.jobs"
                                           " where kind = 'provisioning.check_health'")]
    assert run_job(fresh_db, "provisioning.check_health", payload)["status"] == "healthy"
    assert run_job(fresh_db, "provisioning.collect_usage", payload)["users"] == 2
    assert "no active infrastructure" in run_job(fresh_db, "provisioning.check_health",
                                                 {"org_id": str(idle["id"])})["skipped"]
    with pytest.raises(PermanentJobError, match="payload.org_id is not a UUID"):
        run_job(fresh_db, "provisioning.collect_usage", {"org_id": "acme"})


def test_provisioning_status_gives_members_services_health_and_usage_and_refuses_others(
        conn, fresh_db, local_env, site, make_user):
    org = provisioned(conn, fresh_db)
    health.check_health(fresh_db, org["id"])
    health.collect_usage(fresh_db, org["id"])
    outsider = uuid.uuid4()
    from tests import factories

    factories.user(conn, f"outsider-{outsider.hex[:6]}@example.com", user_id=outsider)
    with as_user(conn, org["member"], method="POST") as cur:
        status = cur.execute("select public.provisioning_status(%s)", (org["id"],)).fetchone()[0]
    assert status["services"]["instance"] == {"state": "running", "instance_type": "t3.small",
                                              "address": "127.0.0.1", "provider": "local"}
    assert status["services"]["dns"]["state"] == "active"
    assert status["services"]["site"]["state"] == "healthy" and status["services"]["site"]["http_status"] == 200
    assert status["health"]["status"] == "healthy" and len(status["health"]["history"]) == 1
    assert status["usage"]["users"] == 2 and status["usage"]["storage_bytes"] > 0
    assert status["sagas"] == [] and status["run"]["kind"] == "provision"
    with pytest.raises(RequestError) as refused, as_user(conn, outsider, method="POST") as cur:
        cur.execute("select public.provisioning_status(%s)", (org["id"],))
    assert refused.value.status == 403
    with pytest.raises(RequestError) as missing, as_user(conn, org["member"], method="POST") as cur:
        cur.execute("select public.provisioning_status(%s)", (uuid.uuid4(),))
    assert missing.value.status == 403, "an unknown organization looks like one you are not in"
    # members read the history tables directly too; outsiders see no rows
    for user, expected in ((org["member"], 1), (outsider, 0)):
        with as_user(conn, user, method="GET") as cur:
            seen = [cur.execute(f"select count(*) from public.{t} where organization_id = %s",
                                (org["id"],)).fetchone()[0] for t in ("instance_health_checks", "infrastructure_usage")]
        assert seen == [expected, expected]


@pytest.mark.slow
def test_provision_health_cli_checks_and_prints_the_dashboard_view(conn, fresh_db, tmp_path, site):
    org = make_org(conn)
    env = {"DATABASE_URL": fresh_db, "SUPAKIT_DATA_DIR": str(tmp_path),
           "SUPAKIT_HEALTH_URL": f"http://127.0.0.1:{site.port}/{{slug}}", "SUPAKIT_HEALTH_TIMEOUT_S": "2"}
    missing = run_cli("provision", "health", "--org", org["slug"], env=env)
    assert missing.returncode == 1 and "no active infrastructure" in missing.stderr
    assert run_cli("provision", "run", "--org", org["slug"], "--now", env=env).returncode == 0
    answer = run_cli("provision", "health", "--org", org["slug"], "--json", env=env)
    assert answer.returncode == 0, answer.stderr
    report = json.loads(answer.stdout)
    assert report["health"]["status"] == "healthy" and report["usage"]["users"] == 2
    assert site.paths == [f"/{org['slug']}"]
    site.status = 500
    text = run_cli("provision", "health", "--org", org["slug"], env=env)
    assert text.returncode == 1 and "health: degraded" in text.stdout and "500" in text.stdout


def test_every_member_role_and_the_service_role_read_the_status_and_anon_and_former_members_do_not(db, make_user):
    from functions_py.postgrest import as_anon, as_service

    org = db.execute("insert into public.organizations (name, slug) values ('Roles', %s) returning id",
                     (f"r-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
    users = {role: make_user() for role in ("owner", "admin", "manager", "member", "assistant", "client", "gone")}
    for role, user in users.items():
        db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, %s)",
                   (org, user, "member" if role == "gone" else role))
    db.execute("delete from public.memberships where user_id = %s", (users["gone"],))
    db.execute("select internal.record_health_check(%s, '{\"instance_state\": \"running\", \"instance_ok\": true,"
               " \"http_status\": 200}')", (org,))
    query = "select public.provisioning_status(%s) -> 'health' ->> 'status'"
    for role in ("owner", "admin", "manager", "member", "assistant", "client"):
        with as_user(db, users[role], method="POST") as cur:
            assert cur.execute(query, (org,)).fetchone()[0] == "healthy", role
    with as_service(db) as cur:
        assert cur.execute(query, (org,)).fetchone()[0] == "healthy"
    for caller, status in ((lambda: as_user(db, users["gone"], method="POST"), 403), (lambda: as_anon(db), 401)):
        with pytest.raises(RequestError) as refused, caller() as cur:
            cur.execute(query, (org,))
        assert refused.value.status == status, "a former member is refused; anon may not call it at all"
