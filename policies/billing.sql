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
-- its security-definer body (sql/0018), which the invoker RPC calls as the caller
revoke all on function internal.organization_entitlements(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.organization_entitlements(uuid) to authenticated, service_role;

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
