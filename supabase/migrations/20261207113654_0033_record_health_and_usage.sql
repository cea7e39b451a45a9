-- Exported by `supakit migrate export` from sql/0033_record_health_and_usage.sql (sha256 bd49587ec77d33b1fb64c804fe775f3771eb5695426e8989710ebd43004152a6).
-- Edit the source file, not this one.

-- 0033_record_health_and_usage: what the customer dashboard shows about a provisioned organization (issue 19).
-- * Health: public.instance_health_checks keeps every check of a customer's instance with its history: the
--   provider's instance state and an HTTP check of the deployed site (status, latency, timeout, error). The
--   verdict is decided here, in one place (internal.record_health_check): down when the instance is not running,
--   degraded when it runs but the site fails, healthy when both answer. A verdict that differs from the previous
--   check's is broadcast on the organization's private topic `org:<id>:provisioning`.
-- * Usage: public.infrastructure_usage holds one row per organization and UTC day (collecting again the same day
--   updates it): storage and bandwidth as the provider measures them (the provider names the source of each figure
--   in `sources`) and users, the organization's members, counted here.
-- * Jobs: `provisioning.check_health` and `provisioning.collect_usage` run one organization (payload org_id) or
--   sweep (no payload: internal.enqueue_provisioning_checks queues one job per active infrastructure, deduplicated
--   per organization), so either can be scheduled as a recurring job.
-- * provisioning_status(org_id): the dashboard's one call; its body moves to internal (security definer, members
--   only) behind the invoker RPC of the same name, and it gains the services' states, health, usage and the live
--   runs (sagas). The JSON shape is documented in docs/provisioning-guide.md.
-- Grants, row level security and policies: policies/provisioning.sql.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table public.instance_health_checks (
  id bigint generated always as identity,
  organization_id uuid not null,
  checked_at timestamptz not null default now(),
  status text not null,
  previous_status text,
  provider text,
  instance_state text not null,
  instance_ok boolean not null,
  url text,
  http_status integer,
  latency_ms integer,
  timed_out boolean not null default false,
  error text,
  constraint instance_health_checks_pkey primary key (id),
  constraint instance_health_checks_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint status_is_known check (status in ('healthy', 'degraded', 'down')),
  constraint previous_status_is_known check (previous_status in ('healthy', 'degraded', 'down')),
  constraint instance_state_is_a_word check (instance_state ~ '^[a-z][a-z0-9_-]{0,40}$'),
  constraint http_status_is_a_status check (http_status between 100 and 599),
  constraint latency_ms_not_negative check (latency_ms >= 0),
  constraint url_is_short check (char_length(url) <= 2000),
  constraint error_is_short check (char_length(error) <= 2000)
);
comment on table public.instance_health_checks is
'every health check of an organization''s instance, newest last: the provider''s state and the site''s HTTP answer';
comment on column public.instance_health_checks.status is
'healthy (instance running, site answered 2xx/3xx in time) | degraded (instance running, site failed or timed out) '
'| down (instance not running or gone)';
comment on column public.instance_health_checks.previous_status is
'the status of the check before this one (null for the first): a change is where they differ';
comment on column public.instance_health_checks.instance_state is
'the provider''s word: running, pending, stopping, stopped, shutting-down, terminated, missing, unknown';
comment on column public.instance_health_checks.timed_out is 'the HTTP check got no answer within health.timeout_s';

create table public.infrastructure_usage (
  organization_id uuid not null,
  day date not null,
  period_start date not null,
  storage_bytes bigint,
  bandwidth_bytes bigint,
  users integer not null,
  sources jsonb not null default '{}',
  collected_at timestamptz not null default now(),
  constraint infrastructure_usage_pkey primary key (organization_id, day),
  constraint infrastructure_usage_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint figures_not_negative check (storage_bytes >= 0 and bandwidth_bytes >= 0 and users >= 0),
  constraint sources_is_an_object check (jsonb_typeof(sources) = 'object'),
  constraint period_start_is_the_month_of_day check (period_start = date_trunc('month', day)::date)
);
comment on table public.infrastructure_usage is
'an organization''s usage, one row per UTC day (the latest collection that day): storage, bandwidth, users';
comment on column public.infrastructure_usage.storage_bytes is
'bytes the customer''s instance holds (local: its schema and files; aws: its EBS volumes); null: not measured';
comment on column public.infrastructure_usage.bandwidth_bytes is
'bytes in and out of the instance since period_start (aws: CloudWatch NetworkIn + NetworkOut); null: not measured';
comment on column public.infrastructure_usage.users is 'members of the organization when collected';
comment on column public.infrastructure_usage.sources is 'where each figure came from, by figure name';

-- ---------------------------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------------------------

create index instance_health_checks_organization_id_checked_at_idx
on public.instance_health_checks (organization_id, checked_at desc, id desc);
create index instance_health_checks_checked_at_idx on public.instance_health_checks (checked_at);

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- Record one health check of the organization's instance (`result`: provider, instance_state, instance_ok, url,
-- http_status, latency_ms, timed_out, error, as functions_py/provisioning/health.py measures them) and decide its
-- status. Returns the row.
create function internal.record_health_check(org_id uuid, result jsonb)
returns public.instance_health_checks
language plpgsql
volatile
set search_path = ''
as $$
declare
  recorded public.instance_health_checks;
  instance_ok boolean := coalesce((result ->> 'instance_ok')::boolean, false);
  http_status integer := (result ->> 'http_status')::integer;
  timed_out boolean := coalesce((result ->> 'timed_out')::boolean, false);
begin
  insert into public.instance_health_checks (
    organization_id, status, previous_status, provider, instance_state, instance_ok, url, http_status, latency_ms,
    timed_out, error
  )
  values (
    org_id,
    case when not instance_ok then 'down'
      when http_status between 200 and 399 and not timed_out then 'healthy'
      else 'degraded' end,
    (select c.status from public.instance_health_checks as c where c.organization_id = org_id
      order by c.checked_at desc, c.id desc limit 1),
    result ->> 'provider', coalesce(nullif(result ->> 'instance_state', ''), 'unknown'), instance_ok,
    left(result ->> 'url', 2000), http_status, (result ->> 'latency_ms')::integer, timed_out,
    left(result ->> 'error', 2000)
  )
  returning * into recorded;
  return recorded;
end;
$$;
comment on function internal.record_health_check(uuid, jsonb) is
'record a health check of the organization''s instance; its status (healthy, degraded, down) is decided here';

-- Record the organization's usage for today (UTC): `figures` has storage_bytes, bandwidth_bytes (null: not
-- measured) and sources; users are counted here. Collecting again the same day replaces the day's row.
create function internal.record_usage(org_id uuid, figures jsonb)
returns public.infrastructure_usage
language plpgsql
volatile
set search_path = ''
as $$
declare
  today date := (now() at time zone 'utc')::date;
  recorded public.infrastructure_usage;
begin
  insert into public.infrastructure_usage as u (
    organization_id, day, period_start, storage_bytes, bandwidth_bytes, users, sources, collected_at
  )
  values (
    org_id, today, date_trunc('month', today)::date, (figures ->> 'storage_bytes')::bigint,
    (figures ->> 'bandwidth_bytes')::bigint,
    (select count(*) from public.memberships as m where m.organization_id = org_id),
    coalesce(figures -> 'sources', '{}') || jsonb_build_object('users', 'members in public.memberships'), now()
  )
  on conflict (organization_id, day) do update
  set storage_bytes = excluded.storage_bytes, bandwidth_bytes = excluded.bandwidth_bytes, users = excluded.users,
    sources = excluded.sources, collected_at = excluded.collected_at
  returning * into recorded;
  return recorded;
end;
$$;
comment on function internal.record_usage(uuid, jsonb) is
'record today''s usage of an organization (one row per UTC day; users counted from memberships)';

-- A sweep: one `job_kind` job (provisioning.check_health or provisioning.collect_usage) per organization whose
-- infrastructure is active, each deduplicated per organization (a sweep while the last one's jobs still wait adds
-- none). Returns how many organizations have such a job now.
create function internal.enqueue_provisioning_checks(job_kind text)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
  queued integer := 0;
  org uuid;
begin
  if job_kind is null or job_kind not in ('provisioning.check_health', 'provisioning.collect_usage') then
    raise exception 'enqueue_provisioning_checks: % is not provisioning.check_health or provisioning.collect_usage',
      coalesce(job_kind, 'null') using errcode = '22023';
  end if;
  for org in
    select i.organization_id from public.customer_infrastructure as i where i.status = 'active'
    order by i.organization_id
  loop
    perform internal.enqueue_job(
      job_kind, jsonb_build_object('org_id', org), org, null, 0, now(), 3, job_kind || ':' || org::text
    );
    queued := queued + 1;
  end loop;
  return queued;
end;
$$;

-- Health history older than `keep` goes (the health sweep calls this). Returns the rows removed.
create function internal.prune_health_checks(keep interval default '30 days')
returns integer
language sql
volatile
set search_path = ''
as $$
  with gone as (
    delete from public.instance_health_checks as c where c.checked_at < now() - keep returning 1
  )
  select count(*)::integer from gone
$$;

-- The customer dashboard's status (shape: docs/provisioning-guide.md): members of the organization only (anyone
-- else signed in gets 42501, whether or not it exists); the service role and the database owner (the CLI) see any.
create function internal.provisioning_status(org_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  infra public.customer_infrastructure;
  latest public.provisioning_runs;
  last_check public.instance_health_checks;
  day_usage public.infrastructure_usage;
  queued internal.resize_requests;
  since timestamptz;
begin
  if ((select auth.uid()) is not null or coalesce((select auth.jwt()) ->> 'role', '') in ('anon', 'authenticated'))
    and not internal.has_org_role(org_id) or not exists (
      select 1 from public.organizations as o where o.id = org_id
    ) then
    raise exception 'organization % not found or you are not a member', org_id
      using errcode = '42501', hint = 'Ask an owner of the organization to invite you.';
  end if;
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  select * into latest from public.provisioning_runs as r
  where r.organization_id = org_id order by r.created_at desc, r.id limit 1;
  select * into last_check from public.instance_health_checks as c
  where c.organization_id = org_id order by c.checked_at desc, c.id desc limit 1;
  select c.checked_at into since from public.instance_health_checks as c
  where c.organization_id = org_id and c.status is distinct from c.previous_status
  order by c.checked_at desc, c.id desc limit 1;
  select * into day_usage from public.infrastructure_usage as u
  where u.organization_id = org_id order by u.day desc limit 1;
  select * into queued from internal.resize_requests as q where q.organization_id = org_id;
  return jsonb_build_object(
    'organization_id', org_id,
    'infrastructure', case when infra.organization_id is not null then jsonb_build_object(
      'status', infra.status, 'provider', infra.provider, 'plan_id', infra.plan_id, 'subdomain', infra.subdomain,
      'public_address', infra.public_address, 'instance_type', internal.current_instance_type(infra.resources),
      'updated_at', infra.updated_at
    ) end,
    'services', jsonb_build_object(
      'instance', jsonb_build_object(
        'state', case when infra.organization_id is null then 'none'
          when infra.status <> 'active' then infra.status
          else coalesce(last_check.instance_state, 'unknown') end,
        'instance_type', internal.current_instance_type(infra.resources),
        'address', infra.public_address, 'provider', infra.provider
      ),
      'dns', jsonb_build_object(
        'state', case when infra.resources ? 'dns' then 'active' else 'none' end,
        'name', infra.subdomain, 'address', infra.resources #>> '{dns,address}'
      ),
      'site', jsonb_build_object(
        'state', case when infra.status = 'active' then coalesce(last_check.status, 'unknown') else 'unknown' end,
        'url', last_check.url, 'http_status', last_check.http_status, 'latency_ms', last_check.latency_ms,
        'error', last_check.error, 'checked_at', last_check.checked_at
      )
    ),
    'health', case when last_check.id is not null then jsonb_build_object(
      'status', last_check.status, 'since', since, 'checked_at', last_check.checked_at,
      'history', (
        select jsonb_agg(jsonb_build_object(
          'checked_at', h.checked_at, 'status', h.status, 'instance_state', h.instance_state,
          'http_status', h.http_status, 'latency_ms', h.latency_ms, 'timed_out', h.timed_out, 'error', h.error
        ) order by h.checked_at desc, h.id desc)
        from (
          select * from public.instance_health_checks as c0 where c0.organization_id = org_id
          order by c0.checked_at desc, c0.id desc limit 20
        ) as h
      )
    ) end,
    'usage', case when day_usage.organization_id is not null then jsonb_build_object(
      'day', day_usage.day, 'period_start', day_usage.period_start, 'storage_bytes', day_usage.storage_bytes,
      'bandwidth_bytes', day_usage.bandwidth_bytes, 'users', day_usage.users, 'sources', day_usage.sources,
      'collected_at', day_usage.collected_at
    ) end,
    'sagas', coalesce((
      select jsonb_agg(jsonb_build_object(
        'id', r.id, 'kind', r.kind, 'status', r.status, 'current_step', r.current_step, 'plan_id', r.plan_id,
        'instance_type', r.instance_type, 'previous_instance_type', r.previous_instance_type, 'reason', r.reason,
        'created_at', r.created_at, 'started_at', r.started_at,
        'steps', coalesce((
          select jsonb_agg(jsonb_build_object('name', s.name, 'status', s.status, 'attempts', s.attempts)
            order by s.ordinal)
          from public.provisioning_steps as s where s.run_id = r.id
        ), '[]'::jsonb)
      ) order by r.created_at)
      from public.provisioning_runs as r
      where r.organization_id = org_id and r.status in ('pending', 'running', 'compensating')
    ), '[]'::jsonb),
    'backups', jsonb_build_object(
      'latest', (
        select jsonb_build_object(
          'id', b.id, 'status', b.status, 'reason', b.reason, 'size_bytes', b.size_bytes,
          'created_at', b.created_at, 'finished_at', b.finished_at, 'error', b.error
        )
        from public.backups as b where b.organization_id = org_id order by b.created_at desc, b.id limit 1
      ),
      'last_succeeded_at', (
        select max(b.finished_at) from public.backups as b
        where b.organization_id = org_id and b.status in ('succeeded', 'expiring')
      )
    ),
    'resize', jsonb_build_object(
      'queued', case when queued.organization_id is not null then jsonb_build_object(
        'instance_type', queued.instance_type, 'reason', queued.reason, 'requested_at', queued.requested_at
      ) end
    ),
    'run', case when latest.id is not null then jsonb_build_object(
      'id', latest.id, 'kind', latest.kind, 'status', latest.status, 'plan_id', latest.plan_id,
      'provider', latest.provider, 'reason', latest.reason, 'current_step', latest.current_step,
      'instance_type', latest.instance_type, 'error', latest.error, 'created_at', latest.created_at,
      'started_at', latest.started_at, 'finished_at', latest.finished_at
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
comment on function internal.provisioning_status(uuid) is
'the customer dashboard''s status of an organization''s infrastructure (members only); called through '
'public.provisioning_status';

-- The RPC clients call (sql/0012's name and signature), now a security-invoker wrapper around the body above.
create or replace function public.provisioning_status(org_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select internal.provisioning_status(provisioning_status.org_id)
$$;
comment on function public.provisioning_status(uuid) is
'the organization''s infrastructure, services, health, usage, live runs and latest run (members only)'
'; body: internal.provisioning_status';

-- A health verdict that differs from the previous check's goes to the organization's private provisioning topic.
create function internal.tg_instance_health_checks__broadcast()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.status is not distinct from new.previous_status then
    return null;
  end if;
  perform realtime.broadcast_changes(
    'org:' || new.organization_id::text || ':provisioning', tg_op, tg_op, tg_table_name, tg_table_schema, new, null
  );
  return null;
end;
$$;

-- The health and usage sweeps are recurring jobs of the queue (sql/0030): once any infrastructure is active, the
-- health sweep runs every 5 minutes and the usage sweep every hour (each queues one job per active infrastructure,
-- deduplicated per organization). Created on first need, so a project that provisions nothing has no such jobs;
-- change their interval with internal.upsert_job_schedule, or disable them (`enabled`).
create function internal.tg_customer_infrastructure__check_schedules()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not exists (select 1 from internal.job_schedules as s where s.name = 'provisioning.check_health') then
    perform internal.upsert_job_schedule('provisioning.check_health', 'provisioning.check_health', interval '5 minutes');
  end if;
  if not exists (select 1 from internal.job_schedules as s where s.name = 'provisioning.collect_usage') then
    perform internal.upsert_job_schedule('provisioning.collect_usage', 'provisioning.collect_usage', interval '1 hour');
  end if;
  return null;
end;
$$;

revoke all on function internal.record_health_check(uuid, jsonb) from public;
revoke all on function internal.record_usage(uuid, jsonb) from public;
revoke all on function internal.enqueue_provisioning_checks(text) from public;
revoke all on function internal.prune_health_checks(interval) from public;
revoke all on function internal.provisioning_status(uuid) from public;
revoke all on function internal.tg_instance_health_checks__broadcast() from public;
revoke all on function internal.tg_customer_infrastructure__check_schedules() from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _900_broadcast
after insert on public.instance_health_checks
for each row execute function internal.tg_instance_health_checks__broadcast();

create trigger _710_check_schedules
after insert or update of status on public.customer_infrastructure
for each row when (new.status = 'active')
execute function internal.tg_customer_infrastructure__check_schedules();

-- data: a project with active infrastructure gets the sweeps now
select internal.upsert_job_schedule('provisioning.check_health', 'provisioning.check_health', interval '5 minutes')
from (
  select 1 from public.customer_infrastructure as i
  where i.status = 'active'
  order by i.organization_id
  limit 1
) as any_active;
select internal.upsert_job_schedule('provisioning.collect_usage', 'provisioning.collect_usage', interval '1 hour')
from (
  select 1 from public.customer_infrastructure as i
  where i.status = 'active'
  order by i.organization_id
  limit 1
) as any_active;

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
  ('versioned', '0033', '0033_record_health_and_usage.sql', 'bd49587ec77d33b1fb64c804fe775f3771eb5695426e8989710ebd43004152a6')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
