"""The migration engine through the real `supakit` command: ledger, lock, rollback, drift, dry run, export."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from functions_py.migrations import export as exporter
from functions_py.migrations.files import repeatable_files, versioned_files
from tests.catalog import snapshot
from tests.cli import ROOT, run_cli
from tests.conftest import migrator

WIDGETS = """\
create table public.widgets (
  id bigint generated always as identity primary key,
  name text not null
);
"""
WIDGET_POLICIES = """\
revoke all on table public.widgets from anon, authenticated;
grant select on table public.widgets to authenticated;
alter table public.widgets enable row level security;
drop policy if exists "signed-in users can read widgets" on public.widgets;
create policy "signed-in users can read widgets" on public.widgets for select to authenticated using (true);
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throwaway project: the real compat layer, one migration, one policies file."""
    (tmp_path / "supabase").mkdir()
    shutil.copy(ROOT / "supabase" / "config.toml", tmp_path / "supabase" / "config.toml")
    shutil.copytree(ROOT / "supabase" / "compat", tmp_path / "supabase" / "compat")
    (tmp_path / "sql").mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "sql" / "0001_create_widgets.sql").write_text(WIDGETS)
    (tmp_path / "policies" / "widgets.sql").write_text(WIDGET_POLICIES)
    return tmp_path


def ledger(url: str) -> dict[tuple[str, str], tuple]:
    with psycopg.connect(url) as conn:
        if not conn.execute("select to_regclass('supakit_migrations.ledger') is not null").fetchone()[0]:
            return {}
        rows = conn.execute("select kind, key, checksum, applied_at from supakit_migrations.ledger").fetchall()
    return {(kind, key): (checksum, applied_at) for kind, key, checksum, applied_at in rows}


def relation_exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def migrate(project: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("migrate", *args, project=project, env={"DATABASE_URL": url})


def test_migrating_twice_applies_nothing_the_second_time(project, empty_db):
    first = migrate(project, empty_db)
    assert first.returncode == 0, first.stderr
    assert "applied sql/0001_create_widgets.sql" in first.stderr
    before = ledger(empty_db)
    assert ("versioned", "0001") in before and ("repeatable", "widgets") in before
    assert any(kind == "compat" for kind, _ in before), "compat is applied on a plain PostgreSQL"

    second = migrate(project, empty_db)
    assert second.returncode == 0, second.stderr
    assert "already up to date" in second.stderr
    assert ledger(empty_db) == before, "a second run must not touch the ledger"


def test_concurrent_migrators_apply_each_file_once(project, empty_db):
    (project / "sql" / "0002_create_slow_thing.sql").write_text(
        "create table public.slow_thing (id int);\nselect pg_sleep(1.5);\n")
    env = {"DATABASE_URL": empty_db}
    procs = [subprocess.Popen([sys.executable, "-m", "cli.main", "migrate"], cwd=project,
                              env={**_clean_env(), **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    stderr = [err for _, err in outputs]
    applied = [sum(line.startswith("applied ") for line in err.splitlines()) for err in stderr]
    files = len(list((project / "supabase" / "compat").glob("*.sql"))) + 3
    assert sorted(applied) == [0, files], f"exactly one migrator applies every file once: {stderr}"
    assert any("up to date" in err for err in stderr)
    assert any("waiting for another migrator" in err for err in stderr), "the second migrator waited on the lock"
    assert len(ledger(empty_db)) == files


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPAKIT_PROJECT_DIR")}


def test_a_failing_migration_leaves_no_ledger_row_and_no_partial_objects(project, empty_db):
    assert migrate(project, empty_db).returncode == 0
    (project / "sql" / "0002_create_broken.sql").write_text(
        "-- creates a table, then fails\ncreate table public.half_done (id int);\n"
        "create index half_done_nope_idx on public.half_done (nope);\n")
    failed = migrate(project, empty_db)
    assert failed.returncode == 1, failed.stderr
    assert "sql/0002_create_broken.sql:3" in failed.stderr, "the error names the file and the failing line"
    assert 'column "nope" does not exist' in failed.stderr, "the error carries the database's message"
    assert not relation_exists(empty_db, "public.half_done"), "the failed file's first statement is rolled back"
    assert ("versioned", "0002") not in ledger(empty_db), "a failed file gets no ledger row"
    assert ("versioned", "0001") in ledger(empty_db), "earlier files stay applied"

    (project / "sql" / "0002_create_broken.sql").write_text("create table public.half_done (id int);\n")
    assert migrate(project, empty_db).returncode == 0, "the fixed file applies on the next run"
    assert relation_exists(empty_db, "public.half_done")


def test_an_error_inside_a_function_body_names_the_statement_and_the_plpgsql_context(project, empty_db):
    (project / "sql" / "0002_run_broken_block.sql").write_text(
        "create table public.before_block (id int);\n\ndo $$\nbegin\n  perform 1 / 0;\nend\n$$;\n")
    failed = migrate(project, empty_db)
    assert failed.returncode == 1
    assert "sql/0002_run_broken_block.sql:3" in failed.stderr, "the failing statement's first line"
    assert "division by zero" in failed.stderr and "PL/pgSQL" in failed.stderr
    assert not relation_exists(empty_db, "public.before_block")


def test_a_syntax_error_is_reported_at_its_line_and_changes_nothing(project, empty_db):
    (project / "sql" / "0002_create_typo.sql").write_text(
        "create table public.ok_table (id int);\n\ncreat table x ();\n")
    failed = migrate(project, empty_db)
    assert failed.returncode == 1
    assert "sql/0002_create_typo.sql:3" in failed.stderr and "syntax error" in failed.stderr
    assert ledger(empty_db) == {} or ("versioned", "0002") not in ledger(empty_db)
    assert not relation_exists(empty_db, "public.ok_table")


def test_editing_an_applied_file_makes_verify_and_migrate_fail(project, empty_db):
    assert migrate(project, empty_db).returncode == 0
    assert migrate(project, empty_db, "verify").returncode == 0, "a freshly migrated database has no drift"
    (project / "sql" / "0001_create_widgets.sql").write_text(WIDGETS + "-- sneaky edit\n")
    (project / "sql" / "0002_create_gadgets.sql").write_text("create table public.gadgets (id int);\n")

    verify = migrate(project, empty_db, "verify")
    assert verify.returncode == 1, "drift must fail verify"
    assert "0001_create_widgets.sql was edited after it was applied" in verify.stderr

    refused = migrate(project, empty_db)
    assert refused.returncode == 1, "migrate refuses to build on a drifted history"
    assert not relation_exists(empty_db, "public.gadgets"), "nothing is applied while there is drift"


def test_a_database_version_the_code_does_not_know_makes_verify_fail(project, empty_db):
    (project / "sql" / "0002_create_gadgets.sql").write_text("create table public.gadgets (id int);\n")
    assert migrate(project, empty_db).returncode == 0
    (project / "sql" / "0002_create_gadgets.sql").unlink()
    verify = migrate(project, empty_db, "verify")
    assert verify.returncode == 1
    assert "version 0002" in verify.stderr and "no file in sql/ has it" in verify.stderr


def test_a_pending_file_numbered_below_an_applied_one_is_drift(project, empty_db):
    (project / "sql" / "0003_create_gadgets.sql").write_text("create table public.gadgets (id int);\n")
    assert migrate(project, empty_db).returncode == 0
    (project / "sql" / "0002_create_late.sql").write_text("create table public.late (id int);\n")
    verify = migrate(project, empty_db, "verify")
    assert verify.returncode == 1 and "renumber it" in verify.stderr
    assert not relation_exists(empty_db, "public.late")


def test_status_shows_pending_applied_and_outdated_files(project, empty_db):
    before = json.loads(migrate(project, empty_db, "status", "--json").stdout)
    states = {f["name"]: f["state"] for f in before["files"]}
    assert states["sql/0001_create_widgets.sql"] == "pending"
    assert states["policies/widgets.sql"] == "pending"
    assert before["supabase_native"] is False

    migrate(project, empty_db)
    (project / "policies" / "widgets.sql").write_text(WIDGET_POLICIES + "-- tightened later\n")
    after = migrate(project, empty_db, "status")
    assert after.returncode == 0
    lines = after.stdout.splitlines()
    assert any(line.split()[:3] == ["versioned", "applied", "sql/0001_create_widgets.sql"] for line in lines)
    assert any(line.split()[:3] == ["repeatable", "outdated", "policies/widgets.sql"] for line in lines)
    assert lines[-1] == "1 to apply, 0 drifted"


def test_dry_run_prints_the_plan_and_changes_nothing(project, empty_db):
    with psycopg.connect(empty_db) as conn:
        before = snapshot(conn)
    dry = migrate(project, empty_db, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    planned = [line.split()[2:] for line in dry.stdout.splitlines()]
    assert ["versioned", "sql/0001_create_widgets.sql"] in planned
    assert planned[-1] == ["repeatable", "policies/widgets.sql"], "policies run after the versioned files"
    with psycopg.connect(empty_db) as conn:
        assert snapshot(conn) == before, "a dry run must not create or change anything"
    assert ledger(empty_db) == {}


def test_repeatable_files_rerun_only_when_their_checksum_changes(project, empty_db):
    migrate(project, empty_db)
    first = ledger(empty_db)[("repeatable", "widgets")]
    migrate(project, empty_db)
    assert ledger(empty_db)[("repeatable", "widgets")] == first, "unchanged policies are not re-applied"

    changed = WIDGET_POLICIES.replace("using (true)", "using (name <> 'secret')")
    (project / "policies" / "widgets.sql").write_text(changed)
    rerun = migrate(project, empty_db)
    assert "applied policies/widgets.sql" in rerun.stderr
    with psycopg.connect(empty_db) as conn:
        qual = conn.execute("select qual from pg_policies where tablename = 'widgets'").fetchone()[0]
    assert "secret" in qual, "the changed policy is in force"


def test_a_no_transaction_file_can_create_an_index_concurrently(project, empty_db):
    (project / "sql" / "0002_add_widgets_name_index.sql").write_text(
        "-- supakit:no-transaction\ncreate index concurrently widgets_name_idx on public.widgets (name);\n")
    result = migrate(project, empty_db)
    assert result.returncode == 0, result.stderr
    assert relation_exists(empty_db, "public.widgets_name_idx")
    assert ("versioned", "0002") in ledger(empty_db)


@pytest.mark.parametrize("bad_name", ["2_widgets.sql", "0002-create-widgets.sql", "0002_Widgets.sql", "0002_x.sql"])
def test_a_malformed_file_name_is_refused_before_anything_runs(project, empty_db, bad_name):
    (project / "sql" / bad_name).write_text("create table public.never (id int);\n")
    result = migrate(project, empty_db)
    assert result.returncode == 2, "a malformed name is bad input"
    assert bad_name in result.stderr and "NNNN_verb_object.sql" in result.stderr
    assert ledger(empty_db) == {}, "nothing was applied"
    assert not relation_exists(empty_db, "public.widgets")


def test_two_files_with_one_version_are_refused(project, empty_db):
    (project / "sql" / "0001_create_gadgets.sql").write_text("select 1;\n")
    result = migrate(project, empty_db)
    assert result.returncode == 2 and "share version 0001" in result.stderr


def test_an_unreachable_database_gives_a_clear_message_without_the_password(project):
    result = migrate(project, "postgresql://postgres:s3cret-pw@127.0.0.1:1/postgres")
    assert result.returncode == 3
    assert "cannot connect to the database at 127.0.0.1:1/postgres" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout, "secrets never reach the output"


def test_without_database_url_the_embedded_database_must_be_running(project, tmp_path):
    result = run_cli("migrate", project=project, env={"SUPAKIT_DATA_DIR": str(tmp_path / "nowhere")})
    assert result.returncode == 3
    assert "is not running" in result.stderr and "supakit db start" in result.stderr


def test_migrate_new_creates_the_next_numbered_file(project):
    created = run_cli("migrate", "new", "create_gadgets", project=project)
    assert created.returncode == 0, created.stderr
    path = Path(created.stdout.strip())
    assert path == project / "sql" / "0002_create_gadgets.sql" and path.exists()
    bad = run_cli("migrate", "new", "Create Gadgets", project=project)
    assert bad.returncode == 2 and "verb_object" in bad.stderr


def test_compat_is_skipped_on_a_database_with_supabases_own_schemas(project, empty_db):
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("create schema auth")  # as on Supabase: no 'supakit compat' comment
    result = migrate(project, empty_db)
    assert result.returncode == 0, result.stderr
    assert "compat layer skipped" in result.stderr
    assert not any(kind == "compat" for kind, _ in ledger(empty_db)), "compat must not run on Supabase"
    status = json.loads(migrate(project, empty_db, "status", "--json").stdout)
    assert {f["state"] for f in status["files"] if f["kind"] == "compat"} == {"skipped"}


def test_export_applies_cleanly_to_an_empty_database_and_matches_migrate(tmp_path, empty_db, fresh_db):
    export_dir = tmp_path / "migrations"
    versioned, repeatable = versioned_files(ROOT / "sql"), repeatable_files(ROOT / "policies")
    written = exporter.export(versioned, repeatable, export_dir)
    assert [p.name[15:] for p in written] == [*(f.path.name for f in versioned), written[-1].name[15:]]
    assert written[-1].name[15:].startswith("policies_")
    assert exporter.export(versioned, repeatable, export_dir) == [], "re-export writes nothing new"

    # As on Supabase: its schemas exist (here: compat), then `supabase db push` runs each file in order.
    compat_only = migrator(empty_db)
    compat_only.sql_dir = compat_only.policies_dir = tmp_path / "none"
    compat_only.migrate()
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for path in sorted(export_dir.glob("*.sql")):
            with conn.transaction():
                conn.execute(path.read_text())
        exported = snapshot(conn)
    with psycopg.connect(fresh_db) as conn:
        migrated = snapshot(conn)
    assert exported == migrated, "the exported migrations build exactly the schema `supakit migrate` builds"

    status = run_cli("migrate", "verify", "--strict", env={"DATABASE_URL": empty_db})
    assert status.returncode == 0, f"supakit sees an exported-and-pushed database as migrated: {status.stderr}"


def test_export_writes_a_new_policies_snapshot_only_when_policies_change(project, tmp_path):
    export_dir = project / "supabase" / "migrations"
    first = run_cli("migrate", "export", project=project)
    assert first.returncode == 0 and len(first.stdout.split()) == 2
    assert run_cli("migrate", "export", project=project).stdout == ""
    (project / "policies" / "widgets.sql").write_text(WIDGET_POLICIES + "-- changed\n")
    (project / "sql" / "0002_create_gadgets.sql").write_text("create table public.gadgets (id int);\n")
    third = run_cli("migrate", "export", project=project).stdout.split()
    names = sorted(p.name for p in export_dir.iterdir())
    assert len(third) == 2 and len(names) == 4, "the new migration and a new policies snapshot"
    assert names[2].endswith("_0002_create_gadgets.sql") and names[3][15:].startswith("policies_")
    assert names == sorted(names, key=lambda n: n[:14]), "timestamps keep the Supabase CLI's order"
    (project / "sql" / "0001_create_widgets.sql").write_text(WIDGETS + "-- edited after export\n")
    edited = run_cli("migrate", "export", project=project)
    assert edited.returncode == 1 and "immutable once exported" in edited.stderr


def test_an_exported_file_keeps_the_ledger_block_it_was_pushed_with(project):
    """Immutable means the migration's SQL: a newer engine's ledger block (the ledger schema grows) is no drift."""
    assert run_cli("migrate", "export", project=project).returncode == 0
    exported = next((project / "supabase" / "migrations").glob("*_0001_create_widgets.sql"))
    source, marker, ledger_block = exported.read_text().partition("\n-- supakit ledger:")
    assert marker, "the export carries its ledger block"
    older_block = ledger_block.replace("create table if not exists", "create table if not  exists")
    exported.write_text(source + marker + older_block)
    again = run_cli("migrate", "export", project=project)
    assert again.returncode == 0 and again.stdout == "", again.stderr


def test_the_committed_supabase_migrations_are_up_to_date(tmp_path):
    committed = ROOT / "supabase" / "migrations"
    copy = tmp_path / "migrations"
    shutil.copytree(committed, copy)
    written = exporter.export(versioned_files(ROOT / "sql"), repeatable_files(ROOT / "policies"), copy)
    assert written == [], f"run `supakit migrate export` and commit supabase/migrations/: {written}"


@pytest.mark.parametrize("statement", ["begin;", "commit;", "rollback;", "start transaction;", "end;",
                                       "savepoint s;"])
def test_transaction_control_in_a_file_is_refused_before_anything_runs(project, empty_db, statement):
    (project / "sql" / "0002_create_split.sql").write_text(
        f"create table public.first_half (id int);\n{statement}\ncreate table public.second_half (id int);\n")
    result = migrate(project, empty_db)
    assert result.returncode == 2, "transaction control would break the file's all-or-nothing guarantee"
    assert "sql/0002_create_split.sql:2: transaction control" in result.stderr
    assert ledger(empty_db) == {}, "refused before even the compat files ran"
    assert not relation_exists(empty_db, "public.first_half")


def test_a_role_set_in_a_file_does_not_leak_into_the_ledger_or_the_next_file(project, empty_db):
    (project / "sql" / "0002_create_as_role.sql").write_text(
        "create table public.before_role (id int);\nset role authenticated;\n")
    (project / "sql" / "0003_create_after_role.sql").write_text("create table public.after_role (id int);\n")
    result = migrate(project, empty_db)
    assert result.returncode == 0, result.stderr
    assert ("versioned", "0002") in ledger(empty_db) and relation_exists(empty_db, "public.after_role")
    with psycopg.connect(empty_db) as conn:
        owner = conn.execute("select tableowner from pg_tables where tablename = 'after_role'").fetchone()[0]
    assert owner == "postgres", "the next file runs as the migrator again"


def test_the_no_transaction_directive_counts_only_in_the_first_comment_lines(project, empty_db):
    (project / "sql" / "0002_add_late_directive.sql").write_text(
        "create table public.late (id int);\n-- supakit:no-transaction\nselect 1 / 0;\n")
    assert migrate(project, empty_db).returncode == 1
    assert not relation_exists(empty_db, "public.late"), "a directive below a statement is just a comment"
