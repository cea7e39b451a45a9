"""SMS and WhatsApp channels and AI-suggested replies (sql/0023, policies/channels.sql, functions_py/channels,
functions_py/handlers/channels.py, the twilio-webhook edge function; docs/channels.md).

The official `twilio` SDK talks to a local server speaking Twilio's Messages API (tests/fakes/twilio_api.py); the
webhook is called over real HTTP through the gateway with requests signed by the SDK's own RequestValidator; the
`anthropic` SDK talks to tests/fakes/anthropic_messages.py. User actions go through the PostgREST protocol
(functions_py.postgrest)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
import psycopg_pool
import pytest
from twilio.request_validator import RequestValidator

from functions_py.errors import RequestError
from functions_py.handlers import channels as channel_jobs
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError
from functions_py.postgrest import as_user, rpc_as_user
from tests.api_harness import running_api
from tests.fakes.anthropic_messages import FakeMessagesAPI
from tests.fakes.twilio_api import FakeTwilioAPI

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
SENDER = "+15550000001"
CUSTOMER = "+15557654321"
ROLES = ("owner", "admin", "manager", "member", "assistant", "client")


@dataclass
class Shop:
    url: str
    org: uuid.UUID
    people: dict[str, uuid.UUID]


def _user(conn: psycopg.Connection, name: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    conn.execute(
        "insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,"
        " email_confirmed_at, created_at, updated_at) values ('00000000-0000-0000-0000-000000000000', %s,"
        " 'authenticated', 'authenticated', %s, '{}', '{}', now(), now(), now())",
        (user_id, f"{name}-{user_id.hex[:8]}@example.com"))
    return user_id


def make_shop(url: str, plan: str | None = "team", sender: str = SENDER) -> Shop:
    """An organization with one user per role, an outsider in another organization, a Twilio number, committed."""
    with psycopg.connect(url, autocommit=True) as conn:
        people = {role: _user(conn, role) for role in (*ROLES, "outsider")}
        tag = uuid.uuid4().hex[:8]
        org, = conn.execute("insert into public.organizations (name, slug) values ('Bakery', %s) returning id",
                            (f"bakery-{tag}",)).fetchone()
        other, = conn.execute("insert into public.organizations (name, slug) values ('Other', %s) returning id",
                              (f"other-{tag}",)).fetchone()
        for role in ROLES:
            conn.execute("insert into public.memberships values (%s, %s, %s)", (org, people[role], role))
        conn.execute("insert into public.memberships values (%s, %s, 'owner')", (other, people["outsider"]))
        if plan:
            conn.execute("insert into internal.plan_assignments (organization_id, plan_id) values (%s, %s)",
                         (org, plan))
        conn.execute("insert into public.channel_senders (organization_id, channel, address) values"
                     " (%s, 'sms', %s), (%s, 'whatsapp', %s)", (org, sender, org, sender))
    return Shop(url, org, people)


def act(url: str, user: uuid.UUID, query: str, params: tuple = (), method: str = "POST") -> list[tuple]:
    """One PostgREST request as `user`, committed: the rows it returns."""
    with psycopg.connect(url) as conn:
        with as_user(conn, user, method=method) as cur:
            cur.execute(query, params)
            rows = cur.fetchall() if cur.description else []
        conn.commit()
    return rows


def bound_conversation(shop: Shop, channel: str = "sms") -> uuid.UUID:
    """A support conversation started by the manager (with the member and the client), bound to the customer."""
    (conversation,), = act(shop.url, shop.people["manager"], "insert into public.conversations (organization_id,"
                           " kind, title) values (%s, 'support', 'Order 42') returning id", (shop.org,))
    for who in ("member", "client"):
        act(shop.url, shop.people["manager"], "insert into public.conversation_participants (conversation_id,"
            " user_id) values (%s, %s)", (conversation, shop.people[who]))
    act(shop.url, shop.people["manager"], "select public.bind_channel_contact(%s, %s, %s, 'Ada')",
        (conversation, channel, CUSTOMER))
    return conversation


def post(shop: Shop, who: str, conversation: uuid.UUID, body: str = "Your order is ready") -> uuid.UUID:
    (message_id,), = act(shop.url, shop.people[who], "insert into public.messages (conversation_id, body)"
                         " values (%s, %s) returning id", (conversation, body))
    return message_id


def delivery(url: str, message_id: uuid.UUID) -> dict[str, Any] | None:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute("select * from public.message_deliveries where message_id = %s", (message_id,)).fetchone()


def run_job(url: str, kind: str, payload: dict[str, Any], attempts: int = 1, max_attempts: int = 8) -> dict:
    """Run a channel job's handler as the worker would, on a pool of its own."""

    async def main() -> dict:
        async with psycopg_pool.AsyncConnectionPool(url, min_size=1, max_size=2, open=False,
                                                    kwargs={"autocommit": True}) as pool:
            handler = channel_jobs.send_message if kind == "channel.send" else channel_jobs.suggest_reply
            return await handler(Job(id=1, kind=kind, payload=payload, attempts=attempts,
                                     max_attempts=max_attempts), JobContext(pool=pool, worker="test"))

    return asyncio.run(main())


@pytest.fixture
def twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilioAPI]:
    with FakeTwilioAPI(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as api:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        monkeypatch.setenv("TWILIO_API_BASE", api.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.delenv("SUPAKIT_TWILIO_WEBHOOK_URL", raising=False)
        yield api


@pytest.fixture
def shop(fresh_db) -> Shop:
    return make_shop(fresh_db)


# -- outbound ------------------------------------------------------------------------------------------------


def test_a_member_posting_in_a_bound_conversation_queues_one_delivery_and_its_job(shop):
    conversation = bound_conversation(shop)
    message_id = post(shop, "member", conversation)
    row = delivery(shop.url, message_id)
    assert row["direction"] == "outbound" and row["status"] == "queued" and row["channel"] == "sms"
    with psycopg.connect(shop.url) as conn:
        jobs = conn.execute("select kind, payload ->> 'message_id', max_attempts from internal.jobs"
                            " where kind = 'channel.send'").fetchall()
    assert jobs == [("channel.send", str(message_id), 8)], "one job per message, idempotent by its id"
    unbound = act(shop.url, shop.people["manager"], "insert into public.conversations (organization_id, title)"
                  " values (%s, 'In-app only') returning id", (shop.org,))[0][0]
    assert delivery(shop.url, post(shop, "manager", unbound)) is None, "in-app conversations send nothing out"


def test_the_send_job_hands_the_message_to_twilio_once_and_records_its_sid(shop, twilio):
    conversation = bound_conversation(shop)
    message_id = post(shop, "member", conversation, "Fresh bread at 8")
    result = run_job(shop.url, "channel.send", {"message_id": str(message_id)})
    assert result["status"] == "queued" and result["sid"].startswith("SM")
    sent, = twilio.requests
    assert sent.form["To"] == CUSTOMER and sent.form["From"] == SENDER and sent.form["Body"] == "Fresh bread at 8"
    assert delivery(shop.url, message_id)["twilio_sid"] == result["sid"]
    again = run_job(shop.url, "channel.send", {"message_id": str(message_id)}, attempts=2)
    assert "skipped" in again and len(twilio.requests) == 1, "a redelivered job does not send twice"


def test_whatsapp_addresses_carry_twilios_prefix(shop, twilio):
    conversation = bound_conversation(shop, "whatsapp")
    run_job(shop.url, "channel.send", {"message_id": str(post(shop, "manager", conversation))})
    assert twilio.requests[0].form["To"] == f"whatsapp:{CUSTOMER}"
    assert twilio.requests[0].form["From"] == f"whatsapp:{SENDER}"


def test_a_refusal_twilio_will_repeat_fails_the_delivery_at_once_for_the_sender_to_see(shop, twilio):
    conversation = bound_conversation(shop)
    message_id = post(shop, "member", conversation)
    twilio.reply_error(400, 21211, "Invalid 'To' Phone Number: +15557654321")
    with pytest.raises(PermanentJobError, match="21211"):
        run_job(shop.url, "channel.send", {"message_id": str(message_id)})
    row = delivery(shop.url, message_id)
    assert (row["status"], row["error_code"]) == ("failed", "21211")
    seen = act(shop.url, shop.people["member"], "select status, error_code from public.message_deliveries"
               " where message_id = %s", (message_id,), method="GET")
    assert seen == [("failed", "21211")], "the sender sees the failure"


def test_an_outage_is_retried_and_the_last_attempt_fails_the_delivery(shop, twilio):
    conversation = bound_conversation(shop)
    message_id = post(shop, "member", conversation)
    twilio.reply_error(503, 20500, "Service unavailable")
    with pytest.raises(RetryableJobError):
        run_job(shop.url, "channel.send", {"message_id": str(message_id)})
    assert delivery(shop.url, message_id)["status"] == "queued", "a retry may still deliver it"
    with psycopg.connect(shop.url, autocommit=True) as conn:  # the worker's last attempt fails the job
        job = conn.execute("select (internal.claim_jobs('w', 10, '{channel.send}')).*").fetchone()
        token = job[[d.name for d in conn.execute("select * from internal.jobs limit 0").description].index(
            "lease_token")]
        conn.execute("update internal.jobs set attempts = max_attempts where id = %s", (job[0],))
        conn.execute("select internal.fail_job(%s, %s, 'Twilio could not be reached', true)", (job[0], token))
    row = delivery(shop.url, message_id)
    assert row["status"] == "failed" and "could not be reached" in row["error_message"]


def test_plans_decide_whether_and_how_much_members_may_send(fresh_db):
    free = make_shop(fresh_db, plan=None)
    conversation = bound_conversation(free)
    with pytest.raises(RequestError) as refused:
        post(free, "member", conversation)
    assert refused.value.status == 403 and "does not include SMS and WhatsApp" in refused.value.message
    pro = make_shop(fresh_db, plan="pro", sender="+15550000002")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("update public.plans set channel_messages_monthly_limit = 1 where id = 'pro'")
    conversation = bound_conversation(pro)
    post(pro, "member", conversation)
    with pytest.raises(RequestError) as limited:
        post(pro, "member", conversation)
    assert limited.value.status == 429 and "monthly limit reached" in limited.value.message
    with psycopg.connect(fresh_db) as conn:
        count = conn.execute("select count(*) from public.messages where conversation_id = %s",
                             (conversation,)).fetchone()[0]
    assert count == 1, "a refused message is not stored"


# -- the webhook ---------------------------------------------------------------------------------------------


@pytest.fixture
def api(shop, twilio):
    with running_api(shop.url) as running:
        yield running


def signed(api, params: dict[str, str], token: str = AUTH_TOKEN) -> tuple[str, dict[str, str]]:
    url = f"{api.url}/functions/v1/twilio-webhook"
    signature = RequestValidator(token).compute_signature(url, params)
    return url, {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}


def inbound(body: str = "Is my order ready?", sid: str | None = None, sender: str = CUSTOMER,
            **extra: str) -> dict[str, str]:
    return {"MessageSid": sid or "SM" + uuid.uuid4().hex, "AccountSid": ACCOUNT_SID, "From": sender, "To": SENDER,
            "Body": body, "NumMedia": "0", "SmsStatus": "received", "MessageStatus": "received", **extra}


def call(api, params: dict[str, str], token: str = AUTH_TOKEN) -> httpx.Response:
    url, headers = signed(api, params, token)
    return httpx.post(url, content=urlencode(params), headers=headers)


def count(url: str, query: str, params: tuple = ()) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_an_inbound_message_opens_a_support_conversation_for_the_team(api, shop):
    answer = call(api, inbound(ProfileName="Ada", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1",
                               MediaContentType0="image/jpeg"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml") and "<Response></Response>" in answer.text
    with psycopg.connect(shop.url) as conn:
        conversation, title, kind = conn.execute(
            "select c.id, c.title, c.kind from public.channel_contacts as k join public.conversations as c"
            " on c.id = k.conversation_id where k.address = %s", (CUSTOMER,)).fetchone()
        participants = {row[0] for row in conn.execute(
            "select user_id from public.conversation_participants where conversation_id = %s", (conversation,))}
        body, media = conn.execute(
            "select m.body, d.media from public.messages as m join public.message_deliveries as d"
            " on d.message_id = m.id where m.conversation_id = %s", (conversation,)).fetchone()
    assert (title, kind) == ("Ada (sms)", "support")
    assert participants == {shop.people[r] for r in ("owner", "admin", "manager")}
    assert body == "Is my order ready?"
    assert media == [{"url": "https://api.twilio.com/media/ME1", "content_type": "image/jpeg"}]


def test_forged_missing_and_foreign_signatures_are_refused_before_anything_is_stored(api, shop):
    params = inbound()
    for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}):
        answer = httpx.post(f"{api.url}/functions/v1/twilio-webhook", content=urlencode(params),
                            headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
        assert answer.status_code == 403, headers
    assert call(api, params, token="another-accounts-token-0123456789").status_code == 403
    tampered_url, headers = signed(api, params)
    assert httpx.post(tampered_url, content=urlencode({**params, "Body": "changed"}), headers=headers).status_code \
        == 403, "the signature covers every parameter"
    assert count(shop.url, "select count(*) from public.message_deliveries") == 0


def test_duplicates_and_replays_store_a_message_once(api, shop):
    params = inbound(sid="SM" + "a" * 32)
    results = []

    def send() -> None:
        results.append(call(api, params).status_code)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 12
    assert count(shop.url, "select count(*) from public.message_deliveries where twilio_sid = %s",
                 (params["MessageSid"],)) == 1
    assert count(shop.url, "select count(*) from public.messages") == 1
    assert count(shop.url, "select count(*) from public.conversations") == 1, "one conversation per new contact"


def test_status_callbacks_only_move_a_delivery_forward(api, shop):
    conversation = bound_conversation(shop)
    message_id = post(shop, "member", conversation)
    run_job(shop.url, "channel.send", {"message_id": str(message_id)})
    sid = delivery(shop.url, message_id)["twilio_sid"]

    def status(value: str, **extra: str) -> None:
        answer = call(api, {"MessageSid": sid, "AccountSid": ACCOUNT_SID, "MessageStatus": value,
                            "SmsStatus": value, "To": CUSTOMER, "From": SENDER, **extra})
        assert answer.status_code == 200

    status("delivered")
    status("sent")  # late
    status("delivered")  # repeated
    assert delivery(shop.url, message_id)["status"] == "delivered"
    status("failed", ErrorCode="30003")  # a terminal status after delivery changes nothing either
    assert delivery(shop.url, message_id)["status"] == "delivered"
    unknown = call(api, {"MessageSid": "SM" + "f" * 32, "MessageStatus": "sent", "AccountSid": ACCOUNT_SID})
    assert unknown.status_code == 200, "a callback for a message we never sent is acknowledged, not retried"


def test_a_failed_delivery_callback_records_twilios_error(api, shop):
    conversation = bound_conversation(shop)
    message_id = post(shop, "member", conversation)
    run_job(shop.url, "channel.send", {"message_id": str(message_id)})
    sid = delivery(shop.url, message_id)["twilio_sid"]
    call(api, {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30005",
               "ErrorMessage": "Unknown destination handset", "AccountSid": ACCOUNT_SID})
    row = delivery(shop.url, message_id)
    assert (row["status"], row["error_code"]) == ("undelivered", "30005")


def test_stop_opts_the_contact_out_and_start_back_in(api, shop):
    conversation = bound_conversation(shop)
    assert call(api, inbound("STOP")).status_code == 200
    with pytest.raises(RequestError) as refused:
        post(shop, "member", conversation)
    assert refused.value.status == 400 and "opted out" in refused.value.message
    assert call(api, inbound(" start ")).status_code == 200
    post(shop, "member", conversation)


def test_a_message_to_a_number_no_organization_owns_is_kept_for_operators(api, shop):
    params = {**inbound(), "To": "+15559999999"}
    assert call(api, params).status_code == 200
    assert count(shop.url, "select count(*) from internal.channel_unrouted") == 1
    assert count(shop.url, "select count(*) from public.messages") == 0


def test_signed_requests_we_cannot_use_are_400_and_oversized_bodies_413(api):
    assert call(api, {"MessageSid": "not-a-sid", "Body": "x"}).status_code == 400
    assert call(api, {**inbound(), "From": "bob"}).status_code == 400
    big = httpx.post(f"{api.url}/functions/v1/twilio-webhook", content=b"Body=" + b"x" * 70_000,
                     headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert big.status_code == 413


# -- who sees what -------------------------------------------------------------------------------------------


def test_deliveries_contacts_and_bindings_follow_the_roles(shop):
    conversation = bound_conversation(shop)
    post(shop, "member", conversation)
    for role in (*ROLES, "outsider"):
        user = shop.people[role]
        deliveries = act(shop.url, user, "select count(*) from public.message_deliveries", method="GET")[0][0]
        contacts = act(shop.url, user, "select count(*) from public.channel_contacts", method="GET")[0][0]
        participant_or_moderator = role in ("owner", "admin", "manager", "member", "client")
        assert deliveries == (1 if participant_or_moderator else 0), role
        assert contacts == (1 if role not in ("client", "outsider") else 0), role
    for role in ("member", "assistant", "client", "outsider"):
        with pytest.raises(RequestError) as refused:
            act(shop.url, shop.people[role], "select public.bind_channel_contact(%s, 'sms', '+15550001111')",
                (conversation,))
        assert refused.value.status == 403, role
    with pytest.raises(RequestError):
        act(shop.url, shop.people["member"], "update public.channel_contacts set opted_out_at = null")


# -- AI-suggested replies --------------------------------------------------------------------------------------


@pytest.fixture
def claude(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI(api_key="sk-ant-test") as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        yield fake


def test_an_inbound_message_gets_a_suggestion_only_staff_in_the_conversation_see(api, shop, claude):
    call(api, inbound("Do you deliver on Sundays?"))
    with psycopg.connect(shop.url) as conn:
        suggestion_id, status, requested_by = conn.execute(
            "select id, status, requested_by from public.reply_suggestions").fetchone()
    assert (status, requested_by) == ("queued", None), "requested automatically on the team plan"
    claude.reply_text("Yes, from 9 to 12 on Sundays.")
    result = run_job(shop.url, "ai.suggest_reply", {"suggestion_id": str(suggestion_id)})
    assert result["output_tokens"] > 0
    prompt = claude.requests[-1].body["messages"][0]["content"]
    assert "[customer] Do you deliver on Sundays?" in prompt
    for role in (*ROLES, "outsider"):
        seen = act(shop.url, shop.people[role], "select body from public.reply_suggestions", method="GET")
        expected = [("Yes, from 9 to 12 on Sundays.",)] if role in ("owner", "admin", "manager") else []
        assert seen == expected, role
    assert count(shop.url, "select count(*) from public.message_deliveries where direction = 'outbound'") == 0, \
        "a suggestion is never sent by itself"


def test_staff_request_suggestions_counted_with_generations(shop, claude):
    conversation = bound_conversation(shop)
    message_id = post(shop, "client", conversation, "Can I change my order?")
    with psycopg.connect(shop.url) as conn:
        suggestion = rpc_as_user(conn, shop.people["member"], "request_reply_suggestion",
                                 {"message_id": str(message_id)})
        conn.commit()
    assert suggestion.status == 200 and suggestion.body["status"] == "queued"
    with psycopg.connect(shop.url) as conn, pytest.raises(RequestError) as refused:
        rpc_as_user(conn, shop.people["client"], "request_reply_suggestion", {"message_id": str(message_id)})
    assert refused.value.status == 403, "clients cannot ask for suggestions"
    with psycopg.connect(shop.url, autocommit=True) as conn:
        conn.execute("update public.plans set daily_generation_limit = 1 where id = 'team'")
        conn.execute("update internal.plan_assignments set plan_id = 'team' where organization_id = %s", (shop.org,))
    with psycopg.connect(shop.url) as conn, pytest.raises(RequestError) as over:
        rpc_as_user(conn, shop.people["member"], "request_reply_suggestion", {"message_id": str(message_id)})
    assert over.value.status == 429 and over.value.code == "PT429"


def test_plans_without_ai_replies_refuse_suggestions(fresh_db):
    pro = make_shop(fresh_db, plan="pro")
    conversation = bound_conversation(pro)
    message_id = post(pro, "manager", conversation)
    with psycopg.connect(fresh_db) as conn, pytest.raises(RequestError) as refused:
        rpc_as_user(conn, pro.people["manager"], "request_reply_suggestion", {"message_id": str(message_id)})
    assert refused.value.status == 403 and "AI-suggested replies" in refused.value.message


def test_message_activity_has_the_channel_dimension(api, shop):
    conversation = bound_conversation(shop)
    post(shop, "member", conversation)
    call(api, inbound("hello"))
    rows = act(shop.url, shop.people["owner"], "select channel, direction, messages from"
               " public.message_activity(%s) order by direction", (shop.org,), method="GET")
    assert rows == [("sms", "inbound", 1), ("sms", "outbound", 1)]
