-- 0024 rls_policy_always_true (WARN, security): a permissive policy for insert, update, delete or all that
-- applies to anon, authenticated or public has a USING or WITH CHECK that is the constant true, so any client
-- with the grant may write any row. An update's missing WITH CHECK is its USING (PostgreSQL's rule); a missing
-- expression elsewhere lets nothing through, so it is not flagged. Select policies are left alone: public
-- read access is often intended. The Supabase docs page for this lint is 0024_permissive_rls_policy.
select
  'rls_policy_always_true' as name,
  'WARN' as level,
  'RLS policy always true' as title,
  format(
    'Table `%s.%s` has permissive policy `%s` for %s to %s whose %s always true.',
    n.nspname, c.relname, p.polname,
    case p.polcmd when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end,
    r.names, concat_ws(' and ', clause.using_true, clause.check_true) || case
      when clause.using_true is not null and clause.check_true is not null then ' are' else ' is'
    end
  ) as detail,
  format(
    'Replace `true` in policy %I on %I.%I with the condition rows must meet, e.g. '
    '`(select auth.uid()) = user_id`, or drop it and let clients write through an RPC that checks its input. '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0024_permissive_rls_policy',
    p.polname, n.nspname, c.relname
  ) as remediation,
  jsonb_build_object(
    'schema', n.nspname, 'name', c.relname, 'type', 'table', 'policy', p.polname,
    'command', case p.polcmd when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end
  ) as metadata
from pg_catalog.pg_policy as p
inner join pg_catalog.pg_class as c on p.polrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join lateral (
  select
    case
      when p.polcmd in ('w', 'd', '*') and pg_get_expr(p.polqual, p.polrelid) = 'true' then 'USING'
    end as using_true,
    case
      when
        p.polcmd in ('a', 'w', '*')
        and coalesce(
          pg_get_expr(p.polwithcheck, p.polrelid),
          case when p.polcmd in ('w', '*') then pg_get_expr(p.polqual, p.polrelid) end
        ) = 'true'
        then 'WITH CHECK'
    end as check_true
) as clause on true
inner join lateral (
  select string_agg(x.role_name, ', ' order by x.role_name) as names
  from (
    select 'public' as role_name
    where 0::oid = any(p.polroles)
    union all
    select ro.rolname::text from pg_catalog.pg_roles as ro
    where ro.oid = any(p.polroles) and ro.rolname in ('anon', 'authenticated')
  ) as x
) as r on true
where
  p.polpermissive
  and p.polcmd in ('a', 'w', 'd', '*')
  and r.names is not null
  and (clause.using_true is not null or clause.check_true is not null)
  and n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
