"""Health checks and usage of customers' instances, recorded in SQL (sql/0033) for the customer dashboard.

A health check asks the provider for the instance's state (aws: EC2's instance status; local: a login as the
customer's role) and makes one HTTP GET of the deployed site (health.url, default the provider's site URL; a
timeout or a refused connection is recorded as such); SQL decides healthy / degraded / down
(internal.record_health_check) and broadcasts a change. Usage (storage, bandwidth since the start of the month)
comes from the provider; users are counted in SQL (internal.record_usage).

Jobs (functions_py/handlers/provisioning.py): `provisioning.check_health` and `provisioning.collect_usage` with
payload `{"org_id": ...}` do one organization; without one they sweep (one job per active infrastructure, deduped
per organization). Both are safe to repeat, so either can run as a recurring schedule.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from functions_py import config
from functions_py.errors import SupakitError
from functions_py.provisioning.provider import Customer, Provider, StepError, make_provider, provider_name

INFRA_SELECT_ONE = """
select i.*, o.slug, o.name as organization_name
from public.customer_infrastructure as i join public.organizations as o on o.id = i.organization_id
where i.organization_id = %s
"""
health_record_one = "select row_to_json(c)::jsonb as check from internal.record_health_check(%s, %s) as c"
usage_record_one = "select row_to_json(u)::jsonb as usage from internal.record_usage(%s, %s) as u"
checks_enqueue_many = "select internal.enqueue_provisioning_checks(%s) as queued"
health_prune_many = "select internal.prune_health_checks(make_interval(days => %s)) as pruned"

NIL = UUID(int=0)
MAX_BODY = 64 * 1024


class NotProvisioned(SupakitError):
    """The organization has no active infrastructure to check; provision it first (`supakit provision run`)."""


def _infrastructure(conn: psycopg.Connection, org_id: UUID) -> dict[str, Any]:
    row = conn.execute(INFRA_SELECT_ONE, (org_id,)).fetchone()
    if row is None or row["status"] != "active":
        raise NotProvisioned(f"organization {org_id} has no active infrastructure "
                             f"({row['status'] if row else 'none'}); provision it first (`supakit provision run`).")
    return row


def _customer(row: dict[str, Any]) -> Customer:
    return Customer(organization_id=row["organization_id"], slug=row["slug"], name=row["organization_name"],
                    plan_id=row["plan_id"] or "free", run_id=row["last_run_id"] or NIL)


def site_check(url: str, timeout_s: float) -> dict[str, Any]:
    """One GET of `url`: http_status, latency_ms, timed_out, error (None when it answered)."""
    started = time.perf_counter()
    request = urllib.request.Request(url, headers={"User-Agent": "supakit-health/1"})
    status, error, timed_out = None, None, False
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310 - an operator's URL
            answer.read(MAX_BODY)
            status = answer.status
    except urllib.error.HTTPError as refused:
        status = refused.code
        error = f"HTTP {refused.code}"
    except TimeoutError:
        timed_out, error = True, f"no answer within {timeout_s:g} s"
    except urllib.error.URLError as failed:
        if isinstance(failed.reason, TimeoutError):
            timed_out, error = True, f"no answer within {timeout_s:g} s"
        else:
            error = f"cannot connect: {failed.reason}"
    except (OSError, ValueError) as failed:
        error = f"cannot connect: {failed}"
    return {"url": url, "http_status": status, "latency_ms": int((time.perf_counter() - started) * 1000),
            "timed_out": timed_out, "error": error}


def check_health(database_url: str, org_id: UUID, provider: Provider | None = None) -> dict[str, Any]:
    """Check one organization's instance and site now; returns the recorded row (status: healthy, degraded,
    down). Raises NotProvisioned when nothing is active."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        row = _infrastructure(conn, org_id)
        own = provider is None
        provider = provider or make_provider(row["provider"] or provider_name(), database_url)
        try:
            customer = _customer(row)
            try:
                state = provider.instance_state(customer, row["resources"] or {})
            except StepError as error:
                state = {"state": "unknown", "ok": False, "detail": error.message}
            settings = config.current().health
            template = settings.url or provider.site_url(customer)
            url = template.format(subdomain=row["subdomain"] or provider.subdomain_for(customer),
                                  address=row["public_address"] or "", org=org_id, slug=row["slug"])
            site = site_check(url, float(settings.timeout_s))
        finally:
            if own:
                provider.close()
        error = site["error"] if state["ok"] else f"instance {state['state']}: {state.get('detail', '')}"
        result = {**site, "provider": provider.name, "instance_state": state["state"], "instance_ok": state["ok"],
                  "error": error}
        return conn.execute(health_record_one, (org_id, Jsonb(result))).fetchone()["check"]


def collect_usage(database_url: str, org_id: UUID, provider: Provider | None = None) -> dict[str, Any]:
    """Collect one organization's usage now (storage, month-to-date bandwidth, users); returns today's row."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        row = _infrastructure(conn, org_id)
        own = provider is None
        provider = provider or make_provider(row["provider"] or provider_name(), database_url)
        try:
            month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            figures = provider.usage(_customer(row), row["resources"] or {}, month)
        finally:
            if own:
                provider.close()
        return conn.execute(usage_record_one, (org_id, Jsonb(figures))).fetchone()["usage"]


def sweep(database_url: str, job_kind: str) -> dict[str, Any]:
    """Queue one `job_kind` job per active infrastructure (deduped per organization); the health sweep also
    prunes checks older than health.history_days."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        queued = conn.execute(checks_enqueue_many, (job_kind,)).fetchone()["queued"]
        pruned = 0
        if job_kind == "provisioning.check_health":
            pruned = conn.execute(health_prune_many, (int(config.current().health.history_days),)
                                  ).fetchone()["pruned"]
    return {"organizations": queued, "pruned": pruned}
