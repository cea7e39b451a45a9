"""supakit's own schema through /rest/v1 over HTTP, as supabase-js reaches it: RLS decides what each user sees,
embedding follows the composite foreign key tasks → projects, and the generation quota answers 429 PT429 through
the response settings (the refusal is still recorded, because the request commits)."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest

from functions_py.tokens import LOCAL_JWT_SECRET, user_token
from tests.api_harness import running_api


def _user(conn: psycopg.Connection) -> uuid.UUID:
    user_id = uuid.uuid4()
    conn.execute("insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,"
                 " email_confirmed_at, created_at, updated_at) values ('00000000-0000-0000-0000-000000000000', %s,"
                 " 'authenticated', 'authenticated', %s, '{}', '{}', now(), now(), now())",
                 (user_id, f"u-{user_id.hex[:8]}@example.com"))
    return user_id


@pytest.fixture(scope="module")
def world(pg_server, template_db):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        owner, outsider = _user(conn), _user(conn)
        org, = conn.execute("insert into public.organizations (name, slug) values ('Acme', 'acme') returning id"
                            ).fetchone()
        conn.execute("insert into public.memberships values (%s, %s, 'owner')", (org, owner))
        project, = conn.execute("insert into public.projects (organization_id, name) values (%s, 'Site') "
                                "returning id", (org,)).fetchone()
        conn.execute("insert into public.tasks (organization_id, project_id, title) values (%s, %s, 'Launch')",
                     (org, project))
    try:
        with running_api(url) as api:
            yield api, url, owner, outsider
    finally:
        pg_server.drop_database(name)


def headers(api, user):
    return api.user_headers(user_token(user, LOCAL_JWT_SECRET))


def test_members_see_their_tasks_with_the_project_embedded(world):
    api, _, owner, outsider = world
    answer = httpx.get(f"{api.url}/rest/v1/tasks?select=title,projects(name)", headers=headers(api, owner))
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"title": "Launch", "projects": {"name": "Site"}}]
    hidden = httpx.get(f"{api.url}/rest/v1/tasks?select=title", headers=headers(api, outsider))
    assert hidden.json() == [], "another organization's tasks are invisible"
    assert httpx.get(f"{api.url}/rest/v1/tasks", headers=api.anon_headers).status_code in (200, 401)


def test_over_quota_is_429_pt429_and_the_refusal_is_recorded(world):
    api, url, owner, _ = world
    statuses = []
    for _ in range(6):
        answer = httpx.post(f"{api.url}/rest/v1/rpc/request_generation", json={"prompt": "Build a todo app"},
                            headers=headers(api, owner))
        statuses.append(answer.status_code)
    assert statuses[:5] == [200] * 5, statuses
    assert statuses[5] == 429
    body = answer.json()
    assert body["code"] == "PT429" and "allows 5 generations a day" in body["message"]
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from internal.quota_refusals").fetchone()[0] == 1
