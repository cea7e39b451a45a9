"""supakit's own schema end to end over /rest/v1 (HTTP, the gateway with its default settings: public exposed):
tenancy RPCs, the quota refusal as 429 PT429, projects and tasks for every role, messaging, the embedded
`tasks?select=*,projects(name)`, tenant isolation across every organization-scoped table (the HTTP twin of
tests/test_tenant_isolation.py), and README's Messaging snippet run by supabase-js as written.

One database for the module (a clone of the migrated template) with one world, committed: organization `home` with
one user per role, organization `other` with its owner (`outsider`) and a member."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from functions_py import tokens
from tests.api_harness import ANON_KEY, SECRET, SERVICE_KEY, running_api

ROLES = ("owner", "admin", "manager", "member", "assistant", "client")
JS_DIR = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")


class World:
    def __init__(self, url: str) -> None:
        self.url = url
        self.users: dict[str, uuid.UUID] = {}
        self.tokens: dict[str, str] = {}
        self.emails: dict[str, str] = {}
        with psycopg.connect(url, autocommit=True) as conn:
            for name in (*ROLES, "outsider", "other_member", "newcomer", "founder", "invitee"):
                self._user(conn, name)
            self.home = self._org(conn, "home", {role: role for role in ROLES})
            self.other = self._org(conn, "other", {"outsider": "owner", "other_member": "member"})
            self.projects, self.tasks = {}, {}
            for scope, org, assignee in (("home", self.home, "member"), ("other", self.other, "other_member")):
                project = conn.execute("insert into public.projects (organization_id, name) values (%s, %s)"
                                       " returning id", (org, f"{scope} project")).fetchone()[0]
                self.projects[scope] = project
                assigned = conn.execute(
                    "insert into public.tasks (organization_id, project_id, title, assignee_id)"
                    " values (%s, %s, 'assigned', %s) returning id", (org, project, self.users[assignee])).fetchone()[0]
                unassigned = conn.execute(
                    "insert into public.tasks (organization_id, project_id, title) values (%s, %s, 'open')"
                    " returning id", (org, project)).fetchone()[0]
                self.tasks[scope] = (assigned, unassigned)

    def _user(self, conn: psycopg.Connection, name: str) -> None:
        user_id = uuid.uuid4()
        email = f"{name}-{user_id.hex[:6]}@example.com"
        conn.execute(
            "insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,"
            " email_confirmed_at, created_at, updated_at) values ('00000000-0000-0000-0000-000000000000', %s,"
            " 'authenticated', 'authenticated', %s, '{}', '{}', now(), now(), now())", (user_id, email))
        self.users[name] = user_id
        self.emails[name] = email
        self.tokens[name] = tokens.user_token(user_id, SECRET, email=email)

    def _org(self, conn: psycopg.Connection, slug: str, roles: dict[str, str]) -> uuid.UUID:
        org = conn.execute("insert into public.organizations (name, slug) values (%s, %s) returning id",
                           (slug.title(), f"{slug}-{uuid.uuid4().hex[:6]}")).fetchone()[0]
        for name, role in sorted(roles.items(), key=lambda item: item[1] != "owner"):
            conn.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, %s)",
                         (org, self.users[name], role))
        return org


@pytest.fixture(scope="module")
def served(pg_server, template_db):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    try:
        world = World(url)
        with running_api(url) as api, httpx.Client(base_url=f"{api.url}/rest/v1", timeout=30) as client:
            yield api, client, world
    finally:
        pg_server.drop_database(name)


def headers(world: World, actor: str, **extra: str) -> dict[str, str]:
    if actor == "anon":
        bearer = ANON_KEY
    elif actor == "service_role":
        bearer = SERVICE_KEY
    else:
        bearer = world.tokens[actor]
    return {"apikey": ANON_KEY, "Authorization": f"Bearer {bearer}", **extra}


def represent(**extra: str) -> dict[str, str]:
    return {"Prefer": "return=representation", **extra}


# -- tenancy ---------------------------------------------------------------------------------------------------------


def test_create_organization_and_list_mine(served):
    _, rest, world = served
    answer = rest.post("/rpc/create_organization", json={"name": "Fresh", "slug": f"fresh-{uuid.uuid4().hex[:6]}"},
                       headers=headers(world, "newcomer"))
    assert answer.status_code == 200, answer.text
    created = answer.json()
    org_id = created["id"] if isinstance(created, dict) else created
    mine = rest.post("/rpc/current_user_organizations", json={}, headers=headers(world, "newcomer"))
    assert mine.status_code == 200, mine.text
    assert str(org_id) in json.dumps(mine.json())


def test_anon_cannot_call_tenancy_rpcs(served):
    _, rest, world = served
    answer = rest.post("/rpc/create_organization", json={"name": "X", "slug": "x-anon"}, headers=headers(world, "anon"))
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "42501"


def test_invite_and_accept_over_http(served):
    _, rest, world = served
    with psycopg.connect(world.url, autocommit=True) as conn:
        email = conn.execute("select email from auth.users where id = %s", (world.users["newcomer"],)).fetchone()[0]
    answer = rest.post("/rpc/invite_member", json={"org_id": str(world.other), "email": email, "role": "member"},
                       headers=headers(world, "outsider"))
    assert answer.status_code == 200, answer.text
    token = answer.json()[0]["token"]  # invite_member returns table (invitation_id, token, expires_at)
    accepted = rest.post("/rpc/accept_invitation", json={"token": token}, headers=headers(world, "newcomer"))
    assert accepted.status_code in (200, 204), accepted.text
    seen = rest.get(f"/organizations?select=id&id=eq.{world.other}", headers=headers(world, "newcomer"))
    assert seen.json() == [{"id": str(world.other)}]


def test_a_member_cannot_invite(served):
    _, rest, world = served
    answer = rest.post("/rpc/invite_member", json={"org_id": str(world.home), "email": "x@example.com",
                                                   "role": "member"}, headers=headers(world, "member"))
    assert answer.status_code in (400, 403), answer.text


# -- quota -----------------------------------------------------------------------------------------------------------


def test_quota_refusal_is_429_pt429(served):
    _, rest, world = served
    statuses = []
    for number in range(8):  # the free plan allows 5 a day
        answer = rest.post("/rpc/request_generation", json={"prompt": f"p{number}", "org_id": str(world.other)},
                           headers=headers(world, "other_member"))
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            body = answer.json()
            assert body["code"] == "PT429", body
            assert set(body) == {"code", "message", "details", "hint"}
            break
    assert statuses[:5] == [200] * 5, statuses
    assert statuses[-1] == 429, statuses


# -- projects and tasks for every role -------------------------------------------------------------------------------

# home's rows, as each actor sees them (the outsider owns `other`, so its own rows do not count here)
PROJECT_READ = {"anon": 401, "outsider": 0, "service_role": 1, **{role: 1 for role in ROLES}}
TASK_READ = {"anon": 401, "outsider": 0, "service_role": 2, "owner": 2, "admin": 2, "manager": 2, "member": 1,
             "assistant": 0, "client": 2}
PROJECT_WRITE = {"anon": 401, "outsider": 403, "owner": 201, "admin": 201, "manager": 201, "member": 403,
                 "assistant": 403, "client": 403}


@pytest.mark.parametrize("actor", list(PROJECT_READ))
def test_projects_read(served, actor):
    _, rest, world = served
    answer = rest.get(f"/projects?select=id&name=like.*project&organization_id=eq.{world.home}",
                      headers=headers(world, actor))
    expected = PROJECT_READ[actor]
    if expected >= 400:
        assert answer.status_code == expected, answer.text
    else:
        assert answer.status_code == 200 and len(answer.json()) == expected, answer.text


@pytest.mark.parametrize("actor", list(TASK_READ))
def test_tasks_read(served, actor):
    _, rest, world = served
    answer = rest.get(f"/tasks?select=id&title=in.(assigned,open)&organization_id=eq.{world.home}",
                      headers=headers(world, actor))
    expected = TASK_READ[actor]
    if expected >= 400:
        assert answer.status_code == expected, answer.text
    else:
        assert answer.status_code == 200 and len(answer.json()) == expected, answer.text


@pytest.mark.parametrize("actor", list(PROJECT_WRITE))
def test_projects_insert(served, actor):
    _, rest, world = served
    answer = rest.post("/projects?select=name", json={"organization_id": str(world.home), "name": f"by {actor}"},
                       headers=headers(world, actor, **represent()))
    assert answer.status_code == PROJECT_WRITE[actor], answer.text
    if answer.status_code == 201:
        assert answer.json() == [{"name": f"by {actor}"}]
    else:
        assert answer.json()["code"] == "42501"


@pytest.mark.parametrize("actor", ["outsider", "member", "client"])
def test_projects_update_by_those_who_may_not_touches_nothing_or_is_refused(served, actor):
    _, rest, world = served
    answer = rest.patch(f"/projects?id=eq.{world.projects['home']}", json={"name": "hijacked"},
                        headers=headers(world, actor, **represent()))
    assert answer.status_code in (200, 403), answer.text
    if answer.status_code == 200:
        assert answer.json() == []
    with psycopg.connect(world.url) as conn:
        name = conn.execute("select name from public.projects where id = %s", (world.projects["home"],)).fetchone()
    assert name == ("home project",)


def test_member_updates_the_status_of_their_own_task_only(served):
    _, rest, world = served
    assigned, unassigned = world.tasks["home"]
    answer = rest.patch(f"/tasks?id=eq.{assigned}&select=status", json={"status": "in_progress"},
                        headers=headers(world, "member", **represent()))
    assert answer.status_code == 200 and answer.json() == [{"status": "in_progress"}], answer.text
    answer = rest.patch(f"/tasks?id=eq.{unassigned}", json={"status": "done"},
                        headers=headers(world, "member", **represent()))
    assert answer.status_code == 200 and answer.json() == [], answer.text


def test_tasks_embed_their_project(served):
    _, rest, world = served
    answer = rest.get("/tasks?select=*,projects(name)&order=title", headers=headers(world, "manager"))
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert [row["projects"] for row in rows] == [{"name": "home project"}, {"name": "home project"}]
    assert {"id", "organization_id", "title", "status"} <= set(rows[0])


def test_tasks_embed_for_a_member_is_limited_by_rls(served):
    _, rest, world = served
    answer = rest.get("/tasks?select=title,projects(name)", headers=headers(world, "member"))
    assert answer.json() == [{"title": "assigned", "projects": {"name": "home project"}}], answer.text


def test_task_counts_follow_rls(served):
    _, rest, world = served
    answer = rest.head("/tasks?title=in.(assigned,open)", headers=headers(world, "owner", Prefer="count=exact"))
    assert answer.headers["content-range"] == "0-1/2"


# -- messaging -------------------------------------------------------------------------------------------------------


def test_messaging_direct_conversation_over_http(served):
    _, rest, world = served
    member, manager = headers(world, "member"), headers(world, "manager")
    answer = rest.post("/rpc/start_direct_conversation", json={"other_user": str(world.users["manager"])},
                       headers=member)
    assert answer.status_code == 200, answer.text
    conversation = answer.json()["id"]
    posted = rest.post("/messages?select=body", json={"conversation_id": conversation, "body": "Hello!"},
                       headers={**member, **represent()})
    assert posted.status_code == 201 and posted.json() == [{"body": "Hello!"}], posted.text
    page = rest.get(f"/messages?select=body,sender_id&conversation_id=eq.{conversation}&order=created_at.desc"
                    "&limit=50", headers=manager)
    assert page.json() == [{"body": "Hello!", "sender_id": str(world.users["member"])}]
    badges = rest.post("/rpc/unread_counts", json={}, headers=manager).json()
    assert any(row["conversation_id"] == conversation and row["unread_count"] == 1 for row in badges), badges
    assert rest.post("/rpc/mark_read", json={"conversation_id": conversation}, headers=manager).status_code == 200
    badges = rest.post("/rpc/unread_counts", json={}, headers=manager).json()
    assert all(row["unread_count"] == 0 for row in badges if row["conversation_id"] == conversation), badges
    outsider = rest.get(f"/messages?select=id&conversation_id=eq.{conversation}", headers=headers(world, "outsider"))
    assert outsider.json() == []


# -- tenant isolation over HTTP (the twin of tests/test_tenant_isolation.py) ------------------------------------------

ORG_TABLES = {"organizations": "id", "memberships": "organization_id", "invitations": "organization_id",
              "projects": "organization_id", "tasks": "organization_id", "conversations": "organization_id",
              "conversation_participants": "organization_id", "messages": "organization_id",
              "generations": "organization_id", "usage_counters": "organization_id"}
ISOLATION_WRITES = {"projects": {"name": "stolen"}, "tasks": {"title": "stolen"}, "organizations": {"name": "stolen"},
                    "conversations": {"title": "stolen"}, "messages": {"body": "stolen"}}


@pytest.mark.parametrize("table", list(ORG_TABLES))
@pytest.mark.parametrize("attacker", ["outsider", "other_member"])
def test_no_user_reads_another_organizations_rows(served, table, attacker):
    _, rest, world = served
    column = ORG_TABLES[table]
    answer = rest.get(f"/{table}?select={column}&{column}=eq.{world.home}", headers=headers(world, attacker))
    assert answer.status_code in (200, 403), answer.text
    if answer.status_code == 200:
        assert answer.json() == [], f"{attacker} read {table} rows of an organization they are not in"


@pytest.mark.parametrize("table", list(ISOLATION_WRITES))
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_no_user_changes_another_organizations_rows(served, table, method):
    _, rest, world = served
    column = ORG_TABLES[table]
    with psycopg.connect(world.url) as conn:
        before = conn.execute(f"select count(*), md5(coalesce(string_agg(t::text, ',' order by t::text), ''))"  # noqa: S608
                              f" from public.{table} t where {column} = %s", (world.home,)).fetchone()
    answer = rest.request(method, f"/{table}?{column}=eq.{world.home}", json=ISOLATION_WRITES[table] if method ==
                          "PATCH" else None, headers=headers(world, "outsider", **represent()))
    assert answer.status_code in (200, 403), answer.text
    if answer.status_code == 200:
        assert answer.json() == []
    with psycopg.connect(world.url) as conn:
        after = conn.execute(f"select count(*), md5(coalesce(string_agg(t::text, ',' order by t::text), ''))"  # noqa: S608
                             f" from public.{table} t where {column} = %s", (world.home,)).fetchone()
    assert after == before, f"the outsider changed {table} of another organization through {method}"


def test_no_user_moves_a_task_into_another_organization(served):
    _, rest, world = served
    assigned, _ = world.tasks["other"]
    answer = rest.patch(f"/tasks?id=eq.{assigned}", json={"organization_id": str(world.home)},
                        headers=headers(world, "outsider", **represent()))
    assert answer.status_code >= 400 or answer.json() == [] or \
        answer.json()[0]["organization_id"] == str(world.other), answer.text


# -- README's Messaging snippet and Tenancy RPCs, run by supabase-js ---------------------------------------------


@pytest.mark.skipif(NODE is None or not (JS_DIR / "node_modules" / "@supabase" / "supabase-js").is_dir(),
                    reason="needs node and `npm ci` in tests/js")
def test_readme_messaging_snippet_and_tenancy_rpcs_run_against_the_gateway(served):
    api, _, world = served
    env = {**os.environ, "SUPABASE_URL": api.url, "ANON_KEY": ANON_KEY, "USER_TOKEN": world.tokens["client"],
           "OTHER_USER": str(world.users["admin"]), "FOUNDER_TOKEN": world.tokens["founder"],
           "INVITEE_TOKEN": world.tokens["invitee"], "INVITEE_EMAIL": world.emails["invitee"]}
    done = subprocess.run([NODE, "rest-readme.mjs"], cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == [], result
    assert result["page"] == [] and result["posted"] is True
    assert any(row["conversation_id"] == result["conversation_id"] for row in result["badges"]), result
    assert result["tenancy"] == {"created": True, "listed": True, "audited": True, "left": True}, result
