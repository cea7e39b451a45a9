"""Apply compat, versioned and repeatable files to a database, recording each in the ledger.

One session advisory lock serialises concurrent migrators; each file runs in its own transaction together with
its ledger row, so a failing file leaves neither objects nor a ledger row behind. Statements are sent one at a
time so that an error names the file and line it came from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from functions_py.db import connect
from functions_py.errors import DriftDetected, MigrationFailed, MigrationFileError
from functions_py.migrations import ledger, ownership
from functions_py.migrations.files import (
    COMPAT,
    KIND_ORDER,
    REPEATABLE,
    TRANSACTION_CONTROL,
    VERSIONED,
    MigrationFile,
    compat_files,
    repeatable_files,
    versioned_files,
)
from functions_py.migrations.statements import Statement, split

Log = Callable[[str], None]

# Status values, per file.
APPLIED = "applied"  # in the ledger with the file's current checksum
PENDING = "pending"  # not in the ledger yet: the next `supakit migrate` applies it
OUTDATED = "outdated"  # compat/repeatable file changed since it was applied: the next migrate re-applies it
CHANGED = "changed"  # versioned file edited after it was applied: drift, `verify` fails
MISSING = "missing"  # the ledger has a version no file provides: drift for versioned files
OUT_OF_ORDER = "out-of-order"  # pending versioned file numbered below an applied one: drift
SKIPPED = "skipped"  # compat file on a database with Supabase's own schemas
DRIFT_STATES = frozenset({CHANGED, MISSING, OUT_OF_ORDER})  # for versioned files; a repeatable file: MISSING

# `reset all` leaves the role and the session authorization alone.
RESET_SESSION = "reset all; reset role; reset session authorization"


@dataclass(frozen=True)
class LedgerRow:
    kind: str
    key: str
    name: str
    checksum: str
    applied_at: datetime
    duration_ms: int


@dataclass(frozen=True)
class FileStatus:
    """One line of `supakit migrate status`."""

    kind: str
    key: str
    name: str
    state: str
    applied_at: datetime | None = None
    file: MigrationFile | None = None

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "key": self.key, "name": self.name, "state": self.state,
                "applied_at": self.applied_at.isoformat() if self.applied_at else None}


@dataclass(frozen=True)
class Applied:
    """A file applied by `migrate`, and how long it took."""

    file: MigrationFile
    seconds: float


@dataclass
class Plan:
    """What the database holds compared with the files, and what `migrate` would run."""

    statuses: list[FileStatus] = field(default_factory=list)
    supabase_native: bool = False

    @property
    def to_apply(self) -> list[MigrationFile]:
        return [s.file for s in self.statuses if s.state in (PENDING, OUTDATED) and s.file is not None]

    @property
    def drift(self) -> list[FileStatus]:
        """Versioned files changed, missing or out of order, and repeatable files applied but gone: their
        policies and grants would stay in force with no file to show or withdraw them."""
        return [s for s in self.statuses if (s.kind == VERSIONED and s.state in DRIFT_STATES)
                or (s.kind == REPEATABLE and s.state == MISSING)]


def format_error(file: MigrationFile, statement: Statement, error: psycopg.Error, root: Path) -> str:
    """`path:line: ERROR sqlstate: message`, plus the detail, hint and PL/pgSQL context PostgreSQL gave."""
    diag = error.diag
    line = statement.line
    position = diag.statement_position
    if position and str(position).isdigit():
        line += statement.text.count("\n", 0, int(position) - 1)
    parts = [f"{file.display(root)}:{line}: {diag.severity or 'ERROR'} {error.sqlstate or ''}: "
             f"{diag.message_primary or str(error).strip()}"]
    for label, value in (("detail", diag.message_detail), ("hint", diag.message_hint), ("where", diag.context)):
        if value:
            parts.append(f"  {label}: {value.strip()}")
    return "\n".join(parts)


def check_no_transaction_control(file: MigrationFile, root: Path) -> list[Statement]:
    """The statements of `file`; a file that runs in a transaction may not begin, commit or roll back one (it
    would break the file's all-or-nothing guarantee), so such a statement is refused before anything runs."""
    statements = split(file.sql)
    if not file.no_transaction:
        for statement in statements:
            if TRANSACTION_CONTROL.match(statement.text):
                raise MigrationFileError(
                    f"{file.display(root)}:{statement.line}: transaction control ({statement.text.split()[0]}) is "
                    "not allowed: supakit runs each file in its own transaction. Remove it, split the file, or "
                    "mark the file `-- supakit:no-transaction` in its first lines.", path=str(file.path))
    return statements


def execute_file(conn: psycopg.Connection, file: MigrationFile, root: Path) -> None:
    """Run every statement of `file` on `conn`; raise MigrationFailed naming the file and line on error.
    The caller owns the transaction."""
    for statement in check_no_transaction_control(file, root):
        try:
            conn.execute(statement.text)  # no parameters: sent as-is, `%` needs no escaping
        except psycopg.Error as error:
            raise MigrationFailed(format_error(file, statement, error, root), path=str(file.path),
                                  sqlstate=error.sqlstate) from error


class Migrator:
    """Plans and applies the project's migration files against one database."""

    def __init__(self, url: str, *, root: Path, compat_dir: Path, sql_dir: Path, policies_dir: Path,
                 log: Log | None = None) -> None:
        self.url = url
        self.root = root
        self.compat_dir, self.sql_dir, self.policies_dir = compat_dir, sql_dir, policies_dir
        self.log: Log = log or (lambda _message: None)

    @classmethod
    def for_settings(cls, settings, url: str, log: Log | None = None) -> Migrator:
        return cls(url, root=settings.project_dir, compat_dir=settings.compat_dir, sql_dir=settings.sql_dir,
                   policies_dir=settings.policies_dir, log=log)

    def files(self) -> dict[str, list[MigrationFile]]:
        """Every migration file on disk, by kind (raises MigrationFileError on a malformed name)."""
        return {COMPAT: compat_files(self.compat_dir), VERSIONED: versioned_files(self.sql_dir),
                REPEATABLE: repeatable_files(self.policies_dir)}

    # -- reading -----------------------------------------------------------------------------------------

    @staticmethod
    def _ledger(conn: psycopg.Connection) -> dict[tuple[str, str], LedgerRow]:
        if not conn.execute(ledger.LEDGER_EXISTS).fetchone()[0]:
            return {}
        return {(r[0], r[1]): LedgerRow(*r) for r in conn.execute(ledger.LEDGER_SELECT_ALL).fetchall()}

    def plan(self, conn: psycopg.Connection) -> Plan:
        """Compare the files with the ledger (reads only)."""
        files = self.files()
        rows = self._ledger(conn)
        plan = Plan(supabase_native=bool(conn.execute(ledger.SUPABASE_NATIVE).fetchone()[0]))
        max_applied = max((k for (kind, k) in rows if kind == VERSIONED), default="")
        for kind in KIND_ORDER:
            on_disk = {f.key: f for f in files[kind]}
            for f in files[kind]:
                row = rows.get((kind, f.key))
                if kind == COMPAT and plan.supabase_native:
                    state = SKIPPED
                elif row is None:
                    state = OUT_OF_ORDER if kind == VERSIONED and f.key < max_applied else PENDING
                elif row.checksum == f.checksum:
                    state = APPLIED
                else:
                    state = CHANGED if kind == VERSIONED else OUTDATED
                plan.statuses.append(FileStatus(kind, f.key, f.display(self.root), state,
                                                row.applied_at if row else None, f))
            for (row_kind, key), row in sorted(rows.items()):
                if row_kind == kind and key not in on_disk:
                    plan.statuses.append(FileStatus(kind, key, row.name, MISSING, row.applied_at))
        return plan

    def status(self) -> Plan:
        with connect(self.url) as conn:
            return self.plan(conn)

    def verify(self) -> Plan:
        """The plan; raises DriftDetected when an applied versioned file changed, a version is unknown to the
        code, or a pending file is numbered below an applied one."""
        plan = self.status()
        if plan.drift:
            raise DriftDetected(drift_message(plan.drift), drift=plan.drift)
        return plan

    # -- applying ----------------------------------------------------------------------------------------

    def migrate(self, *, dry_run: bool = False) -> tuple[Plan, list[Applied]]:
        """Apply what is pending (compat, then versioned, then repeatable). With dry_run, only plan."""
        with connect(self.url) as conn:
            if dry_run:
                plan = self.plan(conn)
                if plan.drift:
                    raise DriftDetected(drift_message(plan.drift), drift=plan.drift)
                return plan, []
            self._lock(conn)
            try:
                plan = self.plan(conn)  # planned under the lock: a concurrent migrator's work is visible
                if plan.drift:
                    raise DriftDetected(drift_message(plan.drift), drift=plan.drift)
                for file in plan.to_apply:
                    check_no_transaction_control(file, self.root)  # refuse before anything is applied
                if plan.to_apply:
                    conn.execute(ledger.LEDGER_DDL)
                repeatables = self.files()[REPEATABLE]
                applied = [self._apply(conn, f, [r for r in repeatables if r.key != f.key]) for f in plan.to_apply]
                if applied:  # a running Data API (PostgREST or ours) reloads its schema cache
                    conn.execute("notify pgrst, 'reload schema'")
                return plan, applied
            finally:
                if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    conn.execute(ledger.LOCK_RELEASE, (ledger.LOCK_KEY,))

    def _lock(self, conn: psycopg.Connection) -> None:
        if conn.execute(ledger.LOCK_TRY, (ledger.LOCK_KEY,)).fetchone()[0]:
            return
        holder = conn.execute(ledger.LOCK_HOLDER, (ledger.LOCK_KEY,)).fetchone()
        self.log(f"waiting for another migrator (backend pid {holder[0] if holder else '?'}) to finish...")
        conn.execute(ledger.LOCK_WAIT, (ledger.LOCK_KEY,))

    def _apply(self, conn: psycopg.Connection, file: MigrationFile,
               other_repeatables: Iterable[MigrationFile] = ()) -> Applied:
        started = time.perf_counter()
        conn.execute(RESET_SESSION)  # a `set` or `set role` in the previous file must not leak into this one
        if file.no_transaction:
            # For statements PostgreSQL refuses inside a transaction (create index concurrently, ...): each runs
            # on its own; the ledger row is written after the last one succeeds.
            owned = self._withdraw(conn, file, other_repeatables)
            execute_file(conn, file, self.root)
            self._record(conn, file, started, owned)
        else:
            with conn.transaction():
                owned = self._withdraw(conn, file, other_repeatables)
                execute_file(conn, file, self.root)
                self._record(conn, file, started, owned)
        seconds = time.perf_counter() - started
        self.log(f"applied {file.display(self.root)} ({seconds * 1000:.0f} ms)")
        return Applied(file, seconds)

    def _withdraw(self, conn: psycopg.Connection, file: MigrationFile,
                  others: Iterable[MigrationFile]) -> ownership.Declared | None:
        """A repeatable file owns its tables' grants and policies: withdraw them before it runs (ownership.py)."""
        if file.kind != REPEATABLE:
            return None
        owned = ownership.declared(file.sql)
        try:
            ownership.withdraw(conn, file.key, owned, [ownership.declared(other.sql) for other in others])
        except psycopg.Error as error:
            raise MigrationFailed(
                f"{file.display(self.root)}: could not withdraw the policies and grants it owned before applying it: "
                f"{error.diag.message_primary or error}", path=str(file.path), sqlstate=error.sqlstate) from error
        return owned

    def _record(self, conn: psycopg.Connection, file: MigrationFile, started: float,
                owned: ownership.Declared | None = None) -> None:
        try:
            conn.execute(RESET_SESSION)  # the ledger is written as the migrator, whatever role the file took
            if owned is not None:
                ownership.record(conn, file.key, owned)
            conn.execute(ledger.LEDGER_UPSERT_ONE, {
                "kind": file.kind, "key": file.key, "name": file.path.name, "checksum": file.checksum,
                "duration_ms": int((time.perf_counter() - started) * 1000)})
        except psycopg.Error as error:
            raise MigrationFailed(
                f"{file.display(self.root)}: applied, but its ledger row could not be written: "
                f"{error.diag.message_primary or error}", path=str(file.path)) from error


def drift_message(drift: Iterable[FileStatus]) -> str:
    lines = ["the database and the migration files disagree:"]
    for s in drift:
        if s.state == CHANGED:
            lines.append(f"  {s.name} was edited after it was applied; versioned migrations are immutable: restore "
                         "it and put the change in a new migration (`supakit migrate new NAME`)")
        elif s.state == MISSING and s.kind == REPEATABLE:
            lines.append(f"  policies/{s.name} was applied but the file is gone, and the policies and grants it gave "
                         "are still in force: restore it; or, to withdraw them, restore it empty (a comment line is "
                         "enough) and run `supakit migrate`, which drops the policies it created and revokes the "
                         "grants it gave (docs/migrations.md)")
        elif s.state == MISSING:
            lines.append(f"  version {s.key} ({s.name}) is applied in the database but no file in sql/ has it; "
                         "restore the file, or you are pointing at the wrong database")
        else:
            lines.append(f"  {s.name} is pending but a later version is already applied; renumber it after the "
                         "last applied version")
    return "\n".join(lines)
