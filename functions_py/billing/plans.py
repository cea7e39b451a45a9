"""Plans, their Stripe price ids, organizations' billing contacts and the Stripe event ledger, read and written for
`supakit billing` (the SQL of sql/0010 and sql/0011)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

plan_ids_many = "select id from public.plans"
plans_get_many = """
select id, name, active, monthly_price_cents, yearly_price_cents, currency, trial_days,
  stripe_product_id, stripe_price_monthly, stripe_price_yearly
from public.plans order by queue_priority, id"""
plan_price_set_one = "update public.plans set {column} = %s where id = %s"
events_get_many = """
select id, type, stripe_created_at, received_at, processed_at, outcome, attempts, error
from internal.stripe_events
where (not %(failed)s or processed_at is null)
order by received_at desc limit %(limit)s"""
owner_email_one = "select internal.organization_owner_emails(%s) limit 1"

PLAN_COLUMNS = ("id", "name", "active", "monthly_price_cents", "yearly_price_cents", "currency", "trial_days",
                "stripe_product_id", "stripe_price_monthly", "stripe_price_yearly")
EVENT_COLUMNS = ("id", "type", "created", "received_at", "processed_at", "outcome", "attempts", "error")
PERIODS = ("monthly", "yearly")


def plan_ids(conn: psycopg.Connection) -> list[str]:
    return [row[0] for row in conn.execute(plan_ids_many).fetchall()]


def list_plans(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every plan with its prices and Stripe ids, in queue priority order."""
    return [dict(zip(PLAN_COLUMNS, row, strict=True)) for row in conn.execute(plans_get_many).fetchall()]


def set_prices(conn: psycopg.Connection, prices: dict[tuple[str, str], str]) -> None:
    """Set {(plan, monthly|yearly): Stripe price id}, in one transaction."""
    with conn.transaction():
        for (plan, period), price in prices.items():
            if period not in PERIODS:
                raise ValueError(period)
            column = sql.Identifier(f"stripe_price_{period}")
            conn.execute(sql.SQL(plan_price_set_one).format(column=column), (price, plan))


def list_events(conn: psycopg.Connection, *, failed: bool, limit: int) -> list[dict[str, Any]]:
    """The Stripe event ledger, newest first (only unprocessed events with `failed`)."""
    rows = conn.execute(events_get_many, {"failed": failed, "limit": limit}).fetchall()
    return [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in rows]


def owner_email(conn: psycopg.Connection, org: UUID) -> str | None:
    """An owner's e-mail address (for Stripe's customer record), None when the organization has none."""
    row = conn.execute(owner_email_one, (org,)).fetchone()
    return row[0] if row else None
