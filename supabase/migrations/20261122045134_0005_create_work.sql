-- Exported by `supakit migrate export` from sql/0005_create_work.sql (sha256 878389f051e6e5232022f8cd60a142235d879c5bb5638bf005a4e4272f11a928).
-- Edit the source file, not this one.

-- 0005_create_work: the example work domain from the seeds' client and assistant dashboards: projects and
-- tasks per organization. Who may do what is in policies/work.sql; what an assignee may change is enforced by
-- a trigger here.

-- ---------------------------------------------------------------------------------------------------------
-- types
-- ---------------------------------------------------------------------------------------------------------

create type public.task_status as enum (
  'todo',  -- created, not started
  'in_progress',  -- todo -> in_progress: someone works on it
  'blocked',  -- waiting on something outside the task
  'done'  -- finished; completed_at is set
);

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table public.projects (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  name text not null,
  description text,
  archived_at timestamptz,
  created_by uuid default auth.uid(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint projects_pkey primary key (id),
  -- lets tasks reference (project, organization) so a task always sits in its project's organization
  constraint projects_id_organization_id_key unique (id, organization_id),
  constraint projects_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint projects_created_by_fkey foreign key (created_by) references auth.users (id) on delete set null,
  constraint name_is_not_blank check (char_length(btrim(name)) between 1 and 200)
);
comment on table public.projects is 'a client project of an organization';
comment on column public.projects.archived_at is 'active -> archived: set when the project is archived';

create table public.tasks (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  project_id uuid not null,
  title text not null,
  description text,
  status public.task_status not null default 'todo',
  assignee_id uuid,
  due_on date,
  completed_at timestamptz,
  created_by uuid default auth.uid(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tasks_pkey primary key (id),
  constraint tasks_project_fkey foreign key (project_id, organization_id)
  references public.projects (id, organization_id) on delete cascade,
  constraint tasks_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint tasks_assignee_id_fkey foreign key (assignee_id) references auth.users (id) on delete set null,
  constraint tasks_created_by_fkey foreign key (created_by) references auth.users (id) on delete set null,
  constraint title_is_not_blank check (char_length(btrim(title)) between 1 and 500),
  constraint done_iff_completed_at check ((status = 'done') = (completed_at is not null))
);
comment on table public.tasks is 'a task in a project, optionally assigned to a member of the organization';

-- ---------------------------------------------------------------------------------------------------------
-- indexes (every column a policy filters on, every foreign key)
-- ---------------------------------------------------------------------------------------------------------

create index projects_organization_id_idx on public.projects (organization_id);
create index projects_created_by_idx on public.projects (created_by);
create index tasks_organization_id_status_idx on public.tasks (organization_id, status);
create index tasks_project_id_organization_id_idx on public.tasks (project_id, organization_id);
create index tasks_assignee_id_idx on public.tasks (assignee_id);
create index tasks_created_by_idx on public.tasks (created_by);

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- Before insert or update of a task:
--   * the assignee must be a member of the task's organization;
--   * completed_at follows status (set when it becomes done, cleared when it leaves done);
--   * a user who is not a manager or above (an assignee: member or assistant) may change only the status.
create function internal.tg_tasks__enforce_rules()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  actor uuid := (select auth.uid());
begin
  if new.assignee_id is not null
    and (tg_op = 'INSERT' or new.assignee_id is distinct from old.assignee_id)
    and not exists (
      select 1 from public.memberships as m
      where m.organization_id = new.organization_id and m.user_id = new.assignee_id
    ) then
    raise exception 'the assignee is not a member of this organization'
      using errcode = '22023', hint = 'Invite them first, or assign the task to a member.';
  end if;

  if tg_op = 'UPDATE' and actor is not null
    and not internal.has_org_role(new.organization_id, '{owner,admin,manager}')
    and (to_jsonb(new) - '{status,completed_at,updated_at}'::text[])
    is distinct from (to_jsonb(old) - '{status,completed_at,updated_at}'::text[]) then
    raise exception 'assignees may change only the status of a task'
      using errcode = '42501', hint = 'Ask a manager to change anything else.';
  end if;

  if new.status = 'done' and (tg_op = 'INSERT' or old.status <> 'done') then
    new.completed_at := now();
  elsif new.status <> 'done' then
    new.completed_at := null;
  end if;
  return new;
end;
$$;

-- Before update: a row never moves to another organization. Without this, a user with write rights in two
-- organizations could pass the USING check in one and the WITH CHECK in the other and carry a row across.
create function internal.tg_pin_organization()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.organization_id is distinct from old.organization_id then
    raise exception 'a % cannot move to another organization', tg_argv[0]
      using errcode = '22023', hint = 'Create it in the other organization and delete this one.';
  end if;
  return new;
end;
$$;

-- Before insert: a signed-in user is always recorded as the creator (clients cannot claim someone else).
create function internal.tg_set_created_by()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (select auth.uid()) is not null then
    new.created_by := (select auth.uid());
  end if;
  return new;
end;
$$;

revoke all on function internal.tg_tasks__enforce_rules() from public;
revoke all on function internal.tg_set_created_by() from public;
revoke all on function internal.tg_pin_organization() from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _100_set_updated_at
before update on public.projects
for each row execute function internal.tg_set_updated_at();

create trigger _100_set_created_by
before insert on public.projects
for each row execute function internal.tg_set_created_by();

create trigger _100_set_updated_at
before update on public.tasks
for each row execute function internal.tg_set_updated_at();

create trigger _100_set_created_by
before insert on public.tasks
for each row execute function internal.tg_set_created_by();

create trigger _050_pin_organization
before update on public.projects
for each row execute function internal.tg_pin_organization('project');

create trigger _050_pin_organization
before update on public.tasks
for each row execute function internal.tg_pin_organization('task');

create trigger _200_enforce_rules
before insert or update on public.tasks
for each row execute function internal.tg_tasks__enforce_rules();

create trigger _900_audit
after insert or update or delete on public.projects
for each row execute function internal.tg_audit('organization_id', 'id');

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
  ('versioned', '0005', '0005_create_work.sql', '878389f051e6e5232022f8cd60a142235d879c5bb5638bf005a4e4272f11a928')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
