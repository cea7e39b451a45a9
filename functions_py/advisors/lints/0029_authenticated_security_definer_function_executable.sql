-- 0029 authenticated_security_definer_function_executable (WARN, security), as Supabase's splinter checks it: a
-- security definer function in a schema exposed through the Data API that the authenticated role may execute, so
-- any signed-in user can run it with its owner's rights (and past RLS) as `POST /rest/v1/rpc/<name>`. Like
-- splinter, every such function counts: also those anon may execute (which 0028 flags as well), trigger functions
-- and procedures. The fix is Supabase's documented pattern: the definer body in a schema that is not exposed
-- (internal), and in the exposed one a security invoker function that calls it (sql/0018).
select
  'authenticated_security_definer_function_executable' as name,
  'WARN' as level,
  'Signed-In Users Can Execute SECURITY DEFINER Function' as title,
  format(
    'Function `%s.%s(%s)` can be executed by the `authenticated` role. Because it is `SECURITY DEFINER`, any '
    'signed-in user can run it with the privileges of its owner via `/rest/v1/rpc/%s`.',
    n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.proname
  ) as detail,
  format(
    'Move the body to a schema that is not exposed (e.g. `alter function %1$I.%2$I(%3$s) set schema internal;`) '
    'and call it from a `security invoker` function of the same name in %1$I; or make it `security invoker`; or, '
    'if signed-in users need not call it, `revoke execute on function %1$I.%2$I(%3$s) from public, authenticated;`. '
    'See https://supabase.com/docs/guides/database/database-linter'
    '?lint=0029_authenticated_security_definer_function_executable',
    n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)
  ) as remediation,
  jsonb_build_object(
    'schema', n.nspname, 'name', p.proname, 'type', 'function',
    'arguments', pg_get_function_identity_arguments(p.oid), 'language', l.lanname, 'security_definer', true
  ) as metadata
from pg_catalog.pg_proc as p
inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
inner join pg_catalog.pg_language as l on p.prolang = l.oid
where
  p.prosecdef
  and has_function_privilege('authenticated', p.oid, 'execute')
  and n.nspname = any(
    array(select trim(unnest(string_to_array(coalesce(current_setting('pgrst.db_schemas', true), 'public'), ','))))
  )
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
