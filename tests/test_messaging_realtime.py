"""Private Realtime channels `conversation:<id>` and the storage buckets of messaging (policies/messaging.sql,
policies/storage.sql).

Channel authorisation is checked the way the Realtime server checks it (realtime-protocol.md §8,
lib/realtime/tenants/authorization.ex): in one transaction it inserts probe rows (topic, extension) into
realtime.messages as the database owner, sets `role`, `realtime.topic`, `request.jwt.claims`,
`request.jwt.claim.sub`, `request.jwt.claim.role` and `request.headers` locally, reads the probes back under RLS
(read right per extension), tries an INSERT as the user (write right), and rolls everything back.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_user, user_claims
from tests.test_messaging import Chat, chat_fixture, run  # noqa: F401 - chat_fixture provides `chat`

EXTENSIONS = ("broadcast", "presence")


def channel_rights(db: psycopg.Connection, user: uuid.UUID | None, topic: str) -> dict[str, set[str]]:
    """{"read": extensions, "write": extensions} Realtime would grant `user` (None: the anon key) on `topic`."""
    claims = user_claims(user) if user else {"iss": "supabase", "ref": "local", "role": "anon"}
    role = claims["role"]
    rights: dict[str, set[str]] = {"read": set(), "write": set()}
    db.execute("savepoint realtime_authorization")
    try:
        probes = {
            db.execute("insert into realtime.messages (topic, extension) values (%s, %s) returning id",
                       (topic, extension)).fetchone()[0]: extension
            for extension in EXTENSIONS
        }
        db.execute(
            "select set_config('role', %s, true), set_config('realtime.topic', %s, true),"
            " set_config('request.jwt.claims', %s, true), set_config('request.jwt.claim.sub', %s, true),"
            " set_config('request.jwt.claim.role', %s, true), set_config('request.headers', %s, true)",
            (role, topic, json.dumps(claims), claims.get("sub", ""), role, json.dumps({"apikey": "local"})))
        visible = db.execute("select id from realtime.messages where id = any(%s)", (list(probes),)).fetchall()
        rights["read"] = {probes[row_id] for row_id, in visible}
        for extension in EXTENSIONS:
            db.execute("savepoint realtime_write")
            try:
                db.execute("insert into realtime.messages (topic, extension) values (%s, %s)", (topic, extension))
                rights["write"].add(extension)
                db.execute("release savepoint realtime_write")
            except psycopg.errors.InsufficientPrivilege:
                db.execute("rollback to savepoint realtime_write")
    finally:
        db.execute("rollback to savepoint realtime_authorization")
    return rights


ALL = {"read": set(EXTENSIONS), "write": set(EXTENSIONS)}
NOTHING: dict[str, set[str]] = {"read": set(), "write": set()}


def test_participants_read_and_write_broadcast_and_presence_on_their_conversation(db, chat: Chat):
    topic = f"conversation:{chat.group}"
    for who in ("manager", "member", "client"):
        assert channel_rights(db, chat.people[who], topic) == ALL, who


def test_nobody_else_may_join_a_conversation_topic(db, chat: Chat):
    topic = f"conversation:{chat.group}"
    for who in ("owner", "admin", "assistant", "outsider"):
        assert channel_rights(db, chat.people[who], topic) == NOTHING, \
            f"{who} does not take part: moderators read through PostgREST, not the live channel"
    assert channel_rights(db, None, topic) == NOTHING, "anon"
    assert channel_rights(db, chat.people["member"], f"conversation:{uuid.uuid4()}") == NOTHING
    assert channel_rights(db, chat.people["member"], "conversation:not-a-uuid") == NOTHING
    assert channel_rights(db, chat.people["member"], f"conversation:{chat.group}:extra") == NOTHING


def test_leaving_the_organization_closes_the_channel(db, chat: Chat):
    topic = f"conversation:{chat.group}"
    db.execute("delete from public.memberships where organization_id = %s and user_id = %s",
               (chat.org, chat.people["client"]))
    assert channel_rights(db, chat.people["client"], topic) == NOTHING


def test_conversation_and_job_topic_policies_coexist_without_widening_each_other(db, chat: Chat):
    jobs = f"org:{chat.org}:jobs"
    assert channel_rights(db, chat.people["member"], jobs) == {"read": {"broadcast"}, "write": set()}, \
        "the job topic stays read-only broadcast for members (policies/generations.sql)"
    assert channel_rights(db, chat.people["assistant"], jobs) == {"read": {"broadcast"}, "write": set()}
    assert channel_rights(db, chat.people["assistant"], f"conversation:{chat.group}") == NOTHING, \
        "membership (which opens the job topic) does not open conversations"
    assert channel_rights(db, chat.people["outsider"], jobs) == NOTHING


def test_a_participant_sees_only_rows_of_the_topic_being_authorised(db, chat: Chat):
    (other,), = run(db, chat.people["member"], "select id from public.start_direct_conversation(%s)",
                    (chat.people["assistant"],))
    run(db, chat.people["member"], "insert into public.messages (conversation_id, body) values (%s, 'a')", (other,))
    run(db, chat.people["member"], "insert into public.messages (conversation_id, body) values (%s, 'b')",
        (chat.group,))
    with as_user(db, chat.people["member"], method="GET") as cur:
        cur.execute("select set_config('realtime.topic', %s, true)", (f"conversation:{chat.group}",))
        topics = {t for t, in cur.execute("select topic from realtime.messages").fetchall()}
    assert topics == {f"conversation:{chat.group}"}, "the row's topic must be the channel's topic"


def test_realtime_send_from_a_participant_is_stored_and_from_others_dropped(db, chat: Chat):
    topic = f"conversation:{chat.group}"

    def typing(who: str) -> int:
        with as_user(db, chat.people[who]) as cur:
            cur.execute("select realtime.send('{\"typing\": true}', 'typing', %s, true)", (topic,))
        return db.execute("select count(*) from realtime.messages where topic = %s and event = 'typing'",
                          (topic,)).fetchone()[0]

    assert typing("member") == 1
    assert typing("assistant") == 1, \
        "a non-participant's send is dropped (realtime.send turns the refusal into a warning)"


# -- storage --------------------------------------------------------------------------------------------------

def test_buckets_are_private_with_size_limits_and_mime_types(db):
    buckets = {row[0]: row[1:] for row in db.execute(
        "select id, public, file_size_limit, allowed_mime_types from storage.buckets"
        " where id in ('message-attachments', 'user-uploads', 'generated-assets')").fetchall()}
    assert set(buckets) == {"message-attachments", "user-uploads", "generated-assets"}
    for bucket, (public, limit, mime_types) in buckets.items():
        assert public is False, bucket
        assert limit and limit <= 50 * 1024 * 1024, bucket
        assert mime_types and "application/pdf" in mime_types, bucket
    assert buckets["user-uploads"][1] == 10 * 1024 * 1024


def upload(db, user: uuid.UUID, bucket: str, name: str) -> int:
    """An upload as storage-api performs it: the object row inserted under the user's role and claims."""
    with as_user(db, user) as cur:
        cur.execute("insert into storage.objects (bucket_id, name, owner_id, metadata)"
                    " values (%s, %s, (select auth.uid())::text, '{\"size\": 1, \"mimetype\": \"application/pdf\"}')",
                    (bucket, name))
        return cur.rowcount


def visible(db, user: uuid.UUID, bucket: str) -> list[str]:
    with as_user(db, user, method="GET") as cur:
        return [n for n, in cur.execute("select name from storage.objects where bucket_id = %s order by name",
                                        (bucket,)).fetchall()]


def test_attachments_follow_conversation_participation(db, chat: Chat):
    name = f"{chat.group}/plan.pdf"
    assert upload(db, chat.people["client"], "message-attachments", name) == 1
    assert visible(db, chat.people["member"], "message-attachments") == [name]
    assert visible(db, chat.people["assistant"], "message-attachments") == []
    run(db, chat.people["manager"], "delete from public.conversation_participants where conversation_id = %s"
        " and user_id = %s", (chat.group, chat.people["member"]))
    assert visible(db, chat.people["member"], "message-attachments") == [], "removed: the files go with it"
    with pytest.raises(RequestError) as refused:
        upload(db, chat.people["client"], "message-attachments", "plan.pdf")
    assert refused.value.status == 403, "an attachment outside any conversation folder is refused"


def test_user_uploads_belong_to_their_user_only(db, chat: Chat):
    mine = f"{chat.people['member']}/avatar.png"
    assert upload(db, chat.people["member"], "user-uploads", mine) == 1
    assert visible(db, chat.people["member"], "user-uploads") == [mine]
    assert visible(db, chat.people["owner"], "user-uploads") == []
    with pytest.raises(RequestError) as refused:
        upload(db, chat.people["owner"], "user-uploads", mine.replace("avatar", "other"))
    assert refused.value.status == 403


def test_direct_deletes_stay_guarded_outside_storage_api(db, chat: Chat):
    mine = f"{chat.people['member']}/cv.pdf"
    upload(db, chat.people["member"], "user-uploads", mine)
    with pytest.raises(RequestError) as refused, as_user(db, chat.people["member"]) as cur:
        cur.execute("delete from storage.objects where name = %s", (mine,))
    assert refused.value.status == 403 and "Storage API" in str(refused.value), \
        "the policies let the owner delete, but only through storage-api (storage.allow_delete_query)"


def test_postgres_changes_reach_only_subscribers_whose_policy_shows_the_row(db, chat: Chat):
    """Realtime checks each change per subscriber by selecting the row by primary key under the subscriber's role
    and claims (apply_rls, realtime-protocol.md §10): that check, for a new message."""
    (message,), = run(db, chat.people["member"], "insert into public.messages (conversation_id, body)"
                      " values (%s, 'live') returning id", (chat.group,))
    delivered = {}
    for who in ("manager", "client", "admin", "assistant", "outsider"):
        with as_user(db, chat.people[who], method="GET") as cur:
            delivered[who] = cur.execute("select exists (select 1 from public.messages where id = %s)",
                                         (message,)).fetchone()[0]
    assert delivered == {"manager": True, "client": True, "admin": True, "assistant": False, "outsider": False}, \
        "participants and moderators receive it; nobody else"
