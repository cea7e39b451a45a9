"""The ledger table and its named queries (one row per applied file, keyed by kind and key)."""

from __future__ import annotations

# Idempotent; also appended to every `supakit migrate export` file so that a database migrated with
# `supabase db push` shows up in `supakit migrate status` as migrated.
LEDGER_DDL = """\
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
"""

LEDGER_EXISTS = "select to_regclass('supakit_migrations.ledger') is not null"

LEDGER_SELECT_ALL = """
select kind, key, name, checksum, applied_at, duration_ms
from supakit_migrations.ledger
order by kind, key
"""

LEDGER_UPSERT_ONE = """
insert into supakit_migrations.ledger (kind, key, name, checksum, duration_ms)
values (%(kind)s, %(key)s, %(name)s, %(checksum)s, %(duration_ms)s)
on conflict (kind, key) do update
set name = excluded.name, checksum = excluded.checksum, applied_at = now(),
    duration_ms = excluded.duration_ms, applied_by = current_user
"""

# Compat is skipped on a database that already has Supabase's own `auth` schema (hosted Supabase, the
# Supabase CLI stack, the supabase/postgres image): only our compat layer comments it 'supakit compat...'.
SUPABASE_NATIVE = """
select exists (
  select 1 from pg_catalog.pg_namespace
  where nspname = 'auth'
    and coalesce(pg_catalog.obj_description(oid, 'pg_namespace'), '') not like 'supakit compat%'
)
"""

# Arbitrary but fixed: every supakit migrator serialises on this session-level advisory lock.
LOCK_KEY = 7_305_786_451_907_611
LOCK_TRY = "select pg_try_advisory_lock(%s)"
LOCK_WAIT = "select pg_advisory_lock(%s)"
LOCK_RELEASE = "select pg_advisory_unlock(%s)"
LOCK_HOLDER = """
select pid from pg_catalog.pg_locks
where locktype = 'advisory' and granted
  and ((classid::bigint << 32) | objid::bigint) = %s
limit 1
"""
