"""Migration files on disk: discovery, naming rules, checksums and directives.

Three kinds, applied in this order:
- compat      supabase/compat/NN_name.sql   Supabase's surface on plain PostgreSQL; idempotent; skipped on Supabase
- versioned   sql/NNNN_verb_object.sql      run once, in order; immutable once applied
- repeatable  policies/<name>.sql           re-run whenever the file's checksum changes; must be idempotent
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from functions_py.errors import MigrationFileError

COMPAT, VERSIONED, REPEATABLE = "compat", "versioned", "repeatable"
KIND_ORDER = (COMPAT, VERSIONED, REPEATABLE)

VERSIONED_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z][a-z0-9]*(?:_[a-z0-9]+)+)\.sql$")
COMPAT_NAME = re.compile(r"^(?P<version>\d{2})_(?P<name>[a-z][a-z0-9_]*)\.sql$")
REPEATABLE_NAME = re.compile(r"^(?P<name>[a-z0-9][a-z0-9_]*)\.sql$")
NEW_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
NO_TRANSACTION = re.compile(r"^--\s*supakit:no-transaction\s*$")
# Statements that would end or nest the transaction a file runs in (`begin atomic` never starts a statement).
TRANSACTION_CONTROL = re.compile(
    r"^(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class MigrationFile:
    """One file and what the ledger knows it by: (kind, key)."""

    kind: str
    key: str  # versioned: "0001"; compat and repeatable: the file stem
    path: Path
    checksum: str  # sha256 of the file's bytes
    sql: str
    no_transaction: bool = False

    @property
    def name(self) -> str:
        return self.path.name

    def display(self, root: Path) -> str:
        try:
            return str(self.path.relative_to(root))
        except ValueError:
            return str(self.path)


def _load(kind: str, key: str, path: Path) -> MigrationFile:
    raw = path.read_bytes()
    try:
        sql = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MigrationFileError(f"{path} is not UTF-8 ({error}); save it as UTF-8.", path=str(path)) from error
    return MigrationFile(kind=kind, key=key, path=path, checksum=hashlib.sha256(raw).hexdigest(), sql=sql,
                         no_transaction=_header_has_no_transaction(sql))


def _header_has_no_transaction(sql: str) -> bool:
    """True when the comment lines at the top of the file (before any statement) hold the directive."""
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            return False
        if NO_TRANSACTION.match(stripped):
            return True
    return False


def _sql_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix == ".sql")


def versioned_files(directory: Path) -> list[MigrationFile]:
    """sql/NNNN_verb_object.sql files in version order; a malformed name or a duplicate version is an error."""
    found: dict[str, MigrationFile] = {}
    for path in _sql_files(directory):
        match = VERSIONED_NAME.match(path.name)
        if not match:
            raise MigrationFileError(
                f"{path}: migration file names must look like NNNN_verb_object.sql (four digits, then lowercase "
                "words joined by underscores, e.g. 0002_create_projects.sql). Rename the file; "
                "`supakit migrate new NAME` creates correctly named files.", path=str(path))
        version = match["version"]
        if version in found:
            raise MigrationFileError(
                f"{path} and {found[version].path} share version {version}; give one of them the next free number.",
                path=str(path))
        found[version] = _load(VERSIONED, version, path)
    return [found[v] for v in sorted(found)]


def _named_files(kind: str, directory: Path, pattern: re.Pattern[str], example: str) -> list[MigrationFile]:
    files = []
    for path in _sql_files(directory):
        if not pattern.match(path.name):
            raise MigrationFileError(
                f"{path}: {kind} file names must be lowercase words joined by underscores, like {example}. "
                "Rename the file.", path=str(path))
        files.append(_load(kind, path.stem, path))
    return files


def compat_files(directory: Path) -> list[MigrationFile]:
    return _named_files(COMPAT, directory, COMPAT_NAME, "20_auth.sql")


def repeatable_files(directory: Path) -> list[MigrationFile]:
    return _named_files(REPEATABLE, directory, REPEATABLE_NAME, "profiles.sql")


def next_versioned_path(directory: Path, name: str) -> Path:
    """Where `supakit migrate new NAME` writes: the next free NNNN in `directory`."""
    if not NEW_NAME.match(name):
        raise MigrationFileError(
            f"{name!r} is not a migration name: use lowercase verb_object words joined by underscores, "
            "e.g. create_projects or add_index_to_tasks.", name=name)
    existing = versioned_files(directory)
    number = int(existing[-1].key) + 1 if existing else 1
    if number > 9999:
        raise MigrationFileError("sql/ already holds version 9999; squash old migrations before adding more.")
    return directory / f"{number:04d}_{name}.sql"
