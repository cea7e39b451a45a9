"""The `ai.generate` handler, through the real `anthropic` SDK against a local Messages API (tests/fakes)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from functions_py.handlers import ai
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, registry
from tests.fakes.anthropic_messages import CannedReply, FakeMessagesAPI

API_KEY = "sk-ant-api03-test-" + uuid.uuid4().hex  # unique, so finding it anywhere means it leaked


@pytest.fixture
def anthropic_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMessagesAPI]:
    """A fake Messages API on a free port, with the environment pointing the handler at it."""
    with FakeMessagesAPI(api_key=API_KEY) as api:
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        for name in ("SUPAKIT_AI_MODEL", "SUPAKIT_AI_MAX_TOKENS", "SUPAKIT_AI_TIMEOUT_S", "ANTHROPIC_AUTH_TOKEN",
                     "ANTHROPIC_CUSTOM_HEADERS"):
            monkeypatch.delenv(name, raising=False)
        yield api


def job(**payload: Any) -> Job:
    payload = {"prompt": "A landing page for a bakery", "app_type": "landing_page",
               "generation_id": str(uuid.uuid4()), **payload}
    return Job(id=1, kind="ai.generate", payload={k: v for k, v in payload.items() if v is not ...},
               attempts=1, max_attempts=3, organization_id=uuid.uuid4(), user_id=uuid.uuid4())


def run(the_job: Job | None = None) -> dict[str, Any]:
    """Run the handler as the worker would, with no database (pool=None), and close the client as it would."""

    async def main() -> dict[str, Any]:
        try:
            return await ai.generate(the_job or job(), JobContext(pool=None, worker="test-worker"))
        finally:
            await ai.close_client()

    return asyncio.run(main())


def error_text(exc: BaseException) -> str:
    """The exception's message and those of everything chained to it."""
    parts = []
    while exc is not None:
        parts.append(f"{type(exc).__name__}: {exc} {vars(exc)!r}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def test_importing_the_module_registers_ai_generate():
    registered = registry.get("ai.generate")
    assert registered is not None, "importing functions_py.handlers.ai registers the ai.generate handler"
    assert registered.func is ai.generate
    assert registered.timeout_s > ai.DEFAULT_TIMEOUT_S, "the worker's timeout leaves the SDK's room to fire first"


def test_success_returns_the_text_tokens_and_request_id(anthropic_api, monkeypatch):
    monkeypatch.setenv("SUPAKIT_AI_MODEL", "claude-test-model")
    monkeypatch.setenv("SUPAKIT_AI_MAX_TOKENS", "1234")
    anthropic_api.reply_text("<html>Fresh bread daily</html>")

    result = run(job(prompt="A landing page for a bakery in Lyon"))

    assert result["text"] == "<html>Fresh bread daily</html>"
    assert result["model"] == "claude-test-model"
    assert result["stop_reason"] == "end_turn"
    assert result["input_tokens"] > 0 and result["output_tokens"] == 3
    assert isinstance(result["duration_ms"], int) and result["duration_ms"] >= 0
    assert result["request_id"].startswith("req_")
    assert set(result) == {"text", "model", "stop_reason", "input_tokens", "output_tokens", "duration_ms",
                           "request_id"}

    [request] = anthropic_api.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.body["model"] == "claude-test-model"
    assert request.body["max_tokens"] == 1234
    assert request.body["system"] == ai.SYSTEM_PROMPTS["landing_page"]
    assert request.body["messages"] == [{"role": "user", "content": "A landing page for a bakery in Lyon"}]
    assert API_KEY in (request.headers.get("x-api-key"), request.headers.get("authorization", "")[7:]), \
        "the key travels in the request's auth header"
    assert request.headers.get("anthropic-version")


def test_defaults_apply_when_the_settings_and_optional_payload_fields_are_unset(anthropic_api):
    result = run(job(app_type=..., generation_id=...))
    body = anthropic_api.requests[0].body
    assert (body["model"], body["max_tokens"]) == (ai.DEFAULT_MODEL, ai.DEFAULT_MAX_TOKENS)
    assert body["system"] == ai.system_prompt(None)
    assert result["text"] == "echo: A landing page for a bakery"


def test_jobs_in_one_process_share_one_client_and_its_connections(anthropic_api):
    async def two_jobs() -> None:
        try:
            for _ in range(2):
                await ai.generate(job(), JobContext(pool=None, worker="test-worker"))
        finally:
            await ai.close_client()

    asyncio.run(two_jobs())
    first, second = anthropic_api.requests
    assert first.peer == second.peer, "the second job reuses the first one's keep-alive connection"


@pytest.mark.parametrize("app_type", ["landing_page", "dashboard", "crud_app", "mobile_game", ...])
def test_the_system_prompt_follows_the_app_type(anthropic_api, app_type):
    run(job(app_type=app_type))
    expected = ai.SYSTEM_PROMPTS.get(app_type) if isinstance(app_type, str) else None
    assert anthropic_api.requests[0].body["system"] == (expected or ai.system_prompt(None)), \
        "a known app type has its own system prompt; an unknown or missing one gets the generic prompt"


def test_text_blocks_are_concatenated_and_other_blocks_skipped(anthropic_api):
    anthropic_api.reply_raw(CannedReply(body={
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "thinking", "thinking": "plan the page", "signature": "sig"},
                    {"type": "text", "text": "part one, "}, {"type": "text", "text": "part two"}],
        "stop_reason": "max_tokens", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 20},
    }))
    result = run()
    assert result["text"] == "part one, part two"
    assert (result["stop_reason"], result["input_tokens"], result["output_tokens"]) == ("max_tokens", 10, 20)


@pytest.mark.parametrize(("status", "error_type"), [
    (529, "overloaded_error"),
    (429, "rate_limit_error"),
    (500, "api_error"),
    (503, "api_error"),
    (408, "timeout_error"),
])
def test_overload_rate_limit_and_server_errors_are_retryable(anthropic_api, status, error_type):
    anthropic_api.reply_error(status, error_type, "Please try again later")
    with pytest.raises(RetryableJobError) as caught:
        run()
    message = str(caught.value)
    assert str(status) in message and error_type in message and "Please try again later" in message
    assert (caught.value.status_code, caught.value.error_type) == (status, error_type)
    assert caught.value.request_id.startswith("req_"), "the error carries Anthropic's request id"
    assert len(anthropic_api.requests) == 1, "the SDK does not retry on its own: the queue owns retries"


def test_a_rate_limit_passes_on_retry_after(anthropic_api):
    anthropic_api.reply_error(429, "rate_limit_error", "Number of requests has exceeded your rate limit",
                              headers={"retry-after": "17"})
    with pytest.raises(RetryableJobError) as caught:
        run()
    assert caught.value.retry_after_s == 17.0


@pytest.mark.parametrize(("status", "error_type"), [
    (400, "invalid_request_error"),
    (403, "permission_error"),
    (404, "not_found_error"),
    (413, "request_too_large"),
    (422, "invalid_request_error"),
])
def test_request_errors_are_permanent(anthropic_api, status, error_type):
    anthropic_api.reply_error(status, error_type, "prompt is too long: 250000 tokens > 200000 maximum")
    with pytest.raises(PermanentJobError) as caught:
        run()
    message = str(caught.value)
    assert str(status) in message and error_type in message and "prompt is too long" in message
    assert caught.value.status_code == status


def test_a_wrong_api_key_is_permanent_and_says_what_to_check(anthropic_api, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wrong-" + uuid.uuid4().hex)
    with pytest.raises(PermanentJobError) as caught:
        run()
    assert "401 authentication_error" in str(caught.value)
    assert "ANTHROPIC_API_KEY" in str(caught.value)


@pytest.mark.parametrize(("status", "header", "expected"), [
    (400, "true", RetryableJobError),
    (500, "false", PermanentJobError),
])
def test_the_apis_x_should_retry_header_wins_over_the_status(anthropic_api, status, header, expected):
    anthropic_api.reply_error(status, None, "see header", headers={"x-should-retry": header})
    with pytest.raises(expected):
        run()


def test_connection_refused_is_retryable(anthropic_api):
    anthropic_api.stop()
    with pytest.raises(RetryableJobError) as caught:
        run()
    assert "could not reach the Anthropic API" in str(caught.value)
    assert anthropic_api.url in str(caught.value)


def test_a_request_slower_than_the_timeout_is_retryable(anthropic_api, monkeypatch):
    monkeypatch.setenv("SUPAKIT_AI_TIMEOUT_S", "0.3")
    anthropic_api.reply_text("too late", delay_s=5)
    with pytest.raises(RetryableJobError) as caught:
        run()
    assert "did not answer within 0.3 s" in str(caught.value)


def test_without_an_api_key_the_job_fails_permanently_naming_the_variable(anthropic_api, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(PermanentJobError) as caught:
        run()
    assert "ANTHROPIC_API_KEY" in str(caught.value) and "set" in str(caught.value)
    assert anthropic_api.requests == [], "nothing is sent without a key"


@pytest.mark.parametrize("payload", [
    {"prompt": ...},
    {"prompt": ""},
    {"prompt": "   "},
    {"prompt": 42},
    {"app_type": ["dashboard"]},
    {"generation_id": "not-a-uuid"},
])
def test_an_invalid_payload_fails_permanently_without_calling_the_api(anthropic_api, payload):
    with pytest.raises(PermanentJobError):
        run(job(**payload))
    assert anthropic_api.requests == []


@pytest.mark.parametrize(("name", "value"), [
    ("SUPAKIT_AI_MAX_TOKENS", "lots"),
    ("SUPAKIT_AI_MAX_TOKENS", "0"),
    ("SUPAKIT_AI_TIMEOUT_S", "-1"),
])
def test_an_invalid_setting_fails_permanently_naming_it(anthropic_api, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(PermanentJobError) as caught:
        run()
    assert name in str(caught.value)
    assert anthropic_api.requests == []


def test_the_api_key_never_appears_in_errors_or_logs(anthropic_api, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)  # the SDK's and httpx's debug logs included
    anthropic_api.reply_text("ok")
    anthropic_api.reply_error(529, "overloaded_error", "Overloaded")
    anthropic_api.reply_error(400, "invalid_request_error", f"a proxy echoing the key {API_KEY} back")
    errors: list[BaseException] = []

    run()
    for _ in range(2):
        with pytest.raises((RetryableJobError, PermanentJobError)) as caught:
            run()
        errors.append(caught.value)
    assert "[redacted]" in str(errors[-1]), "a key echoed back by the API is redacted from the job's error"

    wrong_key = "sk-ant-wrong-" + uuid.uuid4().hex
    monkeypatch.setenv("ANTHROPIC_API_KEY", wrong_key)
    with pytest.raises(PermanentJobError) as caught:
        run()
    errors.append(caught.value)

    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    anthropic_api.stop()
    with pytest.raises(RetryableJobError) as caught:
        run()
    errors.append(caught.value)

    assert caplog.records, "the handler and the SDK did log"
    for key in (API_KEY, wrong_key):
        for error in errors:
            assert key not in error_text(error), f"the API key leaked into {type(error).__name__}"
        for record in caplog.records:
            logged = record.getMessage() + (caplog.handler.format(record) if record.exc_info else "")
            assert key not in logged, f"the API key leaked into a log record of {record.name}"
    assert API_KEY not in repr(ai.AISettings.from_env())
