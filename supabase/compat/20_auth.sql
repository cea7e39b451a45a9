-- supakit compat layer, part 3: the parts of Supabase Auth's schema that application SQL uses.
--
-- auth.users and auth.identities in their 2026 shape (supabase/auth migrations, checked against a
-- hosted pg_dump), and the JWT helpers auth.uid(), auth.role(), auth.email() and auth.jwt() with
-- the bodies of supabase/auth 20220224000811 and 20220531120530 (supabase-surface.md §1).
-- The comment on schema auth is how supakit's migration engine tells this layer from a real
-- Supabase database: keep its 'supakit compat' prefix.

-- ============================================================================ schema

create schema if not exists auth authorization supabase_auth_admin;

alter schema auth owner to supabase_auth_admin;

comment on schema auth is
'supakit compat layer: Supabase Auth''s users, identities and JWT helpers for plain PostgreSQL (docs/compat.md)';

-- ============================================================================ tables

-- One row per user; Supabase Auth (GoTrue) writes it, application SQL reads it through
-- security-definer functions and references only its primary key.
create table if not exists auth.users (
  instance_id uuid,
  id uuid not null,  -- no default: whoever inserts (Auth, a seed, a test) supplies it
  aud character varying(255),  -- the JWT audience, 'authenticated'
  role character varying(255),  -- the JWT role claim, 'authenticated'
  email character varying(255),  -- unique among non-SSO users only (users_email_partial_key)
  encrypted_password character varying(255),
  email_confirmed_at timestamp with time zone,
  invited_at timestamp with time zone,
  confirmation_token character varying(255),
  confirmation_sent_at timestamp with time zone,
  recovery_token character varying(255),
  recovery_sent_at timestamp with time zone,
  email_change_token_new character varying(255),
  email_change character varying(255),
  email_change_sent_at timestamp with time zone,
  last_sign_in_at timestamp with time zone,
  raw_app_meta_data jsonb,  -- provider data only the service role may change; the JWT's app_metadata
  raw_user_meta_data jsonb,  -- sign-up data the user controls; the JWT's user_metadata
  is_super_admin boolean,
  created_at timestamp with time zone,  -- nullable, no default: Auth sets it
  updated_at timestamp with time zone,  -- nullable, no default: Auth sets it
  phone text default null::character varying,
  phone_confirmed_at timestamp with time zone,
  phone_change text default ''::character varying,
  phone_change_token character varying(255) default ''::character varying,
  phone_change_sent_at timestamp with time zone,
  -- formerly a plain column; now derived, so it cannot be inserted
  confirmed_at timestamp with time zone generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current character varying(255) default ''::character varying,
  -- 0: no change pending, 1: one of the two addresses confirmed, 2: both confirmed
  email_change_confirm_status smallint default 0,
  banned_until timestamp with time zone,
  reauthentication_token character varying(255) default ''::character varying,
  reauthentication_sent_at timestamp with time zone,
  is_sso_user boolean not null default false,  -- SSO accounts may share an email address
  deleted_at timestamp with time zone,  -- soft deletion by Auth
  is_anonymous boolean not null default false,  -- created by an anonymous sign-in
  constraint users_pkey primary key (id),
  constraint users_phone_key unique (phone),
  constraint users_email_change_confirm_status_check check (
    email_change_confirm_status >= 0 and email_change_confirm_status <= 2
  )
);

comment on table auth.users is 'Auth: Stores user login data within a secure schema.';

comment on column auth.users.is_sso_user is
'Auth: Set this column to true when the account comes from SSO. These accounts can have duplicate emails.';

-- One row per way a user can sign in (email, each OAuth provider, ...).
create table if not exists auth.identities (
  provider_id text not null,  -- the user's id at the provider; for 'email' the user's uuid as text
  user_id uuid not null,
  identity_data jsonb not null,  -- the provider's profile claims (sub, email, name, ...)
  provider text not null,  -- 'email', 'phone', 'google', ...
  last_sign_in_at timestamp with time zone,
  created_at timestamp with time zone,
  updated_at timestamp with time zone,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default gen_random_uuid(),
  constraint identities_pkey primary key (id),
  constraint identities_provider_id_provider_unique unique (provider_id, provider),
  constraint identities_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade
);

comment on table auth.identities is 'Auth: Stores identities associated to a user.';

comment on column auth.identities.email is
'Auth: Email is a generated column that references the optional email property in the identity_data';

-- ============================================================================ indexes

create unique index if not exists users_email_partial_key on auth.users (email) where (is_sso_user = false);

comment on index auth.users_email_partial_key is
'Auth: A partial unique index that applies only when is_sso_user is false';

-- One-time tokens are unique once set; '' and numeric OTP placeholders are exempt.
create unique index if not exists confirmation_token_idx on auth.users (confirmation_token)
where ((confirmation_token)::text !~ '^[0-9 ]*$');

create unique index if not exists recovery_token_idx on auth.users (recovery_token)
where ((recovery_token)::text !~ '^[0-9 ]*$');

create unique index if not exists email_change_token_current_idx on auth.users (email_change_token_current)
where ((email_change_token_current)::text !~ '^[0-9 ]*$');

create unique index if not exists email_change_token_new_idx on auth.users (email_change_token_new)
where ((email_change_token_new)::text !~ '^[0-9 ]*$');

create unique index if not exists reauthentication_token_idx on auth.users (reauthentication_token)
where ((reauthentication_token)::text !~ '^[0-9 ]*$');

create index if not exists users_instance_id_idx on auth.users (instance_id);

create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower((email)::text));

create index if not exists users_is_anonymous_idx on auth.users (is_anonymous);

create index if not exists identities_email_idx on auth.identities (email text_pattern_ops);

comment on index auth.identities_email_idx is 'Auth: Ensures indexed queries on the email column';

create index if not exists identities_user_id_idx on auth.identities (user_id);

-- ============================================================================ functions

-- The JWT helpers read the legacy per-claim setting first (still set by Realtime and storage-api),
-- then the JSON claims PostgREST sets. Outside a request both settings are unset or '', so all
-- four return NULL; a sub that is not a uuid makes auth.uid() raise 22P02.
create or replace function auth.uid() returns uuid
language sql stable
as $body$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$body$;

comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';

create or replace function auth.role() returns text
language sql stable
as $body$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$body$;

comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';

create or replace function auth.email() returns text
language sql stable
as $body$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$body$;

comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

create or replace function auth.jwt() returns jsonb
language sql stable
as $body$
  select
    coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$body$;

-- ============================================================================ ownership and grants

alter table auth.users owner to supabase_auth_admin;
alter table auth.identities owner to supabase_auth_admin;
alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;

-- The API roles may resolve names in auth (so policies can call the helpers, which PUBLIC may
-- execute) but hold nothing on its tables: a policy that reads auth.users directly fails for them.
grant usage on schema auth to postgres, anon, authenticated, service_role;

revoke all on auth.users, auth.identities from public, anon, authenticated, service_role;

-- postgres runs migrations and seeds: it may write users and grant read access onwards
-- (supabase/auth 20240612123726 gives it SELECT WITH GRANT OPTION).
grant all on auth.users, auth.identities to postgres;
grant select on auth.users, auth.identities to postgres with grant option;

-- ============================================================================ row level security

-- RLS is on for every auth table (supabase/auth 20240612123726) and no policy exists, so even a
-- role that were granted access would see nothing unless it bypasses RLS.
alter table auth.users enable row level security;
alter table auth.identities enable row level security;
