"""The provisioning saga: ordered steps with `do` and `undo`, progress persisted after each one.

A run (public.provisioning_runs, created by internal.request_provisioning / request_deprovisioning) is executed by
`execute_run`, from the `provisioning.run` / `provisioning.deprovision` jobs or from `supakit provision run --now`:

- One executor per organization at a time: a session advisory lock on a dedicated connection. A worker that dies
  loses its connection and with it the lock, so the next one (after the job's lease expires) takes over.
- Forward: each step not yet `succeeded` is marked `running` (attempts + 1), its `do` runs, and its output is
  written with status `succeeded` in one transaction. A step found `running` was in flight when a worker died: it
  runs again, and its idempotency key makes the provider find what the first attempt made.
- A permanent failure (or a retryable one on the job's last attempt) marks the step `failed`, the run
  `compensating`, and undoes the failed step and then every succeeded one, in reverse order. All undone: the run is
  `rolled_back`. An undo that fails: the step is `compensation_failed`, the run `failed` (`supakit provision retry`
  resumes the compensation).
- A deprovision run has no compensation: its steps are the undos of the provisioning steps, fed with the outputs
  recorded in customer_infrastructure.resources; a failure leaves the run `failed` for a retry.
- Every action goes to public.provisioning_logs. E-mails and the infrastructure record follow the run's status by
  SQL trigger (sql/0012).
- Every write is a SQL function of sql/0016 (start_provisioning_step, succeed_provisioning_step, ...), which checks
  the run is still in the phase the write belongs to. When the run's job ends without finishing it (a permanent
  error, too many lost leases, a cancel), SQL ends the run: rolled back at once if no step started, else
  `compensating` with a new job that lands here and undoes every step made (the one in flight included).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from functions_py.errors import SupakitError
from functions_py.provisioning.provider import (
    Customer,
    PermanentStepError,
    Provider,
    RetryableStepError,
    StepContext,
    make_provider,
    provider_name,
    step_delay_s,
)

log = logging.getLogger(__name__)

# --- named queries ---------------------------------------------------------------------------------------------

RUN_SELECT_ONE = """
select r.*, o.slug, o.name as organization_name
from public.provisioning_runs as r join public.organizations as o on o.id = r.organization_id
where r.id = %s
"""
RUN_LOCK_TRY = "select pg_try_advisory_lock(hashtextextended('supakit.provisioning.run:' || %s::text, 0))"
RUN_UNLOCK = "select pg_advisory_unlock(hashtextextended('supakit.provisioning.run:' || %s::text, 0))"
RUN_OTHER_LIVE_EARLIER = """
select id from public.provisioning_runs
where organization_id = %(org)s and kind <> %(kind)s and status in ('pending', 'running', 'compensating')
  and created_at < %(created_at)s
"""
# The saga's writes go through SQL functions (sql/0016): each checks the run is in the phase it belongs to.
RUN_START = "select internal.start_provisioning_run(%(id)s, %(provider)s, %(names)s::text[])"
RUN_MOVE = """
select internal.move_provisioning_run(%(id)s, %(status)s, %(message)s, %(level)s, %(error)s, %(current_step)s)
"""
STEP_SELECT_MANY = "select * from public.provisioning_steps where run_id = %s order by ordinal"
STEP_START = "select internal.start_provisioning_step(%s) as attempts"
STEP_SUCCEED = "select internal.succeed_provisioning_step(%(id)s, %(output)s, %(record)s)"
STEP_FAIL = "select internal.fail_provisioning_step(%(id)s, %(message)s, %(for_good)s)"
STEP_COMPENSATE = "select internal.compensate_provisioning_step(%(id)s, %(status)s, %(message)s, %(error)s)"
INFRA_SELECT_ONE = "select * from public.customer_infrastructure where organization_id = %s"
RUN_COMMITTED = "select internal.provisioning_run_committed(%s) as committed"
LOG_INSERT_ONE = "select internal.log_provisioning(%(run)s, %(step)s, %(level)s, %(message)s, %(data)s)"

LIVE = ("pending", "running", "compensating")
FINISHED = ("succeeded", "rolled_back")


@dataclass(frozen=True)
class Step:
    """One saga step: provider method names for `do` and `undo` (None: nothing to undo)."""

    name: str
    do: str
    undo: str | None


PROVISION_STEPS: tuple[Step, ...] = (
    Step("instance", "create_instance", "remove_instance"),
    Step("dns", "create_dns_record", "remove_dns_record"),
    Step("mail", "create_mail_identity", "remove_mail_identity"),
    Step("deploy", "deploy_apps", "remove_apps"),
    Step("verify", "check_health", None),
)
# Teardown: the undos of the provisioning steps, newest resource first. `source` is the provisioning step whose
# recorded output the undo gets.
DEPROVISION_STEPS: tuple[tuple[Step, str], ...] = (
    (Step("remove_apps", "remove_apps", None), "deploy"),
    (Step("remove_mail", "remove_mail_identity", None), "mail"),
    (Step("remove_dns", "remove_dns_record", None), "dns"),
    (Step("remove_instance", "remove_instance", None), "instance"),
)


@dataclass(frozen=True)
class SagaKind:
    """A run kind executed forward and compensated on failure: its steps, the log line of its success, `context`
    (outputs its steps get besides those of the steps done before them: a resize, the instance it replaces; a
    backup, the instance it snapshots) and `operations` (wraps the provider into the object whose methods the steps
    name: a backup's export goes to the backup store as well). A run past its point of no return
    (internal.provisioning_run_committed, sql/0032) is never compensated: a failure leaves it `failed` and a retry
    resumes it forward."""

    steps: tuple[Step, ...]
    done_message: str
    context: Callable[[psycopg.AsyncConnection, dict[str, Any]], Awaitable[dict[str, dict[str, Any]]]] | None = None
    operations: Callable[[Provider], Any] | None = None


# kind -> how its runs execute; modules defining other kinds register themselves (KIND_MODULES, imported lazily)
SAGA_KINDS: dict[str, SagaKind] = {
    "provision": SagaKind(PROVISION_STEPS, "provisioning complete; the owners are notified by e-mail"),
}
KIND_MODULES = {"resize": "functions_py.provisioning.resize", "backup": "functions_py.provisioning.backups",
                "restore": "functions_py.provisioning.backups"}


def saga_kind(kind: str) -> SagaKind | None:
    """How runs of `kind` execute forward (None for deprovision, which has no compensation)."""
    if kind not in SAGA_KINDS and kind in KIND_MODULES:
        importlib.import_module(KIND_MODULES[kind])
    return SAGA_KINDS.get(kind)


class RunNotFound(SupakitError):
    """No provisioning run has that id; `supakit provision status --org <id>` shows an organization's runs."""


class RunBusy(SupakitError):
    """Another worker is executing this organization's provisioning right now; the job will be retried."""


class RunWaiting(SupakitError):
    """An earlier run of the other kind is still live for this organization; this one waits for it."""


class RunMustWait(RetryableStepError):
    """The run did not start or resume: another run of its organization goes first (RunBusy, RunWaiting). The job
    is retried without spending an attempt (functions_py/handlers/provisioning.py, sql/0034)."""


@dataclass
class RunOutcome:
    run_id: UUID
    kind: str
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": str(self.run_id), "kind": self.kind, "status": self.status}


class _RetryLater(Exception):
    """Internal: stop here, the job is retried and resumes at the step in flight."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def execute_run(database_url: str, run_id: UUID, *, final_attempt: bool = True,
                      provider: Provider | None = None,
                      provider_factory: Callable[[str, str], Provider] = make_provider) -> RunOutcome:
    """Execute (or resume) run `run_id` until it finishes or must wait. Raises RetryableStepError when it must be
    tried again later (a retryable step error, another executor, an earlier run of the other kind); the run is
    left resumable. With `final_attempt`, retryable step errors are treated as permanent."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True, row_factory=dict_row,
                                                     application_name="supakit provisioning") as conn:
        run = await (await conn.execute(RUN_SELECT_ONE, (run_id,))).fetchone()
        if run is None:
            raise RunNotFound(f"provisioning run {run_id} does not exist (it may have been deleted with its "
                              "organization).")
        org = run["organization_id"]
        locked = (await (await conn.execute(RUN_LOCK_TRY, (org,))).fetchone())["pg_try_advisory_lock"]
        if not locked:
            raise RunMustWait(RunBusy.__doc__)
        try:
            saga = _Saga(conn, run, database_url, final_attempt, provider, provider_factory)
            return await saga.execute()
        finally:
            if not conn.closed:
                await conn.execute(RUN_UNLOCK, (org,))


class _Saga:
    def __init__(self, conn: psycopg.AsyncConnection, run: dict[str, Any], database_url: str, final_attempt: bool,
                 provider: Provider | None, factory: Callable[[str, str], Provider]) -> None:
        self.conn = conn
        self.run = run
        self.database_url = database_url
        self.final_attempt = final_attempt
        self.provider = provider
        self.factory = factory
        self.org: UUID = run["organization_id"]
        self.delay = step_delay_s()

    @property
    def customer(self) -> Customer:
        return Customer(organization_id=self.org, slug=self.run["slug"], name=self.run["organization_name"],
                        plan_id=self.run["plan_id"], run_id=self.run["id"])

    async def _refresh(self) -> None:
        self.run = await (await self.conn.execute(RUN_SELECT_ONE, (self.run["id"],))).fetchone()

    async def _log(self, message: str, *, step: str | None = None, level: str = "info",
                   data: dict[str, Any] | None = None) -> None:
        await self.conn.execute(LOG_INSERT_ONE, {"run": self.run["id"], "step": step, "level": level,
                                                 "message": message[:4000], "data": Jsonb(data or {})})
        self._echo(message, step)

    def _echo(self, message: str, step: str | None = None) -> None:
        """The process log's copy of a line the SQL functions wrote to the run's log."""
        log.info("provisioning run %s: %s%s", self.run["id"], f"[{step}] " if step else "", message)

    async def _notes(self, ctx: StepContext, step: str) -> None:
        for note in ctx.notes:
            await self._log(note, step=step)
        ctx.notes.clear()

    async def _set_run(self, status: str, message: str, *, level: str = "info", error: str | None = None,
                       current_step: str | None = None) -> None:
        """Move the run to `status` and log `message` (internal.move_provisioning_run)."""
        await self.conn.execute(RUN_MOVE, {"id": self.run["id"], "status": status, "message": message,
                                           "level": level, "error": error, "current_step": current_step})
        self.run["status"] = status
        self._echo(message)

    async def _step_compensation(self, row: dict[str, Any], status: str, message: str | None,
                                 error: str | None = None) -> None:
        """Move a step's compensation to `status`, logging `message` (internal.compensate_provisioning_step)."""
        await self.conn.execute(STEP_COMPENSATE, {"id": row["id"], "status": status, "message": message,
                                                  "error": error})
        if message:
            self._echo(message, row["name"])

    async def _provider_call(self, method: str, *args: Any) -> Any:
        """Call a provider method in a thread. Cancelled meanwhile (its job cancelled, its lease lost, the worker
        stopping), the saga still waits for the call to return before it lets go of the organization's lock: a
        thread cannot be interrupted, and another executor must not undo a resource this call is still making."""
        call = asyncio.ensure_future(asyncio.to_thread(getattr(self.provider, method), *args))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            while not call.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.shield(call)
            if not call.cancelled() and call.exception() is None:
                log.warning("provisioning run %s: %s returned after the run was stopped; the next executor finds "
                            "its resource by the step's idempotency key", self.run["id"], method)
            raise

    async def _steps(self) -> list[dict[str, Any]]:
        return await (await self.conn.execute(STEP_SELECT_MANY, (self.run["id"],))).fetchall()

    async def execute(self) -> RunOutcome:
        run = self.run
        if run["status"] in FINISHED:
            return RunOutcome(run["id"], run["kind"], run["status"])
        waiting = await (await self.conn.execute(RUN_OTHER_LIVE_EARLIER, {
            "org": self.org, "kind": run["kind"], "created_at": run["created_at"]})).fetchone()
        if waiting is not None:
            raise RunMustWait(f"{RunWaiting.__doc__} (run {waiting['id']})")
        name = run["provider"] or provider_name()
        if self.provider is None:
            self.provider = await asyncio.to_thread(self.factory, name, self.database_url)
        kind = saga_kind(run["kind"])
        if kind is not None and kind.operations is not None:
            self.provider = kind.operations(self.provider)
        try:
            if run["status"] == "pending":
                names = [s.name for s in kind.steps] if kind else [s.name for s, _ in DEPROVISION_STEPS]
                await self.conn.execute(RUN_START, {"id": run["id"], "provider": self.provider.name, "names": names})
                self._echo(f"{run['kind']} run started with provider {self.provider.name}")
                await self._refresh()
                if self.run["status"] in FINISHED:  # ended meanwhile (its job ended: sql/0016)
                    return RunOutcome(run["id"], run["kind"], self.run["status"])
            if kind is not None:
                return await self._provision(kind)
            return await self._deprovision()
        except _RetryLater as later:
            raise RetryableStepError(later.message) from None
        finally:
            await asyncio.to_thread(self.provider.close)

    # -- provision -------------------------------------------------------------------------------------------

    async def _committed(self) -> bool:
        return (await (await self.conn.execute(RUN_COMMITTED, (self.run["id"],))).fetchone())["committed"]

    async def _provision(self, kind: SagaKind) -> RunOutcome:
        base = await kind.context(self.conn, self.run) if kind.context else {}
        if self.run["status"] == "failed" and await self._committed():
            await self._set_run("running", "retrying forward: the run is past its point of no return",
                                current_step=self.run["current_step"])
        if self.run["status"] == "running":
            steps = await self._steps()
            outputs: dict[str, dict[str, Any]] = dict(base)
            for definition, row in zip(kind.steps, steps, strict=True):
                if row["status"] == "succeeded":
                    outputs[definition.name] = row["output"] or {}
                    continue
                output = await self._forward(definition, row, outputs)
                if output is None:
                    break
                outputs[definition.name] = output
            else:
                await self._set_run("succeeded", kind.done_message)
                return RunOutcome(self.run["id"], self.run["kind"], "succeeded")
            if self.run["status"] == "failed":
                return RunOutcome(self.run["id"], self.run["kind"], "failed")
        return await self._compensate(kind, base)

    async def _forward(self, definition: Step, row: dict[str, Any],
                       outputs: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """Run one step; its output, or None when it failed for good (the run is then compensating)."""
        attempts = (await (await self.conn.execute(STEP_START, (row["id"],))).fetchone())["attempts"]
        self._echo(f"step {'resumed' if row['status'] == 'running' else 'started'}, attempt {attempts}",
                   definition.name)
        ctx = StepContext(self.customer, row["idempotency_key"], dict(outputs))
        try:
            output = await self._provider_call(definition.do, ctx)
            if self.delay:
                await asyncio.sleep(self.delay)
        except Exception as error:  # noqa: BLE001 - every failure is recorded and classified
            await self._notes(ctx, definition.name)
            permanent = isinstance(error, PermanentStepError) or self.final_attempt
            message = _message(error)
            status = (await (await self.conn.execute(STEP_FAIL, {"id": row["id"], "message": message,
                                                                 "for_good": permanent})).fetchone())
            if not permanent:
                self._echo(f"step failed, will be retried: {message}", definition.name)
                raise _RetryLater(f"step {definition.name}: {message}") from None
            self.run["status"] = status["fail_provisioning_step"]  # compensating; failed past the point of no return
            self._echo(f"step failed for good: {message}; run {self.run['status']}", definition.name)
            return None
        await self._notes(ctx, definition.name)
        recorded = {**output, "idempotency_key": row["idempotency_key"]}
        await self.conn.execute(STEP_SUCCEED, {"id": row["id"], "output": Jsonb(output), "record": Jsonb(recorded)})
        self._echo("step done", definition.name)
        return output

    async def _compensate(self, kind: SagaKind, base: dict[str, dict[str, Any]]) -> RunOutcome:
        if await self._committed():
            # past the point of no return (e.g. its job ended and SQL moved it to compensating): finish it forward
            if self.run["status"] != "failed":
                await self._set_run("failed", "not rolled back: the run is past its point of no return; fix the "
                                    "cause and run `supakit provision retry` to finish it", level="error",
                                    error="stopped past the point of no return", current_step=self.run["current_step"])
            return RunOutcome(self.run["id"], self.run["kind"], "failed")
        if self.run["status"] == "failed":
            await self._set_run("compensating", "retrying the compensation", current_step=self.run["current_step"])
        steps = await self._steps()
        outputs = {**base, **{row["name"]: row["output"] or {} for row in steps if row["output"]}}
        definitions = {s.name: s for s in kind.steps}
        for row in reversed(steps):
            if row["status"] not in ("succeeded", "failed", "compensating", "compensation_failed"):
                continue
            definition = definitions[row["name"]]
            if definition.undo is None:
                async with self.conn.transaction():
                    await self._step_compensation(row, "compensating", None)
                    await self._step_compensation(row, "compensated", "nothing to undo for this step")
                continue
            await self._step_compensation(row, "compensating", "undoing step")
            ctx = StepContext(self.customer, row["idempotency_key"], dict(outputs))
            try:
                await self._provider_call(definition.undo, ctx, row["output"])
            except Exception as error:  # noqa: BLE001
                await self._notes(ctx, row["name"])
                message = _message(error)
                if isinstance(error, RetryableStepError) and not self.final_attempt:
                    await self._log(f"undo failed, will be retried: {message}", step=row["name"], level="warning")
                    raise _RetryLater(f"undo of step {row['name']}: {message}") from None
                await self._step_compensation(
                    row, "compensation_failed", f"undo failed: {message}; resources may be left behind; fix the "
                    "cause and run `supakit provision retry`", error=message)
                self.run["status"] = "failed"
                return RunOutcome(self.run["id"], self.run["kind"], "failed")
            await self._notes(ctx, row["name"])
            await self._step_compensation(row, "compensated", "step undone")
        await self._set_run("rolled_back", "rolled back: every step done was undone; the owners are notified by "
                            "e-mail")
        return RunOutcome(self.run["id"], self.run["kind"], "rolled_back")

    # -- deprovision -----------------------------------------------------------------------------------------

    async def _deprovision(self) -> RunOutcome:
        if self.run["status"] == "failed":  # its job retried by hand: resume at the failed step
            await self._set_run("running", "retrying the teardown", current_step=self.run["current_step"])
        infra = await (await self.conn.execute(INFRA_SELECT_ONE, (self.org,))).fetchone()
        resources = (infra or {}).get("resources") or {}
        steps = await self._steps()
        for (definition, source), row in zip(DEPROVISION_STEPS, steps, strict=True):
            if row["status"] == "succeeded":
                continue
            await self.conn.execute(STEP_START, (row["id"],))
            self._echo("step started", definition.name)
            # the provisioning step's own key: the provider finds resources by it
            key = (resources.get(source) or {}).get("idempotency_key") or row["idempotency_key"]
            ctx = StepContext(self.customer, key, dict(resources))
            try:
                await self._provider_call(definition.do, ctx, resources.get(source))
            except Exception as error:  # noqa: BLE001
                await self._notes(ctx, definition.name)
                message = _message(error)
                retry = isinstance(error, RetryableStepError) and not self.final_attempt
                await self.conn.execute(STEP_FAIL, {"id": row["id"], "message": message, "for_good": not retry})
                if retry:
                    self._echo(f"step failed, will be retried: {message}", definition.name)
                    raise _RetryLater(f"step {definition.name}: {message}") from None
                self.run["status"] = "failed"
                self._echo(f"step failed: {message}", definition.name)
                return RunOutcome(self.run["id"], "deprovision", "failed")
            await self._notes(ctx, definition.name)
            await self.conn.execute(STEP_SUCCEED, {"id": row["id"], "output": Jsonb({}), "record": None})
            self._echo("step done", definition.name)
        await self._set_run("succeeded", "deprovisioned: every resource was removed")
        return RunOutcome(self.run["id"], "deprovision", "succeeded")


def _message(error: BaseException) -> str:
    if isinstance(error, SupakitError):
        return error.message
    return f"{type(error).__name__}: {error}"[:2000]
