"""The compat layer (supabase/compat/) gives plain PostgreSQL the Supabase surface our SQL relies on.

Each test states one behaviour of hosted Supabase (../shared/reference/supabase-surface.md) and checks that the
compat layer reproduces it, impersonating users exactly as PostgREST does (functions_py.postgrest).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from functions_py.errors import RequestError
from functions_py.migrations.ledger import SUPABASE_NATIVE
from functions_py.postgrest import as_anon, as_service, as_user

COMPAT_DIR = Path(__file__).resolve().parents[1] / "supabase" / "compat"
COMPAT_FILES = sorted(COMPAT_DIR.glob("[0-9][0-9]_*.sql"))
API_ROLES = ("anon", "authenticated", "service_role")
DAILY_PARTITION = re.compile(r"^messages_\d{4}_\d{2}_\d{2}")


# -- helpers --------------------------------------------------------------------------------------------------


@contextmanager
def warnings_raised(conn: psycopg.Connection) -> Iterator[list[str]]:
    """Collect the messages of the WARNINGs the server sends while the block runs."""
    messages: list[str] = []

    def collect(diagnostic: psycopg.errors.Diagnostic) -> None:
        if diagnostic.severity_nonlocalized == "WARNING":
            messages.append(diagnostic.message_primary or "")

    conn.add_notice_handler(collect)
    try:
        yield messages
    finally:
        conn.remove_notice_handler(collect)


def fails_with(conn: psycopg.Connection, query: str, params: tuple | None = None) -> str | None:
    """The SQLSTATE `query` fails with, run as the connection's user in a savepoint; None if it succeeds."""
    try:
        with conn.transaction():
            conn.execute(query, params)
    except psycopg.Error as error:
        return error.sqlstate
    return None


def utc_day(db: psycopg.Connection, offset_days: int = 0) -> str:
    """A UTC date as 'YYYY_MM_DD', the suffix of realtime.messages' daily partitions."""
    return db.execute(
        "select to_char((now() at time zone 'utc')::date + %s, 'YYYY_MM_DD')", (offset_days,)
    ).fetchone()[0]


def create_bucket(db: psycopg.Connection, bucket_id: str) -> None:
    """A private bucket, inserted the way migrations create them."""
    db.execute("insert into storage.buckets (id, name, public) values (%s, %s, false)", (bucket_id, bucket_id))


# -- auth: the JWT helpers --------------------------------------------------------------------------------------


def test_auth_helpers_return_null_outside_a_request(db):
    row = db.execute("select auth.uid(), auth.role(), auth.email(), auth.jwt()").fetchone()
    assert row == (None, None, None, None), "with no request settings, every JWT helper must return NULL"


def test_auth_helpers_read_the_claims_postgrest_sets(db, make_user):
    user_id = make_user(email="ada@example.com")
    with as_user(db, user_id, claims={"email": "ada@example.com"}, method="GET") as cur:
        uid, role, email, jwt = cur.execute("select auth.uid(), auth.role(), auth.email(), auth.jwt()").fetchone()
    assert uid == user_id, "auth.uid() must return the token's sub inside a request"
    assert role == "authenticated", "auth.role() must return the role claim PostgREST always inserts"
    assert email == "ada@example.com", "auth.email() must return the email claim"
    assert jwt["sub"] == str(user_id) and jwt["aud"] == "authenticated", "auth.jwt() must return every claim"
    assert jwt["role"] == "authenticated", "auth.jwt() must include the role claim PostgREST inserts"


def test_anon_and_service_requests_have_a_role_but_no_uid(db):
    with as_anon(db, method="GET") as cur:
        anon = cur.execute("select auth.uid(), auth.role(), auth.jwt() ->> 'role'").fetchone()
    with as_service(db, method="GET") as cur:
        service = cur.execute("select auth.uid(), auth.role(), auth.jwt() ->> 'role'").fetchone()
    assert anon == (None, "anon", "anon"), "an anon-key request has no sub, so auth.uid() must be NULL"
    assert service == (None, "service_role", "service_role"), "a service-key request has no sub either"


def test_auth_uid_is_null_again_after_a_committed_request(fresh_db):
    user_id = uuid.uuid4()
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        with as_user(conn, user_id) as cur:
            inside = cur.execute("select auth.uid()").fetchone()[0]
        after, raw = conn.execute("select auth.uid(), current_setting('request.jwt.claims', true)").fetchone()
    assert inside == user_id, "auth.uid() must return the sub while the request runs"
    assert raw == "", "after the request commits, PostgreSQL leaves its local setting reading ''"
    assert after is None, "auth.uid() must turn that '' into NULL, so nothing leaks to the next request"


def test_auth_uid_is_null_after_a_request_inside_a_transaction(db, make_user):
    user_id = make_user()
    with as_user(db, user_id) as cur:
        cur.execute("select auth.uid()")
    assert db.execute("select auth.uid()").fetchone()[0] is None, "a finished request must leave no user behind"


def test_a_sub_that_is_not_a_uuid_fails_with_22p02_which_postgrest_answers_with_400(db):
    with pytest.raises(RequestError) as refused, as_user(db, "not-a-uuid", method="GET") as cur:
        cur.execute("select auth.uid()")
    assert refused.value.code == "22P02", "casting a non-UUID sub must raise invalid_text_representation"
    assert refused.value.status == 400, "PostgREST answers 22P02 with HTTP 400"


def test_legacy_per_claim_settings_are_read_before_the_json_claims(db):
    legacy_sub, json_sub = uuid.uuid4(), uuid.uuid4()
    claims = {"sub": str(json_sub), "role": "authenticated", "email": "json@example.com"}
    with db.transaction(force_rollback=True):
        db.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        db.execute(
            "select set_config('request.jwt.claim.sub', %s, true), set_config('request.jwt.claim.role', 'service_role',"
            " true), set_config('request.jwt.claim.email', 'legacy@example.com', true),"
            " set_config('request.jwt.claim', %s, true)",
            (str(legacy_sub), json.dumps({"sub": str(legacy_sub)})),
        )
        legacy = db.execute("select auth.uid(), auth.role(), auth.email(), auth.jwt()").fetchone()
        db.execute(
            "select set_config('request.jwt.claim.sub', '', true), set_config('request.jwt.claim.role', '', true),"
            " set_config('request.jwt.claim.email', '', true), set_config('request.jwt.claim', '', true)"
        )
        fallback = db.execute("select auth.uid(), auth.role(), auth.email(), auth.jwt()").fetchone()
    assert legacy == (legacy_sub, "service_role", "legacy@example.com", {"sub": str(legacy_sub)}), (
        "Realtime and storage-api set request.jwt.claim.*; those must win over request.jwt.claims"
    )
    assert fallback == (json_sub, "authenticated", "json@example.com", claims), (
        "an empty legacy setting must fall through to the JSON claims PostgREST sets"
    )


def test_auth_helpers_are_invoker_sql_stable_functions_any_role_may_call(db):
    rows = db.execute(
        "select p.proname, l.lanname, p.provolatile, p.prosecdef, p.proowner::regrole::text,"
        " has_function_privilege('anon', p.oid, 'execute'), has_function_privilege('authenticated', p.oid, 'execute')"
        " from pg_proc as p join pg_language as l on l.oid = p.prolang"
        " where p.pronamespace = 'auth'::regnamespace and p.proname in ('uid', 'role', 'email', 'jwt')"
        " order by p.proname"
    ).fetchall()
    assert [r[0] for r in rows] == ["email", "jwt", "role", "uid"], "all four helpers must exist"
    for name, language, volatility, definer, owner, anon_may, user_may in rows:
        assert (language, volatility) == ("sql", "s"), f"auth.{name}() must be LANGUAGE sql STABLE"
        assert not definer, f"auth.{name}() must run as its caller, not as a security definer"
        assert owner == "supabase_auth_admin", f"auth.{name}() must be owned by supabase_auth_admin"
        assert anon_may and user_may, f"PUBLIC must be able to execute auth.{name}(), so policies can call it"


# -- auth: tables -------------------------------------------------------------------------------------------------


def test_api_roles_cannot_read_auth_users_directly(db, make_user):
    user_id = make_user()
    with pytest.raises(RequestError) as as_user_refused, as_user(db, user_id, method="GET") as cur:
        cur.execute("select id from auth.users")
    with pytest.raises(RequestError) as as_anon_refused, as_anon(db, method="GET") as cur:
        cur.execute("select id from auth.identities")
    assert as_user_refused.value.code == "42501", "authenticated must hold no privilege on auth.users"
    assert as_user_refused.value.status == 403, "a missing grant reaches a signed-in client as 403"
    assert as_anon_refused.value.status == 401, "the same refusal reaches an anon client as 401"
    privileges = db.execute(
        "select has_schema_privilege(r, 'auth', 'usage'),"
        " has_table_privilege(r, 'auth.users', 'select, insert, update, delete')"
        " from unnest(%s::text[]) as r",
        (list(API_ROLES),),
    ).fetchall()
    assert privileges == [(True, False)] * 3, "the API roles may use schema auth but hold nothing on auth.users"


def test_auth_tables_are_owned_by_the_auth_admin_with_rls_on(db):
    rows = db.execute(
        "select relname, relowner::regrole::text, relrowsecurity from pg_class"
        " where oid in ('auth.users'::regclass, 'auth.identities'::regclass) order by relname"
    ).fetchall()
    assert rows == [("identities", "supabase_auth_admin", True), ("users", "supabase_auth_admin", True)], (
        "supabase_auth_admin owns the auth tables and RLS is enabled on every one of them"
    )


def test_auth_users_id_has_no_default_so_inserts_must_supply_it(db):
    assert fails_with(db, "insert into auth.users (email) values ('no-id@example.com')") == "23502", (
        "auth.users.id has no default: a seed that omits it must fail with not_null_violation"
    )


def test_confirmed_at_is_generated_from_the_earliest_confirmation(db):
    user_id = uuid.uuid4()
    db.execute(
        "insert into auth.users (id, email, email_confirmed_at, phone_confirmed_at)"
        " values (%s, 'both@example.com', '2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z')",
        (user_id,),
    )
    confirmed = db.execute(
        "select confirmed_at = '2026-01-01T00:00:00Z'::timestamptz from auth.users where id = %s", (user_id,)
    ).fetchone()[0]
    assert confirmed, "confirmed_at must be least(email_confirmed_at, phone_confirmed_at)"
    assert fails_with(
        db, "insert into auth.users (id, confirmed_at) values (%s, now())", (uuid.uuid4(),)
    ) == "428C9", "confirmed_at is GENERATED ALWAYS, so inserting it must fail"


def test_emails_are_unique_only_among_non_sso_users(db):
    db.execute("insert into auth.users (id, email) values (%s, 'same@example.com')", (uuid.uuid4(),))
    assert fails_with(
        db, "insert into auth.users (id, email) values (%s, 'same@example.com')", (uuid.uuid4(),)
    ) == "23505", "two password users must not share an email (users_email_partial_key)"
    assert fails_with(
        db, "insert into auth.users (id, email, is_sso_user) values (%s, 'same@example.com', true)", (uuid.uuid4(),)
    ) is None, "an SSO account may share its email with another account"


def test_identities_derive_their_email_and_go_when_their_user_goes(db, make_user):
    user_id = make_user()
    identity_id, email = db.execute(
        "insert into auth.identities (provider_id, user_id, identity_data, provider)"
        " values (%s, %s, %s, 'email') returning id, email",
        (str(user_id), user_id, Jsonb({"sub": str(user_id), "email": "Ada@Example.COM"})),
    ).fetchone()
    assert isinstance(identity_id, uuid.UUID), "auth.identities.id defaults to gen_random_uuid()"
    assert email == "ada@example.com", "auth.identities.email is generated as lower(identity_data->>'email')"
    db.execute("delete from auth.users where id = %s", (user_id,))
    left = db.execute("select count(*) from auth.identities where id = %s", (identity_id,)).fetchone()[0]
    assert left == 0, "deleting a user must cascade to its identities"


# -- roles and grants --------------------------------------------------------------------------------------------


def test_roles_have_supabase_attributes(db):
    rows = db.execute(
        "select rolname, rolcanlogin, rolinherit, rolbypassrls, rolsuper from pg_roles"
        " where rolname = any(%s) order by rolname",
        ([*API_ROLES, "authenticator", "supabase_auth_admin", "supabase_storage_admin", "supabase_realtime_admin"],),
    ).fetchall()
    attributes = {name: (login, inherit, bypass, superuser) for name, login, inherit, bypass, superuser in rows}
    assert attributes["anon"] == (False, True, False, False), "anon is NOLOGIN INHERIT and subject to RLS"
    assert attributes["authenticated"] == (False, True, False, False), "authenticated is NOLOGIN INHERIT"
    assert attributes["service_role"] == (False, True, True, False), "service_role is NOLOGIN INHERIT BYPASSRLS"
    assert attributes["authenticator"] == (True, False, False, False), "authenticator is LOGIN NOINHERIT"
    for owner in ("supabase_auth_admin", "supabase_storage_admin", "supabase_realtime_admin"):
        assert attributes[owner] == (False, False, False, False), f"{owner} is NOINHERIT, and NOLOGIN locally"


def test_authenticator_and_postgres_may_become_every_api_role(db):
    members = set(db.execute(
        "select m.member::regrole::text, m.roleid::regrole::text from pg_auth_members as m"
    ).fetchall())
    for role in API_ROLES:
        assert ("authenticator", role) in members, f"PostgREST's authenticator must be able to switch to {role}"
        assert ("postgres", role) in members, f"postgres must hold {role}, as on Supabase"
        assert ("supabase_realtime_admin", role) in members, f"Realtime's admin role holds {role}"
    assert not db.execute("select pg_has_role('authenticator', 'service_role', 'usage')").fetchone()[0], (
        "authenticator is NOINHERIT: it must switch roles explicitly rather than inherit service_role's rights"
    )


def test_role_settings_match_supabase_and_reach_requests(db):
    settings = dict(db.execute(
        "select setrole::regrole::text, setconfig from pg_db_role_setting where setdatabase = 0"
    ).fetchall())
    assert "statement_timeout=3s" in settings["anon"], "anon's statement_timeout is 3s"
    assert "statement_timeout=8s" in settings["authenticated"], "authenticated's statement_timeout is 8s"
    assert {"statement_timeout=8s", "lock_timeout=8s"} <= set(settings["authenticator"]), (
        "authenticator's statement_timeout and lock_timeout are 8s"
    )
    assert not any(s.startswith("session_preload_libraries") for s in settings["authenticator"]), (
        "supautils and safeupdate do not exist outside Supabase's image, so they must not be preloaded"
    )
    with as_anon(db, method="GET") as cur:
        timeout = cur.execute("show statement_timeout").fetchone()[0]
    assert timeout == "3s", "PostgREST applies the impersonated role's settings, so anon requests time out at 3s"


def test_public_is_usable_but_new_tables_are_not_exposed_by_default(db):
    usage = db.execute(
        "select bool_and(has_schema_privilege(r, 'public', 'usage')) from unnest(%s::text[]) as r", (list(API_ROLES),)
    ).fetchone()[0]
    assert usage, "the API roles must be able to use schema public"
    db.execute("create table public.compat_probe_not_exposed (id int)")
    exposed = db.execute(
        "select r from unnest(%s::text[]) as r"
        " where has_table_privilege(r, 'public.compat_probe_not_exposed', 'select, insert, update, delete')",
        (list(API_ROLES),),
    ).fetchall()
    assert exposed == [], "since 2026 nothing is auto-exposed: a new table needs an explicit grant"


def test_schema_extensions_is_usable_by_the_api_roles(db):
    usage = db.execute(
        "select bool_and(has_schema_privilege(r, 'extensions', 'usage')) from unnest(%s::text[]) as r",
        (list(API_ROLES),),
    ).fetchone()[0]
    assert usage, "schema extensions is on PostgREST's search path, so the API roles must be able to use it"
    missing = db.execute(
        "select a.name from pg_available_extensions as a where a.name in ('pgcrypto', 'uuid-ossp')"
        " and not exists (select from pg_extension as e where e.extname = a.name"
        " and e.extnamespace = 'extensions'::regnamespace)"
    ).fetchall()
    assert missing == [], "pgcrypto and uuid-ossp must live in schema extensions wherever PostgreSQL ships them"


# -- storage ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "folders", "file", "extension"),
    [
        ("avatars/u1/me.png", ["avatars", "u1"], "me.png", "png"),
        ("me.png", [], "me.png", "png"),  # no folder: an empty array, so [1] is NULL
        ("docs/archive.tar.gz", ["docs"], "archive.tar.gz", "gz"),  # several dots: the last one counts
        ("docs/README", ["docs"], "README", "README"),  # no dot: the whole file name
        ("docs/trailing.", ["docs"], "trailing.", ""),  # a trailing dot: empty
        ("docs/.env", ["docs"], ".env", "env"),
        ("a/b/", ["a", "b"], "", ""),  # a folder path: empty file name
        ("a//b.txt", ["a", ""], "b.txt", "txt"),  # empty segments are kept
        ("", None, None, None),
    ],
)
def test_storage_path_helpers_split_names_exactly_as_supabase_does(db, name, folders, file, extension):
    row = db.execute(
        "select storage.foldername(%s), storage.filename(%s), storage.extension(%s)", (name, name, name)
    ).fetchone()
    assert row == (folders, file, extension), f"storage's helpers must split {name!r} like storage-api does"


def test_storage_path_helpers_are_immutable(db):
    volatility = dict(db.execute(
        "select proname, provolatile from pg_proc where pronamespace = 'storage'::regnamespace"
        " and proname in ('foldername', 'filename', 'extension', 'operation')"
    ).fetchall())
    assert volatility == {"foldername": "i", "filename": "i", "extension": "i", "operation": "s"}, (
        "the path helpers are IMMUTABLE (so they can sit in indexes); operation() is STABLE"
    )


def test_storage_operation_reads_the_setting_storage_api_sets(db):
    assert db.execute("select storage.operation()").fetchone()[0] is None, "outside storage-api it is NULL"
    with db.transaction(force_rollback=True):
        db.execute("select set_config('storage.operation', 'storage.object.upload', true)")
        operation = db.execute("select storage.operation()").fetchone()[0]
    assert operation == "storage.object.upload", "storage.operation() returns what storage-api set"


def test_storage_objects_derive_path_tokens_and_keep_owner_id_as_text(db, make_user):
    user_id = make_user()
    create_bucket(db, "compat-tokens")
    tokens, owner_id = db.execute(
        "insert into storage.objects (bucket_id, name, owner_id) values ('compat-tokens', %s, %s)"
        " returning path_tokens, owner_id",
        (f"{user_id}/avatars/me.png", str(user_id)),
    ).fetchone()
    assert tokens == [str(user_id), "avatars", "me.png"], "path_tokens is generated as string_to_array(name, '/')"
    assert owner_id == str(user_id), "owner_id is text, the JWT sub as a string"
    assert fails_with(
        db, "select 1 from storage.objects where owner_id = auth.uid()"
    ) == "42883", "comparing owner_id (text) with auth.uid() (uuid) fails on Supabase too: cast to text"


def test_storage_objects_reference_their_bucket(db):
    assert fails_with(
        db, "insert into storage.objects (bucket_id, name) values ('compat-no-such-bucket', 'x.png')"
    ) == "23503", "an object must belong to an existing bucket"


def test_storage_rls_alone_decides_uploads(db, make_user):
    owner, stranger = make_user(), make_user()
    create_bucket(db, "compat-private")
    own_file = f"{owner}/notes.txt"

    with pytest.raises(RequestError) as before_policies, as_user(db, owner) as cur:
        cur.execute("insert into storage.objects (bucket_id, name) values ('compat-private', %s)", (own_file,))
    assert before_policies.value.status == 403, "with no policy on storage.objects, nobody can upload"

    db.execute(
        "create policy \"compat test: users upload into their own folder\" on storage.objects"
        " for insert to authenticated with check (bucket_id = 'compat-private'"
        " and (storage.foldername(name))[1] = (select auth.uid()::text))"
    )
    db.execute(
        "create policy \"compat test: users read their own folder\" on storage.objects"
        " for select to authenticated using (bucket_id = 'compat-private'"
        " and (storage.foldername(name))[1] = (select auth.uid()::text))"
    )
    with as_user(db, owner) as cur:
        cur.execute("insert into storage.objects (bucket_id, name) values ('compat-private', %s)", (own_file,))
    with pytest.raises(RequestError) as into_other_folder, as_user(db, stranger) as cur:
        cur.execute("insert into storage.objects (bucket_id, name) values ('compat-private', %s)",
                    (f"{owner}/planted.txt",))
    with pytest.raises(RequestError) as by_anon, as_anon(db) as cur:
        cur.execute("insert into storage.objects (bucket_id, name) values ('compat-private', 'anon.txt')")
    with as_user(db, stranger, method="GET") as cur:
        seen_by_stranger = cur.execute("select name from storage.objects where bucket_id = 'compat-private'").fetchall()
    with as_user(db, owner, method="GET") as cur:
        seen_by_owner = cur.execute("select name from storage.objects where bucket_id = 'compat-private'").fetchall()

    assert into_other_folder.value.status == 403, "a user must not upload into another user's folder"
    assert by_anon.value.status == 401, "an anon client without a policy is refused with 401"
    assert seen_by_stranger == [], "another user must not see the owner's file"
    assert seen_by_owner == [(own_file,)], "the owner must see the file in their folder"


def test_direct_deletes_from_storage_fail_with_42501(db):
    create_bucket(db, "compat-guarded")
    db.execute("insert into storage.objects (bucket_id, name) values ('compat-guarded', 'a.txt')")
    assert fails_with(db, "delete from storage.objects where bucket_id = 'compat-guarded'") == "42501", (
        "a direct DELETE on storage.objects must be refused, even for the superuser running migrations"
    )
    assert fails_with(db, "delete from storage.objects where false") == "42501", (
        "the guard is a statement-level trigger: it fires even when no row matches"
    )
    assert fails_with(db, "delete from storage.buckets where id = 'compat-guarded'") == "42501", (
        "a direct DELETE on storage.buckets must be refused too"
    )
    with pytest.raises(RequestError) as as_service_role, as_service(db) as cur:
        cur.execute("delete from storage.objects where bucket_id = 'compat-guarded'")
    assert as_service_role.value.status == 403, "bypassing RLS does not bypass the guard"


def test_deletes_from_storage_pass_once_allow_delete_query_is_set(db):
    create_bucket(db, "compat-cleanup")
    db.execute("insert into storage.objects (bucket_id, name) values ('compat-cleanup', 'a.txt')")
    with db.transaction():
        db.execute("select set_config('storage.allow_delete_query', 'true', true)")
        objects = db.execute("delete from storage.objects where bucket_id = 'compat-cleanup' returning id").fetchall()
        buckets = db.execute("delete from storage.buckets where id = 'compat-cleanup' returning id").fetchall()
    assert (len(objects), len(buckets)) == (1, 1), "with storage.allow_delete_query = 'true' deletes go through"


def test_storage_tables_are_granted_to_every_api_role_with_rls_on(db):
    rows = db.execute(
        "select c.relname, c.relowner::regrole::text, c.relrowsecurity,"
        " bool_and(has_table_privilege(r, c.oid, 'select') and has_table_privilege(r, c.oid, 'insert')"
        " and has_table_privilege(r, c.oid, 'update') and has_table_privilege(r, c.oid, 'delete'))"
        " from pg_class as c cross join unnest(%s::text[]) as r"
        " where c.oid in ('storage.buckets'::regclass, 'storage.objects'::regclass)"
        " group by c.relname, c.relowner, c.relrowsecurity order by c.relname",
        (list(API_ROLES),),
    ).fetchall()
    expected = [("buckets", "supabase_storage_admin", True, True), ("objects", "supabase_storage_admin", True, True)]
    assert rows == expected, (
        "storage tables are owned by supabase_storage_admin, granted ALL to the API roles, and guarded by RLS"
    )


# -- realtime: realtime.messages and its partitions ------------------------------------------------------------------


def test_realtime_messages_is_partitioned_by_day_with_a_default_partition(db):
    strategy, key = db.execute(
        "select p.partstrat, pg_get_partkeydef(p.partrelid) from pg_partitioned_table as p"
        " where p.partrelid = 'realtime.messages'::regclass"
    ).fetchone()
    partitions = dict(db.execute(
        "select c.relname, pg_get_expr(c.relpartbound, c.oid) from pg_inherits as i"
        " join pg_class as c on c.oid = i.inhrelid where i.inhparent = 'realtime.messages'::regclass"
    ).fetchall())
    primary_key = db.execute(
        "select pg_get_constraintdef(oid) from pg_constraint where conrelid = 'realtime.messages'::regclass"
        " and contype = 'p'"
    ).fetchone()[0]
    assert (strategy, key) == ("r", "RANGE (inserted_at)"), "realtime.messages is PARTITION BY RANGE (inserted_at)"
    assert primary_key == "PRIMARY KEY (id, inserted_at)", "its primary key is (id, inserted_at)"
    assert partitions.get("messages_default") == "DEFAULT", (
        "a DEFAULT partition catches every day without its own partition"
    )
    assert any(DAILY_PARTITION.match(name) for name in partitions), (
        "daily partitions messages_YYYY_MM_DD are created when compat is applied"
    )


def test_realtime_messages_is_owned_by_its_admin_with_rls_and_api_grants(db):
    owner, rls = db.execute(
        "select relowner::regrole::text, relrowsecurity from pg_class where oid = 'realtime.messages'::regclass"
    ).fetchone()
    grants = db.execute(
        "select r, has_table_privilege(r, 'realtime.messages', 'select')"
        " and has_table_privilege(r, 'realtime.messages', 'insert')"
        " and has_table_privilege(r, 'realtime.messages', 'update'),"
        " has_table_privilege(r, 'realtime.messages', 'delete') from unnest(%s::text[]) as r order by r",
        (list(API_ROLES),),
    ).fetchall()
    assert (owner, rls) == ("supabase_realtime_admin", True), "owned by supabase_realtime_admin, RLS on"
    assert grants == [(r, True, False) for r in sorted(API_ROLES)], (
        "the API roles may select, insert and update (RLS decides), but not delete"
    )


def test_inserts_far_from_today_still_succeed(db):
    placed = db.execute(
        "insert into realtime.messages (topic, extension, inserted_at) values"
        " ('compat:past', 'broadcast', '1999-01-01'), ('compat:future', 'broadcast', '2999-12-31')"
        " returning tableoid::regclass::text"
    ).fetchall()
    assert placed == [("realtime.messages_default",)] * 2, (
        "a row for a day without a partition must land in the DEFAULT partition instead of failing with 23514"
    )


def test_a_row_inserted_now_lands_in_its_days_partition(db):
    db.execute("select realtime.ensure_partitions()")
    placed, expected = db.execute(
        "insert into realtime.messages (topic, extension) values ('compat:today', 'broadcast')"
        " returning tableoid::regclass::text, 'realtime.messages_' || to_char(inserted_at, 'YYYY_MM_DD')"
    ).fetchone()
    assert placed == expected, "a message sent now goes to the daily partition of its inserted_at"


def test_the_janitor_creates_daily_partitions_and_moves_default_rows_into_them(db):
    day = utc_day(db, 10)
    moved_id = db.execute(
        "insert into realtime.messages (topic, extension, inserted_at)"
        " values ('compat:later', 'broadcast', (now() at time zone 'utc')::date + 10 + time '12:00')"
        " returning id"
    ).fetchone()[0]
    before = db.execute("select tableoid::regclass::text from realtime.messages where id = %s", (moved_id,)).fetchone()
    created = [row[0] for row in db.execute("select * from realtime.ensure_partitions(10)").fetchall()]
    after = db.execute("select tableoid::regclass::text from realtime.messages where id = %s", (moved_id,)).fetchone()
    again = db.execute("select * from realtime.ensure_partitions(10)").fetchall()
    assert before == ("realtime.messages_default",), "a row ten days ahead first lands in the DEFAULT partition"
    assert f"messages_{day}" in created, "the janitor creates the partition for today + days_ahead"
    assert after == (f"realtime.messages_{day}",), "the janitor must move the DEFAULT rows of a day it creates"
    assert again == [], "a second run finds every partition in place and creates nothing"


def test_the_janitor_is_a_pinned_security_definer_that_public_cannot_call(db):
    definer, config, owner = db.execute(
        "select prosecdef, proconfig, proowner::regrole::text from pg_proc"
        " where oid = 'realtime.ensure_partitions(integer)'::regprocedure"
    ).fetchone()
    callable_by = db.execute(
        "select r from unnest(%s::text[]) as r"
        " where has_function_privilege(r, 'realtime.ensure_partitions(integer)', 'execute')",
        (list(API_ROLES),),
    ).fetchall()
    assert definer and config == ['search_path=""'], "security definer with search_path pinned to ''"
    assert owner == "supabase_realtime_admin", "it runs as the owner of realtime.messages"
    assert callable_by == [], "EXECUTE is revoked from PUBLIC: no API role may create partitions"
    assert fails_with(db, "select realtime.ensure_partitions(-1)") == "22023", "a negative horizon is refused"


# -- realtime: functions ---------------------------------------------------------------------------------------------


def test_realtime_topic_reads_the_setting_realtime_sets(db):
    outside = db.execute("select realtime.topic()").fetchone()[0]
    with db.transaction(force_rollback=True):
        db.execute("select set_config('realtime.topic', 'room:1', true)")
        inside = db.execute("select realtime.topic()").fetchone()[0]
        db.execute("select set_config('realtime.topic', '', true)")
        emptied = db.execute("select realtime.topic()").fetchone()[0]
    assert (outside, inside, emptied) == (None, "room:1", None), "realtime.topic() is nullif(setting, '')"


def test_realtime_functions_have_supabase_signatures(db):
    rows = {row[0]: row[1:] for row in db.execute(
        "select p.proname, pg_get_function_arguments(p.oid), l.lanname, p.provolatile, p.prosecdef,"
        " p.proowner::regrole::text from pg_proc as p join pg_language as l on l.oid = p.prolang"
        " where p.pronamespace = 'realtime'::regnamespace"
        " and p.proname in ('topic', 'send', 'send_binary', 'broadcast_changes')"
    ).fetchall()}
    assert rows["topic"] == ("", "sql", "s", False, "supabase_realtime_admin"), "topic() is sql stable"
    assert rows["send"] == (
        "payload jsonb, event text, topic text, private boolean DEFAULT true", "plpgsql", "v", False,
        "supabase_realtime_admin"), "send() is plpgsql, runs as its caller, and sends private messages by default"
    assert rows["send_binary"][0] == "payload bytea, event text, topic text, private boolean DEFAULT true", (
        "send_binary() mirrors send() for bytea payloads"
    )
    assert rows["broadcast_changes"][0] == (
        "topic_name text, event_name text, operation text, table_name text, table_schema text, new record,"
        " old record, level text DEFAULT 'ROW'::text"), "broadcast_changes() keeps Supabase's signature"
    assert not rows["broadcast_changes"][3], "broadcast_changes() runs as its caller"


@pytest.fixture
def room_policies(db: psycopg.Connection) -> None:
    """Realtime policies as the Supabase docs write them: users may read and write topic 'room:1' only."""
    db.execute(
        "create policy \"compat test: users read room:1\" on realtime.messages for select to authenticated"
        " using ((select realtime.topic()) = 'room:1' and realtime.messages.extension in ('broadcast'))"
    )
    db.execute(
        "create policy \"compat test: users write room:1\" on realtime.messages for insert to authenticated"
        " with check ((select realtime.topic()) = 'room:1' and realtime.messages.extension in ('broadcast'))"
    )


def read_probe(db: psycopg.Connection, user_id: uuid.UUID, topic: str) -> bool:
    """Realtime's read check on a private join: probe row as admin, SELECT as the user, roll back."""
    with db.transaction(force_rollback=True):
        probe = db.execute(
            "insert into realtime.messages (topic, extension) values (%s, 'broadcast') returning id", (topic,)
        ).fetchone()[0]
        with as_user(db, user_id, method="GET") as cur:
            cur.execute("select set_config('realtime.topic', %s, true)", (topic,))
            return cur.execute("select id from realtime.messages where id = %s", (probe,)).fetchall() == [(probe,)]


def write_probe(db: psycopg.Connection, user_id: uuid.UUID, topic: str) -> bool:
    """Realtime's write check on a first broadcast: INSERT as the user in a savepoint; 42501 means denied."""
    with db.transaction(force_rollback=True):
        try:
            with as_user(db, user_id) as cur:
                cur.execute("select set_config('realtime.topic', %s, true)", (topic,))
                cur.execute("insert into realtime.messages (topic, extension) values (%s, 'broadcast')", (topic,))
        except RequestError as refused:
            assert refused.code == "42501", "a denied write is insufficient_privilege"
            return False
    return True


def test_the_private_channel_probe_asks_rls_as_realtime_does(db, make_user, room_policies):
    user_id = make_user()
    assert read_probe(db, user_id, "room:1"), "the policy must show the room:1 probe row to the user"
    assert not read_probe(db, user_id, "room:2"), "no policy shows room:2, so joining it privately must be denied"
    assert write_probe(db, user_id, "room:1"), "the insert policy must let the user broadcast on room:1"
    assert not write_probe(db, user_id, "room:2"), "broadcasting on room:2 must be denied"
    left = db.execute("select count(*) from realtime.messages where topic like 'room:%'").fetchone()[0]
    assert left == 0, "probes are rolled back and leave nothing behind"


def test_realtime_send_inserts_a_private_broadcast_that_rls_gates(db, make_user, room_policies):
    user_id = make_user()
    with warnings_raised(db) as warnings, as_user(db, user_id) as cur:
        cur.execute("select realtime.send(%s, 'message', 'room:1')", (Jsonb({"text": "hello"}),))
        topic_after_send = cur.execute("select realtime.topic()").fetchone()[0]
        cur.execute("select realtime.send(%s, 'message', 'room:2')", (Jsonb({"text": "lost"}),))
        cur.execute("select realtime.send(%s, 'message', 'room:1', false)", (Jsonb({"id": "mine", "n": 1}),))
    rows = db.execute(
        "select topic, extension, event, private, payload, id from realtime.messages"
        " where topic like 'room:%' order by payload ->> 'text' nulls last"
    ).fetchall()
    with as_user(db, user_id, method="GET") as cur:
        cur.execute("select set_config('realtime.topic', 'room:1', true)")
        readable = cur.execute("select count(*) from realtime.messages where topic = 'room:1'").fetchone()[0]

    assert topic_after_send == "room:1", "send() sets realtime.topic for the rest of the transaction"
    assert [r[0] for r in rows] == ["room:1", "room:1"], "the room:2 message is dropped by the insert policy"
    topic, extension, event, private, payload, row_id = rows[0]
    assert (extension, event, private) == ("broadcast", "message", True), "send() writes private broadcasts"
    assert payload == {"text": "hello", "id": str(row_id)}, "send() adds the row id to a payload without one"
    assert rows[1][4] == {"id": "mine", "n": 1} and rows[1][3] is False, (
        "a payload that has an id keeps it, and private => false is honoured"
    )
    assert len(warnings) == 1 and warnings[0].startswith("WarnSendingBroadcastMessage: "), (
        "the denied message is reported as a WARNING, not an error"
    )
    assert "row-level security" in warnings[0], "the warning carries the reason the insert failed"
    assert readable == 2, "the read policy lets the user see room:1 broadcasts"


def test_realtime_send_swallows_every_error_as_a_warning(db):
    with warnings_raised(db) as warnings:
        with as_anon(db) as cur:
            cur.execute("select realtime.send('{}', 'e', 'compat:no-policy')")
        with as_anon(db, method="GET") as cur:
            cur.execute("select realtime.send('{}', 'e', 'compat:read-only')")
        with as_service(db) as cur:
            cur.execute("select realtime.send('{}', 'e', null)")
    sent = db.execute("select count(*) from realtime.messages where topic like 'compat:%'").fetchone()[0]
    assert len(warnings) == 3, "each failed send must raise exactly one WARNING and no error"
    assert "row-level security" in warnings[0], "without an insert policy the message is dropped"
    assert "read-only transaction" in warnings[1], "in a read-only request the message is dropped"
    assert sent == 0, "nothing was sent"


def test_realtime_send_binary_stores_bytes_without_a_json_payload(db):
    db.execute("select realtime.send_binary('\\x0102'::bytea, 'blob', 'compat:binary')")
    payload, binary = db.execute(
        "select payload, binary_payload from realtime.messages where topic = 'compat:binary'"
    ).fetchone()
    assert (payload, bytes(binary)) == (None, b"\x01\x02"), "send_binary() fills binary_payload only"
    assert fails_with(
        db, "insert into realtime.messages (topic, extension, payload, binary_payload)"
        " values ('compat:both', 'broadcast', '{}', '\\x00')"
    ) == "23514", "a message holds a JSON or a binary payload, never both"


def test_broadcast_changes_sends_old_and_new_records_from_a_row_trigger(db):
    db.execute("create table public.compat_rooms (id int primary key, name text not null)")
    db.execute(
        "create function public.tg_compat_rooms__broadcast() returns trigger language plpgsql"
        " security definer set search_path = '' as $fn$"
        " begin"
        "   perform realtime.broadcast_changes('compat-room:' || coalesce(new.id, old.id)::text,"
        "     tg_op, tg_op, tg_table_name, tg_table_schema, new, old);"
        "   return null;"
        " end $fn$"
    )
    db.execute(
        "create trigger _900_broadcast after insert or update or delete on public.compat_rooms"
        " for each row execute function public.tg_compat_rooms__broadcast()"
    )
    db.execute("insert into public.compat_rooms values (1, 'lobby')")
    db.execute("update public.compat_rooms set name = 'hall' where id = 1")
    db.execute("delete from public.compat_rooms where id = 1")
    rows = db.execute(
        "select event, topic, private, extension, payload, id from realtime.messages where topic = 'compat-room:1'"
    ).fetchall()
    messages = {event: rest for event, *rest in rows}

    assert set(messages) == {"INSERT", "UPDATE", "DELETE"}, "one message per row change, named by the event"
    topic, private, extension, payload, row_id = messages["UPDATE"]
    assert (topic, private, extension) == ("compat-room:1", True, "broadcast"), "a private broadcast to the topic"
    assert payload == {
        "old_record": {"id": 1, "name": "lobby"}, "record": {"id": 1, "name": "hall"}, "operation": "UPDATE",
        "table": "compat_rooms", "schema": "public", "id": str(row_id),
    }, "the payload is {old_record, record, operation, table, schema} plus the id send() adds"
    assert messages["INSERT"][3]["old_record"] is None, "an INSERT has no old_record"
    assert messages["DELETE"][3]["record"] is None, "a DELETE has no record"
    assert messages["DELETE"][3]["old_record"] == {"id": 1, "name": "hall"}, "a DELETE carries the old row"


@pytest.mark.parametrize(
    ("operation", "level", "message"),
    [
        ("INSERT", "STATEMENT", "Failed to process the row: function can only be triggered for each row, not for "
                                "each statement"),
        ("TRUNCATE", "ROW", "Failed to process the row: Unexpected operation type: TRUNCATE"),
    ],
)
def test_broadcast_changes_rejects_statement_triggers_and_other_operations(db, operation, level, message):
    with pytest.raises(RequestError) as refused, as_service(db) as cur:
        cur.execute(
            "select realtime.broadcast_changes('compat:t', 'e', %s, 't', 'public', null::record, null::record, %s)",
            (operation, level),
        )
    assert refused.value.code == "P0001", "broadcast_changes() raises a plain exception"
    assert refused.value.status == 400, "which PostgREST answers with 400"
    assert refused.value.message == message, "the message names what went wrong"


def test_the_realtime_publications_exist(db):
    publications = {name: (all_tables, via_root) for name, all_tables, via_root in db.execute(
        "select pubname, puballtables, pubviaroot from pg_publication"
        " where pubname in ('supabase_realtime', 'supabase_realtime_messages_publication')"
    ).fetchall()}
    published = db.execute(
        "select schemaname || '.' || tablename from pg_publication_tables"
        " where pubname = 'supabase_realtime_messages_publication'"
    ).fetchall()
    assert publications["supabase_realtime"] == (False, False), (
        "supabase_realtime exists and is not FOR ALL TABLES: applications add their tables to it"
    )
    assert publications["supabase_realtime_messages_publication"] == (False, True), (
        "the messages publication publishes through the partition root"
    )
    assert published == [("realtime.messages",)], "database broadcasts are streamed from realtime.messages"


# -- applying compat -------------------------------------------------------------------------------------------------

_SNAPSHOT_QUERIES = {
    "roles": """
        select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls
        from pg_roles where rolname !~ '^pg_' order by 1""",
    "memberships": """
        select roleid::regrole::text, member::regrole::text, admin_option from pg_auth_members
        where member::regrole::text !~ '^pg_' order by 1, 2""",
    "role_settings": "select setdatabase, setrole::regrole::text, setconfig from pg_db_role_setting order by 1, 2",
    "schemas": """
        select oid, nspname, nspowner::regrole::text, nspacl::text, obj_description(oid, 'pg_namespace')
        from pg_namespace where nspname in ('public', 'extensions', 'auth', 'storage', 'realtime') order by 2""",
    "relations": """
        select c.oid, n.nspname, c.relname, c.relkind, c.relowner::regrole::text, c.relacl::text, c.relrowsecurity,
               pg_get_expr(c.relpartbound, c.oid), obj_description(c.oid, 'pg_class')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('public', 'extensions', 'auth', 'storage', 'realtime') order by 2, 3""",
    "columns": """
        select a.attrelid::regclass::text, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               a.attgenerated, pg_get_expr(d.adbin, d.adrelid), a.attacl::text, col_description(a.attrelid, a.attnum)
        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where n.nspname in ('extensions', 'auth', 'storage', 'realtime') and a.attnum > 0 order by 1, 2""",
    "constraints": """
        select c.oid, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) from pg_constraint c
        join pg_namespace n on n.oid = c.connamespace
        where n.nspname in ('extensions', 'auth', 'storage', 'realtime') order by 2, 3""",
    "indexes": """
        select schemaname, tablename, indexname, indexdef from pg_indexes
        where schemaname in ('extensions', 'auth', 'storage', 'realtime') order by 1, 2, 3""",
    "functions": """
        select p.oid, n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.proowner::regrole::text,
               p.proacl::text, p.prosecdef, p.provolatile, p.proconfig, md5(p.prosrc), obj_description(p.oid, 'pg_proc')
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('extensions', 'auth', 'storage', 'realtime') order by 2, 3, 4""",
    "types": """
        select t.oid, t.typname, t.typowner::regrole::text, t.typacl::text from pg_type t
        where t.typnamespace in ('storage'::regnamespace, 'realtime'::regnamespace, 'auth'::regnamespace)
        and t.typtype = 'e' order by 2""",
    "triggers": "select oid, tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) from pg_trigger"
                " where not tgisinternal order by 2, 3",
    "policies": "select schemaname, tablename, policyname, cmd, roles::text, qual, with_check from pg_policies"
                " order by 1, 2, 3",
    "publications": """
        select p.oid, p.pubname, p.pubowner::regrole::text, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete,
               p.pubtruncate, p.pubviaroot, array(select prrelid::regclass::text from pg_publication_rel r
               where r.prpubid = p.oid order by 1) from pg_publication p order by 2""",
    "extensions": "select oid, extname, extnamespace::regnamespace::text, extversion from pg_extension order by 2",
    "default_acls": "select defaclrole::regrole::text, defaclnamespace, defaclobjtype, defaclacl::text"
                    " from pg_default_acl order by 1, 2, 3",
    "parameter_acls": "select parname, paracl::text from pg_parameter_acl order by 1",
}


def compat_snapshot(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """Every object compat creates, with oids (so a drop-and-recreate shows), minus daily message partitions, which
    a run crossing midnight UTC legitimately adds."""

    def daily(row: tuple) -> bool:
        return any(isinstance(v, str) and DAILY_PARTITION.match(v.removeprefix("realtime.")) for v in row)

    return {name: [row for row in conn.execute(query).fetchall() if not daily(row)]
            for name, query in _SNAPSHOT_QUERIES.items()}


def test_compat_files_follow_the_engine_naming_and_contract():
    names = [f.name for f in COMPAT_FILES]
    assert names[0] == "00_roles.sql", "roles come first: every later file grants to them"
    assert "20_auth.sql" in names, "auth's schema comment is how the engine tells compat from Supabase"
    for path in COMPAT_FILES:
        assert re.fullmatch(r"\d{2}_[a-z][a-z0-9_]*\.sql", path.name), f"{path.name}: compat files are NN_name.sql"
        text = path.read_text()
        assert not re.search(r"^\s*(begin|commit|rollback)\s*;", text, re.IGNORECASE | re.MULTILINE), (
            f"{path.name}: the engine runs each file in its own transaction, so it must not manage one"
        )
        assert not re.search(r"^\s*\\", text, re.MULTILINE), f"{path.name}: no psql meta-commands"


def test_applying_compat_again_changes_nothing(db):
    before = compat_snapshot(db)
    for path in COMPAT_FILES:
        db.execute(path.read_text())
    after = compat_snapshot(db)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert not changed, f"re-applying compat must leave every object as it was, but changed: {changed}"


def test_compat_applies_twice_to_a_new_database_in_a_cluster_that_has_the_roles(empty_db):
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for _round in range(2):
            for path in COMPAT_FILES:
                with conn.transaction():
                    conn.execute(path.read_text())
        native = conn.execute(SUPABASE_NATIVE).fetchone()[0]
        descriptions = conn.execute(
            "select nspname, obj_description(oid, 'pg_namespace') from pg_namespace"
            " where nspname in ('auth', 'storage', 'realtime') order by 1"
        ).fetchall()
    assert len(descriptions) == 3, "compat creates schemas auth, storage and realtime"
    assert all(d.startswith("supakit compat layer") for _, d in descriptions), (
        "each compat schema says so in its comment"
    )
    assert native is False, "the migration engine must recognise compat's auth schema as not Supabase's own"

