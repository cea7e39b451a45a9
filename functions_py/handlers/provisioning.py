"""The `provisioning.run` and `provisioning.deprovision` jobs: execute (or resume) one provisioning run.

Payload: `{"run_id": str (uuid)}`, queued by internal.request_provisioning / request_deprovisioning (sql/0012).
Provider settings come from the environment (functions_py/provisioning/provider.py, docs/provisioning-guide.md).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from functions_py.errors import ConfigError
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, handler
from functions_py.provisioning.provider import RetryableStepError
from functions_py.provisioning.saga import RunNotFound, execute_run

# An AWS run waits for its instance (up to 5 minutes by the waiter); the worker's lease is renewed meanwhile.
TIMEOUT_S = 900.0


def _run_id(job: Job) -> UUID:
    try:
        return UUID(str(job.payload.get("run_id")))
    except ValueError:
        raise PermanentJobError(f"{job.kind}: payload.run_id is not a UUID; runs are queued by "
                                "internal.request_provisioning / request_deprovisioning.") from None


async def _execute(job: Job, ctx: JobContext) -> dict[str, Any]:
    try:
        outcome = await execute_run(ctx.pool.conninfo, _run_id(job), final_attempt=job.attempts >= job.max_attempts)
    except RetryableStepError as error:
        raise RetryableJobError(error.message) from None
    except (RunNotFound, ConfigError) as error:
        raise PermanentJobError(error.message) from None
    return outcome.as_dict()


@handler("provisioning.run", timeout_s=TIMEOUT_S)
async def run(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Provision (or resume provisioning) an organization's infrastructure; returns the run's final status."""
    return await _execute(job, ctx)


@handler("provisioning.deprovision", timeout_s=TIMEOUT_S)
async def deprovision(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Remove an organization's infrastructure; returns the run's final status."""
    return await _execute(job, ctx)
