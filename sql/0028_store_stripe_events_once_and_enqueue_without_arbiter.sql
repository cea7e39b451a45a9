-- 0028_store_stripe_events_once_and_enqueue_without_arbiter: two hot paths of issue 21, as profiled
-- (docs/webhook-performance.md, docs/job-worker-performance.md).
-- 1. A new Stripe event was written to the ledger three times: inserted (on conflict do nothing), locked twice
--    (`select ... for update` in receive_stripe_event, again in process_stripe_event, each detoasting the payload and
--    writing a row-lock record), then updated with its outcome (a second ~1.5 KB row version, and since
--    processed_at is in stripe_events_failed_idx's predicate, a non-HOT one with new entries in every index). Now
--    deliveries of one event serialise on an advisory lock on its id first; an event not yet in the ledger is applied
--    and then inserted once, with its outcome (or, when applying failed, with the error). Concurrent deliveries still
--    apply exactly once: the second takes the lock after the first committed, and sees its row. A redelivery of a
--    stored event takes the old path (row lock, process_stripe_event). receive_unstorable_stripe_event takes the same
--    lock. The apply functions, and so the out-of-order guard, are unchanged.
-- 2. enqueue_jobs always inserted with `on conflict (dedupe_key) ... do nothing`, and an arbiter index makes every row
--    a speculative insertion (a lock taken and released and an extra WAL record per row) even when it has no dedupe
--    key. A batch without dedupe keys, the common case, now inserts plainly; one with keys is as before.

-- ---------------------------------------------------------------------------------------------------------
-- functions: Stripe events
-- ---------------------------------------------------------------------------------------------------------

-- Serialise everything done with one Stripe event id (its deliveries, a replay of its unstorable copy).
create function internal.lock_stripe_event(event_id text)
returns void
language sql
volatile
set search_path = ''
as $$
  select pg_advisory_xact_lock(hashtextextended('supakit.stripe_event:' || event_id, 0))
$$;

-- The webhook's one call, in the request's transaction: store the (verified) event once, then apply it.
-- A redelivery of an event already processed answers 'duplicate' and changes nothing; one that failed before
-- is applied again. Concurrent deliveries of one event serialise on its lock: exactly one applies it.
create or replace function internal.receive_stripe_event(event jsonb)
returns table (outcome text, error text, attempts integer)
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  event_id text := event ->> 'id';
  stored_processed_at timestamptz;
  stored_attempts integer;
  result text;
  message text;
  state text;
begin
  perform internal.lock_stripe_event(event_id);
  select e.processed_at, e.attempts into stored_processed_at, stored_attempts
  from internal.stripe_events as e where e.id = event_id for update;
  if found then
    if stored_processed_at is not null then
      return query select 'duplicate'::text, null::text, stored_attempts;
      return;
    end if;
    return query select * from internal.process_stripe_event(event_id);
    return;
  end if;
  begin
    result := coalesce(internal.apply_stripe_event(event), 'ignored');
  exception when others then
    get stacked diagnostics message = message_text, state = returned_sqlstate;
    insert into internal.stripe_events (
      id, type, api_version, livemode, stripe_created_at, object_id, payload, error, attempts, last_attempt_at
    )
    values (
      event_id, event ->> 'type', event ->> 'api_version', coalesce((event ->> 'livemode')::boolean, false),
      internal.stripe_time(event ->> 'created'), event #>> '{data,object,id}', event,
      message || ' (SQLSTATE ' || state || ')', 1, now()
    );
    return query select 'failed'::text, message, 1;
    return;
  end;
  insert into internal.stripe_events (
    id, type, api_version, livemode, stripe_created_at, object_id, payload, processed_at, outcome, attempts,
    last_attempt_at
  )
  values (
    event_id, event ->> 'type', event ->> 'api_version', coalesce((event ->> 'livemode')::boolean, false),
    internal.stripe_time(event ->> 'created'), event #>> '{data,object,id}', event, now(), result, 1, now()
  );
  return query select result, null::text, 1;
end;
$$;

-- As in sql/0016, under the event's lock (so it serialises with receive_stripe_event's deliveries).
create or replace function internal.receive_unstorable_stripe_event(event jsonb, problem text)
returns table (outcome text, error text, attempts integer)
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  stored internal.stripe_events;
begin
  perform internal.lock_stripe_event(event ->> 'id');
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

-- ---------------------------------------------------------------------------------------------------------
-- functions: the queue
-- ---------------------------------------------------------------------------------------------------------

-- As in sql/0006; a batch without any dedupe key inserts without an arbiter index.
create or replace function internal.enqueue_jobs(
  kind text,
  payloads jsonb[],
  priorities integer[] default null,
  run_ats timestamptz[] default null,
  dedupe_keys text[] default null,
  max_attempts integer default 3
)
returns setof bigint
language plpgsql
volatile
set search_path = ''
as $$
begin
  if dedupe_keys is null or cardinality(array_remove(dedupe_keys, null)) = 0 then
    return query
    insert into internal.jobs (kind, payload, priority, run_at, dedupe_key, max_attempts)
    select enqueue_jobs.kind, coalesce(p.payload, '{}'), coalesce(p.priority, 0), coalesce(p.run_at, now()),
      p.dedupe_key, enqueue_jobs.max_attempts
    from unnest(payloads, priorities, run_ats, dedupe_keys) with ordinality as p (payload, priority, run_at, dedupe_key, n)
    order by p.n
    returning id;
    return;
  end if;
  return query
  insert into internal.jobs (kind, payload, priority, run_at, dedupe_key, max_attempts)
  select enqueue_jobs.kind, coalesce(p.payload, '{}'), coalesce(p.priority, 0), coalesce(p.run_at, now()),
    p.dedupe_key, enqueue_jobs.max_attempts
  from unnest(payloads, priorities, run_ats, dedupe_keys) with ordinality as p (payload, priority, run_at, dedupe_key, n)
  order by p.n
  on conflict (dedupe_key) where dedupe_key is not null and status in ('queued', 'running') do nothing
  returning id;
end;
$$;

revoke all on function internal.lock_stripe_event(text) from public;
