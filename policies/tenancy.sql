-- Access control for organizations, memberships, invitations and the tenancy RPCs. Repeatable: re-applied
-- whenever this file changes, so every statement is idempotent (revoke before grant; drop policy if exists).
-- Writes to memberships and invitations go through the RPCs (sql/0003), which check the caller's role; the
-- membership triggers (sql/0002) enforce the role rules for every writer.

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

-- Policies run as the querying role, so it needs the access helpers (not the tables behind them).
grant usage on schema internal to authenticated;
-- service_role reaches the bodies of the RPCs granted to it (organization_entitlements)
grant usage on schema internal to service_role;
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
-- The RPCs above are security invoker; each calls its security-definer body in internal (sql/0018), as the caller.
revoke all on function internal.create_organization(text, text) from public, anon, authenticated, service_role;
grant execute on function internal.create_organization(text, text) to authenticated;
revoke all on function internal.change_member_role(uuid, uuid, public.org_role)
from public, anon, authenticated, service_role;
grant execute on function internal.change_member_role(uuid, uuid, public.org_role) to authenticated;
revoke all on function internal.remove_member(uuid, uuid) from public, anon, authenticated, service_role;
grant execute on function internal.remove_member(uuid, uuid) to authenticated;
revoke all on function internal.leave_organization(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.leave_organization(uuid) to authenticated;
revoke all on function internal.invite_member(uuid, text, public.org_role)
from public, anon, authenticated, service_role;
grant execute on function internal.invite_member(uuid, text, public.org_role) to authenticated;
revoke all on function internal.accept_invitation(text) from public, anon, authenticated, service_role;
grant execute on function internal.accept_invitation(text) to authenticated;
revoke all on function internal.revoke_invitation(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.revoke_invitation(uuid) to authenticated;
revoke all on function internal.organization_audit_log(uuid, integer, bigint)
from public, anon, authenticated, service_role;
grant execute on function internal.organization_audit_log(uuid, integer, bigint) to authenticated;

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
