-- 0003 auth_rls_initplan (WARN, performance): a policy calls auth.uid(), auth.jwt(), auth.role(), auth.email()
-- or current_setting() other than as `(select <call>)`. Unwrapped, the call runs once per row; wrapped, the
-- planner runs it once per statement (an initPlan). The policy text is the deparsed one: a wrapped call reads
-- `( SELECT auth.uid() AS uid)`, so a call counts as wrapped when it opens a select list, possibly inside
-- parentheses or another function call (`( SELECT COALESCE(auth.uid(), ...))`). A policy is flagged when it
-- has more calls than wrapped calls. String literals are blanked first, so 'auth.uid()' in a string is no call.
select
  'auth_rls_initplan' as name,
  'WARN' as level,
  'Auth RLS initialization plan' as title,
  format(
    'Table `%s.%s` has row level security policy `%s` that calls auth.<function>() or current_setting() '
    'outside a select, so the call is evaluated for every row.',
    n.nspname, c.relname, p.polname
  ) as detail,
  format(
    'In policy %I on %I.%I write `(select auth.uid())` instead of `auth.uid()`, and likewise for auth.jwt(), '
    'auth.role(), auth.email() and current_setting(...); the value then is computed once per statement. '
    'See https://supabase.com/docs/guides/database/database-linter?lint=0003_auth_rls_initplan',
    p.polname, n.nspname, c.relname
  ) as remediation,
  jsonb_build_object('schema', n.nspname, 'name', c.relname, 'type', 'table', 'policy', p.polname) as metadata
from pg_catalog.pg_policy as p
inner join pg_catalog.pg_class as c on p.polrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join lateral (
  select
    regexp_replace(
      concat_ws(' ', pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)),
      '''([^'']|'''')*''', '''''', 'g'
    ) as expression
) as e on true
where
  n.nspname <> all(string_to_array(current_setting('supakit.excluded_schemas'), ','))
  and not exists (
    select from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
  and regexp_count(e.expression, '\m(auth\.(uid|jwt|role|email)|current_setting)\(', 1, 'i')
  > regexp_count(
    e.expression, '\mselect\s+(\(|[a-z_][a-z0-9_.]*\()*\s*(auth\.(uid|jwt|role|email)|current_setting)\(', 1, 'i'
  )
