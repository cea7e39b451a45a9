"""The dashboard's SQL, as named queries (STYLE.md §10). Every list is bounded (LIMIT) and walks an index in its
order (tests/test_dashboard.py checks the plans), so a page costs the same with 10,000 jobs as with 10.

The queue summary scans internal.jobs once per figure, as `supakit jobs stats` does: counts per kind and status
have no cheaper source. bench/dashboard.py measures it.
"""

from __future__ import annotations

# -- queue ---------------------------------------------------------------------------------------------------------

JOB_DEPTH_BY_KIND = "select kind, status::text, count(*) from internal.jobs group by 1, 2 order by 1, 2"
# finished in the window: failed and all finished (the failure rate of `jobs stats --check`)
JOB_WINDOW_OUTCOMES = """
select count(*) filter (where status = 'failed'), count(*) filter (where status in ('succeeded', 'failed'))
from internal.jobs where finished_at >= now() - %(window)s::interval
"""
JOB_OLDEST_QUEUED = """
select extract(epoch from now() - min(run_at)) from internal.jobs where status = 'queued' and run_at <= now()
"""
WORKER_SEEN_MANY = """
select name, kinds, concurrency, started_at, last_seen_at from internal.workers
where stopped_at is null and last_seen_at >= now() - %(window)s::interval order by name
"""
JOB_SELECT_MANY = """
select id, kind, status::text, priority, attempts, max_attempts, run_at, created_at, finished_at, lease_owner,
  left(error, 200)
from internal.jobs
where (%(status)s::internal.job_status is null or status = %(status)s::internal.job_status)
  and (%(kind)s::text is null or kind = %(kind)s)
  and (%(before)s::bigint is null or id < %(before)s)
order by id desc
limit %(limit)s
"""
JOB_SELECT_ONE = """
select id, kind, status::text, priority, attempts, max_attempts, payload, result, error, progress, organization_id,
  user_id, dedupe_key, lease_owner, lease_expires_at, heartbeat_at, cancel_requested_at, run_at, created_at,
  started_at, finished_at, updated_at
from internal.jobs where id = %(id)s
"""
# The CLI's own SQL functions (`supakit jobs retry|cancel`).
JOB_RETRY_ONE = "select internal.retry_job(%(id)s)::text"
JOB_CANCEL_ONE = "select internal.cancel_job(%(id)s)::text"
# Queue depth (ready or waiting to run) and jobs finished, per bucket over the window. A job counts +1 in the bucket
# it was created in and -1 in the bucket it left the queue (first started, or finished unstarted); one back in the
# queue after a start (a retry waiting for its backoff, a reaped or released job) counts +1 again from the bucket
# it went back (its updated_at). All clamp to the window's first bucket, so a job older than the window weighs in
# there. The table keeps no history of earlier returns, so a job that went back and was started again since is
# not in the depth of the buckets in between; the depth now always equals the jobs queued.
JOB_HISTORY = """
with origin as (
  select date_bin(%(step)s::interval, now() - %(window)s::interval, timestamptz '2000-01-01') as start
),
moves as (
  select greatest(date_bin(%(step)s::interval, j.created_at, timestamptz '2000-01-01'), o.start) as t, 1 as d
  from internal.jobs as j cross join origin as o
  union all
  select greatest(date_bin(%(step)s::interval, coalesce(j.started_at, j.finished_at), timestamptz '2000-01-01'),
    o.start), -1
  from internal.jobs as j cross join origin as o
  where coalesce(j.started_at, j.finished_at) is not null
  union all
  select greatest(date_bin(%(step)s::interval, j.updated_at, timestamptz '2000-01-01'), o.start), 1
  from internal.jobs as j cross join origin as o
  where j.status = 'queued' and j.started_at is not null
),
depth as (select t, sum(sum(d)) over (order by t) as queued from moves group by t),
done as (
  select date_bin(%(step)s::interval, j.finished_at, timestamptz '2000-01-01') as t,
    count(*) filter (where j.status = 'succeeded') as succeeded, count(*) filter (where j.status = 'failed') as failed
  from internal.jobs as j cross join origin as o
  where j.finished_at >= o.start
  group by 1
),
series as (
  select generate_series(o.start, now(), %(step)s::interval) as t from origin as o
)
select s.t,
  coalesce((select d.queued from depth as d where d.t <= s.t order by d.t desc limit 1), 0)::int8,
  coalesce(f.succeeded, 0)::int8, coalesce(f.failed, 0)::int8
from series as s left join done as f on f.t = s.t
order by s.t
"""

# -- provisioning --------------------------------------------------------------------------------------------------

RUN_SELECT_MANY = """
select r.id, r.organization_id, o.slug, o.name, r.kind, r.plan_id, r.provider, r.reason, r.status, r.current_step,
  r.error, r.created_at, r.started_at, r.finished_at, r.job_id
from public.provisioning_runs as r join public.organizations as o on o.id = r.organization_id
where (%(status)s::text is null or r.status = %(status)s)
order by r.created_at desc, r.id
limit %(limit)s
"""
RUN_SELECT_ONE = """
select r.id, r.organization_id, o.slug, o.name, r.kind, r.plan_id, r.provider, r.reason, r.status, r.current_step,
  r.error, r.created_at, r.started_at, r.finished_at, r.job_id, j.status::text
from public.provisioning_runs as r join public.organizations as o on o.id = r.organization_id
left join internal.jobs as j on j.id = r.job_id
where r.id = %(id)s
"""
STEP_SELECT_MANY = """
select ordinal, name, status, attempts, error, output, started_at, finished_at, compensated_at
from public.provisioning_steps where run_id = %(id)s order by ordinal
"""
LOG_SELECT_MANY = """
select created_at, level, step_name, message, data from public.provisioning_logs
where run_id = %(id)s order by id desc limit %(limit)s
"""
INFRASTRUCTURE_SELECT_ONE = """
select status, provider, plan_id, subdomain, public_address, resources, updated_at
from public.customer_infrastructure where organization_id = %(org)s
"""

# -- billing -------------------------------------------------------------------------------------------------------

EVENT_SELECT_MANY = """
select id, type, object_id, stripe_created_at, received_at, processed_at, outcome, attempts, left(error, 300),
  last_attempt_at
from internal.stripe_events
where (not %(failed)s or processed_at is null)
order by received_at desc, id
limit %(limit)s
"""
EVENT_SELECT_ONE = """
select id, type, object_id, api_version, livemode, stripe_created_at, received_at, processed_at, outcome, attempts,
  error, last_attempt_at, payload
from internal.stripe_events where id = %(id)s
"""
SUBSCRIPTION_SELECT_MANY = """
select o.id, o.slug, o.name, s.plan_id, s.status, s.billing_interval, s.quantity, s.current_period_end,
  s.cancel_at_period_end, s.trial_end, s.past_due_since, s.stripe_subscription_id, s.stripe_customer_id,
  s.last_event_at
from public.subscriptions as s join public.organizations as o on o.id = s.organization_id
order by o.slug, s.created_at desc
limit %(limit)s
"""

# -- mail ----------------------------------------------------------------------------------------------------------

EMAIL_SELECT_MANY = """
select e.id, e.to_address, e.template, e.status, e.attempts, e.last_error, e.created_at, e.sent_at, o.slug
from internal.outbox_emails as e left join public.organizations as o on o.id = e.organization_id
order by e.id desc
limit %(limit)s
"""
EMAIL_SELECT_ONE = """
select e.id, e.to_address, e.template, e.data, e.status, e.attempts, e.last_error, e.created_at, e.sent_at,
  e.job_id, o.slug
from internal.outbox_emails as e left join public.organizations as o on o.id = e.organization_id
where e.id = %(id)s
"""
