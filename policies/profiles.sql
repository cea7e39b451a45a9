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
