-- Exported by `supakit migrate export` from sql/0031_create_backups.sql (sha256 64ade3e1ce13b96cd95cdd07ad97f2eda7418b97aa48fad18a8e031104c6618d).
-- Edit the source file, not this one.

-- 0031_create_backups: backups of customers' infrastructure, taken on a schedule per plan and restorable, both as
-- sagas on the provisioning engine of sql/0012 and 0016 (persisted steps, idempotency keys, compensation).
-- * Policy per plan (internal.backup_policies): Pro daily keeping 7, Team hourly keeping 48, Free none. While an
--   organization's infrastructure is active and its plan has a policy, it has a recurring job (sql/0030)
--   `backups:<org id>` of kind provisioning.backup; a trigger on customer_infrastructure keeps it in step with the
--   infrastructure's status and plan.
-- * A backup (public.backups, one per schedule slot) is a provisioning run of kind `backup`: steps `snapshot` (the
--   provider's instance snapshot) and `export` (the customer's data, written to S3 or a directory, with its size
--   and sha256). Its job is the usual provisioning.run (5 attempts): a retryable error is retried and resumes at the
--   step in flight; a failure for good undoes what was made (the snapshot deleted, the export removed), the backup
--   is `failed` and the owners are alerted by e-mail (the outbox of sql/0010).
-- * Retention: when a backup succeeds, the organization's succeeded backups beyond the policy's `keep` become
--   `expiring`, and a provisioning.expire_backups job removes their snapshots and exports and marks them `expired`.
-- * A restore is a run of kind `restore` of a chosen succeeded backup (public.request_restore for owners, `supakit
--   provision restore`): fetch and verify the export, load it beside the live data, swap it in, verify. A failure
--   before the end swaps the previous data back (compensation).
-- Backup and restore runs send no provisioning e-mails (the outcome trigger is narrowed to provision and
-- deprovision); backups alert on failure, restores tell the owners either way.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table internal.backup_policies (
  plan_id text not null,
  every interval not null,
  keep integer not null,
  constraint backup_policies_pkey primary key (plan_id),
  constraint backup_policies_plan_id_fkey foreign key (plan_id) references public.plans (id) on delete cascade,
  constraint every_is_at_least_a_minute check (every >= interval '1 minute'),
  constraint keep_is_positive check (keep between 1 and 1000)
);
comment on table internal.backup_policies is
'how often a plan''s customers are backed up and how many succeeded backups are kept; a plan without a row has none';

insert into internal.backup_policies (plan_id, every, keep)
values ('pro', interval '1 day', 7), ('team', interval '1 hour', 48);

create table public.backups (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  plan_id text not null,
  provider text,
  reason text not null default 'manual',
  slot timestamptz,
  status text not null default 'pending',
  snapshot_id text,
  snapshot jsonb not null default '{}',
  export_url text,
  size_bytes bigint,
  sha256 text,
  error text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  expired_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint backups_pkey primary key (id),
  constraint backups_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint backups_organization_id_slot_key unique (organization_id, slot),
  constraint status_is_known check (status in ('pending', 'running', 'succeeded', 'failed', 'expiring', 'expired')),
  constraint reason_is_not_blank check (char_length(btrim(reason)) between 1 and 200),
  constraint sha256_is_hex check (sha256 ~ '^[0-9a-f]{64}$'),
  constraint size_bytes_not_negative check (size_bytes >= 0),
  constraint succeeded_has_its_export check (
    status not in ('succeeded', 'expiring') or (export_url is not null and sha256 is not null and size_bytes is not null)
  ),
  constraint finished_iff_finished_at check ((status in ('pending', 'running')) = (finished_at is null))
);
comment on table public.backups is
'one backup of an organization''s infrastructure: the instance snapshot and the data export, with size and sha256';
comment on column public.backups.status is
'pending -> running (its run started) -> succeeded | failed (rolled back: nothing of it is left); pending -> failed '
'(its run ended before it started); succeeded -> expiring (beyond the plan''s retention) -> expired (removed)';
comment on column public.backups.slot is 'the schedule slot it was taken for (null for a manual backup): one per slot';
comment on column public.backups.snapshot_id is 'the provider''s snapshot (local: a directory; aws: an EBS snapshot id)';
comment on column public.backups.export_url is 's3://<bucket>/<key> or file://<path> of the data export';

alter table public.provisioning_runs
drop constraint kind_is_known,
add constraint kind_is_known check (kind in ('provision', 'deprovision', 'backup', 'restore')),
add column backup_id uuid,
add constraint provisioning_runs_backup_id_fkey foreign key (backup_id) references public.backups (id)
on delete set null;
comment on column public.provisioning_runs.backup_id is
'a backup run: the backup it takes; a restore run: the backup it restores (sql/0031)';
comment on column public.provisioning_runs.kind is
'provision | deprovision (sql/0012) | backup | restore (sql/0031)';

alter table internal.outbox_emails
drop constraint template_is_known,
add constraint template_is_known check (
  template in (
    'welcome', 'provisioning_complete', 'provisioning_failed', 'payment_failed',
    'auth.signup', 'auth.magiclink', 'auth.recovery', 'auth.invite', 'auth.email_change', 'auth.reauthentication',
    'backup_failed', 'restore_complete', 'restore_failed'
  )
);

-- ---------------------------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------------------------

create index backups_organization_id_created_at_idx on public.backups (organization_id, created_at desc);
create index provisioning_runs_backup_id_idx on public.provisioning_runs (backup_id) where backup_id is not null;

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- As in sql/0016, except that every kind but deprovision is compensated: a backup or restore step that fails for
-- good undoes the steps done, like a provision step.
create or replace function internal.fail_provisioning_step(step_id bigint, message text, for_good boolean)
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  run public.provisioning_runs;
  step public.provisioning_steps;
begin
  run := internal.provisioning_step_run(step_id, 'running');
  if not for_good then
    update public.provisioning_steps as s set error = left(message, 4000) where s.id = step_id
    returning * into step;
    perform internal.log_provisioning(run.id, step.name, 'warning', 'step failed, will be retried: ' || message);
    return run.status;
  end if;
  update public.provisioning_steps as s
  set status = 'failed', error = left(message, 4000), finished_at = now()
  where s.id = step_id
  returning * into step;
  if run.kind <> 'deprovision' then
    perform internal.move_provisioning_run(
      run.id, 'compensating', 'step ' || step.name || ' failed for good: ' || message || '; rolling back', 'error',
      left('step ' || step.name || ' failed: ' || message, 2000), step.name
    );
    return 'compensating';
  end if;
  perform internal.move_provisioning_run(
    run.id, 'failed', 'step ' || step.name || ' failed: ' || message || '; request deprovisioning again once fixed',
    'error', left('step ' || step.name || ' failed: ' || message, 2000), step.name
  );
  return 'failed';
end;
$$;

create function internal.tg_backups__check_transition()
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
    ('pending', 'running'),
    ('pending', 'failed'),
    ('running', 'succeeded'),
    ('running', 'failed'),
    ('succeeded', 'expiring'),
    ('expiring', 'expired')
  ) then
    raise exception 'backup %: illegal status transition % -> %', old.id, old.status, new.status
      using errcode = '22023', hint = 'See the comment on public.backups.status for the legal transitions.';
  end if;
  return new;
end;
$$;

-- Keep the organization's backup schedule in step with its infrastructure: a schedule while it is active on a plan
-- with a policy, none otherwise.
create function internal.sync_backup_schedule(org_id uuid)
returns timestamptz
language plpgsql
volatile
set search_path = ''
as $$
declare
  policy internal.backup_policies;
  infra public.customer_infrastructure;
begin
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  select * into policy from internal.backup_policies as p where p.plan_id = infra.plan_id;
  if infra.status is distinct from 'active' or policy.plan_id is null then
    delete from internal.job_schedules as s where s.name = 'backups:' || org_id::text;
    return null;
  end if;
  return internal.upsert_job_schedule(
    'backups:' || org_id::text, 'provisioning.backup', policy.every,
    jsonb_build_object('organization_id', org_id), org_id, 0, 3
  );
end;
$$;
comment on function internal.sync_backup_schedule(uuid) is
'create, change or remove the organization''s `backups:<id>` schedule from its infrastructure and plan; its next slot';

create function internal.tg_customer_infrastructure__backup_schedule()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform internal.sync_backup_schedule(new.organization_id);
  return null;
end;
$$;

-- Request a backup of the organization: a backups row and its run (kind backup, job provisioning.run). Returns the
-- run's id: the existing one when the slot was taken already or a backup run is live; null when there is nothing to
-- back up (no active infrastructure). Serialised with the other requests of the organization.
create function internal.request_backup(org_id uuid, reason text default 'manual', slot timestamptz default null)
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
declare
  run_id uuid;
  new_backup uuid;
  infra public.customer_infrastructure;
begin
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  if slot is not null then
    select r.id into run_id from public.backups as b join public.provisioning_runs as r on r.backup_id = b.id
    where b.organization_id = org_id and b.slot = request_backup.slot and r.kind = 'backup';
    if found then
      return run_id;
    end if;
  end if;
  select r.id into run_id from public.provisioning_runs as r
  where r.organization_id = org_id and r.kind = 'backup' and r.status in ('pending', 'running', 'compensating');
  if run_id is not null then
    return run_id;
  end if;
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  if infra.status is distinct from 'active' then
    return null;
  end if;
  insert into public.backups (organization_id, plan_id, provider, reason, slot)
  values (org_id, coalesce(infra.plan_id, 'free'), infra.provider, coalesce(reason, 'manual'), slot)
  returning id into new_backup;
  insert into public.provisioning_runs (organization_id, kind, plan_id, provider, reason, backup_id)
  values (org_id, 'backup', coalesce(infra.plan_id, 'free'), infra.provider, coalesce(reason, 'manual'), new_backup)
  returning id into run_id;
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run_id), org_id, null, 0, now(), 5, 'backup:' || org_id::text
  )
  where r.id = run_id;
  perform internal.log_provisioning(
    run_id, null, 'info', 'backup requested', jsonb_build_object('reason', reason, 'slot', slot, 'backup_id', new_backup)
  );
  return run_id;
end;
$$;
comment on function internal.request_backup(uuid, text, timestamptz) is
'queue one backup (row, run and job) of an organization''s active infrastructure; one per slot, one live at a time';

-- Request the restore of backup `backup_id` (succeeded, of an organization with active infrastructure). Returns the
-- restore run's id (the live one when this backup is being restored already).
create function internal.request_restore_run(backup_id uuid, reason text default 'manual')
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
declare
  chosen public.backups;
  live public.provisioning_runs;
  run_id uuid;
begin
  select * into chosen from public.backups as b where b.id = request_restore_run.backup_id;
  if chosen.id is null then
    raise exception 'backup % not found', backup_id using errcode = 'P0002',
      hint = 'List the organization''s backups with `supakit provision backups --org <id>` or GET /rest/v1/backups.';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || chosen.organization_id::text, 0));
  select * into chosen from public.backups as b where b.id = request_restore_run.backup_id;
  if chosen.status <> 'succeeded' then
    raise exception 'backup % is %: only a succeeded backup can be restored', chosen.id, chosen.status
      using errcode = '22023', hint = 'Choose a backup whose status is succeeded.';
  end if;
  select * into live from public.provisioning_runs as r
  where r.organization_id = chosen.organization_id and r.kind = 'restore'
    and r.status in ('pending', 'running', 'compensating');
  if live.id is not null then
    if live.backup_id = chosen.id then
      return live.id;
    end if;
    raise exception 'a restore of backup % is already in progress for this organization', live.backup_id
      using errcode = '55000', hint = 'Wait for it to finish (supakit provision status), then request this one.';
  end if;
  if not exists (
    select 1 from public.customer_infrastructure as i
    where i.organization_id = chosen.organization_id and i.status = 'active'
  ) then
    raise exception 'the organization''s infrastructure is not active: there is nothing to restore into'
      using errcode = '55000', hint = 'Provision it first (supakit provision run), then restore.';
  end if;
  insert into public.provisioning_runs (organization_id, kind, plan_id, provider, reason, backup_id)
  values (chosen.organization_id, 'restore', chosen.plan_id, chosen.provider, coalesce(reason, 'manual'), chosen.id)
  returning id into run_id;
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run_id), chosen.organization_id, null, 0, now(), 5,
    'restore:' || chosen.organization_id::text
  )
  where r.id = run_id;
  perform internal.log_provisioning(
    run_id, null, 'info', 'restore requested',
    jsonb_build_object('reason', reason, 'backup_id', chosen.id, 'backup_created_at', chosen.created_at)
  );
  return run_id;
end;
$$;
comment on function internal.request_restore_run(uuid, text) is
'queue the restore (run and job) of a succeeded backup; idempotent for the same backup, one restore at a time';

-- The RPC's body: owners only. Anyone else (members included) gets the same 404 as for a backup that does not exist.
create function internal.request_restore(backup_id uuid)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  org_id uuid;
begin
  if backup_id is null then
    raise exception 'backup_id is required' using errcode = '22023', hint = 'Pass the id of a succeeded backup.';
  end if;
  select b.organization_id into org_id from public.backups as b where b.id = request_restore.backup_id;
  if org_id is null or not internal.has_org_role(org_id, '{owner}') then
    raise exception 'backup not found' using errcode = 'PT404',
      hint = 'Only an owner of the backup''s organization may restore it.';
  end if;
  return internal.request_restore_run(backup_id, 'requested by ' || coalesce((select auth.uid())::text, 'an owner'));
end;
$$;
comment on function internal.request_restore(uuid) is
'owners: restore a succeeded backup of their organization; returns the restore run''s id';

create function public.request_restore(backup_id uuid)
returns uuid
language sql
volatile
security invoker
set search_path = ''
as $$
  select internal.request_restore(request_restore.backup_id)
$$;
comment on function public.request_restore(uuid) is
'owners: restore a succeeded backup; returns the restore run''s id (progress on org:<id>:provisioning)'
'; body: internal.request_restore';

-- A backup or restore run moved: the backup follows (and, on success, the retention); owners are told.
create function internal.tg_provisioning_runs__backup_outcome()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  owner_email text;
  snapshot_output jsonb;
  export_output jsonb;
  policy internal.backup_policies;
  expiring integer;
  chosen public.backups;
  template text;
begin
  if new.status = old.status or new.backup_id is null then
    return null;
  end if;
  if new.kind = 'restore' then
    template := case new.status when 'succeeded' then 'restore_complete' when 'rolled_back' then 'restore_failed'
      when 'failed' then 'restore_failed' end;
    if template is null then
      return null;
    end if;
    select * into chosen from public.backups as b where b.id = new.backup_id;
    for owner_email in select e from internal.organization_owner_emails(new.organization_id) as e loop
      perform internal.enqueue_email(
        owner_email, template,
        jsonb_build_object(
          'organization_name', (select o.name from public.organizations as o where o.id = new.organization_id),
          'run_id', new.id, 'backup_id', new.backup_id, 'backup_created_at', chosen.created_at,
          'status', new.status, 'error', new.error
        ),
        new.organization_id, template || ':' || new.id::text || ':' || owner_email
      );
    end loop;
    return null;
  end if;
  if new.status = 'running' then
    update public.backups as b set status = 'running', started_at = now(), provider = new.provider
    where b.id = new.backup_id and b.status = 'pending';
    return null;
  end if;
  if new.status = 'succeeded' then
    select s.output into snapshot_output from public.provisioning_steps as s
    where s.run_id = new.id and s.name = 'snapshot';
    select s.output into export_output from public.provisioning_steps as s
    where s.run_id = new.id and s.name = 'export';
    update public.backups as b
    set status = 'succeeded', finished_at = now(), snapshot_id = snapshot_output ->> 'snapshot_id',
      snapshot = coalesce(snapshot_output, '{}'), export_url = export_output ->> 'url',
      size_bytes = (export_output ->> 'size_bytes')::bigint, sha256 = export_output ->> 'sha256'
    where b.id = new.backup_id
    returning * into chosen;
    -- retention: the newest `keep` succeeded backups stay; older ones are removed by a job
    select * into policy from internal.backup_policies as p
    where p.plan_id = (select i.plan_id from public.customer_infrastructure as i
                       where i.organization_id = new.organization_id);
    with old_ones as (
      select b.id from public.backups as b
      where b.organization_id = new.organization_id and b.status = 'succeeded'
      order by b.created_at desc, b.id desc
      offset coalesce(policy.keep, 1000000)
    )
    update public.backups as b set status = 'expiring'
    from old_ones where b.id = old_ones.id;
    get diagnostics expiring = row_count;
    if expiring > 0 then
      perform internal.enqueue_job(
        'provisioning.expire_backups', jsonb_build_object('organization_id', new.organization_id),
        new.organization_id, null, 0, now(), 5, 'expire_backups:' || new.organization_id::text
      );
    end if;
    return null;
  end if;
  if new.status in ('rolled_back', 'failed') then
    update public.backups as b
    set status = 'failed', finished_at = coalesce(b.finished_at, now()), error = new.error
    where b.id = new.backup_id and b.status in ('pending', 'running')
    returning * into chosen;
    if chosen.id is null then
      return null;
    end if;
    for owner_email in select e from internal.organization_owner_emails(new.organization_id) as e loop
      perform internal.enqueue_email(
        owner_email, 'backup_failed',
        jsonb_build_object(
          'organization_name', (select o.name from public.organizations as o where o.id = new.organization_id),
          'run_id', new.id, 'backup_id', new.backup_id, 'plan_id', new.plan_id, 'status', new.status,
          'error', new.error
        ),
        new.organization_id, 'backup_failed:' || new.backup_id::text || ':' || owner_email
      );
    end loop;
  end if;
  return null;
end;
$$;

-- An expired backup's snapshot and export are gone (provisioning.expire_backups removed them).
create function internal.expire_backup(backup_id uuid)
returns boolean
language sql
volatile
set search_path = ''
as $$
  with expired as (
    update public.backups as b set status = 'expired', expired_at = now()
    where b.id = expire_backup.backup_id and b.status = 'expiring'
    returning b.id
  )
  select exists (select 1 from expired)
$$;
comment on function internal.expire_backup(uuid) is 'expiring -> expired once its snapshot and export are removed';

revoke all on function internal.tg_backups__check_transition() from public;
revoke all on function internal.sync_backup_schedule(uuid) from public;
revoke all on function internal.tg_customer_infrastructure__backup_schedule() from public;
revoke all on function internal.request_backup(uuid, text, timestamptz) from public;
revoke all on function internal.request_restore_run(uuid, text) from public;
revoke all on function internal.request_restore(uuid) from public;
revoke all on function public.request_restore(uuid) from public;
revoke all on function internal.tg_provisioning_runs__backup_outcome() from public;
revoke all on function internal.expire_backup(uuid) from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _100_check_transition
before update on public.backups
for each row execute function internal.tg_backups__check_transition();

create trigger _700_backup_schedule
after insert or update of status, plan_id on public.customer_infrastructure
for each row execute function internal.tg_customer_infrastructure__backup_schedule();

-- provisioning e-mails and the infrastructure record follow provision and deprovision runs only
drop trigger _500_outcome on public.provisioning_runs;
create trigger _500_outcome
after update of status on public.provisioning_runs
for each row when (new.kind in ('provision', 'deprovision'))
execute function internal.tg_provisioning_runs__outcome();

create trigger _510_backup_outcome
after update of status on public.provisioning_runs
for each row when (new.kind in ('backup', 'restore'))
execute function internal.tg_provisioning_runs__backup_outcome();

-- ---------------------------------------------------------------------------------------------------------
-- data: organizations already active get their schedule
-- ---------------------------------------------------------------------------------------------------------

select internal.sync_backup_schedule(i.organization_id)
from public.customer_infrastructure as i
where i.status = 'active';

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
  ('versioned', '0031', '0031_create_backups.sql', '64ade3e1ce13b96cd95cdd07ad97f2eda7418b97aa48fad18a8e031104c6618d')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
