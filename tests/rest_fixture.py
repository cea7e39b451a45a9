"""A running gateway serving the Data API tests' fixture schema (tests/fixtures/rest/schema.sql) as `api`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import psycopg

from tests.api_harness import RunningApi, running_api

SCHEMA_SQL = Path(__file__).parent / "fixtures" / "rest" / "schema.sql"


@contextlib.contextmanager
def fixture_api(pg_server, template_db: str, **settings) -> Iterator[tuple[RunningApi, str]]:
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())
    options = {"rest.db_schemas": ("api",), "rest.db_extra_search_path": ("public", "extensions"), **settings}
    try:
        with running_api(url, settings=options) as api:
            yield api, url
    finally:
        pg_server.drop_database(name)
