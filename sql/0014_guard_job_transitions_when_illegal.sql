-- 0014_guard_job_transitions_when_illegal: the jobs' transition guard runs only when it has work to do.
-- The BEFORE UPDATE trigger _100_check_transition (sql/0006) ran its plpgsql function for every update: a claim and
-- an ack per job, ~7 of the ~45 microseconds of database CPU a no-op job costs (bench/jobs.py; docs/job-worker-performance.md).
-- Now a WHEN clause, evaluated by the executor without a function call, decides: the function runs when the
-- transition is illegal (it raises, as before) or when the statement did not move updated_at (it sets it to now(), as
-- before). The functions of the worker's hot path set updated_at themselves, so their updates skip the call; every
-- other update (fail, cancel, heartbeat, reap, retry, an operator's own SQL) still gets updated_at from the trigger.
-- One difference: a statement that sets updated_at to a value of its own now keeps it.

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

drop trigger _100_check_transition on internal.jobs;
create trigger _100_check_transition
before update on internal.jobs
for each row
when (
  new.updated_at is not distinct from old.updated_at
  or (
    old.status <> new.status
    and (old.status, new.status) not in (
      ('queued', 'running'), ('queued', 'cancelled'), ('running', 'succeeded'), ('running', 'failed'),
      ('running', 'queued'), ('running', 'cancelled'), ('failed', 'queued'), ('cancelled', 'queued')
    )
  )
)
execute function internal.tg_jobs__check_transition();

-- ---------------------------------------------------------------------------------------------------------
-- functions: the hot path sets updated_at (bodies otherwise as in sql/0006 and sql/0013)
-- ---------------------------------------------------------------------------------------------------------

create or replace function internal.claim_jobs(
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
    started_at = coalesce(j.started_at, now()), error = null, updated_at = now()
  from ready
  where j.id = ready.id
  returning j.*
$$;

create or replace function internal.complete_jobs(ids bigint[], tokens uuid[], results jsonb[] default null)
returns setof bigint
language sql
volatile
set search_path = ''
as $$
  update internal.jobs as j
  set status = 'succeeded', result = c.result, finished_at = now(), progress = null,
    lease_owner = null, lease_token = null, lease_expires_at = null, updated_at = now()
  from unnest(ids, tokens, results) as c (id, token, result)
  where j.id = c.id and j.lease_token = c.token and j.status = 'running'
  returning j.id
$$;

create or replace function internal.claim_jobs_v2(
  worker text, batch_size integer default 10, kinds text[] default null, lease_seconds integer default 30
)
returns table (
  id bigint, kind text, payload jsonb, attempts integer, max_attempts integer, organization_id uuid, user_id uuid,
  lease_token uuid
)
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
    started_at = coalesce(j.started_at, now()), error = null, updated_at = now()
  from ready
  where j.id = ready.id
  returning j.id, j.kind, j.payload, j.attempts, j.max_attempts, j.organization_id, j.user_id, j.lease_token
$$;

create or replace function internal.finish_and_claim_jobs(
  worker text, ids bigint[], tokens uuid[], results jsonb[], batch_size integer, kinds text[] default null,
  lease_seconds integer default 30
)
returns table (
  id bigint, kind text, payload jsonb, attempts integer, max_attempts integer, organization_id uuid, user_id uuid,
  lease_token uuid
)
language sql
volatile
set search_path = ''
as $$
  select set_config('synchronous_commit', 'off', true);
  with completed as (
    update internal.jobs as j
    set status = 'succeeded', result = c.result, finished_at = now(), progress = null,
      lease_owner = null, lease_token = null, lease_expires_at = null, updated_at = now()
    from unnest(ids, tokens, results) as c (id, token, result)
    where j.id = c.id and j.lease_token = c.token and j.status = 'running'
    returning j.id
  ),
  ready as (
    select j.id from internal.jobs as j
    where j.status = 'queued' and j.run_at <= now() and (kinds is null or j.kind = any(kinds))
    order by j.priority desc, j.run_at, j.id
    limit batch_size
    for update skip locked
  ),
  claimed as (
    update internal.jobs as j
    set status = 'running', attempts = j.attempts + 1, lease_owner = worker, lease_token = gen_random_uuid(),
      lease_expires_at = now() + make_interval(secs => lease_seconds), heartbeat_at = now(),
      started_at = coalesce(j.started_at, now()), error = null, updated_at = now()
    from ready
    where j.id = ready.id
    returning j.id, j.kind, j.payload, j.attempts, j.max_attempts, j.organization_id, j.user_id, j.lease_token
  )
  select
    completed.id, null::text, null::jsonb, null::integer, null::integer, null::uuid, null::uuid, null::uuid
  from completed
  union all
  select
    claimed.id, claimed.kind, claimed.payload, claimed.attempts, claimed.max_attempts, claimed.organization_id,
    claimed.user_id, claimed.lease_token
  from claimed
$$;
