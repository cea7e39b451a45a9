"""Built-in handlers for operations and benchmarks: `system.noop`, `system.sleep`, `system.fail`.

    supakit jobs enqueue system.sleep '{"seconds": 2}'
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, handler

SLEEP_PROGRESS_STEP_S = 0.5  # how often system.sleep reports progress


@handler("system.noop")
async def noop(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Do nothing and succeed: the cost of the queue itself (benchmarks, smoke tests)."""
    return {}


@handler("system.sleep")
async def sleep(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Sleep `payload.seconds` (default 1) cooperatively, reporting progress; cancellation stops it at once."""
    try:
        seconds = max(0.0, float(job.payload.get("seconds", 1.0)))
    except (TypeError, ValueError) as error:
        raise PermanentJobError(f"system.sleep: payload.seconds must be a number of seconds ({error}); "
                                "enqueue it with {\"seconds\": 1.5}.") from error
    started = time.monotonic()
    while (left := seconds - (time.monotonic() - started)) > 0:
        await asyncio.sleep(min(left, SLEEP_PROGRESS_STEP_S))
        ctx.set_progress({"slept_s": round(min(seconds, time.monotonic() - started), 3), "of_s": seconds})
    return {"slept_s": seconds}


@handler("system.fail")
async def fail(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Fail on purpose: `payload.permanent` true fails the job at once, false (default) asks for a retry."""
    message = str(job.payload.get("message") or "system.fail was asked to fail")
    if job.payload.get("permanent"):
        raise PermanentJobError(message)
    raise RetryableJobError(message)
