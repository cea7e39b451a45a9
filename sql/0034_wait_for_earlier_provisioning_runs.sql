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
