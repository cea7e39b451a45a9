"""Resizing a customer's instance: a run of kind `resize` (sql/0032) on the saga engine of saga.py.

Steps (each idempotent by its key `<run id>:<step>`, compensated in reverse on a failure before the switch):

1. snapshot    a snapshot of the running instance, which keeps serving      undo: remove the snapshot
2. launch      a new instance of the target type from the snapshot          undo: remove the new instance
3. verify      the new instance runs, has the type and the data             (nothing to undo)
4. switch_dns  the subdomain (and the app config) now point at it           undo: point them back
5. retire_old  the replaced instance (and earlier resizes' snapshots) go    (point of no return passed)

Once switch_dns succeeded the run is past its point of no return (internal.provisioning_run_committed): the new
instance takes traffic and writes, so nothing is undone any more; a failure in retire_old leaves the run `failed`
and `supakit provision retry` finishes it forward. The steps after the snapshot read the replaced instance from
the snapshot step's recorded output (`source`), never from customer_infrastructure, which the switch moves to the
new instance (so a resumed retire_old cannot retire the new one).

Requests (internal.request_resize) come from the subscription trigger (a plan change through the Stripe webhook)
and `supakit provision resize`; see sql/0032 for how concurrent requests merge.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from functions_py.provisioning.saga import SAGA_KINDS, SagaKind, Step

RESIZE_STEPS: tuple[Step, ...] = (
    Step("snapshot", "snapshot_instance", "remove_snapshot"),
    Step("launch", "launch_from_snapshot", "remove_launched_instance"),
    Step("verify", "verify_launched_instance", None),
    Step("switch_dns", "switch_dns", "switch_dns_back"),
    Step("retire_old", "retire_instance", None),
)

INFRA_RESOURCES_ONE = "select resources, subdomain, public_address from public.customer_infrastructure " \
                      "where organization_id = %s"
resize_request_one = "select run_id, action from internal.request_resize(%s, %s, %s)"
plan_exists_one = "select internal.plan_instance_type(id) from public.plans where id = %s"

# What internal.request_resize did, as the CLI says it.
ACTIONS = {
    "requested": "resize requested",
    "merged": "merged into the resize not started yet (the latest request wins)",
    "superseded": "the resize not started yet was dropped: the instance already has that size",
    "queued": "a resize is running (or a failed one awaits `supakit provision retry`): this one follows it",
    "updated": "the plan's instance type is the one running: only the plan was recorded",
    "nothing": "the instance already has that size",
    "not_active": "nothing provisioned and active to resize (a provisioning run applies the plan when it succeeds)",
}


async def _context(conn: psycopg.AsyncConnection, run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The outputs every resize step gets: `current` (the recorded resources) and `target`."""
    row = await (await conn.execute(INFRA_RESOURCES_ONE, (run["organization_id"],))).fetchone()
    resources = dict((row or {}).get("resources") or {})
    return {"current": resources,
            "target": {"instance_type": run["instance_type"], "plan_id": run["plan_id"],
                       "previous_instance_type": run["previous_instance_type"]}}


RESIZE = SagaKind(RESIZE_STEPS, "resized: the new instance serves and the old one is retired; the owners are "
                                "notified by e-mail", context=_context)
SAGA_KINDS["resize"] = RESIZE


def request(conn: psycopg.Connection, org_id: UUID, reason: str,
            instance_type: str | None = None) -> tuple[UUID | None, str]:
    """(run id, action) from internal.request_resize; action is one of ACTIONS."""
    run_id, action = conn.execute(resize_request_one, (org_id, reason, instance_type)).fetchone()
    return run_id, action


def plan_instance_type(conn: psycopg.Connection, plan_id: str) -> str | None:
    """The instance type a plan is sized with (internal.plan_instance_type), None for an unknown plan."""
    row = conn.execute(plan_exists_one, (plan_id,)).fetchone()
    return row[0] if row else None
