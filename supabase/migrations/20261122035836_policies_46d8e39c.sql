-- Exported by `supakit migrate export`: every file in policies/, which supakit re-applies whenever
-- it changes. Each is idempotent, so this snapshot is safe to run again.
-- Edit policies/, not this file.

-- ---- policies/profiles.sql (sha256 de083e3aa3f59eff2aa9ad6eab8c5cf2476c8d1c8a360c807ddd879eae4f28aa)
-- Access control for public.profiles. Repeatable: re-applied whenever this file changes, so every statement
-- must be idempotent (revoke before grant; drop policy if exists before create).
-- Issue "Tenancy" widens reading to people who share an organization.

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
create policy "users can read their own profile"
on public.profiles for select to authenticated
using (id = (select auth.uid()));

drop policy if exists "users can update their own profile" on public.profiles;
create policy "users can update their own profile"
on public.profiles for update to authenticated
using (id = (select auth.uid()))
with check (id = (select auth.uid()));

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
  ('repeatable', 'profiles', 'profiles.sql', 'de083e3aa3f59eff2aa9ad6eab8c5cf2476c8d1c8a360c807ddd879eae4f28aa')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
