"""End to end: a user requests a generation through the PostgREST protocol, a real `supakit worker` process runs
`ai.generate` through the official SDK against a local Messages API server, and the database shows the outcome."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import psycopg
import pytest

from functions_py.postgrest import rpc_as_user
from tests import factories
from tests.cli import ROOT
from tests.fakes.anthropic_messages import FakeMessagesAPI

pytestmark = pytest.mark.slow
API_KEY = "sk-ant-test-" + uuid.uuid4().hex


@pytest.fixture
def world(fresh_db):
    """A member of an organization on the Free plan, and a fake Messages API."""
    user, org = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        factories.user(conn, "maker@example.com", user_id=user)
        factories.organization(conn, "Makers", "makers", org_id=org)
        factories.membership(conn, org, user)
    with FakeMessagesAPI(api_key=API_KEY) as api:
        yield fresh_db, user, org, api


def request_generation(url: str, user: uuid.UUID, prompt: str) -> uuid.UUID:
    with psycopg.connect(url, autocommit=True) as conn:
        answer = rpc_as_user(conn, user, "request_generation", {"prompt": prompt, "app_type": "landing_page"})
    return uuid.UUID(answer.body["id"])


def start_worker(url: str, api: FakeMessagesAPI, **extra_env: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "SUPAKIT_AI_"))}
    env.update(DATABASE_URL=url, ANTHROPIC_API_KEY=API_KEY, ANTHROPIC_BASE_URL=api.url, NO_PROXY="127.0.0.1",
               SUPAKIT_AI_MODEL="claude-test-model", **extra_env)
    return subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--kinds", "ai.generate",
                             "--poll-interval", "0.2"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stop(worker: subprocess.Popen[str]) -> str:
    worker.send_signal(signal.SIGTERM)
    try:
        _, stderr = worker.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        _, stderr = worker.communicate()
    return stderr


def wait_for(url: str, gen_id: uuid.UUID, statuses: set[str], timeout_s: float = 20, min_attempts: int = 0) -> tuple:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute("select status, result, model, input_tokens, output_tokens, duration_ms,"
                               " error_message, attempts from public.generations where id = %s",
                               (gen_id,)).fetchone()
            if (row[0] in statuses and row[7] >= min_attempts) or time.monotonic() > deadline:
                return row
            time.sleep(0.1)


def test_a_requested_generation_is_run_by_the_worker_and_records_tokens(world):
    url, user, org, api = world
    api.reply_text("<html><body>Makers</body></html>")
    gen_id = request_generation(url, user, "A landing page for makers")
    worker = start_worker(url, api)
    try:
        status, result, model, input_tokens, output_tokens, duration_ms, error, attempts = wait_for(
            url, gen_id, {"succeeded", "failed"})
    finally:
        logs = stop(worker)
    assert status == "succeeded", logs
    assert result == "<html><body>Makers</body></html>" and model == "claude-test-model"
    assert input_tokens > 0 and output_tokens > 0 and duration_ms >= 0 and attempts == 1
    assert api.requests[0].body["messages"][-1]["content"] == "A landing page for makers"
    with psycopg.connect(url) as conn:
        usage = conn.execute("select generations, input_tokens, output_tokens from public.usage_counters"
                             " where organization_id = %s and period = 'day'", (org,)).fetchone()
        topics = conn.execute("select payload->'record'->>'status' from realtime.messages where topic = %s"
                              " order by inserted_at", (f"org:{org}:jobs",)).fetchall()
    assert usage == (1, input_tokens, output_tokens), "usage counted when the job succeeded"
    assert [t for t, in topics][-1] == "succeeded", "subscribers of the organization's topic saw it finish"
    assert API_KEY not in logs, "the API key never reaches the logs"


def test_an_overloaded_api_is_retried_and_a_bad_request_fails(world):
    url, user, _, api = world
    api.reply_error(529, "overloaded_error", "Overloaded")
    api.reply_text("second time lucky")
    retried = request_generation(url, user, "Try twice")
    worker = start_worker(url, api)
    try:
        status, *_, error, attempts = wait_for(url, retried, {"queued"}, timeout_s=10, min_attempts=1)
        assert status == "queued" and "529" in error, "an overloaded API is a retryable failure"
        with psycopg.connect(url, autocommit=True) as conn:  # skip the 5 s backoff
            conn.execute("update internal.jobs set run_at = now() where status = 'queued'")
            conn.execute("select pg_notify('supakit_jobs', '')")
        status, result, *_, attempts = wait_for(url, retried, {"succeeded", "failed"})
        assert (status, result, attempts) == ("succeeded", "second time lucky", 2)

        api.reply_error(400, "invalid_request_error", "prompt is too long")
        refused = request_generation(url, user, "Too long")
        status, *_, error, attempts = wait_for(url, refused, {"succeeded", "failed"})
        assert status == "failed" and attempts == 1, "a 400 is permanent: no second attempt"
        assert "400" in error and "prompt is too long" in error
    finally:
        stop(worker)
