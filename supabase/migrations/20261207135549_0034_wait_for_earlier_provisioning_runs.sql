-- Exported by `supakit migrate export` from sql/0034_wait_for_earlier_provisioning_runs.sql (sha256 3dbf10c88224c81b6aa1b1b1f9f17966bc82f6aedbf93bf3b3cf574601bece88).
-- Edit the source file, not this one.

-- 0034_wait_for_earlier_provisioning_runs: a run that waits for another run of its organization spends none of its
-- job's attempts, and starts as soon as that run ends.
-- The saga engine runs one organization's runs one at a time, in the order they were requested: a run does not start
-- while another worker executes the organization (its session lock) or while an earlier run of another kind is live
-- (functions_py/provisioning/saga.py, RunMustWait). Until now each such wait was a failed attempt: a backup or a
-- restore requested during a resize on AWS (minutes: an image, an instance, a DNS change) used its 5 attempts in
-- ~40 s of backoff and was rolled back, and the owners were told a backup had failed.
-- * internal.keep_provisioning_job_waiting(job_id, token): the handler calls it before retrying a job whose run must
--   wait; the job gets one more attempt (max_attempts + 1, at most 100), so the wait is not counted. The backoff
--   still grows with each try: few retries however long the wait.
-- * When a run leaves the live states (pending, running, compensating), the queued jobs of the organization's other
--   live runs are made due at once (trigger _730_release_waiting_runs), so a waiting run does not sit out the rest of
--   its backoff.

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- One more attempt for the running job `job_id` (leased with `token`) whose run waits for another; false when the
-- lease is no longer held.
create function internal.keep_provisioning_job_waiting(job_id bigint, token uuid)
returns boolean
language sql
volatile
set search_path = ''
as $$
  with kept as (
    update internal.jobs as j
    set max_attempts = least(j.max_attempts + 1, 100)
    where
      j.id = keep_provisioning_job_waiting.job_id
      and j.lease_token = keep_provisioning_job_waiting.token
      and j.status = 'running'
      and j.kind in ('provisioning.run', 'provisioning.deprovision')
    returning j.id
  )

  select exists (select from kept)
$$;
comment on function internal.keep_provisioning_job_waiting(bigint, uuid) is
'give a provisioning job whose run waits for another run one more attempt, so the wait is not counted';

create function internal.tg_provisioning_runs__release_waiting()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update internal.jobs as j
  set run_at = now()
  from public.provisioning_runs as r
  where
    r.organization_id = new.organization_id
    and r.id <> new.id
    and r.status in ('pending', 'running', 'compensating')
    and j.id = r.job_id
    and j.status = 'queued'
    and j.run_at > now();
  if found then
    perform pg_notify('supakit_jobs', '');  -- as an enqueue does: idle workers claim at once
  end if;
  return null;
end;
$$;

revoke all on function internal.keep_provisioning_job_waiting(bigint, uuid) from public;
revoke all on function internal.tg_provisioning_runs__release_waiting() from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _730_release_waiting_runs
after update of status on public.provisioning_runs
for each row
when (
  old.status in ('pending', 'running', 'compensating')
  and new.status not in ('pending', 'running', 'compensating')
)
execute function internal.tg_provisioning_runs__release_waiting();

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
  ('versioned', '0034', '0034_wait_for_earlier_provisioning_runs.sql', '3dbf10c88224c81b6aa1b1b1f9f17966bc82f6aedbf93bf3b3cf574601bece88')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
