"""The conformance fixture served over HTTP: a clone of the migrated template with tests/rest/fixture.sql loaded,
and the gateway exposing its two schemas. Shared by the corpus runner and the official-client modules."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg

from tests.api_harness import RunningApi, running_api
from tests.rest.corpus import EXPOSED_SCHEMAS, FIXTURE_SQL, MAX_ROWS

# PostgREST options the corpus assumes: db-max-rows 50 (numbers has 100 rows), and db-tx-end allowing
# Prefer: tx=rollback.
FIXTURE_SETTINGS = {"rest.db_schemas": EXPOSED_SCHEMAS, "rest.db_max_rows": MAX_ROWS,
                    "rest.db_tx_end": "commit-allow-override"}


@contextlib.contextmanager
def fixture_database(pg_server, template_db: str) -> Iterator[str]:
    """The URL of a fresh database holding the fixture schema, dropped afterwards."""
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(FIXTURE_SQL.read_text())
        yield url
    finally:
        pg_server.drop_database(name)


@contextlib.contextmanager
def fixture_gateway(database_url: str) -> Iterator[RunningApi]:
    with running_api(database_url, settings=FIXTURE_SETTINGS) as api:
        yield api
