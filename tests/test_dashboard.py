"""The local dashboard (issue 17.2), in process: every page over ASGI, the actions through the CLI's SQL functions,
the guards (loopback bind, Host, Origin, the secret-key login), its settings, and — instead of a timing — that
each list's query is bounded and walks an index with 10,000 jobs (bench/dashboard.py measures the pages)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from bench.dashboard import FAILED_EVENT, ROLLED_BACK_RUN, fill_world
from functions_py.config import DASHBOARD_OPTIONS, OPTIONS, Settings
from functions_py.dashboard import queries
from functions_py.dashboard.app import DashboardConfig, build
from functions_py.dashboard.charts import depth_chart, throughput_chart
from functions_py.dashboard.mail import linkify
from functions_py.dashboard.server import dashboard_config, is_loopback
from functions_py.errors import ConfigError
from functions_py.provisioning.local import mail_root
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
BASE = "http://127.0.0.1:54323"


@pytest.fixture(scope="module")
def world(pg_server, template_db) -> Iterator[str]:
    """One database with the bench's world (10,000 jobs) for the read-only tests of this module."""
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        fill_world(conn, jobs=10_000)
    yield url
    pg_server.drop_database(name)


def _get(config: DashboardConfig, *requests: tuple[str, str, dict]) -> list[httpx.Response]:
    """Send (method, path, options) requests to a fresh app (its lifespan opened around them)."""
    async def go() -> list[httpx.Response]:
        app = build(config)
        answers = []
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                for method, path, options in requests:
                    answers.append(await client.request(method, path, **options))
        return answers

    return asyncio.run(go())


def _page(config: DashboardConfig, path: str, **options) -> httpx.Response:
    return _get(config, ("GET", path, options))[0]


def test_every_page_renders_with_the_world(world: str, tmp_path: Path) -> None:
    config = DashboardConfig(database_url=world, maildir=tmp_path)
    assert _page(config, "/").headers["location"] == "/queue"
    queue = _page(config, "/queue")
    assert queue.status_code == 200
    assert 'data-figure="queued"' in queue.text and "check failed:" in queue.text, "10,000 jobs: > 50 queued"
    assert queue.text.count("<svg class=\"chart\"") == 2
    assert len(re.findall(r'<tr data-job="\d+">', queue.text)) == 50, "the job list shows one page of 50"
    assert "older jobs" in queue.text
    assert "bench-host:1" in queue.text, "workers seen"
    failed = _page(config, "/queue/jobs?status=failed&kind=ai.generate")
    badges = re.findall(r'<span class="badge s-(\w+)">', failed.text)
    assert badges and set(badges) == {"failed"}
    assert "ai.generate" in failed.text and "email.send" not in failed.text
    job = _page(config, "/queue/jobs/50")
    assert "RuntimeError: the model answered 529" in job.text and "3 of 3" in job.text
    assert 'name="retry"' in job.text and 'name="cancel"' not in job.text
    assert _page(config, "/queue/jobs/999999").status_code == 404
    provisioning = _page(config, "/provisioning")
    assert "rolled_back" in provisioning.text and "Globex" in provisioning.text
    run = _page(config, f"/provisioning/runs/{ROLLED_BACK_RUN}")
    assert "compensated: database dropped" in run.text and "Compensation: 1 step" in run.text
    assert _page(config, "/provisioning/runs/not-a-uuid").status_code == 404
    billing = _page(config, "/billing")
    assert FAILED_EVENT in billing.text and "sub_bench_1" in billing.text and "Acme" in billing.text
    only_failed = _page(config, "/billing?failed=1")
    assert FAILED_EVENT in only_failed.text and "evt_bench_applied" not in only_failed.text
    event = _page(config, f"/billing/events/{FAILED_EVENT}")
    assert "a deadlock was detected" in event.text and "in_bench_1" in event.text
    mail = _page(config, "/mail")
    assert "owner@acme.test" in mail.text and "payment_failed" in mail.text
    email = _page(config, "/mail/outbox/1")
    assert "Payment for Acme failed" in email.text
    assert '<a href="https://invoice.stripe.test/i/bench" target="_blank"' in email.text, "links are clickable"


def test_the_mail_page_lists_and_renders_the_maildir(world: str, tmp_path: Path) -> None:
    maildir = tmp_path / "mail"
    (maildir / "new").mkdir(parents=True)
    (maildir / "new" / "auth-1.eml").write_bytes(
        b"From: supakit <no-reply@localhost>\r\nTo: ada@acme.test\r\nSubject: Confirm your signup\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nConfirm: http://127.0.0.1:54321/auth/v1/verify?token=abc&type=signup\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p><a href=\"http://127.0.0.1:54321/auth/v1/verify?token=abc\">"
        b"Confirm</a><script>alert(1)</script></p>\r\n--b--\r\n")
    config = DashboardConfig(database_url=world, maildir=maildir)
    listing = _page(config, "/mail")
    assert "Confirm your signup" in listing.text and "/mail/maildir/auth-1.eml" in listing.text
    message = _page(config, "/mail/maildir/auth-1.eml")
    assert '<a href="http://127.0.0.1:54321/auth/v1/verify?token=abc&amp;type=signup"' in message.text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="&lt;p&gt;' in message.text, \
        "the HTML part is shown escaped in a sandboxed frame (no scripts)"
    for hostile in ("../../etc/passwd", ".hidden", "a%2Fb"):
        assert _page(config, f"/mail/maildir/{hostile}").status_code == 404


def test_retry_and_cancel_go_through_the_cli_sql_functions(fresh_db: str, tmp_path: Path) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        fill_world(conn, jobs=200)
        failed, = conn.execute("select min(id) from internal.jobs where status = 'failed'").fetchone()
        queued, = conn.execute("select min(id) from internal.jobs where status = 'queued'").fetchone()
        done, = conn.execute("select min(id) from internal.jobs where status = 'succeeded'").fetchone()
    config = DashboardConfig(database_url=fresh_db, maildir=tmp_path)
    retried, cancelled, refused = _get(config, ("POST", f"/queue/jobs/{failed}/retry", {}),
                                       ("POST", f"/queue/jobs/{queued}/cancel", {}),
                                       ("POST", f"/queue/jobs/{done}/retry", {}))
    assert retried.status_code == 303 and "ok=1" in retried.headers["location"]
    assert "ok=0" in refused.headers["location"] and "only+failed" in refused.headers["location"].replace("%20", "+")
    with psycopg.connect(fresh_db) as conn:
        status = dict(conn.execute("select id, status::text from internal.jobs where id = any(%s)",
                                   ([failed, queued, done],)).fetchall())
    assert status == {failed: "queued", queued: "cancelled", done: "succeeded"}


def test_replay_and_provisioning_retry_change_the_database(fresh_db: str, tmp_path: Path) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        fill_world(conn, jobs=10)
    config = DashboardConfig(database_url=fresh_db, maildir=tmp_path)
    replayed, again, retried, twice = _get(
        config, ("POST", f"/billing/events/{FAILED_EVENT}/replay", {"data": {}}),
        ("POST", f"/billing/events/{FAILED_EVENT}/replay", {"data": {}}),
        ("POST", f"/provisioning/runs/{ROLLED_BACK_RUN}/retry", {}),
        ("POST", f"/provisioning/runs/{ROLLED_BACK_RUN}/retry", {}))
    assert "ok=1" in replayed.headers["location"]
    assert "ok=0" in again.headers["location"] and "already+processed" in again.headers["location"].replace(
        "%20", "+"), "a processed event replays only with force, as the CLI's"
    assert "ok=1" in retried.headers["location"] and retried.headers["location"].startswith("/provisioning/runs/")
    assert ROLLED_BACK_RUN not in retried.headers["location"], "the page of the new run comes next"
    assert "ok=0" in twice.headers["location"], "the rolled-back run is no longer the latest"
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select outcome from internal.stripe_events where id = %s",
                            (FAILED_EVENT,)).fetchone()[0] == "ignored"
        statuses = [r[0] for r in conn.execute(
            "select r.status from public.provisioning_runs as r join public.organizations as o "
            "on o.id = r.organization_id where o.slug = 'globex' order by r.created_at").fetchall()]
        assert statuses == ["rolled_back", "pending"]
        assert conn.execute("select count(*) from internal.jobs where kind = 'provisioning.run' and status = 'queued' "
                            "and payload ? 'run_id'").fetchone()[0] >= 1


def test_the_lists_are_bounded_and_walk_an_index_with_10000_jobs(world: str) -> None:
    """A timing-free check of 'pages render with 10,000 jobs in < 300 ms': each list query stops at its LIMIT
    while reading an index in the list's order, so its cost does not grow with the table."""
    with psycopg.connect(world) as conn:
        def plan(query: str, params: dict) -> str:
            rows = conn.execute("explain (costs off) " + query, params).fetchall()
            return "\n".join(row[0] for row in rows)

        jobs = plan(queries.JOB_SELECT_MANY, {"status": None, "kind": None, "before": None, "limit": 51})
        assert jobs.startswith("Limit") and "Index Scan Backward using jobs_pkey" in jobs, jobs
        filtered = plan(queries.JOB_SELECT_MANY, {"status": "failed", "kind": "ai.generate", "before": 9000,
                                                  "limit": 51})
        assert filtered.startswith("Limit") and "Index" in filtered and "Seq Scan" not in filtered, filtered
        queued = plan(queries.JOB_SELECT_MANY, {"status": "queued", "kind": None, "before": None, "limit": 51})
        assert queued.startswith("Limit") and "Seq Scan" not in queued, queued
        events = plan(queries.EVENT_SELECT_MANY, {"failed": False, "limit": 50})
        assert events.startswith("Limit"), events
        emails = plan(queries.EMAIL_SELECT_MANY, {"limit": 50})
        assert emails.startswith("Limit"), emails
        logs = plan(queries.LOG_SELECT_MANY, {"id": ROLLED_BACK_RUN, "limit": 200})
        assert logs.startswith("Limit") and "provisioning_logs_run_id_id_idx" in logs, logs
        runs = plan(queries.RUN_SELECT_MANY, {"status": None, "limit": 50})
        assert runs.startswith("Limit"), runs
        job = plan(queries.JOB_SELECT_ONE, {"id": 5})
        assert "Index Scan using jobs_pkey" in job, job


def test_a_foreign_host_or_a_cross_origin_post_is_refused(world: str, tmp_path: Path) -> None:
    config = DashboardConfig(database_url=world, maildir=tmp_path)
    rebinding, foreign_post, same_origin = _get(
        config, ("GET", "/queue", {"headers": {"host": "evil.example:54323"}}),
        ("POST", "/queue/jobs/1/cancel", {"headers": {"origin": "http://evil.example"}}),
        ("GET", "/queue", {"headers": {"host": "localhost:54323"}}))
    assert rebinding.status_code == 421, "a DNS-rebinding page must not read the loopback dashboard"
    assert foreign_post.status_code == 403
    assert same_origin.status_code == 200
    with psycopg.connect(world) as conn:
        assert conn.execute("select status::text from internal.jobs where id = 1").fetchone()[0] != "cancelled"


def test_the_login_asks_for_the_secret_key(world: str, tmp_path: Path) -> None:
    key = "sb_secret_" + "k" * 32
    config = DashboardConfig(database_url=world, maildir=tmp_path, login_key=key, allowed_hosts=("dash.internal",))

    async def go() -> None:
        app = build(config)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://dash.internal:54323") as client:
                anonymous = await client.get("/queue/jobs/1")
                assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/queue/jobs/1"
                assert (await client.get("/static/htmx.min.js")).status_code == 200
                wrong = await client.post("/login?next=/billing", data={"key": "nope"})
                assert wrong.status_code == 401 and "not the project" in wrong.text
                right = await client.post("/login?next=/billing", data={"key": key})
                assert right.status_code == 303 and right.headers["location"] == "/billing"
                assert "httponly" in right.headers["set-cookie"].lower()
                assert (await client.get("/billing")).status_code == 200
                open_redirect = await client.post("/login?next=//evil.example", data={"key": key})
                assert open_redirect.headers["location"] == "/queue"

    asyncio.run(go())


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.load(project_dir=ROOT, data_dir=tmp_path, environ=env)


def test_dashboard_settings_and_the_bind_guard(tmp_path: Path) -> None:
    assert all(option in OPTIONS for option in DASHBOARD_OPTIONS)
    defaults = _settings(tmp_path)
    assert (defaults.dashboard.host, defaults.dashboard.port, defaults.dashboard.enabled) == ("127.0.0.1", 54323, True)
    assert (defaults.dashboard.max_queued, defaults.dashboard.max_failure_rate) == (50, 0.05)
    config = dashboard_config(defaults, "postgresql://postgres@127.0.0.1:54322/postgres")
    assert config.login_key is None and config.maildir == mail_root(), "where email.send writes"
    same = _settings(tmp_path, SUPAKIT_JOBS_MAX_QUEUED="7", SUPAKIT_JOBS_MAX_FAILURE_RATE="0.2",
                     SUPAKIT_DASHBOARD_PORT="54999")
    assert (same.dashboard.max_queued, same.dashboard.max_failure_rate, same.dashboard.port) == (7, 0.2, 54999), \
        "the thresholds are read from the variables `jobs stats --check` reads"
    with pytest.raises(ConfigError, match="not a loopback address"):
        dashboard_config(_settings(tmp_path, SUPAKIT_DASHBOARD_HOST="0.0.0.0"), "postgresql://127.0.0.1/postgres")
    with pytest.raises(ConfigError, match="public local secret key"):
        dashboard_config(_settings(tmp_path, SUPAKIT_DASHBOARD_HOST="0.0.0.0", SUPAKIT_DASHBOARD_LOGIN="true"),
                         "postgresql://127.0.0.1/postgres")
    exposed = dashboard_config(_settings(tmp_path, SUPAKIT_DASHBOARD_HOST="0.0.0.0", SUPAKIT_DASHBOARD_LOGIN="true",
                                         SUPAKIT_SECRET_KEY="sb_secret_" + "x" * 32), "postgresql://127.0.0.1/postgres")
    assert exposed.login_key == "sb_secret_" + "x" * 32
    with pytest.raises(ConfigError, match="for the local stack"):
        dashboard_config(defaults, "postgresql://db.example.com/postgres")
    with pytest.raises(ConfigError, match="dashboard.port"):
        _settings(tmp_path, SUPAKIT_DASHBOARD_PORT="http")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")


def test_supakit_serve_refuses_a_public_dashboard_without_the_login(empty_db: str) -> None:
    result = run_cli("serve", env={"DATABASE_URL": empty_db, "SUPAKIT_DASHBOARD_HOST": "0.0.0.0",
                                   "SUPAKIT_API_PORT": "1"})
    assert result.returncode != 0, result.stderr
    assert "not a loopback address" in result.stderr and "Traceback" not in result.stderr


def test_the_charts_are_svg_drawn_on_the_server() -> None:
    from datetime import UTC, datetime, timedelta

    times = [datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(minutes=2 * i) for i in range(30)]
    depth = depth_chart(times, list(range(30)))
    assert depth.startswith("<svg") and "<polyline" in depth and "queued (now 29)" in depth
    bars = throughput_chart(times, [3] * 30, [1] * 30)
    assert bars.count('class="ok"') == 30 and bars.count('class="bad"') == 30 and "90 succeeded, 30 failed" in bars
    empty = throughput_chart([], [], [])
    assert empty.startswith("<svg")
    assert linkify("see <https://x.test/a?b=1&c=2> now") == \
        'see &lt;<a href="https://x.test/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">' \
        'https://x.test/a?b=1&amp;c=2</a>&gt; now'


def test_the_queue_counts_agree_with_jobs_stats(world: str, tmp_path: Path) -> None:
    stats = run_cli("jobs", "stats", "--json", env={"DATABASE_URL": world})
    assert stats.returncode == 0, stats.stderr
    report = json.loads(stats.stdout)
    page = _page(DashboardConfig(database_url=world, maildir=tmp_path), "/queue/summary").text
    queued = re.search(r'data-figure="queued"><span class="figure">(\d+)', page).group(1)
    assert int(queued) == report["queued"]
    assert f"({report['failed_in_window']}/{report['finished_in_window']})" in page


def test_the_depth_chart_counts_a_job_back_in_the_queue_after_a_start(fresh_db: str) -> None:
    """A retry waiting for its backoff (or a reaped job) was started once: the chart's depth must count it again
    from when it went back, so the depth now equals the jobs queued."""
    from functions_py.dashboard.app import CHART_STEP, WINDOW

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for _ in range(3):
            conn.execute("select internal.enqueue_job('system.noop')")
        (retried, token), (done, done_token) = conn.execute(
            "select id, lease_token from internal.claim_jobs('w', 2) order by id").fetchall()
        assert conn.execute("select internal.fail_job(%s, %s, 'flaky', true)::text", (retried, token)).fetchone()[0] \
            == "queued"
        conn.execute("select internal.complete_jobs(array[%s]::bigint[], array[%s]::uuid[])", (done, done_token))
        history = conn.execute(queries.JOB_HISTORY, {"step": CHART_STEP, "window": WINDOW}).fetchall()
        queued = conn.execute("select count(*) from internal.jobs where status = 'queued'").fetchone()[0]
    assert queued == 2, "one never started, one waiting for its retry"
    assert history[-1][1] == queued
    assert sum(row[2] for row in history) == 1 and sum(row[3] for row in history) == 0
