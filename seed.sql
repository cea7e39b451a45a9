-- Development and demo data. Idempotent: running it twice changes nothing (fixed ids, on conflict do nothing).
-- Users are inserted into auth.users as Supabase Auth would; the sign-up trigger creates their profiles.
-- Every demo user's password is 'password' (a real bcrypt hash), meant for signing in on a Supabase CLI stack.

insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
  confirmation_token, recovery_token, email_change_token_new, email_change
)
values
(
  '00000000-0000-0000-0000-000000000000', '11111111-1111-4111-8111-111111111111', 'authenticated',
  'authenticated', 'owner@example.com', '$2b$10$GCRrob4AygqZvZUWAAr/vOQiZmskp/rhZi7pWIYrOI7YYVwuykjzC', now(),
  '{"provider": "email", "providers": ["email"]}', '{"full_name": "Olivia Owner"}', now(), now(), '', '', '', ''
),
(
  '00000000-0000-0000-0000-000000000000', '22222222-2222-4222-8222-222222222222', 'authenticated',
  'authenticated', 'manager@example.com', '$2b$10$GCRrob4AygqZvZUWAAr/vOQiZmskp/rhZi7pWIYrOI7YYVwuykjzC', now(),
  '{"provider": "email", "providers": ["email"]}', '{"full_name": "Manuel Manager"}', now(), now(), '', '', '', ''
),
(
  '00000000-0000-0000-0000-000000000000', '33333333-3333-4333-8333-333333333333', 'authenticated',
  'authenticated', 'client@example.com', '$2b$10$GCRrob4AygqZvZUWAAr/vOQiZmskp/rhZi7pWIYrOI7YYVwuykjzC', now(),
  '{"provider": "email", "providers": ["email"]}', '{"full_name": "Clara Client"}', now(), now(), '', '', '', ''
),
(
  '00000000-0000-0000-0000-000000000000', '44444444-4444-4444-8444-444444444444', 'authenticated',
  'authenticated', 'assistant@example.com', '$2b$10$GCRrob4AygqZvZUWAAr/vOQiZmskp/rhZi7pWIYrOI7YYVwuykjzC', now(),
  '{"provider": "email", "providers": ["email"]}', '{"full_name": "Ada Assistant"}', now(), now(), '', '', '', ''
)
on conflict (id) do nothing;

-- Supabase Auth signs e-mail users in through their 'email' identity (and trips over NULL token columns, hence
-- the '' above).
insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
select
  u.id::text as provider_id,
  u.id as user_id,
  jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true) as identity_data,
  'email' as provider,
  now() as last_sign_in_at,
  now() as created_at,
  now() as updated_at
from auth.users as u
where u.email in ('owner@example.com', 'manager@example.com', 'client@example.com', 'assistant@example.com')
on conflict (provider_id, provider) do nothing;

-- A demo organization with one member per dashboard role, a project and tasks. Inserted as the database owner,
-- so the tenancy RPCs' checks do not apply; the triggers (last owner, assignee membership, audit) still run.
insert into public.organizations (id, name, slug, created_by)
values ('a0000000-0000-4000-8000-000000000001', 'Acme Agency', 'acme', '11111111-1111-4111-8111-111111111111')
on conflict (id) do nothing;

insert into public.memberships (organization_id, user_id, role)
values
('a0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'owner'),
('a0000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222', 'manager'),
('a0000000-0000-4000-8000-000000000001', '33333333-3333-4333-8333-333333333333', 'client'),
('a0000000-0000-4000-8000-000000000001', '44444444-4444-4444-8444-444444444444', 'assistant')
on conflict (organization_id, user_id) do nothing;

insert into public.projects (id, organization_id, name, description, created_by)
values (
  'b0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'Website relaunch',
  'The client''s new marketing site', '22222222-2222-4222-8222-222222222222'
)
on conflict (id) do nothing;

insert into public.tasks (id, organization_id, project_id, title, status, assignee_id, created_by)
values
(
  'c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
  'b0000000-0000-4000-8000-000000000001', 'Collect brand assets', 'done',
  '44444444-4444-4444-8444-444444444444', '22222222-2222-4222-8222-222222222222'
),
(
  'c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001',
  'b0000000-0000-4000-8000-000000000001', 'Draft the home page copy', 'in_progress',
  '44444444-4444-4444-8444-444444444444', '22222222-2222-4222-8222-222222222222'
),
(
  'c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001',
  'b0000000-0000-4000-8000-000000000001', 'Review the sitemap', 'todo',
  '22222222-2222-4222-8222-222222222222', '22222222-2222-4222-8222-222222222222'
)
on conflict (id) do nothing;

-- Messaging: the project's group chat (the manager started it, so the trigger made them its owner) with the
-- client and the assistant, and a direct conversation between the owner and the manager. Messages carry fixed ids
-- and times an hour apart.
insert into public.conversations (id, organization_id, kind, title, created_by)
values (
  'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'group', 'Website relaunch',
  '22222222-2222-4222-8222-222222222222'
)
on conflict (id) do nothing;

insert into public.conversations (id, organization_id, kind, created_by, direct_user_low, direct_user_high)
values (
  'd0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'direct',
  '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111',
  '22222222-2222-4222-8222-222222222222'
)
on conflict (id) do nothing;

insert into public.conversation_participants (conversation_id, user_id)
values
('d0000000-0000-4000-8000-000000000001', '33333333-3333-4333-8333-333333333333'),
('d0000000-0000-4000-8000-000000000001', '44444444-4444-4444-8444-444444444444'),
('d0000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111'),
('d0000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222')
on conflict (conversation_id, user_id) do nothing;

insert into public.messages (id, conversation_id, sender_id, body, created_at)
values
(
  'e0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001',
  '22222222-2222-4222-8222-222222222222', 'Welcome! This is where we discuss the relaunch.',
  now() - interval '3 hours'
),
(
  'e0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001',
  '33333333-3333-4333-8333-333333333333', 'Great. When can we see the first draft of the home page?',
  now() - interval '2 hours'
),
(
  'e0000000-0000-4000-8000-000000000003', 'd0000000-0000-4000-8000-000000000001',
  '44444444-4444-4444-8444-444444444444', 'The copy is in progress; I will share it here by Friday.',
  now() - interval '1 hour'
),
(
  'e0000000-0000-4000-8000-000000000004', 'd0000000-0000-4000-8000-000000000002',
  '11111111-1111-4111-8111-111111111111', 'Can you keep me posted on the relaunch budget?',
  now() - interval '30 minutes'
)
on conflict (id) do nothing;
