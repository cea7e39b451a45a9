"""Stripe webhooks: verify the signature on the raw body, then store and apply the event in one SQL call.

Verification comes first and uses the official `stripe` library (`WebhookSignature.verify_header`, tolerance
300 s); nothing is stored for a request that fails it. The database does the rest in one transaction
(`internal.receive_stripe_event`, sql/0011): the event is stored once, applied with the out-of-order guard, and
a failure is recorded in the ledger (error, attempts) so the endpoint can answer 500 and Stripe retries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
import stripe

from functions_py.errors import SupakitError

event_receive_one = "select outcome, error, attempts from internal.receive_stripe_event(%s::jsonb)"
event_replay_one = "select outcome, error, attempts from internal.replay_stripe_event(%s, %s)"


class WebhookRejected(SupakitError):
    """The request is not a verified Stripe event; nothing was stored. Check the endpoint's signing secret."""

    exit_code = 2

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class Receipt:
    """What the database did with an event: `outcome` is applied, stale, ignored, unmatched, duplicate or
    failed (then `error` says why); `attempts` counts applications tried so far."""

    event_id: str
    event_type: str
    outcome: str
    error: str | None
    attempts: int

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


def verify(payload: bytes, signature_header: str | None, secret: str, *, tolerance_s: int = 300) -> dict[str, Any]:
    """The event in `payload` after the official library verified `signature_header` over the raw bytes;
    WebhookRejected (code missing_signature, stale_timestamp, bad_signature, malformed_json, not_an_event)
    otherwise."""
    if not signature_header:
        raise WebhookRejected("missing_signature", "no Stripe-Signature header: only Stripe's signed requests are "
                                                   "accepted here")
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance_s)
    except stripe.SignatureVerificationError as error:
        if "tolerance" in str(error).lower():
            raise WebhookRejected("stale_timestamp", f"the signature's timestamp is more than {tolerance_s} s old "
                                                     "(a replayed request, or a clock off by minutes)") from None
        raise WebhookRejected("bad_signature", "the Stripe-Signature does not match this endpoint's signing secret "
                                               "(STRIPE_WEBHOOK_SECRET)") from None
    except UnicodeDecodeError:
        raise WebhookRejected("malformed_json", "the body is not UTF-8 text") from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise WebhookRejected("malformed_json", "the body is not valid JSON") from None
    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"].startswith("evt_")
            and isinstance(event.get("type"), str) and isinstance(event.get("created"), int)
            and isinstance(event.get("data"), dict) and isinstance(event["data"].get("object"), dict)):
        raise WebhookRejected("not_an_event", "the body is not a Stripe event (id evt_…, type, created, data.object)")
    return event


def _receipt(event: dict[str, Any], row: tuple | None) -> Receipt:
    outcome, error, attempts = row if row else ("failed", "no result", 0)
    return Receipt(event_id=event["id"], event_type=event["type"], outcome=outcome, error=error, attempts=attempts)


async def receive(conn: psycopg.AsyncConnection, payload: bytes, event: dict[str, Any]) -> Receipt:
    """Store and apply a verified event (one statement: one transaction on an autocommit connection)."""
    cur = await conn.execute(event_receive_one, (payload.decode(),))
    return _receipt(event, await cur.fetchone())


def replay(conn: psycopg.Connection, event_id: str, *, force: bool = False) -> Receipt:
    """Apply a stored event again (`supakit billing replay`); raises psycopg's error for an unknown id."""
    row = conn.execute(event_replay_one, (event_id, force)).fetchone()
    event_type, = conn.execute("select type from internal.stripe_events where id = %s", (event_id,)).fetchone()
    return _receipt({"id": event_id, "type": event_type}, row)
