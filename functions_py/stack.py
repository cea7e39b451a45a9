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
from functions_py.db import connect, describe_target, is_local, redact, with_dbname
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



# -- status: what a client needs to reach the local stack ------------------------------------------------------

# The Supabase CLI's names (`supabase status -o env`, internal/status/status.go), so scripts written for it work.
STATUS_NAMES = ("API_URL", "REST_URL", "FUNCTIONS_URL", "DB_URL", "PUBLISHABLE_KEY", "SECRET_KEY", "ANON_KEY",
                "SERVICE_ROLE_KEY", "JWT_SECRET")


def status_values(settings: Settings, url: str) -> dict[str, str]:
    """API_URL, REST_URL, FUNCTIONS_URL, DB_URL and the keys, as `supabase status -o env` names them. The JWT
    secret only for a database on this machine (never a hosted project's). No dashboard runs locally yet, so no
    STUDIO_URL."""
    from functions_py.http.gateway import ApiKeys

    api = settings.api
    api_url = (api.external_url or f"http://{api.host}:{api.port}").rstrip("/")
    keys = ApiKeys.from_settings(settings)
    values = {"API_URL": api_url, "REST_URL": f"{api_url}/rest/v1", "FUNCTIONS_URL": f"{api_url}/functions/v1",
              "DB_URL": url if is_local(url) else redact(url), "PUBLISHABLE_KEY": keys.publishable, "SECRET_KEY": keys.secret,
              "ANON_KEY": keys.anon, "SERVICE_ROLE_KEY": keys.service_role}
    if is_local(url):
        from functions_py.tokens import LOCAL_JWT_SECRET

        values["JWT_SECRET"] = settings.jwt.secret or LOCAL_JWT_SECRET
    return values


def frontend_env(values: dict[str, str]) -> dict[str, str]:
    """The lines a frontend's `.env` needs (Next.js names; other frameworks rename the prefix)."""
    return {"NEXT_PUBLIC_SUPABASE_URL": values["API_URL"], "NEXT_PUBLIC_SUPABASE_ANON_KEY": values["ANON_KEY"]}


def dotenv_line(name: str, value: str) -> str:
    """`NAME="value"` as godotenv.Marshal writes it (what `supabase status -o env` prints)."""
    if value.isdigit():
        return f"{name}={value}"
    escaped = "".join({"\n": "\\n", "\r": "\\r"}.get(c, "\\" + c if c in '\\"!$`' else c) for c in value)
    return f'{name}="{escaped}"'
