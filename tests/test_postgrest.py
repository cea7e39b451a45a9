"""The PostgREST request shim: the same settings, transaction modes and error statuses as PostgREST."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_anon, as_service, as_user, http_status, rpc


@pytest.mark.parametrize(("sqlstate", "role", "message", "status"), [
    ("23505", "authenticated", "", 409), ("23503", "authenticated", "", 409),
    ("42501", "authenticated", "", 403), ("42501", "anon", "", 401),
    ("P0001", "authenticated", "", 400), ("P0002", "authenticated", "", 500),
    ("PT429", "authenticated", "", 429), ("PT402", "authenticated", "", 402),
    ("25006", "authenticated", "", 405), ("42883", "authenticated", "", 404), ("42P01", "authenticated", "", 404),
    ("42P17", "authenticated", "", 500), ("57P01", "authenticated", "", 503), ("57014", "authenticated", "", 500),
    ("08006", "authenticated", "", 503), ("53400", "authenticated", "", 500), ("53300", "authenticated", "", 503),
    ("21000", "authenticated", "UPDATE requires a WHERE clause", 400), ("21000", "authenticated", "", 500),
    ("22023", "authenticated", 'role "x" does not exist', 401), ("22023", "authenticated", "", 400),
    ("23502", "authenticated", "", 400), ("23514", "authenticated", "", 400), ("22P02", "authenticated", "", 400),
    ("28000", "authenticated", "", 403), ("40001", "authenticated", "", 500), ("XX000", "authenticated", "", 500),
])
def test_sqlstates_map_to_the_status_postgrest_answers(sqlstate, role, message, status):
    assert http_status(sqlstate, message=message, role=role) == status


def test_a_user_request_sets_what_postgrest_sets(db):
    user_id = uuid.uuid4()
    with as_user(db, user_id, method="GET", path="/rest/v1/profiles",
                 headers={"Prefer": "count=exact", "X-Client-Info": "supabase-js/2"}) as cur:
        role, claims, method, path, headers, read_only, search_path = cur.execute(
            "select current_user, current_setting('request.jwt.claims'), current_setting('request.method'),"
            " current_setting('request.path'), current_setting('request.headers'),"
            " current_setting('transaction_read_only'), current_setting('search_path')").fetchone()
    assert role == "authenticated"
    claims = json.loads(claims)
    assert claims["sub"] == str(user_id) and claims["role"] == "authenticated" and claims["aud"] == "authenticated"
    assert (method, path) == ("GET", "/rest/v1/profiles")
    assert json.loads(headers) == {"prefer": "count=exact", "x-client-info": "supabase-js/2"}, "header names lowercased"
    assert read_only == "on", "GET runs READ ONLY"
    assert search_path == "public, extensions"


def test_a_read_cannot_write_and_postgrest_would_answer_405(db):
    db.execute("create table public.scratch (id int)")
    db.execute("grant insert on public.scratch to authenticated")
    with pytest.raises(RequestError) as refused, as_user(db, uuid.uuid4(), method="GET") as cur:
        cur.execute("insert into public.scratch values (1)")
    assert refused.value.code == "25006" and refused.value.status == 405


def test_after_a_write_request_the_connection_is_back_to_its_own_role_and_no_claims(db):
    user_id = uuid.uuid4()
    with as_user(db, user_id) as cur:
        assert cur.execute("select auth.uid()").fetchone()[0] == user_id
    role, uid = db.execute("select current_user, auth.uid()").fetchone()
    assert role == "postgres", "the impersonation ends with the request"
    assert uid is None, "as after a committed request, auth.uid() is NULL"


def test_writes_made_in_a_request_persist_and_a_failed_request_changes_nothing(db):
    db.execute("create table public.scratch (id int primary key)")
    db.execute("grant insert, select on public.scratch to service_role")
    with as_service(db) as cur:
        cur.execute("insert into public.scratch values (1)")
    with pytest.raises(RequestError) as duplicate, as_service(db) as cur:
        cur.execute("insert into public.scratch values (2)")
        cur.execute("insert into public.scratch values (1)")
    assert duplicate.value.status == 409 and duplicate.value.code == "23505"
    assert duplicate.value.body["code"] == "23505" and "duplicate key" in duplicate.value.body["message"]
    assert db.execute("select array_agg(id) from public.scratch").fetchone()[0] == [1], \
        "the failed request's first insert is rolled back with it"


def test_the_roles_own_settings_apply_as_in_postgrest(db):
    with as_anon(db, method="GET") as cur:
        anon_timeout = cur.execute("show statement_timeout").fetchone()[0]
    with as_user(db, uuid.uuid4(), method="GET") as cur:
        user_timeout = cur.execute("show statement_timeout").fetchone()[0]
    assert (anon_timeout, user_timeout) == ("3s", "8s"), "anon 3 s, authenticated 8 s, as on Supabase"


def test_anon_requests_carry_role_claims_without_sub(db):
    with as_anon(db, method="GET") as cur:
        claims, uid, role = cur.execute(
            "select current_setting('request.jwt.claims')::jsonb, auth.uid(), auth.role()").fetchone()
    assert claims["role"] == "anon" and "sub" not in claims
    assert uid is None and role == "anon"


def test_a_missing_grant_is_401_for_anon_and_403_for_a_user(db):
    db.execute("create table public.secret (id int)")
    with pytest.raises(RequestError) as anon, as_anon(db, method="GET") as cur:
        cur.execute("select * from public.secret")
    with pytest.raises(RequestError) as user, as_user(db, uuid.uuid4(), method="GET") as cur:
        cur.execute("select * from public.secret")
    assert (anon.value.status, user.value.status) == (401, 403)


def test_a_request_on_an_autocommit_connection_commits(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("create table public.scratch (id int)")
        conn.execute("grant insert on public.scratch to service_role")
        with as_service(conn) as cur:
            cur.execute("insert into public.scratch values (7)")
    with psycopg.connect(fresh_db) as other:
        assert other.execute("select count(*) from public.scratch").fetchone()[0] == 1, "committed for everyone"


# -- response.status and response.headers (reference/postgrest-protocol.md §4) ------------------------------------


@pytest.fixture
def respond(db):
    """public.respond(status, headers): records a row, sets the response settings it is given, returns json."""
    db.execute("create table public.responded (n serial primary key)")
    db.execute("""
        create function public.respond(status text default null, headers text default null) returns json
        language plpgsql as $$
        begin
          insert into public.responded default values;
          if status is not null then perform set_config('response.status', status, true); end if;
          if headers is not null then perform set_config('response.headers', headers, true); end if;
          return json_build_object('message', 'short and stout', 'hint', 'tip it over');
        end $$""")
    db.execute("grant execute on function public.respond(text, text) to anon, authenticated")
    db.execute("grant insert on public.responded to anon, authenticated")
    db.execute("grant usage on sequence public.responded_n_seq to anon, authenticated")

    def rows() -> int:
        return db.execute("select count(*) from public.responded").fetchone()[0]

    return rows


def test_a_function_chooses_the_status_and_adds_headers(db, respond):
    answer = rpc(db, "respond", {"status": "201", "headers": json.dumps(
        [{"Location": "/things/1"}, {"Set-Cookie": "a=1"}, {"Set-Cookie": "b=2"}, {"content-type": "text/x"}])},
        role="anon")
    assert answer.status == 201
    assert answer.body == {"message": "short and stout", "hint": "tip it over"}
    assert answer.header("Location") == "/things/1"
    assert [v for k, v in answer.headers if k == "Set-Cookie"] == ["a=1", "b=2"], "repeated headers are all kept"
    assert [v for k, v in answer.headers if k.lower() == "content-type"] == ["text/x"], \
        "a header the function sets replaces PostgREST's own of that name"
    assert answer.header("Content-Range") == "0-0/*"


def test_without_response_settings_postgrest_chooses(db, respond):
    answer = rpc(db, "respond", role="anon")
    assert answer.status == 200 and answer.header("Content-Type") == "application/json; charset=utf-8"


def test_an_error_status_from_a_function_reaches_the_client_as_an_error_and_the_request_still_commits(db, respond):
    with pytest.raises(RequestError) as teapot:
        rpc(db, "respond", {"status": "418"}, role="anon")
    assert teapot.value.status == 418 and teapot.value.body == {"message": "short and stout", "hint": "tip it over"}
    assert teapot.value.message == "short and stout" and teapot.value.code is None
    assert respond() == 1, "the function returned normally, so PostgREST commits"


@pytest.mark.parametrize(("status", "expected"), [("201 Created", 201), ("", 200), ("204", 204)])
def test_the_status_is_the_settings_leading_digits_and_empty_means_unset(db, respond, status, expected):
    assert rpc(db, "respond", {"status": status}, role="anon").status == expected


@pytest.mark.parametrize("status", ["abc", " 201", "-1", "two hundred"])
def test_a_status_that_is_not_a_number_is_pgrst112_after_the_commit(db, respond, status):
    with pytest.raises(RequestError) as bad:
        rpc(db, "respond", {"status": status}, role="anon")
    assert (bad.value.status, bad.value.code) == (500, "PGRST112")
    assert bad.value.body == {"code": "PGRST112", "details": None, "hint": None,
                              "message": "response.status guc must be a valid status code"}
    assert respond() == 1, "PostgREST decodes the setting after its transaction committed: the write stays"


@pytest.mark.parametrize("headers", [
    '{"Cache-Control": "no-store"}',  # an object, not an array
    '[{"A": "1", "B": "2"}]',  # two keys in one object
    '[{"A": 1}]',  # not a string
    '["A: 1"]',  # not an object
    "[{",  # not JSON
])
def test_malformed_response_headers_are_pgrst111_after_the_commit(db, respond, headers):
    with pytest.raises(RequestError) as bad:
        rpc(db, "respond", {"headers": headers}, role="anon")
    assert (bad.value.status, bad.value.code) == (500, "PGRST111")
    assert bad.value.message.startswith("response.headers guc must be a JSON array")
    assert respond() == 1


def test_a_request_block_sees_what_was_asked_and_the_next_request_starts_clean(db, respond):
    with as_anon(db) as cur:
        cur.execute("select public.respond('202', '[{\"X-Trace\": \"t1\"}]')")
    assert cur.response.status == 202 and cur.response.headers == [("X-Trace", "t1")]
    with as_anon(db) as cur:
        cur.execute("select 1")
    assert cur.response.status is None and cur.response.headers == [], \
        "settings are per request, even when the test's transaction spans several"


def test_an_unknown_function_is_404_pgrst202(db):
    with pytest.raises(RequestError) as missing:
        rpc(db, "no_such_function", {"x": 1}, role="anon")
    assert (missing.value.status, missing.value.code) == (404, "PGRST202")
