"""Requesting and inspecting provisioning runs: the SQL API of sql/0012 and sql/0022 (request, retry, status),
for the CLI and scripts. The saga that executes a run is saga.py."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from functions_py import organizations

run_request_one = "select internal.request_provisioning(%s, %s)"
deprovision_request_one = "select internal.request_deprovisioning(%s, %s)"
run_retry_one = "select run_id, action from internal.retry_provisioning(%s)"
status_get_one = "select public.provisioning_status(%s)"
run_organization_one = "select organization_id from public.provisioning_runs where id = %s"
run_backup_one = "select backup_id from public.provisioning_runs where id = %s"
run_latest_one = """
select id, kind, status from public.provisioning_runs where organization_id = %s order by created_at desc, id limit 1
"""


def find_organization(conn: psycopg.Connection, org: str) -> UUID | None:
    """The id of the organization whose id or slug is `org`, None when there is none (functions_py.organizations,
    the one lookup the CLI's --org uses)."""
    return organizations.find(conn, org)


def request_provisioning(conn: psycopg.Connection, org_id: UUID, reason: str) -> UUID | None:
    """The live provisioning run (requested now, or already running); None when the organization has active
    infrastructure, or a failed rollback to retry first."""
    return conn.execute(run_request_one, (org_id, reason)).fetchone()[0]


def request_deprovisioning(conn: psycopg.Connection, org_id: UUID, reason: str) -> UUID | None:
    """The live deprovision run; None when there is nothing to remove."""
    return conn.execute(deprovision_request_one, (org_id, reason)).fetchone()[0]


def retry(conn: psycopg.Connection, org_id: UUID) -> tuple[UUID | None, str]:
    """(run id, action) from internal.retry_provisioning: action is no_run, succeeded, requested, left or
    requeued (sql/0022)."""
    run_id, action = conn.execute(run_retry_one, (org_id,)).fetchone()
    return run_id, action


def status(conn: psycopg.Connection, org_id: UUID) -> dict[str, Any]:
    """public.provisioning_status: the infrastructure, the latest run with its steps, and its recent logs."""
    return conn.execute(status_get_one, (org_id,)).fetchone()[0]


def run_organization(conn: psycopg.Connection, run_id: UUID) -> UUID | None:
    """The organization of a run, None for an unknown run."""
    row = conn.execute(run_organization_one, (run_id,)).fetchone()
    return row[0] if row else None


def latest_run(conn: psycopg.Connection, org_id: UUID) -> tuple[UUID, str, str] | None:
    """(id, kind, status) of the organization's latest run, None when it has none."""
    row = conn.execute(run_latest_one, (org_id,)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def run_backup(conn: psycopg.Connection, run_id: UUID) -> UUID | None:
    """The backup a backup or restore run is about (sql/0031), None for other runs."""
    row = conn.execute(run_backup_one, (run_id,)).fetchone()
    return row[0] if row else None
