-- 0009 duplicate_index (WARN, performance): two or more indexes on a table are identical apart from their
-- names (same access method, columns, operator classes, collations, options, expressions, predicate and
-- uniqueness). Each one costs writes and space; one is enough.
select
  'duplicate_index' as name,
  'WARN' as level,
  'Duplicate index' as title,
  format(
    'Table `%s.%s` has identical indexes %s.',
    n.nspname, c.relname, string_agg(quote_ident(ic.relname), ', ' order by ic.relname)
  ) as detail,
  format(
    'Keep one and drop the others, e.g. `drop index %I.%I;` (keep the one that backs a constraint, if any). '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0009_duplicate_index',
    n.nspname, (array_agg(ic.relname order by b.backs_constraint asc, ic.relname desc))[1]
  ) as remediation,
  jsonb_build_object(
    'schema', n.nspname, 'name', c.relname, 'type', 'table',
    'indexes', jsonb_agg(ic.relname order by ic.relname)
  ) as metadata
from pg_catalog.pg_index as i
inner join pg_catalog.pg_class as ic on i.indexrelid = ic.oid
inner join pg_catalog.pg_class as c on i.indrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join lateral (
  select exists(
    select from pg_catalog.pg_constraint as con
    where con.conindid = i.indexrelid and con.conrelid = c.oid and con.contype in ('p', 'u', 'x')
  ) as backs_constraint
) as b on true
where
  n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
group by
  n.nspname,
  c.relname,
  ic.relam,
  i.indkey::text,
  i.indnkeyatts,
  i.indclass::text,
  i.indcollation::text,
  i.indoption::text,
  i.indisunique,
  i.indnullsnotdistinct,
  pg_get_expr(i.indexprs, i.indrelid),
  pg_get_expr(i.indpred, i.indrelid)
having count(*) > 1
