"""`supakit billing`: checkout and portal links, subscription sync, and the Stripe event ledger (replay)."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import typer

from cli.context import info, org_option, organization_id, result, settings
from functions_py.billing import plans, sessions, webhooks
from functions_py.billing.settings import StripeSettings
from functions_py.billing.sync import sync_subscriptions
from functions_py.config import Settings
from functions_py.db import connect, connect_async
from functions_py.errors import ConfigError, SupakitError
from functions_py.stack import database_url

app = typer.Typer(no_args_is_help=True, help="Stripe billing: checkout, portal, sync, the event ledger.")

def env_prices(plan_ids: list[str], current: Settings) -> dict[tuple[str, str], str]:
    """{(plan, monthly|yearly): price id} from STRIPE_PRICE_<PLAN>_MONTHLY / _YEARLY (Settings.stripe_prices)."""
    found = {}
    for plan in plan_ids:
        for period in ("monthly", "yearly"):
            value = current.stripe_prices.get(f"STRIPE_PRICE_{plan.upper()}_{period.upper()}")
            if value:
                if not value.startswith("price_"):
                    raise ConfigError(f"STRIPE_PRICE_{plan.upper()}_{period.upper()}={value!r} is not a Stripe "
                                      "price id (price_…)")
                found[(plan, period)] = value
    return found


class UnknownEvent(SupakitError):
    """No such Stripe event in the ledger; list them with `supakit billing events`."""


def _organization(url: str, org: str) -> uuid.UUID:
    with connect(url) as conn:
        return organization_id(conn, org)


async def _with_async_connection(url: str, work):
    async with await connect_async(url) as conn:
        return await work(conn)


def _owner_email(url: str, org: uuid.UUID) -> str | None:
    with connect(url) as conn:
        return plans.owner_email(conn, org)


@app.command()
def checkout(
    ctx: typer.Context,
    org: str = org_option(),
    plan: str = typer.Option(..., "--plan", help="Plan id (public.plans), e.g. pro or team."),
    interval: str = typer.Option("month", "--interval", help="month or year."),
    success_url: str = typer.Option(None, "--success-url", help="Where Stripe sends the buyer after paying."),
    cancel_url: str = typer.Option(None, "--cancel-url", help="Where Stripe sends the buyer after cancelling."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a Stripe Checkout Session for an organization and print its URL (the Stripe customer is created on
    first use)."""
    stripe_settings = StripeSettings.from_settings(settings(ctx))
    client = sessions.stripe_client(stripe_settings)
    url = database_url(settings(ctx))
    org_id = _organization(url, org)
    email = _owner_email(url, org_id)
    link = asyncio.run(_with_async_connection(url, lambda conn: sessions.create_checkout(
        conn, client, organization_id=org_id, plan_id=plan, interval=interval,
        success_url=success_url or f"{stripe_settings.site_url}/billing?checkout=success",
        cancel_url=cancel_url or f"{stripe_settings.site_url}/billing?checkout=cancelled", email=email)))
    result({"id": link.id, "url": link.url, "customer": link.customer}, as_json=as_json, text=link.url)


@app.command()
def portal(
    ctx: typer.Context,
    org: str = org_option(),
    return_url: str = typer.Option(None, "--return-url", help="Where the portal's back link goes."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a Stripe Billing Portal session for an organization and print its URL."""
    stripe_settings = StripeSettings.from_settings(settings(ctx))
    client = sessions.stripe_client(stripe_settings)
    url = database_url(settings(ctx))
    org_id = _organization(url, org)
    link = asyncio.run(_with_async_connection(url, lambda conn: sessions.create_portal(
        conn, client, organization_id=org_id, return_url=return_url or f"{stripe_settings.site_url}/billing")))
    result({"id": link.id, "url": link.url, "customer": link.customer}, as_json=as_json, text=link.url)


@app.command()
def sync(
    ctx: typer.Context,
    org: str = org_option(required=False, help="Only this organization, by slug or id (default: every linked "
                                                "customer)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-fetch subscriptions from Stripe and apply them as the current state (repairs missed webhooks)."""
    client = sessions.stripe_client(StripeSettings.from_settings(settings(ctx)))
    with connect(database_url(settings(ctx))) as conn:
        org_id = organization_id(conn, org) if org else None
        outcomes = sync_subscriptions(conn, client, org_id)
    counts = dict(sorted(outcomes.items()))
    result(counts, as_json=as_json,
           text=", ".join(f"{n} {outcome}" for outcome, n in counts.items()) or "no subscriptions in Stripe")


@app.command()
def replay(
    ctx: typer.Context,
    event_id: str = typer.Argument(..., help="Stripe event id (evt_…) from the ledger."),
    force: bool = typer.Option(False, "--force", help="Apply it again even if it was processed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Apply a stored Stripe event again (after fixing what made it fail). Exit 1 if it fails again."""
    with connect(database_url(settings(ctx))) as conn:
        try:
            receipt = webhooks.replay(conn, event_id, force=force)
        except psycopg.errors.NoDataFound:
            raise UnknownEvent(f"no Stripe event {event_id!r} in the ledger; list them with "
                               "`supakit billing events`") from None
    payload = {"id": receipt.event_id, "type": receipt.event_type, "outcome": receipt.outcome,
               "attempts": receipt.attempts, "error": receipt.error}
    if receipt.outcome == "duplicate":
        info(f"{event_id} was already processed; pass --force to apply it again")
    result(payload, as_json=as_json, text=f"{event_id} ({receipt.event_type}): {receipt.outcome}"
           + (f": {receipt.error}" if receipt.error else ""))
    if receipt.failed:
        raise typer.Exit(1)


@app.command()
def events(
    ctx: typer.Context,
    failed: bool = typer.Option(False, "--failed", help="Only events not processed yet (failed)."),
    limit: int = typer.Option(50, "--limit", help="Most events listed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The Stripe event ledger, newest first: outcome, attempts and the last error."""
    with connect(database_url(settings(ctx))) as conn:
        listed = plans.list_events(conn, failed=failed, limit=limit)
    text = "\n".join(f"{r['id']}  {r['type']:<40} {r['outcome'] or 'FAILED':<10} attempts={r['attempts']}"
                     + (f"  {r['error']}" if r["error"] else "") for r in listed) or "no events"
    result(listed, as_json=as_json, text=text)


@app.command()
def prices(
    ctx: typer.Context,
    apply: bool = typer.Option(False, "--apply", help="Write the STRIPE_PRICE_<PLAN>_MONTHLY/_YEARLY ids first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The plans with their prices and Stripe ids. With --apply, first set each plan's Stripe price ids from
    STRIPE_PRICE_<PLAN>_MONTHLY / STRIPE_PRICE_<PLAN>_YEARLY (e.g. STRIPE_PRICE_PRO_MONTHLY=price_…)."""
    with connect(database_url(settings(ctx))) as conn:
        if apply:
            plan_ids = plans.plan_ids(conn)
            found = env_prices(plan_ids, settings(ctx))
            if not found:
                raise ConfigError("--apply: no STRIPE_PRICE_<PLAN>_MONTHLY or _YEARLY variable is set "
                                  f"(plans: {', '.join(plan_ids)})")
            plans.set_prices(conn, found)
            info(f"set {len(found)} price id(s)")
        listed = plans.list_plans(conn)
    text = "\n".join(f"{p['id']:<8} {p['monthly_price_cents'] / 100:>8.2f}/month {p['yearly_price_cents'] / 100:>9.2f}"
                     f"/year  monthly={p['stripe_price_monthly'] or '-'}  yearly={p['stripe_price_yearly'] or '-'}"
                     for p in listed)
    result(listed, as_json=as_json, text=text)
