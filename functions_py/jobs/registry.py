"""Handlers by job kind.

A handler is an async function `handle(job: Job, ctx: JobContext) -> dict | None`; what it returns becomes the
job's `result`. Raise `PermanentJobError` for a failure that retrying cannot fix (the job fails at once),
`RetryableJobError` (or any other exception) for one that may pass later (retried with backoff until
`max_attempts`). Handlers must be idempotent: delivery is at least once.

    @handler("email.send", timeout_s=30)
    async def send_email(job: Job, ctx: JobContext) -> dict: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from functions_py.errors import SupakitError


class JobError(SupakitError):
    """A job handler failed."""


class PermanentJobError(JobError):
    """The job cannot succeed as it is; it fails without further attempts."""


class RetryableJobError(JobError):
    """The job may succeed later; it is retried with backoff while attempts remain."""


@dataclass(frozen=True)
class Job:
    """One claimed job, as the handler sees it."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    organization_id: UUID | None = None
    user_id: UUID | None = None
    lease_token: UUID | None = None


@dataclass
class JobContext:
    """What a running handler may use: the worker's connection pool and a progress reporter."""

    pool: Any  # psycopg_pool.AsyncConnectionPool
    worker: str
    progress: dict[str, Any] | None = None

    def set_progress(self, progress: dict[str, Any]) -> None:
        """Record progress; it is written with the next heartbeat."""
        self.progress = progress


HandlerFunc = Callable[[Job, JobContext], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Handler:
    kind: str
    func: HandlerFunc
    timeout_s: float = 300.0  # a handler running longer is stopped and the attempt fails (retryable)


@dataclass
class Registry:
    handlers: dict[str, Handler] = field(default_factory=dict)

    def register(self, kind: str, func: HandlerFunc, *, timeout_s: float = 300.0) -> Handler:
        if kind in self.handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self.handlers[kind] = Handler(kind, func, timeout_s)
        return self.handlers[kind]

    def get(self, kind: str) -> Handler | None:
        return self.handlers.get(kind)

    @property
    def kinds(self) -> list[str]:
        return sorted(self.handlers)


registry = Registry()


def handler(kind: str, *, timeout_s: float = 300.0) -> Callable[[HandlerFunc], HandlerFunc]:
    """Register the decorated coroutine function as the handler of `kind` in the default registry."""

    def decorate(func: HandlerFunc) -> HandlerFunc:
        registry.register(kind, func, timeout_s=timeout_s)
        return func

    return decorate
