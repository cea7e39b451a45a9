"""The Stripe webhook edge function, posted to as Stripe does: recorded payloads (tests/fixtures/stripe), signed
for real with the endpoint secret, through the ASGI app, against a real database."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.billing_world import build_world, edge_client, edge_settings
from tests.stripe_events import CUSTOMER, ORG, SUBSCRIPTION, WEBHOOK_SECRET, body, event, signed

WEBHOOK = "/functions/v1/stripe-webhook"
TRIAL_INVOICE = "in_1SUo3ZJq8Kx2LmB2Trial001"
CYCLE_INVOICE = "in_1SWy0ZJq8Kx2LmB2Cycle0001"


@pytest.fixture
def world(fresh_db):
    return build_world(fresh_db)


@pytest.fixture
def client(world):
    with edge_client(edge_settings(world.url)) as client:
        yield client


def post(client, ev, **sign):
    payload, headers = signed(ev, **sign)
    return client.post(WEBHOOK, content=payload, headers=headers)


def one(url: str, query: str, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(query, args).fetchone()


def rows(url: str, query: str, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(query, args).fetchall()


def subscription(url: str):
    return one(url, "select status, plan_id, past_due_since is not null, cancel_at_period_end"
                    " from public.subscriptions where stripe_subscription_id = %s", SUBSCRIPTION)


def plan(url: str):
    return one(url, "select plan_id, source, subscription_status from internal.organization_plan(%s)", ORG)


def invoices(url: str):
    return dict(rows(url, "select stripe_invoice_id, status from public.invoices where organization_id = %s", ORG))


def ledger(url: str):
    return rows(url, "select id, type, outcome, attempts, error is not null from internal.stripe_events order by id")


def emails(url: str):
    return rows(url, "select to_address, template, data ->> 'invoice_id' from internal.outbox_emails"
                     " where template = 'payment_failed' order by to_address")


def broadcasts(url: str):
    return [r[0] for r in rows(url, "select payload -> 'record' ->> 'status' from realtime.messages"
                                    " where topic = %s order by inserted_at, id", f"org:{ORG}:billing")]


def lifecycle(base: int) -> list[dict]:
    """checkout completed → subscription created (trialing) → trial invoice paid → renewal payment failed →
    renewal paid → subscription canceled, one second apart from `base`."""
    return [
        event("checkout.session.completed", created=base + 1),
        event("customer.subscription.created", created=base + 2),
        event("invoice.paid", id="evt_1SUo3bJq8Kx2LmB2TrialPd1", created=base + 3,
              obj={"id": TRIAL_INVOICE, "amount_due": 0, "amount_paid": 0, "billing_reason": "subscription_create",
                   "number": "7F3A91C2-0001"}),
        event("invoice.payment_failed", created=base + 4),
        event("invoice.paid", created=base + 5),
        event("customer.subscription.deleted", created=base + 6),
    ]


def test_the_full_lifecycle_changes_the_database_step_by_step(world, client):
    url = world.url
    checkout, created, trial_paid, failed, paid, deleted = lifecycle(int(time.time()) - 3600)

    response = post(client, checkout)
    assert response.status_code == 200 and response.json()["outcome"] == "applied", response.text
    assert one(url, "select organization_id::text, email from public.billing_customers where stripe_customer_id = %s",
               CUSTOMER) == (ORG, "owner@acme.example"), "checkout links the Stripe customer to the organization"
    assert subscription(url) is None and plan(url) == ("free", "default", None)

    assert post(client, created).json()["outcome"] == "applied"
    assert subscription(url) == ("trialing", "pro", False, False)
    assert plan(url) == ("pro", "subscription", "trialing"), "a trial gives the plan"

    assert post(client, trial_paid).json()["outcome"] == "applied"
    assert invoices(url) == {TRIAL_INVOICE: "paid"}
    assert subscription(url)[0] == "trialing", "paying the $0 trial invoice does not end the trial"

    assert post(client, failed).json()["outcome"] == "applied"
    assert subscription(url) == ("past_due", "pro", True, False)
    assert invoices(url)[CYCLE_INVOICE] == "open"
    assert plan(url) == ("pro", "subscription", "past_due"), "past_due keeps the plan during the grace period"
    assert emails(url) == [("owner@acme.example", "payment_failed", CYCLE_INVOICE)], "only owners are told"

    assert post(client, paid).json()["outcome"] == "applied"
    assert subscription(url) == ("active", "pro", False, False)
    assert invoices(url) == {TRIAL_INVOICE: "paid", CYCLE_INVOICE: "paid"}

    assert post(client, deleted).json()["outcome"] == "applied"
    assert subscription(url)[0] == "canceled"
    assert plan(url) == ("free", "default", None), "a canceled subscription drops the organization to Free"

    delivered = (checkout, created, trial_paid, failed, paid, deleted)
    assert sorted(e["id"] for e in delivered) == [r[0] for r in ledger(url)], "each event stored once"
    assert all(outcome == "applied" and attempts == 1 for _, _, outcome, attempts, _ in ledger(url))
    assert broadcasts(url) == ["trialing", "past_due", "active", "canceled"], \
        "each status change reaches the organization's private billing topic once"


def test_the_same_event_delivered_ten_times_is_applied_once(world, client):
    created = event("customer.subscription.created", created=int(time.time()) - 60)
    failed = event("invoice.payment_failed", created=int(time.time()) - 30)
    answers = [post(client, created) for _ in range(10)] + [post(client, failed) for _ in range(10)]
    assert [r.status_code for r in answers] == [200] * 20
    assert [r.json()["outcome"] for r in answers] == (["applied"] + ["duplicate"] * 9) * 2
    assert [(t, o, a) for _, t, o, a, _ in ledger(world.url)] == [
        ("customer.subscription.created", "applied", 1), ("invoice.payment_failed", "applied", 1)]
    assert one(world.url, "select count(*) from public.subscriptions")[0] == 1
    assert one(world.url, "select count(*) from public.invoices")[0] == 1
    assert len(emails(world.url)) == 1, "one payment-failed e-mail per invoice, however often Stripe delivers"
    # (the organization's welcome e-mail, sql/0012, has its own email.send job: count the payment-failed ones)
    assert one(world.url, "select count(*) from internal.jobs as j join internal.outbox_emails as e"
                          " on e.job_id = j.id where e.template = 'payment_failed'")[0] == 1
    assert broadcasts(world.url) == ["trialing", "past_due"]


RECEIVE = "select outcome, attempts from internal.receive_stripe_event(%s::jsonb)"


def test_a_delivery_racing_a_new_events_first_waits_for_it_and_answers_duplicate(world):
    # sql/0028: a new event is applied, then stored once; deliveries of one id serialise on its advisory lock
    ev = event("customer.subscription.created", created=int(time.time()) - 60)
    answers = {}
    with psycopg.connect(world.url) as first:  # holds its transaction open: applied, stored, not committed
        assert first.execute(RECEIVE, (body(ev).decode(),)).fetchone() == ("applied", 1)

        def second() -> None:
            with psycopg.connect(world.url, autocommit=True) as conn:
                answers["second"] = conn.execute(RECEIVE, (body(ev).decode(),)).fetchone()

        racer = threading.Thread(target=second)
        racer.start()
        deadline = time.monotonic() + 10
        while not one(world.url, "select exists (select from pg_locks where locktype = 'advisory' and not granted)")[0]:
            assert time.monotonic() < deadline and racer.is_alive(), "the second delivery did not wait for the first"
            time.sleep(0.02)
        first.commit()
    racer.join(10)
    assert answers["second"] == ("duplicate", 1), "the second delivery saw the first one's committed ledger row"
    assert [(t, o, a) for _, t, o, a, _ in ledger(world.url)] == [("customer.subscription.created", "applied", 1)]
    assert broadcasts(world.url) == ["trialing"], "applied once"


def test_events_delivered_in_reverse_order_end_in_the_same_state(world, client):
    events = lifecycle(int(time.time()) - 3600)
    outcomes = [post(client, ev).json()["outcome"] for ev in reversed(events)]
    # deleted first: the subscription is created as canceled (its metadata names the organization); the older
    # subscription and invoice events then change nothing; the renewal invoice's older failure is stale.
    assert outcomes == ["applied", "applied", "stale", "applied", "stale", "applied"]
    assert subscription(world.url) == ("canceled", "pro", False, False)
    assert invoices(world.url) == {TRIAL_INVOICE: "paid", CYCLE_INVOICE: "paid"}
    assert plan(world.url) == ("free", "default", None)
    assert emails(world.url) == [], "a failure older than the payment that followed it sends no e-mail"
    assert one(world.url, "select count(*) from public.billing_customers")[0] == 1
    assert len(ledger(world.url)) == 6 and all(outcome for _, _, outcome, _, _ in ledger(world.url)), \
        "every event is stored and processed, none lost"


@pytest.mark.parametrize(("case", "code"), [
    ("bad signature", "bad_signature"),
    ("stale timestamp", "stale_timestamp"),
    ("missing header", "missing_signature"),
    ("non-JSON body", "malformed_json"),
    ("not an event", "not_an_event"),
])
def test_requests_that_are_not_verified_events_are_refused_and_nothing_is_stored(world, client, case, code):
    ev = event("customer.subscription.created")
    payload, headers = signed(ev)
    if case == "bad signature":
        payload, headers = signed(ev, secret="whsec_someone_elses_secret")
    elif case == "stale timestamp":
        payload, headers = signed(ev, timestamp=int(time.time()) - 301)
    elif case == "missing header":
        del headers["stripe-signature"]
    elif case == "non-JSON body":
        payload = b"id=evt_1&type=customer.subscription.created"
        headers = signed(ev)[1] | {"stripe-signature": signed_raw(payload)}
    elif case == "not an event":
        payload = body({"id": "cus_123", "object": "customer"})
        headers = headers | {"stripe-signature": signed_raw(payload)}
    response = client.post(WEBHOOK, content=payload, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert ledger(world.url) == [] and subscription(world.url) is None


def signed_raw(payload: bytes) -> str:
    from tests.stripe_events import signature

    return signature(payload, WEBHOOK_SECRET)


def test_a_signature_just_inside_the_tolerance_is_accepted(world, client):
    response = post(client, event("customer.subscription.created"), timestamp=int(time.time()) - 290)
    assert response.status_code == 200


def test_unknown_event_types_are_stored_and_acknowledged(world, client):
    response = post(client, event("payment_intent.succeeded"))
    assert response.status_code == 200
    assert response.json() == {"received": True, "id": "evt_3SWy1yJq8Kx2LmB21PaySucc",
                               "type": "payment_intent.succeeded", "outcome": "ignored", "attempts": 1}
    made_up = event("payment_intent.succeeded", id="evt_1MadeUpTypeZZ", type="some.future.event_type")
    assert post(client, made_up).json()["outcome"] == "ignored"
    assert [(t, o) for _, t, o, _, _ in ledger(world.url)] == [
        ("some.future.event_type", "ignored"), ("payment_intent.succeeded", "ignored")]


def test_an_event_for_an_unknown_customer_is_stored_unmatched(world, client):
    stranger = event("customer.subscription.created", obj={"customer": "cus_SomeoneElse01", "metadata": {}})
    response = post(client, stranger)
    assert response.status_code == 200 and response.json()["outcome"] == "unmatched"
    assert subscription(world.url) is None, "nothing is attributed to an organization by guesswork"
    stored, = rows(world.url, "select payload -> 'data' -> 'object' ->> 'customer', processed_at is not null"
                              " from internal.stripe_events")
    assert stored == ("cus_SomeoneElse01", True), "the payload is kept: replayable once the customer is linked"


def test_a_handler_error_answers_500_records_it_and_succeeds_on_redelivery(world, client):
    unknown_price = {"id": "price_1Unknown0000000000000", "object": "price", "metadata": {},
                     "recurring": {"interval": "month"}}
    created = event("customer.subscription.created")
    created["data"]["object"]["items"]["data"][0]["price"] = unknown_price
    created["data"]["object"]["metadata"] = {"organization_id": ORG}
    first, second = post(client, created), post(client, created)
    assert (first.status_code, second.status_code) == (500, 500), "Stripe retries a 5xx"
    assert first.json()["error"]["code"] == "handler_failed"
    assert "price_1Unknown0000000000000" in first.json()["error"]["message"]
    assert (first.json()["error"]["attempts"], second.json()["error"]["attempts"]) == (1, 2)
    assert ledger(world.url) == [(created["id"], created["type"], None, 2, True)]
    assert subscription(world.url) is None, "the failed application left nothing behind"

    with psycopg.connect(world.url, autocommit=True) as conn:
        conn.execute("update public.plans set stripe_price_monthly = 'price_1Unknown0000000000000' where id = 'team'")
    third = post(client, created)
    assert third.status_code == 200 and third.json() == {**third.json(), "outcome": "applied", "attempts": 3}
    assert subscription(world.url)[:2] == ("trialing", "team")
    assert ledger(world.url) == [(created["id"], created["type"], "applied", 3, False)]


def test_customer_deleted_ends_its_subscriptions(world, client):
    base = int(time.time()) - 600
    for ev in lifecycle(base)[:2]:
        post(client, ev)
    response = post(client, event("customer.deleted", created=base + 10))
    assert response.json()["outcome"] == "applied"
    assert one(world.url, "select deleted_at is not null from public.billing_customers")[0] is True
    assert subscription(world.url)[0] == "canceled"
    assert plan(world.url)[0] == "free"


def test_price_and_product_events_keep_the_plans_current(world, client):
    assert post(client, event("product.updated")).json()["outcome"] == "applied"
    assert post(client, event("price.created")).json()["outcome"] == "applied"
    assert one(world.url, "select stripe_product_id, stripe_price_yearly, yearly_price_cents from public.plans"
                          " where id = 'pro'") == ("prod_TQx3Pr0PlanAbC", "price_1SUo0aJq8Kx2LmB2Pro0Yrly", 10000)
    archived = event("price.created", id="evt_1SUo1aJq8Kx2LmB2PriceArch", type="price.updated",
                     created=event("price.created")["created"] + 100, obj={"active": False})
    assert post(client, archived).json()["outcome"] == "applied"
    assert one(world.url, "select stripe_price_yearly from public.plans where id = 'pro'") == (None,)
    stray = event("product.updated", id="evt_1SUo1bJq8Kx2LmB2Stray", obj={"id": "prod_Other", "metadata": {}})
    assert post(client, stray).json()["outcome"] == "ignored", "products of no plan are left alone"


def test_without_a_webhook_secret_the_endpoint_answers_503_and_stores_nothing(world):
    with edge_client(edge_settings(world.url, webhook_secret=None)) as client:
        response = post(client, event("customer.subscription.created"))
    assert response.status_code == 503
    assert "STRIPE_WEBHOOK_SECRET" in response.json()["error"]["message"]
    assert ledger(world.url) == []


def test_functions_answer_cors_preflights_and_unknown_names_404(client):
    preflight = client.options("/functions/v1/billing-checkout", headers={
        "origin": "http://localhost:3000", "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, x-client-info, apikey, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    assert client.post("/functions/v1/no-such-function").status_code == 404
    assert client.get(WEBHOOK).status_code == 405
    assert client.get("/functions/v1/").json() == {
        "functions": ["billing-checkout", "billing-portal", "stripe-webhook", "twilio-webhook"]}


@pytest.mark.slow
def test_supakit_serve_runs_the_app_on_its_port(world):
    import os
    import socket
    import subprocess
    import sys

    import httpx

    from functions_py.embedded import free_port
    from tests.cli import ROOT

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "SUPAKIT_"))}
    env |= {"DATABASE_URL": world.url, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "SUPAKIT_API_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "supakit serve did not start"
                time.sleep(0.1)
        payload, headers = signed(event("customer.subscription.created"))
        response = httpx.post(f"http://127.0.0.1:{port}{WEBHOOK}", content=payload, headers=headers)
        assert response.status_code == 200 and response.json()["outcome"] == "applied"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says what stopped it
    assert server.returncode in (0, -15) and "Application shutdown complete" in stderr, stderr
    assert "STRIPE_SECRET_KEY is not set" in stderr, "serve warns about the missing key"
    assert WEBHOOK_SECRET not in stderr, "secrets are never logged"
    assert subscription(world.url)[0] == "trialing"
