"""/rest/v1 with bad tokens and bad input (issue §4): PostgREST's code and status, nothing written, the server
keeps serving; and the schema cache reloading on NOTIFY."""

from __future__ import annotations

import http.client
import json
import time

import httpx
import psycopg
import pytest

from functions_py.rest import query_params
from functions_py.tokens import LOCAL_JWT_SECRET, sign
from tests.api_harness import ANON_KEY
from tests.rest_fixture import fixture_api


@pytest.fixture(scope="module")
def served(pg_server, template_db):
    with fixture_api(pg_server, template_db, **{"api.max_body_bytes": 4096}) as (api, url):
        yield api, url


@pytest.fixture
def api(served):
    return served[0]


def get(api, path, token=None, **headers):
    auth = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(f"{api.url}/rest/v1{path}", headers={"apikey": ANON_KEY, **auth, **headers})


def token(**claims):
    now = int(time.time())
    return sign({"role": "authenticated", "sub": "00000000-0000-0000-0000-000000000001", "iat": now,
                 "exp": now + 600, **claims}, LOCAL_JWT_SECRET)


def test_expired_tokens_are_401_pgrst303_with_www_authenticate(api):
    answer = get(api, "/clients", token(exp=int(time.time()) - 120))
    assert answer.status_code == 401
    assert answer.json() == {"code": "PGRST303", "details": None, "hint": None, "message": "JWT expired"}
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token", error_description="JWT expired"'


def test_forged_and_malformed_tokens_are_401_pgrst301(api):
    forged = sign({"role": "service_role", "exp": int(time.time()) + 60}, "x" * 40)
    answer = get(api, "/clients", forged)
    assert answer.status_code == 401 and answer.json()["code"] == "PGRST301"
    assert answer.json()["message"] == "JWT cryptographic operation failed"
    parts = get(api, "/clients", "abc.def")
    assert parts.json()["message"] == "Expected 3 parts in JWT; got 2"


def test_a_role_that_does_not_exist_is_401(api):
    answer = get(api, "/clients", token(role="nobody"))
    assert answer.status_code == 401 and answer.json()["code"] == "22023"


def test_a_token_without_a_role_claim_is_the_anon_role(api):
    answer = get(api, "/rpc/whoami", token(role=None))
    assert answer.json()["role"] == "anon"


def test_jwt_aud_is_checked_when_configured(pg_server, template_db):
    with fixture_api(pg_server, template_db, **{"rest.jwt_aud": "my-api"}) as (api, _):
        wrong = get(api, "/clients", token(aud="other"))
        assert wrong.status_code == 401 and wrong.json()["message"] == "JWT not in audience"
        assert get(api, "/clients", token(aud="my-api")).status_code == 200


def test_authenticated_users_get_their_claims(api):
    answer = get(api, "/rpc/whoami", token(email="a@example.com"))
    body = answer.json()
    assert body["role"] == "authenticated" and body["claims"]["email"] == "a@example.com"


def test_malformed_filters_and_unknown_columns(api):
    answer = get(api, "/clients?id=in.1")
    assert answer.status_code == 400 and answer.json()["code"] == "PGRST100"
    column = get(api, "/clients?nope=eq.1")
    assert column.status_code == 400 and column.json()["code"] == "42703"
    assert get(api, "/clients?select=id,nope").json()["code"] == "42703"
    assert get(api, "/clients?projects.id=eq.1").json()["code"] == "PGRST108"
    assert get(api, "/projects?select=id,clients(*)&clients=eq.1").json()["code"] == "PGRST120"
    assert get(api, "/clients?select=id::notatype").json()["code"] == "42704"
    assert get(api, "/a/b").json()["code"] == "PGRST125"


def test_oversized_bodies_are_413_and_nothing_is_written(api, served):
    big = [{"id": 1000 + i, "name": "x" * 50} for i in range(200)]
    answer = httpx.post(f"{api.url}/rest/v1/clients", json=big, headers=api.anon_headers)
    assert answer.status_code == 413
    with psycopg.connect(served[1]) as conn:
        assert conn.execute("select count(*) from api.clients where id >= 1000").fetchone() == (0,)


def test_deep_selects_and_huge_logic_trees_are_refused_not_crashing(api):
    deep = "/projects?select=" + "clients(" * 80 + "id" + ")" * 80
    assert get(api, deep).status_code == 400
    # 10,000 terms parse and build (the HTTP layer, uvicorn's, refuses a request line that long, as warp would)
    tree = query_params.parse("or=(" + ",".join(f"id.eq.{i}" for i in range(10_000)) + ")").logic[()][0]
    assert len(tree.children) == 10_000
    huge = "/rest/v1/clients?select=id&or=(" + ",".join(f"id.eq.{i}" for i in range(3_000)) + ")"
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
    conn.request("GET", huge, headers={"apikey": ANON_KEY})
    answer = conn.getresponse()
    assert answer.status == 200, answer.read()
    assert json.loads(answer.read()) == [{"id": 1}, {"id": 2}]
    conn.close()
    assert get(api, "/clients?id=eq.1").status_code == 200, "the server keeps serving"


def test_the_schema_cache_reloads_on_notify(served):
    api, url = served
    assert get(api, "/late").status_code == 404
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table api.late (id int primary key); grant select on api.late to anon;"
                     " notify pgrst, 'reload schema'")
    deadline = time.monotonic() + 10
    while get(api, "/late").status_code != 200:
        assert time.monotonic() < deadline, "the cache did not reload"
        time.sleep(0.05)


MALFORMED = [
    "select=", "select=(", "select=*,", "select=a:", "select=clients(", "select=...", "select=id::", "order=",
    "order=.", "order=id.", "order=clients(", "limit=x", "offset=-1", "limit=-1", "or=", "or=(", "or=()",
    "or=(id)", "or=(id.eq)", "and=(id.eq.1,)", "id=in.", "id=in.(", "id=in.()", "id=eq", "id=", "id=cs.",
    "name=fts().x", "id=eq(any).1", "id=eq(any).{1,2}", "id=not.", "not.or=(id.eq.1)", "select=data->",
    "select=data->>", "select=data->0", "data->=eq.1", "select=count()", "select=id.sum()", "columns=",
    "on_conflict=", "select=*,clients!(*)", "select=*,clients!inner!left(*)", "clients.id=eq.1", "select=%22a%22",
    "select=id,id", "id=is.", "id=isdistinct.", "select=id&order=id.asc.desc", "select=é", "select=id%00",
    "or=(and(or(and(id.eq.1))))", "id=eq.1&id=eq.2",
]


def test_no_malformed_query_answers_a_server_error(api):
    bad = []
    for target in ("projects", "items", "rpc/projects_of", "rpc/add"):
        for query in MALFORMED:
            for method in ("GET", "POST"):
                answer = httpx.request(method, f"{api.url}/rest/v1/{target}?{query}", headers=api.anon_headers,
                                       json={} if method == "POST" else None)
                if answer.status_code >= 500:
                    bad.append((method, target, query, answer.status_code, answer.text[:200]))
    assert not bad
    after = get(api, "/clients?id=eq.1")
    assert after.status_code == 200, after.text
