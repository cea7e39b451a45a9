"""Stripe webhooks: verify the signature on the raw body, then store and apply the event in one SQL call.

Verification comes first and uses the official `stripe` library (`WebhookSignature.verify_header`, tolerance
300 s); nothing is stored for a request that fails it. The database does the rest in one transaction
(`internal.receive_stripe_event`, sql/0011): the event is stored once, applied with the out-of-order guard, and
a failure is recorded in the ledger (error, attempts) so the endpoint can answer 500 and Stripe retries.

A verified event PostgreSQL cannot store as it is (a `\u0000` escape, an unpaired surrogate: jsonb refuses both) is
stored with U+FFFD in their place, not applied, and recorded as failed (`internal.receive_unstorable_stripe_event`):
Stripe's retries could never succeed, so the endpoint answers 200 with outcome `unstorable`, and the operator sees it
in `supakit billing events --failed` and replays it once checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import psycopg
import stripe

from functions_py.errors import SupakitError

event_receive_one = "select outcome, error, attempts from internal.receive_stripe_event(%s::jsonb)"
event_receive_unstorable_one = """
select outcome, error, attempts from internal.receive_unstorable_stripe_event(%s::jsonb, %s)
"""

# The ledger's key (constraint id_is_an_event_id, sql/0011) and the range of `created` a timestamptz holds.
EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]+")
CREATED_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z
# What PostgreSQL's jsonb cannot hold: NUL, and surrogates (json.loads leaves only unpaired ones in a str).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The only escapes that can put one there (json.loads refuses raw control characters, and a raw surrogate is not
# UTF-8): \u0000 and \uD800-\uDFFF. Any other \u escape (an accented name sent as ASCII) needs no walk.
UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
event_replay_one = "select outcome, error, attempts from internal.replay_stripe_event(%s, %s)"


class WebhookRejected(SupakitError):
    """The request is not a verified Stripe event; nothing was stored. Check the endpoint's signing secret."""

    exit_code = 2

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class Receipt:
    """What the database did with an event: `outcome` is applied, stale, ignored, unmatched, duplicate, failed
    (then `error` says why) or unstorable (stored with replacements, not applied; `error` says what to do);
    `attempts` counts applications tried so far."""

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
        event = json.loads(payload, parse_constant=_not_json)
    except RecursionError:
        raise WebhookRejected("too_deeply_nested", "the body nests JSON deeper than the server parses (Stripe's "
                                                   "events nest a few levels)") from None
    except ValueError:
        raise WebhookRejected("malformed_json", "the body is not valid JSON") from None
    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and EVENT_ID.fullmatch(event["id"])
            and isinstance(event.get("type"), str) and isinstance(event.get("created"), int)
            and not isinstance(event["created"], bool) and 0 <= event["created"] <= CREATED_MAX
            and isinstance(event.get("livemode", False), bool)
            and isinstance(event.get("data"), dict) and isinstance(event["data"].get("object"), dict)):
        raise WebhookRejected("not_an_event", "the body is not a Stripe event (id evt_ and letters, digits or _, "
                                              "type, created in seconds since 1970, data.object)")
    return event


def _not_json(name: str) -> None:
    """json.loads accepts NaN and Infinity, which are not JSON (and which jsonb refuses)."""
    raise ValueError(f"{name} is not JSON")


def storable_copy(event: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """`event` with every character jsonb cannot hold (NUL, an unpaired surrogate) replaced by U+FFFD, in strings
    and keys, and how many were replaced. Iterative: the depth json.loads allows must not overflow the stack here."""
    replaced = 0

    def clean(text: str) -> str:
        nonlocal replaced
        text, count = UNSTORABLE.subn("\ufffd", text)
        replaced += count
        return text

    root: list[Any] = [event]
    todo: list[tuple[Any, Any]] = [(root, 0)]
    while todo:
        container, key = todo.pop()
        value = container[key]
        if isinstance(value, str):
            container[key] = clean(value)
        elif isinstance(value, list):
            copy = list(value)
            container[key] = copy
            todo.extend((copy, i) for i in range(len(copy)))
        elif isinstance(value, dict):
            copy = {clean(k): v for k, v in value.items()}
            container[key] = copy
            todo.extend((copy, k) for k in copy)
    return root[0], replaced


def _receipt(event: dict[str, Any], row: tuple | None) -> Receipt:
    outcome, error, attempts = row if row else ("failed", "no result", 0)
    return Receipt(event_id=event["id"], event_type=event["type"], outcome=outcome, error=error, attempts=attempts)


async def receive(conn: psycopg.AsyncConnection, payload: bytes, event: dict[str, Any]) -> Receipt:
    """Store and apply a verified event (one statement: one transaction on an autocommit connection). An event jsonb
    cannot hold is stored as storable_copy made it, recorded as failed and not applied: outcome `unstorable`."""
    if UNSTORABLE_ESCAPE.search(payload):  # NUL and unpaired surrogates can only arrive as these escapes
        copy, replaced = storable_copy(event)
        if replaced:
            problem = (f"the payload holds {replaced} character(s) PostgreSQL cannot store (\\u0000 or an unpaired "
                       "surrogate); it was stored with U+FFFD in their place and not applied: check the event in the "
                       f"Stripe Dashboard, then run `supakit billing replay {event['id']}`")
            cur = await conn.execute(event_receive_unstorable_one, (json.dumps(copy), problem))
            return _receipt(event, await cur.fetchone())
    cur = await conn.execute(event_receive_one, (payload.decode(),))
    return _receipt(event, await cur.fetchone())


def replay(conn: psycopg.Connection, event_id: str, *, force: bool = False) -> Receipt:
    """Apply a stored event again (`supakit billing replay`); raises psycopg's error for an unknown id."""
    row = conn.execute(event_replay_one, (event_id, force)).fetchone()
    event_type, = conn.execute("select type from internal.stripe_events where id = %s", (event_id,)).fetchone()
    return _receipt({"id": event_id, "type": event_type}, row)
