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
from functions_py.errors import ConfigError, DatabaseInUse, DatabaseUnavailable
from functions_py.migrations.engine import Applied, Migrator, execute_file
from functions_py.migrations.files import COMPAT, REPEATABLE, VERSIONED, MigrationFile

Log = Callable[[str], None]


def embedded(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.data_dir, settings.db_port)


def database_url(settings: Settings) -> str:
    """DATABASE_URL when set; else the running embedded database's URL."""
    if settings.database_url:
        return settings.database_url
    server = embedded(settings)
    status = server.status()
    if status.orphaned:
        raise DatabaseUnavailable(server.orphan_message(status), pid=status.orphan_pid)
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


# The logical replication slots on a database, with the session holding each. The Realtime feeds of `supakit serve`
# (and `supakit up`) hold TEMPORARY slots; PostgreSQL refuses to drop a database any slot points at, even
# `with (force)`, which terminates sessions only after that check.
slot_holder_many = """
select s.slot_name, s.temporary, s.active_pid, coalesce(a.application_name, ''), a.client_addr::text
from pg_catalog.pg_replication_slots s
left join pg_catalog.pg_stat_activity a on a.pid = s.active_pid
where s.database = %s
order by s.slot_name
"""
backend_terminate_one = "select pg_catalog.pg_terminate_backend(%s, 5000)"  # waits up to 5 s for it to exit
DROP_ATTEMPTS = 10  # a feed reconnects within 0.1-5 s (its backoff) and may take a new slot between two tries


def _holders(slots: list[tuple]) -> str:
    return "; ".join(f"{name} (held by pid {pid}" + (f", {app}" if app else "") + (f" from {addr}" if addr else "")
                     + ")" if pid else f"{name} (not in use)" for name, _, pid, app, addr in slots)


def recreate_database(url: str, log: Log | None = None) -> None:
    """Drop and create the database `url` names. Sessions connected to it are terminated, the Realtime feeds'
    temporary replication slots with them (they reconnect by themselves, to the new database); a permanent slot
    (someone's logical replication) is never dropped: DatabaseInUse names it and says what to do."""
    dbname = psycopg.conninfo.conninfo_to_dict(url).get("dbname") or "postgres"
    maintenance = with_dbname(url, "template1" if dbname == "postgres" else "postgres")
    drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
    with connect(maintenance) as conn:
        for attempt in range(DROP_ATTEMPTS):
            slots = conn.execute(slot_holder_many, (dbname,)).fetchall()
            permanent = [slot for slot in slots if not slot[1]]
            if permanent:
                raise DatabaseInUse(
                    f"cannot reset {describe_target(url)}: the permanent logical replication slot(s) "
                    f"{_holders(permanent)} point at it, and supakit never drops a slot it did not create. Stop "
                    "the subscriber, then drop the slot (select pg_drop_replication_slot('<name>')) and run reset "
                    "again.", slots=[slot[0] for slot in permanent])
            for name, _, pid, app, _ in slots:
                if pid:
                    conn.execute(backend_terminate_one, (pid,))
                    if log and attempt == 0:
                        log(f"stopped the session holding replication slot {name} (pid {pid}"
                            + (f", {app}" if app else "") + "); a Realtime feed reconnects by itself")
            try:
                conn.execute(drop)
                break
            except psycopg.errors.ObjectInUse as error:
                if attempt == DROP_ATTEMPTS - 1:
                    held = conn.execute(slot_holder_many, (dbname,)).fetchall()
                    raise DatabaseInUse(
                        f"cannot reset {describe_target(url)}: {str(error).strip().splitlines()[0]}; it is held by "
                        f"{_holders(held) or 'sessions that keep coming back'}. Stop `supakit up` / `supakit serve` "
                        "(Ctrl-C) or whatever holds it, then run reset again.") from None
                time.sleep(0.2)
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def reset(url: str, settings: Settings, *, force: bool = False, with_seed: bool = True,
          log: Log | None = None, notice: Log | None = None) -> ResetReport:
    """Drop and recreate the database, then compat, migrations, policies and seed, timing each phase. `log` gets
    the migrator's line per file, `notice` what reset did beyond that (sessions holding replication slots
    stopped)."""
    if not (force or is_local(url)):
        raise ConfigError(
            f"refusing to reset {describe_target(url)}: it is not on this machine and reset drops the whole database. "
            "Pass --force if you really mean it (for hosted Supabase use `supabase db reset --linked`).")
    report = ResetReport()
    started = time.perf_counter()
    recreate_database(url, notice)
    report.phases["recreate"] = time.perf_counter() - started
    _, report.applied = Migrator.for_settings(settings, url, log=log).migrate()
    for kind, phase in ((COMPAT, "compat"), (VERSIONED, "migrations"), (REPEATABLE, "policies")):
        report.phases[phase] = sum(a.seconds for a in report.applied if a.file.kind == kind)
    if with_seed:
        started = time.perf_counter()
        seed(url, settings)
        report.phases["seed"] = time.perf_counter() - started
    return report


