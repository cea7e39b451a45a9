-- 0004 no_primary_key (INFO, performance): a table without a primary key. Rows cannot be addressed reliably
-- (PostgREST updates, logical replication and Realtime need a key). Partitions are left to their parent.
select
  'no_primary_key' as name,
  'INFO' as level,
  'No primary key' as title,
  format('Table `%s.%s` has no primary key.', n.nspname, c.relname) as detail,
  format(
    'Add one, e.g. `alter table %I.%I add primary key (id);` with a unique, not-null column (or columns). '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0004_no_primary_key',
    n.nspname, c.relname
  ) as remediation,
  jsonb_build_object('schema', n.nspname, 'name', c.relname, 'type', 'table') as metadata
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
where
  c.relkind in ('r', 'p')
  and not c.relispartition
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
  and not exists (
    select from pg_catalog.pg_constraint as con
    where con.conrelid = c.oid and con.contype = 'p'
  )
