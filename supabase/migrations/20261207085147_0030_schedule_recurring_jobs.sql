-- Exported by `supakit migrate export` from sql/0030_schedule_recurring_jobs.sql (sha256 1108fb5295ca45eaa11938f29d8c8db24f906c4eac8f5124a19bbeb0f8264774).
-- Edit the source file, not this one.

-- 0030_schedule_recurring_jobs: recurring jobs, kept and fired by the queue itself. A schedule is one row of
-- internal.job_schedules: a job kind with its payload, an interval, and the next slot it is due at. Slots are
-- aligned: slot n is `anchor + n * every` (anchor 2000-01-01 00:00 UTC unless given), so an hourly schedule fires on
-- the hour and a daily one at midnight UTC, like `0 * * * *` and `0 0 * * *` in cron, and every worker computes the
-- same slot for the same moment.
-- Any worker may fire due schedules (its maintenance loop calls internal.fire_due_schedules); none fires one twice:
-- * the due rows are locked `for update skip locked`, so two workers firing at once take disjoint schedules, and the
--   job is enqueued and next_run_at moved past now in the same transaction (both or neither);
-- * internal.job_schedule_firings has one row per (schedule, slot), its primary key the backstop: a firing that
--   finds its slot already taken enqueues nothing; the job's dedupe key `schedule:<name>:<slot>` is a second one.
--   The job's payload gets `schedule` and `slot` (UTC, `2026-12-07T05:00:00Z`) besides the schedule's own keys.
-- A schedule whose workers were all down for several slots fires once, for the latest slot due (no backfill burst),
-- and says so in `missed`.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table internal.job_schedules (
  name text not null,
  kind text not null,
  payload jsonb not null default '{}',
  organization_id uuid,
  every interval not null,
  anchor timestamptz not null default '2000-01-01 00:00:00+00',
  priority integer not null default 0,
  max_attempts integer not null default 3,
  enabled boolean not null default true,
  next_run_at timestamptz not null,
  last_slot timestamptz,
  last_job_id bigint,
  last_fired_at timestamptz,
  missed bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint job_schedules_pkey primary key (name),
  constraint job_schedules_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint name_is_a_key check (name ~ '^[a-z][a-z0-9_.:-]{0,199}$'),
  constraint kind_is_dotted_name check (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  constraint every_is_at_least_a_second check (every >= interval '1 second'),
  constraint every_has_no_months check (extract(month from every) = 0 and extract(year from every) = 0),
  constraint max_attempts_is_positive check (max_attempts between 1 and 100),
  constraint payload_is_an_object check (jsonb_typeof(payload) = 'object'),
  constraint missed_not_negative check (missed >= 0)
);
comment on table internal.job_schedules is
'recurring jobs: each row enqueues a `kind` job at every slot anchor + n * every; fired by any worker, once per slot';
comment on column internal.job_schedules.name is
'the schedule''s key, e.g. `backups:<org id>`; part of each job''s dedupe key `schedule:<name>:<slot>`';
comment on column internal.job_schedules.next_run_at is
'the next slot due; moved past now in the transaction that enqueues the slot''s job';
comment on column internal.job_schedules.missed is
'slots skipped because no worker fired them in time (only the latest due slot is fired)';

create table internal.job_schedule_firings (
  schedule_name text not null,
  slot timestamptz not null,
  job_id bigint,
  fired_at timestamptz not null default now(),
  constraint job_schedule_firings_pkey primary key (schedule_name, slot),
  constraint job_schedule_firings_schedule_name_fkey foreign key (schedule_name)
  references internal.job_schedules (name) on delete cascade
);
comment on table internal.job_schedule_firings is
'one row per fired (schedule, slot): the primary key makes a second firing of a slot impossible; pruned to the last 100 per schedule';
comment on column internal.job_schedule_firings.job_id is 'internal.jobs id; not a foreign key because finished jobs are pruned';

-- ---------------------------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------------------------

create index job_schedules_next_run_at_idx on internal.job_schedules (next_run_at) where enabled;
create index job_schedules_organization_id_idx on internal.job_schedules (organization_id)
where organization_id is not null;

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- The first slot strictly after `after` of a schedule with `anchor` and `every`.
create function internal.next_schedule_slot(anchor timestamptz, every interval, after timestamptz)
returns timestamptz
language sql
immutable
set search_path = ''
as $$
  select anchor + every * (floor(extract(epoch from (after - anchor)) / extract(epoch from every)) + 1)
$$;
comment on function internal.next_schedule_slot(timestamptz, interval, timestamptz) is
'the first slot anchor + n * every strictly after `after`';

-- Create or change a schedule; returns its next slot. A changed interval or anchor takes effect from the next slot
-- after now; an unchanged one keeps its next_run_at (re-declaring a schedule at start-up does not move it).
create function internal.upsert_job_schedule(
  name text,
  kind text,
  every interval,
  payload jsonb default '{}',
  organization_id uuid default null,
  priority integer default 0,
  max_attempts integer default 3,
  anchor timestamptz default '2000-01-01 00:00:00+00',
  enabled boolean default true
)
returns timestamptz
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  next_at timestamptz;
begin
  if every is null or every < interval '1 second' then
    raise exception 'schedule %: the interval must be at least 1 second (got %)', name, every
      using errcode = '22023', hint = 'Pass e.g. interval ''1 hour''.';
  end if;
  insert into internal.job_schedules as s (
    name, kind, payload, organization_id, every, anchor, priority, max_attempts, enabled, next_run_at
  )
  values (
    upsert_job_schedule.name, upsert_job_schedule.kind, coalesce(upsert_job_schedule.payload, '{}'),
    upsert_job_schedule.organization_id, upsert_job_schedule.every,
    coalesce(upsert_job_schedule.anchor, '2000-01-01 00:00:00+00'), coalesce(upsert_job_schedule.priority, 0),
    coalesce(upsert_job_schedule.max_attempts, 3), coalesce(upsert_job_schedule.enabled, true),
    internal.next_schedule_slot(
      coalesce(upsert_job_schedule.anchor, '2000-01-01 00:00:00+00'), upsert_job_schedule.every, now()
    )
  )
  on conflict (name) do update
  set kind = excluded.kind, payload = excluded.payload, organization_id = excluded.organization_id,
    priority = excluded.priority, max_attempts = excluded.max_attempts, enabled = excluded.enabled,
    next_run_at = case when (s.every, s.anchor) is distinct from (excluded.every, excluded.anchor)
      then excluded.next_run_at else s.next_run_at end,
    every = excluded.every, anchor = excluded.anchor, updated_at = now()
  returning s.next_run_at into next_at;
  return next_at;
end;
$$;
comment on function internal.upsert_job_schedule(text, text, interval, jsonb, uuid, integer, integer, timestamptz, boolean)
is 'create or change a recurring job; returns its next slot';

-- Fire every due schedule (at most `max_count`), each for its latest due slot: enqueue its job and move next_run_at
-- past now, in this transaction. Schedules another transaction is firing are skipped, not waited for. Returns what
-- was fired.
create function internal.fire_due_schedules(max_count integer default 100)
returns table (schedule_name text, slot timestamptz, job_id bigint)
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  due internal.job_schedules;
  latest timestamptz;
  fired boolean;
  new_job bigint;
  slot_text text;
begin
  for due in
    select * from internal.job_schedules as s
    where s.enabled and s.next_run_at <= now()
    order by s.next_run_at, s.name
    limit greatest(coalesce(max_count, 100), 1)
    for update skip locked
  loop
    -- the latest slot due now: the one at or before now (next_run_at itself when it was fired on time)
    latest := internal.next_schedule_slot(due.anchor, due.every, now()) - due.every;
    latest := greatest(latest, due.next_run_at);
    insert into internal.job_schedule_firings as f (schedule_name, slot)
    values (due.name, latest)
    on conflict on constraint job_schedule_firings_pkey do nothing
    returning true into fired;
    new_job := null;
    if fired then
      -- the slot in UTC, whatever the session's time zone: every worker writes the same payload and dedupe key
      slot_text := to_char(latest at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
      new_job := internal.enqueue_job(
        due.kind, due.payload || jsonb_build_object('schedule', due.name, 'slot', slot_text), due.organization_id,
        null, due.priority, now(), due.max_attempts, 'schedule:' || due.name || ':' || slot_text
      );
      update internal.job_schedule_firings as f set job_id = new_job
      where f.schedule_name = due.name and f.slot = latest;
      delete from internal.job_schedule_firings as f
      where f.schedule_name = due.name and f.slot < latest - due.every * 100;
      schedule_name := due.name;
      slot := latest;
      job_id := new_job;
      return next;
    end if;
    update internal.job_schedules as s
    set next_run_at = internal.next_schedule_slot(due.anchor, due.every, now()),
      last_slot = case when fired then latest else s.last_slot end,
      last_job_id = coalesce(new_job, s.last_job_id),
      last_fired_at = case when fired then now() else s.last_fired_at end,
      missed = s.missed + greatest(
        floor(extract(epoch from (latest - due.next_run_at)) / extract(epoch from due.every))::bigint, 0
      ),
      updated_at = now()
    where s.name = due.name;
  end loop;
end;
$$;
comment on function internal.fire_due_schedules(integer) is
'enqueue the job of every due schedule once for its latest due slot and move it on; safe for any number of workers';

revoke all on function internal.next_schedule_slot(timestamptz, interval, timestamptz) from public;
revoke all on function internal.upsert_job_schedule(text, text, interval, jsonb, uuid, integer, integer, timestamptz, boolean)
from public;
revoke all on function internal.fire_due_schedules(integer) from public;

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
  ('versioned', '0030', '0030_schedule_recurring_jobs.sql', '1108fb5295ca45eaa11938f29d8c8db24f906c4eac8f5124a19bbeb0f8264774')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
