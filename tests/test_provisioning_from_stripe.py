"""Data flow 4 end to end: Stripe's events, signed and posted to the webhook edge function, change the
subscription; the subscription trigger queues provisioning; the saga (local provider) provisions; the owner's
completion e-mail is queued; the subscription's deletion tears it all down."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from tests.billing_world import build_world, edge_client, edge_settings
from tests.provisioning_helpers import emails, infra, run_saga, steps
from tests.stripe_events import event, signed

WEBHOOK = "/functions/v1/stripe-webhook"


def post(client, ev) -> str:
    payload, headers = signed(ev)
    answer = client.post(WEBHOOK, content=payload, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["outcome"]


def live_run(conn: psycopg.Connection, org, kind: str):
    return conn.execute("select id, status, reason, plan_id from public.provisioning_runs"
                        " where organization_id = %s and kind = %s order by created_at desc limit 1",
                        (org, kind)).fetchone()


def test_a_stripe_subscription_provisions_the_customer_and_its_deletion_tears_it_down(
        fresh_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SUPAKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPAKIT_PROVISIONING_PROVIDER", "local")
    for name in ("SUPAKIT_PROVISIONING_DIR", "SUPAKIT_MAILDIR", "SUPAKIT_PROVISIONING_STEP_DELAY_S"):
        monkeypatch.delenv(name, raising=False)
    world = build_world(fresh_db)
    base = int(time.time()) - 3600
    with edge_client(edge_settings(fresh_db)) as client, psycopg.connect(fresh_db, autocommit=True) as conn:
        assert post(client, event("checkout.session.completed", created=base + 1)) == "applied"
        assert live_run(conn, world.org, "provision") is None, "no subscription yet, nothing to provision"

        created = event("customer.subscription.created", created=base + 2)
        assert post(client, created) == "applied"
        assert post(client, created) == "duplicate", "Stripe delivers again"
        run_id, status, reason, plan = live_run(conn, world.org, "provision")
        assert (status, reason, plan) == ("pending", "subscription trialing", "pro")
        assert conn.execute("select count(*) from public.provisioning_runs where organization_id = %s",
                            (world.org,)).fetchone()[0] == 1

        assert run_saga(fresh_db, run_id).status == "succeeded"
        assert [s for _, s, _ in steps(conn, run_id)] == ["succeeded"] * 5
        assert infra(conn, world.org)["status"] == "active"
        assert [to for to, _ in emails(conn, world.org, "provisioning_complete")] == ["owner@acme.example"]

        assert post(client, event("customer.subscription.deleted", created=base + 6)) == "applied"
        teardown, status, reason, _ = live_run(conn, world.org, "deprovision")
        assert (status, reason) == ("pending", "subscription canceled")
        assert run_saga(fresh_db, teardown).status == "succeeded"
        assert infra(conn, world.org)["status"] == "deleted"
        assert not (tmp_path / "provisioning" / "customers" / str(world.org)).exists()
