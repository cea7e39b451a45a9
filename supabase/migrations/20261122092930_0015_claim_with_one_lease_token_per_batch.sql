-- Exported by `supakit migrate export` from sql/0015_claim_with_one_lease_token_per_batch.sql (sha256 c9f485c9b73ab50dba6d4cebcfb57f61426329e343ac8b80e3071c37613f52a8).
-- Edit the source file, not this one.

-- 0015_claim_with_one_lease_token_per_batch: what a profile of the worker's exchange found (perf on the backend
-- running bench/jobs.py's statement; docs/job-worker-performance.md). Bodies otherwise as in sql/0014.
-- 1. gen_random_uuid() ran once per claimed row. Where PostgreSQL is built without OpenSSL (the embedded wheel) each
--    call opens and reads /dev/urandom: ~9% of the backend's time. A claim now draws one token per statement and
--    gives it to every job of the batch: the lease check is always on (id, token), and every claim still draws a
--    new token, so a worker whose lease expired still cannot finish the job.
-- 2. The statement was planned at every call (~11%): the plan cache kept custom plans, because the generic plan
--    hash-joined the claimed ids over a sequential scan of the queue. The claim now names its rows with
--    `id = any(array(...))` and the ack adds `id = any(ids)`, so the generic plan uses jobs_claim_idx, jobs_pkey and
--    jobs_running_idx as the custom ones did, and the functions pin it (plan_cache_mode, a function setting).

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
set plan_cache_mode = force_generic_plan
as $$
  with ready as (
    select j.id from internal.jobs as j
    where j.status = 'queued' and j.run_at <= now() and (kinds is null or j.kind = any(kinds))
    order by j.priority desc, j.run_at, j.id
    limit batch_size
    for update skip locked
  )
  update internal.jobs as j
  set status = 'running', attempts = j.attempts + 1, lease_owner = worker, lease_token = (select gen_random_uuid()),
    lease_expires_at = now() + make_interval(secs => lease_seconds), heartbeat_at = now(),
    started_at = coalesce(j.started_at, now()), error = null, updated_at = now()
  where j.id = any(array(select ready.id from ready))
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
set plan_cache_mode = force_generic_plan
as $$
  select set_config('synchronous_commit', 'off', true);
  with completed as (
    update internal.jobs as j
    set status = 'succeeded', result = c.result, finished_at = now(), progress = null,
      lease_owner = null, lease_token = null, lease_expires_at = null, updated_at = now()
    from unnest(ids, tokens, results) as c (id, token, result)
    where j.id = any(ids) and j.id = c.id and j.lease_token = c.token and j.status = 'running'
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
    set status = 'running', attempts = j.attempts + 1, lease_owner = worker, lease_token = (select gen_random_uuid()),
      lease_expires_at = now() + make_interval(secs => lease_seconds), heartbeat_at = now(),
      started_at = coalesce(j.started_at, now()), error = null, updated_at = now()
    where j.id = any(array(select ready.id from ready))
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
  ('versioned', '0015', '0015_claim_with_one_lease_token_per_batch.sql', 'c9f485c9b73ab50dba6d4cebcfb57f61426329e343ac8b80e3071c37613f52a8')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
