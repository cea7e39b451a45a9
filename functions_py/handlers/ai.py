"""The `ai.generate` job: ask Claude, through the official `anthropic` SDK, to generate an app from a prompt.

Payload: `{"prompt": str, "app_type": str, "generation_id": str (uuid)}`. The handler only calls the Messages
API and returns what happened; the generation row in `public.generations` is written by SQL triggers from the
job's result.

Settings come from the environment and are read for every job (only the kind's timeout in the registry is fixed
when this module is imported):

- `ANTHROPIC_API_KEY` (required; without it the job fails permanently)
- `ANTHROPIC_BASE_URL` (optional; the SDK's own override, e.g. a proxy or the test server)
- `SUPAKIT_AI_MODEL` (default `claude-sonnet-5-5`), `SUPAKIT_AI_MAX_TOKENS` (default 4096),
  `SUPAKIT_AI_TIMEOUT_S` (default 120; must leave time for `max_tokens` to be generated)

No value of these is ever logged or put in an error message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from functions_py import config
from functions_py.config import Settings
from functions_py.errors import ConfigError
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, handler

if TYPE_CHECKING:
    import anthropic

log = logging.getLogger(__name__)

KIND = "ai.generate"
DEFAULT_MODEL = config.option("ai.model").default
DEFAULT_MAX_TOKENS = config.option("ai.max_tokens").default
DEFAULT_TIMEOUT_S = config.option("ai.timeout_s").default
# The worker stops a handler at its kind's timeout; leave the SDK's own timeout room to fire first, so the
# job's error says "timed out" with the request's details rather than a bare cancellation.
HANDLER_TIMEOUT_MARGIN_S = 30.0

# Statuses the SDK itself would retry (408 request timeout, 409 lock timeout, 429 rate limit, 5xx incl. 529
# overloaded), unless the API's `x-should-retry` header says otherwise. Every other 4xx is a request error.
RETRYABLE_STATUSES = frozenset({408, 409, 429})

_GENERIC_SYSTEM_PROMPT = (
    "You are an expert full-stack engineer generating a complete, working web application from the user's "
    "description. Answer with the application's code, file by file, each under a heading with its path, "
    "followed by short instructions to run it. Do not ask questions; make sensible assumptions and state them."
)
SYSTEM_PROMPTS: dict[str, str] = {
    "landing_page": (
        "You are an expert web designer and front-end engineer generating a single responsive landing page "
        "from the user's description: a hero with a clear call to action, sections for features, social proof "
        "and pricing where they fit, and a footer. Answer with complete, accessible HTML and CSS (and minimal "
        "JavaScript only if needed), file by file, each under a heading with its path."
    ),
    "dashboard": (
        "You are an expert front-end engineer generating an admin dashboard from the user's description: "
        "navigation, summary metrics, charts and tables fed by a small typed data layer with sample data. "
        "Answer with the application's code, file by file, each under a heading with its path, followed by "
        "short instructions to run it."
    ),
    "crud_app": (
        "You are an expert full-stack engineer generating a CRUD application from the user's description: "
        "the data model, a Postgres schema with constraints, server endpoints or RPCs with validation, and "
        "list, detail, create, edit and delete screens. Answer with the application's code, file by file, "
        "each under a heading with its path, followed by short instructions to run it."
    ),
}


def system_prompt(app_type: str | None) -> str:
    """The system prompt for `app_type`; a generic one for an unknown or missing type."""
    return SYSTEM_PROMPTS.get(app_type or "", _GENERIC_SYSTEM_PROMPT)


@dataclass(frozen=True)
class AISettings:
    """What the handler needs from the environment. `api_key` is a secret: never log it or this object."""

    api_key: str = field(repr=False)
    base_url: str | None
    model: str
    max_tokens: int
    timeout_s: float

    @classmethod
    def from_env(cls) -> AISettings:
        """from_settings with the process's settings; a missing key or an invalid value raises
        `PermanentJobError`."""
        try:
            settings = config.current()
        except ConfigError as error:
            raise PermanentJobError(f"{error.message} Fix it in the worker's environment.") from None
        return cls.from_settings(settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> AISettings:
        """ai.*; a missing key raises `PermanentJobError`."""
        api_key = (settings.ai.api_key or "").strip()
        if not api_key:
            raise PermanentJobError(
                "ANTHROPIC_API_KEY is not set; set it in the worker's environment (an API key from "
                "https://console.anthropic.com) and retry the job with `supakit jobs retry`.")
        return cls(api_key=api_key, base_url=settings.ai.base_url, model=settings.ai.model or DEFAULT_MODEL,
                   max_tokens=settings.ai.max_tokens, timeout_s=settings.ai.timeout_s)


def _handler_timeout_s() -> float:
    """The kind's timeout in the registry, fixed at import: the SDK timeout plus a margin."""
    # a bad value is reported per job, with the variable's name, rather than breaking the import
    return config.option_value("ai.timeout_s") + HANDLER_TIMEOUT_MARGIN_S


# One client per process (its connection pool is reused across jobs), replaced when the settings it was built
# from change or when it is used from another event loop (httpx connections belong to the loop that opened them).
_client: anthropic.AsyncAnthropic | None = None
_client_key: tuple[object, ...] | None = None


def _sdk() -> Any:
    """The `anthropic` SDK, imported on first use: importing it takes seconds, which every worker would otherwise
    pay at start (delaying its first claim) even when it runs no ai.generate job."""
    import anthropic

    return anthropic


def _client_for(settings: AISettings) -> anthropic.AsyncAnthropic:
    # No await in here: concurrent jobs see one client. A replaced client is not closed, since another job may
    # still be using it; that only happens when the environment changes inside a running process.
    global _client, _client_key
    key = (settings.api_key, settings.base_url, settings.timeout_s, asyncio.get_running_loop())
    if _client is None or _client_key != key:
        # max_retries=0: the queue owns retries and backoff; an SDK retry would hide attempts from it.
        # An explicit api_key also stops the SDK from looking for other credentials (profiles, federation).
        _client = _sdk().AsyncAnthropic(api_key=settings.api_key, base_url=settings.base_url,
                                           timeout=settings.timeout_s, max_retries=0)
        _client_key = key
    return _client


async def close_client() -> None:
    """Close the process's Anthropic client and its connections; call it on the worker's event loop at shutdown.
    The next job opens a new one."""
    global _client, _client_key
    client, _client, _client_key = _client, None, None
    if client is not None:
        await client.close()


def _validate(payload: dict[str, Any]) -> tuple[str, str | None]:
    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise PermanentJobError("the job's payload has no prompt; enqueue ai.generate with a non-empty "
                                "\"prompt\" string.")
    app_type = payload.get("app_type")
    if app_type is not None and not isinstance(app_type, str):
        raise PermanentJobError("the job's \"app_type\" must be a string such as \"landing_page\", \"dashboard\" "
                                "or \"crud_app\".")
    generation_id = payload.get("generation_id")
    if generation_id is not None:
        try:
            UUID(str(generation_id))
        except ValueError:
            raise PermanentJobError("the job's \"generation_id\" is not a UUID; enqueue generations with "
                                    "request_generation().") from None
    return prompt, app_type


def _redact(text: str, secret: str) -> str:
    # Anthropic does not echo keys, but a proxy or gateway in front of it might.
    return text.replace(secret, "[redacted]") if secret else text


def _status_error(exc: anthropic.APIStatusError, settings: AISettings) -> PermanentJobError | RetryableJobError:
    status = exc.status_code
    # Read from the body rather than the SDK's `type` / `api_message` attributes, which older SDKs lack.
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    error = error if isinstance(error, dict) else {}
    error_type = str(error.get("type") or "unknown_error")
    detail = _redact(str(error.get("message") or "no message"), settings.api_key)
    should_retry = exc.response.headers.get("x-should-retry")
    retryable = (should_retry == "true" if should_retry in ("true", "false")
                 else status in RETRYABLE_STATUSES or status >= 500)
    request_id = exc.response.headers.get("request-id")
    attrs: dict[str, Any] = {"status_code": status, "error_type": error_type, "request_id": request_id}
    where = f"Anthropic API answered {status} {error_type}: {detail}"
    if request_id:
        where += f" (request {request_id})"
    if retryable:
        retry_after = exc.response.headers.get("retry-after")
        try:
            attrs["retry_after_s"] = float(retry_after) if retry_after else None
        except ValueError:
            attrs["retry_after_s"] = None
        return RetryableJobError(f"{where}; the job will be retried.", **attrs)
    if status in (401, 403):
        hint = "check ANTHROPIC_API_KEY and the key's permissions, then retry the job with `supakit jobs retry`."
    elif status == 404:
        hint = f"check SUPAKIT_AI_MODEL (now {settings.model!r}) and ANTHROPIC_BASE_URL."
    else:
        hint = "the request cannot succeed as it is; change the prompt or the AI settings and enqueue it again."
    return PermanentJobError(f"{where}; {hint}", **attrs)


def _origin(client: anthropic.AsyncAnthropic) -> str:
    url = client.base_url  # without userinfo: a proxy URL may carry credentials
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")


def _job_error(exc: anthropic.APIError, settings: AISettings,
               client: anthropic.AsyncAnthropic) -> PermanentJobError | RetryableJobError:
    """The job error an SDK error stands for: retryable when trying again later may succeed."""
    anthropic = _sdk()
    if isinstance(exc, anthropic.APITimeoutError):
        return RetryableJobError(
            f"the Anthropic API did not answer within {settings.timeout_s:g} s (SUPAKIT_AI_TIMEOUT_S); the job "
            "will be retried. Raise the timeout if it keeps happening with a large SUPAKIT_AI_MAX_TOKENS.",
            status_code=None, error_type="timeout", request_id=None)
    if isinstance(exc, anthropic.APIConnectionError):
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        return RetryableJobError(
            f"could not reach the Anthropic API at {_origin(client)} ({cause}); the job will be retried. "
            "Check the network and ANTHROPIC_BASE_URL if it keeps happening.",
            status_code=None, error_type="connection_error", request_id=None)
    if isinstance(exc, anthropic.APIStatusError):
        return _status_error(exc, settings)
    # APIResponseValidationError and the like: an answer we could not read; another attempt may get a good one.
    return RetryableJobError(f"the Anthropic API's answer could not be read ({type(exc).__name__}); the job will "
                             "be retried.", status_code=getattr(exc, "status_code", None),
                             error_type=type(exc).__name__, request_id=None)


@handler(KIND, timeout_s=_handler_timeout_s())
async def generate(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Generate the app described by the job's prompt. Returns `text`, `model`, `stop_reason`, `input_tokens`,
    `output_tokens`, `duration_ms` and Anthropic's `request_id`."""
    prompt, app_type = _validate(job.payload)
    settings = AISettings.from_env()
    anthropic = _sdk()
    client = _client_for(settings)
    started = time.perf_counter()
    try:
        response = await client.messages.create(
            model=settings.model,
            max_tokens=settings.max_tokens,
            system=system_prompt(app_type),
            messages=[{"role": "user", "content": prompt}],
        )
    except anthropic.APIError as exc:
        failure = _job_error(exc, settings, client)
    else:
        return _result(job, response, round((time.perf_counter() - started) * 1000))
    # Raised outside the `except` so the SDK's exception is not chained as its context: that one's message is the
    # raw response body, which we do not control.
    raise failure


def _result(job: Job, response: anthropic.types.Message, duration_ms: int) -> dict[str, Any]:
    request_id = getattr(response, "_request_id", None)
    result = {
        "text": "".join(block.text for block in response.content if block.type == "text"),
        "model": response.model,
        "stop_reason": response.stop_reason,
        "input_tokens": response.usage.input_tokens,
        "output_tokens": response.usage.output_tokens,
        "duration_ms": duration_ms,
        "request_id": request_id,
    }
    log.info("%s job %s: %s answered in %d ms, %d input / %d output tokens, stop_reason=%s, request %s",
             KIND, job.id, response.model, duration_ms, result["input_tokens"], result["output_tokens"],
             response.stop_reason, request_id)
    return result
