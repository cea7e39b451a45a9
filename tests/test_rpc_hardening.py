"""Defects of issue 20 (items 3-6), one test each, all as PostgREST answers them (POST /rpc/<name>, table writes):
removed members keep no rights through an RPC, an outsider gets the same error whatever exists on the other side,
bad input to invite_member is a 400 (never a 500), and no error carries a row image of a protected table."""

from __future__ import annotations

import random
import re
import string
import uuid

import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_user, rpc_as_user

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def outcome_of(db, user, query: str, params: dict) -> tuple:
    """What the client sees: ("ok", rows affected) or (status, code, message with ids masked, details)."""
    try:
        with as_user(db, user) as cur:
            cur.execute(query, params)
            return ("ok", cur.rowcount)
    except RequestError as refused:
        return (refused.status, refused.code, UUID.sub("<id>", refused.message), refused.details)


def rpc_refusal(db, user, function: str, args: dict) -> RequestError:
    with pytest.raises(RequestError) as caught:
        rpc_as_user(db, user, function, args)
    return caught.value


@pytest.fixture
def two_orgs(db, make_user, make_organization, add_member, make_project):
    """Acme (owner, manager, member, a project, a group conversation, a direct one) and Rival (its owner)."""
    acme_owner, rival_owner = make_user(), make_user()
    acme = make_organization(owner=acme_owner)
    rival = make_organization(owner=rival_owner)
    people = {"owner": acme_owner, "manager": add_member(acme, role="manager"),
              "member": add_member(acme, role="member"), "rival": rival_owner}
    project = make_project(acme)
    conversation, = db.execute("insert into public.conversations (organization_id, title, created_by)"
                               " values (%s, 'Team', %s) returning id", (acme, acme_owner)).fetchone()
    with as_user(db, people["owner"]) as cur:
        direct, = cur.execute("select id from public.start_direct_conversation(%s, %s)",
                              (people["member"], acme)).fetchone()
    return {"acme": acme, "rival": rival, "project": project, "conversation": conversation, "direct": direct,
            **people}


# ---------------------------------------------------------------------------------------------------------
# item 3: every RPC checks current membership
# ---------------------------------------------------------------------------------------------------------

def test_a_removed_member_can_no_longer_cancel_their_own_generation(db, two_orgs):
    w = two_orgs
    generation = rpc_as_user(db, w["member"], "request_generation", {"prompt": "Build it", "org_id": w["acme"]}).body
    db.execute("delete from public.memberships where organization_id = %s and user_id = %s", (w["acme"], w["member"]))

    refused = rpc_refusal(db, w["member"], "cancel_generation", {"generation_id": generation["id"]})

    assert refused.status == 404, "a removed member must not cancel generations of their former organization"
    assert db.execute("select status from public.generations where id = %s",
                      (generation["id"],)).fetchone()[0] == "queued", "the generation is untouched"


# ---------------------------------------------------------------------------------------------------------
# item 4: no error oracles across tenants
# ---------------------------------------------------------------------------------------------------------

def test_a_task_planted_in_another_organization_gets_the_same_error_whatever_its_assignee(db, two_orgs):
    w = two_orgs
    plant = ("insert into public.tasks (organization_id, project_id, title, assignee_id)"
             " values (%(org)s, %(project)s, 'Planted', %(assignee)s)")
    real = outcome_of(db, w["rival"], plant, {"org": w["acme"], "project": w["project"], "assignee": w["member"]})
    stranger = outcome_of(db, w["rival"], plant, {"org": w["acme"], "project": w["project"],
                                                  "assignee": uuid.uuid4()})
    random_org = outcome_of(db, w["rival"], plant, {"org": uuid.uuid4(), "project": uuid.uuid4(),
                                                    "assignee": uuid.uuid4()})
    assert real[0] == 403, f"an outsider's task is refused (got {real})"
    assert real == stranger == random_org, "whether the assignee belongs to the organization must not show"


@pytest.mark.parametrize("target", ["conversation", "direct"])
def test_joining_a_conversation_of_another_organization_looks_the_same_as_joining_none(db, two_orgs, target):
    w = two_orgs
    join = "insert into public.conversation_participants (conversation_id, user_id) values (%(c)s, %(u)s)"
    for user in ("rival", "member"):
        real = outcome_of(db, w["rival"], join, {"c": w[target], "u": w[user]})
        random_id = outcome_of(db, w["rival"], join, {"c": uuid.uuid4(), "u": w[user]})
        assert real[0] == 403, f"an outsider cannot add anyone to a conversation (got {real})"
        assert real == random_id, "a real conversation must answer like a random id (existence, kind, members)"


@pytest.mark.parametrize("target", ["conversation", "direct"])
def test_posting_in_a_conversation_of_another_organization_looks_the_same_as_posting_in_none(db, two_orgs, target):
    w = two_orgs
    post = "insert into public.messages (conversation_id, body) values (%(c)s, 'Planted')"
    real = outcome_of(db, w["rival"], post, {"c": w[target]})
    random_id = outcome_of(db, w["rival"], post, {"c": uuid.uuid4()})
    assert real[0] == 403 and real == random_id, "whether a conversation exists must not show to an outsider"


def test_a_member_of_the_organization_still_learns_why_a_participant_is_refused(db, two_orgs, make_user):
    """The uniform refusal is for outsiders; inside the organization the helpful messages stay."""
    w = two_orgs
    join = "insert into public.conversation_participants (conversation_id, user_id) values (%(c)s, %(u)s)"
    outcome = outcome_of(db, w["owner"], join, {"c": w["conversation"], "u": make_user()})
    assert outcome[:2] == (400, "22023") and "only members" in outcome[2]


# ---------------------------------------------------------------------------------------------------------
# items 5 and 6: invite_member validates its input; errors carry no row images
# ---------------------------------------------------------------------------------------------------------

# Random letters do not compress: an address of ~3 kB exceeded the pending-invitation index's row size (a 500).
NOISE = "".join(random.Random(20).choices(string.ascii_lowercase + string.digits, k=3000))


@pytest.mark.parametrize("email", [NOISE + "@example.com", "x@" + NOISE + ".com", "a" * 250 + "@ex.com"])
def test_an_overlong_address_is_a_400_naming_the_limit_not_a_500(db, two_orgs, email):
    refused = rpc_refusal(db, two_orgs["owner"], "invite_member", {"org_id": two_orgs["acme"], "email": email})
    assert refused.status == 400 and refused.code == "22023", f"got {refused.status} {refused.code}"
    assert "254" in refused.message and not refused.details, "the message names the limit and nothing else"
    assert "invitations" not in (refused.message + (refused.hint or "")), "no index or table names"


def test_a_null_role_is_a_clean_400_without_the_invitation_row(db, two_orgs):
    refused = rpc_refusal(db, two_orgs["owner"], "invite_member",
                          {"org_id": two_orgs["acme"], "email": "new@example.com", "role": None})
    assert refused.status == 400 and refused.code == "22023"
    assert not refused.details, f"the error must not print the row (token_hash included): {refused.details!r}"
    assert "role" in refused.message


def test_changing_a_role_to_null_is_a_clean_400_without_the_membership_row(db, two_orgs):
    refused = rpc_refusal(db, two_orgs["owner"], "change_member_role",
                          {"org_id": two_orgs["acme"], "user_id": two_orgs["member"], "new_role": None})
    assert refused.status == 400 and refused.code == "22023" and not refused.details


def test_a_wrong_address_learns_nothing_about_the_invitations_state(db, two_orgs, make_user):
    w = two_orgs
    invitation_id, token, _ = rpc_as_user(db, w["owner"], "invite_member",
                                          {"org_id": w["acme"], "email": "someone@example.com"}).body[0].values()
    wrong = make_user(email="other@example.com")
    before = rpc_refusal(db, wrong, "accept_invitation", {"token": token})
    rpc_as_user(db, w["owner"], "revoke_invitation", {"invitation_id": invitation_id})
    after = rpc_refusal(db, wrong, "accept_invitation", {"token": token})
    assert (before.status, before.message) == (after.status, after.message) == (
        403, "this invitation is for another e-mail address")


def test_a_removed_admin_is_refused_by_every_rpc_of_their_former_organization(db, two_orgs, add_member):
    """Deterministic twin of the tenant-isolation property's removed members: every organization-naming RPC."""
    from tests.test_tenant_isolation import FOREIGN_RPCS, plant_restorable_backup

    w = two_orgs
    admin = add_member(w["acme"], role="admin")
    generation = rpc_as_user(db, admin, "request_generation", {"prompt": "Mine", "org_id": w["acme"]}).body["id"]
    invitation_id, token, _ = rpc_as_user(db, admin, "invite_member",
                                          {"org_id": w["acme"], "email": "friend@example.com"}).body[0].values()
    message, = db.execute("insert into public.messages (conversation_id, sender_id, body) values (%s, %s, 'Hi')"
                          " returning id", (w["conversation"], w["member"])).fetchone()
    backup = plant_restorable_backup(db, w["acme"])
    db.execute("delete from public.memberships where organization_id = %s and user_id = %s", (w["acme"], admin))
    params = {"org": w["acme"], "me": admin, "its_member": w["member"], "email": "accomplice@example.com",
              "its_invitation": invitation_id, "its_token": token, "its_conversation": w["conversation"],
              "its_generation": generation, "its_message": message, "its_backup": backup}
    for rpc, query in FOREIGN_RPCS.items():
        outcome = outcome_of(db, admin, query, params)
        assert isinstance(outcome[0], int) and 400 <= outcome[0] < 500, f"{rpc} must refuse a removed admin: {outcome}"
