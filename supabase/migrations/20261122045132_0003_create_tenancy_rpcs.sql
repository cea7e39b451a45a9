-- Exported by `supakit migrate export` from sql/0003_create_tenancy_rpcs.sql (sha256 9cc4f2b9b593f913b48d200b1ed3eb4f00a832f5c744f4fbfadab3cf2970f02b).
-- Edit the source file, not this one.

-- 0003_create_tenancy_rpcs: the RPCs clients call through PostgREST (POST /rest/v1/rpc/<name>) to manage
-- organizations, members and invitations. Security definer with a pinned search_path: they write tables the
-- caller cannot write directly, after checking the caller's rights; the membership triggers (0002) enforce the
-- role rules underneath. EXECUTE is granted to `authenticated` only, in policies/tenancy.sql.
--
-- Errors, as PostgREST answers them (docs/errors.md):
--   42501 -> 403  not allowed (not signed in, wrong role, wrong e-mail address)
--   22023 -> 400  invalid argument (bad slug, bad e-mail address, blank name)
--   23505 -> 409  the slug is taken
--   PT404 -> 404  no such member / invitation
--   PT409 -> 409  conflicts: already a member, invitation already used, last owner
--   PT410 -> 410  invitation expired, revoked, or its sender can no longer invite

-- ---------------------------------------------------------------------------------------------------------
-- functions: organizations
-- ---------------------------------------------------------------------------------------------------------

create function public.create_organization(name text, slug text)
returns public.organizations
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
  created public.organizations;
begin
  if caller is null then
    raise exception 'sign in to create an organization' using errcode = '42501';
  end if;
  if create_organization.name is null or char_length(btrim(create_organization.name)) not between 1 and 100 then
    raise exception 'the organization name must be 1 to 100 characters' using errcode = '22023';
  end if;
  if create_organization.slug is null or create_organization.slug !~ '^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$' then
    raise exception 'the slug "%" is not valid', create_organization.slug
      using errcode = '22023',
        hint = 'Use 1 to 48 lowercase letters, digits and hyphens, starting and ending with a letter or digit.';
  end if;

  begin
    insert into public.organizations (name, slug, created_by)
    values (btrim(create_organization.name), create_organization.slug, caller)
    returning * into created;
  exception when unique_violation then
    raise exception 'the slug "%" is taken', create_organization.slug
      using errcode = '23505', hint = 'Choose another slug.';
  end;

  insert into public.memberships (organization_id, user_id, role) values (created.id, caller, 'owner');
  return created;
end;
$$;
comment on function public.create_organization(text, text) is
'creates an organization; the caller becomes its owner';

-- The caller's organizations and their role in each. Security invoker: row level security decides.
create function public.current_user_organizations()
returns table (organization_id uuid, name text, slug text, role public.org_role, joined_at timestamptz)
language sql
stable
set search_path = ''
as $$
  select o.id, o.name, o.slug, m.role, m.created_at
  from public.memberships as m
  inner join public.organizations as o on o.id = m.organization_id
  where m.user_id = (select auth.uid())
  order by o.name, o.id
$$;
comment on function public.current_user_organizations() is 'the organizations the caller belongs to, with their role';

-- ---------------------------------------------------------------------------------------------------------
-- functions: members
-- ---------------------------------------------------------------------------------------------------------

create function public.change_member_role(org_id uuid, user_id uuid, new_role public.org_role)
returns public.memberships
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  changed public.memberships;
begin
  if not internal.has_org_role(org_id) then
    raise exception 'you are not a member of this organization' using errcode = '42501';
  end if;
  update public.memberships as m
  set role = new_role
  where m.organization_id = org_id and m.user_id = change_member_role.user_id
  returning * into changed;
  if not found then
    raise exception 'user % is not a member of this organization', change_member_role.user_id
      using errcode = 'PT404';
  end if;
  return changed;
end;
$$;
comment on function public.change_member_role(uuid, uuid, public.org_role) is
'changes a member''s role: owners change anyone, admins the roles below owner; nobody raises their own role';

create function public.remove_member(org_id uuid, user_id uuid)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if not internal.has_org_role(org_id) then
    raise exception 'you are not a member of this organization' using errcode = '42501';
  end if;
  delete from public.memberships as m where m.organization_id = org_id and m.user_id = remove_member.user_id;
  if not found then
    raise exception 'user % is not a member of this organization', remove_member.user_id using errcode = 'PT404';
  end if;
end;
$$;
comment on function public.remove_member(uuid, uuid) is
'removes a member: owners remove anyone, admins members below owner; the last owner stays';

create function public.leave_organization(org_id uuid)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  delete from public.memberships as m where m.organization_id = org_id and m.user_id = (select auth.uid());
  if not found then
    raise exception 'you are not a member of this organization' using errcode = 'PT404';
  end if;
end;
$$;
comment on function public.leave_organization(uuid) is 'the caller leaves the organization (not its last owner)';

-- ---------------------------------------------------------------------------------------------------------
-- functions: invitations
-- ---------------------------------------------------------------------------------------------------------

-- Returns the token once: only its sha256 is stored, so it cannot be shown again. Inviting an address that
-- already has a pending invitation replaces it (the old link stops working).
create function public.invite_member(org_id uuid, email text, role public.org_role default 'member')
returns table (invitation_id uuid, token text, expires_at timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  address text := lower(btrim(invite_member.email));
  secret text;
  created public.invitations;
begin
  if not internal.has_org_role(org_id, '{owner,admin}') then
    raise exception 'only owners and admins invite members' using errcode = '42501';
  end if;
  if invite_member.role = 'owner' and not internal.has_org_role(org_id, '{owner}') then
    raise exception 'only owners can invite owners' using errcode = '42501';
  end if;
  if address is null or address !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' then
    raise exception '"%" is not an e-mail address', invite_member.email using errcode = '22023';
  end if;
  if exists (
    select 1 from public.memberships as m
    inner join auth.users as u on u.id = m.user_id
    where m.organization_id = org_id and lower(u.email) = address
  ) then
    raise exception '% is already a member of this organization', address using errcode = 'PT409';
  end if;

  update public.invitations as i set revoked_at = now()
  where i.organization_id = org_id and i.email = address and i.accepted_at is null and i.revoked_at is null;

  -- 244 random bits from two version-4 uuids (gen_random_uuid uses a cryptographic source; pgcrypto's
  -- gen_random_bytes is not available everywhere supakit runs)
  secret := encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'hex');
  begin
    insert into public.invitations (organization_id, email, role, token_hash, invited_by)
    values (org_id, address, invite_member.role, sha256(convert_to(secret, 'UTF8')), (select auth.uid()))
    returning * into created;
  exception when unique_violation then
    raise exception '% is being invited right now by someone else', address
      using errcode = 'PT409', hint = 'Try again in a moment.';
  end;

  return query select created.id, secret, created.expires_at;
end;
$$;
comment on function public.invite_member(uuid, text, public.org_role) is
'invites an e-mail address with a role (default member); returns the one-time token';

create function public.accept_invitation(token text)
returns public.memberships
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
  caller_email text;
  invitation public.invitations;
  joined public.memberships;
begin
  if caller is null then
    raise exception 'sign in to accept an invitation' using errcode = '42501';
  end if;
  select * into invitation from public.invitations as i
  where i.token_hash = sha256(convert_to(coalesce(accept_invitation.token, ''), 'UTF8'))
  for update;
  if not found then
    raise exception 'invitation not found'
      using errcode = 'PT404', hint = 'The link is wrong or a newer invitation replaced it; ask for a new one.';
  end if;
  if invitation.accepted_at is not null then
    raise exception 'this invitation was already used' using errcode = 'PT409';
  end if;
  if invitation.revoked_at is not null then
    raise exception 'this invitation was revoked' using errcode = 'PT410', hint = 'Ask for a new invitation.';
  end if;
  if invitation.expires_at <= now() then
    raise exception 'this invitation expired at %', invitation.expires_at
      using errcode = 'PT410', hint = 'Ask for a new invitation.';
  end if;
  -- An invitation speaks for the person who sent it: it lapses when they can no longer invite (they left, were
  -- removed or demoted below admin, or lost the owner role that an owner invitation needs).
  if not exists (
    select 1 from public.memberships as m
    where m.organization_id = invitation.organization_id and m.user_id = invitation.invited_by
      and m.role in ('owner', 'admin') and (invitation.role <> 'owner' or m.role = 'owner')
  ) then
    raise exception 'this invitation is no longer valid: the person who sent it can no longer invite members'
      using errcode = 'PT410', hint = 'Ask an owner or admin for a new invitation.';
  end if;
  select lower(u.email) into caller_email from auth.users as u where u.id = caller;
  if caller_email is distinct from invitation.email then
    raise exception 'this invitation is for another e-mail address'
      using errcode = '42501', hint = 'Sign in with the address the invitation was sent to.';
  end if;
  if exists (
    select 1 from public.memberships as m where m.organization_id = invitation.organization_id and m.user_id = caller
  ) then
    raise exception 'you are already a member of this organization' using errcode = 'PT409';
  end if;

  insert into public.memberships (organization_id, user_id, role)
  values (invitation.organization_id, caller, invitation.role)
  returning * into joined;
  update public.invitations as i set accepted_at = now(), accepted_by = caller where i.id = invitation.id;
  return joined;
end;
$$;
comment on function public.accept_invitation(text) is
'joins the organization of a pending, unexpired invitation sent to the caller''s e-mail address';

create function public.revoke_invitation(invitation_id uuid)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  invitation public.invitations;
begin
  select * into invitation from public.invitations as i where i.id = invitation_id for update;
  if not found or not internal.has_org_role(invitation.organization_id, '{owner,admin}') then
    raise exception 'invitation not found' using errcode = 'PT404';
  end if;
  if invitation.accepted_at is not null then
    raise exception 'this invitation was already accepted; remove the member instead' using errcode = 'PT409';
  end if;
  if invitation.revoked_at is null then
    update public.invitations as i set revoked_at = now() where i.id = invitation_id;
  end if;
end;
$$;
comment on function public.revoke_invitation(uuid) is 'revokes a pending invitation (owners and admins)';

revoke all on function public.create_organization(text, text) from public;
revoke all on function public.current_user_organizations() from public;
revoke all on function public.change_member_role(uuid, uuid, public.org_role) from public;
revoke all on function public.remove_member(uuid, uuid) from public;
revoke all on function public.leave_organization(uuid) from public;
revoke all on function public.invite_member(uuid, text, public.org_role) from public;
revoke all on function public.accept_invitation(text) from public;
revoke all on function public.revoke_invitation(uuid) from public;

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
  ('versioned', '0003', '0003_create_tenancy_rpcs.sql', '9cc4f2b9b593f913b48d200b1ed3eb4f00a832f5c744f4fbfadab3cf2970f02b')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
