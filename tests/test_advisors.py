"""`supakit lint --db`: the database advisors (functions_py/advisors), against the harness's databases.

tests/fixtures/advisors_broken.sql holds one problem per lint; the tests check that each lint flags exactly its
object and that our own migrated schema stays clean.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import psycopg
import pytest

from functions_py import advisors
from tests.cli import ROOT, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "advisors_broken.sql"
BROKEN_SCHEMAS = "public,broken"

# lint -> the one object of the fixture it must flag (schema.table, schema.function or the extension's name).
EXPECTED = {
    "0001_unindexed_foreign_keys": "broken_private.child",
    "0003_auth_rls_initplan": "broken_private.initplan",
    "0004_no_primary_key": "broken_private.no_pk",
    "0006_multiple_permissive_policies": "broken_private.overlapping",
    "0007_policy_exists_rls_disabled": "broken_private.policy_without_rls",
    "0008_rls_enabled_no_policy": "broken.no_policy",
    "0009_duplicate_index": "broken_private.twice_indexed",
    "0011_function_search_path_mutable": "broken_private.mutable_search_path",
    "0013_rls_disabled_in_public": "broken.rls_off",
    "0014_extension_in_public": "public.<the extension the fixture installed>",
    "0015_rls_references_user_metadata": "broken_private.user_metadata_check",
    "0024_rls_policy_always_true": "broken_private.always_true",
    "0028_anon_security_definer_function_executable": "broken.definer_for_anon",
    "0029_authenticated_security_definer_function_executable": "broken.definer_for_authenticated",
}
# Supabase documents 0024 under its doc file's name, not the lint's.
DOC_PAGE = {"0024_rls_policy_always_true": "0024_permissive_rls_policy"}


def lint_db(url: str, *args: str):
    return run_cli("lint", "--db", *args, env={"DATABASE_URL": url})


def findings_json(url: str, *args: str) -> dict:
    completed = lint_db(url, "--json", "--fail-on", "NONE", *args)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def flagged(report: dict) -> list[tuple[str, str]]:
    """(lint, schema.name) of every finding, in report order."""
    return [(f["lint"], f"{f['metadata']['schema']}.{f['metadata']['name']}") for f in report["findings"]]


def execute(url: str, statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(statements)


def apply_fixture(url: str) -> str:
    """Apply the broken fixture; returns the name of the extension it installed in public."""
    execute(url, FIXTURE.read_text())
    with psycopg.connect(url) as conn:
        return conn.execute("select e.extname from pg_extension e where e.extnamespace = 'public'::regnamespace"
                            " and e.extname <> 'plpgsql'").fetchone()[0]


def run_lint(url: str, key: str, schemas: tuple[str, ...] = ("public",)) -> list[advisors.Finding]:
    lint = next(lint for lint in advisors.load_lints() if lint.key == key)
    return advisors.run(url, schemas, lints=[lint])


# ------------------------------------------------------------------------------------------------ the fixture


def test_every_lint_flags_exactly_its_object_in_the_broken_fixture(fresh_db):
    before = set(flagged(findings_json(fresh_db, "--schemas", BROKEN_SCHEMAS)))
    extension = apply_fixture(fresh_db)
    report = findings_json(fresh_db, "--schemas", BROKEN_SCHEMAS)
    new = [item for item in flagged(report) if item not in before]

    expected = {**EXPECTED, "0014_extension_in_public": f"public.{extension}"}
    assert sorted(new) == sorted(expected.items()), "each lint flags its own object, once, and nothing else"
    assert set(expected) == {lint.key for lint in advisors.load_lints()}, "every lint has a broken object"


def test_findings_name_the_object_and_link_the_lints_docs(fresh_db):
    apply_fixture(fresh_db)
    report = findings_json(fresh_db, "--schemas", BROKEN_SCHEMAS)
    for finding in report["findings"]:
        schema, name = finding["metadata"]["schema"], finding["metadata"]["name"]
        page = DOC_PAGE.get(finding["lint"], finding["lint"])
        assert f"{name}" in finding["detail"], finding
        assert schema in finding["detail"] or finding["metadata"]["type"] == "extension", finding
        assert finding["remediation"].endswith(
            f"https://supabase.com/docs/guides/database/database-linter?lint={page}"), finding
        assert finding["lint"].endswith(finding["name"]) and finding["title"], finding


# ------------------------------------------------------------------------------------------------ the command


def test_json_output_has_counts_and_findings_most_severe_first(fresh_db):
    apply_fixture(fresh_db)
    report = findings_json(fresh_db, "--schemas", BROKEN_SCHEMAS)
    assert set(report) == {"exposed_schemas", "counts", "findings", "reviewed", "stale_reviewed"}
    assert report["exposed_schemas"] == ["public", "broken"]
    levels = [f["level"] for f in report["findings"]]
    assert report["counts"] == {level: levels.count(level) for level in ("ERROR", "WARN", "INFO")}
    assert levels == sorted(levels, key=advisors.severity, reverse=True), "ERROR, then WARN, then INFO"
    for finding in report["findings"]:
        assert set(finding) == {"lint", "name", "level", "title", "detail", "remediation", "metadata"}
        assert isinstance(finding["metadata"], dict)


def test_the_table_goes_to_stdout_and_the_summary_to_stderr(fresh_db):
    apply_fixture(fresh_db)
    completed = lint_db(fresh_db, "--schemas", BROKEN_SCHEMAS, "--fail-on", "NONE")
    lines = completed.stdout.splitlines()
    assert lines[0].split() == ["level", "name", "detail", "remediation"]
    rls_off = next(line for line in lines if "0013_rls_disabled_in_public" in line)
    assert rls_off.startswith("ERROR") and "`broken.rls_off`" in rls_off and "enable row level security" in rls_off
    assert "3 ERROR, 8 WARN" in completed.stderr and "exposed schemas: public, broken" in completed.stderr


def test_fail_on_sets_the_level_that_exits_1(fresh_db):
    execute(fresh_db, "create schema info_only; create table info_only.no_key (label text);")  # 0004, INFO
    assert lint_db(fresh_db).returncode == 0, "the default --fail-on WARN ignores INFO findings"
    assert lint_db(fresh_db, "--fail-on", "INFO").returncode == 1
    assert lint_db(fresh_db, "--fail-on", "info").returncode == 1, "levels are case-insensitive"

    apply_fixture(fresh_db)
    schemas = ("--schemas", BROKEN_SCHEMAS)
    assert lint_db(fresh_db, *schemas).returncode == 1, "WARN and ERROR findings fail by default"
    assert lint_db(fresh_db, *schemas, "--fail-on", "ERROR").returncode == 1
    assert lint_db(fresh_db, *schemas, "--fail-on", "NONE").returncode == 0
    assert lint_db(fresh_db, *schemas, "--fail-on", "bogus").returncode == 2


def test_exposed_schemas_come_from_config_toml_or_the_environment(fresh_db):
    assert findings_json(fresh_db)["exposed_schemas"] == ["public", "graphql_public"], "supabase/config.toml"
    from_env = run_cli("lint", "--db", "--json", "--fail-on", "NONE",
                       env={"DATABASE_URL": fresh_db, "SUPAKIT_EXPOSED_SCHEMAS": "public, api"})
    assert json.loads(from_env.stdout)["exposed_schemas"] == ["public", "api"]
    assert "exposed schema 'api' does not exist" in from_env.stderr, "a typo must not pass silently"


def test_db_only_options_are_refused_without_db():
    assert run_cli("lint", "--json").returncode == 2
    assert run_cli("lint", "--db", "--fix").returncode == 2


def test_an_unreachable_database_exits_3():
    completed = run_cli("lint", "--db", env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres"})
    assert completed.returncode == 3, completed.stderr


# ------------------------------------------------------------------------------------------------ our schema


def test_our_migrated_schema_is_clean(fresh_db):
    """The "clean on ours" gate: no finding at any level, and nothing set aside as reviewed. Supabase's 0029 in
    particular: no security definer function is exposed, every RPC in public is security invoker (sql/0018)."""
    report = findings_json(fresh_db)
    assert report["findings"] == [], "our migrations and policies must not trip any lint:\n" + "\n".join(
        f"{f['level']} {f['lint']}: {f['detail']}" for f in report["findings"])
    assert report["reviewed"] == [] and report["stale_reviewed"] == []
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["supakit"]["advisors"]["reviewed"] == []
    with psycopg.connect(fresh_db) as conn:
        definers = conn.execute("select p.oid::regprocedure::text from pg_proc p"
                                " where p.pronamespace = 'public'::regnamespace and p.prosecdef").fetchall()
    assert definers == [], "public holds security invoker functions only"
    assert lint_db(fresh_db, "--fail-on", "INFO").returncode == 0


def test_every_rpc_body_behind_an_invoker_wrapper_is_granted_to_its_callers_only(fresh_db):
    """The definer bodies in internal: EXECUTE revoked from PUBLIC and anon, granted to authenticated."""
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute(
            "select p.proname,"
            "  exists (select from aclexplode(p.proacl) a where a.grantee = 'authenticated'::regrole),"
            "  exists (select from aclexplode(p.proacl) a where a.grantee = 0),"
            "  has_function_privilege('anon', p.oid, 'execute')"
            " from pg_proc p join pg_proc w on w.proname = p.proname and w.pronamespace = 'public'::regnamespace"
            " where p.pronamespace = 'internal'::regnamespace and p.prosecdef").fetchall()
    assert len(rows) == 17, rows  # the 13 of sql/0018, bind_channel_contact, request_reply_suggestion (0023),
    # request_restore (0031), provisioning_status (0033)
    for name, authenticated, public, anon in rows:
        assert (authenticated, public, anon) == (True, False, False), f"internal.{name}: only its callers execute it"


def test_a_reviewed_entry_that_matches_nothing_is_flagged_as_stale(fresh_db, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "supabase", project / "supabase", ignore=shutil.ignore_patterns("migrations"))
    (project / "sql").mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.supakit.advisors]\nreviewed = ["0029_authenticated_security_definer_function_executable:public.gone"]\n')
    result = run_cli("lint", "--db", "--json", project=project, env={"DATABASE_URL": fresh_db})
    report = json.loads(result.stdout)
    assert report["stale_reviewed"] == ["0029_authenticated_security_definer_function_executable:public.gone"]
    assert "matches no finding any more" in result.stderr
    assert report["findings"] == [], "our schema needs no reviewed entry"
    assert result.returncode == 0, "a stale entry is a warning, not a failure"


# ------------------------------------------------------------------------------------------------ single lints


def test_0006_counts_for_all_and_to_public_for_every_action_and_role_they_cover(fresh_db):
    execute(fresh_db, """
        create schema p6;
        create table p6.all_and_select (id int primary key, owner_id uuid);
        create policy "owner all" on p6.all_and_select for all to authenticated using (owner_id = (select auth.uid()));
        create policy "read" on p6.all_and_select for select to authenticated using (true);

        create table p6.public_and_update (id int primary key);
        create policy "public all" on p6.public_and_update for all using (false);
        create policy "update" on p6.public_and_update for update to authenticated using (false);

        create table p6.one_per_role (id int primary key);
        create policy "anon read" on p6.one_per_role for select to anon using (true);
        create policy "user read" on p6.one_per_role for select to authenticated using (true);

        create table p6.restrictive (id int primary key);
        create policy "read" on p6.restrictive for select to authenticated using (true);
        create policy "and only" on p6.restrictive as restrictive for select to authenticated using (id > 0);
    """)
    found = [(f.metadata["name"], f.metadata["role"], f.metadata["action"], f.metadata["policies"])
             for f in run_lint(fresh_db, "0006_multiple_permissive_policies") if f.metadata["schema"] == "p6"]
    assert sorted(found) == [
        ("all_and_select", "authenticated", "SELECT", ["owner all", "read"]),  # only the action both cover
        ("public_and_update", "authenticated", "UPDATE", ["public all", "update"]),  # not anon: it has one
    ], "separate roles and restrictive policies are no overlap"


def test_0001_wants_the_key_columns_to_lead_an_index(fresh_db):
    execute(fresh_db, """
        create schema p1;
        create table p1.parent (a int, b int, primary key (a, b));
        create table p1.leading_any_order (a int, b int, foreign key (a, b) references p1.parent);
        create index on p1.leading_any_order (b, a);
        create table p1.only_included (a int, b int, foreign key (a, b) references p1.parent);
        create index on p1.only_included (a) include (b);
        create table p1.not_leading (a int, b int, x int, foreign key (a, b) references p1.parent);
        create index on p1.not_leading (x, a, b);
    """)
    found = sorted(f.metadata["name"] for f in run_lint(fresh_db, "0001_unindexed_foreign_keys")
                   if f.metadata["schema"] == "p1")
    assert found == ["not_leading", "only_included"], "INCLUDE columns and later columns cannot serve the key"


def test_0003_flags_bare_auth_calls_and_accepts_them_wrapped_in_select(fresh_db):
    execute(fresh_db, """
        create schema p3;
        create table p3.t (id int primary key, owner_id uuid, email text);
        create table p3.members (user_id uuid);
        create policy "bare uid" on p3.t for select to authenticated using (owner_id = auth.uid());
        create policy "wrapped uid" on p3.t for select to authenticated using (owner_id = (select auth.uid()));
        create policy "wrapped jwt" on p3.t for select to authenticated
          using (email = ((select auth.jwt()) ->> 'email'));
        create policy "bare jwt in check" on p3.t for insert to authenticated
          with check (email = (auth.jwt() ->> 'email'));
        create policy "bare current_setting" on p3.t for select to authenticated
          using (owner_id::text = current_setting('request.jwt.claim.sub', true));
        create policy "wrapped current_setting" on p3.t for select to authenticated
          using (owner_id::text = (select current_setting('request.jwt.claim.sub', true)));
        create policy "one wrapped, one bare" on p3.t for update to authenticated
          using (owner_id = (select auth.uid())) with check (owner_id = auth.uid());
        create policy "wrapped inside a subquery" on p3.t for delete to authenticated
          using (exists (select 1 from p3.members m where m.user_id = (select auth.uid())));
        create policy "bare inside a subquery" on p3.t for delete to authenticated
          using (exists (select 1 from p3.members m where m.user_id = auth.uid()));
        create policy "only in a string" on p3.t for select to anon using (email <> 'auth.uid()');
    """)
    with psycopg.connect(fresh_db) as conn:
        stored = conn.execute("select qual from pg_policies where policyname = 'wrapped uid'").fetchone()[0]
    assert "( SELECT auth.uid() AS uid)" in stored, "the lint matches PostgreSQL's deparsed text"

    found = sorted(f.metadata["policy"] for f in run_lint(fresh_db, "0003_auth_rls_initplan")
                   if f.metadata["schema"] == "p3")
    assert found == ["bare current_setting", "bare inside a subquery", "bare jwt in check", "bare uid",
                     "one wrapped, one bare"]


def test_0024_covers_update_without_check_and_for_all_to_public(fresh_db):
    execute(fresh_db, """
        create schema p24;
        create table p24.t (id int primary key, owner_id uuid);
        create policy "update anything" on p24.t for update to authenticated using (true);
        create policy "all to public" on p24.t for all using (owner_id = (select auth.uid())) with check (true);
        create policy "update own" on p24.t for update to authenticated
          using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
        create policy "service only" on p24.t for delete to service_role using (true);
        create policy "insert without check" on p24.t for insert to anon;
    """)
    found = {f.metadata["policy"]: f.detail for f in run_lint(fresh_db, "0024_rls_policy_always_true")
             if f.metadata["schema"] == "p24"}
    assert sorted(found) == ["all to public", "update anything"]
    assert "to authenticated whose USING and WITH CHECK are always true" in found["update anything"], \
        "an update's missing WITH CHECK is its USING"
    assert "to public whose WITH CHECK is always true" in found["all to public"]


# ------------------------------------------------------------------------------------------------ the runner


def test_lints_run_read_only(fresh_db):
    writes = advisors.Lint("9999", "writes", "with gone as (delete from public.profiles returning id) "
                                             "select 'writes' as name, 'INFO' as level, '' as title, '' as detail, "
                                             "'' as remediation, '{}'::jsonb as metadata from gone")
    with pytest.raises(advisors.AdvisorFailed, match="read-only transaction"):
        advisors.run(fresh_db, ["public"], lints=[writes])


def test_a_lint_must_return_the_agreed_columns(fresh_db):
    wrong = advisors.Lint("9998", "wrong", "select 'wrong' as name, 'INFO' as level")
    with pytest.raises(advisors.AdvisorFailed, match="must return"):
        advisors.run(fresh_db, ["public"], lints=[wrong])


def test_lint_files_are_numbered_and_named_after_their_name_column():
    lints = advisors.load_lints()
    assert [lint.key for lint in lints] == sorted(EXPECTED)
    for lint in lints:
        assert f"'{lint.name}' as name" in lint.sql, f"{lint.key}: the name column must be {lint.name!r}"
        assert lint.sql.startswith(f"-- {lint.number} {lint.name} "), f"{lint.key}: start with a comment saying why"


def test_0029_flags_an_exposed_definer_function_as_splinter_does_and_a_review_names_one_overload(fresh_db, tmp_path):
    execute(fresh_db, """
        create function public.create_organization(name text) returns void
        language sql security definer set search_path = '' as 'select null';
        revoke all on function public.create_organization(text) from public, anon;
        grant execute on function public.create_organization(text) to authenticated;
        create function public.open_to_all() returns void
        language sql security definer set search_path = '' as 'select null';
        create schema hidden;
        create function hidden.definer_body() returns void
        language sql security definer set search_path = '' as 'select null';
        grant usage on schema hidden to authenticated;
    """)
    found = {(f.metadata["name"], f.level) for f in run_lint(fresh_db,
                                                          "0029_authenticated_security_definer_function_executable")}
    assert found == {("create_organization", "WARN"), ("open_to_all", "WARN")}, \
        "WARN, also when anon may execute it too; a schema that is not exposed is not flagged"
    report = findings_json(fresh_db)
    assert any(f["detail"].startswith("Function `public.create_organization(name text)` can be executed by the "
                                      "`authenticated` role.") for f in report["findings"]), "splinter's detail"
    project = tmp_path / "project"
    shutil.copytree(ROOT / "supabase", project / "supabase", ignore=shutil.ignore_patterns("migrations"))
    (project / "sql").mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.supakit.advisors]\nreviewed = ["0029_authenticated_security_definer_function_executable:'
        'public.create_organization(name text, slug text)"]\n')
    reviewed = json.loads(run_cli("lint", "--db", "--json", "--fail-on", "NONE", project=project,
                                  env={"DATABASE_URL": fresh_db}).stdout)
    assert any(f["metadata"]["name"] == "create_organization" for f in reviewed["findings"]), \
        "a review covers the signature it names, not every overload"
