-- 0015 rls_references_user_metadata (ERROR, security): a policy reads user metadata (the JWT's
-- `user_metadata`, or auth.users.raw_user_meta_data), which every signed-in user can change about themselves
-- (`supabase.auth.updateUser({ data })`). A decision based on it can be granted by the user it restricts.
select
  'rls_references_user_metadata' as name,
  'ERROR' as level,
  'RLS references user metadata' as title,
  format(
    'Table `%s.%s` has row level security policy `%s` that references user metadata, which users can edit.',
    n.nspname, c.relname, p.polname
  ) as detail,
  format(
    'Base policy %I on %I.%I on data users cannot change: `app_metadata` (auth.users.raw_app_meta_data, set '
    'with the service key) or your own tables. '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0015_rls_references_user_metadata',
    p.polname, n.nspname, c.relname
  ) as remediation,
  jsonb_build_object('schema', n.nspname, 'name', c.relname, 'type', 'table', 'policy', p.polname) as metadata
from pg_catalog.pg_policy as p
inner join pg_catalog.pg_class as c on p.polrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
where
  n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
  and concat_ws(' ', pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
  ~* '\m(user_metadata|raw_user_meta_data)\M'
