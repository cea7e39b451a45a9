-- 0004_create_audit: an append-only audit trail, written by one generic trigger, readable by an
-- organization's owners and admins through public.organization_audit_log().

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

create table internal.audit_log (
  id bigint generated always as identity,
  occurred_at timestamptz not null default now(),
  actor_id uuid,
  actor_role text,
  organization_id uuid,
  table_name text not null,
  operation text not null,
  record_id jsonb not null,
  changes jsonb not null,
  transaction_id xid8 not null default pg_current_xact_id(),
  constraint audit_log_pkey primary key (id),
  constraint operation_is_a_row_change check (operation in ('INSERT', 'UPDATE', 'DELETE'))
);
comment on table internal.audit_log is
'append-only: who changed what, when. Triggers refuse update, delete and truncate for every role; only the table
owner could bypass them, by disabling the triggers.';
comment on column internal.audit_log.actor_id is 'auth.uid() of the request; null for the service role and SQL scripts';
comment on column internal.audit_log.actor_role is 'the JWT role (authenticated, service_role) or, outside a request, the session user';
comment on column internal.audit_log.organization_id is 'not a foreign key: the trail outlives the organization';
comment on column internal.audit_log.record_id is 'primary key of the changed row, as a JSON object';
comment on column internal.audit_log.changes is
'{"column": {"old": ..., "new": ...}} for changed columns only; secrets read "[redacted]"';

create index audit_log_organization_id_occurred_at_idx on internal.audit_log (organization_id, occurred_at desc);

-- ---------------------------------------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------------------------------------

-- Generic row trigger. Arguments: (1) the column holding the organization id, (2) the primary key columns,
-- comma-separated, (3) optionally, columns whose values are never copied into the trail, comma-separated.
-- updated_at alone changing is not an event.
create function internal.tg_audit()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  old_row jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) end;
  new_row jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) end;
  row_now jsonb := coalesce(new_row, old_row);
  key_columns text[] := string_to_array(tg_argv[1], ',');
  secret_columns text[] := coalesce(string_to_array(nullif(tg_argv[2], ''), ','), '{}');
  diff jsonb;
begin
  -- INSERT: {"new": v}; DELETE: {"old": v}; UPDATE: {"old": v1, "new": v2}, nulls kept (a column set to null)
  select coalesce(jsonb_object_agg(
    k.key,
    case
      when k.key = any(secret_columns) then
        (case when tg_op <> 'INSERT' then '{"old": "[redacted]"}'::jsonb else '{}' end)
        || (case when tg_op <> 'DELETE' then '{"new": "[redacted]"}'::jsonb else '{}' end)
      when tg_op = 'INSERT' then jsonb_build_object('new', new_row -> k.key)
      when tg_op = 'DELETE' then jsonb_build_object('old', old_row -> k.key)
      else jsonb_build_object('old', old_row -> k.key, 'new', new_row -> k.key)
    end
  ), '{}')
  into diff
  from jsonb_object_keys(row_now) as k (key)
  where k.key <> 'updated_at'
    and (tg_op <> 'UPDATE' or (old_row -> k.key) is distinct from (new_row -> k.key));

  if tg_op = 'UPDATE' and diff = '{}' then
    return null;
  end if;

  insert into internal.audit_log (actor_id, actor_role, organization_id, table_name, operation, record_id, changes)
  values (
    (select auth.uid()),
    coalesce((select auth.role()), session_user::text),
    (row_now ->> tg_argv[0])::uuid,
    tg_table_schema || '.' || tg_table_name,
    tg_op,
    (select jsonb_object_agg(c.col, row_now -> c.col) from unnest(key_columns) as c (col)),
    diff
  );
  return null;
end;
$$;
comment on function internal.tg_audit() is
'after insert/update/delete: appends the change to internal.audit_log (args: org column, key columns, secrets)';

create function internal.tg_audit_log__refuse_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'internal.audit_log is append-only: % is not allowed', tg_op
    using errcode = '42501', hint = 'Audit rows are never changed or removed.';
end;
$$;

-- Owners and admins read their organization's trail, newest first, a page at a time (pass the smallest id of
-- the previous page as before_id).
create function public.organization_audit_log(org_id uuid, max_rows integer default 100, before_id bigint default null)
returns table (
  id bigint, occurred_at timestamptz, actor_id uuid, actor_role text, table_name text, operation text,
  record_id jsonb, changes jsonb
)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not internal.has_org_role(org_id, '{owner,admin}') then
    raise exception 'only owners and admins read the audit log' using errcode = '42501';
  end if;
  if max_rows is null or max_rows not between 1 and 1000 then
    raise exception 'max_rows must be between 1 and 1000' using errcode = '22023';
  end if;
  return query
  select a.id, a.occurred_at, a.actor_id, a.actor_role, a.table_name, a.operation, a.record_id, a.changes
  from internal.audit_log as a
  where a.organization_id = org_id and (before_id is null or a.id < before_id)
  order by a.id desc
  limit max_rows;
end;
$$;
comment on function public.organization_audit_log(uuid, integer, bigint) is
'an organization''s audit trail, newest first (owners and admins)';

revoke all on function internal.tg_audit() from public;
revoke all on function internal.tg_audit_log__refuse_change() from public;
revoke all on function public.organization_audit_log(uuid, integer, bigint) from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _100_refuse_change
before update or delete on internal.audit_log
for each row execute function internal.tg_audit_log__refuse_change();

create trigger _100_refuse_truncate
before truncate on internal.audit_log
for each statement execute function internal.tg_audit_log__refuse_change();

create trigger _900_audit
after insert or update or delete on public.organizations
for each row execute function internal.tg_audit('id', 'id');

create trigger _900_audit
after insert or update or delete on public.memberships
for each row execute function internal.tg_audit('organization_id', 'organization_id,user_id');

create trigger _900_audit
after insert or update or delete on public.invitations
for each row execute function internal.tg_audit('organization_id', 'id', 'token_hash');
