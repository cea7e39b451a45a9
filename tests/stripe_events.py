"""Recorded Stripe events (tests/fixtures/stripe/<event_type>.json) and real signatures over them.

The fixtures share one story: organization ORG (customer CUSTOMER) checks out the Pro plan, trials it, pays,
fails a payment, pays, and cancels. `event(type, **changes)` returns a fresh copy; `changes` may set top-level
fields (id, created) and `obj` entries are merged into data.object.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stripe"
ORG = "5d1f3c2a-8b4e-4f6a-9c7d-2e8b1a0f4c39"
CUSTOMER = "cus_TQx7LmB2vR9kZa"
SUBSCRIPTION = "sub_1SUo3ZJq8Kx2LmB2vR9kZaQ4"
PRO_MONTHLY = "price_1SUnzyJq8Kx2LmB2Pro0Mnth"
WEBHOOK_SECRET = "whsec_test_5b9d0c3e7a1f4e2b8c6d9a0e1f2b3c4d"


@cache
def _load(event_type: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{event_type}.json").read_text())


def event(event_type: str, *, obj: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """A copy of the recorded `event_type` event with `top` fields replaced and `obj` merged into data.object."""
    ev = copy.deepcopy(_load(event_type))
    ev.update(top)
    if obj:
        ev["data"]["object"].update(obj)
    return ev


def body(ev: dict[str, Any]) -> bytes:
    return json.dumps(ev).encode()


def signature(payload: bytes, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None) -> str:
    """A Stripe-Signature header as Stripe computes it: HMAC-SHA256 of "<t>.<payload>" with the endpoint secret."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signed(ev: dict[str, Any], secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None
           ) -> tuple[bytes, dict[str, str]]:
    """(body, headers) for posting `ev` as Stripe would."""
    payload = body(ev)
    return payload, {"stripe-signature": signature(payload, secret, timestamp=timestamp),
                     "content-type": "application/json; charset=utf-8", "user-agent": "Stripe/1.0"}
