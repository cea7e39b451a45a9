-- Exported by `supakit migrate export` from sql/0012_create_provisioning.sql (sha256 48e0b19cfbdd58704e3e60fffd136636843fd30ac94b32c60bfbdc80229beec4).
-- Edit the source file, not this one.

-- 0012_create_provisioning: provisioning a customer's infrastructure as a saga. SQL owns the state: runs,
-- their steps, an append-only log and the customer's infrastructure record, with every status transition
-- checked by trigger. The worker (functions_py/provisioning) executes the steps and writes progress back after
-- each one. Requests are idempotent under concurrency: at most one live run per organization and kind (a partial
-- unique index), serialised per organization by an advisory lock, and one job per organization (its dedupe key).
-- A subscription (sql/0011) that becomes active or trialing requests provisioning; one that ends (canceled,
-- incomplete_expired) while no other subscription of the organization gives access requests deprovisioning.
-- Also here: the welcome e-mail when an organization gets its first owner, the outcome e-mails of a run, and
-- the broadcast of run and step changes to the organization's private Realtime topic `org:<id>:provisioning`.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table public.provisioning_runs (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  kind text not null default 'provision',
  plan_id text not null,
  provider text,
  reason text not null default 'manual',
  status text not null default 'pending',
  current_step text,
  job_id bigint,
  error text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint provisioning_runs_pkey primary key (id),
  constraint provisioning_runs_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint kind_is_known check (kind in ('provision', 'deprovision')),
  constraint provider_is_a_slug check (provider ~ '^[a-z][a-z0-9_]*$'),
  constraint status_is_known check (
    status in ('pending', 'running', 'succeeded', 'compensating', 'rolled_back', 'failed')
  ),
  constraint finished_iff_finished_at check (
    (status in ('succeeded', 'rolled_back', 'failed')) = (finished_at is not null)
  ),
  constraint started_unless_pending check ((status = 'pending') = (started_at is null))
);
comment on table public.provisioning_runs is
'one attempt to build (kind provision) or tear down (kind deprovision) an organization''s infrastructure';
comment on column public.provisioning_runs.status is
'pending -> running (a worker took it) -> succeeded; running -> compensating (a step failed for good) -> '
'rolled_back (every done step undone) | failed (an undo failed too: resources may be left, retry); a deprovision '
'run goes running -> failed when a step fails (nothing to compensate); failed -> compensating on retry';
comment on column public.provisioning_runs.provider is 'set by the worker when it starts the run (SUPAKIT_PROVISIONING_PROVIDER)';
comment on column public.provisioning_runs.job_id is 'internal.jobs id; not a foreign key because finished jobs are pruned';

create table public.provisioning_steps (
  id bigint generated always as identity,
  run_id uuid not null,
  organization_id uuid not null,
  ordinal integer not null,
  name text not null,
  status text not null default 'pending',
  attempts integer not null default 0,
  idempotency_key text not null,
  output jsonb,
  error text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  compensated_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint provisioning_steps_pkey primary key (id),
  constraint provisioning_steps_run_id_fkey foreign key (run_id)
  references public.provisioning_runs (id) on delete cascade,
  constraint provisioning_steps_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint provisioning_steps_run_id_ordinal_key unique (run_id, ordinal),
  constraint provisioning_steps_idempotency_key_key unique (idempotency_key),
  constraint name_is_a_slug check (name ~ '^[a-z][a-z0-9_]*$'),
  constraint ordinal_is_positive check (ordinal > 0),
  constraint attempts_not_negative check (attempts >= 0),
  constraint status_is_known check (
    status in ('pending', 'running', 'succeeded', 'failed', 'compensating', 'compensated', 'compensation_failed')
  )
);
comment on table public.provisioning_steps is
'the ordered steps of a run; progress is written after each one, so a new worker resumes at the step in flight';
comment on column public.provisioning_steps.status is
'pending -> running -> succeeded | failed; succeeded | failed -> compensating (undo) -> compensated | '
'compensation_failed; compensation_failed -> compensating on retry. running stays running across a resume.';
comment on column public.provisioning_steps.idempotency_key is
'<run id>:<step name>; the provider tags what it creates with it, so a re-run finds the resource instead of '
'creating a second one';

create table public.provisioning_logs (
  id bigint generated always as identity,
  run_id uuid not null,
  organization_id uuid not null,
  step_name text,
  level text not null default 'info',
  message text not null,
  data jsonb not null default '{}',
  created_at timestamptz not null default now(),
  constraint provisioning_logs_pkey primary key (id),
  constraint provisioning_logs_run_id_fkey foreign key (run_id)
  references public.provisioning_runs (id) on delete cascade,
  constraint provisioning_logs_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint level_is_known check (level in ('info', 'warning', 'error')),
  constraint message_is_not_blank check (char_length(btrim(message)) between 1 and 4000)
);
comment on table public.provisioning_logs is
'append-only: every action of every run (step started, done, failed, undone); triggers refuse update and delete';

create table public.customer_infrastructure (
  organization_id uuid not null,
  provider text,
  plan_id text,
  status text not null default 'provisioning',
  subdomain text,
  public_address text,
  resources jsonb not null default '{}',
  last_run_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint customer_infrastructure_pkey primary key (organization_id),
  constraint customer_infrastructure_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint status_is_known check (
    status in ('provisioning', 'active', 'deprovisioning', 'deleted', 'failed')
  ),
  constraint resources_is_an_object check (jsonb_typeof(resources) = 'object')
);
comment on table public.customer_infrastructure is 'what exists for an organization now, per provider; one row per organization';
comment on column public.customer_infrastructure.status is
'provisioning (a run builds it) -> active | deleted (rolled back) | failed (an undo failed: resources may be '
'left); active -> deprovisioning -> deleted; deleted -> provisioning again on a new subscription';
comment on column public.customer_infrastructure.resources is 'each provisioning step''s output by step name (resource ids)';

-- ---------------------------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------------------------

-- exactly one live run per organization and kind: the backstop for concurrent requests
create unique index provisioning_runs_one_live_per_organization_idx
on public.provisioning_runs (organization_id, kind)
where status in ('pending', 'running', 'compensating');
create index provisioning_runs_organization_id_created_at_idx
on public.provisioning_runs (organization_id, created_at desc);
create index provisioning_steps_organization_id_idx on public.provisioning_steps (organization_id);
create index provisioning_logs_run_id_id_idx on public.provisioning_logs (run_id, id);
create index provisioning_logs_organization_id_idx on public.provisioning_logs (organization_id);

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

create function internal.tg_provisioning_runs__check_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  if new.status = old.status then
    return new;
  end if;
  if (old.status, new.status) not in (
    ('pending', 'running'),
    ('running', 'succeeded'),
    ('running', 'compensating'),  -- a provision step failed for good: undo the done ones
    ('running', 'failed'),  -- a deprovision step failed (nothing to compensate)
    ('compensating', 'rolled_back'),
    ('compensating', 'failed'),  -- an undo failed
    ('failed', 'compensating'),  -- retry the compensation of a provision run
    ('failed', 'running')  -- retry a deprovision run
  ) then
    raise exception 'provisioning run %: illegal status transition % -> %', old.id, old.status, new.status
      using errcode = '22023', hint = 'See the comment on public.provisioning_runs.status for the legal transitions.';
  end if;
  return new;
end;
$$;

create function internal.tg_provisioning_steps__check_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  if new.status = old.status then
    return new;
  end if;
  if (old.status, new.status) not in (
    ('pending', 'running'),
    ('running', 'succeeded'),
    ('running', 'failed'),
    ('succeeded', 'compensating'),
    ('failed', 'compensating'),  -- a failed step may have left part of its work: its undo runs too
    ('compensating', 'compensated'),
    ('compensating', 'compensation_failed'),
    ('compensation_failed', 'compensating'),
    ('failed', 'running')  -- retry of a deprovision step
  ) then
    raise exception 'provisioning step % (%): illegal status transition % -> %', old.id, old.name, old.status,
      new.status
      using errcode = '22023', hint = 'See the comment on public.provisioning_steps.status for the legal transitions.';
  end if;
  return new;
end;
$$;

-- Queue the provisioning of an organization's infrastructure; returns the live run's id (the existing one when a
-- run is already live), or null when there is nothing to do: infrastructure already active, or left `failed`
-- by a compensation that failed (an operator retries that run first: `supakit provision retry`).
-- Safe under concurrency: callers for one organization queue behind an advisory lock, the partial unique index
-- refuses a second live run, and the job's dedupe key a second job.
create function internal.request_provisioning(org_id uuid, reason text default 'manual')
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
declare
  run_id uuid;
  infra_status text;
  plan text;
begin
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  select r.id into run_id from public.provisioning_runs as r
  where r.organization_id = org_id and r.kind = 'provision' and r.status in ('pending', 'running', 'compensating');
  if run_id is not null then
    return run_id;
  end if;
  select i.status into infra_status from public.customer_infrastructure as i where i.organization_id = org_id;
  if infra_status in ('active', 'failed') then
    return null;
  end if;
  select p.plan_id into plan from internal.organization_plan(org_id) as p;
  insert into public.provisioning_runs (organization_id, kind, plan_id, reason)
  values (org_id, 'provision', coalesce(plan, 'free'), coalesce(reason, 'manual'))
  returning id into run_id;
  insert into public.customer_infrastructure as i (organization_id, plan_id, status, last_run_id)
  values (org_id, coalesce(plan, 'free'), 'provisioning', run_id)
  on conflict (organization_id) do update
  set plan_id = excluded.plan_id, status = 'provisioning', last_run_id = excluded.last_run_id, updated_at = now();
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run_id), org_id, null, 0, now(), 5,
    'provisioning:' || org_id::text
  )
  where r.id = run_id;
  insert into public.provisioning_logs (run_id, organization_id, message, data)
  values (run_id, org_id, 'provisioning requested', jsonb_build_object('reason', reason, 'plan', plan));
  return run_id;
end;
$$;
comment on function internal.request_provisioning(uuid, text) is
'queue one provisioning run and its provisioning.run job for an organization; idempotent under concurrency';

-- Queue the teardown of an organization's infrastructure; returns the live deprovision run's id, or null when
-- nothing was ever provisioned or it is already deleted. A provisioning run still live is left to finish: the
-- deprovision job waits for it (retries) and then removes what it built.
create function internal.request_deprovisioning(org_id uuid, reason text default 'manual')
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
declare
  run_id uuid;
  infra public.customer_infrastructure;
begin
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  select r.id into run_id from public.provisioning_runs as r
  where r.organization_id = org_id and r.kind = 'deprovision' and r.status in ('pending', 'running', 'compensating');
  if run_id is not null then
    return run_id;
  end if;
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  if infra.organization_id is null or infra.status = 'deleted' then
    return null;
  end if;
  insert into public.provisioning_runs (organization_id, kind, plan_id, provider, reason)
  values (org_id, 'deprovision', coalesce(infra.plan_id, 'free'), infra.provider, coalesce(reason, 'manual'))
  returning id into run_id;
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.deprovision', jsonb_build_object('run_id', run_id), org_id, null, 0, now(), 10,
    'deprovisioning:' || org_id::text
  )
  where r.id = run_id;
  insert into public.provisioning_logs (run_id, organization_id, message, data)
  values (run_id, org_id, 'deprovisioning requested', jsonb_build_object('reason', reason));
  return run_id;
end;
$$;
comment on function internal.request_deprovisioning(uuid, text) is
'queue one deprovision run and its provisioning.deprovision job; idempotent under concurrency';

-- What members see: the infrastructure record, the latest run with its steps, and that run's last 100 log lines.
-- Security invoker: RLS decides, so a caller who is not a member sees no organization and is refused.
create function public.provisioning_status(org_id uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  latest public.provisioning_runs;
begin
  if not exists (select 1 from public.organizations as o where o.id = org_id) then
    raise exception 'organization % not found or you are not a member', org_id
      using errcode = '42501', hint = 'Ask an owner of the organization to invite you.';
  end if;
  select * into latest from public.provisioning_runs as r
  where r.organization_id = org_id order by r.created_at desc, r.id limit 1;
  return jsonb_build_object(
    'organization_id', org_id,
    'infrastructure', (
      select jsonb_build_object(
        'status', i.status, 'provider', i.provider, 'plan_id', i.plan_id, 'subdomain', i.subdomain,
        'public_address', i.public_address, 'updated_at', i.updated_at
      )
      from public.customer_infrastructure as i where i.organization_id = org_id
    ),
    'run', case when latest.id is not null then jsonb_build_object(
      'id', latest.id, 'kind', latest.kind, 'status', latest.status, 'plan_id', latest.plan_id,
      'provider', latest.provider, 'reason', latest.reason, 'current_step', latest.current_step,
      'error', latest.error, 'created_at', latest.created_at, 'started_at', latest.started_at,
      'finished_at', latest.finished_at
    ) end,
    'steps', coalesce((
      select jsonb_agg(jsonb_build_object(
        'ordinal', s.ordinal, 'name', s.name, 'status', s.status, 'attempts', s.attempts, 'error', s.error,
        'started_at', s.started_at, 'finished_at', s.finished_at, 'compensated_at', s.compensated_at
      ) order by s.ordinal)
      from public.provisioning_steps as s where s.run_id = latest.id
    ), '[]'::jsonb),
    'logs', coalesce((
      select jsonb_agg(jsonb_build_object(
        'at', l.created_at, 'level', l.level, 'step', l.step_name, 'message', l.message
      ) order by l.id)
      from (
        select * from public.provisioning_logs as l0 where l0.run_id = latest.id order by l0.id desc limit 100
      ) as l
    ), '[]'::jsonb)
  );
end;
$$;
comment on function public.provisioning_status(uuid) is
'the organization''s infrastructure, latest provisioning run, its steps and recent logs (members only)';

-- A run's outcome moves the infrastructure record and tells the owners by e-mail (once per run and address).
create function internal.tg_provisioning_runs__outcome()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  owner_email text;
  infra public.customer_infrastructure;
  template text;
begin
  if new.status = old.status then
    return null;
  end if;
  if new.kind = 'deprovision' then
    update public.customer_infrastructure as i
    set status = case new.status when 'running' then 'deprovisioning' when 'succeeded' then 'deleted'
        else i.status end,
      resources = case when new.status = 'succeeded' then '{}'::jsonb else i.resources end,
      public_address = case when new.status = 'succeeded' then null else i.public_address end,
      last_run_id = new.id, updated_at = now()
    where i.organization_id = new.organization_id and new.status in ('running', 'succeeded');
    return null;
  end if;
  update public.customer_infrastructure as i
  set status = case new.status when 'succeeded' then 'active' when 'rolled_back' then 'deleted'
      when 'failed' then 'failed' else i.status end,
    provider = coalesce(new.provider, i.provider),
    resources = case when new.status = 'rolled_back' then '{}'::jsonb else i.resources end,
    public_address = case when new.status = 'rolled_back' then null else i.public_address end,
    updated_at = now()
  where i.organization_id = new.organization_id and i.last_run_id = new.id
  returning * into infra;
  template := case new.status when 'succeeded' then 'provisioning_complete'
    when 'rolled_back' then 'provisioning_failed' when 'failed' then 'provisioning_failed' end;
  if template is null then
    return null;
  end if;
  for owner_email in select e from internal.organization_owner_emails(new.organization_id) as e loop
    perform internal.enqueue_email(
      owner_email, template,
      jsonb_build_object(
        'organization_name', (select o.name from public.organizations as o where o.id = new.organization_id),
        'run_id', new.id, 'plan_id', new.plan_id, 'provider', new.provider, 'status', new.status,
        'subdomain', infra.subdomain, 'public_address', infra.public_address, 'error', new.error
      ),
      new.organization_id, template || ':' || new.id::text || ':' || owner_email
    );
  end loop;
  return null;
end;
$$;

-- Private Realtime topic `org:<id>:provisioning`: run and step status for live progress bars (no outputs, which
-- hold resource ids; members read those through PostgREST).
create function internal.tg_provisioning__broadcast()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  current_row record;
  previous_row record;
begin
  if tg_table_name = 'provisioning_runs' then
    select new.id, new.organization_id, new.kind, new.status, new.current_step, new.plan_id, new.provider,
      new.error, new.started_at, new.finished_at, new.updated_at
      into current_row;
    if tg_op = 'UPDATE' then
      if new.status is not distinct from old.status and new.current_step is not distinct from old.current_step then
        return null;
      end if;
      select old.id, old.organization_id, old.kind, old.status, old.current_step, old.plan_id, old.provider,
        old.error, old.started_at, old.finished_at, old.updated_at
        into previous_row;
    end if;
  else
    select new.id, new.run_id, new.organization_id, new.ordinal, new.name, new.status, new.attempts, new.error,
      new.started_at, new.finished_at, new.compensated_at, new.updated_at
      into current_row;
    if tg_op = 'UPDATE' then
      if new.status is not distinct from old.status and new.attempts is not distinct from old.attempts then
        return null;
      end if;
      select old.id, old.run_id, old.organization_id, old.ordinal, old.name, old.status, old.attempts, old.error,
        old.started_at, old.finished_at, old.compensated_at, old.updated_at
        into previous_row;
    end if;
  end if;
  perform realtime.broadcast_changes(
    'org:' || new.organization_id::text || ':provisioning', tg_op, tg_op, tg_table_name, tg_table_schema,
    current_row, previous_row
  );
  return null;
end;
$$;

-- Logs are append-only; the cascade of an organization's (or a run's) deletion may remove them.
create function internal.tg_provisioning_logs__refuse_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and pg_trigger_depth() > 1 then
    return old;
  end if;
  raise exception 'public.provisioning_logs is append-only: % is not allowed', tg_op
    using errcode = '42501';
end;
$$;

-- The welcome e-mail, once per organization: when it gets its first owner.
create function internal.tg_memberships__welcome()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  owner_email text;
begin
  select u.email::text into owner_email from auth.users as u where u.id = new.user_id;
  if owner_email is null or owner_email !~ '^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$' then
    return null;
  end if;
  perform internal.enqueue_email(
    owner_email, 'welcome',
    jsonb_build_object(
      'organization_name', o.name, 'organization_slug', o.slug,
      'full_name', (select p.full_name from public.profiles as p where p.id = new.user_id)
    ),
    new.organization_id, 'welcome:' || new.organization_id::text
  )
  from public.organizations as o where o.id = new.organization_id;
  return null;
end;
$$;

-- The subscription trigger is a thin layer: the request functions are idempotent and safe under concurrency.
create function internal.tg_subscriptions__provisioning()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.status is not distinct from old.status then
    return null;
  end if;
  if new.status in ('active', 'trialing') then
    perform internal.request_provisioning(new.organization_id, 'subscription ' || new.status);
  elsif new.status in ('canceled', 'incomplete_expired') and not exists (
    select 1 from public.subscriptions as s
    where s.organization_id = new.organization_id and s.id <> new.id and s.status in ('active', 'trialing', 'past_due')
  ) then
    perform internal.request_deprovisioning(new.organization_id, 'subscription ' || new.status);
  end if;
  return null;
end;
$$;

revoke all on function internal.tg_subscriptions__provisioning() from public;
revoke all on function internal.tg_provisioning_runs__check_transition() from public;
revoke all on function internal.tg_provisioning_steps__check_transition() from public;
revoke all on function internal.request_provisioning(uuid, text) from public;
revoke all on function internal.request_deprovisioning(uuid, text) from public;
revoke all on function public.provisioning_status(uuid) from public;
revoke all on function internal.tg_provisioning_runs__outcome() from public;
revoke all on function internal.tg_provisioning__broadcast() from public;
revoke all on function internal.tg_provisioning_logs__refuse_change() from public;
revoke all on function internal.tg_memberships__welcome() from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _100_check_transition
before update on public.provisioning_runs
for each row execute function internal.tg_provisioning_runs__check_transition();

create trigger _100_check_transition
before update on public.provisioning_steps
for each row execute function internal.tg_provisioning_steps__check_transition();

create trigger _500_outcome
after update of status on public.provisioning_runs
for each row execute function internal.tg_provisioning_runs__outcome();

create trigger _900_broadcast
after insert or update on public.provisioning_runs
for each row execute function internal.tg_provisioning__broadcast();

create trigger _900_broadcast
after insert or update on public.provisioning_steps
for each row execute function internal.tg_provisioning__broadcast();

create trigger _100_refuse_change
before update or delete on public.provisioning_logs
for each row execute function internal.tg_provisioning_logs__refuse_change();

create trigger _100_refuse_truncate
before truncate on public.provisioning_logs
for each statement execute function internal.tg_refuse_change();

create trigger _600_request_provisioning
after insert or update of status on public.subscriptions
for each row execute function internal.tg_subscriptions__provisioning();

create trigger _800_welcome
after insert on public.memberships
for each row when (new.role = 'owner')
execute function internal.tg_memberships__welcome();

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
  ('versioned', '0012', '0012_create_provisioning.sql', '48e0b19cfbdd58704e3e60fffd136636843fd30ac94b32c60bfbdc80229beec4')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
