"""`supakit billing sync`: fetch every linked customer's subscriptions from Stripe and apply them as of now.

Repairs drift after missed webhooks: the fetched object is the current state, so it is applied with `now()` as
its version and older events arriving later change nothing (the same out-of-order guard as the webhook).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter

import psycopg
import stripe

from functions_py.billing.sessions import StripeUnavailable

customers_get_many = """
    select organization_id, stripe_customer_id from public.billing_customers
    where deleted_at is null and (%(org)s::uuid is null or organization_id = %(org)s::uuid)
    order by created_at"""
subscription_apply_one = "select internal.apply_stripe_subscription(%s::jsonb, now(), null)"


def sync_subscriptions(conn: psycopg.Connection, client: stripe.StripeClient,
                       organization_id: uuid.UUID | None = None) -> Counter[str]:
    """Outcome counts (applied, stale, unmatched) over every subscription fetched; each customer's in one
    transaction."""
    outcomes: Counter[str] = Counter()
    for _, customer in conn.execute(customers_get_many, {"org": organization_id}).fetchall():
        try:
            listed = client.v1.subscriptions.list({"customer": customer, "status": "all", "limit": 100})
            subscriptions = [sub.to_dict() for sub in listed.auto_paging_iter()]
        except stripe.StripeError as error:
            raise StripeUnavailable(f"Stripe refused to list {customer}'s subscriptions: "
                                    f"{getattr(error, 'user_message', None) or error}") from None
        with conn.transaction():
            for sub in subscriptions:
                # the SDK turns *_decimal strings into Decimal: back to the API's string form
                outcome, = conn.execute(subscription_apply_one, (json.dumps(sub, default=str),)).fetchone()
                outcomes[outcome] += 1
    return outcomes
