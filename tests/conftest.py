"""The test harness (DESIGN.md §6).

- One PostgreSQL for the session: the embedded one in a temporary directory (default);
  SUPAKIT_TEST_DATABASE_URL=postgresql://... to use any other server (a superuser connection: databases are
  created and dropped there); SUPAKIT_TEST_BACKEND=docker for Supabase's own image via testcontainers (needs a
  Docker engine; not exercised by CI).
- A template database migrated once (compat, sql/, policies/), then per test either
  `db`       a connection inside a transaction rolled back at the end (fast, the default), or
  `fresh_db` the URL of a fresh database cloned from the template (several connections, real commits).
- Factories (tests/factories.py): `make_user`, `make_organization`, `add_member`, `make_project` bound to `db`;
  code with its own connection (fresh_db, committed worlds) calls `factories.user(conn, ...)` and the rest directly.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from functions_py.db import with_dbname
from functions_py.embedded import EmbeddedPostgres, free_port
from functions_py.migrations.engine import Migrator
from tests import factories

ROOT = Path(__file__).resolve().parents[1]

# A throwaway cluster need not survive a crash; these make template cloning and DDL-heavy tests fast.
TEST_SERVER_SETTINGS = {"fsync": "off", "full_page_writes": "off", "max_connections": "200"}


@dataclass(frozen=True)
class TestServer:
    """The session's PostgreSQL: `admin_url` reaches a maintenance database as a superuser."""

    admin_url: str
    supabase_native: bool = False
    embedded: EmbeddedPostgres | None = field(default=None, compare=False, repr=False)  # None: not ours to restart

    def url(self, dbname: str) -> str:
        return with_dbname(self.admin_url, dbname)

    def create_database(self, template: str | None = None) -> str:
        name = f"supakit_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            query = sql.SQL("create database {}").format(sql.Identifier(name))
            if template:
                query = sql.SQL("create database {} template {} strategy file_copy").format(
                    sql.Identifier(name), sql.Identifier(template))
            conn.execute(query)
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _docker_server() -> Iterator[TestServer]:
    from testcontainers.postgres import PostgresContainer  # optional extra: pip install '.[docker]'

    image = os.environ.get("SUPAKIT_TEST_DOCKER_IMAGE", "supabase/postgres:17.6.1.132")
    with PostgresContainer(image, username="supabase_admin", password="postgres", dbname="postgres") as container:
        url = container.get_connection_url(driver=None)
        yield TestServer(admin_url=url, supabase_native=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    """The session's PostgreSQL server."""
    if url := os.environ.get("SUPAKIT_TEST_DATABASE_URL"):
        yield TestServer(admin_url=url)
        return
    if os.environ.get("SUPAKIT_TEST_BACKEND", "embedded") == "docker":
        yield from _docker_server()
        return
    data_dir = Path(tempfile.mkdtemp(prefix="supakit-test-"))
    server = EmbeddedPostgres(data_dir, free_port(), extra_settings=TEST_SERVER_SETTINGS)
    status, _ = server.start()
    try:
        yield TestServer(admin_url=status.url, embedded=server)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def migrator(url: str, project: Path = ROOT, log=None) -> Migrator:
    """A Migrator for `url` over the files of `project` (default: this repository)."""
    return Migrator(url, root=project, compat_dir=project / "supabase" / "compat", sql_dir=project / "sql",
                    policies_dir=project / "policies", log=log)


@pytest.fixture(scope="session")
def template_db(pg_server: TestServer) -> Iterator[str]:
    """Name of a database with compat, every migration and every policy applied."""
    name = pg_server.create_database()
    migrator(pg_server.url(name)).migrate()
    yield name
    pg_server.drop_database(name)


@pytest.fixture(scope="session")
def shared_db_url(pg_server: TestServer, template_db: str) -> Iterator[str]:
    """One clone of the template that every `db` test uses inside its own rolled-back transaction."""
    name = pg_server.create_database(template=template_db)
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def db(shared_db_url: str) -> Iterator[psycopg.Connection]:
    """A superuser connection inside a transaction that is rolled back after the test."""
    conn = psycopg.connect(shared_db_url, autocommit=False)
    try:
        conn.execute("select 1")  # opens the transaction the test runs in
        yield conn
    finally:
        conn.rollback()
        conn.close()


@pytest.fixture
def fresh_db(pg_server: TestServer, template_db: str) -> Iterator[str]:
    """URL of a new database cloned from the migrated template, dropped after the test."""
    name = pg_server.create_database(template=template_db)
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def empty_db(pg_server: TestServer) -> Iterator[str]:
    """URL of a new, empty database (nothing applied), dropped after the test."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def make_user(db: psycopg.Connection) -> Callable[..., uuid.UUID]:
    """make_user(email=None, **user_meta) -> id: an auth.users row as Supabase Auth inserts it."""

    def create(email: str | None = None, **user_meta: object) -> uuid.UUID:
        return factories.user(db, email, **user_meta)

    return create


# ---------------------------------------------------------------------------------------------------------------
# factories: closures with unique defaults that satisfy every constraint (tests/factories.py has the SQL)
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def make_organization(db: psycopg.Connection) -> Callable[..., uuid.UUID]:
    """make_organization(name=None, slug=None, owner=None) -> id; `owner` (a user id) becomes its owner."""

    def create(name: str | None = None, slug: str | None = None, owner: uuid.UUID | None = None) -> uuid.UUID:
        return factories.organization(db, name=name, slug=slug, owner=owner)

    return create


@pytest.fixture
def add_member(db: psycopg.Connection, make_user) -> Callable[..., uuid.UUID]:
    """add_member(org, user=None, role="member") -> the user's id (a new user unless given)."""

    def create(org: uuid.UUID, user: uuid.UUID | None = None, role: str = "member") -> uuid.UUID:
        return factories.membership(db, org, make_user() if user is None else user, role)

    return create


@pytest.fixture
def make_project(db: psycopg.Connection) -> Callable[..., uuid.UUID]:
    """make_project(org, name=None) -> id."""

    def create(org: uuid.UUID, name: str | None = None) -> uuid.UUID:
        return factories.project(db, org, name=name)

    return create
