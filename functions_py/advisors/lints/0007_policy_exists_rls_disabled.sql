-- 0007 policy_exists_rls_disabled (ERROR, security): a table has policies but row level security is off,
-- so the policies are ignored and every granted role sees and changes every row.
select
  'policy_exists_rls_disabled' as name,
  'ERROR' as level,
  'Policy exists, RLS disabled' as title,
  format(
    'Table `%s.%s` has policies %s, but row level security is not enabled on it, so they have no effect.',
    n.nspname, c.relname, pol.names
  ) as detail,
  format(
    'Enable it: `alter table %I.%I enable row level security;` (in the table''s policies/ file). '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0007_policy_exists_rls_disabled',
    n.nspname, c.relname
  ) as remediation,
  jsonb_build_object('schema', n.nspname, 'name', c.relname, 'type', 'table', 'policies', pol.list) as metadata
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join lateral (
  select
    string_agg(quote_ident(p.polname), ', ' order by p.polname) as names,
    jsonb_agg(p.polname order by p.polname) as list
  from pg_catalog.pg_policy as p
  where p.polrelid = c.oid
  having count(*) > 0
) as pol on true
where
  c.relkind in ('r', 'p')
  and not c.relrowsecurity
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
