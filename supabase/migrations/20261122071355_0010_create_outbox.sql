-- Exported by `supakit migrate export` from sql/0010_create_outbox.sql (sha256 914ccb1b4c34075c6b1dacb626a07df46ad59f20189c591eb2fc0f7c051f55c0).
-- Edit the source file, not this one.

-- 0010_create_outbox: the e-mail outbox. SQL decides that an e-mail must go out (a failed payment, a finished
-- provisioning run, a new organization) and records it here in the same transaction as the change that caused
-- it; an `email.send` job (functions_py/handlers/email.py) renders the template and delivers it. A message is
-- never lost with a rolled-back change and never queued twice for the same dedupe key.

create table internal.outbox_emails (
  id bigint generated always as identity,
  organization_id uuid,
  to_address text not null,
  template text not null,
  data jsonb not null default '{}',
  status text not null default 'queued',
  attempts integer not null default 0,
  dedupe_key text,
  job_id bigint,
  last_error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  constraint outbox_emails_pkey primary key (id),
  constraint outbox_emails_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete set null,
  constraint outbox_emails_dedupe_key_key unique (dedupe_key),
  constraint to_address_is_an_address check (to_address ~ '^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$'),
  constraint template_is_known check (
    template in ('welcome', 'provisioning_complete', 'provisioning_failed', 'payment_failed')
  ),
  constraint data_is_an_object check (jsonb_typeof(data) = 'object'),
  constraint status_is_known check (status in ('queued', 'sent', 'failed')),
  constraint sent_rows_have_sent_at check ((status = 'sent') = (sent_at is not null)),
  constraint attempts_not_negative check (attempts >= 0)
);
comment on table internal.outbox_emails is
'e-mails to send; rows are written by SQL with internal.enqueue_email and delivered by the email.send job';

create index outbox_emails_organization_id_idx on internal.outbox_emails (organization_id);
create index outbox_emails_queued_idx on internal.outbox_emails (created_at) where status = 'queued';

-- Queue an e-mail and the job that sends it, in the caller's transaction. With a dedupe key, a second call for
-- the same key returns the first message's id and queues nothing (e.g. one "payment failed" per invoice).
create function internal.enqueue_email(
  to_address text,
  template text,
  data jsonb default '{}',
  organization_id uuid default null,
  dedupe_key text default null
)
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  email_id bigint;
begin
  insert into internal.outbox_emails (organization_id, to_address, template, data, dedupe_key)
  values (
    enqueue_email.organization_id, lower(trim(enqueue_email.to_address)), enqueue_email.template,
    coalesce(enqueue_email.data, '{}'), enqueue_email.dedupe_key
  )
  on conflict (dedupe_key) do nothing
  returning id into email_id;
  if email_id is null then
    select e.id into email_id from internal.outbox_emails as e where e.dedupe_key = enqueue_email.dedupe_key;
    return email_id;
  end if;
  update internal.outbox_emails as e
  set job_id = internal.enqueue_job(
    'email.send', jsonb_build_object('email_id', email_id), enqueue_email.organization_id, null, 0, now(), 5, null
  )
  where e.id = email_id;
  return email_id;
end;
$$;
comment on function internal.enqueue_email(text, text, jsonb, uuid, text) is
'queue an e-mail (template + data) and its email.send job; idempotent per dedupe_key';

-- The owners of an organization, to address account e-mails (payment failed, provisioning results).
create function internal.organization_owner_emails(org_id uuid)
returns setof text
language sql
stable
set search_path = ''
as $$
  select u.email::text
  from public.memberships as m
  inner join auth.users as u on m.user_id = u.id
  where m.organization_id = org_id and m.role = 'owner' and u.email is not null
  order by m.created_at, u.email
$$;

-- internal is not exposed: the worker and SQL functions (as owner) use these; API roles get nothing.
revoke all on table internal.outbox_emails from public, anon, authenticated, service_role;
revoke all on function internal.enqueue_email(text, text, jsonb, uuid, text) from public;
revoke all on function internal.organization_owner_emails(uuid) from public;

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
insert into supakit_migrations.ledger (kind, key, name, checksum)
values
  ('versioned', '0010', '0010_create_outbox.sql', '914ccb1b4c34075c6b1dacb626a07df46ad59f20189c591eb2fc0f7c051f55c0')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
