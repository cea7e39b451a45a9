-- 0017_check_membership_and_refuse_cleanly: defects found by an attacker's fuzz of the RPCs and table writes
-- (issue 20, items 3-6). Bodies otherwise as in sql/0003, 0005, 0007 and 0009.
-- 1. cancel_generation let a user removed from an organization still cancel the generations they had requested
--    there: the requester must still be a member. (Every other RPC already checked current membership.)
-- 2. Error oracles across tenants. BEFORE INSERT triggers run before row level security's WITH CHECK, so their
--    own checks answered an outsider differently depending on what exists in the other organization:
--      * a task planted in another organization: 22023 when the given assignee is not its member, 42501 when they
--        are (revealing membership);
--      * a participant or message for a conversation: 23503 for a random id, 22023 / PT409 / 42501 for a real one
--        (revealing that it exists, whether it is direct, whether a user is in its organization).
--    A signed-in writer who is not entitled to write there now gets exactly the refusal row level security would
--    give (42501, "new row violates row-level security policy for table ..."), whatever exists. The service role
--    and the superuser (no auth.uid()) keep the detailed errors, and members of the organization keep the helpful
--    messages about their own organization.
-- 3. invite_member validated an address only by its shape: an address of ~3 kB reached the pending-invitation
--    index and failed with 54000 (HTTP 500), naming the index. Addresses are at most 254 characters (RFC 5321's
--    path limit), refused with 22023 before anything is written.
-- 4. A null role reached the NOT NULL constraint of invitations (invite_member) or memberships
--    (change_member_role), whose error detail prints the whole row, most of invitations.token_hash included. Both
--    are refused with a clean 22023 first.
-- 5. accept_invitation told a signed-in user holding someone else's invitation link whether it was used, revoked,
--    expired or lapsed before saying it was not theirs. The address is now checked first.
-- Every constraint and trigger error the public RPCs can reach was reviewed: the RPCs validate their arguments
-- before writing, so a constraint is only a backstop. The RPC fuzz (tests/test_rpc_fuzz.py) holds the result: no
-- input to any RPC answers 5xx or prints a row or a key.

-- ---------------------------------------------------------------------------------------------------------
-- functions: RPCs
-- ---------------------------------------------------------------------------------------------------------

-- Cancel a generation: queued ones at once, running ones as soon as the worker observes it. The requester (while
-- still a member of the organization) and the organization's owners, admins and managers may; anyone else gets 404.
create or replace function public.cancel_generation(generation_id uuid)
returns public.generations
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  target public.generations;
begin
  select * into target from public.generations as g where g.id = generation_id;
  if not found or not (
    (target.user_id = (select auth.uid()) and internal.has_org_role(target.organization_id))
    or internal.has_org_role(target.organization_id, '{owner,admin,manager}')
  ) then
    raise exception 'generation not found' using errcode = 'PT404';
  end if;
  if target.status in ('succeeded', 'failed', 'cancelled') then
    raise exception 'the generation has already finished (%)', target.status using errcode = 'PT409';
  end if;
  perform internal.cancel_job(target.job_id);
  select * into target from public.generations as g where g.id = generation_id;
  return target;
end;
$$;

create or replace function public.change_member_role(org_id uuid, user_id uuid, new_role public.org_role)
returns public.memberships
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  changed public.memberships;
begin
  if not internal.has_org_role(org_id) then
    raise exception 'you are not a member of this organization' using errcode = '42501';
  end if;
  if new_role is null then
    raise exception 'new_role must be one of owner, admin, manager, member, assistant, client'
      using errcode = '22023';
  end if;
  update public.memberships as m
  set role = new_role
  where m.organization_id = org_id and m.user_id = change_member_role.user_id
  returning * into changed;
  if not found then
    raise exception 'user % is not a member of this organization', change_member_role.user_id
      using errcode = 'PT404';
  end if;
  return changed;
end;
$$;

-- Returns the token once: only its sha256 is stored, so it cannot be shown again. Inviting an address that
-- already has a pending invitation replaces it (the old link stops working).
create or replace function public.invite_member(org_id uuid, email text, role public.org_role default 'member')
returns table (invitation_id uuid, token text, expires_at timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  address text := lower(btrim(invite_member.email));
  secret text;
  created public.invitations;
begin
  if not internal.has_org_role(org_id, '{owner,admin}') then
    raise exception 'only owners and admins invite members' using errcode = '42501';
  end if;
  if invite_member.role is null then
    raise exception 'role must be one of owner, admin, manager, member, assistant, client'
      using errcode = '22023', hint = 'Leave it out to invite a member.';
  end if;
  if invite_member.role = 'owner' and not internal.has_org_role(org_id, '{owner}') then
    raise exception 'only owners can invite owners' using errcode = '42501';
  end if;
  if char_length(address) > 254 then
    raise exception 'an e-mail address has at most 254 characters; this one has %', char_length(address)
      using errcode = '22023';
  end if;
  if address is null or address !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' then
    raise exception '"%" is not an e-mail address', invite_member.email using errcode = '22023';
  end if;
  if exists (
    select 1 from public.memberships as m
    inner join auth.users as u on u.id = m.user_id
    where m.organization_id = org_id and lower(u.email) = address
  ) then
    raise exception '% is already a member of this organization', address using errcode = 'PT409';
  end if;

  update public.invitations as i set revoked_at = now()
  where i.organization_id = org_id and i.email = address and i.accepted_at is null and i.revoked_at is null;

  -- 244 random bits from two version-4 uuids (gen_random_uuid uses a cryptographic source; pgcrypto's
  -- gen_random_bytes is not available everywhere supakit runs)
  secret := encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'hex');
  begin
    insert into public.invitations (organization_id, email, role, token_hash, invited_by)
    values (org_id, address, invite_member.role, sha256(convert_to(secret, 'UTF8')), (select auth.uid()))
    returning * into created;
  exception when unique_violation then
    raise exception '% is being invited right now by someone else', address
      using errcode = 'PT409', hint = 'Try again in a moment.';
  end;

  return query select created.id, secret, created.expires_at;
end;
$$;

create or replace function public.accept_invitation(token text)
returns public.memberships
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
  caller_email text;
  invitation public.invitations;
  joined public.memberships;
begin
  if caller is null then
    raise exception 'sign in to accept an invitation' using errcode = '42501';
  end if;
  select * into invitation from public.invitations as i
  where i.token_hash = sha256(convert_to(coalesce(accept_invitation.token, ''), 'UTF8'))
  for update;
  if not found then
    raise exception 'invitation not found'
      using errcode = 'PT404', hint = 'The link is wrong or a newer invitation replaced it; ask for a new one.';
  end if;
  -- Before anything about the invitation's state: someone else's link tells its holder nothing more.
  select lower(u.email) into caller_email from auth.users as u where u.id = caller;
  if caller_email is distinct from invitation.email then
    raise exception 'this invitation is for another e-mail address'
      using errcode = '42501', hint = 'Sign in with the address the invitation was sent to.';
  end if;
  if invitation.accepted_at is not null then
    raise exception 'this invitation was already used' using errcode = 'PT409';
  end if;
  if invitation.revoked_at is not null then
    raise exception 'this invitation was revoked' using errcode = 'PT410', hint = 'Ask for a new invitation.';
  end if;
  if invitation.expires_at <= now() then
    raise exception 'this invitation expired at %', invitation.expires_at
      using errcode = 'PT410', hint = 'Ask for a new invitation.';
  end if;
  -- An invitation speaks for the person who sent it: it lapses when they can no longer invite (they left, were
  -- removed or demoted below admin, or lost the owner role that an owner invitation needs).
  if not exists (
    select 1 from public.memberships as m
    where m.organization_id = invitation.organization_id and m.user_id = invitation.invited_by
      and m.role in ('owner', 'admin') and (invitation.role <> 'owner' or m.role = 'owner')
  ) then
    raise exception 'this invitation is no longer valid: the person who sent it can no longer invite members'
      using errcode = 'PT410', hint = 'Ask an owner or admin for a new invitation.';
  end if;
  if exists (
    select 1 from public.memberships as m where m.organization_id = invitation.organization_id and m.user_id = caller
  ) then
    raise exception 'you are already a member of this organization' using errcode = 'PT409';
  end if;

  insert into public.memberships (organization_id, user_id, role)
  values (invitation.organization_id, caller, invitation.role)
  returning * into joined;
  update public.invitations as i set accepted_at = now(), accepted_by = caller where i.id = invitation.id;
  return joined;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: rules (triggers)
-- ---------------------------------------------------------------------------------------------------------

-- Before insert or update of a task:
--   * an insert by a signed-in user who may not create tasks in the organization is left to the insert policy,
--     which refuses it (so an outsider learns nothing about the organization's members from the assignee check);
--   * the assignee must be a member of the task's organization;
--   * completed_at follows status (set when it becomes done, cleared when it leaves done);
--   * a user who is not a manager or above (an assignee: member or assistant) may change only the status.
create or replace function internal.tg_tasks__enforce_rules()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  actor uuid := (select auth.uid());
begin
  if tg_op = 'INSERT' and actor is not null
    and not internal.has_org_role(new.organization_id, '{owner,admin,manager}') then
    return new;  -- "managers and above can create tasks" refuses it with 42501
  end if;

  if new.assignee_id is not null
    and (tg_op = 'INSERT' or new.assignee_id is distinct from old.assignee_id)
    and not exists (
      select 1 from public.memberships as m
      where m.organization_id = new.organization_id and m.user_id = new.assignee_id
    ) then
    raise exception 'the assignee is not a member of this organization'
      using errcode = '22023', hint = 'Invite them first, or assign the task to a member.';
  end if;

  if tg_op = 'UPDATE' and actor is not null
    and not internal.has_org_role(new.organization_id, '{owner,admin,manager}')
    and (to_jsonb(new) - '{status,completed_at,updated_at}'::text[])
    is distinct from (to_jsonb(old) - '{status,completed_at,updated_at}'::text[]) then
    raise exception 'assignees may change only the status of a task'
      using errcode = '42501', hint = 'Ask a manager to change anything else.';
  end if;

  if new.status = 'done' and (tg_op = 'INSERT' or old.status <> 'done') then
    new.completed_at := now();
  elsif new.status <> 'done' then
    new.completed_at := null;
  end if;
  return new;
end;
$$;

-- Before insert of a participant: a signed-in user outside the conversation's organization (or naming no
-- conversation) gets row level security's own refusal, whatever exists; then copy the organization, require
-- membership of it, keep direct conversations to their pair, and count the history a newcomer to a group joins
-- into as read. (The membership test, not the insert policy itself, decides here: start_direct_conversation and
-- the creator trigger insert participants on behalf of members who hold no participant-managing role.)
create or replace function internal.tg_conversation_participants__before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
  conversation_exists boolean;
begin
  select * into conversation from public.conversations as c where c.id = new.conversation_id;
  conversation_exists := found;
  if (select auth.uid()) is not null
    and (not conversation_exists or not internal.has_org_role(conversation.organization_id)) then
    raise exception 'new row violates row-level security policy for table "conversation_participants"'
      using errcode = '42501';
  end if;
  if not conversation_exists then
    raise exception 'conversation % does not exist', new.conversation_id using errcode = '23503';
  end if;
  new.organization_id := conversation.organization_id;
  if not exists (
    select 1 from public.memberships as m
    where m.organization_id = conversation.organization_id and m.user_id = new.user_id
  ) then
    raise exception 'only members of the conversation''s organization can take part in it'
      using errcode = '22023', hint = 'Invite the user to the organization first.';
  end if;
  if conversation.kind = 'direct' and new.user_id not in (conversation.direct_user_low, conversation.direct_user_high)
    then
    raise exception 'a direct conversation has exactly two participants'
      using errcode = 'PT409', hint = 'Start a group conversation to talk with more people.';
  end if;
  if conversation.kind <> 'direct' and new.last_read_at is null then
    new.last_read_at := (select max(m.created_at) from public.messages as m where m.conversation_id = new.conversation_id);
  end if;
  return new;
end;
$$;

-- Before insert of a message: a signed-in sender who does not take part in the conversation (or names none) gets
-- row level security's own refusal, whatever exists (the insert policy's test, checked first); then the sender is
-- the signed-in user, the organization is the conversation's, a reply stays in its conversation, and attachments
-- point into the conversation's folder of message-attachments.
create or replace function internal.tg_messages__before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  actor uuid := (select auth.uid());
begin
  if actor is not null then
    if new.conversation_id is null or new.conversation_id not in (
      select c.id from internal.current_user_conversation_ids() as c (id)
    ) then
      raise exception 'new row violates row-level security policy for table "messages"' using errcode = '42501';
    end if;
    new.sender_id := actor;
    new.created_at := clock_timestamp();
    new.edited_at := null;
    new.deleted_at := null;
    new.deleted_by := null;
  end if;
  select c.organization_id into new.organization_id from public.conversations as c where c.id = new.conversation_id;
  if new.organization_id is null then
    raise exception 'conversation % does not exist', new.conversation_id using errcode = '23503';
  end if;
  if new.reply_to is not null and not exists (
    select 1 from public.messages as m where m.id = new.reply_to and m.conversation_id = new.conversation_id
  ) then
    raise exception 'a reply must answer a message of the same conversation' using errcode = '22023';
  end if;
  perform internal.check_message_attachments(new.conversation_id, new.attachments);
  return new;
end;
$$;
