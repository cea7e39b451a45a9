"""supabase/schema.sql is the migrated schema as it is now (functions_py/migrations/schema.py)."""

from __future__ import annotations

import difflib

from functions_py.migrations import schema
from tests.cli import ROOT


def test_the_committed_schema_file_is_the_migrated_schema(pg_server, template_db):
    current = schema.dump(pg_server.url(template_db))
    committed = (ROOT / schema.SCHEMA_FILE).read_text(encoding="utf-8")
    if committed != current:
        diff = "".join(list(difflib.unified_diff(committed.splitlines(True), current.splitlines(True),
                                                 "supabase/schema.sql (committed)", "migrated", n=1))[:80])
        raise AssertionError("supabase/schema.sql is out of date: run `python -m functions_py.migrations.schema` and "
                             f"commit it.\n{diff}")


def test_the_dump_is_stable_and_leaves_out_what_changes_between_runs(pg_server, template_db):
    first, second = (schema.dump(pg_server.url(template_db)) for _ in range(2))
    assert first == second
    assert "\\restrict" not in first and "Dumped from database version" not in first
    assert 'CREATE FUNCTION "internal"."create_organization"' in first, "a reviewer reads the bodies here"
    assert 'CREATE POLICY "participants can send on their conversation topics" ON realtime.messages' in first, \
        "our policies on Supabase's tables are included"
