"""Checkout and portal: the edge functions and the CLI drive the official `stripe` SDK against a local server
that speaks Stripe's API (tests/fakes/stripe_api.py); we assert what reaches Stripe, and who may ask."""

from __future__ import annotations

import json

import psycopg
import pytest

from functions_py.tokens import api_key, sign
from tests.billing_world import JWT_SECRET, STRIPE_KEY, build_world, edge_client, edge_settings
from tests.cli import run_cli
from tests.fakes.stripe_api import FakeStripeAPI
from tests.stripe_events import ORG, PRO_MONTHLY, event

CHECKOUT = "/functions/v1/billing-checkout"
PORTAL = "/functions/v1/billing-portal"


@pytest.fixture
def stripe_api():
    with FakeStripeAPI(api_key=STRIPE_KEY) as api:
        yield api


@pytest.fixture
def world(fresh_db):
    world = build_world(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("update public.plans set stripe_price_monthly = %s where id = 'pro'", (PRO_MONTHLY,))
        conn.execute("update public.plans set stripe_price_monthly = 'price_1TeamMonthly000000' where id = 'team'")
    return world


@pytest.fixture
def client(world, stripe_api):
    with edge_client(edge_settings(world.url, stripe_api=stripe_api.url)) as client:
        yield client


def test_an_owner_starts_checkout_and_stripe_gets_the_organization_plan_and_trial(world, client, stripe_api):
    response = client.post(CHECKOUT, headers=world.auth("owner"), json={
        "organization_id": ORG, "plan_id": "pro", "success_url": "https://app.example/ok",
        "cancel_url": "https://app.example/cancel"})
    assert response.status_code == 200, response.text
    assert response.json()["url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert response.headers["access-control-allow-origin"] == "*"

    created, = stripe_api.requests_to("POST", "/v1/customers")
    assert created.headers["idempotency-key"] == f"supakit-customer-{ORG}"
    assert created.headers["authorization"] == f"Bearer {STRIPE_KEY}"
    assert created.params == {"name": "Acme", "email": "owner@acme.example",
                              "metadata": {"organization_id": ORG, "organization_slug": "acme"}}
    customer = next(iter(stripe_api.customers))
    session, = stripe_api.requests_to("POST", "/v1/checkout/sessions")
    assert session.params == {
        "mode": "subscription", "customer": customer, "client_reference_id": ORG,
        "line_items": [{"price": PRO_MONTHLY, "quantity": "1"}],
        "success_url": "https://app.example/ok", "cancel_url": "https://app.example/cancel",
        "metadata": {"organization_id": ORG, "plan_id": "pro"},
        "subscription_data": {"metadata": {"organization_id": ORG, "plan_id": "pro"}, "trial_period_days": "14"},
    }
    with psycopg.connect(world.url) as conn:
        assert conn.execute("select stripe_customer_id from public.billing_customers").fetchall() == [(customer,)]


def test_the_customer_is_created_once_and_a_returning_organization_gets_no_second_trial(world, client, stripe_api):
    assert client.post(CHECKOUT, headers=world.auth("admin"), json={"organization_id": ORG, "plan_id": "pro"}
                       ).status_code == 200
    with psycopg.connect(world.url, autocommit=True) as conn:
        conn.execute("select internal.receive_stripe_event(%s::jsonb)",
                     (json.dumps(event("customer.subscription.deleted", obj={
                         "customer": next(iter(stripe_api.customers))})),))
    again = client.post(CHECKOUT, headers=world.auth("owner"), json={"organization_id": ORG, "plan_id": "team"})
    assert again.status_code == 200
    assert len(stripe_api.requests_to("POST", "/v1/customers")) == 1, "the organization's customer is reused"
    first, second = stripe_api.requests_to("POST", "/v1/checkout/sessions")
    assert first.params["subscription_data"]["trial_period_days"] == "14"
    assert "trial_period_days" not in second.params["subscription_data"], "one trial per organization"
    assert second.params["line_items"] == [{"price": "price_1TeamMonthly000000", "quantity": "1"}]
    assert first.params["success_url"] == "http://localhost:3000/billing?checkout=success"


def test_the_portal_opens_for_the_organizations_customer(world, client, stripe_api):
    refused = client.post(PORTAL, headers=world.auth("owner"), json={"organization_id": ORG})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_billing_account"
    client.post(CHECKOUT, headers=world.auth("owner"), json={"organization_id": ORG, "plan_id": "pro"})
    response = client.post(PORTAL, headers=world.auth("admin"),
                           json={"organization_id": ORG, "return_url": "https://app.example/settings"})
    assert response.status_code == 200, response.text
    assert response.json()["url"].startswith("https://billing.stripe.com/p/session/")
    portal, = stripe_api.requests_to("POST", "/v1/billing_portal/sessions")
    assert portal.params == {"customer": next(iter(stripe_api.customers)), "return_url": "https://app.example/settings"}


@pytest.mark.parametrize("path", [CHECKOUT, PORTAL])
def test_who_may_manage_billing(world, client, stripe_api, path):
    body = {"organization_id": ORG, "plan_id": "pro"}
    expired = sign({"sub": str(world.users["owner"]), "role": "authenticated", "exp": 1}, JWT_SECRET)
    forged = sign({"sub": str(world.users["owner"]), "role": "authenticated", "exp": 4102444800},
                  "another-secret-with-at-least-32-characters")
    cases = {
        "no token": ({}, 401),
        "not a bearer token": ({"authorization": "Basic b3duZXI6cGFzcw=="}, 401),
        "garbage": ({"authorization": "Bearer not-a-jwt"}, 401),
        "expired": ({"authorization": f"Bearer {expired}"}, 401),
        "forged": ({"authorization": f"Bearer {forged}"}, 401),
        "the anon key": ({"authorization": f"Bearer {api_key('anon', JWT_SECRET)}"}, 401),
        "a member": (world.auth("member"), 403),
        "a non-member": (world.auth("outsider"), 403),
    }
    for case, (headers, status) in cases.items():
        response = client.post(path, headers=headers, json=body)
        assert response.status_code == status, f"{case}: {response.text}"
        assert response.json()["error"]["code"] == ("unauthorized" if status == 401 else "forbidden")
        if case == "the anon key":
            assert response.json()["error"]["message"].startswith("the anon key is not a signed-in user: sign in")
    assert stripe_api.requests == [], "nothing reaches Stripe for a refused caller"


def test_bad_checkout_requests_name_the_problem(world, client, stripe_api):
    owner = world.auth("owner")
    cases = [
        ({"plan_id": "pro"}, 400, "organization_id is required"),
        ({"organization_id": ORG}, 400, "plan_id is required"),
        ({"organization_id": ORG, "plan_id": "gold"}, 400, "no plan 'gold'"),
        ({"organization_id": ORG, "plan_id": "free"}, 409, "no Stripe price"),
        ({"organization_id": ORG, "plan_id": "pro", "interval": "year"}, 409, "stripe_price_yearly"),
        ({"organization_id": ORG, "plan_id": "pro", "interval": "weekly"}, 400, "month or year"),
    ]
    for body, status, message in cases:
        response = client.post(CHECKOUT, headers=owner, json=body)
        assert response.status_code == status and message in response.json()["error"]["message"], response.text
    assert client.post(CHECKOUT, headers=owner, content=b"{not json").status_code == 400


def test_stripe_errors_answer_502_and_a_missing_key_503(world, client, stripe_api):
    stripe_api.fail_next(400, "No such price: 'price_1SUnzyJq8Kx2LmB2Pro0Mnth'", code="resource_missing")
    response = client.post(CHECKOUT, headers=world.auth("owner"), json={"organization_id": ORG, "plan_id": "pro"})
    assert response.status_code == 502
    assert "No such price" in response.json()["error"]["message"]
    with edge_client(edge_settings(world.url, stripe_api=stripe_api.url, secret_key=None)) as unconfigured:
        response = unconfigured.post(CHECKOUT, headers=world.auth("owner"),
                                     json={"organization_id": ORG, "plan_id": "pro"})
    assert response.status_code == 503 and "STRIPE_SECRET_KEY" in response.json()["error"]["message"]


def cli_env(world, stripe_api, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": world.url, "STRIPE_SECRET_KEY": STRIPE_KEY, "STRIPE_API_BASE": stripe_api.url, **extra}


def test_cli_checkout_portal_and_missing_key(world, stripe_api):
    done = run_cli("billing", "checkout", "--org", ORG, "--plan", "pro", "--json", env=cli_env(world, stripe_api))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["url"].startswith("https://checkout.stripe.com/")
    session, = stripe_api.requests_to("POST", "/v1/checkout/sessions")
    assert session.params["client_reference_id"] == ORG
    assert stripe_api.requests_to("POST", "/v1/customers")[0].params["email"] == "owner@acme.example"
    portal = run_cli("billing", "portal", "--org", ORG, env=cli_env(world, stripe_api))
    assert portal.returncode == 0 and portal.stdout.startswith("https://billing.stripe.com/"), portal.stderr
    unconfigured = run_cli("billing", "checkout", "--org", ORG, "--plan", "pro",
                           env={"DATABASE_URL": world.url, "STRIPE_API_BASE": stripe_api.url})
    assert unconfigured.returncode == 2 and "STRIPE_SECRET_KEY is not set" in unconfigured.stderr
    by_slug = run_cli("billing", "portal", "--org", "acme", "--json", env=cli_env(world, stripe_api))
    assert by_slug.returncode == 0, by_slug.stderr  # --org takes the slug as well as the id
    assert json.loads(by_slug.stdout)["url"].startswith("https://billing.stripe.com/")
    bad = run_cli("billing", "checkout", "--org", "no-such-org", "--plan", "pro", env=cli_env(world, stripe_api))
    assert bad.returncode == 2 and "no organization has that id or slug" in bad.stderr
    assert "acme" in bad.stderr and "Traceback" not in bad.stderr  # it names organizations that exist


def test_cli_sync_repairs_a_missed_webhook(world, stripe_api):
    run_cli("billing", "checkout", "--org", ORG, "--plan", "pro", env=cli_env(world, stripe_api))
    customer = next(iter(stripe_api.customers))
    missed = event("customer.subscription.updated")["data"]["object"] | {"customer": customer, "status": "active"}
    stripe_api.add_subscription(missed)
    done = run_cli("billing", "sync", "--json", env=cli_env(world, stripe_api))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"applied": 1}
    listed, = stripe_api.requests_to("GET", "/v1/subscriptions")
    assert listed.params == {"customer": customer, "status": "all", "limit": "100"}
    with psycopg.connect(world.url) as conn:
        assert conn.execute("select status, plan_id from public.subscriptions").fetchall() == [("active", "pro")]
        stale = event("customer.subscription.created", obj={"customer": customer})
        outcome, = conn.execute("select outcome from internal.receive_stripe_event(%s::jsonb)",
                                (json.dumps(stale),)).fetchone()
    assert outcome == "stale", "a webhook older than the sync changes nothing"


def test_cli_replay_applies_a_failed_event_after_the_fix(world):
    created = event("customer.subscription.created")
    created["data"]["object"]["items"]["data"][0]["price"] = {"id": "price_1NotYetMapped00000", "metadata": {}}
    created["data"]["object"]["metadata"] = {"organization_id": ORG}  # no plan_id to fall back on
    with psycopg.connect(world.url, autocommit=True) as conn:
        outcome, = conn.execute("select outcome from internal.receive_stripe_event(%s::jsonb)",
                                (json.dumps(created),)).fetchone()
        assert outcome == "failed"
        env = {"DATABASE_URL": world.url}
        again = run_cli("billing", "replay", created["id"], env=env)
        assert again.returncode == 1 and "belongs to no plan" in again.stdout
        failed = run_cli("billing", "events", "--failed", "--json", env=env)
        assert [(e["id"], e["attempts"]) for e in json.loads(failed.stdout)] == [(created["id"], 2)]
        conn.execute("update public.plans set stripe_price_monthly = 'price_1NotYetMapped00000' where id = 'team'")
        done = run_cli("billing", "replay", created["id"], "--json", env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) | {"error": None} == {"id": created["id"], "type": created["type"],
                                                             "outcome": "applied", "attempts": 3, "error": None}
        assert conn.execute("select plan_id from public.subscriptions").fetchall() == [("team",)]
    twice = run_cli("billing", "replay", created["id"], env=env)
    assert twice.returncode == 0 and "already processed" in twice.stderr
    unknown = run_cli("billing", "replay", "evt_1DoesNotExist", env=env)
    assert unknown.returncode == 1 and "no Stripe event" in unknown.stderr


def test_cli_prices_applies_price_ids_from_the_environment(world):
    env = {"DATABASE_URL": world.url, "STRIPE_PRICE_TEAM_YEARLY": "price_1TeamYearly0000000"}
    done = run_cli("billing", "prices", "--apply", "--json", env=env)
    assert done.returncode == 0, done.stderr
    team = next(p for p in json.loads(done.stdout) if p["id"] == "team")
    assert (team["stripe_price_monthly"], team["stripe_price_yearly"]) == ("price_1TeamMonthly000000",
                                                                          "price_1TeamYearly0000000")
    wrong = run_cli("billing", "prices", "--apply", env={**env, "STRIPE_PRICE_PRO_MONTHLY": "prod_123"})
    assert wrong.returncode == 2 and "is not a Stripe price id" in wrong.stderr
    nothing = run_cli("billing", "prices", "--apply", env={"DATABASE_URL": world.url})
    assert nothing.returncode == 2 and "no STRIPE_PRICE_" in nothing.stderr
