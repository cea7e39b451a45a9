"""Entitlements follow the subscription (internal.organization_plan, sql/0011): quota and queue priority change
as Stripe events arrive; past_due keeps access for 7 days; everything else is Free."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_user, rpc_as_user
from tests.stripe_events import event

DAY = 86400


@pytest.fixture
def org(db, make_user):
    """(org id, owner, outsider): a fresh organization with its own Stripe customer and subscription ids."""
    owner, outsider = make_user(), make_user()
    org_id, = db.execute("insert into public.organizations (name, slug) values ('Ent', %s) returning id",
                         (f"ent-{uuid.uuid4().hex[:8]}",)).fetchone()
    db.execute("insert into public.memberships values (%s, %s, 'owner')", (org_id, owner))
    return org_id, owner, outsider


def deliver(db, org_id, event_type: str, *, created: int, status: str | None = None, plan: str = "pro",
            invoice: dict | None = None) -> str:
    """Receive a recorded event re-addressed to this organization (its own customer and subscription ids)."""
    tag = str(org_id).replace("-", "")[:12]
    obj = {"customer": f"cus_{tag}"}
    if event_type.startswith("customer.subscription."):
        obj |= {"id": f"sub_{tag}", "metadata": {"organization_id": str(org_id), "plan_id": plan}}
        if status:
            obj["status"] = status
    else:
        obj |= invoice or {}
        obj["parent"] = {"type": "subscription_details", "subscription_details": {"subscription": f"sub_{tag}"}}
    ev = event(event_type, id=f"evt_{uuid.uuid4().hex}", created=created, obj=obj)
    if event_type.startswith("customer.subscription."):
        ev["data"]["object"]["items"]["data"][0]["price"]["metadata"] = {"plan_id": plan}
        ev["data"]["object"]["items"]["data"][0]["price"]["id"] = f"price_{plan}{tag}"
    outcome, error = db.execute("select outcome, error from internal.receive_stripe_event(%s::jsonb)",
                                (json.dumps(ev),)).fetchone()
    assert error is None, error
    return outcome


def entitlement(db, org_id):
    return db.execute("select plan_id, daily_generation_limit, queue_priority, source, subscription_status"
                      " from internal.organization_plan(%s)", (org_id,)).fetchone()


def request(db, user, org_id):
    # POST /rpc/request_generation as the client sends it (over quota: 429, raised as RequestError)
    return rpc_as_user(db, user, "request_generation", {"prompt": "Hello", "app_type": "generic",
                                                        "org_id": str(org_id)}).body["job_id"]


def test_the_quota_and_priority_follow_the_subscription(db, org):
    org_id, owner, _ = org
    now = int(time.time())
    for _ in range(5):
        request(db, owner, org_id)
    with pytest.raises(RequestError) as refused:
        request(db, owner, org_id)
    assert refused.value.status == 429 and "the Free plan allows 5" in refused.value.message

    deliver(db, org_id, "customer.subscription.created", created=now - 60, status="trialing")
    job = request(db, owner, org_id)
    assert db.execute("select priority from internal.jobs where id = %s", (job,)).fetchone() == (10,), \
        "Pro's queue priority"
    deliver(db, org_id, "customer.subscription.updated", created=now - 50, status="active", plan="team")
    assert entitlement(db, org_id) == ("team", None, 20, "subscription", "active")
    for _ in range(60):
        request(db, owner, org_id)  # Team: unlimited

    deliver(db, org_id, "customer.subscription.deleted", created=now - 40)
    with pytest.raises(RequestError) as refused:
        request(db, owner, org_id)
    assert refused.value.status == 429 and "the Free plan" in refused.value.message


@pytest.mark.parametrize(("failed_days_ago", "expected"), [
    (6, ("pro", 50, 10, "subscription", "past_due")),
    (8, ("free", 5, 0, "default", None)),
])
def test_past_due_keeps_the_plan_for_a_seven_day_grace_period(db, org, failed_days_ago, expected):
    org_id, _, _ = org
    failed_at = int(time.time()) - failed_days_ago * DAY
    deliver(db, org_id, "customer.subscription.created", created=failed_at - DAY, status="active")
    assert deliver(db, org_id, "invoice.payment_failed", created=failed_at,
                   invoice={"id": f"in_{uuid.uuid4().hex[:16]}"}) == "applied"
    assert entitlement(db, org_id) == expected
    until, = db.execute("select access_until from internal.organization_plan(%s)", (org_id,)).fetchone()
    if expected[3] == "subscription":
        assert abs(until.timestamp() - (failed_at + 7 * DAY)) < 1, "access ends 7 days after the failure"


@pytest.mark.parametrize("status", ["incomplete", "incomplete_expired", "unpaid", "paused", "canceled"])
def test_statuses_without_access_are_free(db, org, status):
    org_id, _, _ = org
    deliver(db, org_id, "customer.subscription.created", created=int(time.time()), status=status)
    assert entitlement(db, org_id) == ("free", 5, 0, "default", None)


def test_a_subscription_outranks_a_manual_assignment_which_outranks_free(db, org):
    org_id, _, _ = org
    db.execute("insert into internal.plan_assignments (organization_id, plan_id) values (%s, 'team')", (org_id,))
    assert entitlement(db, org_id)[:4] == ("team", None, 20, "assignment")
    deliver(db, org_id, "customer.subscription.created", created=int(time.time()), status="active")
    assert entitlement(db, org_id)[:4] == ("pro", 50, 10, "subscription")


def test_final_statuses_stay_final(db, org):
    org_id, _, _ = org
    now = int(time.time())
    deliver(db, org_id, "customer.subscription.deleted", created=now - 10)
    assert deliver(db, org_id, "customer.subscription.updated", created=now, status="active") == "stale", \
        "Stripe never revives a canceled subscription: a later 'active' is treated as out of order"
    with pytest.raises(Exception, match="is canceled \\(final\\) and cannot become active"):
        db.execute("update public.subscriptions set status = 'active' where organization_id = %s", (org_id,))


def test_members_read_their_entitlements_and_others_cannot(db, org):
    org_id, owner, outsider = org
    with as_user(db, owner, method="POST") as cur:
        row = cur.execute("select plan_id, features from public.organization_entitlements(%s)", (org_id,)).fetchone()
    assert row == ("free", ["generations"])
    with pytest.raises(RequestError) as refused, as_user(db, outsider, method="POST") as cur:
        cur.execute("select * from public.organization_entitlements(%s)", (org_id,))
    assert refused.value.status == 403


def test_members_may_join_their_organization_billing_topic_and_others_may_not(db, org):
    from tests.test_generations import can_join

    org_id, owner, outsider = org
    topic = f"org:{org_id}:billing"
    assert can_join(db, owner, topic) == {"read": True, "write": False}, \
        "members receive subscription changes; nobody but the database publishes there"
    assert can_join(db, outsider, topic) == {"read": False, "write": False}
    assert can_join(db, owner, f"org:{org_id}:jobs") == {"read": True, "write": False}, "the jobs topic still works"


def test_subscription_changes_are_broadcast_privately_without_stripe_internals(db, org):
    org_id, _, _ = org
    deliver(db, org_id, "customer.subscription.created", created=int(time.time()) - 10, status="trialing")
    deliver(db, org_id, "customer.subscription.updated", created=int(time.time()) - 5, status="trialing")
    messages = db.execute("select event, private, payload from realtime.messages where topic = %s order by"
                          " inserted_at", (f"org:{org_id}:billing",)).fetchall()
    assert [(event, private) for event, private, _ in messages] == [("INSERT", True)], \
        "an update that changes neither status, plan nor cancellation is not broadcast"
    record = messages[0][2]["record"]
    assert record["status"] == "trialing" and record["plan_id"] == "pro"
    assert "stripe_customer_id" not in record and "stripe_subscription_id" not in record
    assert db.execute("select count(*) from pg_publication_tables where pubname = 'supabase_realtime'"
                      " and tablename = 'subscriptions'").fetchone()[0] == 1
