-- 0029 authenticated_security_definer_function_executable (INFO here; WARN in splinter): a security definer
-- function in an exposed schema can be executed by authenticated (and not by anon: that is 0028's finding).
-- supakit exposes such RPCs to signed-in users on purpose, each checking the caller itself, so this is a list
-- to review rather than a problem (docs/advisors.md). Trigger functions and procedures are left out.
select
  'authenticated_security_definer_function_executable' as name,
  'INFO' as level,
  'Signed-in users can execute SECURITY DEFINER function' as title,
  format(
    'Function `%s.%s(%s)` is security definer and can be executed by the authenticated role through the '
    'Data API.',
    n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)
  ) as detail,
  format(
    'Make sure it checks who calls it (`(select auth.uid())`) before doing anything on their behalf; if '
    'clients need not call it, revoke it: `revoke execute on function %I.%I(%s) from public, authenticated;` '
    'or move it to a schema that is not exposed. '
    'See https://supabase.com/docs/guides/database/database-linter'
    '?lint=0029_authenticated_security_definer_function_executable',
    n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)
  ) as remediation,
  jsonb_build_object(
    'schema', n.nspname, 'name', p.proname, 'type', 'function',
    'arguments', pg_get_function_identity_arguments(p.oid)
  ) as metadata
from pg_catalog.pg_proc as p
inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
where
  p.prosecdef
  and p.prokind = 'f'  -- the Data API calls functions only
  and p.prorettype not in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
  and has_function_privilege('authenticated', p.oid, 'execute')
  and not has_function_privilege('anon', p.oid, 'execute')
  and n.nspname = any(regexp_split_to_array(current_setting('pgrst.db_schemas', true), '\s*,\s*'))
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
  )
