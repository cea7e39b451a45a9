-- supakit compat layer, part 5: the parts of Supabase Realtime's schema that application SQL uses.
--
-- realtime.messages (Broadcast from the database and private-channel authorization), the SQL API
-- around it (topic, send, send_binary, broadcast_changes) and the publications Realtime reads,
-- as supabase/realtime's tenant migrations leave them in 2026 (supabase-surface.md §5). Function
-- bodies are our own, written to the documented behaviour; error and warning texts match Supabase's.
-- postgres_changes internals (realtime.subscription, list_changes, apply_rls) are not recreated:
-- application SQL never calls them (docs/compat.md).

-- ============================================================================ schema

create schema if not exists realtime authorization supabase_realtime_admin;

alter schema realtime owner to supabase_realtime_admin;

comment on schema realtime is
'supakit compat layer: Supabase Realtime''s messages table, broadcast functions and publications (docs/compat.md)';

-- ============================================================================ tables

-- Broadcast messages written from the database, and the probe rows Realtime inserts (and rolls
-- back) to ask RLS whether a user may join a private channel. Partitioned by day like Realtime's,
-- plus a DEFAULT partition so that an insert never fails for want of a partition (on Supabase a
-- row outside the janitor's window fails with 23514 and realtime.send drops it with a warning).
create table if not exists realtime.messages (
  topic text not null,  -- the channel name without 'realtime:', e.g. 'room:42'
  extension text not null,  -- 'broadcast' or 'presence'
  payload jsonb,  -- a JSON message; its "id" key equals the row id when realtime.send added it
  event text,  -- the broadcast event name clients listen for
  private boolean default false,  -- true: delivered only on private channels, to users RLS lets read
  updated_at timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now(),  -- the partition key
  id uuid not null default gen_random_uuid(),
  binary_payload bytea,  -- a binary message (realtime.send_binary); never set together with payload
  constraint messages_pkey primary key (id, inserted_at),
  constraint messages_payload_exclusive check (payload is null or binary_payload is null)
) partition by range (inserted_at);

comment on table realtime.messages is
'Realtime: broadcast messages and private-channel authorization probes; RLS policies here gate private channels';

create table if not exists realtime.messages_default partition of realtime.messages default;

comment on table realtime.messages_default is
'Realtime: rows outside every daily partition; realtime.ensure_partitions() moves them when their day is created';

-- ============================================================================ indexes

create index if not exists messages_inserted_at_topic_index on realtime.messages (inserted_at desc, topic)
where ((extension = 'broadcast') and (private is true));

-- ============================================================================ functions

-- The topic of the channel being authorised. Realtime sets it before probing RLS, and
-- realtime.send sets it before inserting, so INSERT policies can check it too.
create or replace function realtime.topic() returns text
language sql stable
as $body$
select nullif(current_setting('realtime.topic', true), '')::text;
$body$;

-- Broadcast a JSON message to a topic. Runs as the caller (not security definer), so the caller
-- needs an INSERT policy on realtime.messages; every error, a denied policy included, is turned
-- into a WARNING and the message is silently dropped.
create or replace function realtime.send(
  payload jsonb, event text, topic text, private boolean default true
) returns void
language plpgsql
as $body$
declare
  message_id uuid := gen_random_uuid();
begin
  begin
    -- INSERT policies on realtime.messages can check the topic through realtime.topic()
    perform pg_catalog.set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (
      message_id,
      -- the row id doubles as the payload's id, unless the caller chose one
      case when payload ? 'id' then payload else pg_catalog.jsonb_set(payload, '{id}', pg_catalog.to_jsonb(message_id)) end,
      event, topic, private, 'broadcast'
    );
  exception when others then
    -- Supabase's contract: sending never fails the caller's transaction
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$body$;

-- The binary twin of realtime.send (2026): the bytes go to binary_payload, unchanged.
create or replace function realtime.send_binary(
  payload bytea, event text, topic text, private boolean default true
) returns void
language plpgsql
as $body$
begin
  begin
    perform pg_catalog.set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, binary_payload, event, topic, private, extension)
    values (gen_random_uuid(), payload, event, topic, private, 'broadcast');
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$body$;

-- For row-level triggers: broadcasts {old_record, record, operation, table, schema} as a private
-- message. A STATEMENT level or an operation other than INSERT, UPDATE or DELETE raises P0001
-- 'Failed to process the row: ...'; a message the caller may not insert is still only a warning.
-- The error texts are Realtime's, so callers see the same messages.
create or replace function realtime.broadcast_changes(
  topic_name text,
  event_name text,
  operation text,
  table_name text,
  table_schema text,
  new record,
  old record,
  level text default 'ROW'
) returns void
language plpgsql
as $body$
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation is null or operation not in ('INSERT', 'UPDATE', 'DELETE') then
    raise exception 'Unexpected operation type: %', operation;
  end if;
  perform realtime.send(
    pg_catalog.jsonb_build_object(
      'old_record', old, 'record', new, 'operation', operation, 'table', table_name, 'schema', table_schema
    ),
    event_name,
    topic_name
  );
exception when others then
  raise exception 'Failed to process the row: %', sqlerrm;
end
$body$;

-- Compat-only janitor (Realtime's own janitor runs in the Realtime server): creates the daily
-- partitions messages_YYYY_MM_DD from yesterday through today + days_ahead (UTC dates) and returns
-- the names it created. Rows already sitting in the DEFAULT partition for a day it creates are
-- moved into the new partition, since PostgreSQL refuses to add a partition whose range the
-- DEFAULT partition still holds rows for. Never drops anything: retention is the server's job.
-- Called at apply time below and periodically by the local Realtime server; PUBLIC may not call it.
create or replace function realtime.ensure_partitions(days_ahead integer default 3)
returns setof text
language plpgsql
security definer
set search_path = ''
as $body$
declare
  today date := (pg_catalog.now() at time zone 'utc')::date;
  missing date[];
  partition_day date;
  partition_name text;
begin
  if days_ahead is null or days_ahead < 0 then
    raise exception 'days_ahead must be zero or positive, not %', days_ahead
      using errcode = '22023', hint = 'Call realtime.ensure_partitions() with no argument for the default of 3.';
  end if;

  select coalesce(array_agg(d.day order by d.day), '{}')
  into missing
  from (
    select (today + g.offset_days) as day
    from pg_catalog.generate_series(-1, days_ahead) as g (offset_days)
  ) as d
  where pg_catalog.to_regclass(pg_catalog.format('realtime.%I', 'messages_' || pg_catalog.to_char(d.day, 'YYYY_MM_DD'))) is null;

  if pg_catalog.cardinality(missing) = 0 then
    return;  -- the common, periodic case: take no lock at all
  end if;

  -- Hold off writers of the DEFAULT partition (and any concurrent janitor) while rows move out of
  -- it; inserts routed to existing daily partitions are not blocked.
  lock table realtime.messages_default in share row exclusive mode;

  foreach partition_day in array missing loop
    partition_name := 'messages_' || pg_catalog.to_char(partition_day, 'YYYY_MM_DD');
    continue when pg_catalog.to_regclass(pg_catalog.format('realtime.%I', partition_name)) is not null;

    -- Built standalone and then attached: ATTACH PARTITION takes a lighter lock on
    -- realtime.messages than CREATE TABLE ... PARTITION OF, and lets the rows move in first.
    execute pg_catalog.format(
      'create table realtime.%I (like realtime.messages including defaults including constraints)',
      partition_name
    );
    execute pg_catalog.format(
      'with moved as (delete from realtime.messages_default where inserted_at >= $1 and inserted_at < $2'
      ' returning *) insert into realtime.%I select * from moved',
      partition_name
    ) using partition_day::timestamp, (partition_day + 1)::timestamp;
    execute pg_catalog.format(
      'alter table realtime.messages attach partition realtime.%I for values from (%L) to (%L)',
      partition_name, partition_day::timestamp, (partition_day + 1)::timestamp
    );
    return next partition_name;
  end loop;
end;
$body$;

-- ============================================================================ ownership and grants

alter table realtime.messages owner to supabase_realtime_admin;
alter table realtime.messages_default owner to supabase_realtime_admin;
alter function realtime.topic() owner to supabase_realtime_admin;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_realtime_admin;
alter function realtime.send_binary(bytea, text, text, boolean) owner to supabase_realtime_admin;
alter function realtime.broadcast_changes(text, text, text, text, text, record, record, text)
owner to supabase_realtime_admin;
alter function realtime.ensure_partitions(integer) owner to supabase_realtime_admin;

revoke all on function realtime.ensure_partitions(integer) from public;

-- The API roles may read, insert and update messages, so RLS alone decides who joins a private
-- channel and who may broadcast on it. Partitions carry no grants: they are reached through
-- realtime.messages, whose privileges and policies apply.
grant usage on schema realtime to postgres, anon, authenticated, service_role;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;
grant all on realtime.messages to postgres;

-- ============================================================================ row level security

-- On, with no policy: until application SQL adds policies, no user can join a private channel.
alter table realtime.messages enable row level security;

-- ============================================================================ partitions

select realtime.ensure_partitions();

-- ============================================================================ publications

-- supabase_realtime starts empty: applications add the tables whose changes clients may receive
-- (alter publication supabase_realtime add table ...). The messages publication is what Realtime
-- streams database broadcasts from. Under wal_level = replica, creating them only warns.
do $publications$
begin
  if not exists (select from pg_catalog.pg_publication as p where p.pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;

  if not exists (
    select from pg_catalog.pg_publication as p where p.pubname = 'supabase_realtime_messages_publication'
  ) then
    create publication supabase_realtime_messages_publication
    for table realtime.messages with (publish_via_partition_root = true);
  elsif not exists (
    select from pg_catalog.pg_publication_rel as pr
    inner join pg_catalog.pg_publication as p on pr.prpubid = p.oid
    where
      p.pubname = 'supabase_realtime_messages_publication'
      and pr.prrelid = 'realtime.messages'::regclass
  ) then
    alter publication supabase_realtime_messages_publication add table realtime.messages;
  end if;
end
$publications$;
