"""Stripe Checkout and Billing Portal sessions for an organization, through the official `stripe` SDK.

Shared by the edge functions (`billing-checkout`, `billing-portal`) and `supakit billing checkout|portal`. The
caller has already decided that the user may manage billing (owner or admin); this module checks the plan,
creates the organization's Stripe customer on first use (with an idempotency key, so two concurrent first
checkouts create one customer), and asks Stripe for the session.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import stripe

from functions_py.billing.settings import StripeSettings
from functions_py.errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_UNAVAILABLE, SupakitError

INTERVALS = ("month", "year")

plan_get_one = """
    select id, name, active, trial_days, stripe_price_monthly, stripe_price_yearly
    from public.plans where id = %s"""
organization_get_one = "select name, slug from public.organizations where id = %s"
customer_get_one = """
    select stripe_customer_id, deleted_at from public.billing_customers where organization_id = %s"""
customer_link_one = """
    insert into public.billing_customers as c (organization_id, stripe_customer_id, email)
    values (%s, %s, %s)
    on conflict (organization_id) do update
    set stripe_customer_id = excluded.stripe_customer_id, email = excluded.email, deleted_at = null,
      last_event_at = null, updated_at = now()
    where c.deleted_at is not null
    returning stripe_customer_id"""
subscription_exists_any = "select exists (select 1 from public.subscriptions where organization_id = %s)"


class BillingError(SupakitError):
    """The billing request cannot be done; the message says why. `status` is the HTTP status to answer."""

    status = 400
    code = "bad_request"
    exit_code = EXIT_BAD_INPUT


class PlanUnavailable(BillingError):
    """The plan cannot be bought: pick an active paid plan with a Stripe price."""

    status = 409
    code = "plan_unavailable"
    exit_code = EXIT_FAILURE


class NoBillingAccount(BillingError):
    """The organization has no Stripe customer yet: start a checkout first."""

    status = 409
    code = "no_billing_account"
    exit_code = EXIT_FAILURE


class StripeUnavailable(BillingError):
    """Stripe did not accept the request; see the message, then try again."""

    status = 502
    code = "stripe_error"
    exit_code = EXIT_UNAVAILABLE


@dataclass(frozen=True)
class SessionLink:
    """A Stripe-hosted page to send the user to."""

    id: str
    url: str
    customer: str


def stripe_client(settings: StripeSettings) -> stripe.StripeClient:
    """The official client with our key; STRIPE_API_BASE (when set) replaces https://api.stripe.com."""
    kwargs: dict[str, Any] = {"max_network_retries": 2}
    if settings.api_base:
        kwargs["base_addresses"] = {"api": settings.api_base}
    return stripe.StripeClient(settings.require_secret_key(), **kwargs)


async def _stripe(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a blocking SDK call off the event loop, turning Stripe's errors into StripeUnavailable."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except stripe.StripeError as error:
        message = getattr(error, "user_message", None) or str(error) or type(error).__name__
        raise StripeUnavailable(f"Stripe refused the request: {message}", http_status=error.http_status) from None


def _organization_id(raw: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise BillingError(f"organization_id {raw!r} is not a UUID") from None


async def ensure_customer(conn: psycopg.AsyncConnection, client: stripe.StripeClient, organization_id: uuid.UUID,
                          email: str | None) -> str:
    """The organization's Stripe customer id, creating the customer on first use (or after customer.deleted)."""
    cur = await conn.execute(customer_get_one, (organization_id,))
    row = await cur.fetchone()
    if row and row[1] is None:
        return row[0]
    cur = await conn.execute(organization_get_one, (organization_id,))
    org = await cur.fetchone()
    if org is None:
        raise BillingError(f"no organization {organization_id}")
    # One key per organization (and per replaced customer): retries and concurrent first checkouts get the same
    # customer back from Stripe instead of creating a second one.
    key = f"supakit-customer-{organization_id}" + (f"-after-{row[0]}" if row else "")
    params: dict[str, Any] = {"name": org[0], "metadata": {"organization_id": str(organization_id),
                                                           "organization_slug": org[1]}}
    if email:
        params["email"] = email
    customer = await _stripe(client.v1.customers.create, params, {"idempotency_key": key})
    cur = await conn.execute(customer_link_one, (organization_id, customer.id, email))
    linked = await cur.fetchone()
    if linked:
        return linked[0]
    cur = await conn.execute(customer_get_one, (organization_id,))  # a concurrent request linked it first
    return (await cur.fetchone())[0]


async def create_checkout(conn: psycopg.AsyncConnection, client: stripe.StripeClient, *, organization_id: object,
                          plan_id: str, interval: str = "month", success_url: str, cancel_url: str,
                          email: str | None = None) -> SessionLink:
    """A subscription-mode Checkout Session for `plan_id` billed every `interval` (month or year): the customer,
    client_reference_id and metadata name the organization; the plan's trial applies to a first subscription."""
    org = _organization_id(organization_id)
    if interval not in INTERVALS:
        raise BillingError(f"interval must be month or year, not {interval!r}")
    cur = await conn.execute(plan_get_one, (plan_id,))
    plan = await cur.fetchone()
    if plan is None:
        raise BillingError(f"no plan {plan_id!r}; see public.plans for the plan ids", code="unknown_plan")
    _, name, active, trial_days, price_monthly, price_yearly = plan
    price = price_monthly if interval == "month" else price_yearly
    if not active:
        raise PlanUnavailable(f"the {name} plan is no longer offered")
    if not price:
        raise PlanUnavailable(f"the {name} plan has no Stripe price for {interval}ly billing: set "
                              f"public.plans.stripe_price_{interval}ly (or create the price in Stripe with metadata "
                              f"plan_id={plan_id}) first")
    customer = await ensure_customer(conn, client, org, email)
    cur = await conn.execute(subscription_exists_any, (org,))
    had_subscription, = await cur.fetchone()
    metadata = {"organization_id": str(org), "plan_id": plan_id}
    subscription_data: dict[str, Any] = {"metadata": metadata}
    if trial_days and not had_subscription:
        subscription_data["trial_period_days"] = trial_days
    session = await _stripe(client.v1.checkout.sessions.create, {
        "mode": "subscription",
        "customer": customer,
        "client_reference_id": str(org),
        "line_items": [{"price": price, "quantity": 1}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": metadata,
        "subscription_data": subscription_data,
    })
    return SessionLink(id=session.id, url=session.url, customer=customer)


async def create_portal(conn: psycopg.AsyncConnection, client: stripe.StripeClient, *, organization_id: object,
                        return_url: str) -> SessionLink:
    """A Billing Portal session for the organization's Stripe customer (NoBillingAccount when it has none)."""
    org = _organization_id(organization_id)
    cur = await conn.execute(customer_get_one, (org,))
    row = await cur.fetchone()
    if row is None or row[1] is not None:
        raise NoBillingAccount()
    session = await _stripe(client.v1.billing_portal.sessions.create,
                            {"customer": row[0], "return_url": return_url})
    return SessionLink(id=session.id, url=session.url, customer=row[0])
