-- 0028 anon_security_definer_function_executable (WARN, security): a security definer function in a schema
-- exposed through the Data API can be executed by anon, so anyone on the internet can call it as an RPC and
-- it runs with its owner's rights. Trigger functions and procedures cannot be called that way.
select
  'anon_security_definer_function_executable' as name,
  'WARN' as level,
  'Public can execute SECURITY DEFINER function' as title,
  format(
    'Function `%s.%s(%s)` is security definer and can be executed by the anon role through the Data API.',
    n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)
  ) as detail,
  format(
    'Move it to a schema that is not exposed (e.g. internal) and call it from there, or make it '
    '`security invoker`, or revoke it: `revoke execute on function %I.%I(%s) from public, anon;` (functions '
    'are executable by public by default). '
    'See https://supabase.com/docs/guides/database/database-linter'
    '?lint=0028_anon_security_definer_function_executable',
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
  and has_function_privilege('anon', p.oid, 'execute')
  and n.nspname = any(regexp_split_to_array(current_setting('pgrst.db_schemas', true), '\s*,\s*'))
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
  )
