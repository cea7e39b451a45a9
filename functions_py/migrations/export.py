"""`supakit migrate export`: write supabase/migrations/<timestamp>_<name>.sql for `supabase db push`.

- Each versioned file becomes `<timestamp>_<NNNN>_<verb_object>.sql`. Timestamps are given once and kept: a
  re-export leaves existing files untouched, and new files get timestamps after the newest one, so the
  Supabase CLI (which refuses out-of-order versions) accepts them.
- The policies (repeatable files, which the Supabase CLI has no notion of) are exported as one snapshot,
  `<timestamp>_policies_<sha8>.sql`, written again only when their combined content changed; policy files are
  idempotent, so re-running a snapshot is safe.
- Compat files are not exported: Supabase has the real schemas.
- Every exported file ends with the ledger rows for what it contains, so `supakit migrate status` on a database
  migrated by `supabase db push` shows those files as applied.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from functions_py.errors import DriftDetected
from functions_py.migrations.files import MigrationFile
from functions_py.migrations.ledger import LEDGER_DDL

EXPORTED = re.compile(r"^(?P<stamp>\d{14})_(?P<rest>.+)\.sql$")
EXPORTED_VERSIONED = re.compile(r"^(?P<version>\d{4})_")
EXPORTED_POLICIES = re.compile(r"^policies_(?P<digest>[0-9a-f]{8})$")
STAMP_FORMAT = "%Y%m%d%H%M%S"
LEDGER_MARKER = "\n-- supakit ledger: lets `supakit migrate status` see this file as applied\n"


def _ledger_rows(files: list[MigrationFile]) -> str:
    values = ",\n".join(f"  ('{f.kind}', '{f.key}', '{f.path.name}', '{f.checksum}')" for f in files)
    return (f"{LEDGER_MARKER}{LEDGER_DDL}"
            f"insert into supakit_migrations.ledger (kind, key, name, checksum)\nvalues\n{values}\n"
            "on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name,"
            " applied_at = now();\n")


def render_versioned(file: MigrationFile) -> str:
    warning = ("-- WARNING: this file is marked supakit:no-transaction, but `supabase db push` runs a file in one\n"
               "-- implicit transaction; statements such as CREATE INDEX CONCURRENTLY will fail there.\n"
               if file.no_transaction else "")
    return (f"-- Exported by `supakit migrate export` from sql/{file.path.name} (sha256 {file.checksum}).\n"
            f"-- Edit the source file, not this one.\n{warning}\n{file.sql.rstrip()}\n{_ledger_rows([file])}")


def _source_part(content: str) -> str:
    """An exported versioned file without its ledger block."""
    return content.split(LEDGER_MARKER, 1)[0]


def render_policies(files: list[MigrationFile]) -> tuple[str, str]:
    """(digest, content) of the policies snapshot."""
    digest = hashlib.sha256("".join(f"{f.path.name}\0{f.checksum}\0" for f in files).encode()).hexdigest()[:8]
    body = "\n".join(f"-- ---- policies/{f.path.name} (sha256 {f.checksum})\n{f.sql.rstrip()}\n" for f in files)
    header = ("-- Exported by `supakit migrate export`: every file in policies/, which supakit re-applies whenever\n"
              "-- it changes. Each is idempotent, so this snapshot is safe to run again.\n"
              "-- Edit policies/, not this file.\n\n")
    return digest, header + body + _ledger_rows(files)


def export(versioned: list[MigrationFile], repeatable: list[MigrationFile], export_dir: Path,
           now: datetime | None = None) -> list[Path]:
    """Write what is new; return the paths written (empty when everything was already exported)."""
    export_dir.mkdir(parents=True, exist_ok=True)
    existing: dict[str, Path] = {}
    last_policies: tuple[str, Path] | None = None
    stamps: list[datetime] = []
    for path in sorted(export_dir.glob("*.sql")):
        match = EXPORTED.match(path.name)
        if not match:
            continue
        stamps.append(datetime.strptime(match["stamp"], STAMP_FORMAT).replace(tzinfo=UTC))
        if version := EXPORTED_VERSIONED.match(match["rest"]):
            existing[version["version"]] = path
        elif policies := EXPORTED_POLICIES.match(match["rest"]):
            last_policies = (policies["digest"], path)

    clock = max([(now or datetime.now(UTC)).replace(microsecond=0), *(s + timedelta(seconds=1) for s in stamps)])
    written: list[Path] = []

    def write(name: str, content: str) -> None:
        nonlocal clock
        path = export_dir / f"{clock.strftime(STAMP_FORMAT)}_{name}.sql"
        path.write_text(content)
        written.append(path)
        clock += timedelta(seconds=1)

    for file in versioned:
        content = render_versioned(file)
        if file.key in existing:
            # Immutable means the migration's own SQL: the ledger block appended to it follows the engine's ledger
            # schema, which may grow (an already pushed file keeps the block it was pushed with).
            if _source_part(existing[file.key].read_text()) != _source_part(content):
                raise DriftDetected(
                    f"{existing[file.key]} no longer matches sql/{file.path.name}: versioned migrations are immutable "
                    "once exported. Restore the source file, or delete the exported file if it was never pushed.")
            continue
        write(file.path.stem, content)

    if repeatable:
        digest, content = render_policies(repeatable)
        if last_policies is None or last_policies[0] != digest:
            write(f"policies_{digest}", content)
    return written
