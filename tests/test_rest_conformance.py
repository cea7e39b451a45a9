"""The PostgREST conformance corpus (tests/rest/cases/*.yaml, format in tests/rest/corpus.py) over real HTTP.

One database for the module: a clone of the migrated template with tests/rest/fixture.sql added; one gateway
exposing its schemas (`rest.db_schemas = fixture, fixture_alt`, `rest.db_max_rows = 50`,
`rest.db_tx_end = commit-allow-override` so Prefer: tx=rollback is honoured). Each corpus entry is one
pytest case, `<file>:<id>`. Expectations restate PostgREST v14's behaviour (its spec tests and docs); a case fails
when /rest/v1 answers differently, never the other way round."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.api_harness import running_api
from tests.rest.corpus import EXPOSED_SCHEMAS, FIXTURE_SQL, MAX_ROWS, load_cases, mismatches, send

CASES = load_cases()


@pytest.fixture(scope="module")
def fixture_db(pg_server, template_db):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FIXTURE_SQL.read_text())
    yield url
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def rest(fixture_db):
    settings = {"rest.db_schemas": EXPOSED_SCHEMAS, "rest.db_max_rows": MAX_ROWS,
                "rest.db_tx_end": "commit-allow-override"}
    with running_api(fixture_db, settings=settings) as api, \
            httpx.Client(base_url=f"{api.url}/rest/v1", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def owner(fixture_db):
    with psycopg.connect(fixture_db, autocommit=True) as conn:
        yield conn


def _reset(owner: psycopg.Connection) -> None:
    owner.execute("select fixture.reset()")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_conformance(case, rest, owner):
    if case.writes:
        _reset(owner)
    try:
        steps = [case.data, *case.data.get("after", ())]
        for number, step in enumerate(steps):
            response = send(rest, step["request"])
            problems = mismatches(step.get("expect") or {}, response)
            label = "request" if number == 0 else f"after[{number - 1}]"
            assert not problems, f"{case.id} {label} {step['request'].get('method', 'GET')} " \
                f"{step['request'].get('path', '(generated)')[:200]}:\n  " + "\n  ".join(problems)
    finally:
        if case.writes:
            _reset(owner)
