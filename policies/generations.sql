-- Access control for plans, generations, usage counters, the generation RPCs and the organization job topics
-- on Realtime. Repeatable and idempotent (see policies/tenancy.sql).
--   plans:          anyone may read (pricing pages)
--   generations:    members read their organization's; written only by request_generation and the queue
--   usage_counters: members read their organization's; written only by the queue's triggers

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.plans from anon, authenticated, service_role;
grant select on table public.plans to anon, authenticated;
grant select, insert, update, delete on table public.plans to service_role;

revoke all on table public.generations from anon, authenticated, service_role;
grant select on table public.generations to authenticated;
grant select, insert, update, delete on table public.generations to service_role;

revoke all on table public.usage_counters from anon, authenticated, service_role;
grant select on table public.usage_counters to authenticated;
grant select, insert, update, delete on table public.usage_counters to service_role;

revoke all on function public.request_generation(text, text, uuid) from public, anon, authenticated, service_role;
grant execute on function public.request_generation(text, text, uuid) to authenticated;
revoke all on function public.cancel_generation(uuid) from public, anon, authenticated, service_role;
grant execute on function public.cancel_generation(uuid) to authenticated;
-- their security-definer bodies (sql/0018), which the invoker RPCs call as the caller
revoke all on function internal.request_generation(text, text, uuid) from public, anon, authenticated, service_role;
grant execute on function internal.request_generation(text, text, uuid) to authenticated;
revoke all on function internal.cancel_generation(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.cancel_generation(uuid) to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.plans enable row level security;
alter table public.generations enable row level security;
alter table public.usage_counters enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "anyone can read plans" on public.plans;
create policy "anyone can read plans"
on public.plans for select to anon, authenticated
using (true);

drop policy if exists "members can read their organization's generations" on public.generations;
create policy "members can read their organization's generations"
on public.generations for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's usage" on public.usage_counters;
create policy "members can read their organization's usage"
on public.usage_counters for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

-- Private Realtime channels `org:<id>:jobs`: Realtime asks this policy, with realtime.topic() set to the channel,
-- whether a subscriber may join (read). Members of the organization may; nobody may broadcast on it (no insert
-- policy): the database alone publishes job status there.
drop policy if exists "members can receive their organization's job updates" on realtime.messages;
create policy "members can receive their organization's job updates"
on realtime.messages for select to authenticated
using (
  realtime.messages.extension = 'broadcast'
  and (select realtime.topic()) in (select 'org:' || o.id::text || ':jobs' from internal.current_user_org_ids() as o (id))
);
