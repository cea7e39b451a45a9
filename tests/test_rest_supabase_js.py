"""supabase-js 2.119 (postgrest-js inside) against the local /rest/v1, over HTTP, on the conformance fixture schema.

tests/js/rest-client.mjs runs every operation once (one node process for the module) and prints its results; each
test below checks one of them: what the official client hands the application (`data`, `error`, `count`,
`status`) for `.from().select/insert/upsert/update/delete`, the filters, `.single()`, `.maybeSingle()`, `.csv()`,
counts with `head`, `.rpc()`, schema switching and a user session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api_harness import ANON_KEY, SERVICE_KEY
from tests.rest.corpus import user_token
from tests.rest.harness import fixture_database, fixture_gateway

JS_DIR = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (JS_DIR / "node_modules" / "@supabase" / "supabase-js").is_dir(),
    reason="needs node and `npm ci` in tests/js (make test installs them)")

ALICE_NOTE = "alice's note"


def _ids(*values):
    return [{"id": v} for v in values]


def _error(code, status):
    return {"error_code": code, "status": status}


# name -> what supabase-js must report. `data` exact; `error_code` + `status`; `count`; `sorted_data` compares rows
# whatever their order (PostgREST does not order a mutation's representation).
EXPECTED = {
    "select_columns": {"status": 200, "data": [{"id": 1, "name": "Ursula Le Guin"}, {"id": 2, "name": "Stanisław Lem"},
                                              {"id": 3, "name": "Octavia Butler"}, {"id": 4, "name": "Anonymous"}]},
    "select_alias_and_cast": {"data": [{"year_text": "1961"}]},
    "select_json_path": {"data": [{"id": 3, "lang": "pl"}]},
    "eq": {"data": _ids(1, 2)},
    "neq": {"data": _ids(3, 4, 5)},
    "gt": {"data": _ids(1, 5)},
    "gte": {"data": _ids(1, 2, 5)},
    "lt": {"data": _ids(3)},
    "lte": {"data": _ids(3, 4)},
    "like": {"data": _ids(1, 2, 4)},
    "ilike": {"data": _ids(1, 2, 4)},
    "like_any_of": {"data": _ids(3, 5)},
    "ilike_all_of": {"data": _ids(2)},
    "regex_match": {"data": _ids(1, 2, 4)},
    "regex_imatch": {"data": _ids(1, 5)},
    "in_list": {"data": _ids(1, 3, 5)},
    "in_quoted": {"data": _ids(2, 3)},
    "not_in": {"data": _ids(6)},
    "is_null": {"data": _ids(6)},
    "is_true": {"data": _ids(1, 2, 5)},
    "is_distinct": {"data": _ids(3, 4, 6)},
    "not_is_null": {"data": _ids(1, 2, 3, 5)},
    "contains_array": {"data": _ids(3)},
    "contains_json": {"data": _ids(3, 4)},
    "contained_by": {"data": _ids(4)},
    "overlaps": {"data": _ids(2, 5)},
    "range_gt": {"data": _ids(3)},
    "range_lt": {"data": _ids(1, 2)},
    "range_gte": {"data": _ids(2, 3)},
    "range_lte": {"data": _ids(1, 2)},
    "range_adjacent": {"data": _ids(2, 3)},
    "text_search": {"data": _ids(1, 2)},
    "text_search_plain": {"data": _ids(2)},
    "text_search_phrase": {"data": _ids(3)},
    "text_search_websearch": {"data": _ids(1, 4)},
    "match_object": {"data": _ids(3)},
    "or": {"data": _ids(1, 3)},
    "or_nested": {"data": _ids(1, 3)},
    "or_referenced_table": {"data": [{"id": 1, "books": []}, {"id": 2, "books": _ids(3)}, {"id": 3, "books": _ids(5)},
                                     {"id": 4, "books": []}]},
    "filter_raw": {"data": _ids(3)},
    "not_like": {"data": _ids(3, 5, 6)},
    "json_path_filter": {"data": _ids(3, 4)},
    "order_desc_nulls_last": {"data": _ids(5, 1, 2, 4, 3, 6)},
    "order_nulls_first": {"data": _ids(6, 3, 4, 2, 1, 5)},
    "order_two_columns": {"data": _ids(1, 2, 4, 3, 5, 6)},
    "order_referenced": {"data": [{"id": 1, "books": _ids(2, 1)}]},
    "limit": {"data": [{"n": 1}, {"n": 2}, {"n": 3}]},
    "range": {"data": [{"n": 11}, {"n": 12}, {"n": 13}]},
    "limit_referenced": {"data": [{"id": 1, "books": _ids(2)}, {"id": 2, "books": _ids(4)}]},
    "embed_to_one": {"data": [{"id": 1, "authors": {"name": "Ursula Le Guin"}}]},
    "embed_to_many": {"data": [{"id": 2, "books": _ids(3, 4)}]},
    "embed_many_to_many": {"data": [{"id": 4, "genres": [{"name": "satire"}, {"name": "science fiction"}]}]},
    "embed_hint": {"data": [{"id": 2, "sender": {"name": "Sam"}}]},
    "embed_inner": {"data": [{"id": 1, "books": _ids(1)}, {"id": 3, "books": _ids(5)}]},
    "embed_spread": {"data": [{"title": "Solaris", "author_name": "Stanisław Lem"}]},
    "embed_ambiguous": _error("PGRST201", 300),
    "embed_no_relationship": _error("PGRST200", 400),
    "single": {"status": 200, "data": {"id": 1, "name": "Ursula Le Guin"}},
    "single_none": _error("PGRST116", 406),
    "single_many": _error("PGRST116", 406),
    "maybe_single_none": {"data": None, "error": None},
    "maybe_single_one": {"data": {"id": 2}},
    "maybe_single_many": _error("PGRST116", 406),
    "csv": {"data": 'id,name\n1,"science fiction"\n2,satire\n3,historical'},
    "explain_disabled": _error("PGRST107", 406),
    "geojson_without_postgis": _error("PGRST107", 406),
    "not_operator_in_or": {"data": _ids(1, 6)},
    "strip_nulls": {"data": [{"id": 3, "country": "US"}, {"id": 4}]},
    "count_exact_head": {"status": 200, "count": 4, "data": None},
    "count_exact_with_rows": {"status": 206, "count": 100, "data": [{"n": 1}, {"n": 2}]},
    "count_planned_head": {"positive_count": True},
    "count_estimated_head": {"count": 4},
    "missing_table": _error("PGRST205", 404),
    "unknown_column": _error("42703", 400),
    "bad_value": _error("22P02", 400),
    "schema_switch": {"data": [{"name": "lamp"}, {"name": "clock"}]},
    "insert_minimal": {"status": 201, "data": None, "error": None},
    "insert_select": {"status": 201, "data": [{"name": "js-fig", "qty": 2, "note": "none"}]},
    "insert_bulk_mixed_keys": {"status": 201, "sorted_data": [{"name": "js-a", "qty": 1, "note": "none"},
                                                              {"name": "js-b", "qty": 0, "note": "n"}]},
    "insert_embed": {"data": [{"name": "js-kiwi", "categories": {"name": "fruit"}}]},
    "insert_count": {"status": 201, "count": 2, "data": None},
    "insert_single": {"status": 201, "data": {"name": "js-single"}},
    "insert_conflict": _error("23505", 409),
    "insert_check_violation": _error("23514", 400),
    "insert_unknown_column": _error("PGRST204", 400),
    "insert_rollback": {"status": 201, "data": [{"name": "js-ghost"}]},
    "after_rollback": {"data": []},
    "upsert_merge": {"status": 201, "sorted_data": [{"key": "a", "value": "js-uno", "version": 1},
                                                    {"key": "js", "value": "new", "version": 1}]},
    "upsert_on_conflict": {"status": 200, "data": [{"name": "pear", "qty": 11}]},
    "upsert_ignore": {"status": 201, "data": []},
    "after_upsert_ignore": {"data": [{"value": "two"}]},
    "update": {"status": 200, "data": [{"name": "js-fig", "qty": 9}]},
    "update_minimal": {"status": 204, "data": None, "error": None},
    "update_none": {"status": 200, "data": []},
    "update_max_affected": _error("PGRST124", 400),
    "delete": {"status": 200, "data": [{"name": "js-fig"}]},
    "delete_minimal": {"status": 204, "error": None},
    "delete_count": {"status": 204, "count": 2},
    "rpc_scalar": {"status": 200, "data": 3},
    "rpc_get": {"data": 4},
    "rpc_setof_filtered": {"data": _ids(1)},
    "rpc_setof_order_limit": {"data": [{"title": "Solaris"}]},
    "rpc_head_count": {"count": 2, "data": None},
    "rpc_single": {"data": {"title": "Kindred"}},
    "rpc_void": {"status": 204, "data": None, "error": None},
    "rpc_variadic": {"data": 6},
    "rpc_json_body": {"data": {"x": 1, "y": [True, None]}},
    "rpc_no_args": {"data": "nothing needed"},
    "rpc_array_get": {"data": 3},
    "rpc_missing": _error("PGRST202", 404),
    "rpc_ambiguous": _error("PGRST203", 300),
    "rpc_raise": _error("PT429", 429),
    "rpc_schema_switch": {"data": 6},
    "service_role": {"data": "service_role"},
    "user_role": {"data": "authenticated"},
    "user_rls_select": {"data": [{"body": ALICE_NOTE}]},
    "anon_rls_select": {"data": []},
    "user_rls_insert": {"status": 201, "data": [{"body": "from js"}]},
    "user_rls_insert_forged_owner": _error("42501", 403),
    "anon_no_grant": _error("42501", 401),
    "user_grant": {"data": [{"body": "the vault code"}]},
}


@pytest.fixture(scope="module")
def results(pg_server, template_db):
    with fixture_database(pg_server, template_db) as url, fixture_gateway(url) as api:
        env = {**os.environ, "SUPABASE_URL": api.url, "ANON_KEY": ANON_KEY, "SERVICE_KEY": SERVICE_KEY,
               "USER_TOKEN": user_token("alice")}
        done = subprocess.run([NODE, "rest-client.mjs"], cwd=JS_DIR, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_operation_ran(results):
    assert set(results) == set(EXPECTED), "rest-client.mjs and EXPECTED must name the same operations"


def _key(row):
    return json.dumps(row, sort_keys=True)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_supabase_js(results, name):
    result, expected = results.get(name), EXPECTED[name]
    assert result is not None, f"{name} did not run"
    assert "thrown" not in result, f"supabase-js threw: {result['thrown']}"
    if "error_code" in expected:
        assert result["error"] is not None, f"expected error {expected['error_code']}, got {result}"
        assert result["error"].get("code") == expected["error_code"], result
        assert result["status"] == expected["status"], result
        return
    assert result["error"] is None or "error" in expected, f"unexpected error: {result['error']} ({result['status']})"
    for field in ("status", "data", "count", "error"):
        if field in expected:
            assert result[field] == expected[field], f"{field}: expected {expected[field]!r}, got {result[field]!r}"
    if "sorted_data" in expected:
        assert sorted(map(_key, result["data"] or [])) == sorted(map(_key, expected["sorted_data"])), result
    if expected.get("positive_count"):
        assert isinstance(result["count"], int) and result["count"] > 0, result
