"""Generation requests, quotas by plan, usage counters, analytics and live status (sql/0007)."""

from __future__ import annotations

import json
import threading
import uuid

import psycopg
import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_user, rpc_as_user
from tests import factories


@pytest.fixture
def org(db, make_user):
    """(org id, {"owner", "member", "client", "outsider"}) on the Free plan; outsider owns another organization."""
    people = {name: make_user() for name in ("owner", "member", "client", "outsider")}
    tag = uuid.uuid4().hex[:8]
    org_id, = db.execute("insert into public.organizations (name, slug) values ('Gen', %s) returning id",
                         (f"gen-{tag}",)).fetchone()
    other_id, = db.execute("insert into public.organizations (name, slug) values ('Other', %s) returning id",
                           (f"other-{tag}",)).fetchone()
    db.execute("insert into public.memberships values (%s, %s, 'owner'), (%s, %s, 'member'), (%s, %s, 'client'),"
               " (%s, %s, 'owner')", (org_id, people["owner"], org_id, people["member"], org_id, people["client"],
                                      other_id, people["outsider"]))
    return org_id, people


def request(db, user, prompt="Build a todo app", app_type="crud_app", org_id=None):
    """POST /rpc/request_generation as `user`: (id, status, job_id, organization_id) of the new generation."""
    args = {"prompt": prompt, "app_type": app_type} | ({"org_id": org_id} if org_id else {})
    row = rpc_as_user(db, user, "request_generation", args).body
    return uuid.UUID(row["id"]), row["status"], row["job_id"], uuid.UUID(row["organization_id"])


def claim(db):
    # ai.generate only: creating an organization also queues its welcome e-mail (email.send, sql/0012)
    return db.execute("select id, lease_token from internal.claim_jobs('test-worker', 50, array['ai.generate'])"
                      ).fetchall()


def generation(db, gen_id):
    return db.execute("select status, result, error_message, input_tokens, output_tokens, duration_ms, attempts,"
                      " started_at is not null, completed_at is not null from public.generations where id = %s",
                      (gen_id,)).fetchone()


def test_a_request_within_quota_creates_the_generation_and_its_job_in_one_go(db, org):
    org_id, people = org
    gen_id, status, job_id, organization = request(db, people["member"])
    assert (status, organization) == ("queued", org_id), "with one organization, org_id may be omitted"
    job = db.execute("select kind, payload, priority, organization_id, user_id from internal.jobs where id = %s",
                     (job_id,)).fetchone()
    assert job[0] == "ai.generate" and job[1]["generation_id"] == str(gen_id) and job[1]["app_type"] == "crud_app"
    assert job[2:] == (0, org_id, people["member"]), "Free plan priority, tagged with organization and user"
    events = db.execute("select event, properties from internal.analytics_events where generation_id = %s",
                        (gen_id,)).fetchall()
    assert events == [("generation.requested", {"app_type": "crud_app", "plan": "free"})]


def test_over_quota_postgrest_answers_429_naming_the_limit_and_the_reset(db, org):
    org_id, people = org
    for _ in range(5):
        request(db, people["member"])
    with pytest.raises(RequestError) as refused:
        request(db, people["owner"])
    assert refused.value.status == 429 and refused.value.code == "PT429"
    assert "the Free plan allows 5 generations a day" in refused.value.message
    assert "resets at" in refused.value.message and "UTC" in refused.value.message
    assert refused.value.hint and "upgrade" in refused.value.hint
    assert db.execute("select count(*) from public.generations where organization_id = %s",
                      (org_id,)).fetchone()[0] == 5, "the refused request left nothing behind"


def test_failed_and_cancelled_generations_do_not_use_quota(db, org):
    _, people = org
    ids = [request(db, people["member"])[0] for _ in range(5)]
    with as_user(db, people["member"]) as cur:
        cur.execute("select public.cancel_generation(%s)", (ids[0],))
    request(db, people["member"])  # the cancelled one's unit is free again
    with pytest.raises(RequestError) as refused:
        request(db, people["member"])
    assert refused.value.status == 429


def test_plans_set_limits_and_queue_priority(db, org, make_user):
    org_id, people = org
    db.execute("insert into internal.plan_assignments (organization_id, plan_id) values (%s, 'team')", (org_id,))
    for _ in range(60):
        request(db, people["member"])  # Team: unlimited
    priorities = db.execute("select distinct priority from internal.jobs where organization_id = %s"
                            " and kind = 'ai.generate'", (org_id,)).fetchall()
    assert priorities == [(20,)]
    db.execute("update internal.plan_assignments set plan_id = 'pro' where organization_id = %s", (org_id,))
    with pytest.raises(RequestError) as refused:
        request(db, people["member"])
    assert "the Pro plan allows 50 generations a day" in refused.value.message


def test_team_jobs_are_claimed_before_pro_before_free(db, org, make_user):
    _, people = org
    jobs = {}
    for plan in ("free", "pro", "team"):
        user = make_user()
        org_id, = db.execute("insert into public.organizations (name, slug) values (%s, %s) returning id",
                             (plan, f"{plan}-{uuid.uuid4().hex[:8]}")).fetchone()
        db.execute("insert into public.memberships values (%s, %s, 'owner')", (org_id, user))
        if plan != "free":
            db.execute("insert into internal.plan_assignments values (%s, %s)", (org_id, plan))
        jobs[plan] = request(db, user)[2]
    # One job per claim: the order of rows a batch claim returns is not defined, the order of claims is.
    claimed = [db.execute("select id from internal.claim_jobs('test-worker', 1, array['ai.generate'])").fetchone()[0]
               for _ in range(3)]
    assert claimed == [jobs["team"], jobs["pro"], jobs["free"]], "team before pro before free"


def test_concurrent_requests_never_exceed_the_quota(fresh_db):
    user, org_id = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(fresh_db, autocommit=True) as setup:
        factories.user(setup, "race@example.com", user_id=user)
        factories.organization(setup, "Race", "race", owner=user, org_id=org_id)
    outcomes: list[object] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            barrier.wait()
            try:
                rpc_as_user(conn, user, "request_generation", {"prompt": "race"})
                outcomes.append("ok")
            except RequestError as error:
                outcomes.append(error.status)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes, key=str) == [429, 429, 429] + ["ok"] * 5, "exactly the Free plan's 5 get through"


def test_a_user_in_several_organizations_must_say_which(db, org, make_user):
    org_id, people = org
    db.execute("insert into public.memberships (organization_id, user_id, role) select id, %s, 'member'"
               " from public.organizations where slug like 'other-%%' and id <> %s limit 1", (people["member"], org_id))
    with pytest.raises(RequestError) as refused:
        request(db, people["member"])
    assert refused.value.status == 400 and "pass org_id" in refused.value.message
    assert request(db, people["member"], org_id=org_id)[3] == org_id


@pytest.mark.parametrize(("prompt", "app_type", "words"), [
    ("   ", "crud_app", "prompt must be"), ("x" * 20001, "crud_app", "prompt must be"),
    ("ok", "Not Valid", "app_type"),
])
def test_bad_requests_are_400(db, org, prompt, app_type, words):
    _, people = org
    with pytest.raises(RequestError) as refused:
        request(db, people["member"], prompt=prompt, app_type=app_type)
    assert refused.value.status == 400 and words in refused.value.message


def test_members_of_another_organization_can_neither_see_nor_cancel_a_generation(db, org):
    org_id, people = org
    gen_id = request(db, people["member"])[0]
    with as_user(db, people["outsider"], method="GET") as cur:
        assert cur.execute("select count(*) from public.generations where id = %s", (gen_id,)).fetchone()[0] == 0
    with pytest.raises(RequestError) as refused, as_user(db, people["outsider"]) as cur:
        cur.execute("select public.cancel_generation(%s)", (gen_id,))
    assert refused.value.status == 404
    with pytest.raises(RequestError) as outsider_request:
        request(db, people["outsider"], org_id=org_id)
    assert outsider_request.value.status == 403
    with as_user(db, people["client"], method="GET") as cur:
        assert cur.execute("select count(*) from public.generations where id = %s", (gen_id,)).fetchone()[0] == 1, \
            "every member of the organization reads its generations"


def test_cancelling_a_queued_generation_is_immediate_and_a_running_one_is_requested(db, org):
    _, people = org
    queued = request(db, people["member"])[0]
    with as_user(db, people["member"]) as cur:
        assert cur.execute("select status from public.cancel_generation(%s)", (queued,)).fetchone()[0] == "cancelled"
    running = request(db, people["member"])[0]
    claim(db)
    with as_user(db, people["owner"]) as cur:  # an owner may cancel a member's generation
        assert cur.execute("select status from public.cancel_generation(%s)", (running,)).fetchone()[0] == "running"
    assert db.execute("select cancel_requested_at is not null from internal.jobs j join public.generations g"
                      " on g.job_id = j.id where g.id = %s", (running,)).fetchone()[0]
    with pytest.raises(RequestError) as again, as_user(db, people["member"]) as cur:
        cur.execute("select public.cancel_generation(%s)", (queued,))
    assert again.value.status == 409, "a finished generation cannot be cancelled"


def test_the_generation_follows_its_job_and_success_counts_usage(db, org):
    org_id, people = org
    gen_id = request(db, people["member"])[0]
    (job_id, token), = claim(db)
    assert generation(db, gen_id)[0] == "running" and generation(db, gen_id)[7], "started"
    db.execute("select internal.fail_job(%s, %s, 'overloaded_error: 529', true)", (job_id, token))
    assert generation(db, gen_id)[:3] == ("queued", None, "overloaded_error: 529"), "a retry waits in the queue"
    db.execute("update internal.jobs set run_at = now() where id = %s", (job_id,))
    (_, token), = claim(db)
    result = {"text": "<html>ok</html>", "model": "claude", "input_tokens": 120, "output_tokens": 3400,
              "duration_ms": 8123}
    db.execute("select internal.complete_jobs(%s, %s, %s)", ([job_id], [token], [json.dumps(result)]))
    assert generation(db, gen_id) == ("succeeded", "<html>ok</html>", "overloaded_error: 529", 120, 3400, 8123, 2,
                                      True, True)
    usage = db.execute("select period, generations, input_tokens, output_tokens from public.usage_counters"
                       " where organization_id = %s and user_id = %s order by period", (org_id, people["member"]))
    assert usage.fetchall() == [("day", 1, 120, 3400), ("month", 1, 120, 3400)]
    events = [e for e, in db.execute("select event from internal.analytics_events where generation_id = %s"
                                     " order by id", (gen_id,)).fetchall()]
    assert events == ["generation.requested", "generation.started", "generation.retrying", "generation.started",
                      "generation.succeeded"]


def test_a_failed_generation_keeps_the_error_and_counts_no_usage(db, org):
    org_id, people = org
    gen_id = request(db, people["member"])[0]
    (job_id, token), = claim(db)
    db.execute("select internal.fail_job(%s, %s, 'invalid_request_error: prompt too long', false)", (job_id, token))
    status, _, error, *_ = generation(db, gen_id)
    assert (status, error) == ("failed", "invalid_request_error: prompt too long")
    assert db.execute("select count(*) from public.usage_counters where organization_id = %s",
                      (org_id,)).fetchone()[0] == 0


def test_analytics_events_are_append_only(db, org):
    _, people = org
    request(db, people["member"])
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        db.execute("delete from internal.analytics_events")


# -- live status ----------------------------------------------------------------------------------------------

def broadcasts(db, org_id):
    return db.execute("select event, private, extension, payload from realtime.messages where topic = %s"
                      " order by inserted_at, payload->'record'->>'updated_at'", (f"org:{org_id}:jobs",)).fetchall()


def test_each_status_change_is_broadcast_privately_to_the_organization_topic(db, org):
    org_id, people = org
    gen_id = request(db, people["member"])[0]
    (job_id, token), = claim(db)
    db.execute("select internal.complete_jobs(%s, %s, %s)", ([job_id], [token], ['{"text": "secret output"}']))
    rows = broadcasts(db, org_id)
    assert [(event, private, extension) for event, private, extension, _ in rows] == [
        ("INSERT", True, "broadcast"), ("UPDATE", True, "broadcast"), ("UPDATE", True, "broadcast")]
    statuses = [(p["old_record"] or {}).get("status") for *_, p in rows], [p["record"]["status"] for *_, p in rows]
    assert statuses == ([None, "queued", "running"], ["queued", "running", "succeeded"])
    payload = rows[-1][3]
    assert payload["operation"] == "UPDATE" and payload["table"] == "generations" and payload["schema"] == "public"
    assert payload["record"]["id"] == str(gen_id)
    assert "prompt" not in payload["record"] and "result" not in payload["record"], \
        "prompts and results stay behind RLS: subscribers fetch them through PostgREST"


def can_join(db, user, topic: str) -> dict[str, bool]:
    """Realtime's private-channel probe: a message row for the topic, read and write checked under the user's
    role, claims and realtime.topic, then everything rolled back."""
    rights = {}
    db.execute("savepoint probe")
    db.execute("insert into realtime.messages (topic, extension, payload, private) values (%s, 'broadcast', '{}',"
               " true)", (topic,))
    for right, sql in (("read", "select count(*) from realtime.messages where topic = %s"),
                       ("write", "insert into realtime.messages (topic, extension, payload, private)"
                                 " values (%s, 'broadcast', '{}', true)")):
        try:
            with as_user(db, user, method="GET" if right == "read" else "POST") as cur:
                cur.execute("select set_config('realtime.topic', %s, true)", (topic,))
                cur.execute(sql, (topic,))
                rights[right] = right == "write" or cur.fetchone()[0] > 0
        except RequestError:
            rights[right] = False
    db.execute("rollback to savepoint probe")
    return rights


def test_members_may_join_their_organization_job_topic_and_others_may_not(db, org):
    org_id, people = org
    topic = f"org:{org_id}:jobs"
    assert can_join(db, people["client"], topic) == {"read": True, "write": False}, \
        "members receive the job broadcasts; nobody but the database publishes there"
    assert can_join(db, people["outsider"], topic) == {"read": False, "write": False}
    assert can_join(db, people["member"], "org:not-a-uuid:jobs") == {"read": False, "write": False}


def test_generations_are_published_for_postgres_changes_with_full_old_rows(db):
    assert db.execute("select count(*) from pg_publication_tables where pubname = 'supabase_realtime'"
                      " and schemaname = 'public' and tablename = 'generations'").fetchone()[0] == 1
    assert db.execute("select relreplident from pg_class where oid = 'public.generations'::regclass"
                      ).fetchone()[0] == "f"


# -- quota refusals: recorded through PostgREST, raised in plain SQL (sql/0008, docs/quota-refusals.md) ----------


def use_up_the_daily_quota(db, user, n=5):
    for _ in range(n):
        request(db, user)


def test_a_refusal_through_postgrest_is_recorded_once_a_day_and_counted(db, org):
    org_id, people = org
    use_up_the_daily_quota(db, people["member"])
    for _ in range(3):
        with pytest.raises(RequestError) as refused:
            request(db, people["member"])
        assert refused.value.status == 429
    with pytest.raises(RequestError):
        request(db, people["owner"])
    events = db.execute("select user_id, properties from internal.analytics_events"
                        " where organization_id = %s and event = 'generation.quota_refused' order by id",
                        (org_id,)).fetchall()
    assert [user for user, _ in events] == [people["member"], people["owner"]], \
        "one analytics event per organization, user and day, however many refusals"
    props = events[0][1]
    assert (props["plan"], props["period"], props["limit"]) == ("free", "day", 5) and props["resets_at"]
    counts = dict(db.execute("select user_id, refusals from internal.quota_refusals where organization_id = %s",
                             (org_id,)).fetchall())
    assert counts == {people["member"]: 3, people["owner"]: 1}, "every refusal is counted, in one row per user"
    assert db.execute("select count(*) from public.generations where organization_id = %s",
                      (org_id,)).fetchone()[0] == 5, "a refusal creates no generation"


def test_the_recorded_refusal_looks_to_the_client_exactly_like_the_raised_one(db, org):
    """What supabase-js gets: the same HTTP status, the same error JSON, the same content type."""
    _, people = org
    use_up_the_daily_quota(db, people["member"])
    with pytest.raises(RequestError) as recorded:
        request(db, people["member"])
    # The same call with request.method cleared takes the raising path; the shim translates the raise exactly as
    # PostgREST would have before sql/0008.
    with pytest.raises(RequestError) as raised, as_user(db, people["member"]) as cur:
        cur.execute("select set_config('request.method', '', true)")
        cur.execute("select public.request_generation('Build a todo app', 'crud_app')")
    for attribute in ("status", "code", "message", "details", "hint", "body"):
        assert getattr(recorded.value, attribute) == getattr(raised.value, attribute), attribute
    assert recorded.value.status == 429 and recorded.value.code == "PT429"
    assert dict(recorded.value.headers)["Content-Type"] == dict(raised.value.headers)["Content-Type"]


def test_plain_sql_callers_still_get_sqlstate_pt429_and_nothing_is_recorded(db, org):
    org_id, people = org
    use_up_the_daily_quota(db, people["member"])
    claims = json.dumps({"sub": str(people["member"]), "role": "authenticated"})
    with pytest.raises(psycopg.Error) as raised, db.transaction():
        db.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
        db.execute("select public.request_generation('from a script')")
    assert raised.value.sqlstate == "PT429" and "allows 5 generations a day" in raised.value.diag.message_primary
    assert db.execute("select count(*) from internal.quota_refusals where organization_id = %s",
                      (org_id,)).fetchone()[0] == 0


@pytest.mark.parametrize("message", ["plain", 'quotes " and \\ backslash', "line\nbreak\ttab \x01", "ünïcödé ✓"])
def test_the_error_body_is_byte_for_byte_what_postgrest_encodes(db, message):
    text, = db.execute("select internal.postgrest_error_body('PT429', %s, null, 'a hint')::text", (message,)).fetchone()
    # PostgREST (aeson) writes keys in order, no spaces, UTF-8 as is, control characters escaped.
    expected = json.dumps({"code": "PT429", "details": None, "hint": "a hint", "message": message},
                          separators=(",", ":"), ensure_ascii=False)
    assert text == expected
