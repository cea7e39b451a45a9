"""PostgREST's configuration options honoured by /rest/v1 (configuration.rst; the `rest.*` settings, PostgREST's
own names): db-pre-request, jwt-aud, jwt-role-claim-key, openapi-mode=disabled, db-tx-end=rollback, no
db-max-rows, db-aggregates-enabled (aggregate_functions.rst) and db-plan-enabled. One gateway with all of them on
the conformance fixture; cases written as corpus entries (tests/rest/corpus.py)."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.api_harness import running_api
from tests.rest.corpus import EXPOSED_SCHEMAS, mismatches, send
from tests.rest.harness import fixture_database

SETTINGS = {"rest.db_schemas": EXPOSED_SCHEMAS, "rest.db_max_rows": 0, "rest.db_pre_request": "fixture.pre_request",
            "rest.jwt_aud": "authenticated", "rest.jwt_role_claim_key": ".app_metadata.role",
            "rest.openapi_mode": "disabled", "rest.db_tx_end": "rollback", "rest.db_aggregates_enabled": True,
            "rest.db_plan_enabled": True}

CASES = [
    {"id": "pre-request-runs-first",
     "request": {"path": "/authors?select=id&id=eq.1"},
     "expect": {"status": 200, "body": [{"id": 1}], "headers": {"X-Pre-Request": "ran"}}},
    {"id": "pre-request-refuses",
     "request": {"path": "/authors?select=id", "headers": {"X-Block": "yes"}},
     "expect": {"status": 403, "body": {"code": "PT403", "details": None, "hint": None,
                                        "message": "blocked by the pre-request function"}}},
    {"id": "pre-request-on-rpc",
     "request": {"path": "/rpc/add?a=1&b=2"},
     "expect": {"status": 200, "body": 3, "headers": {"X-Pre-Request": "ran"}}},
    {"id": "audience-matches",
     "request": {"path": "/rpc/whoami", "jwt": {"aud": "authenticated", "app_metadata": {"role": "authenticated"},
                                                 "exp_in": 600}},
     "expect": {"status": 200, "body": "authenticated"}},
    {"id": "audience-in-a-list",
     "request": {"path": "/rpc/whoami", "jwt": {"aud": ["other", "authenticated"],
                                                 "app_metadata": {"role": "authenticated"}, "exp_in": 600}},
     "expect": {"status": 200, "body": "authenticated"}},
    {"id": "audience-mismatch",
     "request": {"path": "/rpc/whoami", "jwt": {"aud": "somewhere-else", "app_metadata": {"role": "authenticated"},
                                                 "exp_in": 600}},
     "expect": {"status": 401, "body_subset": {"code": "PGRST303", "message": "JWT not in audience"},
                "headers": {"WWW-Authenticate":
                            'Bearer error="invalid_token", error_description="JWT not in audience"'}}},
    {"id": "audience-absent-passes",
     "request": {"path": "/rpc/whoami", "jwt": {"app_metadata": {"role": "authenticated"}, "exp_in": 600}},
     "expect": {"status": 200, "body": "authenticated"}},
    {"id": "role-from-the-configured-claim",
     "request": {"path": "/rpc/whoami", "jwt": {"aud": "authenticated", "role": "service_role", "exp_in": 600}},
     "expect": {"status": 200, "body": "anon"}},
    {"id": "openapi-disabled",
     "request": {"path": "/"},
     "expect": {"status": 404, "body": {"code": "PGRST126", "details": None, "hint": None,
                                        "message": "Root endpoint metadata is disabled"}}},
    {"id": "no-max-rows",
     "request": {"path": "/numbers?select=n", "headers": {"Prefer": "count=exact"}},
     "expect": {"status": 200, "length": 100, "headers": {"Content-Range": "0-99/100"}}},
    {"id": "tx-end-rollback",
     "request": {"method": "POST", "path": "/items?select=name", "body": {"name": "rolled back"},
                 "headers": {"Prefer": "return=representation"}},
     "expect": {"status": 201, "body": [{"name": "rolled back"}]},
     "after": [{"request": {"path": "/items?name=eq.rolled%20back"}, "expect": {"status": 200, "body": []}}]},
    {"id": "tx-end-rollback-refuses-commit-override",
     "request": {"method": "POST", "path": "/items", "body": {"name": "kept?"}, "headers": {"Prefer": "tx=commit"}},
     "expect": {"status": 201},
     "after": [{"request": {"path": "/items?name=eq.kept%3F"}, "expect": {"status": 200, "body": []}}]},
    {"id": "aggregate-count",
     "request": {"path": "/books?select=count()"},
     "expect": {"status": 200, "body": [{"count": 6}]}},
    {"id": "aggregate-count-grouped",
     "request": {"path": "/books?select=author_id,count()&order=author_id"},
     "expect": {"status": 200, "body": [{"author_id": 1, "count": 2}, {"author_id": 2, "count": 2},
                                        {"author_id": 3, "count": 1}, {"author_id": None, "count": 1}]}},
    {"id": "aggregate-sum",
     "request": {"path": "/books?select=price.sum()"},
     "expect": {"status": 200, "body": [{"sum": 41.24}]}},
    {"id": "aggregate-min-max",
     "request": {"path": "/books?select=year.min(),year.max()"},
     "expect": {"status": 200, "body": [{"min": 1961, "max": 1979}]}},
    {"id": "aggregate-alias",
     "request": {"path": "/books?select=latest:year.max()"},
     "expect": {"status": 200, "body": [{"latest": 1979}]}},
    {"id": "aggregate-with-filter",
     "request": {"path": "/books?select=count()&author_id=eq.1"},
     "expect": {"status": 200, "body": [{"count": 2}]}},
    {"id": "aggregate-grouped-by-embedded-to-one",
     "request": {"path": "/books?select=count(),authors(country)&author_id=eq.2"},
     "expect": {"status": 200, "body": [{"count": 2, "authors": {"country": "PL"}}]}},
    {"id": "aggregate-cast",
     "request": {"path": "/books?select=count()::text"},
     "expect": {"status": 200, "body": [{"count": "6"}]}},
    {"id": "aggregate-count-as-a-column",
     "request": {"path": "/books?select=count"},
     "expect": {"status": 200, "body": [{"count": 6}]}},
    {"id": "aggregate-sum-in-embed",
     "request": {"path": "/authors?select=id,books(price.sum())&order=id"},
     "expect": {"status": 200, "body": [{"id": 1, "books": [{"sum": 22.50}]}, {"id": 2, "books": [{"sum": 9.99}]},
                                        {"id": 3, "books": [{"sum": 8.75}]}, {"id": 4, "books": [{"sum": None}]}]}},
    {"id": "aggregate-grouped-by-spread-to-one",
     "request": {"path": "/books?select=count(),...authors(country)&author_id=eq.2"},
     "expect": {"status": 200, "body": [{"count": 2, "country": "PL"}]}},
    {"id": "aggregate-on-rpc",
     "request": {"path": "/rpc/books_of?author=1&select=year.max()"},
     "expect": {"status": 200, "body": [{"max": 1974}]}},
    {"id": "aggregate-in-embed",
     "request": {"path": "/authors?select=id,books(count)&order=id"},
     "expect": {"status": 200, "body": [{"id": 1, "books": [{"count": 2}]}, {"id": 2, "books": [{"count": 2}]},
                                        {"id": 3, "books": [{"count": 1}]}, {"id": 4, "books": [{"count": 0}]}]}},
    {"id": "plan-json",
     "request": {"path": "/authors", "headers": {"Accept": "application/vnd.pgrst.plan+json"}},
     "expect": {"status": 200, "body_paths": ["/0/Plan"],
                "headers_match": {"Content-Type": "application/vnd\\.pgrst\\.plan\\+json.*"}}},
    {"id": "plan-text",
     "request": {"path": "/authors", "headers": {"Accept": "application/vnd.pgrst.plan+text"}},
     "expect": {"status": 200, "headers_match": {"Content-Type": "application/vnd\\.pgrst\\.plan\\+text.*"}}},
]


@pytest.fixture(scope="module")
def rest(pg_server, template_db):
    with fixture_database(pg_server, template_db) as url, running_api(url, settings=SETTINGS) as api, \
            httpx.Client(base_url=f"{api.url}/rest/v1", timeout=30) as client, \
            psycopg.connect(url, autocommit=True) as owner:
        owner.execute("select fixture.reset()")
        yield client


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_setting(rest, case):
    for step in [case, *case.get("after", ())]:
        problems = mismatches(step["expect"], send(rest, step["request"]))
        assert not problems, f"{case['id']}:\n  " + "\n  ".join(problems)
