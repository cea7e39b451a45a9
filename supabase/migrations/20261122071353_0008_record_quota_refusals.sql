-- Exported by `supakit migrate export` from sql/0008_record_quota_refusals.sql (sha256 be65f4cb5d3551ae042b0e7094a14133662a1317e2170f32f70323d04c24f0d2).
-- Edit the source file, not this one.

-- 0008_record_quota_refusals: a refused generation request leaves a trace. Until now request_generation raised
-- PT429 and PostgREST rolled the whole request back, analytics row included. Called through PostgREST (the
-- request.method setting is present), it now records the refusal, sets `response.status` to 429 and returns the
-- very body PostgREST sends for a raised PT429 ({code, details, hint, message}); PostgREST commits a transaction
-- whose function returned normally whatever status it set, so the record survives. Called from plain SQL it still
-- raises PT429. The return type becomes json (a generation row, or the error body), so the function is dropped
-- and created again with the same grants. See docs/quota-refusals.md.
-- Bounded: one internal.quota_refusals row per organization, user and UTC day counts every refusal; only the
-- first refusal of that day appends an analytics event.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table internal.quota_refusals (
  organization_id uuid not null,
  user_id uuid not null,
  day date not null,
  refusals integer not null default 1,
  last_period text not null,
  first_refused_at timestamptz not null default now(),
  last_refused_at timestamptz not null default now(),
  constraint quota_refusals_pkey primary key (organization_id, user_id, day),
  constraint quota_refusals_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint quota_refusals_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade,
  constraint refusals_is_positive check (refusals >= 1),
  constraint last_period_is_day_or_month check (last_period in ('day', 'month'))
);
comment on table internal.quota_refusals is
'generation requests refused for quota, counted per organization, user and UTC day (one row each, updated in place)';
comment on column internal.quota_refusals.last_period is 'the limit the last refusal hit: day (daily) or month (monthly)';

-- ---------------------------------------------------------------------------------------------------------
-- constraints and indexes
-- ---------------------------------------------------------------------------------------------------------

alter table internal.analytics_events drop constraint event_is_known;
alter table internal.analytics_events add constraint event_is_known check (
  event in (
    'generation.requested', 'generation.started', 'generation.succeeded', 'generation.failed',
    'generation.cancelled', 'generation.retrying',
    'generation.quota_refused'  -- the first refusal of an organization's user on a UTC day (see quota_refusals)
  )
);

create index quota_refusals_user_id_idx on internal.quota_refusals (user_id);

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- The JSON body PostgREST answers for a database error, byte for byte: keys in PostgREST's order, no spaces.
create function internal.postgrest_error_body(code text, message text, details text default null, hint text default null)
returns json
language sql
immutable
set search_path = ''
as $$
  select (
    '{"code":' || coalesce(to_json(code)::text, 'null')
    || ',"details":' || coalesce(to_json(details)::text, 'null')
    || ',"hint":' || coalesce(to_json(hint)::text, 'null')
    || ',"message":' || coalesce(to_json(message)::text, 'null') || '}'
  )::json
$$;

drop function public.request_generation(text, text, uuid);

-- Request a generation: checks the organization's quota, then inserts the generation and its queue job in one
-- transaction, and returns the generation as JSON. org_id may be omitted when the caller belongs to exactly one
-- organization. Errors: 42501 (not signed in, not a member), 22023 (bad input, ambiguous organization).
-- Over quota: through PostgREST, HTTP 429 with PostgREST's error body for code PT429 (the refusal is recorded);
-- from plain SQL, SQLSTATE PT429 is raised.
create function public.request_generation(prompt text, app_type text default 'generic', org_id uuid default null)
returns json
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
  refused_period text;
  refused_message text;
  refused_hint text := 'Wait for the reset, or upgrade the plan.';
  refused_limit integer;
  resets_at timestamptz;
  refusals_today integer;
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
    refused_period := 'day';
    refused_limit := plan.daily_generation_limit;
    resets_at := day_start + interval '1 day';
    refused_message := format('daily limit reached: the %s plan allows %s generations a day; it resets at %s UTC',
      plan.plan_name, plan.daily_generation_limit, to_char(resets_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'));
  elsif plan.monthly_generation_limit is not null and used_this_month >= plan.monthly_generation_limit then
    refused_period := 'month';
    refused_limit := plan.monthly_generation_limit;
    resets_at := month_start + interval '1 month';
    refused_message := format('monthly limit reached: the %s plan allows %s generations a month; it resets at %s UTC',
      plan.plan_name, plan.monthly_generation_limit, to_char(resets_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'));
  end if;

  if refused_period is not null then
    if nullif(current_setting('request.method', true), '') is null then
      -- Not a PostgREST request: nothing would read response.status, so refuse the way SQL callers expect.
      raise exception using message = refused_message, errcode = 'PT429', hint = refused_hint;
    end if;
    insert into internal.quota_refusals as r (organization_id, user_id, day, last_period)
    values (org, caller, (now() at time zone 'UTC')::date, refused_period)
    on conflict (organization_id, user_id, day) do update
    set refusals = r.refusals + 1, last_period = excluded.last_period, last_refused_at = now()
    returning r.refusals into refusals_today;
    if refusals_today = 1 then
      insert into internal.analytics_events (event, organization_id, user_id, properties)
      values ('generation.quota_refused', org, caller, jsonb_build_object(
        'plan', plan.plan_id, 'period', refused_period, 'limit', refused_limit, 'resets_at', resets_at
      ));
    end if;
    perform set_config('response.status', '429', true);
    return internal.postgrest_error_body('PT429', refused_message, null, refused_hint);
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
  return to_json(created);
end;
$$;
comment on function public.request_generation(text, text, uuid) is
'request an AI generation; returns the generation row as JSON; over quota: HTTP 429 with PT429 (see sql/0008)';

revoke all on function internal.postgrest_error_body(text, text, text, text) from public;
revoke all on function public.request_generation(text, text, uuid) from public, anon, authenticated, service_role;
grant execute on function public.request_generation(text, text, uuid) to authenticated;

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
  ('versioned', '0008', '0008_record_quota_refusals.sql', 'be65f4cb5d3551ae042b0e7094a14133662a1317e2170f32f70323d04c24f0d2')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
