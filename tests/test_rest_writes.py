"""/rest/v1 writes over HTTP: insert (single, bulk, columns=, missing=default), upsert, PUT, PATCH, DELETE, the
return preferences, Location, tx=rollback, max-affected, strict handling — and what a refused write leaves."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.rest_fixture import fixture_api


@pytest.fixture(scope="module")
def served(pg_server, template_db):
    with fixture_api(pg_server, template_db, **{"rest.db_tx_end": "commit-allow-override"}) as (api, url):
        yield api, url


@pytest.fixture
def api(served):
    return served[0]


@pytest.fixture
def db(served):
    with psycopg.connect(served[1], autocommit=True) as conn:
        yield conn


def call(api, method, path, body=None, **headers):
    return httpx.request(method, f"{api.url}/rest/v1{path}", json=body,
                         headers={**api.anon_headers, **headers})


def test_insert_minimal_is_201_without_a_body(api, db):
    answer = call(api, "POST", "/clients", {"id": 10, "name": "Ten"})
    assert answer.status_code == 201 and answer.content == b""
    assert answer.headers["content-range"] == "*/*"
    assert "location" not in answer.headers
    assert db.execute("select name from api.clients where id = 10").fetchone() == ("Ten",)


def test_insert_representation_headers_only_and_location(api):
    answer = call(api, "POST", "/clients?select=id", {"id": 11, "name": "Eleven"}, Prefer="return=representation")
    assert answer.status_code == 201 and answer.json() == [{"id": 11}]
    assert answer.headers["preference-applied"] == "return=representation"
    located = call(api, "POST", "/clients", {"id": 12, "name": "Twelve"}, Prefer="return=headers-only")
    assert located.status_code == 201 and located.headers["location"] == "/clients?id=eq.12"


def test_bulk_insert_with_columns_and_missing_default(api, db):
    rows = [{"name": "pear", "price": 2}, {"name": "plum"}]
    answer = call(api, "POST", '/items?columns="name","price"&select=name,price,created_at', rows,
                  Prefer="return=representation,missing=default")
    assert answer.status_code == 201, answer.text
    assert answer.headers["preference-applied"] == "missing=default, return=representation"
    assert [(r["name"], r["price"]) for r in answer.json()] == [("pear", 2.00), ("plum", None)]
    assert answer.json()[0]["created_at"] == "2026-01-01T00:00:00+00:00"


def test_keys_must_match_and_columns_must_exist(api):
    mismatch = call(api, "POST", "/clients", [{"id": 20, "name": "a"}, {"id": 21}])
    assert mismatch.status_code == 400 and mismatch.json()["message"] == "All object keys must match"
    unknown = call(api, "POST", "/clients", {"id": 22, "nope": 1})
    assert unknown.status_code == 400
    assert unknown.json() == {"code": "PGRST204", "details": None, "hint": None,
                              "message": "Could not find the 'nope' column of 'clients' in the schema cache"}


def test_upsert_merge_and_ignore_duplicates(api, db):
    first = call(api, "POST", "/clients", {"id": 30, "name": "Thirty"}, Prefer="resolution=merge-duplicates")
    assert first.status_code == 201
    again = call(api, "POST", "/clients", {"id": 30, "name": "Thirty!"},
                 Prefer="resolution=merge-duplicates,return=representation")
    assert again.status_code == 200 and again.json() == [{"id": 30, "name": "Thirty!"}]
    assert again.headers["preference-applied"] == "resolution=merge-duplicates, return=representation"
    ignored = call(api, "POST", "/clients", {"id": 30, "name": "ignored"},
                   Prefer="resolution=ignore-duplicates,return=representation")
    assert ignored.status_code == 201 and ignored.json() == []
    assert db.execute("select name from api.clients where id = 30").fetchone() == ("Thirty!",)


def test_put_upserts_one_row_by_primary_key(api):
    created = call(api, "PUT", "/clients?id=eq.40", {"id": 40, "name": "Forty"}, Prefer="return=representation")
    assert created.status_code == 201 and created.json() == [{"id": 40, "name": "Forty"}]
    updated = call(api, "PUT", "/clients?id=eq.40", {"id": 40, "name": "Forty!"}, Prefer="return=representation")
    assert updated.status_code == 200
    assert call(api, "PUT", "/clients?id=eq.40", {"id": 40, "name": "x"}).status_code == 204
    mismatch = call(api, "PUT", "/clients?id=eq.41", {"id": 42, "name": "x"})
    assert mismatch.status_code == 400 and mismatch.json()["code"] == "PGRST115"
    assert call(api, "PUT", "/clients?name=eq.x", {"id": 1, "name": "x"}).json()["code"] == "PGRST105"


def test_patch_and_delete(api, db):
    db.execute("insert into api.clients values (50, 'Fifty'), (51, 'Fifty-one')")
    patched = call(api, "PATCH", "/clients?id=gte.50&id=lte.51", {"name": "changed"})
    assert patched.status_code == 204 and patched.headers["content-range"] == "0-1/*"
    rep = call(api, "PATCH", "/clients?id=eq.50", {"name": "fifty"}, Prefer="return=representation")
    assert rep.status_code == 200 and rep.json() == [{"id": 50, "name": "fifty"}]
    deleted = call(api, "DELETE", "/clients?id=eq.51", Prefer="return=representation")
    assert deleted.status_code == 200 and deleted.json() == [{"id": 51, "name": "changed"}]
    assert call(api, "DELETE", "/clients?id=eq.50").status_code == 204
    assert db.execute("select count(*) from api.clients where id in (50, 51)").fetchone() == (0,)


def test_tx_rollback_answers_but_keeps_nothing(api, db):
    answer = call(api, "POST", "/clients", {"id": 60, "name": "gone"},
                  Prefer="return=representation, tx=rollback")
    assert answer.status_code == 201 and answer.json() == [{"id": 60, "name": "gone"}]
    assert answer.headers["preference-applied"] == "return=representation, tx=rollback"
    assert db.execute("select count(*) from api.clients where id = 60").fetchone() == (0,)


def test_max_affected_with_strict_handling(api, db):
    db.execute("insert into api.clients values (70, 'a'), (71, 'b'), (72, 'c')")
    refused = call(api, "PATCH", "/clients?id=gte.70", {"name": "z"}, Prefer="handling=strict, max-affected=2")
    assert refused.status_code == 400
    assert refused.json() == {"code": "PGRST124", "details": "The query affects 3 rows", "hint": None,
                              "message": "Query result exceeds max-affected preference constraint"}
    assert db.execute("select count(*) from api.clients where name = 'z'").fetchone() == (0,)
    strict = call(api, "GET", "/clients", Prefer="handling=strict, bogus=1")
    assert strict.status_code == 400 and strict.json()["details"] == "Invalid preferences: bogus=1"


def test_singular_write_of_many_rows_is_rolled_back(api, db):
    db.execute("insert into api.clients values (80, 'a'), (81, 'b')")
    answer = call(api, "PATCH", "/clients?id=gte.80", {"name": "q"}, Prefer="return=representation",
                  Accept="application/vnd.pgrst.object+json")
    assert answer.status_code == 406 and answer.json()["code"] == "PGRST116"
    assert db.execute("select count(*) from api.clients where name = 'q'").fetchone() == (0,)


def test_database_errors_map_to_postgrest_statuses(api):
    dup = call(api, "POST", "/clients", {"id": 1, "name": "dup"})
    assert dup.status_code == 409 and dup.json()["code"] == "23505"
    fk = call(api, "POST", "/projects", {"id": 90, "name": "p", "client_id": 999})
    assert fk.status_code == 409 and fk.json()["code"] == "23503"
    null = call(api, "POST", "/clients", {"id": 91, "name": None})
    assert null.status_code == 400 and null.json()["code"] == "23502"
    bad = call(api, "POST", "/clients", {"id": "x", "name": "n"})
    assert bad.status_code == 400 and bad.json()["code"] == "22P02"
    denied = call(api, "POST", "/secrets", {"id": 1, "value": "v"})
    assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"


def test_bad_json_and_csv_bodies(api, db):
    bad = httpx.post(f"{api.url}/rest/v1/clients", content=b"{oops", headers=api.anon_headers)
    assert bad.status_code == 400
    assert bad.json() == {"code": "PGRST102", "details": None, "hint": None, "message": "Empty or invalid json"}
    csv = httpx.post(f"{api.url}/rest/v1/clients", content=b"id,name\n95,Csv\n96,NULL",
                     headers={**api.anon_headers, "Content-Type": "text/csv"})
    assert csv.status_code == 400, "name is not null: the NULL literal reached the database as NULL"
    ok = httpx.post(f"{api.url}/rest/v1/clients", content=b"id,name\n95,Csv\n96,Other",
                    headers={**api.anon_headers, "Content-Type": "text/csv"})
    assert ok.status_code == 201
    assert db.execute("select count(*) from api.clients where id in (95, 96)").fetchone() == (2,)


def test_patch_and_delete_with_order_and_limit_touch_only_that_range(api, db):
    db.execute("insert into api.clients values (100, 'r'), (101, 'r'), (102, 'r')")
    patched = call(api, "PATCH", "/clients?name=eq.r&order=id.desc&limit=2", {"name": "s"},
                   Prefer="return=representation")
    assert sorted(r["id"] for r in patched.json()) == [101, 102]
    assert call(api, "DELETE", "/clients?name=eq.s&order=id&limit=1").status_code == 204
    assert db.execute("select id, name from api.clients where id >= 100 order by id").fetchall() == \
        [(100, "r"), (102, "s")]


def test_timezone_preference(api):
    answer = call(api, "GET", "/items?select=created_at&id=eq.1", Prefer="timezone=America/Los_Angeles")
    assert answer.json() == [{"created_at": "2025-12-31T16:00:00-08:00"}]
    assert answer.headers["preference-applied"] == "timezone=America/Los_Angeles"
    assert call(api, "GET", "/items?select=id&id=eq.1", Prefer="timezone=Nowhere/Else").status_code == 200


def test_representation_embeds_and_counts(api):
    answer = call(api, "POST", "/projects?select=id,clients(name)", {"id": 200, "name": "p", "client_id": 2},
                  Prefer="return=representation, count=exact")
    assert answer.status_code == 201
    assert answer.json() == [{"id": 200, "clients": {"name": "Apple"}}]
    assert answer.headers["content-range"] == "*/1"
    assert answer.headers["preference-applied"] == "return=representation, count=exact"
