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
