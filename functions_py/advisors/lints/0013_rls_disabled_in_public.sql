-- 0013 rls_disabled_in_public (ERROR, security): a table in a schema exposed through the Data API has row
-- level security off, and anon or authenticated holds a privilege on it: every such request reads (or writes)
-- every row. splinter checks select; supakit checks select, insert, update and delete, also column grants.
select
  'rls_disabled_in_public' as name,
  'ERROR' as level,
  'RLS disabled in public' as title,
  format(
    'Table `%s.%s` is exposed through the Data API to %s, but row level security is not enabled on it.',
    n.nspname, c.relname, grantee.names
  ) as detail,
  format(
    'Enable it and write policies: `alter table %I.%I enable row level security;` in the table''s policies/ '
    'file, with one policy per command and role; or revoke the grants to %s. '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0013_rls_disabled_in_public',
    n.nspname, c.relname, grantee.names
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
  and not c.relrowsecurity
  and n.nspname = any(regexp_split_to_array(current_setting('pgrst.db_schemas', true), '\s*,\s*'))
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
