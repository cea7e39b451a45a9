-- Exported by `supakit migrate export` from sql/0029_send_auth_emails_through_the_outbox.sql (sha256 b7058cf15ab15cf0906526b37695d622a983aa02f00ff820b2ddc4959d98dddb).
-- Edit the source file, not this one.

-- 0029_send_auth_emails_through_the_outbox: the local Auth API's mails (confirmation, magic link, recovery,
-- invite, e-mail change, reauthentication) are outbox rows like every other e-mail: written with
-- internal.enqueue_email in the transaction that stores the one-time token, delivered by the same code as the
-- email.send job (functions_py/emails.deliver_outbox_email). Auth composes the message at request time, from the
-- [auth.email.template.*] settings only it reads, so these rows carry it whole: data = {subject, text, html?}.

-- == constraints ==============================================================================================

alter table internal.outbox_emails drop constraint template_is_known;
alter table internal.outbox_emails add constraint template_is_known check (
  template in (
    'welcome', 'provisioning_complete', 'provisioning_failed', 'payment_failed',
    -- composed by Auth (functions_py/auth/mail.py): one per GoTrue mail kind
    'auth.signup', 'auth.magiclink', 'auth.recovery', 'auth.invite', 'auth.email_change', 'auth.reauthentication'
  )
);
-- Auth accepts what GoTrue accepts (functions_py/auth/users.py EMAIL_FORMAT), a single-label host included
-- (dev@localhost): the outbox takes every such address rather than fail the request with a check violation.
alter table internal.outbox_emails drop constraint to_address_is_an_address;
alter table internal.outbox_emails add constraint to_address_is_an_address check (
  to_address ~ '^[^@\s<>]+@[^@\s<>.][^@\s<>]*$'
);
alter table internal.outbox_emails add constraint auth_rows_carry_their_message check (
  -- the key tests first: a missing key would make the check null, which a check constraint lets through
  template not like 'auth.%' or (
    data ? 'subject' and data ? 'text'
    and jsonb_typeof(data -> 'subject') = 'string' and jsonb_typeof(data -> 'text') = 'string'
  )
);
comment on column internal.outbox_emails.data is
'the template''s values; for auth.* rows the composed message itself: {subject, text, html?}';

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
  ('versioned', '0029', '0029_send_auth_emails_through_the_outbox.sql', 'b7058cf15ab15cf0906526b37695d622a983aa02f00ff820b2ddc4959d98dddb')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
