"""The local stack: which database a command talks to, seeding, reset and `up`.

A command talks to DATABASE_URL (or --database-url) when set, else to the embedded database, which must be
running (`supakit db start` / `supakit up`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from functions_py.config import Settings
from functions_py.db import connect, describe_target, is_local, with_dbname
from functions_py.embedded import EmbeddedPostgres
from functions_py.errors import ConfigError, DatabaseUnavailable
from functions_py.migrations.engine import Applied, Migrator, execute_file
from functions_py.migrations.files import COMPAT, REPEATABLE, VERSIONED, MigrationFile

Log = Callable[[str], None]


def embedded(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.data_dir, settings.db_port)


def database_url(settings: Settings) -> str:
    """DATABASE_URL when set; else the running embedded database's URL."""
    if settings.database_url:
        return settings.database_url
    status = embedded(settings).status()
    if not status.running:
        raise DatabaseUnavailable(
            f"the embedded database ({status.data_dir}) is not running and DATABASE_URL is not set; "
            "start it with `supakit db start` (or `supakit up`), or set DATABASE_URL.")
    return status.url


def seed_file(settings: Settings) -> MigrationFile | None:
    path = settings.seed_file
    if not path.exists():
        return None
    return MigrationFile(kind="seed", key="seed", path=path, checksum="", sql=path.read_text())


def seed(url: str, settings: Settings) -> bool:
    """Apply seed.sql in one transaction (it must be idempotent). False when there is no seed.sql."""
    file = seed_file(settings)
    if file is None:
        return False
    with connect(url) as conn, conn.transaction():
        execute_file(conn, file, settings.project_dir)
    return True


@dataclass
class ResetReport:
    """Seconds per phase of `supakit reset`."""

    phases: dict[str, float] = field(default_factory=dict)
    applied: list[Applied] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.phases.values())


def recreate_database(url: str) -> None:
    """Drop and create the database `url` names (sessions connected to it are terminated)."""
    dbname = psycopg.conninfo.conninfo_to_dict(url).get("dbname") or "postgres"
    maintenance = with_dbname(url, "template1" if dbname == "postgres" else "postgres")
    with connect(maintenance) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def reset(url: str, settings: Settings, *, force: bool = False, with_seed: bool = True,
          log: Log | None = None) -> ResetReport:
    """Drop and recreate the database, then compat, migrations, policies and seed, timing each phase."""
    if not (force or is_local(url)):
        raise ConfigError(
            f"refusing to reset {describe_target(url)}: it is not on this machine and reset drops the whole database. "
            "Pass --force if you really mean it (for hosted Supabase use `supabase db reset --linked`).")
    report = ResetReport()
    started = time.perf_counter()
    recreate_database(url)
    report.phases["recreate"] = time.perf_counter() - started
    _, report.applied = Migrator.for_settings(settings, url, log=log).migrate()
    for kind, phase in ((COMPAT, "compat"), (VERSIONED, "migrations"), (REPEATABLE, "policies")):
        report.phases[phase] = sum(a.seconds for a in report.applied if a.file.kind == kind)
    if with_seed:
        started = time.perf_counter()
        seed(url, settings)
        report.phases["seed"] = time.perf_counter() - started
    return report


