"""The PostgREST conformance corpus (tests/rest/cases/*.yaml, format in tests/rest/corpus.py) over real HTTP.

One database for the module: a clone of the migrated template with tests/rest/fixture.sql added; one gateway
exposing its schemas (`rest.db_schemas = fixture, fixture_alt`, `rest.db_max_rows = 50`,
`rest.db_tx_end = commit-allow-override` so Prefer: tx=rollback is honoured; tests/rest/harness.py). Each corpus
entry is one pytest case, `<file>:<id>`. Expectations restate PostgREST v14's behaviour (its spec tests and docs); a
case fails when /rest/v1 answers differently, never the other way round."""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest

from tests.api_harness import ANON_KEY
from tests.rest.corpus import load_cases, mismatches, send
from tests.rest.harness import fixture_database, fixture_gateway

CASES = load_cases()
REQUEST_TIMEOUT_S = 30  # the 100,000-row inserts take a few seconds; nothing else comes close


@pytest.fixture(scope="module")
def fixture_db(pg_server, template_db):
    with fixture_database(pg_server, template_db) as url:
        yield url


@pytest.fixture(scope="module")
def rest(fixture_db):
    with fixture_gateway(fixture_db) as api, \
            httpx.Client(base_url=f"{api.url}/rest/v1", timeout=REQUEST_TIMEOUT_S) as client:
        yield client


@pytest.fixture(scope="module")
def owner(fixture_db):
    with psycopg.connect(fixture_db, autocommit=True) as conn:
        yield conn


# Set when a request timed out: the server stopped serving, and every later case fails at once instead of each
# waiting out its own timeout (issue 14 section 4: the server must keep serving).
STALLED: list[str] = []


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_conformance(case, rest, owner):
    if STALLED:
        pytest.fail(f"/rest/v1 stopped answering during {STALLED[0]}")
    if case.writes:
        owner.execute("select fixture.reset()")
    try:
        steps = [case.data, *case.data.get("after", ())]
        for number, step in enumerate(steps):
            try:
                response = send(rest, step["request"])
            except httpx.TimeoutException:
                STALLED.append(case.id)
                raise
            problems = mismatches(step.get("expect") or {}, response)
            label = "request" if number == 0 else f"after[{number - 1}]"
            assert not problems, f"{case.id} {label} {step['request'].get('method', 'GET')} " \
                f"{step['request'].get('path', '(generated)')[:200]}:\n  " + "\n  ".join(problems)
    finally:
        if case.writes:
            owner.execute("select fixture.reset()")


def test_the_schema_cache_reloads_on_notify(rest, owner):
    """NOTIFY pgrst, 'reload schema' (schema_cache.rst): a table created afterwards is served, a dropped one is
    gone; until the reload the cache answers as before (PGRST205)."""
    headers = {"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}"}
    assert rest.get("/fresh_shelf", headers=headers).status_code == 404
    owner.execute("create table fixture.fresh_shelf (id int primary key); grant select on fixture.fresh_shelf to anon;"
                  " insert into fixture.fresh_shelf values (1)")
    try:
        owner.execute("notify pgrst, 'reload schema'")
        answer = _eventually(lambda: rest.get("/fresh_shelf", headers=headers), lambda a: a.status_code == 200)
        assert answer.json() == [{"id": 1}]
    finally:
        owner.execute("drop table fixture.fresh_shelf")
        owner.execute("notify pgrst, 'reload schema'")
    # before the reload lands the cached table answers 42P01 (404) from PostgreSQL; after it, PGRST205
    answer = _eventually(lambda: rest.get("/fresh_shelf", headers=headers),
                         lambda a: a.status_code == 404 and a.json().get("code") == "PGRST205")
    assert answer.json()["code"] == "PGRST205"


def _eventually(request, done, timeout_s: float = 10) -> httpx.Response:
    """Poll until `done(answer)` (the reload is asynchronous and debounced)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = request()
        if done(answer) or time.monotonic() > deadline:
            assert done(answer), answer.text
            return answer
        time.sleep(0.05)
