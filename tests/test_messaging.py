"""Messaging rules (sql/0009, policies/messaging.sql): conversations, participants, messages, read state, the direct
pair, the edit window, moderation, analytics, and the broadcasts to `conversation:<id>`.

Every user action goes through the PostgREST protocol (functions_py.postgrest); set-up runs as the superuser.
Who may read and write which table per role is the RLS matrix's job (tests/test_rls_matrix.py); this module tests
the behaviour behind it. Private-channel authorisation and storage are in tests/test_messaging_realtime.py.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_anon, as_service, as_user
from tests import factories

ROLES = ("owner", "admin", "manager", "member", "assistant", "client")


@dataclass
class Chat:
    org: uuid.UUID
    people: dict[str, uuid.UUID]
    group: uuid.UUID  # started by the manager, with the member and the client


def run(db: psycopg.Connection, user: uuid.UUID, query: str, params: tuple = (), method: str = "POST"):
    """One PostgREST request as `user`: the rows it returns, or the row count when it returns none."""
    with as_user(db, user, method=method) as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else cur.rowcount


def refusal(db: psycopg.Connection, user: uuid.UUID, query: str, params: tuple = ()) -> RequestError:
    """The error PostgREST would answer for this request (the test fails if it succeeds)."""
    with pytest.raises(RequestError) as refused:
        run(db, user, query, params)
    return refused.value


@pytest.fixture(name="chat")
def chat_fixture(db, make_user) -> Chat:
    """An organization with one user per role and a group conversation (manager, member, client); an outsider."""
    people = {role: make_user(full_name=role.title()) for role in (*ROLES, "outsider")}
    tag = uuid.uuid4().hex[:8]
    org, = db.execute("insert into public.organizations (name, slug) values ('Chatty', %s) returning id",
                      (f"chatty-{tag}",)).fetchone()
    other, = db.execute("insert into public.organizations (name, slug) values ('Elsewhere', %s) returning id",
                        (f"elsewhere-{tag}",)).fetchone()
    with db.cursor() as cur:
        cur.executemany("insert into public.memberships (organization_id, user_id, role) values (%s, %s, %s)",
                        [(org, people[role], role) for role in ROLES] + [(other, people["outsider"], "owner")])
    (group,), = run(db, people["manager"], "insert into public.conversations (organization_id, kind, title)"
                    " values (%s, 'group', 'Launch') returning id", (org,))
    run(db, people["manager"], "insert into public.conversation_participants (conversation_id, user_id)"
        " values (%s, %s), (%s, %s)", (group, people["member"], group, people["client"]))
    return Chat(org=org, people=people, group=group)


def post(db, chat: Chat, who: str, body: str = "Hello", conversation: uuid.UUID | None = None) -> uuid.UUID:
    (message_id,), = run(db, chat.people[who], "insert into public.messages (conversation_id, body) values (%s, %s)"
                         " returning id", (conversation or chat.group, body))
    return message_id


def unread(db, user: uuid.UUID) -> dict[uuid.UUID, int]:
    rows = run(db, user, "select conversation_id, unread_count from public.unread_counts()", method="GET")
    return dict(rows)


# -- conversations and participants ---------------------------------------------------------------------------

def test_the_creator_of_a_group_conversation_becomes_its_owner(db, chat):
    rows = db.execute("select user_id, role from public.conversation_participants where conversation_id = %s"
                      " order by role, user_id", (chat.group,)).fetchall()
    assert (chat.people["manager"], "owner") in rows and len(rows) == 3
    created_by, = db.execute("select created_by from public.conversations where id = %s", (chat.group,)).fetchone()
    assert created_by == chat.people["manager"], "created_by is the signed-in creator, set by trigger"


def test_only_members_of_the_organization_can_take_part(db, chat):
    error = refusal(db, chat.people["manager"], "insert into public.conversation_participants"
                    " (conversation_id, user_id) values (%s, %s)", (chat.group, chat.people["outsider"]))
    assert error.status == 400 and "only members" in str(error) and "Invite" in error.hint


def test_clients_cannot_create_direct_conversations_by_insert(db, chat):
    error = refusal(db, chat.people["member"], "insert into public.conversations (organization_id, kind)"
                    " values (%s, 'direct')", (chat.org,))
    assert error.status == 403, "direct conversations come only from start_direct_conversation"


def test_a_removed_member_loses_every_conversation_of_that_organization(db, chat):
    post(db, chat, "manager", "Before")
    assert len(run(db, chat.people["client"], "select id from public.messages", method="GET")) == 1
    db.execute("delete from public.memberships where organization_id = %s and user_id = %s",
               (chat.org, chat.people["client"]))
    assert run(db, chat.people["client"], "select id from public.messages", method="GET") == []
    assert refusal(db, chat.people["client"], "insert into public.messages (conversation_id, body) values (%s, 'x')",
                   (chat.group,)).status == 403
    assert unread(db, chat.people["client"]) == {}


# -- direct conversations -------------------------------------------------------------------------------------

def start_direct(db, user: uuid.UUID, other: uuid.UUID | None, org: uuid.UUID | None = None) -> uuid.UUID:
    (conversation_id,), = run(db, user, "select id from public.start_direct_conversation(%s, %s)", (other, org))
    return conversation_id


def test_start_direct_conversation_returns_the_same_conversation_from_either_side(db, chat):
    member, assistant = chat.people["member"], chat.people["assistant"]
    first = start_direct(db, member, assistant)
    assert start_direct(db, assistant, member) == first
    assert start_direct(db, member, assistant, chat.org) == first
    participants = db.execute("select user_id from public.conversation_participants where conversation_id = %s"
                              " order by user_id", (first,)).fetchall()
    assert participants == [(u,) for u in sorted([member, assistant])]
    kind, = db.execute("select kind from public.conversations where id = %s", (first,)).fetchone()
    assert kind == "direct"


def test_start_direct_conversation_refuses_bad_input(db, chat, make_user):
    member = chat.people["member"]
    for other, org, status, text in [
        (None, None, 400, "other_user must be"),
        (member, None, 400, "other_user must be"),
        (chat.people["outsider"], None, 400, "share no organization"),
        (chat.people["outsider"], chat.org, 400, "not both members"),
        (chat.people["assistant"], uuid.uuid4(), 400, "not both members"),
    ]:
        error = refusal(db, member, "select public.start_direct_conversation(%s, %s)", (other, org))
        assert (error.status, text in str(error)) == (status, True), f"{other=} {org=}: {error}"
    with pytest.raises(RequestError) as refused, as_anon(db) as cur:
        cur.execute("select public.start_direct_conversation(%s)", (member,))
    assert refused.value.status == 401, "anon may not call it"

    # two shared organizations: the caller must say which
    second, = db.execute("insert into public.organizations (name, slug) values ('Second', %s) returning id",
                         (f"second-{uuid.uuid4().hex[:8]}",)).fetchone()
    db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner'),"
               " (%s, %s, 'member')", (second, member, second, chat.people["assistant"]))
    error = refusal(db, member, "select public.start_direct_conversation(%s)", (chat.people["assistant"],))
    assert error.status == 400 and "pass org_id" in str(error)
    assert start_direct(db, member, chat.people["assistant"], second) != start_direct(
        db, member, chat.people["assistant"], chat.org), "one direct conversation per pair and organization"


def test_a_direct_conversation_keeps_exactly_its_two_participants(db, chat):
    direct = start_direct(db, chat.people["member"], chat.people["assistant"])
    error = refusal(db, chat.people["owner"], "insert into public.conversation_participants (conversation_id, user_id)"
                    " values (%s, %s)", (direct, chat.people["client"]))
    assert error.status == 409 and "exactly two" in str(error)
    error = refusal(db, chat.people["member"], "delete from public.conversation_participants"
                    " where conversation_id = %s and user_id = %s", (direct, chat.people["member"]))
    assert error.status == 409 and "Mute" in error.hint
    assert run(db, chat.people["member"], "update public.conversation_participants set muted = true"
               " where conversation_id = %s", (direct,)) == 1, "muting is the way out"


def test_deleting_a_direct_conversation_or_an_account_removes_its_participants(db, chat):
    direct = start_direct(db, chat.people["member"], chat.people["assistant"])
    post(db, chat, "member", "hi", conversation=direct)
    db.execute("delete from auth.users where id = %s", (chat.people["assistant"],))
    assert db.execute("select count(*) from public.conversation_participants where conversation_id = %s",
                      (direct,)).fetchone()[0] == 1, "the remaining person keeps their history"
    assert run(db, chat.people["owner"], "delete from public.conversations where id = %s", (direct,)) == 1


def _committed_org(url: str, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    users = [uuid.uuid4() for _ in range(count)]
    with psycopg.connect(url, autocommit=True) as conn:
        for user in users:
            factories.user(conn, f"{user.hex[:12]}@example.com", user_id=user)
        org = factories.organization(conn, "Race", f"race-{uuid.uuid4().hex[:8]}", owner=users[0])
        for user in users[1:]:
            factories.membership(conn, org, user)
    return org, users


def test_the_direct_pair_is_unique_under_concurrent_starts(fresh_db):
    """Eight connections start the same pair's conversation at once (from both sides), five times over."""
    org, users = _committed_org(fresh_db, 10)
    callers = 8
    for pair in range(5):
        a, b = users[2 * pair], users[2 * pair + 1]
        barrier = threading.Barrier(callers)

        def start(i: int, a=a, b=b, barrier=barrier) -> uuid.UUID:
            me, other = (a, b) if i % 2 == 0 else (b, a)
            with psycopg.connect(fresh_db, autocommit=True) as conn:  # each request its own transaction
                barrier.wait()
                with as_user(conn, me) as cur:
                    return cur.execute("select id from public.start_direct_conversation(%s)", (other,)).fetchone()[0]

        with ThreadPoolExecutor(callers) as pool:
            ids = list(pool.map(start, range(callers)))
        assert len(set(ids)) == 1, f"pair {pair}: concurrent starts created {len(set(ids))} conversations"
        with psycopg.connect(fresh_db) as conn:
            assert conn.execute("select count(*) from public.conversations where kind = 'direct'"
                                " and direct_user_low = %s and direct_user_high = %s",
                                (min(a, b), max(a, b))).fetchone()[0] == 1
            assert conn.execute("select count(*) from public.conversation_participants where conversation_id = %s",
                                (ids[0],)).fetchone()[0] == 2


def test_a_direct_conversation_without_both_participants_fails_at_commit(fresh_db):
    org, (a, b) = _committed_org(fresh_db, 2)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        with pytest.raises(RequestError, match="exactly its two users") as refused, as_service(conn) as cur:
            cur.execute("insert into public.conversations (organization_id, kind, direct_user_low,"
                        " direct_user_high) values (%s, 'direct', %s, %s)", (org, min(a, b), max(a, b)))
            cur.execute("insert into public.conversation_participants (conversation_id, user_id)"
                        " select id, %s from public.conversations where kind = 'direct'", (a,))
                # one participant is enough for every statement: only the commit checks the pair
        assert (refused.value.code, refused.value.status) == ("23514", 400)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select count(*) from public.conversations").fetchone()[0] == 0


# -- messages: sending, editing, deleting ---------------------------------------------------------------------

def test_the_sender_is_always_the_signed_in_user(db, chat):
    message = post(db, chat, "member")
    sender, org = db.execute("select sender_id, organization_id from public.messages where id = %s",
                             (message,)).fetchone()
    assert (sender, org) == (chat.people["member"], chat.org)
    error = refusal(db, chat.people["member"], "insert into public.messages (conversation_id, sender_id, body)"
                    " values (%s, %s, 'spoof')", (chat.group, chat.people["manager"]))
    assert error.status == 403, "sender_id is not a column clients may write"


def test_replies_and_attachments_stay_in_their_conversation(db, chat):
    other = start_direct(db, chat.people["member"], chat.people["assistant"])
    foreign = post(db, chat, "member", "elsewhere", conversation=other)
    error = refusal(db, chat.people["member"], "insert into public.messages (conversation_id, body, reply_to)"
                    " values (%s, 'reply', %s)", (chat.group, foreign))
    assert error.status == 400 and "same conversation" in str(error)
    elsewhere = psycopg.types.json.Jsonb([{"path": f"{other}/x.pdf"}])
    error = refusal(db, chat.people["member"], "insert into public.messages (conversation_id, body, attachments)"
                    " values (%s, 'see file', %s)", (chat.group, elsewhere))
    assert error.status == 400 and str(chat.group) in error.hint
    ok = [{"path": f"{chat.group}/x.pdf", "name": "x.pdf", "size": 10, "mime_type": "application/pdf"}]
    assert run(db, chat.people["member"], "insert into public.messages (conversation_id, attachments)"
               " values (%s, %s)", (chat.group, psycopg.types.json.Jsonb(ok))) == 1, "an attachment alone is content"
    assert refusal(db, chat.people["member"], "insert into public.messages (conversation_id, body) values (%s, ' ')",
                   (chat.group,)).status == 400, "an empty message is refused"


def test_senders_edit_their_messages_within_the_edit_window(db, chat):
    message = post(db, chat, "member", "typo")
    assert run(db, chat.people["member"], "update public.messages set body = 'fixed' where id = %s", (message,)) == 1
    body, edited_at = db.execute("select body, edited_at from public.messages where id = %s", (message,)).fetchone()
    assert body == "fixed" and edited_at is not None

    db.execute("update public.messages set created_at = now() - interval '16 minutes' where id = %s", (message,))
    error = refusal(db, chat.people["member"], "update public.messages set body = 'late' where id = %s", (message,))
    assert error.status == 403 and "00:15:00 after sending" in str(error) and "Delete it" in error.hint

    db.execute("update internal.messaging_settings set edit_window = interval '1 hour'")
    assert run(db, chat.people["member"], "update public.messages set body = 'late' where id = %s", (message,)) == 1
    db.execute("update internal.messaging_settings set edit_window = interval '0'")
    assert refusal(db, chat.people["member"], "update public.messages set body = 'never' where id = %s",
                   (message,)).status == 403, "a zero window turns editing off"


def test_only_the_sender_edits_and_moderators_delete(db, chat):
    message = post(db, chat, "member", "rude words")
    assert run(db, chat.people["manager"], "update public.messages set body = 'censored' where id = %s",
               (message,)) == 0, "another participant does not even match the row"
    for who in ("admin", "owner"):
        error = refusal(db, chat.people[who], "update public.messages set body = 'censored' where id = %s", (message,))
        assert error.status == 403 and "only the sender" in str(error) and "delete" in error.hint, who
    assert run(db, chat.people["manager"], "update public.messages set deleted_at = now() where id = %s",
               (message,)) == 0, "a participant who is not the sender does not even match the row"
    assert run(db, chat.people["admin"], "update public.messages set deleted_at = now() where id = %s",
               (message,)) == 1, "admins moderate"
    row = db.execute("select body, attachments, deleted_at is not null, deleted_by from public.messages where id = %s",
                     (message,)).fetchone()
    assert row == ("", [], True, chat.people["admin"]), "a deleted message keeps no content"
    error = refusal(db, chat.people["member"], "update public.messages set body = 'again' where id = %s", (message,))
    assert error.status == 409, "a deleted message never changes"
    assert refusal(db, chat.people["admin"], "update public.messages set deleted_at = null where id = %s",
                   (message,)).status == 409, "nor is it undeleted"


def test_senders_delete_their_own_messages_at_any_time(db, chat):
    message = post(db, chat, "client", "oops")
    db.execute("update public.messages set created_at = now() - interval '2 days' where id = %s", (message,))
    assert run(db, chat.people["client"], "update public.messages set deleted_at = now() where id = %s",
               (message,)) == 1
    assert refusal(db, chat.people["client"], "delete from public.messages where id = %s",
                   (message,)).status == 403, "only the service role hard-deletes"


# -- read state -----------------------------------------------------------------------------------------------

def test_unread_counts_follow_new_messages_reads_and_deletions(db, chat):
    member, manager = chat.people["member"], chat.people["manager"]
    assert unread(db, member) == {chat.group: 0}
    post(db, chat, "manager", "one")
    doomed = post(db, chat, "manager", "two")
    post(db, chat, "member", "my own do not count")
    assert unread(db, member) == {chat.group: 2}
    assert unread(db, manager) == {chat.group: 1}

    read_until, = run(db, member, "select public.mark_read(%s)", (chat.group,))[0]
    assert read_until is not None
    assert unread(db, member) == {chat.group: 0}
    post(db, chat, "manager", "three")
    assert unread(db, member) == {chat.group: 1}

    run(db, manager, "update public.messages set deleted_at = now() where id = %s", (doomed,))
    assert unread(db, chat.people["client"]) == {chat.group: 3}, "four messages, one deleted: three unread"

    direct = start_direct(db, member, chat.people["assistant"])
    post(db, chat, "assistant", "psst", conversation=direct)
    run(db, member, "update public.conversation_participants set muted = true where conversation_id = %s", (direct,))
    rows = run(db, member, "select conversation_id, unread_count, muted from public.unread_counts()"
               " order by conversation_id", method="GET")
    assert sorted(rows) == sorted([(chat.group, 1, False), (direct, 1, True)])


def test_newcomers_to_a_group_start_with_its_history_read(db, chat):
    post(db, chat, "manager", "history")
    run(db, chat.people["manager"], "insert into public.conversation_participants (conversation_id, user_id)"
        " values (%s, %s)", (chat.group, chat.people["assistant"]))
    assert unread(db, chat.people["assistant"]) == {chat.group: 0}
    post(db, chat, "manager", "news")
    assert unread(db, chat.people["assistant"]) == {chat.group: 1}


def test_mark_read_refuses_conversations_the_caller_is_not_in(db, chat):
    error = refusal(db, chat.people["assistant"], "select public.mark_read(%s)", (chat.group,))
    assert error.status == 404 and "conversation not found" in str(error)


# -- analytics ------------------------------------------------------------------------------------------------

def test_owners_and_admins_see_message_activity_per_conversation_and_day(db, chat):
    for body in ("a", "b", "c"):
        post(db, chat, "manager", body)
    deleted = post(db, chat, "member", "d")
    run(db, chat.people["member"], "update public.messages set deleted_at = now() where id = %s", (deleted,))
    today, = db.execute("select (now() at time zone 'UTC')::date").fetchone()
    for who in ("owner", "admin"):
        rows = run(db, chat.people[who], "select conversation_id, day, messages, deleted, senders"
                   " from public.message_activity(%s)", (chat.org,), method="GET")
        assert rows == [(chat.group, today, 4, 1, 2)], who
    for who in ("manager", "member", "outsider"):
        assert refusal(db, chat.people[who], "select * from public.message_activity(%s)",
                       (chat.org,)).status == 403, who
    error = refusal(db, chat.people["owner"], "select * from public.message_activity(%s, %s, %s)",
                    (chat.org, today, today.replace(year=today.year - 2)))
    assert error.status == 400 and "run forwards" in str(error)


# -- realtime: broadcasts and postgres_changes ----------------------------------------------------------------

def broadcasts(db, conversation: uuid.UUID) -> list[tuple]:
    return db.execute("select event, private, extension, payload from realtime.messages where topic = %s"
                      " order by inserted_at, payload->>'operation'", (f"conversation:{conversation}",)).fetchall()


PAYLOAD_KEYS = {"id", "old_record", "record", "operation", "table", "schema"}


def test_a_new_message_is_broadcast_privately_with_realtimes_payload_shape(db, chat):
    message = post(db, chat, "member", "live")
    (event, private, extension, payload), = broadcasts(db, chat.group)
    assert (event, private, extension) == ("message_created", True, "broadcast")
    assert set(payload) == PAYLOAD_KEYS, "broadcast_changes: {old_record, record, operation, table, schema} + id"
    assert (payload["operation"], payload["table"], payload["schema"]) == ("INSERT", "messages", "public")
    assert payload["old_record"] is None
    assert payload["record"]["id"] == str(message) and payload["record"]["body"] == "live"
    assert payload["record"]["sender_id"] == str(chat.people["member"])
    row_id, = db.execute("select id from realtime.messages where topic = %s",
                         (f"conversation:{chat.group}",)).fetchone()
    assert payload["id"] == str(row_id), "realtime.send stores the row id in the payload"


def test_edits_and_deletions_are_broadcast_without_deleted_content(db, chat):
    message = post(db, chat, "member", "first")
    run(db, chat.people["member"], "update public.messages set body = 'second' where id = %s", (message,))
    run(db, chat.people["member"], "update public.messages set deleted_at = now() where id = %s", (message,))
    hard = post(db, chat, "member", "to be purged")
    with as_service(db) as cur:
        cur.execute("delete from public.messages where id = %s", (hard,))
    rows = broadcasts(db, chat.group)  # one transaction: inserted_at is the same for all, so compare unordered
    assert sorted((event, payload["operation"]) for event, _, _, payload in rows) == sorted([
        ("message_created", "INSERT"), ("message_edited", "UPDATE"), ("message_deleted", "UPDATE"),
        ("message_created", "INSERT"), ("message_deleted", "DELETE")])
    assert all(set(payload) == PAYLOAD_KEYS and private for _, private, _, payload in rows)
    by_event = {(event, payload["operation"]): payload for event, _, _, payload in rows}
    edited, soft, purged = (by_event[("message_edited", "UPDATE")], by_event[("message_deleted", "UPDATE")],
                            by_event[("message_deleted", "DELETE")])
    assert (edited["old_record"]["body"], edited["record"]["body"]) == ("first", "second")
    assert edited["record"]["edited_at"] is not None
    assert soft["old_record"] is None and soft["record"]["body"] == "" and soft["record"]["deleted_at"]
    assert purged["record"] is None
    assert purged["old_record"] == {"id": str(hard), "conversation_id": str(chat.group),
                                    "sender_id": str(chat.people["member"]),
                                    "created_at": purged["old_record"]["created_at"]}, "ids only, never the body"


def test_messages_are_published_for_postgres_changes_with_full_old_rows(db):
    assert db.execute("select count(*) from pg_publication_tables where pubname = 'supabase_realtime'"
                      " and schemaname = 'public' and tablename = 'messages'").fetchone()[0] == 1
    assert db.execute("select relreplident from pg_class where oid = 'public.messages'::regclass"
                      ).fetchone()[0] == "f"


def test_the_edit_window_is_not_reachable_through_the_api(db, chat):
    for who in ("owner", "member"):
        error = refusal(db, chat.people[who], "update internal.messaging_settings set edit_window = interval '1 day'")
        assert error.status == 403, f"{who}: only the database owner sets the edit window"
