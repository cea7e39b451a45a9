-- supakit compat layer, part 1: the roles of a Supabase database.
--
-- Recreates the roles application SQL names (supabase-surface.md §2) with Supabase's attributes,
-- memberships and per-role settings. Roles are cluster-wide, so this file runs again on every new
-- database of a cluster that already has them: each step first checks the catalog and only then
-- changes it, which also keeps re-application from locking shared catalog rows. The migration
-- engine's lock serialises migrators per database only, so a step that loses a race with a
-- migrator working on another database of the same cluster treats the object as already there.
-- Deviations from hosted Supabase, and why, are listed in docs/compat.md.

-- ============================================================================ roles

-- The API roles PostgREST switches to, the login role it connects as, and the owner roles of the
-- auth, storage and realtime services. The owner roles are NOLOGIN here: no local service logs in
-- as them, and under trust authentication a LOGIN owner would be a way around every grant.
do $roles$
declare
  spec record;
begin
  for spec in
    select
      s.role_name,
      s.can_login,
      s.inherits,
      s.bypasses_rls
    from (
      values
      ('anon', false, true, false),  -- no JWT, or the publishable key
      ('authenticated', false, true, false),  -- a signed-in user's JWT
      ('service_role', false, true, true),  -- the secret key; bypasses RLS
      ('authenticator', true, false, false),  -- PostgREST's login role; switches to the three above
      ('supabase_auth_admin', false, false, false),  -- owns schema auth
      ('supabase_storage_admin', false, false, false),  -- owns schema storage
      ('supabase_realtime_admin', false, false, false)  -- owns schema realtime
    ) as s (role_name, can_login, inherits, bypasses_rls)
  loop
    if not exists (select from pg_catalog.pg_roles as r where r.rolname = spec.role_name) then
      begin
        execute format('create role %I', spec.role_name);
      exception when duplicate_object or unique_violation then
        null;  -- created meanwhile by a migrator working on another database of this cluster
      end;
    end if;

    if exists (
      select from pg_catalog.pg_roles as r
      where
        r.rolname = spec.role_name
        and (r.rolcanlogin, r.rolinherit, r.rolbypassrls, r.rolsuper)
        is distinct from (spec.can_login, spec.inherits, spec.bypasses_rls, false)
    ) then
      execute format(
        'alter role %I %s %s %s nosuperuser',
        spec.role_name,
        case when spec.can_login then 'login' else 'nologin' end,
        case when spec.inherits then 'inherit' else 'noinherit' end,
        case when spec.bypasses_rls then 'bypassrls' else 'nobypassrls' end
      );
    end if;
  end loop;
end
$roles$;

-- ============================================================================ memberships

-- authenticator may become any API role; postgres holds them too (supabase/postgres
-- 20230201083204), and supabase_realtime_admin holds them to run RLS checks as a subscriber.
-- storage-api's admin role is granted to authenticator, as in supabase/storage 0002.
do $memberships$
declare
  spec record;
begin
  for spec in
    select
      m.granted_role,
      m.member
    from (
      values
      ('anon', 'authenticator'),
      ('authenticated', 'authenticator'),
      ('service_role', 'authenticator'),
      ('anon', 'postgres'),
      ('authenticated', 'postgres'),
      ('service_role', 'postgres'),
      ('anon', 'supabase_realtime_admin'),
      ('authenticated', 'supabase_realtime_admin'),
      ('service_role', 'supabase_realtime_admin'),
      ('supabase_storage_admin', 'authenticator')
    ) as m (granted_role, member)
  loop
    if not exists (
      select from pg_catalog.pg_auth_members as am
      where
        am.roleid = spec.granted_role::regrole
        and am.member = spec.member::regrole
    ) then
      begin
        execute format('grant %I to %I', spec.granted_role, spec.member);
      exception when duplicate_object or unique_violation then
        null;  -- granted meanwhile by a migrator working on another database of this cluster
      end;
    end if;
  end loop;
end
$memberships$;

-- ============================================================================ settings

-- Per-role settings. PostgREST applies the impersonated role's settings in each request
-- (postgrest-protocol.md §3), which is how anon's 3 s statement_timeout takes effect.
-- authenticator's session_preload_libraries (supautils, safeupdate) is left out: neither library
-- exists outside Supabase's image, and naming a missing library would break every login.
do $settings$
declare
  spec record;
begin
  for spec in
    select
      s.role_name,
      s.setting_name,
      s.setting_value
    from (
      values
      ('anon', 'statement_timeout', '3s'),
      ('authenticated', 'statement_timeout', '8s'),
      ('authenticator', 'statement_timeout', '8s'),
      ('authenticator', 'lock_timeout', '8s'),
      ('supabase_auth_admin', 'search_path', 'auth'),
      ('supabase_storage_admin', 'search_path', 'storage'),
      ('supabase_realtime_admin', 'search_path', 'public, extensions, realtime')
    ) as s (role_name, setting_name, setting_value)
  loop
    if not exists (
      select from pg_catalog.pg_db_role_setting as d
      where
        d.setdatabase = 0
        and d.setrole = spec.role_name::regrole
        and spec.setting_name || '=' || spec.setting_value = any(d.setconfig)
    ) then
      -- A list such as search_path is set element by element, or it would become one quoted name.
      begin
        execute format(
          'alter role %I set %s = %s',
          spec.role_name,
          spec.setting_name,
          (select string_agg(quote_literal(item), ', ') from unnest(string_to_array(spec.setting_value, ', ')) as item)
        );
      exception when unique_violation then
        null;  -- set meanwhile by a migrator working on another database of this cluster
      end;
    end if;
  end loop;

  -- Realtime's list_changes() runs with log_min_messages = fatal (PostgreSQL 15+ syntax).
  if not pg_catalog.has_parameter_privilege('supabase_realtime_admin', 'log_min_messages', 'SET') then
    begin
      grant set on parameter log_min_messages to supabase_realtime_admin;
    exception when unique_violation then
      null;  -- granted meanwhile by a migrator working on another database of this cluster
    end;
  end if;
end
$settings$;

-- ============================================================================ schema public

-- The API roles may use schema public, but nothing in it is exposed by default: since Supabase's
-- 2026 "no auto-expose" change, application SQL grants every table, view and sequence explicitly
-- (supabase-surface.md §3). Revoking default privileges that were never granted changes nothing,
-- so these statements only undo defaults someone added by hand; functions stay executable by
-- PUBLIC, as on Supabase.
grant usage on schema public to postgres, anon, authenticated, service_role;

alter default privileges for role postgres in schema public
revoke all on tables from anon, authenticated, service_role;

alter default privileges for role postgres in schema public
revoke all on sequences from anon, authenticated, service_role;

alter default privileges for role postgres in schema public
revoke all on functions from anon, authenticated, service_role;
