-- 0006_create_jobs: the job queue. Jobs are rows in internal.jobs; workers (`supakit worker`, any number, on
-- any machine) claim batches with `for update skip locked`, hold a lease they renew by heartbeat, and finish
-- each job with its lease token, so a worker that died (its lease expired) can never complete a job another
-- worker has since taken. Delivery is at least once: handlers must be idempotent.
-- Not exposed through PostgREST: clients enqueue through RPCs such as request_generation (0007).

-- ---------------------------------------------------------------------------------------------------------
-- types
-- ---------------------------------------------------------------------------------------------------------

create type internal.job_status as enum (
  'queued',  -- waiting for run_at; also running -> queued after a retryable failure or an expired lease
  'running',  -- queued -> running: claimed by a worker, which holds the lease
  'succeeded',  -- running -> succeeded
  'failed',  -- running -> failed: a permanent error, or the last attempt failed
  'cancelled'  -- queued -> cancelled at once; running -> cancelled when the worker observes the request
);

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table internal.jobs (
  id bigint generated always as identity,
  kind text not null,
  payload jsonb not null default '{}',
  organization_id uuid,
  user_id uuid,
  priority integer not null default 0,
  status internal.job_status not null default 'queued',
  attempts integer not null default 0,
  max_attempts integer not null default 3,
  run_at timestamptz not null default now(),
  lease_owner text,
  lease_token uuid,
  lease_expires_at timestamptz,
  heartbeat_at timestamptz,
  progress jsonb,
  result jsonb,
  error text,
  dedupe_key text,
  cancel_requested_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint jobs_pkey primary key (id),
  constraint kind_is_dotted_name check (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  constraint max_attempts_is_positive check (max_attempts between 1 and 100),
  constraint attempts_within_max check (attempts between 0 and max_attempts),
  constraint running_iff_leased check (
    (status = 'running') = (lease_owner is not null and lease_token is not null and lease_expires_at is not null)
  ),
  constraint finished_iff_finished_at check (
    (status in ('succeeded', 'failed', 'cancelled')) = (finished_at is not null)
  ),
  constraint running_has_started check (status <> 'running' or started_at is not null)
);
comment on table internal.jobs is
'the job queue: one row per job; finished rows are pruned by internal.prune_jobs (keep the last N per kind)';
comment on column internal.jobs.priority is 'higher runs first (Team 20, Pro 10, Free 0); then run_at, then id';
comment on column internal.jobs.lease_token is
'new at every claim; complete/fail/heartbeat must present it, so a worker whose lease expired cannot finish';
comment on column internal.jobs.dedupe_key is 'unique among unfinished jobs: enqueueing a duplicate returns the existing job';
comment on column internal.jobs.cancel_requested_at is 'set by cancel on a running job; the worker stops it and marks it cancelled';

-- Workers announce themselves (and keep doing so with their heartbeats) so operators can see who is running.
create table internal.workers (
  name text not null,
  kinds text[] not null default '{}',
  concurrency integer not null default 1,
  started_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  stopped_at timestamptz,
  constraint workers_pkey primary key (name)
);
comment on table internal.workers is 'one row per worker process name (<host>:<pid> by default); last_seen_at moves with heartbeats';

-- ---------------------------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------------------------

-- the claim: the ready set, in claim order (small: finished and running rows are not in it)
create index jobs_claim_idx on internal.jobs (priority desc, run_at, id) where status = 'queued';
-- the reaper and heartbeats: the running set. Not on lease_expires_at, so that a heartbeat (which moves it) stays a
-- HOT update that touches no index.
create index jobs_running_idx on internal.jobs (id) where status = 'running';
create unique index jobs_dedupe_key_key on internal.jobs (dedupe_key)
where dedupe_key is not null and status in ('queued', 'running');
-- retention per kind: finished rows only, so claims and acks of live jobs do not maintain it
create index jobs_kind_status_finished_at_idx on internal.jobs (kind, status, finished_at)
where status in ('succeeded', 'failed', 'cancelled');
create index jobs_organization_id_idx on internal.jobs (organization_id) where organization_id is not null;

-- A queue table churns: vacuum it early and leave room for HOT updates.
alter table internal.jobs set (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01);

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- Legal status transitions, checked before every update (plus the same-status updates heartbeats make).
create function internal.tg_jobs__check_transition()
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
    ('queued', 'running'),  -- claimed
    ('queued', 'cancelled'),  -- cancelled before it ran
    ('running', 'succeeded'),
    ('running', 'failed'),  -- permanent error or attempts spent
    ('running', 'queued'),  -- retry after a retryable error, an expired lease, or a graceful release
    ('running', 'cancelled'),  -- the worker observed a cancel request
    ('failed', 'queued'),  -- manual retry (supakit jobs retry)
    ('cancelled', 'queued')  -- manual retry
  ) then
    raise exception 'job %: illegal status transition % -> %', old.id, old.status, new.status
      using errcode = '22023', hint = 'See the comments on internal.job_status for the legal transitions.';
  end if;
  return new;
end;
$$;

-- One wake-up per transaction, however many jobs it enqueued: identical notifications in one transaction are
-- delivered once. Workers treat it as a hint and poll as well.
create function internal.tg_jobs__notify()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform pg_notify('supakit_jobs', '');
  return null;
end;
$$;

-- Enqueue one job; returns its id. With a dedupe_key that an unfinished job already holds, returns that
-- job's id instead (nothing is inserted).
create function internal.enqueue_job(
  kind text,
  payload jsonb default '{}',
  organization_id uuid default null,
  user_id uuid default null,
  priority integer default 0,
  run_at timestamptz default now(),
  max_attempts integer default 3,
  dedupe_key text default null
)
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  job_id bigint;
begin
  insert into internal.jobs (kind, payload, organization_id, user_id, priority, run_at, max_attempts, dedupe_key)
  values (
    enqueue_job.kind, coalesce(enqueue_job.payload, '{}'), enqueue_job.organization_id, enqueue_job.user_id,
    coalesce(enqueue_job.priority, 0), coalesce(enqueue_job.run_at, now()), coalesce(enqueue_job.max_attempts, 3),
    enqueue_job.dedupe_key
  )
  on conflict (dedupe_key) where dedupe_key is not null and status in ('queued', 'running') do nothing
  returning id into job_id;
  if job_id is null then
    select j.id into job_id from internal.jobs as j
    where j.dedupe_key = enqueue_job.dedupe_key and j.status in ('queued', 'running');
  end if;
  return job_id;
end;
$$;

-- Enqueue many jobs of one kind in one statement (payloads[i] pairs with priorities[i] etc.; shorter arrays are
-- padded with defaults). Duplicated dedupe keys are skipped. Returns the ids inserted, in order.
create function internal.enqueue_jobs(
  kind text,
  payloads jsonb[],
  priorities integer[] default null,
  run_ats timestamptz[] default null,
  dedupe_keys text[] default null,
  max_attempts integer default 3
)
returns setof bigint
language sql
volatile
set search_path = ''
as $$
  insert into internal.jobs (kind, payload, priority, run_at, dedupe_key, max_attempts)
  select enqueue_jobs.kind, coalesce(p.payload, '{}'), coalesce(p.priority, 0), coalesce(p.run_at, now()),
    p.dedupe_key, enqueue_jobs.max_attempts
  from unnest(payloads, priorities, run_ats, dedupe_keys) with ordinality as p (payload, priority, run_at, dedupe_key, n)
  order by p.n
  on conflict (dedupe_key) where dedupe_key is not null and status in ('queued', 'running') do nothing
  returning id
$$;

-- Claim up to batch_size ready jobs (of `kinds`, or any kind when null) for `worker`, highest priority first,
-- with a lease of lease_seconds. Concurrent claimers skip each other's rows (skip locked).
create function internal.claim_jobs(
  worker text, batch_size integer default 10, kinds text[] default null, lease_seconds integer default 30
)
returns setof internal.jobs
language sql
volatile
set search_path = ''
as $$
  with ready as (
    select j.id from internal.jobs as j
    where j.status = 'queued' and j.run_at <= now() and (kinds is null or j.kind = any(kinds))
    order by j.priority desc, j.run_at, j.id
    limit batch_size
    for update skip locked
  )
  update internal.jobs as j
  set status = 'running', attempts = j.attempts + 1, lease_owner = worker, lease_token = gen_random_uuid(),
    lease_expires_at = now() + make_interval(secs => lease_seconds), heartbeat_at = now(),
    started_at = coalesce(j.started_at, now()), error = null
  from ready
  where j.id = ready.id
  returning j.*
$$;

-- Extend the leases of jobs a worker still runs; returns (id, cancel_requested) for each lease still held.
-- A job missing from the answer was lost (its lease expired and it was reaped): the worker must stop it.
create function internal.heartbeat_jobs(
  worker text, ids bigint[], tokens uuid[], lease_seconds integer default 30, progresses jsonb[] default null
)
returns table (id bigint, cancel_requested boolean)
language sql
volatile
set search_path = ''
as $$
  update internal.jobs as j
  set lease_expires_at = now() + make_interval(secs => lease_seconds), heartbeat_at = now(),
    progress = coalesce(h.progress, j.progress)
  from unnest(ids, tokens, progresses) as h (id, token, progress)
  where j.id = h.id and j.lease_token = h.token and j.lease_owner = worker and j.status = 'running'
  returning j.id, j.cancel_requested_at is not null
$$;

-- Finish jobs as succeeded. Only the holder of the current lease can; returns the ids it finished.
create function internal.complete_jobs(ids bigint[], tokens uuid[], results jsonb[] default null)
returns setof bigint
language sql
volatile
set search_path = ''
as $$
  update internal.jobs as j
  set status = 'succeeded', result = c.result, finished_at = now(), progress = null,
    lease_owner = null, lease_token = null, lease_expires_at = null
  from unnest(ids, tokens, results) as c (id, token, result)
  where j.id = c.id and j.lease_token = c.token and j.status = 'running'
  returning j.id
$$;

-- Record a failure. Cancel requested: cancelled. Retryable and attempts left: back to queued after
-- 5 s * 2^(attempts-1), with +-25% jitter. Otherwise failed. Returns the new status, or null when the caller no longer holds the lease.
create function internal.fail_job(job_id bigint, token uuid, message text, retryable boolean default true)
returns internal.job_status
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  outcome internal.job_status;
begin
  update internal.jobs as j
  set status = case
      when j.cancel_requested_at is not null then 'cancelled'::internal.job_status
      when fail_job.retryable and j.attempts < j.max_attempts then 'queued'::internal.job_status
      else 'failed'::internal.job_status end,
    run_at = case when fail_job.retryable and j.attempts < j.max_attempts
      then now() + make_interval(secs => 5 * power(2, j.attempts - 1) * (0.75 + random() * 0.5))
      else j.run_at end,
    error = left(message, 4000),
    finished_at = case when fail_job.retryable and j.attempts < j.max_attempts and j.cancel_requested_at is null
      then null else now() end,
    lease_owner = null, lease_token = null, lease_expires_at = null
  where j.id = job_id and j.lease_token = token and j.status = 'running'
  returning j.status into outcome;
  return outcome;
end;
$$;

-- Give jobs back without counting the attempt (graceful shutdown before the handler could finish).
create function internal.release_jobs(ids bigint[], tokens uuid[])
returns setof bigint
language plpgsql
volatile
set search_path = ''
as $$
begin
  -- keeps its place in line (run_at never moves later) and wakes idle workers
  return query
  update internal.jobs as j
  set status = 'queued', attempts = greatest(j.attempts - 1, 0), run_at = least(j.run_at, now()),
    lease_owner = null, lease_token = null, lease_expires_at = null
  from unnest(ids, tokens) as r (id, token)
  where j.id = r.id and j.lease_token = r.token and j.status = 'running'
  returning j.id;
  if found then
    perform pg_notify('supakit_jobs', '');
  end if;
end;
$$;

-- Mark a running job whose cancellation the worker observed (it stopped the handler).
create function internal.mark_jobs_cancelled(ids bigint[], tokens uuid[])
returns setof bigint
language sql
volatile
set search_path = ''
as $$
  update internal.jobs as j
  set status = 'cancelled', finished_at = now(), error = 'cancelled while running',
    lease_owner = null, lease_token = null, lease_expires_at = null
  from unnest(ids, tokens) as r (id, token)
  where j.id = r.id and j.lease_token = r.token and j.status = 'running'
  returning j.id
$$;

-- Cancel a job: queued -> cancelled at once; running -> cancel requested (the worker stops it, within about a
-- second). Returns the status after the call; null for an unknown job.
create function internal.cancel_job(job_id bigint)
returns internal.job_status
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  outcome internal.job_status;
begin
  update internal.jobs as j
  set status = case when j.status = 'queued' then 'cancelled'::internal.job_status else j.status end,
    finished_at = case when j.status = 'queued' then now() else j.finished_at end,
    cancel_requested_at = case when j.status = 'running' then coalesce(j.cancel_requested_at, now())
      else j.cancel_requested_at end
  where j.id = job_id
  returning j.status into outcome;
  if outcome = 'running' then
    perform pg_notify('supakit_jobs_cancel', job_id::text);
  end if;
  if outcome is null then
    select j.status into outcome from internal.jobs as j where j.id = job_id;
  end if;
  return outcome;
end;
$$;

-- Requeue (or fail, when attempts are spent) running jobs whose lease expired: their worker died or hung.
-- Returns the ids and what became of them.
create function internal.reap_expired_leases()
returns table (id bigint, status internal.job_status)
language plpgsql
volatile
set search_path = ''
as $$
begin
  return query
  with expired as (
    select j.id from internal.jobs as j
    where j.status = 'running' and j.lease_expires_at < now()
    for update skip locked
  )
  update internal.jobs as j
  set status = case when j.attempts < j.max_attempts and j.cancel_requested_at is null
      then 'queued'::internal.job_status
      when j.cancel_requested_at is not null then 'cancelled'::internal.job_status
      else 'failed'::internal.job_status end,
    finished_at = case when j.attempts < j.max_attempts and j.cancel_requested_at is null then null else now() end,
    error = 'lease expired: the worker ' || j.lease_owner || ' stopped heart-beating',
    lease_owner = null, lease_token = null, lease_expires_at = null
  from expired
  where j.id = expired.id
  returning j.id, j.status;
  if found then
    perform pg_notify('supakit_jobs', '');  -- requeued jobs are ready now: wake idle workers
  end if;
end;
$$;

-- Retention: keep the newest keep_succeeded succeeded and keep_failed failed (and cancelled) jobs per kind;
-- delete older finished ones. Returns how many rows it deleted.
create function internal.prune_jobs(keep_succeeded integer default 100, keep_failed integer default 500)
returns bigint
language sql
volatile
set search_path = ''
as $$
  with ranked as (
    select j.id, j.status,
      row_number() over (
        partition by j.kind, j.status = 'succeeded' order by j.finished_at desc, j.id desc
      ) as n
    from internal.jobs as j
    where j.status in ('succeeded', 'failed', 'cancelled')
  ),
  removed as (
    delete from internal.jobs as j
    using ranked as r
    where j.id = r.id
      and r.n > case when r.status = 'succeeded' then keep_succeeded else keep_failed end
    returning 1
  )
  select count(*) from removed
$$;

-- Run a failed or cancelled job again, from attempt one. Returns the new status (queued), or null when the job is
-- unknown or not failed/cancelled.
create function internal.retry_job(job_id bigint)
returns internal.job_status
language sql
volatile
set search_path = ''
as $$
  update internal.jobs as j
  set status = 'queued', attempts = 0, run_at = now(), finished_at = null, cancel_requested_at = null
  where j.id = job_id and j.status in ('failed', 'cancelled')
  returning j.status
$$;

-- A worker says it is alive (at start and with every heartbeat); `stopping` marks a graceful stop.
create function internal.worker_seen(worker text, kinds text[], concurrency integer, stopping boolean default false)
returns void
language sql
volatile
set search_path = ''
as $$
  insert into internal.workers as w (name, kinds, concurrency)
  values (worker, coalesce(kinds, '{}'), coalesce(concurrency, 1))
  on conflict (name) do update
  set kinds = excluded.kinds, concurrency = excluded.concurrency, last_seen_at = now(),
    stopped_at = case when stopping then now() end
$$;

revoke all on function internal.retry_job(bigint) from public;
revoke all on function internal.worker_seen(text, text[], integer, boolean) from public;
revoke all on function internal.tg_jobs__check_transition() from public;
revoke all on function internal.tg_jobs__notify() from public;
revoke all on function internal.enqueue_job(text, jsonb, uuid, uuid, integer, timestamptz, integer, text) from public;
revoke all on function internal.enqueue_jobs(text, jsonb[], integer[], timestamptz[], text[], integer) from public;
revoke all on function internal.claim_jobs(text, integer, text[], integer) from public;
revoke all on function internal.heartbeat_jobs(text, bigint[], uuid[], integer, jsonb[]) from public;
revoke all on function internal.complete_jobs(bigint[], uuid[], jsonb[]) from public;
revoke all on function internal.fail_job(bigint, uuid, text, boolean) from public;
revoke all on function internal.release_jobs(bigint[], uuid[]) from public;
revoke all on function internal.mark_jobs_cancelled(bigint[], uuid[]) from public;
revoke all on function internal.cancel_job(bigint) from public;
revoke all on function internal.reap_expired_leases() from public;
revoke all on function internal.prune_jobs(integer, integer) from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _100_check_transition
before update on internal.jobs
for each row execute function internal.tg_jobs__check_transition();

create trigger _900_notify_worker
after insert on internal.jobs
for each statement execute function internal.tg_jobs__notify();
