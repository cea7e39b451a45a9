"""Organizations, memberships, invitations and audit: the rules enforced in SQL, exercised as PostgREST would."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import psycopg
import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_anon, as_service, as_user
from tests import factories

# -- helpers --------------------------------------------------------------------------------------------------

def rpc(db, user, sql: str, params=()):
    """Call an RPC as `user` (a POST, like supabase-js `rpc()`); returns the rows."""
    with as_user(db, user) as cur:
        return cur.execute(sql, params).fetchall()


def refused(db, user, sql: str, params=()) -> RequestError:
    """Call an RPC as `user` expecting PostgREST to answer an error; returns it."""
    with pytest.raises(RequestError) as caught:
        rpc(db, user, sql, params)
    return caught.value


def role_of(db, org, user):
    row = db.execute("select role from public.memberships where organization_id = %s and user_id = %s",
                     (org, user)).fetchone()
    return row[0] if row else None


@pytest.fixture
def org_with(db, make_user) -> Callable[..., tuple[uuid.UUID, dict[str, uuid.UUID]]]:
    """org_with(owner=1, admin=1, ...) -> (org id, {"owner": id, "admin": id, ...}); the first owner creates it."""

    def build(**counts: int) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
        founder = make_user(email=f"founder-{uuid.uuid4().hex[:6]}@example.com")
        org = rpc(db, founder, "select id from public.create_organization('Org', %s)", (f"org-{uuid.uuid4().hex[:8]}",))
        org_id = org[0][0]
        people = {"owner": founder}
        for role, count in counts.items():
            first = 2 if role == "owner" else 1  # the founder is "owner"; more owners are owner2, owner3, ...
            for n in range(first, count + 1):
                user = make_user()
                db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, %s)",
                           (org_id, user, role))
                people[role if n == 1 else f"{role}{n}"] = user
        return org_id, people

    return build


# -- organizations --------------------------------------------------------------------------------------------

def test_creating_an_organization_makes_the_creator_its_owner(db, make_user):
    alice = make_user()
    org_id, slug, created_by = rpc(db, alice, "select id, slug, created_by from public.create_organization("
                                              "'  Acme  ', 'acme-co')")[0]
    assert (slug, created_by) == ("acme-co", alice)
    assert role_of(db, org_id, alice) == "owner", "the creator becomes the owner"
    assert db.execute("select name from public.organizations where id = %s", (org_id,)).fetchone()[0] == "Acme"
    mine = rpc(db, alice, "select organization_id, slug, role from public.current_user_organizations()")
    assert mine == [(org_id, "acme-co", "owner")]


@pytest.mark.parametrize(("name", "slug", "status", "words"), [
    ("Acme", "Not A Slug", 400, "is not valid"),
    ("Acme", "-acme", 400, "is not valid"),
    ("Acme", "a" * 49, 400, "is not valid"),
    ("   ", "acme-blank", 400, "1 to 100 characters"),
])
def test_bad_organization_input_is_a_400_with_a_clear_message(db, make_user, name, slug, status, words):
    error = refused(db, make_user(), "select public.create_organization(%s, %s)", (name, slug))
    assert error.status == status and words in error.message


def test_a_taken_slug_is_a_409(db, make_user):
    rpc(db, make_user(), "select public.create_organization('One', 'taken')")
    error = refused(db, make_user(), "select public.create_organization('Two', 'taken')")
    assert error.status == 409 and 'the slug "taken" is taken' in error.message


def test_anonymous_visitors_cannot_create_organizations(db):
    with pytest.raises(RequestError) as caught, as_anon(db) as cur:
        cur.execute("select public.create_organization('Nope', 'nope')")
    assert caught.value.status == 401, "execute is granted to authenticated only: anon gets 401"


# -- roles ----------------------------------------------------------------------------------------------------

def test_an_organization_always_keeps_at_least_one_owner(db, org_with):
    org, people = org_with(member=1)
    owner = people["owner"]
    for sql, params in [
        ("select public.leave_organization(%s)", (org,)),
        ("select public.change_member_role(%s, %s, 'admin')", (org, owner)),
        ("select public.remove_member(%s, %s)", (org, owner)),
    ]:
        error = refused(db, owner, sql, params)
        assert error.status == 409 and "at least one owner" in error.message, sql
    assert role_of(db, org, owner) == "owner"


def test_with_a_second_owner_the_first_may_step_down_or_leave(db, org_with):
    org, people = org_with(owner=2)
    rpc(db, people["owner"], "select public.change_member_role(%s, %s, 'member')", (org, people["owner"]))
    assert role_of(db, org, people["owner"]) == "member", "lowering one's own role is allowed"
    rpc(db, people["owner2"], "select public.remove_member(%s, %s)", (org, people["owner"]))
    assert role_of(db, org, people["owner"]) is None


def test_the_service_role_cannot_remove_the_last_owner_either(db, org_with):
    org, people = org_with()
    with pytest.raises(RequestError) as caught, as_service(db) as cur:
        cur.execute("delete from public.memberships where organization_id = %s", (org,))
    assert caught.value.status == 409, "the rule lives in a trigger: it binds every writer"


def test_deleting_the_organization_removes_every_membership(db, org_with):
    org, people = org_with(admin=1)
    with as_user(db, people["owner"], method="DELETE") as cur:
        assert cur.execute("delete from public.organizations where id = %s returning id", (org,)).fetchall() == [(org,)]
    assert db.execute("select count(*) from public.memberships where organization_id = %s", (org,)).fetchone()[0] == 0


def test_nobody_raises_their_own_role(db, org_with):
    org, people = org_with(admin=1, manager=1, client=1)
    for role, target in [("admin", "owner"), ("manager", "admin"), ("client", "member")]:
        error = refused(db, people[role], "select public.change_member_role(%s, %s, %s)", (org, people[role], target))
        assert error.status == 403, f"a {role} must not raise themselves to {target}"
        assert role_of(db, org, people[role]) == role


def test_admins_manage_roles_below_owner_but_never_owners(db, org_with):
    org, people = org_with(admin=1, manager=1, member=1)
    admin = people["admin"]
    rpc(db, admin, "select public.change_member_role(%s, %s, 'manager')", (org, people["member"]))
    assert role_of(db, org, people["member"]) == "manager"
    rpc(db, admin, "select public.remove_member(%s, %s)", (org, people["manager"]))
    assert role_of(db, org, people["manager"]) is None

    for sql, params in [
        ("select public.change_member_role(%s, %s, 'owner')", (org, people["member"])),
        ("select public.change_member_role(%s, %s, 'admin')", (org, people["owner"])),
        ("select public.remove_member(%s, %s)", (org, people["owner"])),
    ]:
        error = refused(db, admin, sql, params)
        assert error.status == 403 and "only owners" in error.message, sql


def test_only_owners_and_admins_manage_members(db, org_with):
    org, people = org_with(manager=1, member=2, client=1)
    for role in ("manager", "member", "client"):
        error = refused(db, people[role], "select public.remove_member(%s, %s)", (org, people["member2"]))
        assert error.status == 403, f"a {role} must not remove other members"
        error = refused(db, people[role], "select public.change_member_role(%s, %s, 'client')",
                        (org, people["member2"]))
        assert error.status == 403, f"a {role} must not change other members' roles"
    assert role_of(db, org, people["member2"]) == "member"


def test_owners_can_make_owners(db, org_with):
    org, people = org_with(admin=1)
    rpc(db, people["owner"], "select public.change_member_role(%s, %s, 'owner')", (org, people["admin"]))
    assert role_of(db, org, people["admin"]) == "owner"


def test_outsiders_get_403_and_unknown_members_404(db, org_with, make_user):
    org, people = org_with()
    error = refused(db, make_user(), "select public.change_member_role(%s, %s, 'member')", (org, people["owner"]))
    assert error.status == 403, "a non-member learns nothing about the organization"
    error = refused(db, people["owner"], "select public.remove_member(%s, %s)", (org, uuid.uuid4()))
    assert error.status == 404 and "is not a member" in error.message


def test_two_owners_demoting_each_other_at_once_leave_one_owner(fresh_db):
    """Both requests commit concurrently; the organization row lock serialises them."""
    with psycopg.connect(fresh_db, autocommit=True) as setup:
        a, b, org = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        for user in (a, b):
            factories.user(setup, f"{user}@example.com", user_id=user)
        factories.organization(setup, "Race", "race", owner=a, org_id=org)
        factories.membership(setup, org, b, "owner")

    barrier = threading.Barrier(2)
    outcomes: dict[uuid.UUID, object] = {}

    def demote(actor: uuid.UUID, target: uuid.UUID) -> None:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            try:
                with as_user(conn, actor) as cur:
                    barrier.wait()
                    cur.execute("select public.change_member_role(%s, %s, 'member')", (org, target))
                outcomes[actor] = "ok"
            except RequestError as error:
                outcomes[actor] = error.status

    threads = [threading.Thread(target=demote, args=(a, b)), threading.Thread(target=demote, args=(b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # The loser is refused either because it is no longer an owner (403) or because it would remove the last
    # owner (409), depending on which check it reaches after the lock; never both succeed.
    assert list(outcomes.values()).count("ok") == 1, f"exactly one demotion wins: {outcomes}"
    assert {v for v in outcomes.values() if v != "ok"} <= {403, 409}
    with psycopg.connect(fresh_db) as check:
        owners = check.execute("select count(*) from public.memberships where role = 'owner'").fetchone()[0]
    assert owners == 1


# -- invitations ----------------------------------------------------------------------------------------------

def invite(db, inviter, org, email, role="member"):
    return rpc(db, inviter, "select invitation_id, token, expires_at from public.invite_member(%s, %s, %s)",
               (org, email, role))[0]


def test_an_invitation_is_accepted_once_by_the_invited_address(db, org_with, make_user):
    org, people = org_with()
    invitee = make_user(email="new.person@example.com")
    invitation_id, token, expires_at = invite(db, people["owner"], org, "New.Person@Example.com", "manager")
    assert len(token) == 64
    stored = db.execute("select email, token_hash, expires_at - created_at from public.invitations where id = %s",
                        (invitation_id,)).fetchone()
    assert stored[0] == "new.person@example.com", "addresses are stored lower-cased"
    assert token.encode() not in bytes(stored[1]) and len(bytes(stored[1])) == 32, "only the sha256 is stored"
    assert stored[2].days == 7, "invitations expire after 7 days by default"

    joined = rpc(db, invitee, "select organization_id, user_id, role from public.accept_invitation(%s)", (token,))
    assert joined == [(org, invitee, "manager")]
    accepted_by = db.execute("select accepted_by from public.invitations where id = %s", (invitation_id,)).fetchone()
    assert accepted_by[0] == invitee


def test_every_way_an_invitation_can_fail_has_its_own_status_and_message(db, org_with, make_user):
    org, people = org_with(member=1)
    owner = people["owner"]
    invitee, stranger = make_user(email="invitee@example.com"), make_user(email="stranger@example.com")

    assert refused(db, invitee, "select public.accept_invitation('not-a-token')").status == 404

    _, wrong_address_token, _ = invite(db, owner, org, "invitee@example.com")
    error = refused(db, stranger, "select public.accept_invitation(%s)", (wrong_address_token,))
    assert error.status == 403 and "another e-mail address" in error.message

    expired_id, expired_token, _ = invite(db, owner, org, "late@example.com")
    late = make_user(email="late@example.com")
    db.execute("update public.invitations set expires_at = now() - interval '1 second' where id = %s", (expired_id,))
    error = refused(db, late, "select public.accept_invitation(%s)", (expired_token,))
    assert error.status == 410 and "expired" in error.message

    revoked_id, revoked_token, _ = invite(db, owner, org, "revoked@example.com")
    rpc(db, owner, "select public.revoke_invitation(%s)", (revoked_id,))
    revoked_user = make_user(email="revoked@example.com")
    error = refused(db, revoked_user, "select public.accept_invitation(%s)", (revoked_token,))
    assert error.status == 410 and "revoked" in error.message

    rpc(db, invitee, "select public.accept_invitation(%s)", (wrong_address_token,))
    error = refused(db, invitee, "select public.accept_invitation(%s)", (wrong_address_token,))
    assert error.status == 409 and "already used" in error.message

    member_email = db.execute("select email from auth.users where id = %s", (people["member"],)).fetchone()[0]
    error = refused(db, owner, "select public.invite_member(%s, %s, 'member')", (org, member_email))
    assert error.status == 409 and "already a member" in error.message

    error = refused(db, owner, "select public.invite_member(%s, 'not an address', 'member')", (org,))
    assert error.status == 400 and "is not an e-mail address" in error.message

    with pytest.raises(RequestError) as anon, as_anon(db) as cur:
        cur.execute("select public.accept_invitation(%s)", (revoked_token,))
    assert anon.value.status == 401


def test_a_member_invited_again_after_joining_elsewhere_cannot_join_twice(db, org_with, make_user):
    org, people = org_with()
    person = make_user(email="twice@example.com")
    _, first, _ = invite(db, people["owner"], org, "twice@example.com")
    rpc(db, person, "select public.accept_invitation(%s)", (first,))
    db.execute("insert into public.invitations (organization_id, email, token_hash, invited_by) "
               "values (%s, 'twice@example.com', sha256('second'::bytea), %s)", (org, people["owner"]))
    error = refused(db, person, "select public.accept_invitation('second')")
    assert error.status == 409 and "already a member" in error.message


def test_reinviting_an_address_replaces_the_pending_invitation(db, org_with, make_user):
    org, people = org_with()
    person = make_user(email="again@example.com")
    _, old_token, _ = invite(db, people["owner"], org, "again@example.com")
    _, new_token, _ = invite(db, people["owner"], org, "again@example.com")
    assert refused(db, person, "select public.accept_invitation(%s)", (old_token,)).status == 410
    assert rpc(db, person, "select role from public.accept_invitation(%s)", (new_token,)) == [("member",)]


def test_only_owners_and_admins_invite_and_only_owners_invite_owners(db, org_with):
    org, people = org_with(admin=1, manager=1)
    assert refused(db, people["manager"], "select public.invite_member(%s, 'x@example.com', 'member')",
                   (org,)).status == 403
    assert refused(db, people["admin"], "select public.invite_member(%s, 'x@example.com', 'owner')",
                   (org,)).status == 403
    invite(db, people["admin"], org, "x@example.com", "admin")
    invite(db, people["owner"], org, "y@example.com", "owner")


def test_revoking_needs_an_owner_or_admin_and_cannot_undo_an_acceptance(db, org_with, make_user):
    org, people = org_with(member=1)
    invitation_id, token, _ = invite(db, people["owner"], org, "joiner@example.com")
    assert refused(db, people["member"], "select public.revoke_invitation(%s)", (invitation_id,)).status == 404, \
        "a member cannot even learn that the invitation exists"
    rpc(db, make_user(email="joiner@example.com"), "select public.accept_invitation(%s)", (token,))
    error = refused(db, people["owner"], "select public.revoke_invitation(%s)", (invitation_id,))
    assert error.status == 409 and "remove the member instead" in error.message


def test_the_token_hash_is_never_readable_by_users(db, org_with):
    org, people = org_with()
    invite(db, people["owner"], org, "secret@example.com")
    with pytest.raises(RequestError) as caught, as_user(db, people["owner"], method="GET") as cur:
        cur.execute("select token_hash from public.invitations")
    assert caught.value.status == 403
    with as_user(db, people["owner"], method="GET") as cur:
        assert cur.execute("select email from public.invitations").fetchall() == [("secret@example.com",)]


# -- work -----------------------------------------------------------------------------------------------------

def test_assignees_may_change_only_the_status_of_their_tasks(db, org_with):
    org, people = org_with(manager=1, assistant=1)
    with as_user(db, people["manager"]) as cur:
        project = cur.execute("insert into public.projects (organization_id, name) values (%s, 'P') returning id",
                              (org,)).fetchone()[0]
        task = cur.execute("insert into public.tasks (organization_id, project_id, title, assignee_id) "
                           "values (%s, %s, 'Do it', %s) returning id",
                           (org, project, people["assistant"])).fetchone()[0]
    with as_user(db, people["assistant"], method="PATCH") as cur:
        done = cur.execute("update public.tasks set status = 'done' where id = %s returning completed_at",
                           (task,)).fetchone()
    assert done[0] is not None, "completed_at follows the status"
    error = refused(db, people["assistant"], "update public.tasks set title = 'mine now' where id = %s", (task,))
    assert error.status == 403 and "only the status" in error.message


def test_tasks_can_only_be_assigned_to_members_and_stay_in_their_projects_organization(db, org_with, make_user):
    org, people = org_with(manager=1)
    other_org, _ = org_with()
    with as_user(db, people["manager"]) as cur:
        project = cur.execute("insert into public.projects (organization_id, name) values (%s, 'P') returning id",
                              (org,)).fetchone()[0]
    error = refused(db, people["manager"], "insert into public.tasks (organization_id, project_id, title, assignee_id)"
                    " values (%s, %s, 'T', %s)", (org, project, make_user()))
    assert error.status == 400 and "not a member" in error.message
    with pytest.raises(RequestError) as moved, as_service(db) as cur:
        cur.execute("insert into public.tasks (organization_id, project_id, title) values (%s, %s, 'T')",
                    (other_org, project))
    assert moved.value.status == 409, "a task cannot sit in another organization than its project (foreign key)"


def test_creators_are_recorded_from_the_token_not_the_request_body(db, org_with, make_user):
    org, people = org_with(manager=1)
    someone_else = make_user()
    with as_user(db, people["manager"]) as cur:
        created_by = cur.execute("insert into public.projects (organization_id, name, created_by) "
                                 "values (%s, 'P', %s) returning created_by", (org, someone_else)).fetchone()[0]
    assert created_by == people["manager"]


# -- audit ----------------------------------------------------------------------------------------------------

def audit(db, org):
    return db.execute("select actor_id, table_name, operation, record_id, changes from internal.audit_log"
                      " where organization_id = %s order by id", (org,)).fetchall()


def test_each_change_writes_an_audit_row_with_actor_and_changed_columns(db, org_with, make_user):
    org, people = org_with(member=1)
    owner, member = people["owner"], people["member"]
    before = len(audit(db, org))
    rpc(db, owner, "select public.change_member_role(%s, %s, 'manager')", (org, member))
    invitation_id, _, _ = invite(db, owner, org, "audited@example.com")
    with as_user(db, member) as cur:
        cur.execute("insert into public.projects (organization_id, name) values (%s, 'Audited')", (org,))
    with as_user(db, owner, method="PATCH") as cur:
        cur.execute("update public.organizations set name = 'Renamed' where id = %s", (org,))
    rows = audit(db, org)[before:]
    assert [(r[1], r[2]) for r in rows] == [
        ("public.memberships", "UPDATE"), ("public.invitations", "INSERT"),
        ("public.projects", "INSERT"), ("public.organizations", "UPDATE")]
    role_change = rows[0]
    assert role_change[0] == owner, "the actor is the requesting user"
    assert role_change[3] == {"organization_id": str(org), "user_id": str(member)}
    assert role_change[4] == {"role": {"old": "member", "new": "manager"}}, "only changed columns, old and new"
    assert rows[1][4]["token_hash"] == {"new": "[redacted]"}, "secrets never reach the audit trail"
    assert rows[1][3] == {"id": str(invitation_id)}
    assert rows[3][4] == {"name": {"old": "Org", "new": "Renamed"}}


@pytest.mark.parametrize("statement", [
    "update internal.audit_log set operation = 'DELETE'",
    "delete from internal.audit_log",
    "truncate internal.audit_log",
])
def test_audit_rows_are_immutable_even_for_the_database_owner(db, org_with, statement):
    org_with()
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        db.execute(statement)


def test_no_api_role_can_reach_the_audit_table_directly(db, org_with):
    org, people = org_with()
    for acting in (as_user(db, people["owner"], method="GET"), as_service(db, method="GET")):
        with pytest.raises(RequestError) as caught, acting as cur:
            cur.execute("select * from internal.audit_log")
        assert caught.value.status == 403


def test_owners_and_admins_read_their_trail_through_the_rpc_and_others_cannot(db, org_with):
    org, people = org_with(admin=1, manager=1)
    trail = rpc(db, people["admin"], "select table_name, operation from public.organization_audit_log(%s)", (org,))
    assert ("public.organizations", "INSERT") in trail and trail[0] == ("public.memberships", "INSERT"), \
        "newest first"
    page = rpc(db, people["owner"], "select id from public.organization_audit_log(%s, 2)", (org,))
    older = rpc(db, people["owner"], "select id from public.organization_audit_log(%s, 2, %s)", (org, page[-1][0]))
    assert len(page) == 2 and all(row[0] < page[-1][0] for row in older), "pages continue below before_id"
    assert refused(db, people["manager"], "select * from public.organization_audit_log(%s)", (org,)).status == 403


def test_a_project_never_moves_to_another_organization(db, org_with):
    org, people = org_with()
    other, _ = org_with()
    db.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner')",
               (other, people["owner"]))
    with as_user(db, people["owner"]) as cur:
        project = cur.execute("insert into public.projects (organization_id, name) values (%s, 'P') returning id",
                              (org,)).fetchone()[0]
    error = refused(db, people["owner"], "update public.projects set organization_id = %s where id = %s",
                    (other, project))
    assert error.status == 403, "users may not even write organization_id (it is not granted for update)"
    with pytest.raises(RequestError) as pinned, as_service(db) as cur:
        cur.execute("update public.projects set organization_id = %s where id = %s", (other, project))
    assert pinned.value.status == 400 and "cannot move to another organization" in pinned.value.message, \
        "and a trigger pins rows to their organization for every writer, the service role included"


def test_an_invitation_lapses_when_its_sender_can_no_longer_invite(db, org_with, make_user):
    org, people = org_with(admin=2)
    _, by_removed_admin, _ = invite(db, people["admin"], org, "first@example.com", "admin")
    _, by_demoted_admin, _ = invite(db, people["admin2"], org, "second@example.com", "member")
    rpc(db, people["owner"], "select public.remove_member(%s, %s)", (org, people["admin"]))
    rpc(db, people["owner"], "select public.change_member_role(%s, %s, 'member')", (org, people["admin2"]))
    for email, token in (("first@example.com", by_removed_admin), ("second@example.com", by_demoted_admin)):
        error = refused(db, make_user(email=email), "select public.accept_invitation(%s)", (token,))
        assert error.status == 410 and "can no longer invite" in error.message, \
            "a removed or demoted admin's invitations must not keep working"


def test_an_owner_invitation_lapses_when_its_sender_is_no_longer_an_owner(db, org_with, make_user):
    org, people = org_with(owner=2)
    _, token, _ = invite(db, people["owner2"], org, "heir@example.com", "owner")
    rpc(db, people["owner"], "select public.change_member_role(%s, %s, 'admin')", (org, people["owner2"]))
    error = refused(db, make_user(email="heir@example.com"), "select public.accept_invitation(%s)", (token,))
    assert error.status == 410


@pytest.mark.parametrize(("table", "column", "value"), [
    ("projects", "created_by", "gen_random_uuid()"), ("projects", "created_at", "'2000-01-01'"),
    ("projects", "organization_id", "gen_random_uuid()"), ("tasks", "created_by", "gen_random_uuid()"),
    ("tasks", "created_at", "'2000-01-01'"),
])
def test_who_created_a_row_and_when_cannot_be_rewritten(db, org_with, table, column, value):
    org, people = org_with(manager=1)
    with as_user(db, people["manager"]) as cur:
        project = cur.execute("insert into public.projects (organization_id, name) values (%s, 'P') returning id",
                              (org,)).fetchone()[0]
        cur.execute("insert into public.tasks (organization_id, project_id, title) values (%s, %s, 'T')",
                    (org, project))
    error = refused(db, people["manager"], f"update public.{table} set {column} = {value} where organization_id = %s",
                    (org,))
    assert error.status == 403, f"{table}.{column} is not granted for update"
