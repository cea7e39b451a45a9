-- 0001_create_profiles: the private `internal` schema, and `public.profiles`, one row per auth.users row,
-- created from the user's sign-up metadata by a trigger on auth.users.
-- Grants, row level security and policies for these objects live in policies/profiles.sql.

-- ---------------------------------------------------------------------------------------------------------
-- schemas
-- ---------------------------------------------------------------------------------------------------------

-- Not exposed through the Data API; clients reach what is here only through RPCs and policies.
create schema if not exists internal;
comment on schema internal is
'supakit internals: helpers, queues, ledgers. Not exposed through PostgREST; no grants to anon/authenticated.';
revoke all on schema internal from public;
-- functions created here later are not executable by PUBLIC unless granted (policies grant what they need)
alter default privileges in schema internal revoke execute on functions from public;

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table public.profiles (
  id uuid not null,
  full_name text,
  avatar_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint profiles_pkey primary key (id),
  -- only the primary key of Supabase-managed tables is referenced (Supabase's guidance)
  constraint profiles_id_fkey foreign key (id) references auth.users (id) on delete cascade,
  constraint full_name_is_short check (char_length(full_name) <= 200),
  constraint avatar_url_is_short check (char_length(avatar_url) <= 2048)
);
comment on table public.profiles is
'public profile of a user, one per auth.users row; created by tg_users__create_profile on sign-up';
comment on column public.profiles.full_name is
'from raw_user_meta_data full_name (e-mail sign-up) or name (OAuth providers) at sign-up; then user-editable';
comment on column public.profiles.avatar_url is
'from raw_user_meta_data avatar_url or picture (OAuth providers) at sign-up; then user-editable';

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- Generic: keeps updated_at current on any table that has the column.
create function internal.tg_set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function internal.tg_set_updated_at() is 'before update trigger: sets updated_at to now()';

-- Security definer: it runs inside Supabase Auth's insert into auth.users, whose role cannot write
-- public.profiles. search_path is pinned and every name is qualified.
create function internal.tg_users__create_profile()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, full_name, avatar_url)
  values (
    new.id,
    nullif(coalesce(new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'name'), ''),
    nullif(coalesce(new.raw_user_meta_data ->> 'avatar_url', new.raw_user_meta_data ->> 'picture'), '')
  )
  on conflict (id) do nothing;
  return new;
end;
$$;
comment on function internal.tg_users__create_profile() is
'after insert on auth.users: creates the public.profiles row from raw_user_meta_data';

revoke all on function internal.tg_set_updated_at() from public;
revoke all on function internal.tg_users__create_profile() from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _100_set_updated_at
before update on public.profiles
for each row execute function internal.tg_set_updated_at();

create trigger on_auth_user_created__create_profile
after insert on auth.users
for each row execute function internal.tg_users__create_profile();
