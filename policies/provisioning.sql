-- Access control for provisioning (sql/0012) and its Realtime topics. Repeatable and idempotent.
--   provisioning_runs, provisioning_steps, customer_infrastructure: members read their organization's rows;
--     only the service role (and the worker, as the database owner) writes
--   provisioning_logs: members read; the service role reads and appends (append-only: no update or delete)
--   instance_health_checks, infrastructure_usage (sql/0033): members read; only the service role (and the
--     worker, through internal.record_health_check / record_usage) writes
--   provisioning_status(org_id): the RPC members call; security invoker around internal.provisioning_status
--     (security definer since sql/0033: it checks membership itself)

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.provisioning_runs from anon, authenticated, service_role;
grant select on table public.provisioning_runs to authenticated;
grant select, insert, update, delete on table public.provisioning_runs to service_role;

revoke all on table public.provisioning_steps from anon, authenticated, service_role;
grant select on table public.provisioning_steps to authenticated;
grant select, insert, update, delete on table public.provisioning_steps to service_role;

revoke all on table public.provisioning_logs from anon, authenticated, service_role;
grant select on table public.provisioning_logs to authenticated;
grant select, insert on table public.provisioning_logs to service_role;

revoke all on table public.customer_infrastructure from anon, authenticated, service_role;
grant select on table public.customer_infrastructure to authenticated;
grant select, insert, update, delete on table public.customer_infrastructure to service_role;

revoke all on table public.instance_health_checks from anon, authenticated, service_role;
grant select on table public.instance_health_checks to authenticated;
grant select, insert, update, delete on table public.instance_health_checks to service_role;

revoke all on table public.infrastructure_usage from anon, authenticated, service_role;
grant select on table public.infrastructure_usage to authenticated;
grant select, insert, update, delete on table public.infrastructure_usage to service_role;

revoke all on function public.provisioning_status(uuid) from public, anon, authenticated, service_role;
grant execute on function public.provisioning_status(uuid) to authenticated, service_role;
revoke all on function internal.provisioning_status(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.provisioning_status(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.provisioning_runs enable row level security;
alter table public.provisioning_steps enable row level security;
alter table public.provisioning_logs enable row level security;
alter table public.customer_infrastructure enable row level security;
alter table public.instance_health_checks enable row level security;
alter table public.infrastructure_usage enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "members can read their organization's provisioning runs" on public.provisioning_runs;
create policy "members can read their organization's provisioning runs"
on public.provisioning_runs for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's provisioning steps" on public.provisioning_steps;
create policy "members can read their organization's provisioning steps"
on public.provisioning_steps for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's provisioning logs" on public.provisioning_logs;
create policy "members can read their organization's provisioning logs"
on public.provisioning_logs for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's infrastructure" on public.customer_infrastructure;
create policy "members can read their organization's infrastructure"
on public.customer_infrastructure for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's health checks" on public.instance_health_checks;
create policy "members can read their organization's health checks"
on public.instance_health_checks for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's usage" on public.infrastructure_usage;
create policy "members can read their organization's usage"
on public.infrastructure_usage for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

-- Private Realtime channels `org:<id>:provisioning`: members of the organization may join (read); there is no
-- insert policy, so only the database publishes there (sql/0012, tg_provisioning__broadcast). Permissive policies
-- are OR-ed, so this one sits beside the `org:<id>:jobs` one of policies/generations.sql without touching it.
drop policy if exists "members can receive their organization's provisioning updates" on realtime.messages;
create policy "members can receive their organization's provisioning updates"
on realtime.messages for select to authenticated
using (
  realtime.messages.extension = 'broadcast'
  and (select realtime.topic())
  in (select 'org:' || o.id::text || ':provisioning' from internal.current_user_org_ids() as o (id))
);

-- ---------------------------------------------------------------------------------------------------------
-- backups and restores (sql/0031)
--   backups: owners and admins read their organization's backups; only the service role (and the worker) writes
--   request_restore(backup_id): the RPC owners call (security invoker; the body, internal.request_restore, checks
--     the caller owns the backup's organization)
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.backups from anon, authenticated, service_role;
grant select on table public.backups to authenticated;
grant select, insert, update, delete on table public.backups to service_role;

revoke all on function public.request_restore(uuid) from public, anon, authenticated, service_role;
grant execute on function public.request_restore(uuid) to authenticated;
revoke all on function internal.request_restore(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.request_restore(uuid) to authenticated;

alter table public.backups enable row level security;

drop policy if exists "owners and admins can read their organization's backups" on public.backups;
create policy "owners and admins can read their organization's backups"
on public.backups for select to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin}')));
