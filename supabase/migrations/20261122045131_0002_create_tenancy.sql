-- Exported by `supakit migrate export` from sql/0002_create_tenancy.sql (sha256 18d69641704bc13adffff8ad40f29aa695f263d2fd344756424a39407ff41129).
-- Edit the source file, not this one.

-- 0002_create_tenancy: organizations, memberships with roles, invitations, and the access helpers every
-- policy uses. The rules (at least one owner, who may change whom, no self-promotion) are enforced here, for
-- every writer: the RPCs in 0003 and any direct write by the service role alike.
-- Grants, row level security and policies: policies/tenancy.sql.

-- ---------------------------------------------------------------------------------------------------------
-- types
-- ---------------------------------------------------------------------------------------------------------

-- What a member may do, most powerful first (internal.org_role_rank orders them):
create type public.org_role as enum (
  'owner',  -- everything, including billing, deleting the organization and changing other owners
  'admin',  -- manages members and invitations below owner; edits the organization
  'manager',  -- creates and edits projects and tasks (the seeds' manager dashboard)
  'member',  -- sees projects; sees and updates the tasks assigned to them
  'assistant',  -- the seeds' virtual assistant: like member, for the tasks assigned to them
  'client'  -- the seeds' client dashboard: reads the organization's projects and tasks, edits nothing
);
comment on type public.org_role is 'role of a user in an organization; see README "Roles"';

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table public.organizations (
  id uuid not null default gen_random_uuid(),
  name text not null,
  slug text not null,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint organizations_pkey primary key (id),
  constraint organizations_slug_key unique (slug),
  constraint organizations_created_by_fkey foreign key (created_by) references auth.users (id) on delete set null,
  constraint name_is_not_blank check (char_length(btrim(name)) between 1 and 100),
  constraint slug_is_url_safe check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$')
);
comment on table public.organizations is 'a tenant: every business row belongs to exactly one organization';
comment on column public.organizations.slug is
'unique, URL-safe: lowercase letters, digits and inner hyphens, 1 to 48 characters';

create table public.memberships (
  organization_id uuid not null,
  user_id uuid not null,
  role public.org_role not null default 'member',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint memberships_pkey primary key (organization_id, user_id),
  constraint memberships_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint memberships_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade
);
comment on table public.memberships is
'who belongs to which organization, with which role; written through the RPCs, rules enforced by triggers';

create table public.invitations (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  email text not null,
  role public.org_role not null default 'member',
  token_hash bytea not null,
  invited_by uuid,
  expires_at timestamptz not null default now() + interval '7 days',
  accepted_at timestamptz,
  accepted_by uuid,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  constraint invitations_pkey primary key (id),
  constraint invitations_token_hash_key unique (token_hash),
  constraint invitations_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint invitations_invited_by_fkey foreign key (invited_by) references auth.users (id) on delete set null,
  constraint invitations_accepted_by_fkey foreign key (accepted_by) references auth.users (id) on delete set null,
  constraint email_is_lowercase check (email = lower(email) and email like '%_@_%'),
  constraint token_hash_is_sha256 check (octet_length(token_hash) = 32),
  constraint accepted_or_revoked_not_both check (accepted_at is null or revoked_at is null),
  constraint accepted_at_and_accepted_by_together check ((accepted_at is null) = (accepted_by is null))
);
comment on table public.invitations is
'an invitation to join an organization; the token is e-mailed once and only its sha256 is stored';
comment on column public.invitations.accepted_at is 'pending -> accepted: set once by accept_invitation';
comment on column public.invitations.revoked_at is 'pending -> revoked: set by revoke_invitation';

-- ---------------------------------------------------------------------------------------------------------
-- indexes (every column a policy or a lookup filters on)
-- ---------------------------------------------------------------------------------------------------------

create index memberships_user_id_idx on public.memberships (user_id);
create index organizations_created_by_idx on public.organizations (created_by);
create index invitations_organization_id_idx on public.invitations (organization_id);
create index invitations_invited_by_idx on public.invitations (invited_by);
create index invitations_accepted_by_idx on public.invitations (accepted_by);
-- one pending invitation per address and organization
create unique index invitations_pending_email_key on public.invitations (organization_id, email)
where accepted_at is null and revoked_at is null;

-- ---------------------------------------------------------------------------------------------------------
-- functions: access helpers (security definer, so policies on memberships do not recurse)
-- ---------------------------------------------------------------------------------------------------------

create function internal.org_role_rank(role public.org_role)
returns integer
language sql
immutable
set search_path = ''
as $$
  select case role
    when 'owner' then 60 when 'admin' then 50 when 'manager' then 40
    when 'member' then 30 when 'assistant' then 20 when 'client' then 10
  end
$$;
comment on function internal.org_role_rank(public.org_role) is
'higher is more powerful; "raising" a role means moving to a higher rank';

-- The organizations the signed-in user belongs to, optionally only those where their role is in `roles`.
-- Policies call it as `organization_id in (select internal.current_user_org_ids(...))`: evaluated once per
-- statement, then a hashed lookup per row.
create function internal.current_user_org_ids(roles public.org_role[] default null)
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.organization_id
  from public.memberships as m
  where m.user_id = (select auth.uid())
    and (roles is null or m.role = any(roles))
$$;

-- Whether the signed-in user has one of `roles` in organization `org_id` (any role when `roles` is null).
create function internal.has_org_role(org_id uuid, roles public.org_role[] default null)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.memberships as m
    where m.organization_id = org_id
      and m.user_id = (select auth.uid())
      and (roles is null or m.role = any(roles))
  )
$$;

-- Everyone who shares at least one organization with the signed-in user (the user included).
create function internal.current_user_co_member_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select distinct other.user_id
  from public.memberships as mine
  inner join public.memberships as other on other.organization_id = mine.organization_id
  where mine.user_id = (select auth.uid())
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: membership rules (triggers)
-- ---------------------------------------------------------------------------------------------------------

-- Before a membership's role changes or a membership is removed:
--   * an organization always keeps at least one owner (the organization row is locked first, so two owners
--     demoting each other concurrently cannot both succeed);
--   * when a user makes the change (auth.uid() set): only owners touch owners or grant owner, admins manage
--     the roles below owner, nobody else manages members, and nobody raises their own role. Leaving (a user
--     deleting their own membership) is always allowed, except for the last owner.
-- Removals cascading from a deleted organization skip all of it. Memberships are inserted only by the
-- security-definer RPCs (create_organization, accept_invitation) and the service role: `authenticated` holds no
-- INSERT privilege on the table.
create function internal.tg_memberships__enforce_rules()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  actor uuid := (select auth.uid());
  actor_role public.org_role;
  org uuid := coalesce(old.organization_id, new.organization_id);
  removes_owner boolean := old.role = 'owner' and (tg_op = 'DELETE' or new.role <> 'owner');
begin
  if tg_op = 'UPDATE' and (new.organization_id, new.user_id) is distinct from (old.organization_id, old.user_id) then
    raise exception 'a membership cannot move to another organization or user'
      using errcode = '22023', hint = 'Remove the membership and invite the user instead.';
  end if;

  perform 1 from public.organizations as o where o.id = org for update;
  if not found then
    return coalesce(new, old);  -- the organization itself is being deleted
  end if;

  if actor is not null then
    select m.role into actor_role from public.memberships as m
    where m.organization_id = org and m.user_id = actor;

    if actor = old.user_id then
      if tg_op = 'UPDATE' and internal.org_role_rank(new.role) > internal.org_role_rank(old.role) then
        raise exception 'you cannot raise your own role (from % to %)', old.role, new.role
          using errcode = '42501', hint = 'Ask an owner or admin of the organization to change it.';
      end if;
    elsif actor_role is null or actor_role not in ('owner', 'admin') then
      raise exception 'only owners and admins manage members'
        using errcode = '42501', hint = 'Ask an owner or admin of the organization.';
    elsif actor_role = 'admin' and (old.role = 'owner' or (tg_op = 'UPDATE' and new.role = 'owner')) then
      raise exception 'only owners can change, grant or remove the owner role'
        using errcode = '42501', hint = 'Ask an owner of the organization.';
    end if;
  end if;

  if removes_owner and not exists (
    select 1 from public.memberships as m
    where m.organization_id = org and m.role = 'owner' and m.user_id <> old.user_id
  ) then
    raise exception 'an organization must keep at least one owner'
      using errcode = 'PT409',
        hint = 'Make another member an owner first, or delete the organization.';
  end if;

  return coalesce(new, old);
end;
$$;

revoke all on function internal.org_role_rank(public.org_role) from public;
revoke all on function internal.current_user_org_ids(public.org_role[]) from public;
revoke all on function internal.has_org_role(uuid, public.org_role[]) from public;
revoke all on function internal.current_user_co_member_ids() from public;
revoke all on function internal.tg_memberships__enforce_rules() from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _100_set_updated_at
before update on public.organizations
for each row execute function internal.tg_set_updated_at();

create trigger _100_set_updated_at
before update on public.memberships
for each row execute function internal.tg_set_updated_at();

create trigger _200_enforce_rules
before update or delete on public.memberships
for each row execute function internal.tg_memberships__enforce_rules();

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
  ('versioned', '0002', '0002_create_tenancy.sql', '18d69641704bc13adffff8ad40f29aa695f263d2fd344756424a39407ff41129')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
