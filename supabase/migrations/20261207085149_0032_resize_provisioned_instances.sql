-- Exported by `supakit migrate export` from sql/0032_resize_provisioned_instances.sql (sha256 d2467911268e35f9f52788147ea43996f0a987fe26f3b0639b6882deb1645309).
-- Edit the source file, not this one.

-- 0032_resize_provisioned_instances: resizing a provisioned customer's instance when its plan changes (issue 19),
-- as a saga on the provisioning engine of sql/0012 and 0016: a run of kind `resize` with the steps snapshot ->
-- launch (a new instance from the snapshot) -> verify -> switch_dns -> retire_old (functions_py/provisioning/
-- resize.py), executed by the `provisioning.run` job like any run.
-- * Requests: internal.request_resize(org, reason, instance_type). A subscription that gives access (active,
--   trialing) and whose plan or status changes calls it in the webhook's transaction; `supakit provision resize`
--   calls it too. The desired size is the organization's effective plan (internal.organization_plan) or, when
--   asked for, an explicit instance type (kept until the plan next changes).
-- * One resize per organization at a time: the partial unique index of sql/0012 on (organization_id, kind) for
--   live runs covers the new kind, and request_resize serialises callers with the organization's advisory lock.
--   A request while a resize is live is merged: a resize not started yet is retargeted (the latest request wins;
--   one whose new target is what runs now is dropped as superseded), a running one keeps running and the latest
--   request waits in internal.resize_requests; when the running one ends, that request (or, without one, a plan
--   that changed meanwhile) is applied. A resize is requested only while the infrastructure is active: one that
--   arrives during provisioning is applied when provisioning succeeds.
-- * Point of no return: once switch_dns succeeded the new instance takes traffic (and writes), so the run is never
--   compensated after that; a later failure (retire_old) leaves it `failed` and a retry finishes it forward. Before
--   that, a failure compensates: the new instance and the snapshot are removed, the old instance is untouched.
-- * The switch moves customer_infrastructure to the new instance; the outcome is e-mailed to the owners through
--   the outbox (resize_complete, resize_failed). Progress is broadcast on `org:<id>:provisioning` by sql/0012's
--   triggers, as for every run.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

alter table public.provisioning_runs
drop constraint kind_is_known,
add constraint kind_is_known check (kind in ('provision', 'deprovision', 'backup', 'restore', 'resize')),
add column instance_type text,
add column previous_plan_id text,
add column previous_instance_type text,
add constraint instance_type_is_an_instance_type check (instance_type ~ '^[a-z][a-z0-9-]*\.[a-z0-9]+$');
comment on column public.provisioning_runs.instance_type is
'resize runs: the instance type the run makes (the plan''s, or the one asked for with --instance-type)';
comment on column public.provisioning_runs.previous_plan_id is
'resize runs: the plan the replaced instance was sized for';
comment on column public.provisioning_runs.previous_instance_type is
'resize runs: the instance type of the replaced instance';

create table internal.resize_requests (
  organization_id uuid not null,
  instance_type text,
  reason text not null,
  requested_at timestamptz not null default now(),
  constraint resize_requests_pkey primary key (organization_id),
  constraint resize_requests_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade
);
comment on table internal.resize_requests is
'the latest resize asked for while one was running: at most one per organization (a newer request replaces it); '
'applied when the running resize ends';
comment on column internal.resize_requests.instance_type is 'null: size by the organization''s plan';

alter table internal.outbox_emails
drop constraint template_is_known,
add constraint template_is_known check (
  template in (
    'welcome', 'provisioning_complete', 'provisioning_failed', 'payment_failed',
    'auth.signup', 'auth.magiclink', 'auth.recovery', 'auth.invite', 'auth.email_change', 'auth.reauthentication',
    'backup_failed', 'restore_complete', 'restore_failed', 'resize_complete', 'resize_failed'
  )
);

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- The instance type of a plan, as functions_py/provisioning/provider.py INSTANCE_TYPES has it (a test keeps the
-- two equal): free t3.micro (starter), pro t3.small (business), team t3.medium (enterprise); others the smallest.
create function internal.plan_instance_type(plan_id text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case plan_id when 'pro' then 't3.small' when 'team' then 't3.medium' else 't3.micro' end
$$;

-- The instance type the infrastructure runs now, from its recorded instance (aws: instance_type, local: size).
create function internal.current_instance_type(resources jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select coalesce(resources #>> '{instance,instance_type}', resources #>> '{instance,size}')
$$;

-- Whether a run is past its point of no return: a resize whose switch_dns step succeeded (the new instance takes
-- traffic). Such a run is finished forward, never compensated.
create function internal.provisioning_run_committed(run_id uuid)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (
    select 1 from public.provisioning_runs as r
    inner join public.provisioning_steps as s on s.run_id = r.id
    where r.id = provisioning_run_committed.run_id and r.kind = 'resize' and s.name = 'switch_dns'
      and s.status = 'succeeded'
  )
$$;

-- Request a resize of the organization's instance (see the file's header). `instance_type` null: the size of
-- the organization's effective plan, requested only when that plan differs from the one the instance was sized
-- for; given: that type, requested when it differs from the one running. Returns the run acted on and what was
-- done:
--   'requested'   a new resize run (and its job) was queued
--   'merged'      the resize not started yet was retargeted
--   'superseded'  the resize not started yet was dropped: its new target is what runs now
--   'queued'      a resize is running (or the last one failed and awaits `supakit provision retry`): the request
--                 waits in internal.resize_requests and is applied after it (run_id: that run)
--   'updated'     only the plan changed, not the instance type: the record says the new plan, no run
--   'nothing'     the instance already has that size
--   'not_active'  nothing is provisioned and active (a provisioning run applies the plan when it succeeds)
create function internal.request_resize(
  org_id uuid, reason text default 'manual', instance_type text default null, out run_id uuid, out action text
)
language plpgsql
volatile
set search_path = ''
as $$
declare
  infra public.customer_infrastructure;
  live public.provisioning_runs;
  last_status text;
  target_plan text;
  target_type text;
  current_type text;
  wanted text := coalesce(nullif(btrim(request_resize.reason), ''), 'manual');
  needed boolean;
begin
  if request_resize.instance_type is not null
    and request_resize.instance_type !~ '^[a-z][a-z0-9-]*\.[a-z0-9]+$' then
    raise exception '"%" is not an instance type', left(request_resize.instance_type, 100)
      using errcode = '22023', hint = 'Name an EC2 instance type such as t3.medium.';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  if infra.organization_id is null or infra.status <> 'active' or exists (
    select 1 from public.provisioning_runs as r
    where r.organization_id = org_id and r.kind = 'deprovision' and r.status in ('pending', 'running', 'compensating')
  ) then
    action := 'not_active';
    return;
  end if;
  select p.plan_id into target_plan from internal.organization_plan(org_id) as p;
  target_plan := coalesce(target_plan, 'free');
  target_type := coalesce(request_resize.instance_type, internal.plan_instance_type(target_plan));
  current_type := internal.current_instance_type(infra.resources);
  needed := case when request_resize.instance_type is null then target_plan is distinct from infra.plan_id
    else target_type is distinct from current_type end;

  select * into live from public.provisioning_runs as r
  where r.organization_id = org_id and r.kind = 'resize' and r.status in ('pending', 'running', 'compensating');
  if live.id is null then
    select r.status into last_status from public.provisioning_runs as r
    where r.organization_id = org_id and r.kind = 'resize' order by r.created_at desc, r.id limit 1;
  end if;

  if live.status = 'pending' then
    -- not started: the latest request wins (a worker that starts it meanwhile makes this update miss)
    update public.provisioning_runs as r
    set plan_id = target_plan, instance_type = target_type, reason = wanted
    where r.id = live.id and r.status = 'pending'
    returning * into live;
    if live.id is not null then
      run_id := live.id;
      if not needed or target_type is not distinct from current_type then
        update public.provisioning_runs as r set status = 'running', started_at = now() where r.id = live.id;
        update public.provisioning_runs as r set status = 'compensating' where r.id = live.id;
        update public.provisioning_runs as r
        set status = 'rolled_back', finished_at = now(),
          error = 'superseded before it started: ' || left(wanted, 200) || ' asks for the size that runs now'
        where r.id = live.id;
        perform internal.log_provisioning(live.id, null, 'info',
          'resize superseded before it started: the instance already has the size now asked for');
        action := 'superseded';
      else
        perform internal.log_provisioning(live.id, null, 'info',
          'resize retargeted before it started: ' || target_type || ' (plan ' || target_plan || ')',
          jsonb_build_object('reason', wanted, 'plan', target_plan, 'instance_type', target_type));
        action := 'merged';
      end if;
      return;
    end if;
    select * into live from public.provisioning_runs as r
    where r.organization_id = org_id and r.kind = 'resize' and r.status in ('pending', 'running', 'compensating');
  end if;

  if live.id is not null or last_status = 'failed' then
    -- one resize at a time: this one waits; a newer request replaces an older waiting one. (No log line on the
    -- running run here: the worker holds its row locked while it waits for this lock.)
    insert into internal.resize_requests as q (organization_id, instance_type, reason)
    values (org_id, request_resize.instance_type, wanted)
    on conflict (organization_id) do update
    set instance_type = excluded.instance_type, reason = excluded.reason, requested_at = now();
    run_id := live.id;
    action := 'queued';
    return;
  end if;

  if not needed then
    action := 'nothing';
    return;
  end if;
  if target_type is not distinct from current_type then
    update public.customer_infrastructure as i set plan_id = target_plan, updated_at = now()
    where i.organization_id = org_id;
    action := 'updated';
    return;
  end if;

  insert into public.provisioning_runs (
    organization_id, kind, plan_id, provider, reason, instance_type, previous_plan_id, previous_instance_type
  )
  values (org_id, 'resize', target_plan, infra.provider, wanted, target_type, infra.plan_id, current_type)
  returning id into run_id;
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run_id), org_id, null, 0, now(), 5, 'resize:' || org_id::text
  )
  where r.id = run_id;
  perform internal.log_provisioning(run_id, null, 'info',
    'resize requested: ' || coalesce(current_type, 'unknown') || ' -> ' || target_type,
    jsonb_build_object('reason', wanted, 'from_plan', infra.plan_id, 'to_plan', target_plan,
      'from_instance_type', current_type, 'to_instance_type', target_type));
  action := 'requested';
end;
$$;
comment on function internal.request_resize(uuid, text, text) is
'request (or merge into the live one) a resize of the organization''s instance; one resize at a time';

-- As in sql/0031 (every kind but deprovision is compensated), except a resize: before its point of no return a
-- step that fails for good compensates it (as a provision run), after it the run is failed (the new instance
-- serves; a retry finishes it forward).
create or replace function internal.fail_provisioning_step(step_id bigint, message text, for_good boolean)
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  run public.provisioning_runs;
  step public.provisioning_steps;
begin
  run := internal.provisioning_step_run(step_id, 'running');
  if not for_good then
    update public.provisioning_steps as s set error = left(message, 4000) where s.id = step_id
    returning * into step;
    perform internal.log_provisioning(run.id, step.name, 'warning', 'step failed, will be retried: ' || message);
    return run.status;
  end if;
  update public.provisioning_steps as s
  set status = 'failed', error = left(message, 4000), finished_at = now()
  where s.id = step_id
  returning * into step;
  if run.kind <> 'deprovision' and not internal.provisioning_run_committed(run.id) then
    perform internal.move_provisioning_run(
      run.id, 'compensating', 'step ' || step.name || ' failed for good: ' || message || '; rolling back', 'error',
      left('step ' || step.name || ' failed: ' || message, 2000), step.name
    );
    return 'compensating';
  end if;
  perform internal.move_provisioning_run(
    run.id, 'failed', 'step ' || step.name || ' failed: ' || message || case run.kind
      when 'resize' then '; the new instance serves; fix the cause and run `supakit provision retry`'
      else '; request deprovisioning again once fixed' end,
    'error', left('step ' || step.name || ' failed: ' || message, 2000), step.name
  );
  return 'failed';
end;
$$;

-- As in sql/0022, plus resize runs: a rolled-back resize is requested again (same instance type), and a live or
-- failed one has its `provisioning.run` job queued again (its deprovision-run twin keeps provisioning.deprovision).
-- Backup and restore runs (sql/0031) are not what `provision retry` means: their jobs retry them, and a new backup
-- or restore is requested with `supakit provision backup|restore`; the latest infrastructure run decides.
create or replace function internal.retry_provisioning(org_id uuid, out run_id uuid, out action text)
language plpgsql
volatile
set search_path = ''
as $$
declare
  latest record;
begin
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  select r.id, r.kind, r.status, r.instance_type, j.status::text as job_status into latest
  from public.provisioning_runs as r left join internal.jobs as j on r.job_id = j.id
  where r.organization_id = org_id and r.kind in ('provision', 'deprovision', 'resize')
  order by r.created_at desc, r.id
  limit 1;
  if latest.id is null then
    action := 'no_run';
  elsif latest.status = 'succeeded' then
    run_id := latest.id;
    action := 'succeeded';
  elsif latest.status = 'rolled_back' and latest.kind = 'resize' then
    select q.run_id into run_id from internal.request_resize(org_id, 'retry', latest.instance_type) as q;
    action := 'requested';
  elsif latest.status = 'rolled_back' then
    run_id := internal.request_provisioning(org_id, 'retry');
    action := 'requested';
  elsif latest.kind = 'deprovision' and latest.status = 'failed' then
    run_id := internal.request_deprovisioning(org_id, 'retry');
    action := 'requested';
  elsif latest.job_status in ('queued', 'running') then
    run_id := latest.id;
    action := 'left';
  else
    update public.provisioning_runs as r
    set job_id = internal.enqueue_job(
      case r.kind when 'deprovision' then 'provisioning.deprovision' else 'provisioning.run' end,
      jsonb_build_object('run_id', r.id), r.organization_id, null, 0, now(),
      case r.kind when 'deprovision' then 10 else 5 end,
      case r.kind when 'deprovision' then 'deprovisioning:' when 'resize' then 'resize:' else 'provisioning:' end
      || r.organization_id::text
    )
    where r.id = latest.id;
    insert into public.provisioning_logs (run_id, organization_id, message)
    values (latest.id, org_id, 'retry requested');
    run_id := latest.id;
    action := 'requeued';
  end if;
end;
$$;

-- A subscription that gives access and whose plan or status changed: the organization's instance follows its
-- effective plan. A thin layer: request_resize decides, idempotently (a repeated or stale event changes no row, or
-- asks for the size already requested).
create function internal.tg_subscriptions__resize()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and (new.plan_id, new.status) is not distinct from (old.plan_id, old.status) then
    return null;
  end if;
  perform internal.request_resize(new.organization_id, 'subscription ' || new.status || ' on plan ' || new.plan_id);
  return null;
end;
$$;

-- The resize's switch_dns step succeeded: the new instance takes traffic, so the infrastructure record says so
-- (its instance, address, plan; the dns record's address), keeping the launch step's idempotency key with the
-- instance as provisioning does (a teardown finds the instance by it).
create function internal.tg_provisioning_steps__resize_switch()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  run public.provisioning_runs;
  launch public.provisioning_steps;
begin
  select * into run from public.provisioning_runs as r where r.id = new.run_id;
  if run.kind <> 'resize' then
    return null;
  end if;
  select * into launch from public.provisioning_steps as s where s.run_id = run.id and s.name = 'launch';
  update public.customer_infrastructure as i
  set resources = i.resources || jsonb_build_object(
      'instance', coalesce(launch.output, '{}') || jsonb_build_object('idempotency_key', launch.idempotency_key),
      'dns', coalesce(i.resources -> 'dns', '{}') || jsonb_build_object('address', launch.output ->> 'public_address')
    ),
    public_address = coalesce(launch.output ->> 'public_address', i.public_address),
    plan_id = run.plan_id, updated_at = now()
  where i.organization_id = run.organization_id;
  return null;
end;
$$;

-- A resize's outcome, e-mailed to the owners once per run and address: resize_complete when it succeeded,
-- resize_failed when it was rolled back or failed. A resize dropped before any step started says nothing.
create function internal.tg_provisioning_runs__resize_outcome()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  owner_email text;
  template text := case new.status when 'succeeded' then 'resize_complete' else 'resize_failed' end;
  infra public.customer_infrastructure;
begin
  if new.status = old.status or not exists (
    select 1 from public.provisioning_steps as s where s.run_id = new.id and s.status <> 'pending'
  ) then
    return null;
  end if;
  select * into infra from public.customer_infrastructure as i where i.organization_id = new.organization_id;
  for owner_email in select e from internal.organization_owner_emails(new.organization_id) as e loop
    perform internal.enqueue_email(
      owner_email, template,
      jsonb_build_object(
        'organization_name', (select o.name from public.organizations as o where o.id = new.organization_id),
        'run_id', new.id, 'plan_id', new.plan_id, 'previous_plan_id', new.previous_plan_id,
        'instance_type', new.instance_type, 'previous_instance_type', new.previous_instance_type,
        'provider', new.provider, 'status', new.status, 'error', new.error, 'subdomain', infra.subdomain,
        'public_address', infra.public_address
      ),
      new.organization_id, template || ':' || new.id::text || ':' || owner_email
    );
  end loop;
  return null;
end;
$$;

-- After a provisioning run succeeds, or a resize that did something ends (succeeded or rolled back): apply the
-- resize that waited for it, else follow a plan that changed while it ran. A rolled-back resize is not retried to
-- the same target by itself; a failed one waits for `supakit provision retry` (its waiting request stays queued).
create function internal.tg_provisioning_runs__follow_up()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  queued internal.resize_requests;
  plan text;
begin
  if new.status = old.status or new.status = 'failed'
    or (new.kind = 'provision' and new.status <> 'succeeded')
    or (new.kind = 'resize' and not exists (
      select 1 from public.provisioning_steps as s where s.run_id = new.id and s.status <> 'pending'
    )) then
    return null;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || new.organization_id::text, 0));
  delete from internal.resize_requests as q where q.organization_id = new.organization_id returning * into queued;
  if queued.organization_id is not null then
    perform internal.request_resize(new.organization_id, queued.reason, queued.instance_type);
    return null;
  end if;
  if new.kind = 'resize' and new.status <> 'succeeded' then
    select p.plan_id into plan from internal.organization_plan(new.organization_id) as p;
    if coalesce(plan, 'free') = new.plan_id then
      return null;
    end if;
  end if;
  perform internal.request_resize(new.organization_id, 'plan changed while the ' || new.kind || ' run ran');
  return null;
end;
$$;

revoke all on function internal.plan_instance_type(text) from public;
revoke all on function internal.current_instance_type(jsonb) from public;
revoke all on function internal.provisioning_run_committed(uuid) from public;
revoke all on function internal.request_resize(uuid, text, text) from public;
revoke all on function internal.fail_provisioning_step(bigint, text, boolean) from public;
revoke all on function internal.retry_provisioning(uuid) from public;
revoke all on function internal.tg_subscriptions__resize() from public;
revoke all on function internal.tg_provisioning_steps__resize_switch() from public;
revoke all on function internal.tg_provisioning_runs__resize_outcome() from public;
revoke all on function internal.tg_provisioning_runs__follow_up() from public;
revoke all on table internal.resize_requests from public, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

-- sql/0012's outcome trigger (infrastructure record, provisioning e-mails) is for provision and deprovision runs;
-- a resize has its own.
drop trigger _500_outcome on public.provisioning_runs;
create trigger _500_outcome
after update of status on public.provisioning_runs
for each row when (new.kind in ('provision', 'deprovision'))
execute function internal.tg_provisioning_runs__outcome();

create trigger _510_resize_outcome
after update of status on public.provisioning_runs
for each row when (new.kind = 'resize' and new.status in ('succeeded', 'rolled_back', 'failed'))
execute function internal.tg_provisioning_runs__resize_outcome();

create trigger _550_follow_up
after update of status on public.provisioning_runs
for each row when (new.kind in ('provision', 'resize') and new.status in ('succeeded', 'rolled_back'))
execute function internal.tg_provisioning_runs__follow_up();

create trigger _600_resize_switch
after update of status on public.provisioning_steps
for each row when (new.name = 'switch_dns' and new.status = 'succeeded')
execute function internal.tg_provisioning_steps__resize_switch();

create trigger _610_request_resize
after insert or update of plan_id, status on public.subscriptions
for each row when (new.status in ('active', 'trialing'))
execute function internal.tg_subscriptions__resize();

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
create table if not exists supakit_migrations.repeatable_objects (
  file_key text not null,
  object_kind text not null,
  schema_name text not null,
  table_name text not null,
  name text not null,
  constraint repeatable_objects_pkey primary key (file_key, object_kind, schema_name, table_name, name),
  constraint object_kind_is_known check (object_kind in ('policy', 'grant'))
);
comment on table supakit_migrations.repeatable_objects is
'what each repeatable file created when last applied (policy: its name; grant: a role it named on a table it '
'declares), so that applying it again withdraws what it no longer creates (functions_py/migrations/ownership.py)';
insert into supakit_migrations.ledger (kind, key, name, checksum)
values
  ('versioned', '0032', '0032_resize_provisioned_instances.sql', 'd2467911268e35f9f52788147ea43996f0a987fe26f3b0639b6882deb1645309')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
