-- Exported by `supakit migrate export` from sql/0013_create_job_exchange.sql (sha256 7a4d1163d825c56324a4fdca2c15e1f066fe8b78be760659355db24156760fb8).
-- Edit the source file, not this one.

-- 0013_create_job_exchange: the worker's hot path in one statement. A worker's exchange writes the jobs it
-- finished and claims the next batch; until now that took a transaction of four statements (begin, set local,
-- complete_jobs, claim_jobs returning every column of internal.jobs, commit). finish_and_claim_jobs does the common
-- case — every finished job succeeded — in one autocommit statement that returns only what the worker reads.
-- Expand, then contract: claim_jobs and complete_jobs stay (tests, operators and older workers call them).

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- claim_jobs, answering only the columns a worker needs to run a job.
create function internal.claim_jobs_v2(
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
    started_at = coalesce(j.started_at, now()), error = null
  from ready
  where j.id = ready.id
  returning j.id, j.kind, j.payload, j.attempts, j.max_attempts, j.organization_id, j.user_id, j.lease_token
$$;

-- Complete the jobs a worker finished (as complete_jobs: only with their current lease token) and claim up to
-- batch_size new ones (as claim_jobs_v2), in one statement. Answers the completed jobs as rows with only `id` set
-- (kind is null) and then the claimed jobs. A job the worker finished that is missing from the answer was lost
-- (its lease had expired). The statement's transaction does not wait for its WAL flush (synchronous_commit off,
-- local to it): were the commit lost in a crash, the leases expire and the jobs run again (at least once).
create function internal.finish_and_claim_jobs(
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
      lease_owner = null, lease_token = null, lease_expires_at = null
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
      started_at = coalesce(j.started_at, now()), error = null
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

revoke all on function internal.claim_jobs_v2(text, integer, text[], integer) from public;
revoke all on function internal.finish_and_claim_jobs(text, bigint[], uuid[], jsonb[], integer, text[], integer)
from public;

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
  ('versioned', '0013', '0013_create_job_exchange.sql', '7a4d1163d825c56324a4fdca2c15e1f066fe8b78be760659355db24156760fb8')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
