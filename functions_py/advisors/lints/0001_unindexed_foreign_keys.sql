-- 0001 unindexed_foreign_keys (INFO, performance): a foreign key whose columns are not the leading columns of
-- any valid index. Deleting or updating a referenced row then scans the whole referencing table, and joins
-- along the key cannot use an index. Column order within the leading columns does not matter.
select
  'unindexed_foreign_keys' as name,
  'INFO' as level,
  'Unindexed foreign key' as title,
  format(
    'Table `%s.%s` has foreign key `%s` (%s) without an index whose leading columns are its columns.',
    n.nspname, c.relname, con.conname, fk.columns
  ) as detail,
  format(
    'Create an index on the key''s columns, e.g. `create index %I on %I.%I using btree (%s);`. '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0001_unindexed_foreign_keys',
    left(c.relname || '_' || array_to_string(fk.names, '_') || '_idx', 63), n.nspname, c.relname, fk.columns
  ) as remediation,
  jsonb_build_object(
    'schema', n.nspname, 'name', c.relname, 'type', 'table', 'fkey_name', con.conname,
    'fkey_columns', to_jsonb(fk.names)
  ) as metadata
from pg_catalog.pg_constraint as con
inner join pg_catalog.pg_class as c on con.conrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join lateral (
  select
    array_agg(a.attname::text order by k.ord) as names,
    string_agg(quote_ident(a.attname), ', ' order by k.ord) as columns
  from unnest(con.conkey) with ordinality as k (attnum, ord)
  inner join pg_catalog.pg_attribute as a on c.oid = a.attrelid and k.attnum = a.attnum
) as fk on true
where
  con.contype = 'f'
  and con.conparentid = 0  -- a partition's copy of its parent's key is reported once, on the parent
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
  and not exists (
    select from pg_catalog.pg_index as i
    where
      i.indrelid = c.oid
      and i.indisvalid
      and i.indnkeyatts >= cardinality(con.conkey)  -- INCLUDE columns cannot be searched
      and i.indkey[0:cardinality(con.conkey) - 1] @> con.conkey
      and i.indkey[0:cardinality(con.conkey) - 1] <@ con.conkey
  )
