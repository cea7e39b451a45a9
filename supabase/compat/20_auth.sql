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

-- ============================================================================ types

-- The enums GoTrue's migrations create (supabase/auth 20221003041349, 20221208132122, 20240115144230,
-- 20240427152123); created only when missing so the file stays re-runnable.
do $types$
begin
  if to_regtype('auth.aal_level') is null then
    create type auth.aal_level as enum ('aal1', 'aal2', 'aal3');
  end if;
  if to_regtype('auth.factor_type') is null then
    create type auth.factor_type as enum ('totp', 'webauthn', 'phone');
  end if;
  if to_regtype('auth.factor_status') is null then
    create type auth.factor_status as enum ('unverified', 'verified');
  end if;
  if to_regtype('auth.code_challenge_method') is null then
    create type auth.code_challenge_method as enum ('s256', 'plain');
  end if;
  if to_regtype('auth.one_time_token_type') is null then
    create type auth.one_time_token_type as enum (
      'confirmation_token', 'reauthentication_token', 'recovery_token',
      'email_change_token_new', 'email_change_token_current', 'phone_change_token'
    );
  end if;
end
$types$;

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

-- One row per signed-in device: refresh tokens hang off it; logout deletes it.
create table if not exists auth.sessions (
  id uuid not null,
  user_id uuid not null,
  created_at timestamp with time zone,
  updated_at timestamp with time zone,
  factor_id uuid,  -- the MFA factor verified in this session (aal2)
  aal auth.aal_level,
  not_after timestamp with time zone,  -- the session may not be refreshed after this instant
  refreshed_at timestamp without time zone,
  user_agent text,
  ip inet,
  tag text,
  constraint sessions_pkey primary key (id),
  constraint sessions_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade
);

comment on table auth.sessions is 'Auth: Stores session data associated to a user.';

comment on column auth.sessions.not_after is
'Auth: Not after is a nullable column that contains a timestamp after which the session should be regarded as expired.';

-- Opaque refresh tokens; each refresh revokes the token and issues a child (parent = the old token).
create table if not exists auth.refresh_tokens (
  instance_id uuid,
  id bigserial not null,
  token character varying(255),
  user_id character varying(255),
  revoked boolean,  -- false -> true when swapped for a child or when the family is revoked
  created_at timestamp with time zone,
  updated_at timestamp with time zone,
  parent character varying(255),
  session_id uuid,
  constraint refresh_tokens_pkey primary key (id),
  constraint refresh_tokens_token_unique unique (token),
  constraint refresh_tokens_session_id_fkey foreign key (session_id) references auth.sessions (id) on delete cascade
);

comment on table auth.refresh_tokens is
'Auth: Store of tokens used to refresh JWT tokens once they expire.';

-- How each session was authenticated (password, otp, totp, ...): the JWT's amr.
create table if not exists auth.mfa_amr_claims (
  session_id uuid not null,
  created_at timestamp with time zone not null,
  updated_at timestamp with time zone not null,
  authentication_method text not null,
  id uuid not null,
  constraint amr_id_pk primary key (id),
  constraint mfa_amr_claims_session_id_authentication_method_pkey unique (session_id, authentication_method),
  constraint mfa_amr_claims_session_id_fkey foreign key (session_id) references auth.sessions (id) on delete cascade
);

comment on table auth.mfa_amr_claims is 'auth: stores authenticator method reference claims for multi factor authentication';

-- MFA factors; status unverified -> verified on the first successful challenge.
create table if not exists auth.mfa_factors (
  id uuid not null,
  user_id uuid not null,
  friendly_name text,
  factor_type auth.factor_type not null,
  status auth.factor_status not null,
  created_at timestamp with time zone not null,
  updated_at timestamp with time zone not null,
  secret text,
  phone text,
  last_challenged_at timestamp with time zone,
  web_authn_credential jsonb,
  web_authn_aaguid uuid,
  constraint mfa_factors_pkey primary key (id),
  constraint mfa_factors_last_challenged_at_key unique (last_challenged_at),
  constraint mfa_factors_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade
);

comment on table auth.mfa_factors is 'auth: stores metadata about factors';

-- One row per challenge; verified_at set when the code is accepted.
create table if not exists auth.mfa_challenges (
  id uuid not null,
  factor_id uuid not null,
  created_at timestamp with time zone not null,
  verified_at timestamp with time zone,
  ip_address inet not null,
  otp_code text,
  web_authn_session_data jsonb,
  constraint mfa_challenges_pkey primary key (id),
  constraint mfa_challenges_auth_factor_id_fkey foreign key (factor_id)
  references auth.mfa_factors (id) on delete cascade
);

comment on table auth.mfa_challenges is 'auth: stores metadata about challenge requests made';

-- The hashed one-time tokens e-mailed to users (one per user and type), mirrored from auth.users' columns.
create table if not exists auth.one_time_tokens (
  id uuid not null,
  user_id uuid not null,
  token_type auth.one_time_token_type not null,
  token_hash text not null,
  relates_to text not null,  -- the address the token was sent to
  created_at timestamp without time zone not null default now(),
  updated_at timestamp without time zone not null default now(),
  constraint one_time_tokens_pkey primary key (id),
  constraint one_time_tokens_token_hash_check check (char_length(token_hash) > 0),
  constraint one_time_tokens_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade
);

-- PKCE: the code challenge of a flow started by a client, and the auth code it is exchanged with.
create table if not exists auth.flow_state (
  id uuid not null,
  user_id uuid,
  auth_code text not null,
  code_challenge_method auth.code_challenge_method not null,
  code_challenge text not null,
  provider_type text not null,
  provider_access_token text,
  provider_refresh_token text,
  created_at timestamp with time zone,
  updated_at timestamp with time zone,
  authentication_method text not null,
  auth_code_issued_at timestamp with time zone,
  constraint flow_state_pkey primary key (id)
);

comment on table auth.flow_state is 'stores metadata for pkce logins';

-- Auth's audit trail of sign-ins, sign-ups, token refreshes and admin actions.
create table if not exists auth.audit_log_entries (
  instance_id uuid,
  id uuid not null,
  payload json,
  created_at timestamp with time zone,
  ip_address character varying(64) not null default ''::character varying,
  constraint audit_log_entries_pkey primary key (id)
);

comment on table auth.audit_log_entries is 'Auth: Audit trail for user actions.';

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

create index if not exists sessions_user_id_idx on auth.sessions (user_id);

create index if not exists user_id_created_at_idx on auth.sessions (user_id, created_at);

create index if not exists sessions_not_after_idx on auth.sessions (not_after desc);

create index if not exists refresh_tokens_instance_id_idx on auth.refresh_tokens (instance_id);

create index if not exists refresh_tokens_instance_id_user_id_idx on auth.refresh_tokens (instance_id, user_id);

create index if not exists refresh_tokens_parent_idx on auth.refresh_tokens (parent);

create index if not exists refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (session_id, revoked);

create index if not exists refresh_tokens_updated_at_idx on auth.refresh_tokens (updated_at desc);

create unique index if not exists mfa_factors_user_friendly_name_unique on auth.mfa_factors (friendly_name, user_id)
where (trim(friendly_name) <> '');

create index if not exists mfa_factors_user_id_idx on auth.mfa_factors (user_id);

create index if not exists factor_id_created_at_idx on auth.mfa_factors (user_id, created_at);

create index if not exists mfa_challenge_created_at_idx on auth.mfa_challenges (created_at desc);

create unique index if not exists one_time_tokens_user_id_token_type_key on auth.one_time_tokens (user_id, token_type);

create index if not exists one_time_tokens_token_hash_hash_idx on auth.one_time_tokens using hash (token_hash);

create index if not exists one_time_tokens_relates_to_hash_idx on auth.one_time_tokens using hash (relates_to);

create index if not exists idx_auth_code on auth.flow_state (auth_code);

create index if not exists idx_user_id_auth_method on auth.flow_state (user_id, authentication_method);

create index if not exists flow_state_created_at_idx on auth.flow_state (created_at desc);

create index if not exists audit_logs_instance_id_idx on auth.audit_log_entries (instance_id);

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
alter table auth.sessions owner to supabase_auth_admin;
alter table auth.refresh_tokens owner to supabase_auth_admin;
alter table auth.mfa_amr_claims owner to supabase_auth_admin;
alter table auth.mfa_factors owner to supabase_auth_admin;
alter table auth.mfa_challenges owner to supabase_auth_admin;
alter table auth.one_time_tokens owner to supabase_auth_admin;
alter table auth.flow_state owner to supabase_auth_admin;
alter table auth.audit_log_entries owner to supabase_auth_admin;
alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;

-- The API roles may resolve names in auth (so policies can call the helpers, which PUBLIC may
-- execute) but hold nothing on its tables: a policy that reads auth.users directly fails for them.
grant usage on schema auth to postgres, anon, authenticated, service_role;

revoke all on auth.users, auth.identities, auth.sessions, auth.refresh_tokens, auth.mfa_amr_claims, auth.mfa_factors,
auth.mfa_challenges, auth.one_time_tokens, auth.flow_state, auth.audit_log_entries from public, anon, authenticated, service_role;

-- postgres runs migrations and seeds: it may write users and grant read access onwards
-- (supabase/auth 20240612123726 gives it SELECT WITH GRANT OPTION).
grant all on auth.users, auth.identities, auth.sessions, auth.refresh_tokens, auth.mfa_amr_claims, auth.mfa_factors,
auth.mfa_challenges, auth.one_time_tokens, auth.flow_state, auth.audit_log_entries to postgres;
grant select on auth.users, auth.identities, auth.sessions, auth.refresh_tokens, auth.mfa_amr_claims, auth.mfa_factors,
auth.mfa_challenges, auth.one_time_tokens, auth.flow_state, auth.audit_log_entries to postgres with grant option;

-- ============================================================================ row level security

-- RLS is on for every auth table (supabase/auth 20240612123726) and no policy exists, so even a
-- role that were granted access would see nothing unless it bypasses RLS.
alter table auth.users enable row level security;
alter table auth.identities enable row level security;
alter table auth.sessions enable row level security;
alter table auth.refresh_tokens enable row level security;
alter table auth.mfa_amr_claims enable row level security;
alter table auth.mfa_factors enable row level security;
alter table auth.mfa_challenges enable row level security;
alter table auth.one_time_tokens enable row level security;
alter table auth.flow_state enable row level security;
alter table auth.audit_log_entries enable row level security;
