-- 0006 multiple_permissive_policies (WARN, performance): more than one permissive policy applies to the same
-- table, role and action. PostgreSQL evaluates every one of them for every row and ORs the results.
-- A `for all` policy covers select, insert, update and delete. A policy `to public` covers anon, authenticated
-- and every role some policy on the same table names. Roles that bypass row level security are left out.
with permissive as (
  select
    p.polrelid,
    p.polname,
    p.polroles,
    n.nspname,
    c.relname,
    case p.polcmd
      when 'r' then array['SELECT']
      when 'a' then array['INSERT']
      when 'w' then array['UPDATE']
      when 'd' then array['DELETE']
      else array['SELECT', 'INSERT', 'UPDATE', 'DELETE']
    end as actions
  from pg_catalog.pg_policy as p
  inner join pg_catalog.pg_class as c on p.polrelid = c.oid
  inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
  where
    p.polpermissive
    and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
    and not exists (
      select from pg_catalog.pg_depend as d
      where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
    )
),

applies as (
  select
    pp.nspname,
    pp.relname,
    pp.polname,
    r.rolname,
    a.action
  from permissive as pp
  cross join lateral unnest(pp.actions) as a (action)
  inner join pg_catalog.pg_roles as r
  on
    r.oid = any(pp.polroles)
    or (
      0::oid = any(pp.polroles)
      and (
        r.rolname in ('anon', 'authenticated')
        or exists (
          select from pg_catalog.pg_policy as other
          where other.polrelid = pp.polrelid and r.oid = any(other.polroles)
        )
      )
    )
  where not r.rolsuper and not r.rolbypassrls
)

select
  'multiple_permissive_policies' as name,
  'WARN' as level,
  'Multiple permissive policies' as title,
  format(
    'Table `%s.%s` has %s permissive policies for role `%s` and action `%s`: %s.',
    nspname, relname, count(*), rolname, action, string_agg(quote_ident(polname), ', ' order by polname)
  ) as detail,
  format(
    'Merge the policies for role %s and %s on %I.%I into one (join their conditions with `or`), or mark the '
    'ones that must all hold `as restrictive`; write one policy per command instead of `for all`. '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0006_multiple_permissive_policies',
    rolname, lower(action), nspname, relname
  ) as remediation,
  jsonb_build_object(
    'schema', nspname, 'name', relname, 'type', 'table', 'role', rolname, 'action', action,
    'policies', jsonb_agg(polname order by polname)
  ) as metadata
from applies
group by nspname, relname, rolname, action
having count(*) > 1
