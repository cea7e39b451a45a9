-- 0018_move_definer_rpcs_out_of_the_api: Supabase's database linter (lint 0029,
-- authenticated_security_definer_function_executable) warns about every SECURITY DEFINER function that signed-in
-- users may execute in an exposed schema: 13 of our RPCs. Supabase's documented pattern is followed instead: the
-- security-definer bodies move to `internal` (not exposed through the Data API), and `public` keeps, under the same
-- names, arguments, defaults, return types and volatility, SECURITY INVOKER functions that call them. Clients see no
-- difference: `POST /rest/v1/rpc/<name>` takes the same JSON and answers the same body, status and errors (the
-- bodies raise them; a SQL function passes them through untouched). The bodies keep their grants (authenticated;
-- organization_entitlements also service_role), which the wrappers now need: a wrapper runs as its caller.
-- `alter function ... set schema` moves each body as it is (pinned search_path, qualified names, comments, grants);
-- docs/advisors.md explains the pattern. policies/*.sql grant both halves from now on.

-- ---------------------------------------------------------------------------------------------------------
-- functions: the bodies move to internal
-- ---------------------------------------------------------------------------------------------------------

alter function public.create_organization(text, text) set schema internal;
alter function public.change_member_role(uuid, uuid, public.org_role) set schema internal;
alter function public.remove_member(uuid, uuid) set schema internal;
alter function public.leave_organization(uuid) set schema internal;
alter function public.invite_member(uuid, text, public.org_role) set schema internal;
alter function public.accept_invitation(text) set schema internal;
alter function public.revoke_invitation(uuid) set schema internal;
alter function public.organization_audit_log(uuid, integer, bigint) set schema internal;
alter function public.request_generation(text, text, uuid) set schema internal;
alter function public.cancel_generation(uuid) set schema internal;
alter function public.start_direct_conversation(uuid, uuid) set schema internal;
alter function public.unread_counts() set schema internal;
alter function public.organization_entitlements(uuid) set schema internal;

-- A wrapper calls its body as the caller: service_role, which may call organization_entitlements
-- (policies/billing.sql), now needs to reach internal as authenticated already does (policies/tenancy.sql).
grant usage on schema internal to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- functions: the RPCs clients call (security invoker)
-- ---------------------------------------------------------------------------------------------------------

create function public.create_organization(name text, slug text)
returns public.organizations
language sql
volatile
security invoker
set search_path = ''
as $$
  select * from internal.create_organization(create_organization.name, create_organization.slug)
$$;
comment on function public.create_organization(text, text) is
'creates an organization; the caller becomes its owner; body: internal.create_organization';

create function public.change_member_role(org_id uuid, user_id uuid, new_role public.org_role)
returns public.memberships
language sql
volatile
security invoker
set search_path = ''
as $$
  select * from internal.change_member_role(
    change_member_role.org_id,
    change_member_role.user_id,
    change_member_role.new_role
  )
$$;
comment on function public.change_member_role(uuid, uuid, public.org_role) is
'changes a member''s role: owners change anyone, admins the roles below owner; nobody raises their own role'
'; body: internal.change_member_role';

create function public.remove_member(org_id uuid, user_id uuid)
returns void
language sql
volatile
security invoker
set search_path = ''
as $$
  select internal.remove_member(remove_member.org_id, remove_member.user_id)
$$;
comment on function public.remove_member(uuid, uuid) is
'removes a member: owners remove anyone, admins members below owner; the last owner stays'
'; body: internal.remove_member';

create function public.leave_organization(org_id uuid)
returns void
language sql
volatile
security invoker
set search_path = ''
as $$
  select internal.leave_organization(leave_organization.org_id)
$$;
comment on function public.leave_organization(uuid) is
'the caller leaves the organization (not its last owner); body: internal.leave_organization';

create function public.invite_member(org_id uuid, email text, role public.org_role default 'member')
returns table (invitation_id uuid, token text, expires_at timestamptz)
language sql
volatile
security invoker
set search_path = ''
as $$
  select * from internal.invite_member(invite_member.org_id, invite_member.email, invite_member.role)
$$;
comment on function public.invite_member(uuid, text, public.org_role) is
'invites an e-mail address with a role (default member); returns the one-time token; body: internal.invite_member';

create function public.accept_invitation(token text)
returns public.memberships
language sql
volatile
security invoker
set search_path = ''
as $$
  select * from internal.accept_invitation(accept_invitation.token)
$$;
comment on function public.accept_invitation(text) is
'joins the organization of a pending, unexpired invitation sent to the caller''s e-mail address'
'; body: internal.accept_invitation';

create function public.revoke_invitation(invitation_id uuid)
returns void
language sql
volatile
security invoker
set search_path = ''
as $$
  select internal.revoke_invitation(revoke_invitation.invitation_id)
$$;
comment on function public.revoke_invitation(uuid) is
'revokes a pending invitation (owners and admins); body: internal.revoke_invitation';

create function public.organization_audit_log(org_id uuid, max_rows integer default 100, before_id bigint default null)
returns table (
  id bigint, occurred_at timestamptz, actor_id uuid, actor_role text, table_name text, operation text,
  record_id jsonb, changes jsonb
)
language sql
stable
security invoker
set search_path = ''
as $$
  select * from internal.organization_audit_log(
    organization_audit_log.org_id,
    organization_audit_log.max_rows,
    organization_audit_log.before_id
  )
$$;
comment on function public.organization_audit_log(uuid, integer, bigint) is
'an organization''s audit trail, newest first (owners and admins); body: internal.organization_audit_log';

create function public.request_generation(prompt text, app_type text default 'generic', org_id uuid default null)
returns json
language sql
volatile
security invoker
set search_path = ''
as $$
  select internal.request_generation(
    request_generation.prompt,
    request_generation.app_type,
    request_generation.org_id
  )
$$;
comment on function public.request_generation(text, text, uuid) is
'request an AI generation; returns the generation row as JSON; over quota: HTTP 429 with PT429 (see sql/0008)'
'; body: internal.request_generation';

create function public.cancel_generation(generation_id uuid)
returns public.generations
language sql
volatile
security invoker
set search_path = ''
as $$
  select * from internal.cancel_generation(cancel_generation.generation_id)
$$;
comment on function public.cancel_generation(uuid) is
'cancels a generation: queued ones at once, running ones when the worker sees it (the requester, managers and up)'
'; body: internal.cancel_generation';

create function public.start_direct_conversation(other_user uuid, org_id uuid default null)
returns public.conversations
language sql
volatile
security invoker
set search_path = ''
as $$
  select * from internal.start_direct_conversation(
    start_direct_conversation.other_user,
    start_direct_conversation.org_id
  )
$$;
comment on function public.start_direct_conversation(uuid, uuid) is
'the direct conversation between the caller and other_user in an organization both belong to, created on first use'
'; body: internal.start_direct_conversation';

create function public.unread_counts()
returns table (conversation_id uuid, unread_count bigint, last_read_at timestamptz, muted boolean)
language sql
stable
security invoker
set search_path = ''
as $$
  select * from internal.unread_counts()
$$;
comment on function public.unread_counts() is
'per conversation the caller takes part in: messages from others since their last_read_at, with their read state'
'; body: internal.unread_counts';

create function public.organization_entitlements(org_id uuid)
returns table (
  plan_id text, plan_name text, daily_generation_limit integer, monthly_generation_limit integer,
  queue_priority integer, features jsonb, source text, subscription_status text, access_until timestamptz
)
language sql
stable
security invoker
set search_path = ''
as $$
  select * from internal.organization_entitlements(organization_entitlements.org_id)
$$;
comment on function public.organization_entitlements(uuid) is
'what the organization may do now: its effective plan, limits and features (members)'
'; body: internal.organization_entitlements';

-- ---------------------------------------------------------------------------------------------------------
-- grants (as before the move; policies/*.sql repeats them)
-- ---------------------------------------------------------------------------------------------------------

revoke all on function public.create_organization(text, text) from public, anon, authenticated, service_role;
grant execute on function public.create_organization(text, text) to authenticated;
revoke all on function public.change_member_role(uuid, uuid, public.org_role)
from public, anon, authenticated, service_role;
grant execute on function public.change_member_role(uuid, uuid, public.org_role) to authenticated;
revoke all on function public.remove_member(uuid, uuid) from public, anon, authenticated, service_role;
grant execute on function public.remove_member(uuid, uuid) to authenticated;
revoke all on function public.leave_organization(uuid) from public, anon, authenticated, service_role;
grant execute on function public.leave_organization(uuid) to authenticated;
revoke all on function public.invite_member(uuid, text, public.org_role) from public, anon, authenticated, service_role;
grant execute on function public.invite_member(uuid, text, public.org_role) to authenticated;
revoke all on function public.accept_invitation(text) from public, anon, authenticated, service_role;
grant execute on function public.accept_invitation(text) to authenticated;
revoke all on function public.revoke_invitation(uuid) from public, anon, authenticated, service_role;
grant execute on function public.revoke_invitation(uuid) to authenticated;
revoke all on function public.organization_audit_log(uuid, integer, bigint)
from public, anon, authenticated, service_role;
grant execute on function public.organization_audit_log(uuid, integer, bigint) to authenticated;
revoke all on function public.request_generation(text, text, uuid) from public, anon, authenticated, service_role;
grant execute on function public.request_generation(text, text, uuid) to authenticated;
revoke all on function public.cancel_generation(uuid) from public, anon, authenticated, service_role;
grant execute on function public.cancel_generation(uuid) to authenticated;
revoke all on function public.start_direct_conversation(uuid, uuid) from public, anon, authenticated, service_role;
grant execute on function public.start_direct_conversation(uuid, uuid) to authenticated;
revoke all on function public.unread_counts() from public, anon, authenticated, service_role;
grant execute on function public.unread_counts() to authenticated;
revoke all on function public.organization_entitlements(uuid) from public, anon, authenticated, service_role;
grant execute on function public.organization_entitlements(uuid) to authenticated, service_role;
