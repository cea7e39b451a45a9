-- 0008 rls_enabled_no_policy (INFO, security): a table in an exposed schema has row level security on and no
-- policy, yet anon or authenticated holds a privilege on it. The grant can never be used: every request sees
-- no rows, and writes fail. supakit narrows splinter's rule to tables with such a grant (docs/advisors.md): an
-- exposed table that grants nothing to the API roles and enables RLS as a second lock is intended.
select
  'rls_enabled_no_policy' as name,
  'INFO' as level,
  'RLS enabled, no policy' as title,
  format(
    'Table `%s.%s` has row level security enabled and no policy, but %s may use it through the Data API.',
    n.nspname, c.relname, grantee.names
  ) as detail,
  format(
    'Create the policies %s needs (`create policy ... on %I.%I for select to authenticated using (...)`), or '
    'revoke the grants if the table is not for the Data API (better: move it to a schema that is not exposed). '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0008_rls_enabled_no_policy',
    grantee.names, n.nspname, c.relname
  ) as remediation,
  jsonb_build_object('schema', n.nspname, 'name', c.relname, 'type', 'table', 'roles', grantee.list) as metadata
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join lateral (
  select
    string_agg(r.role_name, ' and ' order by r.role_name) as names,
    jsonb_agg(r.role_name order by r.role_name) as list
  from unnest(array['anon', 'authenticated']) as r (role_name)
  where
    has_table_privilege(r.role_name, c.oid, 'delete')
    or has_any_column_privilege(r.role_name, c.oid, 'select, insert, update')
  having count(*) > 0
) as grantee on true
where
  c.relkind in ('r', 'p')
  and c.relrowsecurity
  and n.nspname = any(regexp_split_to_array(current_setting('pgrst.db_schemas', true), '\s*,\s*'))
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
  and not exists (
    select from pg_catalog.pg_policy as p
    where p.polrelid = c.oid
  )
