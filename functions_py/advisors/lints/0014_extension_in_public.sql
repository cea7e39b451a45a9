-- 0014 extension_in_public (WARN, security): an extension other than plpgsql is installed in schema public,
-- so its functions and types sit in the Data API's schema and on everyone's search_path.
select
  'extension_in_public' as name,
  'WARN' as level,
  'Extension in public' as title,
  format('Extension `%s` is installed in the public schema.', e.extname) as detail,
  format(
    'Move it: `alter extension %I set schema extensions;` (or drop it and `create extension %I with schema '
    'extensions;` when it is not relocatable). '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0014_extension_in_public',
    e.extname, e.extname
  ) as remediation,
  jsonb_build_object('schema', n.nspname, 'name', e.extname, 'type', 'extension') as metadata
from pg_catalog.pg_extension as e
inner join pg_catalog.pg_namespace as n on e.extnamespace = n.oid
where
  n.nspname = 'public'
  and e.extname <> 'plpgsql'
