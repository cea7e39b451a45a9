"""The dashboard in a real browser (issue 17.2): `supakit serve` serves it beside the gateway; headless Chromium
(Debian's /usr/bin/chromium, driven by playwright-core from tests/js) screenshots every page into
tests/artifacts/dashboard/, filters the job list, sees a live update, and clicks retry, cancel, replay and the
provisioning retry; then the database is checked."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from bench.dashboard import FAILED_EVENT, ROLLED_BACK_RUN, fill_world
from functions_py.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = ROOT / "tests" / "js"
ARTIFACTS = ROOT / "tests" / "artifacts" / "dashboard"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None or not (JS_DIR / "node_modules" / "playwright-core").is_dir(),
                       reason="needs node and `npm ci` in tests/js (make test installs them)"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (`apt-get install -y chromium`; "
                                                     ".ci/run installs it)"),
]


def _wait_for_port(port: int, process: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"supakit serve exited with {process.returncode}: {process.stderr.read()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout_s} s")


def test_every_page_renders_in_chromium_and_its_buttons_change_the_database(fresh_db: str, tmp_path: Path) -> None:
    maildir = tmp_path / "mail"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        fill_world(conn, jobs=2_000, maildir=maildir)
        failed_job, = conn.execute("select min(id) from internal.jobs where status = 'failed'").fetchone()
        queued_job, cancel_job = [row[0] for row in conn.execute(
            "select id from internal.jobs where status = 'queued' order by id limit 2").fetchall()]
        email, = conn.execute("select min(id) from internal.outbox_emails").fetchone()
    api_port, board_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPAKIT_", "DATABASE_URL"))}
    env |= {"DATABASE_URL": fresh_db, "SUPAKIT_API_PORT": str(api_port), "SUPAKIT_DASHBOARD_PORT": str(board_port),
            "SUPAKIT_DASHBOARD_POLL_S": "1", "SUPAKIT_MAILDIR": str(maildir), "SUPAKIT_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--no-realtime"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_port(board_port, server)
        ids = {"failedJob": failed_job, "queuedJob": queued_job, "cancelJob": cancel_job, "event": FAILED_EVENT,
               "run": ROLLED_BACK_RUN, "email": email, "message": "auth-magiclink-1.eml"}
        browser = subprocess.run(["node", "dashboard-browser.mjs", f"http://127.0.0.1:{board_port}", str(ARTIFACTS),
                                  json.dumps(ids)], cwd=JS_DIR, capture_output=True, text=True, timeout=180,
                                 check=False)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
            stopped = True
        except subprocess.TimeoutExpired:
            server.kill()
            stopped = False
    steps = [json.loads(line) for line in browser.stdout.splitlines() if line.startswith("{")]
    assert browser.returncode == 0, f"the browser run failed:\n{browser.stdout}\n{browser.stderr}"
    assert stopped, "SIGTERM stops the gateway and the dashboard beside it"
    served = server.stderr.read()
    assert f"dashboard on http://127.0.0.1:{board_port}/" in served and "Traceback" not in served, served
    by_step = {step["step"]: step for step in steps}
    shots = {step["name"] for step in steps if step["step"] == "screenshot"}
    assert shots == {"queue", "job-failed", "provisioning", "provisioning-run", "billing", "billing-event", "mail",
                     "mail-outbox", "mail-maildir"}
    assert all((ARTIFACTS / f"{name}.png").stat().st_size > 5_000 for name in shots)
    assert by_step["link"]["href"].startswith("http://127.0.0.1:54321/auth/v1/verify?token=bench-token")
    assert by_step["retry"]["status"] == "queued" and "queued again" in by_step["retry"]["flash"]
    assert by_step["cancel"]["status"] == "cancelled"
    assert by_step["replay"]["outcome"] == "ignored", by_step["replay"]
    assert "requested a new provisioning run" in by_step["provisioning-retry"]["flash"]
    assert by_step["provisioning-retry"]["status"] == "pending", "the new run's page comes next"
    with psycopg.connect(fresh_db) as conn:
        status, attempts = conn.execute("select status::text, attempts from internal.jobs where id = %s",
                                        (failed_job,)).fetchone()
        assert (status, attempts) == ("queued", 0), "retry queued the failed job again from attempt one"
        assert conn.execute("select status::text from internal.jobs where id = %s", (queued_job,)).fetchone()[0] \
            == "cancelled"
        assert conn.execute("select status::text from internal.jobs where id = %s", (cancel_job,)).fetchone()[0] \
            == "cancelled", "the live-update step cancelled this one"
        outcome, processed = conn.execute("select outcome, processed_at is not null from internal.stripe_events "
                                          "where id = %s", (FAILED_EVENT,)).fetchone()
        assert (outcome, processed) == ("ignored", True), "replay applied the stored event"
        runs = conn.execute("select status from public.provisioning_runs where organization_id = "
                            "(select organization_id from public.provisioning_runs where id = %s) "
                            "order by created_at", (ROLLED_BACK_RUN,)).fetchall()
        assert [r[0] for r in runs] == ["rolled_back", "pending"], "retry requested a new run after the rollback"
