-- Exported by `supakit migrate export` from sql/0007_create_generations.sql (sha256 89503dca16a9a4fcdc1d76754921cb4410117e175ba075a52d5a8c30c1d7eb3d).
-- Edit the source file, not this one.

-- 0007_create_generations: AI generation requests (the user-facing record of an `ai.generate` job), plans and
-- quotas, usage counters, analytics events, and live status for subscribers. The job queue (0006) runs the
-- work; triggers here mirror each job's progress onto its generation, count usage when it finishes, and
-- broadcast every status change to the organization's private Realtime topic `org:<id>:jobs`.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table public.plans (
  id text not null,
  name text not null,
  daily_generation_limit integer,
  monthly_generation_limit integer,
  queue_priority integer not null default 0,
  created_at timestamptz not null default now(),
  constraint plans_pkey primary key (id),
  constraint id_is_a_slug check (id ~ '^[a-z][a-z0-9_]*$'),
  constraint limits_are_positive check (
    coalesce(daily_generation_limit, 1) > 0 and coalesce(monthly_generation_limit, 1) > 0
  )
);
comment on table public.plans is 'what each plan allows; issue "Billing" adds prices and Stripe ids';
comment on column public.plans.daily_generation_limit is 'generations per organization per UTC day; null: unlimited';
comment on column public.plans.queue_priority is 'the priority of the plan''s jobs in the queue (higher runs first)';

insert into public.plans (id, name, daily_generation_limit, monthly_generation_limit, queue_priority)
values ('free', 'Free', 5, null, 0), ('pro', 'Pro', 50, null, 10), ('team', 'Team', null, null, 20);

-- Until billing decides entitlements from subscriptions, an organization's plan is assigned here (by the
-- service role or an operator); organizations without a row are on Free.
create table internal.plan_assignments (
  organization_id uuid not null,
  plan_id text not null,
  assigned_at timestamptz not null default now(),
  constraint plan_assignments_pkey primary key (organization_id),
  constraint plan_assignments_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint plan_assignments_plan_id_fkey foreign key (plan_id) references public.plans (id)
);
comment on table internal.plan_assignments is 'manual plan per organization until billing (issue "Billing") takes over';

create table public.generations (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  user_id uuid,
  job_id bigint,
  prompt text not null,
  app_type text not null default 'generic',
  status text not null default 'queued',
  result text,
  error_message text,
  model text,
  input_tokens integer,
  output_tokens integer,
  duration_ms integer,
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint generations_pkey primary key (id),
  constraint generations_job_id_key unique (job_id),
  constraint generations_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint generations_user_id_fkey foreign key (user_id) references auth.users (id) on delete set null,
  constraint prompt_is_not_blank check (char_length(btrim(prompt)) between 1 and 20000),
  constraint app_type_is_a_slug check (app_type ~ '^[a-z][a-z0-9_-]{0,39}$'),
  constraint status_is_a_job_status check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  constraint completed_iff_finished check (
    (status in ('succeeded', 'failed', 'cancelled')) = (completed_at is not null)
  )
);
comment on table public.generations is
'an AI generation request and its outcome; status mirrors its ai.generate job (internal.jobs, job_id)';
comment on column public.generations.status is
'queued -> running -> succeeded | failed | cancelled; running -> queued again while a retry waits';
comment on column public.generations.job_id is 'internal.jobs id; not a foreign key because finished jobs are pruned';

create table public.usage_counters (
  organization_id uuid not null,
  user_id uuid not null,
  period text not null,
  period_start date not null,
  generations integer not null default 0,
  input_tokens bigint not null default 0,
  output_tokens bigint not null default 0,
  updated_at timestamptz not null default now(),
  constraint usage_counters_pkey primary key (organization_id, user_id, period, period_start),
  constraint usage_counters_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint usage_counters_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade,
  constraint period_is_day_or_month check (period in ('day', 'month')),
  constraint counts_are_not_negative check (generations >= 0 and input_tokens >= 0 and output_tokens >= 0)
);
comment on table public.usage_counters is
'succeeded generations and tokens per organization, user and UTC day / month; updated when a job finishes';

create table internal.analytics_events (
  id bigint generated always as identity,
  occurred_at timestamptz not null default now(),
  event text not null,
  organization_id uuid,
  user_id uuid,
  generation_id uuid,
  job_id bigint,
  properties jsonb not null default '{}',
  constraint analytics_events_pkey primary key (id),
  constraint event_is_known check (
    event in (
      'generation.requested', 'generation.started', 'generation.succeeded', 'generation.failed',
      'generation.cancelled', 'generation.retrying'
    )
  )
);
comment on table internal.analytics_events is
'append-only product analytics; rows are never changed or removed (triggers refuse)';

-- ---------------------------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------------------------

create index generations_organization_id_created_at_idx on public.generations (organization_id, created_at desc);
create index generations_user_id_idx on public.generations (user_id);
create index usage_counters_user_id_idx on public.usage_counters (user_id);
create index plan_assignments_plan_id_idx on internal.plan_assignments (plan_id);
create index analytics_events_organization_id_occurred_at_idx
on internal.analytics_events (organization_id, occurred_at desc);

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- The one place that says what an organization may do now. Issue "Billing" replaces its body to derive the plan
-- from subscriptions; callers (request_generation, the queue priority) stay as they are.
create function internal.organization_plan(org_id uuid)
returns table (
  plan_id text, plan_name text, daily_generation_limit integer, monthly_generation_limit integer,
  queue_priority integer
)
language sql
stable
security definer
set search_path = ''
as $$
  select p.id, p.name, p.daily_generation_limit, p.monthly_generation_limit, p.queue_priority
  from public.plans as p
  where p.id = coalesce(
    (select a.plan_id from internal.plan_assignments as a where a.organization_id = org_id), 'free'
  )
$$;

-- Request a generation: checks the organization's quota, then inserts the generation and its queue job in one
-- transaction. org_id may be omitted when the caller belongs to exactly one organization.
-- Errors: 42501 (not signed in, not a member), 22023 (bad input, ambiguous organization), PT429 (quota).
create function public.request_generation(prompt text, app_type text default 'generic', org_id uuid default null)
returns public.generations
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
  org uuid := request_generation.org_id;
  plan record;
  used_today integer;
  used_this_month integer;
  day_start timestamptz := date_trunc('day', now(), 'UTC');
  month_start timestamptz := date_trunc('month', now(), 'UTC');
  created public.generations;
begin
  if caller is null then
    raise exception 'sign in to request a generation' using errcode = '42501';
  end if;
  if org is null then
    select min(m.organization_id::text)::uuid into org from public.memberships as m where m.user_id = caller
    having count(*) = 1;
    if org is null then
      raise exception 'pass org_id: you belong to no organization or to several'
        using errcode = '22023', hint = 'Call request_generation(prompt, app_type, org_id).';
    end if;
  end if;
  if not internal.has_org_role(org) then
    raise exception 'you are not a member of this organization' using errcode = '42501';
  end if;
  if request_generation.prompt is null or char_length(btrim(request_generation.prompt)) not between 1 and 20000 then
    raise exception 'the prompt must be 1 to 20000 characters' using errcode = '22023';
  end if;
  if coalesce(request_generation.app_type, '') !~ '^[a-z][a-z0-9_-]{0,39}$' then
    raise exception 'app_type "%" is not valid: use lowercase letters, digits, - and _', request_generation.app_type
      using errcode = '22023';
  end if;

  -- Serialise this organization's requests so two concurrent ones cannot both take the last unit of quota.
  perform pg_advisory_xact_lock(hashtextextended('supakit.quota:' || org::text, 0));
  select * into plan from internal.organization_plan(org);
  select
    count(*) filter (where g.created_at >= day_start),
    count(*)
  into used_today, used_this_month
  from public.generations as g
  where g.organization_id = org and g.created_at >= least(day_start, month_start)
    and g.status not in ('failed', 'cancelled');
  if plan.daily_generation_limit is not null and used_today >= plan.daily_generation_limit then
    raise exception 'daily limit reached: the % plan allows % generations a day; it resets at % UTC',
      plan.plan_name, plan.daily_generation_limit, to_char(day_start + interval '1 day', 'YYYY-MM-DD HH24:MI')
      using errcode = 'PT429', hint = 'Wait for the reset, or upgrade the plan.';
  end if;
  if plan.monthly_generation_limit is not null and used_this_month >= plan.monthly_generation_limit then
    raise exception 'monthly limit reached: the % plan allows % generations a month; it resets at % UTC',
      plan.plan_name, plan.monthly_generation_limit, to_char(month_start + interval '1 month', 'YYYY-MM-DD HH24:MI')
      using errcode = 'PT429', hint = 'Wait for the reset, or upgrade the plan.';
  end if;

  insert into public.generations (organization_id, user_id, prompt, app_type)
  values (org, caller, request_generation.prompt, request_generation.app_type)
  returning * into created;
  update public.generations as g
  set job_id = internal.enqueue_job(
    'ai.generate',
    jsonb_build_object('generation_id', created.id, 'prompt', created.prompt, 'app_type', created.app_type),
    org, caller, plan.queue_priority
  )
  where g.id = created.id
  returning * into created;
  insert into internal.analytics_events (event, organization_id, user_id, generation_id, job_id, properties)
  values ('generation.requested', org, caller, created.id, created.job_id,
    jsonb_build_object('app_type', created.app_type, 'plan', plan.plan_id));
  return created;
end;
$$;

-- Cancel a generation: queued ones at once, running ones as soon as the worker observes it. The requester and
-- the organization's owners, admins and managers may; anyone else gets 404.
create function public.cancel_generation(generation_id uuid)
returns public.generations
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  target public.generations;
begin
  select * into target from public.generations as g where g.id = generation_id;
  if not found or not (
    target.user_id = (select auth.uid())
    or internal.has_org_role(target.organization_id, '{owner,admin,manager}')
  ) then
    raise exception 'generation not found' using errcode = 'PT404';
  end if;
  if target.status in ('succeeded', 'failed', 'cancelled') then
    raise exception 'the generation has already finished (%)', target.status using errcode = 'PT409';
  end if;
  perform internal.cancel_job(target.job_id);
  select * into target from public.generations as g where g.id = generation_id;
  return target;
end;
$$;

-- After an ai.generate job changes status: mirror it onto the generation, count usage when it succeeds, and
-- record the analytics event, all in the worker's transaction.
create function internal.tg_jobs__sync_generation()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  generation public.generations;
begin
  update public.generations as g
  set status = new.status::text,
    attempts = new.attempts,
    started_at = case when new.status = 'running' then coalesce(g.started_at, now()) else g.started_at end,
    completed_at = case when new.status in ('succeeded', 'failed', 'cancelled') then now() end,
    result = case when new.status = 'succeeded' then new.result ->> 'text' else g.result end,
    model = coalesce(new.result ->> 'model', g.model),
    input_tokens = coalesce((new.result ->> 'input_tokens')::integer, g.input_tokens),
    output_tokens = coalesce((new.result ->> 'output_tokens')::integer, g.output_tokens),
    duration_ms = coalesce((new.result ->> 'duration_ms')::integer, g.duration_ms),
    error_message = case when new.status in ('failed', 'queued') then new.error else g.error_message end,
    updated_at = now()
  where g.job_id = new.id
  returning * into generation;
  if not found then
    return null;
  end if;

  if new.status = 'succeeded' and generation.user_id is not null then
    insert into public.usage_counters as u
      (organization_id, user_id, period, period_start, generations, input_tokens, output_tokens)
    select generation.organization_id, generation.user_id, p.period, p.start, 1,
      coalesce(generation.input_tokens, 0), coalesce(generation.output_tokens, 0)
    from (values
      ('day', (now() at time zone 'UTC')::date),
      ('month', date_trunc('month', now() at time zone 'UTC')::date)
    ) as p (period, start)
    on conflict (organization_id, user_id, period, period_start) do update
    set generations = u.generations + 1, input_tokens = u.input_tokens + excluded.input_tokens,
      output_tokens = u.output_tokens + excluded.output_tokens, updated_at = now();
  end if;

  insert into internal.analytics_events (event, organization_id, user_id, generation_id, job_id, properties)
  values (
    case new.status
      when 'running' then 'generation.started' when 'succeeded' then 'generation.succeeded'
      when 'failed' then 'generation.failed' when 'cancelled' then 'generation.cancelled'
      else 'generation.retrying'
    end,
    generation.organization_id, generation.user_id, generation.id, new.id,
    jsonb_strip_nulls(jsonb_build_object(
      'attempt', new.attempts, 'error', new.error, 'input_tokens', generation.input_tokens,
      'output_tokens', generation.output_tokens, 'duration_ms', generation.duration_ms
    ))
  );
  return null;
end;
$$;

-- After a generation is inserted or updated: broadcast its status (not the prompt or the result, which can be
-- large; clients fetch those through PostgREST) to the organization's private topic `org:<id>:jobs`.
create function internal.tg_generations__broadcast()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  current_row record;
  previous_row record;
begin
  select new.id, new.organization_id, new.user_id, new.app_type, new.status, new.error_message, new.attempts,
    new.input_tokens, new.output_tokens, new.duration_ms, new.created_at, new.started_at, new.completed_at,
    new.updated_at
  into current_row;
  if tg_op = 'UPDATE' then
    if new.status is not distinct from old.status and new.attempts is not distinct from old.attempts then
      return null;
    end if;
    select old.id, old.organization_id, old.user_id, old.app_type, old.status, old.error_message, old.attempts,
      old.input_tokens, old.output_tokens, old.duration_ms, old.created_at, old.started_at, old.completed_at,
      old.updated_at
    into previous_row;
  end if;
  perform realtime.broadcast_changes(
    'org:' || new.organization_id::text || ':jobs', tg_op, tg_op, tg_table_name, tg_table_schema,
    current_row, previous_row
  );
  return null;
end;
$$;

-- Append-only tables refuse changes (generic: names the table in its message).
create function internal.tg_refuse_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception '%.% is append-only: % is not allowed', tg_table_schema, tg_table_name, tg_op
    using errcode = '42501';
end;
$$;

revoke all on function internal.organization_plan(uuid) from public;
revoke all on function public.request_generation(text, text, uuid) from public;
revoke all on function public.cancel_generation(uuid) from public;
revoke all on function internal.tg_jobs__sync_generation() from public;
revoke all on function internal.tg_generations__broadcast() from public;
revoke all on function internal.tg_refuse_change() from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _500_sync_generation
after update of status on internal.jobs
for each row
when (new.kind = 'ai.generate' and old.status is distinct from new.status)
execute function internal.tg_jobs__sync_generation();

create trigger _900_broadcast
after insert or update on public.generations
for each row execute function internal.tg_generations__broadcast();

create trigger _100_refuse_change
before update or delete on internal.analytics_events
for each row execute function internal.tg_refuse_change();

create trigger _100_refuse_truncate
before truncate on internal.analytics_events
for each statement execute function internal.tg_refuse_change();

-- ---------------------------------------------------------------------------------------------------------
-- realtime: postgres_changes subscribers get full old rows
-- ---------------------------------------------------------------------------------------------------------

alter table public.generations replica identity full;
alter publication supabase_realtime add table public.generations;

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
  ('versioned', '0007', '0007_create_generations.sql', '89503dca16a9a4fcdc1d76754921cb4410117e175ba075a52d5a8c30c1d7eb3d')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
