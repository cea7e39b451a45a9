-- 0016_recover_from_crashes_and_unstorable_events: a crash is not a handler failure, a saga's run always ends, and a
-- signed Stripe event PostgreSQL cannot store is still recorded (issue 20 items 2 and 7).
-- 1. A lost lease (the worker was killed, or hung past its lease) no longer spends one of the job's attempts. The
--    reaper gives the attempt back and counts the loss in `lease_losses`, which has its own, higher limit
--    (`max_lease_losses`, default 10): a job whose handler never failed is retried after a crash, while a job that
--    kills every worker that takes it (a poisoned payload, an OOM) still stops. This is how the queues we measure
--    against tell an error from a rescue: BullMQ's `maxStalledCount` apart from `attempts`, River's and Oban's
--    rescuers recording the rescue apart from the handler's errors (reference/job-queues.md).
-- 2. Every terminal state of a provisioning job (`provisioning.run`, `provisioning.deprovision`: succeeded,
--    failed, cancelled) drives its run, if still live, to an end. A provision run whose steps never started ends
--    `rolled_back` (nothing to undo); one with work done goes `compensating` and gets a new `provisioning.run` job,
--    which undoes every step; a compensation whose own job ended, or a teardown whose job ended, is `failed` (what
--    could not be undone is left, and the run says so; `supakit provision retry`). No run stays `running`, and a new
--    request never returns a run nobody will finish.
-- 3. The saga changes state through the functions below instead of raw updates (issue 13): each checks that the
--    run is in the phase the write belongs to, so an executor that lost the run cannot record progress on it.
-- 4. A verified Stripe event holding what jsonb cannot (a \u0000 escape, an unpaired surrogate) is stored as the
--    webhook could clean it (U+FFFD in their place), not applied, and recorded as failed with the reason, so
--    `supakit billing events --failed` lists it and `supakit billing replay` applies the stored copy once checked.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

alter table internal.jobs
add column lease_losses integer not null default 0,
add column max_lease_losses integer not null default 10,
add constraint lease_losses_not_negative check (lease_losses >= 0),
add constraint max_lease_losses_is_positive check (max_lease_losses between 1 and 1000);
comment on column internal.jobs.lease_losses is
'how often a worker lost this job''s lease (killed or hung): counted here, not in attempts';
comment on column internal.jobs.max_lease_losses is
'the job fails when lease_losses reaches this (a job that takes down every worker that runs it)';

-- ---------------------------------------------------------------------------------------------------------
-- functions: the queue
-- ---------------------------------------------------------------------------------------------------------

-- Requeue running jobs whose lease expired: their worker died or hung. The attempt the claim counted is given back
-- and the loss counted instead; at max_lease_losses the job fails, and a job whose cancellation was requested is
-- cancelled. Returns the ids and what became of them.
create or replace function internal.reap_expired_leases()
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
  set status = case
      when j.cancel_requested_at is not null then 'cancelled'::internal.job_status
      when j.lease_losses + 1 >= j.max_lease_losses then 'failed'::internal.job_status
      else 'queued'::internal.job_status end,
    finished_at = case when j.cancel_requested_at is null and j.lease_losses + 1 < j.max_lease_losses then null
      else now() end,
    attempts = greatest(j.attempts - 1, 0),
    lease_losses = j.lease_losses + 1,
    error = case when j.cancel_requested_at is null and j.lease_losses + 1 >= j.max_lease_losses
      then 'lease lost ' || (j.lease_losses + 1) || ' times (max_lease_losses): every worker that ran it died or '
      || 'hung; the last was ' || j.lease_owner
      else 'lease expired: the worker ' || j.lease_owner || ' stopped heart-beating (lease loss '
        || (j.lease_losses + 1) || ' of ' || j.max_lease_losses || '; the attempt is not counted)' end,
    lease_owner = null, lease_token = null, lease_expires_at = null
  from expired
  where j.id = expired.id
  returning j.id, j.status;
  if found then
    perform pg_notify('supakit_jobs', '');  -- requeued jobs are ready now: wake idle workers
  end if;
end;
$$;

-- Run a failed or cancelled job again, from attempt one and with no lease lost. Returns the new status (queued), or
-- null when the job is unknown or not failed/cancelled.
create or replace function internal.retry_job(job_id bigint)
returns internal.job_status
language sql
volatile
set search_path = ''
as $$
  update internal.jobs as j
  set status = 'queued', attempts = 0, lease_losses = 0, run_at = now(), finished_at = null,
    cancel_requested_at = null
  where j.id = job_id and j.status in ('failed', 'cancelled')
  returning j.status
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: provisioning runs end with their job
-- ---------------------------------------------------------------------------------------------------------

-- Legal run transitions: as in sql/0012, plus a teardown whose job ended before any worker started it (a provision
-- run in that case goes running -> compensating -> rolled_back, as any rollback does).
create or replace function internal.tg_provisioning_runs__check_transition()
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
    ('pending', 'failed'),  -- a deprovision run whose job ended before it started (0016)
    ('running', 'succeeded'),
    ('running', 'compensating'),  -- a provision step failed for good, or its job ended: undo the done ones
    ('running', 'failed'),  -- a deprovision step failed, or its job ended (nothing to compensate)
    ('compensating', 'rolled_back'),
    ('compensating', 'failed'),  -- an undo failed, or the compensation's job ended
    ('failed', 'compensating'),  -- retry the compensation of a provision run
    ('failed', 'running')  -- retry a deprovision run
  ) then
    raise exception 'provisioning run %: illegal status transition % -> %', old.id, old.status, new.status
      using errcode = '22023', hint = 'See the comment on public.provisioning_runs.status for the legal transitions.';
  end if;
  return new;
end;
$$;

-- Append one line to a run's log.
create function internal.log_provisioning(
  run_id uuid, step_name text, level text, message text, data jsonb default '{}'
)
returns void
language sql
volatile
set search_path = ''
as $$
  insert into public.provisioning_logs (run_id, organization_id, step_name, level, message, data)
  select r.id, r.organization_id, log_provisioning.step_name, coalesce(log_provisioning.level, 'info'),
    left(log_provisioning.message, 4000), coalesce(log_provisioning.data, '{}')
  from public.provisioning_runs as r
  where r.id = log_provisioning.run_id
$$;

-- The job of run `job_id` ended with `job_status`: if its run is still live, end the run (see the file's header).
-- Returns the run's new status, or null when no live run belongs to the job.
create function internal.end_provisioning_run_of_job(job_id bigint, job_status text, job_error text default null)
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  run public.provisioning_runs;
  why text;
  next_job bigint;
begin
  select * into run from public.provisioning_runs as r
  where r.job_id = end_provisioning_run_of_job.job_id and r.status in ('pending', 'running', 'compensating');
  if run.id is null then
    return null;
  end if;
  -- serialised with request_provisioning / request_deprovisioning of the organization
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || run.organization_id::text, 0));
  select * into run from public.provisioning_runs as r where r.id = run.id for update;
  if run.status not in ('pending', 'running', 'compensating') then
    return null;
  end if;
  why := left(format('its job %s ended %s%s', end_provisioning_run_of_job.job_id, job_status,
    coalesce(': ' || job_error, '')), 1800);
  if run.kind = 'deprovision' or run.status = 'compensating' then
    -- a teardown has nothing to compensate; a compensation cannot be compensated: what is left is left, and said
    -- (steps in flight say it too; a retry resumes them)
    update public.provisioning_steps as s
    set status = case s.status when 'running' then 'failed' else 'compensation_failed' end,
      finished_at = case s.status when 'running' then now() else s.finished_at end,
      error = left('in flight when ' || why, 4000)
    where s.run_id = run.id and s.status in ('running', 'compensating');
    update public.provisioning_runs as r
    set status = 'failed', started_at = coalesce(r.started_at, now()), finished_at = now(),
      error = left(case when run.kind = 'deprovision' then 'teardown stopped: ' else 'rollback stopped: ' end
        || why, 2000)
    where r.id = run.id;
    perform internal.log_provisioning(
      run.id, run.current_step, 'error',
      'run failed: ' || why || '; resources may be left; fix the cause and run `supakit provision retry`'
    );
    return 'failed';
  end if;
  if not exists (
    select 1 from public.provisioning_steps as s where s.run_id = run.id and s.status <> 'pending'
  ) then
    -- no step ever started, so nothing was made: the run is rolled back as it stands, through the usual states
    if run.status = 'pending' then
      update public.provisioning_runs as r set status = 'running', started_at = now() where r.id = run.id;
    end if;
    update public.provisioning_runs as r set status = 'compensating', error = left('rolling back: ' || why, 2000)
    where r.id = run.id;
    update public.provisioning_runs as r
    set status = 'rolled_back', finished_at = now(),
      error = left('rolled back before any step started: ' || why, 2000)
    where r.id = run.id;
    perform internal.log_provisioning(run.id, null, 'error', 'rolled back before any step started: ' || why);
    return 'rolled_back';
  end if;
  -- work was done: undo it, in a new job (the worker that took this one is gone). A step in flight may have made
  -- part of its resource: it is failed, and failed steps are undone too.
  update public.provisioning_steps as s
  set status = 'failed', finished_at = now(), error = left('in flight when ' || why, 4000)
  where s.run_id = run.id and s.status = 'running';
  update public.provisioning_runs as r
  set status = 'compensating', error = left('rolling back: ' || why, 2000)
  where r.id = run.id;
  next_job := internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run.id), run.organization_id, null, 0, now(), 5,
    'provisioning:' || run.organization_id::text
  );
  update public.provisioning_runs as r set job_id = next_job where r.id = run.id;
  perform internal.log_provisioning(
    run.id, run.current_step, 'error', 'rolling back: ' || why, jsonb_build_object('job_id', next_job)
  );
  return 'compensating';
end;
$$;
comment on function internal.end_provisioning_run_of_job(bigint, text, text) is
'called when a provisioning job ends: a run it leaves live is rolled back (by a new job) or failed';

-- The trigger must not wedge the queue: it runs inside the reaper's one statement for every expired job and inside
-- workers' acks, so an unexpected error here is reported as a warning (the run stays as it was) instead of failing
-- those statements over and over. Transient conflicts still raise: the statement is retried.
create function internal.tg_jobs__end_provisioning_run()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  begin
    perform internal.end_provisioning_run_of_job(new.id, new.status::text, new.error);
  exception
    when serialization_failure or deadlock_detected or lock_not_available then
      raise;
    when others then
      raise warning 'job %: could not end its provisioning run: % (SQLSTATE %)', new.id, sqlerrm, sqlstate
        using hint = 'Look at the run with `supakit provision status`; `supakit provision retry` re-queues it.';
  end;
  return null;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: the saga's writes (functions_py/provisioning/saga.py)
-- ---------------------------------------------------------------------------------------------------------

-- pending -> running with `provider`, its steps created (in order) and the start logged. Returns the run's status
-- after the call (a run that was not pending is left as it is).
create function internal.start_provisioning_run(run_id uuid, provider text, step_names text[])
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  run public.provisioning_runs;
begin
  update public.provisioning_runs as r
  set status = 'running', provider = start_provisioning_run.provider, started_at = now()
  where r.id = start_provisioning_run.run_id and r.status = 'pending'
  returning * into run;
  if run.id is null then
    return (select r.status from public.provisioning_runs as r where r.id = start_provisioning_run.run_id);
  end if;
  insert into public.provisioning_steps (run_id, organization_id, ordinal, name, idempotency_key)
  select run.id, run.organization_id, s.ordinal, s.name, run.id::text || ':' || s.name
  from unnest(step_names) with ordinality as s (name, ordinal)
  on conflict on constraint provisioning_steps_run_id_ordinal_key do nothing;
  perform internal.log_provisioning(
    run.id, null, 'info', run.kind || ' run started with provider ' || run.provider,
    jsonb_build_object('plan', run.plan_id, 'steps', to_jsonb(step_names))
  );
  return run.status;
end;
$$;

-- Move a run to `status` (the transition trigger checks it), with its error and current step, and log `message`.
create function internal.move_provisioning_run(
  run_id uuid, status text, message text, level text default 'info', error text default null,
  current_step text default null
)
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  update public.provisioning_runs as r
  set status = move_provisioning_run.status, error = coalesce(move_provisioning_run.error, r.error),
    current_step = move_provisioning_run.current_step,
    finished_at = case when move_provisioning_run.status in ('succeeded', 'rolled_back', 'failed') then now() end
  where r.id = move_provisioning_run.run_id;
  if not found then
    raise exception 'no provisioning run %', run_id using errcode = 'P0002';
  end if;
  perform internal.log_provisioning(run_id, null, level, message);
end;
$$;

-- The run of step `step_id`, locked, which must be `phase` (running for forward steps, compensating for undos):
-- an executor whose run was ended meanwhile (its job ended; see end_provisioning_run_of_job) must stop.
create function internal.provisioning_step_run(step_id bigint, phase text)
returns public.provisioning_runs
language plpgsql
volatile
set search_path = ''
as $$
declare
  run public.provisioning_runs;
begin
  select r.* into run from public.provisioning_runs as r
  join public.provisioning_steps as s on s.run_id = r.id
  where s.id = step_id
  for update of r;
  if run.id is null then
    raise exception 'no provisioning step %', step_id using errcode = 'P0002';
  end if;
  if run.status <> phase then
    raise exception 'provisioning run % is %, not %: this executor no longer owns it', run.id, run.status, phase
      using errcode = '55000', hint = 'Its job ended and the run was ended with it; the executor stops here.';
  end if;
  return run;
end;
$$;

-- A forward step starts (or resumes): running, attempts + 1, the run's current step, logged. Returns the attempts.
create function internal.start_provisioning_step(step_id bigint)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
  run public.provisioning_runs;
  step public.provisioning_steps;
  resumed boolean;
begin
  run := internal.provisioning_step_run(step_id, 'running');
  select * into step from public.provisioning_steps as s where s.id = step_id;
  resumed := step.status = 'running';
  update public.provisioning_steps as s
  set status = 'running', attempts = s.attempts + 1, started_at = coalesce(s.started_at, now()), error = null
  where s.id = step_id
  returning * into step;
  update public.provisioning_runs as r set current_step = step.name where r.id = run.id;
  perform internal.log_provisioning(
    run.id, step.name, 'info',
    case when resumed then 'resuming step (it was in flight when its worker stopped)' else 'step started' end
    || ', attempt ' || step.attempts
  );
  return step.attempts;
end;
$$;

-- A forward step is done: its output recorded (and, for a provision run, added to the customer's infrastructure
-- with `record`, the output plus its idempotency key), logged.
create function internal.succeed_provisioning_step(step_id bigint, output jsonb, record jsonb default null)
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  run public.provisioning_runs;
  step public.provisioning_steps;
begin
  run := internal.provisioning_step_run(step_id, 'running');
  update public.provisioning_steps as s
  set status = 'succeeded', output = succeed_provisioning_step.output, finished_at = now(), error = null
  where s.id = step_id
  returning * into step;
  if run.kind = 'provision' then
    update public.customer_infrastructure as i
    set resources = i.resources || jsonb_build_object(step.name, coalesce(record, output, '{}')),
      provider = run.provider,
      subdomain = coalesce(output ->> 'subdomain', i.subdomain),
      public_address = coalesce(output ->> 'public_address', i.public_address),
      updated_at = now()
    where i.organization_id = run.organization_id;
  end if;
  perform internal.log_provisioning(run.id, step.name, 'info', 'step done',
    case when run.kind = 'provision' then coalesce(output, '{}') else '{}' end);
end;
$$;

-- A forward step failed. `for_good` false: the error is noted and the step stays as it is (the job retries it).
-- `for_good` true: the step is failed and the run with it: a provision run goes compensating (its done steps are
-- undone next), a deprovision run failed. Returns the run's status after the call.
create function internal.fail_provisioning_step(step_id bigint, message text, for_good boolean)
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
  if run.kind = 'provision' then
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

-- Compensation of one step: `status` compensating (its undo starts), compensated (undone) or compensation_failed
-- (the undo failed: the run fails too, resources may be left). Logs `message` unless it is null.
create function internal.compensate_provisioning_step(step_id bigint, status text, message text, error text default null)
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  run public.provisioning_runs;
  step public.provisioning_steps;
begin
  if status not in ('compensating', 'compensated', 'compensation_failed') then
    raise exception 'compensate_provisioning_step: % is not a compensation status', status using errcode = '22023';
  end if;
  run := internal.provisioning_step_run(step_id, 'compensating');
  update public.provisioning_steps as s
  set status = compensate_provisioning_step.status,
    error = coalesce(left(compensate_provisioning_step.error, 4000), s.error),
    compensated_at = case when compensate_provisioning_step.status = 'compensated' then now() else s.compensated_at end
  where s.id = step_id
  returning * into step;
  if status = 'compensating' then
    update public.provisioning_runs as r set current_step = step.name where r.id = run.id;
  end if;
  if message is not null then
    perform internal.log_provisioning(
      run.id, step.name, case when status = 'compensation_failed' then 'error' else 'info' end, message
    );
  end if;
  if status = 'compensation_failed' then
    perform internal.move_provisioning_run(
      run.id, 'failed', 'rollback stopped: the undo of step ' || step.name || ' failed', 'error',
      left('undo of step ' || step.name || ' failed: ' || coalesce(error, 'unknown error'), 2000), step.name
    );
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: Stripe events jsonb cannot hold
-- ---------------------------------------------------------------------------------------------------------

-- Store `event` (the webhook's cleaned copy of a verified event) once, without applying it, and record `problem` as
-- the failure. A redelivery counts another attempt; an event already processed answers 'duplicate'.
create function internal.receive_unstorable_stripe_event(event jsonb, problem text)
returns table (outcome text, error text, attempts integer)
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  stored internal.stripe_events;
begin
  insert into internal.stripe_events (id, type, api_version, livemode, stripe_created_at, object_id, payload)
  values (
    event ->> 'id', event ->> 'type', event ->> 'api_version', coalesce((event ->> 'livemode')::boolean, false),
    internal.stripe_time(event ->> 'created'), event #>> '{data,object,id}', event
  )
  on conflict (id) do nothing;
  select * into stored from internal.stripe_events as e where e.id = event ->> 'id' for update;
  if stored.processed_at is not null then
    return query select 'duplicate'::text, null::text, stored.attempts;
    return;
  end if;
  update internal.stripe_events as e
  set error = left(problem, 2000), attempts = e.attempts + 1, last_attempt_at = now()
  where e.id = stored.id;
  return query select 'unstorable'::text, left(problem, 2000), stored.attempts + 1;
end;
$$;

revoke all on function internal.receive_unstorable_stripe_event(jsonb, text) from public;
revoke all on function internal.reap_expired_leases() from public;
revoke all on function internal.retry_job(bigint) from public;
revoke all on function internal.tg_provisioning_runs__check_transition() from public;
revoke all on function internal.log_provisioning(uuid, text, text, text, jsonb) from public;
revoke all on function internal.end_provisioning_run_of_job(bigint, text, text) from public;
revoke all on function internal.tg_jobs__end_provisioning_run() from public;
revoke all on function internal.start_provisioning_run(uuid, text, text[]) from public;
revoke all on function internal.move_provisioning_run(uuid, text, text, text, text, text) from public;
revoke all on function internal.provisioning_step_run(bigint, text) from public;
revoke all on function internal.start_provisioning_step(bigint) from public;
revoke all on function internal.succeed_provisioning_step(bigint, jsonb, jsonb) from public;
revoke all on function internal.fail_provisioning_step(bigint, text, boolean) from public;
revoke all on function internal.compensate_provisioning_step(bigint, text, text, text) from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

-- Only a provisioning job reaching a terminal state runs the function: the WHEN clause is evaluated by the executor,
-- so the queue's hot path (every other kind, every claim) pays no function call.
create trigger _700_end_provisioning_run
after update of status on internal.jobs
for each row
when (
  new.kind in ('provisioning.run', 'provisioning.deprovision')
  and new.status in ('succeeded', 'failed', 'cancelled')
  and old.status is distinct from new.status
)
execute function internal.tg_jobs__end_provisioning_run();

-- ---------------------------------------------------------------------------------------------------------
-- data: runs the defect already stranded
-- ---------------------------------------------------------------------------------------------------------

-- A live run whose job already ended (or was pruned, which only happens to finished jobs) ends now, as it would have.
select internal.end_provisioning_run_of_job(r.job_id, coalesce(j.status::text, 'and was pruned'), j.error)
from public.provisioning_runs as r
left join internal.jobs as j on r.job_id = j.id
where
  r.status in ('pending', 'running', 'compensating')
  and r.job_id is not null
  and (j.id is null or j.status in ('succeeded', 'failed', 'cancelled'));
