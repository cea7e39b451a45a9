-- Exported by `supakit migrate export` from sql/0022_create_provisioning_retry.sql (sha256 25f17f610b563dc7df1b308d838007f1ba827ff764624dc2b8d7a7747709a80c).
-- Edit the source file, not this one.

-- 0022_create_provisioning_retry: what `supakit provision retry` decides, as one SQL function. The CLI used to
-- re-encode the rule in Python and queued a deprovision run's job again with max_attempts 5, where
-- internal.request_deprovisioning (sql/0012) gives it 10; here each kind gets the attempts its request function
-- gives it (5 for provision, 10 for deprovision).

-- =============================================================================================================
-- functions
-- =============================================================================================================

-- Retry an organization's latest provisioning run. Returns the run it acted on (null when there is none to act
-- on) and what it did:
--   'no_run'        the organization has no run
--   'succeeded'     the latest run succeeded: nothing to retry
--   'requested'     the latest run rolled back (or a teardown failed): a new run was requested (run_id null when
--                   request_provisioning / request_deprovisioning refused, e.g. infrastructure already active)
--   'left'          its job is already queued or running
--   'requeued'      a live run, or a failed rollback, without a live job: its job was queued again
create function internal.retry_provisioning(org_id uuid, out run_id uuid, out action text)
language plpgsql
volatile
set search_path = ''
as $$
declare
  latest record;
begin
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  select r.id, r.kind, r.status, j.status::text as job_status into latest
  from public.provisioning_runs as r left join internal.jobs as j on r.job_id = j.id
  where r.organization_id = org_id
  order by r.created_at desc, r.id
  limit 1;
  if latest.id is null then
    action := 'no_run';
  elsif latest.status = 'succeeded' then
    run_id := latest.id;
    action := 'succeeded';
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
      case r.kind when 'provision' then 'provisioning.run' else 'provisioning.deprovision' end,
      jsonb_build_object('run_id', r.id), r.organization_id, null, 0, now(),
      case r.kind when 'provision' then 5 else 10 end,
      case r.kind when 'provision' then 'provisioning:' else 'deprovisioning:' end || r.organization_id::text
    )
    where r.id = latest.id;
    insert into public.provisioning_logs (run_id, organization_id, message)
    values (latest.id, org_id, 'retry requested');
    run_id := latest.id;
    action := 'requeued';
  end if;
end;
$$;
comment on function internal.retry_provisioning(uuid) is
'retry the organization''s latest provisioning run: request a new one, leave it, or queue its job again';

revoke all on function internal.retry_provisioning(uuid) from public;

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
  ('versioned', '0022', '0022_create_provisioning_retry.sql', '25f17f610b563dc7df1b308d838007f1ba827ff764624dc2b8d7a7747709a80c')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
