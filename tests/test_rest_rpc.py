"""/rest/v1/rpc over HTTP: named arguments, the single unnamed json parameter, variadic, GET for stable
functions, set results with filters, void, the response.status / response.headers settings, and PGRST202."""

from __future__ import annotations

import httpx
import pytest

from tests.rest_fixture import fixture_api


@pytest.fixture(scope="module")
def api(pg_server, template_db):
    with fixture_api(pg_server, template_db) as (running, _):
        yield running


def rpc(api, name, body=None, method="POST", query="", **headers):
    return httpx.request(method, f"{api.url}/rest/v1/rpc/{name}{query}", json=body,
                         headers={**api.anon_headers, **headers})


def test_scalar_results_are_json_values(api):
    assert rpc(api, "add", {"a": 1, "b": 2}).text == "3"
    assert rpc(api, "add", method="GET", query="?a=4&b=5").text == "9"
    assert rpc(api, "hello").text == '"hello"'


def test_a_single_unnamed_json_parameter_gets_the_whole_body(api):
    assert rpc(api, "body", {"any": ["thing", 1]}).json() == {"any": ["thing", 1]}
    assert rpc(api, "echo", {"payload": {"a": 1}}).json() == {"a": 1}


def test_variadic_arguments(api):
    assert rpc(api, "sum_all", {"nums": [1, 2, 3]}).text == "6"
    assert rpc(api, "sum_all", method="GET", query="?nums=1&nums=2").text == "3"


def test_set_results_take_filters_select_order_and_counts(api):
    answer = rpc(api, "projects_of", method="GET", query="?client=2&select=name&order=id.desc",
                 Prefer="count=exact")
    assert answer.json() == [{"name": "OSX"}, {"name": "IOS"}]
    assert answer.headers["content-range"] == "0-1/2"
    embedded = rpc(api, "projects_of", {"client": 1}, query="?select=id,clients(name)&id=eq.2")
    assert embedded.json() == [{"id": 2, "clients": {"name": "Microsoft"}}]


def test_void_is_204(api):
    answer = rpc(api, "noop")
    assert answer.status_code == 204 and answer.content == b""


def test_a_function_sets_status_and_headers(api):
    answer = rpc(api, "teapot")
    assert answer.status_code == 418 and answer.headers["x-brew"] == "tea"


def test_custom_sqlstates_choose_the_status(api):
    answer = rpc(api, "quota")
    assert answer.status_code == 429
    assert answer.json() == {"code": "PT429", "details": "try later", "hint": "upgrade", "message": "quota exceeded"}
    plain = rpc(api, "fail")
    assert plain.status_code == 400 and plain.json()["code"] == "P0001"


def test_volatile_functions_called_by_get_cannot_write(api):
    answer = rpc(api, "add_client", method="GET", query="?id=77&name=x")
    assert answer.status_code == 405 and answer.json()["code"] == "25006"
    assert rpc(api, "add_client", {"id": 77, "name": "x"}).json() == {"id": 77, "name": "x"}


def test_unknown_functions_and_arguments_are_pgrst202(api):
    answer = rpc(api, "add", {"a": 1, "c": 2})
    assert answer.status_code == 404
    body = answer.json()
    assert body["code"] == "PGRST202"
    assert body["message"] == "Could not find the function api.add(a, c) in the schema cache"
    assert body["details"] == ("Searched for the function api.add with parameters a, c or with a single unnamed "
                               "json/jsonb parameter, but no matches were found in the schema cache.")
    assert rpc(api, "nope").json()["message"] == "Could not find the function api.nope without parameters in the " \
                                                 "schema cache"
    assert rpc(api, "add", method="PUT").json()["code"] == "PGRST101"


def test_the_request_settings_reach_the_function(api):
    answer = rpc(api, "whoami", method="GET", Cookie="session=abc; theme=dark")
    body = answer.json()
    assert body["role"] == "anon"
    assert body["claims"]["role"] == "anon"
    assert body["method"] == "GET" and body["path"] == "/rpc/whoami"
    assert body["headers"]["cookie"] == "session=abc; theme=dark"
    assert body["cookies"] == {"session": "abc", "theme": "dark"}


def test_the_pre_request_function_runs_first_and_may_refuse(pg_server, template_db):
    with fixture_api(pg_server, template_db, **{"rest.db_pre_request": "api.check_request"}) as (api, _):
        ok = httpx.get(f"{api.url}/rest/v1/clients?select=id&limit=1", headers=api.anon_headers)
        assert ok.status_code == 200 and ok.headers["x-checked"] == "yes"
        refused = httpx.post(f"{api.url}/rest/v1/clients", json={"id": 300, "name": "x"},
                             headers={**api.anon_headers, "X-Block": "yes"})
        assert refused.status_code == 403 and refused.json()["message"] == "blocked by the pre-request hook"
        again = httpx.get(f"{api.url}/rest/v1/clients?id=eq.300", headers=api.anon_headers)
        assert again.json() == []


def test_computed_fields_and_relationships_on_function_results(api):
    answer = rpc(api, "projects_of", method="GET", query="?client=1&select=id,open_tasks(name)&id=eq.1")
    assert answer.json() == [{"id": 1, "open_tasks": [{"name": "Design w7"}]}]
