-- supakit compat layer, part 6: a wake-up call for the local Realtime server (not part of Supabase's surface).
--
-- The local server (functions_py/realtime/messages.py) reads committed realtime.messages inserts from a logical
-- decoding slot, as Supabase Realtime does. It cannot stream the replication protocol, so it reads the slot on
-- demand; this trigger tells it when: one NOTIFY per inserting transaction, delivered at commit (never for the
-- rolled-back probe rows of private-channel authorization). Without it the server polls every 250 ms.

-- ============================================================================ functions

create or replace function realtime.tg_messages__notify_local_server()
returns trigger
language plpgsql
security definer
set search_path = ''
as $body$
begin
  -- one payload for every statement: PostgreSQL folds identical notifications of a transaction into one
  perform pg_catalog.pg_notify('supakit_realtime_messages', '');
  return null;
end;
$body$;

alter function realtime.tg_messages__notify_local_server() owner to supabase_realtime_admin;

revoke all on function realtime.tg_messages__notify_local_server() from public;

-- ============================================================================ triggers

create or replace trigger _900_notify_local_server
after insert on realtime.messages
for each statement execute function realtime.tg_messages__notify_local_server();
