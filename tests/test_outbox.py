"""The e-mail outbox (sql/0010): queued with its job in the caller's transaction, deduplicated, validated."""

from __future__ import annotations

import psycopg
import pytest


def enqueue(db: psycopg.Connection, to: str, template: str = "welcome", data: str = '{"name": "Ada"}',
            org=None, dedupe: str | None = None) -> int:
    return db.execute("select internal.enqueue_email(%s, %s, %s::jsonb, %s, %s)",
                      (to, template, data, org, dedupe)).fetchone()[0]


def test_an_email_is_queued_with_its_send_job(db: psycopg.Connection):
    email_id = enqueue(db, " Ada@Example.com ")
    row = db.execute("select e.to_address, e.status, j.kind, j.payload, j.status from internal.outbox_emails e "
                     "join internal.jobs j on j.id = e.job_id where e.id = %s", (email_id,)).fetchone()
    assert row == ("ada@example.com", "queued", "email.send", {"email_id": email_id}, "queued")


def test_a_dedupe_key_queues_one_email(db: psycopg.Connection):
    first = enqueue(db, "a@example.com", "payment_failed", dedupe="payment_failed:in_1")
    again = enqueue(db, "a@example.com", "payment_failed", dedupe="payment_failed:in_1")
    assert first == again
    assert db.execute("select count(*) from internal.jobs where kind = 'email.send'").fetchone()[0] == 1


@pytest.mark.parametrize(("to", "template", "data", "constraint"), [
    ("not-an-address", "welcome", "{}", "to_address_is_an_address"),
    ("a@example.com", "newsletter", "{}", "template_is_known"),
    ("a@example.com", "welcome", "[]", "data_is_an_object"),
])
def test_bad_emails_are_refused_by_name(db: psycopg.Connection, to, template, data, constraint):
    with pytest.raises(psycopg.errors.CheckViolation, match=constraint):
        enqueue(db, to, template, data)


def test_api_roles_cannot_reach_the_outbox(db: psycopg.Connection):
    for role in ("anon", "authenticated", "service_role"):
        db.execute("savepoint s")
        db.execute(f"set local role {role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("select internal.enqueue_email('a@example.com', 'welcome')")
        db.execute("rollback to savepoint s")


def test_owner_emails_lists_the_owners(db: psycopg.Connection, make_user):
    owner, member = make_user("owner-x@example.com"), make_user("member-x@example.com")
    org = db.execute("insert into public.organizations (name, slug) values ('X', 'x-outbox') returning id"
                     ).fetchone()[0]
    db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner'), "
               "(%s, %s, 'member')", (org, owner, org, member))
    assert [r[0] for r in db.execute("select internal.organization_owner_emails(%s)", (org,))] == \
        ["owner-x@example.com"]
