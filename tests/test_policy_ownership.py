"""A repeatable file owns the policies and grants of the tables it declares (functions_py/migrations/ownership.py):
what it no longer creates or grants is gone after `supakit migrate`, and a file that disappeared is drift."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import psycopg
import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_user
from tests.cli import ROOT, run_cli

NOTES = """\
create table public.notes (id bigint generated always as identity primary key, body text not null);
create table public.board (id bigint generated always as identity primary key, body text not null);
alter table public.board enable row level security;
grant select, insert on table public.board to authenticated;
"""
READ = """\
drop policy if exists "signed-in users can read notes" on public.notes;
create policy "signed-in users can read notes" on public.notes for select to authenticated using (true);
"""
WRITE = """\
drop policy if exists "signed-in users can write notes" on public.notes;
create policy "signed-in users can write notes" on public.notes for insert to authenticated with check (true);
"""
GRANTS = """\
revoke all on table public.notes from anon, authenticated, service_role;
grant select on table public.notes to authenticated;
grant insert (body) on table public.notes to authenticated;
alter table public.notes enable row level security;
"""
# board: a table no file declares (like realtime.messages), where two files each create a policy
BOARD_A = """\
drop policy if exists "a can read the board" on public.board;
create policy "a can read the board" on public.board for select to authenticated using (true);
"""
BOARD_B = """\
drop policy if exists "b can post on the board" on public.board;
create policy "b can post on the board" on public.board for insert to authenticated with check (true);
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "supabase").mkdir()
    shutil.copy(ROOT / "supabase" / "config.toml", tmp_path / "supabase" / "config.toml")
    shutil.copytree(ROOT / "supabase" / "compat", tmp_path / "supabase" / "compat")
    (tmp_path / "sql").mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "sql" / "0001_create_notes.sql").write_text(NOTES)
    (tmp_path / "policies" / "notes.sql").write_text(GRANTS + READ + WRITE + BOARD_A)
    (tmp_path / "policies" / "other.sql").write_text(BOARD_B)
    return tmp_path


def migrate(project: Path, url: str, *args: str):
    completed = run_cli("migrate", *args, project=project, env={"DATABASE_URL": url})
    return completed


def policies(url: str, table: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {name for name, in conn.execute("select policyname from pg_policies where tablename = %s",
                                               (table,)).fetchall()}


def insert_note(url: str) -> int | RequestError:
    with psycopg.connect(url) as conn:
        try:
            with as_user(conn, uuid.uuid4()) as cur:
                cur.execute("insert into public.notes (body) values ('hi')")
                return cur.rowcount
        except RequestError as refused:
            return refused


def can(url: str, privilege: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("select has_any_column_privilege('authenticated', 'public.notes', %s)",
                            (privilege,)).fetchone()[0]


def test_a_policy_removed_from_its_file_is_dropped_and_the_access_it_gave_is_refused(project, empty_db):
    assert migrate(project, empty_db).returncode == 0
    assert insert_note(empty_db) == 1, "the write policy lets signed-in users insert"

    (project / "policies" / "notes.sql").write_text(GRANTS + READ + BOARD_A)
    completed = migrate(project, empty_db)

    assert completed.returncode == 0, completed.stderr
    assert policies(empty_db, "notes") == {"signed-in users can read notes"}, "the removed policy is gone"
    refused = insert_note(empty_db)
    assert isinstance(refused, RequestError) and refused.status == 403, "its access is refused (RLS: 42501)"


def test_a_grant_removed_from_its_file_is_revoked(project, empty_db):
    assert migrate(project, empty_db).returncode == 0
    assert can(empty_db, "insert")
    (project / "policies" / "notes.sql").write_text(GRANTS.replace("grant insert (body) on table public.notes to "
                                                                   "authenticated;\n", "") + READ + WRITE + BOARD_A)
    assert migrate(project, empty_db).returncode == 0
    assert not can(empty_db, "insert") and can(empty_db, "select"), "only what the file still grants remains"


def test_a_policy_made_by_hand_on_a_declared_table_does_not_survive_the_next_apply(project, empty_db):
    assert migrate(project, empty_db).returncode == 0
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("create policy \"hand-made\" on public.notes for delete to authenticated using (true)")
        conn.execute("grant delete on table public.notes to anon")
    (project / "policies" / "notes.sql").write_text(GRANTS + READ + WRITE + BOARD_A + "-- touched\n")
    assert migrate(project, empty_db).returncode == 0
    assert "hand-made" not in policies(empty_db, "notes"), "the file alone decides its tables' policies"
    with psycopg.connect(empty_db) as conn:
        assert not conn.execute("select has_table_privilege('anon', 'public.notes', 'delete')").fetchone()[0]


def test_on_a_table_no_file_declares_each_file_withdraws_only_its_own_policies(project, empty_db):
    assert migrate(project, empty_db).returncode == 0
    assert policies(empty_db, "board") == {"a can read the board", "b can post on the board"}
    (project / "policies" / "notes.sql").write_text(GRANTS + READ + WRITE)
    assert migrate(project, empty_db).returncode == 0
    assert policies(empty_db, "board") == {"b can post on the board"}, "the other file's policy stays"


def test_a_policies_file_that_disappeared_is_drift_and_migrate_says_what_to_do(project, empty_db):
    assert migrate(project, empty_db).returncode == 0
    (project / "policies" / "notes.sql").unlink()

    verify = run_cli("migrate", "verify", project=project, env={"DATABASE_URL": empty_db})
    assert verify.returncode == 1 and "notes.sql" in verify.stderr, verify.stderr
    refused = migrate(project, empty_db)
    assert refused.returncode == 1 and "restore it" in refused.stderr and "empty" in refused.stderr, refused.stderr

    (project / "policies" / "notes.sql").write_text("-- notes: access withdrawn\n")
    assert migrate(project, empty_db).returncode == 0
    assert policies(empty_db, "notes") == set() and not can(empty_db, "select"), "its policies and grants are gone"
    assert policies(empty_db, "board") == {"b can post on the board"}
    assert run_cli("migrate", "verify", project=project, env={"DATABASE_URL": empty_db}).returncode == 0
