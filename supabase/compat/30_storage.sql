-- supakit compat layer, part 4: the parts of Supabase Storage's schema that application SQL uses.
--
-- storage.buckets and storage.objects as storage-api v1.60 leaves them (supabase/storage
-- migrations/tenant, checked against a hosted pg_dump), the path helpers policies use, and the
-- 2026 guard against direct deletes (supabase-surface.md §4), and the listing function storage-api calls
-- (storage.search). The local Storage API (functions_py/storage) keeps the rows here and the bytes on disk.

-- ============================================================================ schema

create schema if not exists storage authorization supabase_storage_admin;

alter schema storage owner to supabase_storage_admin;

comment on schema storage is
'supakit compat layer: Supabase Storage''s buckets, objects and policy helpers for plain PostgreSQL (docs/compat.md)';

-- ============================================================================ types

do $types$
begin
  if to_regtype('storage.buckettype') is null then
    create type storage.buckettype as enum ('STANDARD', 'ANALYTICS', 'VECTOR');
  end if;
end
$types$;

-- ============================================================================ tables

-- One row per bucket; migrations create them with insert into storage.buckets (id, name, public).
create table if not exists storage.buckets (
  id text not null,  -- the bucket's name in URLs and in objects.bucket_id
  name text not null,
  owner uuid,  -- deprecated, use owner_id
  created_at timestamp with time zone default now(),
  updated_at timestamp with time zone default now(),
  public boolean default false,  -- true: objects are readable without a token through the public URL
  avif_autodetection boolean default false,
  file_size_limit bigint,  -- bytes; null means the project-wide limit
  allowed_mime_types text[],  -- null means any type
  owner_id text,  -- the JWT sub of the creator
  type storage.buckettype not null default 'STANDARD',
  constraint buckets_pkey primary key (id)
);

comment on table storage.buckets is
'Storage: one row per bucket; access to objects is decided by RLS policies on storage.objects';

comment on column storage.buckets.owner is 'Field is deprecated, use owner_id instead';

-- One row per stored file. RLS alone decides who may read or write it.
create table if not exists storage.objects (
  id uuid not null default gen_random_uuid(),
  bucket_id text,
  name text,  -- the path inside the bucket, e.g. '<user id>/avatars/me.png'
  owner uuid,  -- deprecated, use owner_id
  created_at timestamp with time zone default now(),
  updated_at timestamp with time zone default now(),
  last_accessed_at timestamp with time zone default now(),
  metadata jsonb,  -- set by storage-api: size, mimetype, eTag, cacheControl, ...
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text,
  owner_id text,  -- the uploader's JWT sub as text: compare with (select auth.uid())::text
  user_metadata jsonb,  -- metadata the uploader supplied
  constraint objects_pkey primary key (id),
  constraint "objects_bucketId_fkey" foreign key (bucket_id) references storage.buckets (id)
);

comment on table storage.objects is
'Storage: one row per stored file; RLS policies on this table decide every upload, download and delete';

comment on column storage.objects.owner is 'Field is deprecated, use owner_id instead';

-- ============================================================================ indexes

create unique index if not exists bname on storage.buckets (name);

create unique index if not exists bucketid_objname on storage.objects (bucket_id, name);

create index if not exists name_prefix_search on storage.objects (name text_pattern_ops);

create index if not exists idx_objects_bucket_id_name on storage.objects (bucket_id, name collate "C");

-- storage-api's index for its case-insensitive listing (storage.search walks lower(name) in C order)
create index if not exists idx_objects_bucket_id_name_lower on storage.objects (bucket_id, lower(name) collate "C");

-- ============================================================================ functions

-- Path helpers for policies, with storage-api's exact splitting (migrations 0060/0061):
-- foldername('a/b/c.png') = '{a,b}' (1-based: [1] is the top folder), foldername('c.png') = '{}';
-- filename('a/b/c.png') = 'c.png', filename('a/b/') = '';
-- extension('a/b.tar.gz') = 'gz', extension('a/file.') = '', and with no dot at all the whole
-- file name: extension('a/README') = 'README'.
create or replace function storage.foldername(name text) returns text[]
language plpgsql immutable
as $body$
declare
  segments text[] := pg_catalog.string_to_array(name, '/');
begin
  -- the folders: every segment but the last, top folder first
  return segments[1:pg_catalog.array_length(segments, 1) - 1];
end
$body$;

create or replace function storage.filename(name text) returns text
language plpgsql immutable
as $body$
declare
  segments text[] := pg_catalog.string_to_array(name, '/');
begin
  -- the last segment (NULL for an empty name, '' for a name ending in '/')
  return segments[pg_catalog.array_length(segments, 1)];
end
$body$;

create or replace function storage.extension(name text) returns text
language plpgsql immutable
as $body$
begin
  -- what follows the file name's last '.', or the whole file name when it has no '.'
  return pg_catalog.substring(storage.filename(name), '[^.]*$');
end
$body$;

-- The storage-api operation being authorised ('storage.object.upload', ...), which storage-api
-- sets per request; NULL in SQL that storage-api did not start.
create or replace function storage.operation() returns text
language plpgsql stable
as $body$
begin
  return pg_catalog.current_setting('storage.operation', true);
end
$body$;

-- The folder a key falls in below a prefix: the key up to and including the first delimiter after the prefix,
-- or NULL when the key is a file directly under it (storage-api migration 0059):
-- get_common_prefix('a/b/c.png', 'a/', '/') = 'a/b/', get_common_prefix('a/c.png', 'a/', '/') is NULL.
create or replace function storage.get_common_prefix(p_key text, p_prefix text, p_delimiter text) returns text
language sql immutable
as $body$
  select case
    when pg_catalog.strpos(pg_catalog.substr(p_key, pg_catalog.length(p_prefix) + 1), p_delimiter) = 0 then null
    else pg_catalog.left(
      p_key, pg_catalog.length(p_prefix) + pg_catalog.strpos(pg_catalog.substr(p_key, pg_catalog.length(p_prefix) + 1),
        p_delimiter)
    )
  end
$body$;

-- The listing behind POST /object/list/{bucket} (storage-api migration 0063's signature and results): one level
-- below `prefix`, the keys starting with prefix || search (case-insensitive), folders as rows with a NULL id,
-- names relative to `prefix`. Sorted by name (folders among files, lower-cased, C order), or for another column
-- folders first by name and then files by that column. SECURITY INVOKER: RLS on storage.objects decides.
-- Name order walks the (bucket_id, lower(name)) index: files in batches, each folder in one step past its keys,
-- so a page costs about `limits + offsets` index entries whatever the folder holds.
create or replace function storage.search(
  prefix text,
  bucketname text,
  limits integer default 100,
  offsets integer default 0,
  search text default '',
  sortcolumn text default 'name',
  sortorder text default 'asc'
) returns table (
  name text,
  id uuid,
  updated_at timestamp with time zone,
  created_at timestamp with time zone,
  last_accessed_at timestamp with time zone,
  metadata jsonb
)
language plpgsql stable
as $body$
declare
  v_prefix text := coalesce(prefix, '') || coalesce(search, '');
  v_lower text := pg_catalog.lower(coalesce(prefix, '') || coalesce(search, ''));
  v_skip integer := pg_catalog.length(coalesce(prefix, ''));
  v_limit integer := least(coalesce(limits, 100), 1500);
  v_offset integer := greatest(coalesce(offsets, 0), 0);
  v_column text := pg_catalog.lower(coalesce(sortcolumn, 'name'));
  v_desc boolean := pg_catalog.lower(coalesce(sortorder, 'asc')) = 'desc';
  v_upper text;
  v_seek text;
  v_inclusive boolean := true;
  v_emitted integer := 0;
  v_skipped integer := 0;
  v_folder text;
  v_found boolean;
  v_row record;
begin
  if v_column not in ('name', 'updated_at', 'created_at', 'last_accessed_at') then
    v_column := 'name';
  end if;
  if v_column <> 'name' or v_desc then
    return query execute pg_catalog.format(
      $sql$
      with matched as (
        select o.name, o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata,
          storage.get_common_prefix(o.name, $1, '/') as folder
        from storage.objects as o
        where o.bucket_id = $2
          and pg_catalog.lower(o.name) collate "C" >= $3
          and pg_catalog.left(pg_catalog.lower(o.name), pg_catalog.length($3)) = $3
      ),
      entries as (
        select distinct on (m.folder)
          pg_catalog.rtrim(pg_catalog.substr(m.folder, $4 + 1), '/') as name, null::uuid as id,
          null::timestamptz as updated_at, null::timestamptz as created_at,
          null::timestamptz as last_accessed_at, null::jsonb as metadata, pg_catalog.lower(m.folder) as sort_key,
          0 as kind
        from matched as m where m.folder is not null
        union all
        select pg_catalog.substr(m.name, $4 + 1), m.id, m.updated_at, m.created_at, m.last_accessed_at,
          m.metadata, pg_catalog.lower(m.name), 1
        from matched as m where m.folder is null
      )
      select e.name, e.id, e.updated_at, e.created_at, e.last_accessed_at, e.metadata from entries as e
      order by %s
      limit $5 offset $6
      $sql$,
      case
        when v_column = 'name' then 'e.sort_key collate "C" desc'
        else 'e.kind, (case when e.kind = 0 then e.sort_key end) collate "C" '
          || case when v_desc then 'desc' else 'asc' end
          || ', e.' || pg_catalog.quote_ident(v_column) || case when v_desc then ' desc' else ' asc' end
      end
    ) using v_prefix, bucketname, v_lower, v_skip, v_limit, v_offset;
    return;
  end if;

  -- name order, ascending: seek through the index
  if v_lower <> '' then
    v_upper := pg_catalog.left(v_lower, -1) || pg_catalog.chr(pg_catalog.ascii(pg_catalog.right(v_lower, 1)) + 1);
  else
    v_upper := pg_catalog.chr(1114111);  -- above every key in C order, so the bound is always an index condition
  end if;
  v_seek := v_lower;
  while v_emitted < v_limit loop
    v_found := false;
    for v_row in
      select o.name, o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata
      from storage.objects as o
      where o.bucket_id = bucketname
        and pg_catalog.lower(o.name) collate "C" >= v_seek
        and (v_inclusive or pg_catalog.lower(o.name) collate "C" > v_seek)
        and pg_catalog.lower(o.name) collate "C" < v_upper
      order by pg_catalog.lower(o.name) collate "C"
      limit least(v_limit + v_offset - v_emitted - v_skipped, 1000)
    loop
      v_found := true;
      v_folder := storage.get_common_prefix(v_row.name, v_prefix, '/');
      if v_folder is not null and pg_catalog.lower(pg_catalog.left(v_row.name, pg_catalog.length(v_prefix)))
        = v_lower then
        if v_skipped < v_offset then
          v_skipped := v_skipped + 1;
        else
          name := pg_catalog.rtrim(pg_catalog.substr(v_folder, v_skip + 1), '/');
          id := null;
          updated_at := null;
          created_at := null;
          last_accessed_at := null;
          metadata := null;
          return next;
          v_emitted := v_emitted + 1;
        end if;
        -- past every key of this folder: the folder's own prefix with its '/' raised to '0'
        v_seek := pg_catalog.lower(pg_catalog.left(v_folder, -1)) || pg_catalog.chr(pg_catalog.ascii('/') + 1);
        v_inclusive := true;
        exit;
      end if;
      if v_skipped < v_offset then
        v_skipped := v_skipped + 1;
      else
        name := pg_catalog.substr(v_row.name, v_skip + 1);
        id := v_row.id;
        updated_at := v_row.updated_at;
        created_at := v_row.created_at;
        last_accessed_at := v_row.last_accessed_at;
        metadata := v_row.metadata;
        return next;
        v_emitted := v_emitted + 1;
      end if;
      v_seek := pg_catalog.lower(v_row.name);
      v_inclusive := false;
      exit when v_emitted >= v_limit;
    end loop;
    exit when not v_found;
  end loop;
end
$body$;

-- Bytes stored per bucket, from the sizes storage-api records in objects.metadata (the dashboard's usage figure).
create or replace function storage.get_size_by_bucket() returns table (size bigint, bucket_id text)
language plpgsql stable
as $body$
begin
  return query
  select pg_catalog.sum((o.metadata ->> 'size')::bigint)::bigint as size, o.bucket_id
  from storage.objects as o
  group by o.bucket_id;
end
$body$;

create or replace function storage.update_updated_at_column() returns trigger
language plpgsql
as $body$
begin
  new.updated_at := pg_catalog.now();
  return new;
end
$body$;

create or replace function storage.enforce_bucket_name_length() returns trigger
language plpgsql
as $body$
begin
  if pg_catalog.length(new.name) > 100 then
    raise exception 'bucket name "%" is too long (% characters). Max is 100.', new.name, pg_catalog.length(new.name);
  end if;
  return new;
end
$body$;

-- Direct deletes would orphan the stored files, so storage-api rejects every DELETE statement on
-- buckets and objects (42501), cascades and cleanup scripts included, unless the transaction first
-- runs select set_config('storage.allow_delete_query', 'true', true), as storage-api does.
-- The message and hint are storage-api's, so clients see the same error.
create or replace function storage.protect_delete() returns trigger
language plpgsql
as $body$
begin
  if pg_catalog.current_setting('storage.allow_delete_query', true) is distinct from 'true' then
    raise exception using
      errcode = '42501',
      message = 'Direct deletion from storage tables is not allowed. Use the Storage API instead.',
      hint = 'This prevents accidental data loss from orphaned objects.';
  end if;
  return null;
end
$body$;

-- ============================================================================ triggers

create or replace trigger enforce_bucket_name_length_trigger
before insert or update of name on storage.buckets
for each row execute function storage.enforce_bucket_name_length();

create or replace trigger protect_buckets_delete
before delete on storage.buckets
for each statement execute function storage.protect_delete();

create or replace trigger protect_objects_delete
before delete on storage.objects
for each statement execute function storage.protect_delete();

create or replace trigger update_objects_updated_at
before update on storage.objects
for each row execute function storage.update_updated_at_column();

-- ============================================================================ ownership and grants

alter type storage.buckettype owner to supabase_storage_admin;
alter table storage.buckets owner to supabase_storage_admin;
alter table storage.objects owner to supabase_storage_admin;
alter function storage.foldername(text) owner to supabase_storage_admin;
alter function storage.filename(text) owner to supabase_storage_admin;
alter function storage.extension(text) owner to supabase_storage_admin;
alter function storage.operation() owner to supabase_storage_admin;
alter function storage.get_common_prefix(text, text, text) owner to supabase_storage_admin;
alter function storage.get_size_by_bucket() owner to supabase_storage_admin;
alter function storage.search(text, text, integer, integer, text, text, text) owner to supabase_storage_admin;
alter function storage.update_updated_at_column() owner to supabase_storage_admin;
alter function storage.enforce_bucket_name_length() owner to supabase_storage_admin;
alter function storage.protect_delete() owner to supabase_storage_admin;

-- Every API role holds every privilege (storage-api 0046) and postgres may pass them on (0049):
-- RLS alone decides access, so with no policy nobody can read or upload anything.
grant usage on schema storage to anon, authenticated, service_role;
grant usage on schema storage to postgres with grant option;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
grant all on storage.buckets, storage.objects to postgres with grant option;

-- ============================================================================ row level security

alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
