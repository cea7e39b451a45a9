-- 0011 function_search_path_mutable (WARN, security): a function or procedure does not pin search_path, so
-- the names in its body resolve through the caller's search_path. A caller who can create objects in a
-- schema on that path can substitute their own; for a security definer function, that runs their code with
-- the owner's rights.
select
  'function_search_path_mutable' as name,
  'WARN' as level,
  'Function search_path mutable' as title,
  format(
    'Function `%s.%s(%s)` has a role mutable search_path.',
    n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)
  ) as detail,
  format(
    'Add `set search_path = ''''` to its definition (`alter function %I.%I(%s) set search_path = '''';`) and '
    'qualify every name in its body with its schema. '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0011_function_search_path_mutable',
    n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)
  ) as remediation,
  jsonb_build_object(
    'schema', n.nspname, 'name', p.proname, 'type', 'function',
    'arguments', pg_get_function_identity_arguments(p.oid), 'security_definer', p.prosecdef
  ) as metadata
from pg_catalog.pg_proc as p
inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
where
  p.prokind in ('f', 'p')
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
  )
  and not exists (
    select from unnest(p.proconfig) as setting
    where setting like 'search\_path=%'
  )
