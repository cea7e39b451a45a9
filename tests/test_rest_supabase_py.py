"""supabase-py 2.34's postgrest client, in-process, against the local /rest/v1 over HTTP, on the conformance
fixture schema (tests/rest/fixture.sql): what the official Python client returns or raises for reads, filters,
embedding, single / maybe_single, csv, counts, writes, upserts, RPC, schema switching and a user session."""

from __future__ import annotations

import psycopg
import pytest
from postgrest.exceptions import APIError

from supabase import ClientOptions, create_client
from tests.api_harness import ANON_KEY, SERVICE_KEY
from tests.rest.corpus import user_token
from tests.rest.harness import fixture_database, fixture_gateway


@pytest.fixture(scope="module")
def served(pg_server, template_db):
    with fixture_database(pg_server, template_db) as url, fixture_gateway(url) as api, \
            psycopg.connect(url, autocommit=True) as owner:
        yield api, owner


def _client(api, key, **headers):
    options = ClientOptions(schema="fixture", headers=headers, auto_refresh_token=False, persist_session=False)
    return create_client(api.url, key, options=options)


@pytest.fixture(scope="module")
def anon(served):
    return _client(served[0], ANON_KEY)


@pytest.fixture(scope="module")
def service(served):
    return _client(served[0], SERVICE_KEY)


@pytest.fixture(scope="module")
def alice(served):
    return _client(served[0], ANON_KEY, Authorization=f"Bearer {user_token('alice')}")


@pytest.fixture(autouse=True)
def reset(served):
    served[1].execute("select fixture.reset()")


def ids(response):
    return [row["id"] for row in response.data]


def raises(query) -> APIError:
    with pytest.raises(APIError) as caught:
        query.execute()
    return caught.value


def test_select_with_filters_and_order(anon):
    assert ids(anon.table("books").select("id").eq("author_id", 1).order("id").execute()) == [1, 2]
    assert ids(anon.table("books").select("id").gt("year", 1969).order("id").execute()) == [1, 5]
    assert ids(anon.table("books").select("id").lte("year", 1965).order("id").execute()) == [3, 4]
    assert ids(anon.table("books").select("id").neq("author_id", 1).order("id").execute()) == [3, 4, 5]


def test_pattern_filters(anon):
    assert ids(anon.table("books").select("id").like("title", "The%").order("id").execute()) == [1, 2, 4]
    assert ids(anon.table("books").select("id").ilike("title", "%the%").order("id").execute()) == [1, 2, 4]
    assert ids(anon.table("books").select("id").like_any_of("title", "%Solaris%,Kind%").order("id").execute()) \
        == [3, 5]
    assert ids(anon.table("books").select("id").filter("title", "imatch", "^sol").execute()) == [3]


def test_in_is_and_not(anon):
    assert ids(anon.table("books").select("id").in_("id", [1, 3, 5]).order("id").execute()) == [1, 3, 5]
    assert ids(anon.table("books").select("id").in_("title", ["Solaris", "a,b"]).execute()) == [3]
    assert ids(anon.table("books").select("id").is_("year", "null").execute()) == [6]
    assert ids(anon.table("books").select("id").not_.is_("price", "null").order("id").execute()) == [1, 2, 3, 5]
    assert ids(anon.table("books").select("id").not_.in_("id", [1, 2, 3, 4, 5]).execute()) == [6]


def test_array_json_and_range_operators(anon):
    assert ids(anon.table("books").select("id").contains("tags", ["ocean"]).execute()) == [3]
    assert ids(anon.table("books").select("id").contains("meta", {"lang": "pl"}).order("id").execute()) == [3, 4]
    assert ids(anon.table("books").select("id").overlaps("tags", ["time", "winter"]).order("id").execute()) == [2, 5]
    assert ids(anon.table("slots").select("id").range_gt("during", (10, 20)).execute()) == [3]
    assert ids(anon.table("slots").select("id").range_adjacent("during", (9, 20)).order("id").execute()) == [2, 3]


def test_full_text_search(anon):
    assert ids(anon.table("books").select("id").text_search("doc", "planet").order("id").execute()) == [1, 2]
    assert ids(anon.table("books").select("id").plfts("doc", "winter planet").execute()) == [2]
    assert ids(anon.table("books").select("id").wfts("doc", '"twin planets" or robot').order("id").execute()) \
        == [1, 4]


def test_or_and_json_path(anon):
    assert ids(anon.table("books").select("id").or_("id.eq.1,id.eq.3").order("id").execute()) == [1, 3]
    assert ids(anon.table("books").select("id").eq("meta->>lang", "pl").order("id").execute()) == [3, 4]
    rows = anon.table("books").select("id,lang:meta->>lang").eq("id", 3).execute().data
    assert rows == [{"id": 3, "lang": "pl"}]


def test_order_nulls_and_range(anon):
    rows = anon.table("books").select("id").order("year", desc=True, nullsfirst=False).execute()
    assert ids(rows) == [5, 1, 2, 4, 3, 6]
    assert [r["n"] for r in anon.table("numbers").select("n").order("n").range(10, 12).execute().data] == [11, 12, 13]
    assert [r["n"] for r in anon.table("numbers").select("n").order("n").limit(2).offset(5).execute().data] == [6, 7]


def test_embedding(anon):
    rows = anon.table("authors").select("id,books(id)").eq("id", 2).order("id", foreign_table="books").execute()
    assert rows.data == [{"id": 2, "books": [{"id": 3}, {"id": 4}]}]
    rows = anon.table("books").select("title,...authors(author_name:name)").eq("id", 3).execute()
    assert rows.data == [{"title": "Solaris", "author_name": "Stanisław Lem"}]
    rows = anon.table("authors").select("id,books!inner(id)").gt("books.year", 1970).order("id").execute()
    assert rows.data == [{"id": 1, "books": [{"id": 1}]}, {"id": 3, "books": [{"id": 5}]}]


def test_ambiguous_embedding_raises_pgrst201(anon):
    error = raises(anon.table("letters").select("id,people(name)"))
    assert error.code == "PGRST201"


def test_single_and_maybe_single(anon):
    assert anon.table("authors").select("id,name").eq("id", 1).single().execute().data == \
        {"id": 1, "name": "Ursula Le Guin"}
    assert raises(anon.table("authors").select("id").single()).code == "PGRST116"
    assert anon.table("authors").select("id").eq("id", 99).maybe_single().execute() is None
    assert anon.table("authors").select("id").eq("id", 2).maybe_single().execute().data == {"id": 2}


def test_csv(anon):
    answer = anon.table("genres").select("id,name").order("id").csv().execute()
    assert answer.data == 'id,name\n1,"science fiction"\n2,satire\n3,historical'


def test_counts(anon):
    answer = anon.table("authors").select("*", count="exact", head=True).execute()
    assert answer.count == 4
    answer = anon.table("numbers").select("n", count="exact").order("n").limit(2).execute()
    assert answer.count == 100 and [r["n"] for r in answer.data] == [1, 2]


def test_errors_are_postgrest_errors(anon):
    assert raises(anon.table("nope").select("*")).code == "PGRST205"
    assert raises(anon.table("books").select("nope")).code == "42703"
    assert raises(anon.table("books").select("id").eq("id", "abc")).code == "22P02"


def test_insert(anon):
    answer = anon.table("items").insert({"name": "py-fig", "qty": 2}).execute()
    assert answer.data == [{"id": 4, "name": "py-fig", "qty": 2, "note": "none", "category_id": None}]
    answer = anon.table("items").insert([{"name": "py-a", "qty": 1}, {"name": "py-b"}], default_to_null=False).execute()
    assert sorted((r["name"], r["qty"]) for r in answer.data) == [("py-a", 1), ("py-b", 0)]


def test_insert_errors(anon):
    assert raises(anon.table("items").insert({"name": "apple"})).code == "23505"
    assert raises(anon.table("items").insert({"name": "neg", "qty": -1})).code == "23514"
    assert raises(anon.table("items").insert({"name": "z", "nope": 1})).code == "PGRST204"
    assert anon.table("items").select("id", count="exact", head=True).execute().count == 3


def test_upsert(anon):
    answer = anon.table("kv").upsert([{"key": "a", "value": "py"}, {"key": "n", "value": "new"}]).execute()
    assert sorted((r["key"], r["value"]) for r in answer.data) == [("a", "py"), ("n", "new")]
    answer = anon.table("items").upsert({"name": "pear", "qty": 11}, on_conflict="name").execute()
    assert [(r["name"], r["qty"]) for r in answer.data] == [("pear", 11)]
    answer = anon.table("kv").upsert({"key": "b", "value": "ignored"}, ignore_duplicates=True).execute()
    assert answer.data == []
    assert anon.table("kv").select("value").eq("key", "b").execute().data == [{"value": "two"}]


def test_update_and_delete(anon):
    assert anon.table("items").update({"qty": 9}).eq("name", "apple").execute().data[0]["qty"] == 9
    assert anon.table("items").update({"qty": 1}).eq("name", "nothing").execute().data == []
    assert [r["name"] for r in anon.table("items").delete().eq("name", "pear").execute().data] == ["pear"]
    assert ids(anon.table("items").select("id").order("id").execute()) == [1, 3]


def test_max_affected(anon):
    error = raises(anon.table("items").delete().lte("id", 3).max_affected(1))
    assert error.code == "PGRST124"
    assert anon.table("items").select("id", count="exact", head=True).execute().count == 3


def test_rpc(anon):
    assert anon.rpc("add", {"a": 1, "b": 2}).execute().data == 3
    assert anon.rpc("add", {"a": 2, "b": 2}, get=True).execute().data == 4
    assert anon.rpc("books_of", {"author": 1}).select("id").gt("year", 1970).execute().data == [{"id": 1}]
    assert anon.rpc("total", {"nums": [1, 2, 3]}).execute().data == 6
    assert anon.rpc("echo", {"x": 1}).execute().data == {"x": 1}
    assert anon.rpc("books_of", {"author": 1}, count="exact", head=True).execute().count == 2


def test_rpc_void_and_errors(anon):
    anon.rpc("bump", {"item": "apple"}).execute()
    assert anon.table("items").select("qty").eq("name", "apple").execute().data == [{"qty": 4}]
    assert raises(anon.rpc("nope", {})).code == "PGRST202"
    assert raises(anon.rpc("pick", {"v": 1})).code == "PGRST203"
    assert raises(anon.rpc("raise_state", {"state": "PT429"})).code == "PT429"


def test_schema_switch(anon):
    assert anon.schema("fixture_alt").table("gadgets").select("name").order("id").execute().data == \
        [{"name": "lamp"}, {"name": "clock"}]
    assert anon.schema("fixture_alt").rpc("add", {"a": 2, "b": 3}).execute().data == 6


def test_roles_and_rls(anon, service, alice):
    assert anon.rpc("whoami").execute().data == "anon"
    assert service.rpc("whoami").execute().data == "service_role"
    assert alice.rpc("whoami").execute().data == "authenticated"
    assert alice.table("notes").select("body").execute().data == [{"body": "alice's note"}]
    assert anon.table("notes").select("body").execute().data == []
    assert len(service.table("notes").select("body").execute().data) == 2
    assert alice.table("notes").insert({"body": "from py"}).execute().data[0]["body"] == "from py"
    forged = raises(alice.table("notes").insert({"body": "x", "owner": "22222222-2222-4222-8222-222222222222"}))
    assert forged.code == "42501"
    assert raises(anon.table("secrets").select("*")).code == "42501"
    assert alice.table("secrets").select("body").execute().data == [{"body": "the vault code"}]
