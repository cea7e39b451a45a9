"""The PostgREST conformance corpus (tests/rest/cases/*.yaml, format in tests/rest/corpus.py) over real HTTP.

One database for the module: a clone of the migrated template with tests/rest/fixture.sql added; one gateway
exposing its schemas (`rest.db_schemas = fixture, fixture_alt`, `rest.db_max_rows = 50`,
`rest.db_tx_end = commit-allow-override` so Prefer: tx=rollback is honoured; tests/rest/harness.py). Each corpus
entry is one pytest case, `<file>:<id>`. Expectations restate PostgREST v14's behaviour (its spec tests and docs); a
case fails when /rest/v1 answers differently, never the other way round."""

from __future__ import annotations

import httpx
import psycopg
import pytest

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
