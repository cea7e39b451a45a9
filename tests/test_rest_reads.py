"""/rest/v1 reads over HTTP against the fixture schema (tests/fixtures/rest/schema.sql): select, embedding,
filters, logic trees, order, ranges and counts — status, headers and bodies as PostgREST v14 answers them."""

from __future__ import annotations

import httpx
import pytest

from tests.rest_fixture import fixture_api


@pytest.fixture(scope="module")
def api(pg_server, template_db):
    with fixture_api(pg_server, template_db, **{"rest.db_max_rows": 1000}) as (running, _):
        yield running


def get(api, path, **headers):
    return httpx.get(f"{api.url}/rest/v1{path}", headers={**api.anon_headers, **headers})


def test_the_body_is_json_rendered_by_postgresql_byte_for_byte(api):
    answer = get(api, "/clients?order=id")
    assert answer.status_code == 200
    assert answer.text == '[{"id":1,"name":"Microsoft"}, \n {"id":2,"name":"Apple"}]'
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.headers["content-range"] == "0-1/*"


def test_select_aliases_casts_and_json_paths(api):
    answer = get(api, "/items?select=label:name,price::text,data->size->>w,color:data->>color&order=id&limit=1")
    assert answer.json() == [{"label": "apple", "price": "1.50", "w": "1", "color": "red"}]


def test_many_to_one_is_an_object_and_one_to_many_an_array(api):
    assert get(api, "/projects?select=name,clients(name)&id=eq.5").json() == [{"name": "Orphan", "clients": None}]
    assert get(api, "/clients?select=name,projects(name)&id=eq.1&projects.order=id.desc").json() == \
        [{"name": "Microsoft", "projects": [{"name": "Windows 10"}, {"name": "Windows 7"}]}]


def test_many_to_many_through_a_junction_table(api):
    assert get(api, "/users?select=name,tasks(name)&id=eq.3&tasks.order=id").json() == \
        [{"name": "Dwight Schrute", "tasks": [{"name": "Design w7"}, {"name": "Design IOS"}]}]


def test_composite_foreign_keys_and_views_embed_through_base_tables(api):
    assert get(api, "/cities?select=id,countries(name)&id=eq.2").json() == [{"id": 2, "countries": {"name": "Canada"}}]
    assert get(api, "/projects_view?select=id,clients(name)&id=eq.3").json() == \
        [{"id": 3, "clients": {"name": "Apple"}}]


def test_two_foreign_keys_to_one_table_are_ambiguous_until_hinted(api):
    answer = get(api, "/orders?select=*,addresses(*)")
    assert answer.status_code == 300
    body = answer.json()
    assert body["code"] == "PGRST201"
    assert body["message"] == "Could not embed because more than one relationship was found for 'orders' and " \
                              "'addresses'"
    assert "'addresses!orders_billing_id_fkey'" in body["hint"]
    hinted = get(api, "/orders?select=id,billing:addresses!orders_billing_id_fkey(street),"
                      "shipping:addresses!shipping_id(street)")
    assert hinted.json() == [{"id": 1, "billing": {"street": "Main St"}, "shipping": {"street": "Side St"}}]


def test_no_relationship_is_400_pgrst200(api):
    body = get(api, "/clients?select=*,users(*)").json()
    assert body["code"] == "PGRST200"
    assert body["message"] == "Could not find a relationship between 'clients' and 'users' in the schema cache"


def test_inner_joins_null_embeds_and_spread(api):
    inner = get(api, "/projects?select=id,clients!inner(name)&clients.name=eq.Apple&order=id")
    assert inner.json() == [{"id": 3, "clients": {"name": "Apple"}}, {"id": 4, "clients": {"name": "Apple"}}]
    assert get(api, "/projects?select=id,clients()&clients=is.null").json() == [{"id": 5}]
    assert get(api, "/projects?select=id,...clients(client:name)&id=eq.1").json() == [{"id": 1, "client": "Microsoft"}]


@pytest.mark.parametrize(("query", "ids"), [
    ("id=eq.2", [2]), ("id=neq.2", [1, 3]), ("id=gt.2", [3]), ("id=gte.2", [2, 3]), ("id=lt.2", [1]),
    ("id=lte.2", [1, 2]), ("name=like.*an*", [2]), ("name=ilike.*AN*", [2]), ("name=match.^b", [2]),
    ("name=imatch.^B", [2]), ("id=in.(1,3)", [1, 3]), ("price=is.null", [3]), ("price=not.is.null", [1, 2]),
    ("price=isdistinct.1.50", [2, 3]), ("tags=cs.{fruit}", [1, 2]), ("tags=cd.{fruit,red,green}", [1]),
    ("tags=ov.{red,vegetable}", [1, 3]), ("during=sl.[20,30)", [1, 2, 3]), ("during=sr.[0,2)", [2, 3]),
    ("during=nxr.[0,6)", [1]), ("during=nxl.[5,6)", [2, 3]), ("during=adj.[20,30)", [3]),
    ("body=fts.apple", [1]), ("body=plfts(english).yellow banana", [2]), ("body=phfts.long yellow", [2]),
    ("body=wfts.carrot or apple", [1, 3]), ("name=not.eq.apple", [2, 3]), ("name=like(any).{a*,c*}", [1, 3]),
    ("name=like(all).{*a*,*n*}", [2]), ("id=not.in.(1,2)", [3]), ("data->>color=eq.red", [1]),
    ("data->size->w=eq.1", [1]),
])
def test_every_filter_operator(api, query, ids):
    answer = get(api, f"/items?select=id&order=id&{query}")
    assert answer.status_code == 200, answer.text
    assert [row["id"] for row in answer.json()] == ids


def test_logic_trees_nest_and_negate(api):
    answer = get(api, "/projects?select=id&order=id&or=(id.eq.1,and(id.gt.3,name.like.*S*),not.or(id.lt.5))")
    assert [r["id"] for r in answer.json()] == [1, 4, 5]
    assert [r["id"] for r in get(api, "/projects?select=id&not.and=(id.gt.1,id.lt.5)&order=id").json()] == [1, 5]
    assert [r["id"] for r in get(api, '/projects?select=id&or=(name.eq."Windows 7",name.in.("IOS",OSX))'
                                       "&order=id").json()] == [1, 3, 4]


def test_order_limit_offset_and_content_range(api):
    answer = get(api, "/projects?select=id&order=client_id.desc.nullsfirst,id.asc&limit=3&offset=1")
    assert [r["id"] for r in answer.json()] == [3, 4, 1]
    assert answer.headers["content-range"] == "1-3/*"
    assert get(api, "/projects?limit=0").headers["content-range"] == "*/*"
    assert get(api, "/projects?id=eq.99").headers["content-range"] == "*/*"


def test_counts_partial_content_and_out_of_range(api):
    answer = get(api, "/projects?select=id", Prefer="count=exact", Range="0-1")
    assert answer.status_code == 206 and answer.headers["content-range"] == "0-1/5"
    assert answer.headers["preference-applied"] == "count=exact"
    full = get(api, "/projects?select=id", Prefer="count=exact")
    assert full.status_code == 200 and full.headers["content-range"] == "0-4/5"
    past = get(api, "/projects?offset=10", Prefer="count=exact")
    assert past.status_code == 416
    assert past.json() == {"code": "PGRST103", "details": "An offset of 10 was requested, but there are only 5 rows.",
                           "hint": None, "message": "Requested range not satisfiable"}
    assert past.headers["content-range"] == "*/5"
    empty = get(api, "/projects?id=eq.99", Prefer="count=exact")
    assert empty.headers["content-range"] == "*/0"
    planned = get(api, "/projects?select=id", Prefer="count=planned")
    assert planned.headers["content-range"].startswith("0-4/")


def test_head_answers_the_headers_without_a_body(api):
    answer = httpx.head(f"{api.url}/rest/v1/projects", headers={**api.anon_headers, "Prefer": "count=exact"})
    assert answer.status_code == 200 and answer.content == b"" and answer.headers["content-range"] == "0-4/5"


def test_singular_object_and_pgrst116(api):
    one = get(api, "/clients?id=eq.1", Accept="application/vnd.pgrst.object+json")
    assert one.status_code == 200 and one.text == '{"id":1,"name":"Microsoft"}'
    assert one.headers["content-type"] == "application/vnd.pgrst.object+json; charset=utf-8"
    many = get(api, "/clients", Accept="application/vnd.pgrst.object+json")
    assert many.status_code == 406
    assert many.json() == {"code": "PGRST116", "details": "The result contains 2 rows", "hint": None,
                           "message": "Cannot coerce the result to a single JSON object"}


def test_csv_and_stripped_nulls(api):
    answer = get(api, "/items?select=id,name,price&order=id", Accept="text/csv")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.text == 'id,name,price\n1,apple,1.50\n2,banana,0.25\n3,carrot,'
    stripped = get(api, "/items?select=id,price&id=eq.3", Accept="application/vnd.pgrst.array+json;nulls=stripped")
    assert stripped.text == '[{"id":3}]'


def test_unacceptable_media_type_and_schema(api):
    answer = get(api, "/clients", Accept="application/xml")
    assert answer.status_code == 406 and answer.json()["code"] == "PGRST107"
    assert answer.json()["message"] == "None of these media types are available: application/xml"
    wrong = get(api, "/clients", **{"Accept-Profile": "private"})
    assert wrong.status_code == 406
    assert wrong.json() == {"code": "PGRST106", "details": None, "hint": "Only the following schemas are exposed: api",
                            "message": "Invalid schema: private"}


def test_db_max_rows_caps_the_page(pg_server, template_db):
    with fixture_api(pg_server, template_db, **{"rest.db_max_rows": 2}) as (api, _):
        answer = get(api, "/projects?select=id&order=id", Prefer="count=exact")
        assert [r["id"] for r in answer.json()] == [1, 2]
        assert answer.status_code == 206 and answer.headers["content-range"] == "0-1/5"


def test_aggregates_are_refused_unless_enabled(api):
    answer = get(api, "/items?select=price.sum()")
    assert answer.status_code == 400 and answer.json() == {"code": "PGRST123", "details": None, "hint": None,
                                                           "message": "Use of aggregate functions is not allowed"}


def test_openapi_at_the_root(api):
    answer = get(api, "/")
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["swagger"] == "2.0" and "/clients" in doc["paths"] and "/rpc/add" in doc["paths"]
    assert "/secrets" not in doc["paths"], "anon has no privilege on secrets: follow-privileges hides it"
    assert doc["definitions"]["clients"]["properties"]["id"]["format"] == "integer"


def test_options_lists_the_verbs(api):
    answer = httpx.options(f"{api.url}/rest/v1/clients", headers=api.anon_headers)
    assert answer.status_code == 200 and answer.headers["allow"] == "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"


def test_reads_carry_the_canonical_content_location(api):
    assert get(api, "/clients?name=eq.Apple&id=eq.2").headers["content-location"] == "/clients?id=eq.2&name=eq.Apple"
    assert get(api, "/clients").headers["content-location"] == "/clients"


def test_aggregates_when_enabled(pg_server, template_db):
    with fixture_api(pg_server, template_db, **{"rest.db_aggregates_enabled": True}) as (enabled, _):
        grouped = get(enabled, "/projects?select=client_id,count()&client_id=not.is.null&order=client_id")
        assert grouped.json() == [{"client_id": 1, "count": 2}, {"client_id": 2, "count": 2}]
        total = get(enabled, "/items?select=price.sum(),price.max()::text")
        assert total.json() == [{"sum": 1.75, "max": "1.50"}]


def test_computed_fields_select_filter_and_order(api):
    answer = get(api, "/clients?select=id,label&label=like.*%231&order=label.desc")
    assert answer.json() == [{"id": 1, "label": "Microsoft #1"}]
    embedded = get(api, "/projects?select=id,clients(label)&id=eq.3")
    assert embedded.json() == [{"id": 3, "clients": {"label": "Apple #2"}}]


def test_computed_relationships_embed_through_functions(api):
    answer = get(api, "/projects?select=name,open_tasks(name),owner(name)&id=eq.1")
    assert answer.json() == [{"name": "Windows 7", "open_tasks": [{"name": "Design w7"}],
                              "owner": {"name": "Microsoft"}}]
