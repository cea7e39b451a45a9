"""The request scope the Storage API sets in the database, as storage-api's scope.ts does: a policy on a probe bucket
records the settings it sees while a signed-in user downloads over HTTP."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest

from tests.api_harness import ANON_KEY, SERVICE_KEY, running_api
from tests.storage_harness import build_world

PROBE = """
create table public.storage_probe (seen jsonb);
create function public.storage_probe_log() returns boolean language plpgsql security definer set search_path = ''
as $$
begin
  insert into public.storage_probe values (pg_catalog.jsonb_build_object(
    'role', pg_catalog.current_setting('role'),
    'claim_role', pg_catalog.current_setting('request.jwt.claim.role', true),
    'sub', pg_catalog.current_setting('request.jwt.claim.sub', true),
    'claims', pg_catalog.current_setting('request.jwt.claims', true),
    'jwt', pg_catalog.current_setting('request.jwt', true),
    'method', pg_catalog.current_setting('request.method', true),
    'path', pg_catalog.current_setting('request.path', true),
    'operation', pg_catalog.current_setting('storage.operation', true),
    'allow_delete', pg_catalog.current_setting('storage.allow_delete_query', true),
    'headers', pg_catalog.current_setting('request.headers', true)));
  return true;
end
$$;
insert into storage.buckets (id, name) values ('probe', 'probe');
create policy "probe reads" on storage.objects for select to authenticated
using (bucket_id = 'probe' and public.storage_probe_log());
"""


@pytest.fixture(scope="module")
def stack(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    world = build_world(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PROBE)
    with running_api(url, data_dir=tmp_path_factory.mktemp("storage-scope")) as api:
        yield api, world, url
    pg_server.drop_database(name)


def test_the_caller_role_claims_and_request_are_set_as_storage_sets_them(stack):
    api, world, url = stack
    service = {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}", "content-type": "text/plain"}
    assert httpx.post(f"{api.url}/storage/v1/object/probe/a.txt", content=b"a", headers=service).status_code == 200
    token = world.tokens["member"]
    answer = httpx.get(f"{api.url}/storage/v1/object/probe/a.txt",
                       headers={"apikey": ANON_KEY, "Authorization": f"Bearer {token}", "X-Trace": "t1"})
    assert answer.content == b"a"
    with psycopg.connect(url, autocommit=True) as conn:
        (seen,), = conn.execute("select seen from public.storage_probe").fetchall()
    assert seen["role"] == "authenticated" and seen["claim_role"] == "authenticated"
    assert seen["sub"] == str(world.people["member"]) and seen["jwt"] == token
    assert json.loads(seen["claims"])["sub"] == str(world.people["member"])
    assert (seen["method"], seen["path"]) == ("GET", "/object/probe/a.txt")
    assert seen["operation"] == "storage.object.get" and seen["allow_delete"] == "true"
    assert json.loads(seen["headers"])["x-trace"] == "t1"
