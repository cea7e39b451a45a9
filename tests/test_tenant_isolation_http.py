"""Tenant isolation as a property, asked through /rest/v1 over HTTP (the twin of tests/test_tenant_isolation.py).

The same random worlds (that module's `world_specs` and `build`), each built and committed in one module database
(worlds accumulate; each is disjoint from the others, so the attacker simply has more organizations to attack).
The attacker then reads every organization-scoped table over HTTP, writes to every foreign organization's rows with
PATCH, DELETE and POST, and calls every tenancy and messaging RPC against it: reads show only their own
organizations, writes are refused or touch nothing, and the superuser sees every foreign row unchanged.
"""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings

from functions_py import tokens
from tests import test_tenant_isolation as isolation
from tests.api_harness import ANON_KEY, SECRET, running_api

EXAMPLES = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

VISIBLE = {"organizations": "id", "memberships": "organization_id", "invitations": "organization_id",
           "projects": "organization_id", "tasks": "organization_id", "conversations": "organization_id",
           "conversation_participants": "organization_id", "messages": "organization_id"}

# (method, table, body) aimed at one foreign organization's rows (filtered by organization_id / id).
WRITES = [
    ("PATCH", "organizations", {"name": "Taken over"}), ("DELETE", "organizations", None),
    ("PATCH", "memberships", {"role": "owner"}), ("DELETE", "memberships", None),
    ("PATCH", "invitations", {"revoked_at": "2030-01-01T00:00:00Z"}), ("DELETE", "invitations", None),
    ("PATCH", "projects", {"name": "Taken over"}), ("DELETE", "projects", None),
    ("PATCH", "tasks", {"status": "done", "title": "Taken over"}), ("DELETE", "tasks", None),
    ("PATCH", "conversations", {"title": "Taken over"}), ("DELETE", "conversations", None),
    ("PATCH", "conversation_participants", {"muted": True}), ("DELETE", "conversation_participants", None),
    ("PATCH", "messages", {"body": "Taken over"}),
]


def plants(params: dict) -> list[tuple[str, dict]]:
    org = str(params["org"])
    return [
        ("memberships", {"organization_id": org, "user_id": str(params["me"]), "role": "owner"}),
        ("projects", {"organization_id": org, "name": "Planted"}),
        ("tasks", {"organization_id": org, "project_id": str(params["project"]), "title": "Planted"}),
        ("conversations", {"organization_id": org, "title": "Spy"}),
        ("conversation_participants", {"conversation_id": str(params["its_conversation"]),
                                       "user_id": str(params["me"])}),
        ("messages", {"conversation_id": str(params["its_conversation"]), "body": "Planted"}),
    ]


def rpcs(params: dict) -> list[tuple[str, dict]]:
    org, member = str(params["org"]), str(params["its_member"])
    return [
        ("change_member_role", {"org_id": org, "user_id": member, "new_role": "client"}),
        ("change_member_role", {"org_id": org, "user_id": str(params["me"]), "new_role": "owner"}),
        ("remove_member", {"org_id": org, "user_id": member}),
        ("leave_organization", {"org_id": org}),
        ("invite_member", {"org_id": org, "email": params["email"], "role": "owner"}),
        ("revoke_invitation", {"invitation_id": str(params["its_invitation"])}),
        ("organization_audit_log", {"org_id": org}),
        ("start_direct_conversation", {"other_user": member, "org_id": org}),
        ("mark_read", {"conversation_id": str(params["its_conversation"])}),
        ("message_activity", {"org_id": org}),
    ]


@pytest.fixture(scope="module")
def served(pg_server, template_db):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    try:
        with running_api(url) as api, httpx.Client(base_url=f"{api.url}/rest/v1", timeout=30) as client, \
                psycopg.connect(url, autocommit=False) as conn:
            yield client, conn
    finally:
        pg_server.drop_database(name)


def _make_user(conn: psycopg.Connection):
    def make_user(email: str | None = None, **meta: object) -> uuid.UUID:
        user_id = uuid.uuid4()
        conn.execute(
            "insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,"
            " email_confirmed_at, created_at, updated_at) values ('00000000-0000-0000-0000-000000000000', %s,"
            " 'authenticated', 'authenticated', %s, '{}', %s, now(), now(), now())",
            (user_id, email or f"user-{user_id.hex[:8]}@example.com", psycopg.types.json.Jsonb(meta)))
        return user_id
    return make_user


def _world(conn: psycopg.Connection, spec):
    world = isolation.build(conn, _make_user(conn), spec)
    conn.commit()
    return world


def _as(world) -> dict[str, str]:
    return {"apikey": ANON_KEY, "Authorization": f"Bearer {tokens.user_token(world.attacker, SECRET)}"}


def _refused_or_nothing(answer: httpx.Response) -> bool:
    if 400 <= answer.status_code < 500:
        return True
    return answer.status_code in (200, 201) and answer.json() in ([], None) or answer.status_code == 204


@EXAMPLES
@given(spec=isolation.world_specs())
def test_no_user_reads_a_row_of_an_organization_they_do_not_belong_to_over_http(served, spec):
    client, conn = served
    world = _world(conn, spec)
    headers = _as(world)
    for table, column in VISIBLE.items():
        answer = client.get(f"/{table}?select={column}", headers=headers)
        assert answer.status_code == 200, answer.text
        seen = {uuid.UUID(row[column]) for row in answer.json()}
        assert seen <= world.attacker_orgs, f"a user must see {table} only of their own organizations"
    profiles = {uuid.UUID(row["id"]) for row in client.get("/profiles?select=id", headers=headers).json()}
    assert profiles <= world.co_members, "a user must see only their own and their co-members' profiles"
    listed = client.post("/rpc/current_user_organizations", json={}, headers=headers).json()
    assert {uuid.UUID(row["organization_id"]) for row in listed} == world.attacker_orgs
    for org in world.foreign_orgs:
        answer = client.post("/rpc/organization_audit_log", json={"org_id": str(org)}, headers=headers)
        assert 400 <= answer.status_code < 500, f"the audit log of a foreign organization: {answer.text}"


@EXAMPLES
@given(spec=isolation.world_specs())
def test_no_user_changes_an_organization_they_do_not_belong_to_over_http(served, spec):
    client, conn = served
    world = _world(conn, spec)
    headers = {**_as(world), "Prefer": "return=representation"}
    before = isolation.organization_state(conn, world)
    conn.commit()
    for org in world.foreign_orgs:
        params = isolation.foreign_params(world, org)
        for method, table, body in WRITES:
            column = VISIBLE[table]
            answer = client.request(method, f"/{table}?{column}=eq.{org}", json=body, headers=headers)
            assert _refused_or_nothing(answer), f"{method} {table} of a foreign organization: {answer.text}"
        for table, body in plants(params):
            answer = client.post(f"/{table}", json=body, headers=headers)
            assert 400 <= answer.status_code < 500, f"planting a row in {table} of a foreign organization: " \
                f"{answer.status_code} {answer.text}"
        for name, body in rpcs(params):
            answer = client.post(f"/rpc/{name}", json=body, headers=headers)
            assert answer.status_code < 500, f"{name}: {answer.status_code} {answer.text}"
            if name in ("organization_audit_log", "message_activity", "invite_member", "change_member_role",
                        "remove_member", "revoke_invitation"):
                assert 400 <= answer.status_code < 500, f"{name} on a foreign organization: {answer.text}"
    after = isolation.organization_state(conn, world)
    conn.commit()
    assert after == before, "nothing of an organization the user does not belong to has changed"
