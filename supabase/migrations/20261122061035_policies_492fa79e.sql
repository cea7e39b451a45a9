-- Exported by `supakit migrate export`: every file in policies/, which supakit re-applies whenever
-- it changes. Each is idempotent, so this snapshot is safe to run again.
-- Edit policies/, not this file.

-- ---- policies/billing.sql (sha256 9e89c6fcddac604d09799ea6bf6def0d05d67943982008bb3b7cb72b93ff3588)
-- Access control for billing (sql/0011): Stripe is the source of truth and only the service role (the webhook,
-- `supakit billing sync`) writes; members read. Repeatable and idempotent (see policies/tenancy.sql).
--   billing_customers: owners and admins read their organization's (the people who manage billing)
--   subscriptions:     members read their organization's
--   invoices:          members read their organization's
--   internal.stripe_events: the ledger; never exposed (revoked in sql/0011)
--   realtime topic `org:<id>:billing`: members receive subscription changes; nobody publishes

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.billing_customers from anon, authenticated, service_role;
grant select on table public.billing_customers to authenticated;
grant select, insert, update, delete on table public.billing_customers to service_role;

revoke all on table public.subscriptions from anon, authenticated, service_role;
grant select on table public.subscriptions to authenticated;
grant select, insert, update, delete on table public.subscriptions to service_role;

revoke all on table public.invoices from anon, authenticated, service_role;
grant select on table public.invoices to authenticated;
grant select, insert, update, delete on table public.invoices to service_role;

revoke all on function public.organization_entitlements(uuid) from public, anon, authenticated, service_role;
grant execute on function public.organization_entitlements(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.billing_customers enable row level security;
alter table public.subscriptions enable row level security;
alter table public.invoices enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "owners and admins can read their organization's billing customer" on public.billing_customers;
create policy "owners and admins can read their organization's billing customer"
on public.billing_customers for select to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin}')));

drop policy if exists "members can read their organization's subscriptions" on public.subscriptions;
create policy "members can read their organization's subscriptions"
on public.subscriptions for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's invoices" on public.invoices;
create policy "members can read their organization's invoices"
on public.invoices for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

-- Private Realtime channels `org:<id>:billing`: members of the organization may join (read); there is no insert
-- policy, so only the database publishes there (sql/0011, tg_subscriptions__broadcast).
drop policy if exists "members can receive their organization's billing updates" on realtime.messages;
create policy "members can receive their organization's billing updates"
on realtime.messages for select to authenticated
using (
  realtime.messages.extension = 'broadcast'
  and (select realtime.topic())
  in (select 'org:' || o.id::text || ':billing' from internal.current_user_org_ids() as o (id))
);

-- ---- policies/generations.sql (sha256 5fdf82cd9c4c64f62e025b2c7c402d859bc89e26293c131162494b6116aefa5e)
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

-- ---- policies/profiles.sql (sha256 31359831d5b022ac925192ffdae10cf0760efb917c8de4bb919a6acc1bfecd22)
-- Access control for public.profiles. Repeatable: re-applied whenever this file changes, so every statement
-- must be idempotent (revoke before grant; drop policy if exists before create).
-- Users read their own profile and the profiles of people who share an organization with them.

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.profiles from anon, authenticated, service_role;
grant select on table public.profiles to authenticated;
-- users may change only these columns; id and timestamps are not theirs to set
grant update (full_name, avatar_url) on table public.profiles to authenticated;
grant select, insert, update, delete on table public.profiles to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.profiles enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "users can read their own profile" on public.profiles;
drop policy if exists "users can read their own and their co-members' profiles" on public.profiles;
create policy "users can read their own and their co-members' profiles"
on public.profiles for select to authenticated
using (id = (select auth.uid()) or id in (select internal.current_user_co_member_ids()));

drop policy if exists "users can update their own profile" on public.profiles;
create policy "users can update their own profile"
on public.profiles for update to authenticated
using (id = (select auth.uid()))
with check (id = (select auth.uid()));

-- ---- policies/provisioning.sql (sha256 34ee1ac28c6e3f5d71b2a10e5d42ac3b275e474b3dbf2e771befaa348484f8db)
-- Access control for provisioning (sql/0012) and its Realtime topics. Repeatable and idempotent.
--   provisioning_runs, provisioning_steps, customer_infrastructure: members read their organization's rows;
--     only the service role (and the worker, as the database owner) writes
--   provisioning_logs: members read; the service role reads and appends (append-only: no update or delete)
--   provisioning_status(org_id): the RPC members call; security invoker, so the policies below decide

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

revoke all on function public.provisioning_status(uuid) from public, anon, authenticated, service_role;
grant execute on function public.provisioning_status(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.provisioning_runs enable row level security;
alter table public.provisioning_steps enable row level security;
alter table public.provisioning_logs enable row level security;
alter table public.customer_infrastructure enable row level security;

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

-- ---- policies/tenancy.sql (sha256 25ac0f9b2c9366c083d2c2e37d7bf3a215ad83f5e7f39ac3162d71010ab90fbb)
-- Access control for organizations, memberships, invitations and the tenancy RPCs. Repeatable: re-applied
-- whenever this file changes, so every statement is idempotent (revoke before grant; drop policy if exists).
-- Writes to memberships and invitations go through the RPCs (sql/0003), which check the caller's role; the
-- membership triggers (sql/0002) enforce the role rules for every writer.

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

-- Policies run as the querying role, so it needs the access helpers (not the tables behind them).
grant usage on schema internal to authenticated;
revoke all on function internal.current_user_org_ids(public.org_role[]) from public, anon, authenticated;
grant execute on function internal.current_user_org_ids(public.org_role[]) to authenticated;
revoke all on function internal.has_org_role(uuid, public.org_role[]) from public, anon, authenticated;
grant execute on function internal.has_org_role(uuid, public.org_role[]) to authenticated;
revoke all on function internal.current_user_co_member_ids() from public, anon, authenticated;
grant execute on function internal.current_user_co_member_ids() to authenticated;

revoke all on table public.organizations from anon, authenticated, service_role;
grant select, delete on table public.organizations to authenticated;
grant update (name, slug) on table public.organizations to authenticated;
grant select, insert, update, delete on table public.organizations to service_role;

revoke all on table public.memberships from anon, authenticated, service_role;
grant select on table public.memberships to authenticated;
grant select, insert, update, delete on table public.memberships to service_role;

revoke all on table public.invitations from anon, authenticated, service_role;
-- never token_hash: the token is a secret even hashed
grant select (
  id, organization_id, email, role, invited_by, expires_at, accepted_at, accepted_by, revoked_at, created_at
) on table public.invitations to authenticated;
grant select, insert, update, delete on table public.invitations to service_role;

revoke all on function public.create_organization(text, text) from public, anon, authenticated, service_role;
grant execute on function public.create_organization(text, text) to authenticated;
revoke all on function public.current_user_organizations() from public, anon, authenticated, service_role;
grant execute on function public.current_user_organizations() to authenticated;
revoke all on function public.change_member_role(uuid, uuid, public.org_role)
from public, anon, authenticated, service_role;
grant execute on function public.change_member_role(uuid, uuid, public.org_role) to authenticated;
revoke all on function public.remove_member(uuid, uuid) from public, anon, authenticated, service_role;
grant execute on function public.remove_member(uuid, uuid) to authenticated;
revoke all on function public.leave_organization(uuid) from public, anon, authenticated, service_role;
grant execute on function public.leave_organization(uuid) to authenticated;
revoke all on function public.invite_member(uuid, text, public.org_role)
from public, anon, authenticated, service_role;
grant execute on function public.invite_member(uuid, text, public.org_role) to authenticated;
revoke all on function public.accept_invitation(text) from public, anon, authenticated, service_role;
grant execute on function public.accept_invitation(text) to authenticated;
revoke all on function public.revoke_invitation(uuid) from public, anon, authenticated, service_role;
grant execute on function public.revoke_invitation(uuid) to authenticated;
revoke all on function public.organization_audit_log(uuid, integer, bigint)
from public, anon, authenticated, service_role;
grant execute on function public.organization_audit_log(uuid, integer, bigint) to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.organizations enable row level security;
alter table public.memberships enable row level security;
alter table public.invitations enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "members can read their organizations" on public.organizations;
create policy "members can read their organizations"
on public.organizations for select to authenticated
using (id in (select internal.current_user_org_ids()));

drop policy if exists "owners and admins can rename their organizations" on public.organizations;
create policy "owners and admins can rename their organizations"
on public.organizations for update to authenticated
using (id in (select internal.current_user_org_ids('{owner,admin}')))
with check (id in (select internal.current_user_org_ids('{owner,admin}')));

drop policy if exists "owners can delete their organizations" on public.organizations;
create policy "owners can delete their organizations"
on public.organizations for delete to authenticated
using (id in (select internal.current_user_org_ids('{owner}')));

drop policy if exists "members can read the memberships of their organizations" on public.memberships;
create policy "members can read the memberships of their organizations"
on public.memberships for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "owners and admins can read their organizations' invitations" on public.invitations;
create policy "owners and admins can read their organizations' invitations"
on public.invitations for select to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin}')));

-- ---- policies/work.sql (sha256 fe7149042e05df6645188355ba05911f4d89fbbcac15fc51d555dc7cd2e9fa86)
-- Access control for projects and tasks. Repeatable and idempotent (see policies/tenancy.sql).
--   projects: every member reads; managers, admins and owners create, edit and delete.
--   tasks:    owners, admins, managers and clients read all of the organization's tasks; members and
--             assistants read and update the tasks assigned to them (the status only, by trigger);
--             managers and above create, edit and delete; clients never write.

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.projects from anon, authenticated, service_role;
grant select, insert, delete on table public.projects to authenticated;
-- never created_by, created_at or the organization: they are facts, not edits
grant update (name, description, archived_at) on table public.projects to authenticated;
grant select, insert, update, delete on table public.projects to service_role;

revoke all on table public.tasks from anon, authenticated, service_role;
grant select, insert, delete on table public.tasks to authenticated;
grant update (project_id, title, description, status, assignee_id, due_on) on table public.tasks to authenticated;
grant select, insert, update, delete on table public.tasks to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.projects enable row level security;
alter table public.tasks enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "members can read their organization's projects" on public.projects;
create policy "members can read their organization's projects"
on public.projects for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "managers and above can create projects" on public.projects;
create policy "managers and above can create projects"
on public.projects for insert to authenticated
with check (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

drop policy if exists "managers and above can edit projects" on public.projects;
create policy "managers and above can edit projects"
on public.projects for update to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')))
with check (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

drop policy if exists "managers and above can delete projects" on public.projects;
create policy "managers and above can delete projects"
on public.projects for delete to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

drop policy if exists "members can read the tasks they may see" on public.tasks;
create policy "members can read the tasks they may see"
on public.tasks for select to authenticated
using (
  organization_id in (select internal.current_user_org_ids('{owner,admin,manager,client}'))
  or (
    assignee_id = (select auth.uid())
    and organization_id in (select internal.current_user_org_ids('{member,assistant}'))
  )
);

drop policy if exists "managers and above can create tasks" on public.tasks;
create policy "managers and above can create tasks"
on public.tasks for insert to authenticated
with check (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

drop policy if exists "managers and above edit tasks, assignees update theirs" on public.tasks;
create policy "managers and above edit tasks, assignees update theirs"
on public.tasks for update to authenticated
using (
  organization_id in (select internal.current_user_org_ids('{owner,admin,manager}'))
  or (
    assignee_id = (select auth.uid())
    and organization_id in (select internal.current_user_org_ids('{member,assistant}'))
  )
)
with check (
  organization_id in (select internal.current_user_org_ids('{owner,admin,manager}'))
  or (
    assignee_id = (select auth.uid())
    and organization_id in (select internal.current_user_org_ids('{member,assistant}'))
  )
);

drop policy if exists "managers and above can delete tasks" on public.tasks;
create policy "managers and above can delete tasks"
on public.tasks for delete to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

-- supakit ledger: lets `supakit migrate status` see this file as applied
create schema if not exists supakit_migrations;
comment on schema supakit_migrations is
'supakit migration ledger; not exposed through the Data API and not granted to API roles';
revoke all on schema supakit_migrations from public;
create table if not exists supakit_migrations.ledger (
  kind text not null,
  key text not null,
  name text not null,
  checksum text not null,
  applied_at timestamptz not null default now(),
  duration_ms integer not null default 0,
  applied_by text not null default current_user,
  constraint ledger_pkey primary key (kind, key),
  constraint kind_is_known check (kind in ('compat', 'versioned', 'repeatable')),
  constraint checksum_is_sha256 check (checksum ~ '^[0-9a-f]{64}$'),
  constraint duration_is_not_negative check (duration_ms >= 0)
);
comment on table supakit_migrations.ledger is
'one row per applied migration file: versioned files once, compat and repeatable files at their last checksum';
insert into supakit_migrations.ledger (kind, key, name, checksum)
values
  ('repeatable', 'billing', 'billing.sql', '9e89c6fcddac604d09799ea6bf6def0d05d67943982008bb3b7cb72b93ff3588'),
  ('repeatable', 'generations', 'generations.sql', '5fdf82cd9c4c64f62e025b2c7c402d859bc89e26293c131162494b6116aefa5e'),
  ('repeatable', 'profiles', 'profiles.sql', '31359831d5b022ac925192ffdae10cf0760efb917c8de4bb919a6acc1bfecd22'),
  ('repeatable', 'provisioning', 'provisioning.sql', '34ee1ac28c6e3f5d71b2a10e5d42ac3b275e474b3dbf2e771befaa348484f8db'),
  ('repeatable', 'tenancy', 'tenancy.sql', '25ac0f9b2c9366c083d2c2e37d7bf3a215ad83f5e7f39ac3162d71010ab90fbb'),
  ('repeatable', 'work', 'work.sql', 'fe7149042e05df6645188355ba05911f4d89fbbcac15fc51d555dc7cd2e9fa86')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
