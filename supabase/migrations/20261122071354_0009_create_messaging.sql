-- Exported by `supakit migrate export` from sql/0009_create_messaging.sql (sha256 7b65bf614b037a5d165aad9261503e7fb97b17dd8b471304ddfb0bc5d93e5fa3).
-- Edit the source file, not this one.

-- 0009_create_messaging: conversations, their participants and messages, with every rule in SQL so that
-- supabase-js clients use them directly through PostgREST, Realtime and Storage (docs/messaging.md):
--   * only participants read and post (and only while they still belong to the conversation's organization);
--   * a sender edits their own message within the edit window (internal.messaging_settings, default 15 minutes)
--     and deletes it (soft: the body and attachments are blanked) at any time;
--   * the organization's owners and admins moderate: they read every conversation and delete any message;
--   * a direct conversation has exactly two participants and is unique per pair within an organization;
--   * read state per participant (last_read_at), unread counts in one indexed query;
--   * every new, edited or deleted message is broadcast to the private Realtime topic `conversation:<id>`;
--   * the storage buckets for attachments, user uploads and generated assets.
-- Grants, row level security and policies: policies/messaging.sql and policies/storage.sql.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

-- One row: the knobs operators may turn without a migration (docs/messaging.md, "Edit window").
create table internal.messaging_settings (
  singleton boolean not null default true,
  edit_window interval not null default interval '15 minutes',
  constraint messaging_settings_pkey primary key (singleton),
  constraint singleton_is_true check (singleton),
  constraint edit_window_is_not_negative check (edit_window >= interval '0')
);
comment on table internal.messaging_settings is
'messaging configuration, one row; e.g. update internal.messaging_settings set edit_window = interval ''1 hour''';
comment on column internal.messaging_settings.edit_window is
'how long after sending a sender may still edit a message (0: never); deleting is not limited';

insert into internal.messaging_settings (singleton) values (true);

create table public.conversations (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  kind text not null default 'group',
  title text,
  created_by uuid,
  direct_user_low uuid,
  direct_user_high uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint conversations_pkey primary key (id),
  constraint conversations_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint conversations_created_by_fkey foreign key (created_by) references auth.users (id) on delete set null,
  constraint kind_is_known check (kind in ('direct', 'group', 'support')),
  constraint title_is_not_blank check (title is null or char_length(btrim(title)) between 1 and 200),
  constraint direct_iff_pair check ((kind = 'direct') = (direct_user_low is not null and direct_user_high is not null)),
  constraint direct_pair_is_ordered check (direct_user_low < direct_user_high)
);
comment on table public.conversations is
'a chat inside one organization: direct (two people), group, or support (a client and the team)';
comment on column public.conversations.kind is
'direct: exactly two participants, one per pair and organization (start_direct_conversation); group; support';
comment on column public.conversations.direct_user_low is
'direct conversations: the smaller of the two user ids (with direct_user_high, the unique pair); not a foreign key '
'so that a deleted account leaves the other person''s history in place';

create table public.conversation_participants (
  conversation_id uuid not null,
  user_id uuid not null,
  organization_id uuid not null,
  role text not null default 'member',
  last_read_at timestamptz,
  muted boolean not null default false,
  joined_at timestamptz not null default now(),
  constraint conversation_participants_pkey primary key (conversation_id, user_id),
  constraint conversation_participants_conversation_id_fkey foreign key (conversation_id)
  references public.conversations (id) on delete cascade,
  constraint conversation_participants_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade,
  constraint role_is_known check (role in ('owner', 'member'))
);
comment on table public.conversation_participants is
'who takes part in a conversation, with their read state; access to a conversation follows from a row here '
'plus membership of its organization';
comment on column public.conversation_participants.organization_id is
'copied from the conversation by trigger: lets the access helper check membership without a join';
comment on column public.conversation_participants.role is
'owner: adds and removes participants and renames the conversation (its creator); member';
comment on column public.conversation_participants.last_read_at is
'messages created after this are unread (mark_read sets it); null: nothing read yet';

create table public.messages (
  id uuid not null default gen_random_uuid(),
  conversation_id uuid not null,
  organization_id uuid not null,
  sender_id uuid,
  body text not null default '',
  attachments jsonb not null default '[]',
  reply_to uuid,
  created_at timestamptz not null default clock_timestamp(),
  edited_at timestamptz,
  deleted_at timestamptz,
  deleted_by uuid,
  constraint messages_pkey primary key (id),
  constraint messages_conversation_id_fkey foreign key (conversation_id)
  references public.conversations (id) on delete cascade,
  constraint messages_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint messages_sender_id_fkey foreign key (sender_id) references auth.users (id) on delete set null,
  constraint messages_reply_to_fkey foreign key (reply_to) references public.messages (id) on delete set null,
  constraint body_is_not_too_long check (char_length(body) <= 10000),
  constraint attachments_is_a_short_array check (
    case when jsonb_typeof(attachments) = 'array' then jsonb_array_length(attachments) <= 10 else false end
  ),
  constraint has_content_unless_deleted check (
    deleted_at is not null or char_length(btrim(body)) > 0 or attachments <> '[]'
  ),
  constraint deleted_messages_are_blank check (deleted_at is null or (body = '' and attachments = '[]'))
);
comment on table public.messages is
'a message in a conversation; soft-deleted by setting deleted_at (body and attachments are then blanked)';
comment on column public.messages.organization_id is 'copied from the conversation by trigger (moderation, analytics)';
comment on column public.messages.sender_id is 'the signed-in sender (set by trigger); null: a system message';
comment on column public.messages.attachments is
'[{"path": "<conversation id>/<file>", "name", "size", "mime_type"}]: objects in the message-attachments bucket';
comment on column public.messages.created_at is
'clock time of the insert (not transaction start), so messages of one transaction keep their order';
comment on column public.messages.edited_at is 'set when the sender changes body or attachments';
comment on column public.messages.deleted_at is 'live -> deleted: set once, by the sender or a moderator; never undone';
comment on column public.messages.deleted_by is 'who deleted it: the sender, or a moderating owner/admin';

-- ---------------------------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------------------------

create index conversations_organization_id_idx on public.conversations (organization_id);
create index conversations_created_by_idx on public.conversations (created_by);
-- one direct conversation per pair and organization; start_direct_conversation relies on it under concurrency
create unique index conversations_direct_pair_key on public.conversations (
  organization_id, direct_user_low, direct_user_high
) where kind = 'direct';

create index conversation_participants_user_id_idx on public.conversation_participants (user_id);

-- a page of a conversation, newest first
create index messages_conversation_id_created_at_idx on public.messages (conversation_id, created_at desc);
-- unread counts: an index-only range scan per conversation
create index messages_unread_idx on public.messages (conversation_id, created_at)
include (sender_id) where deleted_at is null;
create index messages_organization_id_created_at_idx on public.messages (organization_id, created_at);
create index messages_sender_id_idx on public.messages (sender_id);
create index messages_reply_to_idx on public.messages (reply_to);

-- ---------------------------------------------------------------------------------------------------------
-- functions: access helpers (security definer: policies must not recurse into participants' own policies)
-- ---------------------------------------------------------------------------------------------------------

-- The conversations the signed-in user takes part in (optionally only with one of `roles`), counting only those
-- of organizations they still belong to: a removed member loses every conversation of that organization at once.
-- Policies call it as `conversation_id in (select internal.current_user_conversation_ids())`.
create function internal.current_user_conversation_ids(roles text[] default null)
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select p.conversation_id
  from public.conversation_participants as p
  inner join public.memberships as m on m.organization_id = p.organization_id and m.user_id = p.user_id
  where p.user_id = (select auth.uid())
    and (roles is null or p.role = any(roles))
$$;

-- Whether the signed-in user takes part in the conversation a Realtime topic `conversation:<uuid>` names (false for
-- any other topic, malformed ones included).
create function internal.current_user_has_conversation_topic(topic text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if topic is null or topic !~ '^conversation:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    return false;
  end if;
  return exists (
    select 1 from internal.current_user_conversation_ids() as c (id) where c.id = substr(topic, 14)::uuid
  );
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: rules (triggers)
-- ---------------------------------------------------------------------------------------------------------

-- Before update of a conversation: its organization, kind and direct pair never change.
create function internal.tg_conversations__pin()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (new.organization_id, new.kind, new.direct_user_low, new.direct_user_high)
    is distinct from (old.organization_id, old.kind, old.direct_user_low, old.direct_user_high) then
    raise exception 'a conversation''s organization, kind and direct pair cannot change'
      using errcode = '22023', hint = 'Start a new conversation instead.';
  end if;
  return new;
end;
$$;

-- After insert of a group or support conversation: its creator takes part as its owner.
create function internal.tg_conversations__add_creator()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.kind <> 'direct' and new.created_by is not null then
    insert into public.conversation_participants (conversation_id, user_id, role)
    values (new.id, new.created_by, 'owner')
    on conflict (conversation_id, user_id) do nothing;
  end if;
  return null;
end;
$$;

-- At commit (deferred constraint trigger): a direct conversation has exactly its two users as participants,
-- whoever created it (start_direct_conversation adds both; a service-role insert must too).
create function internal.tg_conversations__check_direct_pair()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from public.conversations as c where c.id = new.id)
    and (
      select count(*) from public.conversation_participants as p
      where p.conversation_id = new.id and p.user_id in (new.direct_user_low, new.direct_user_high)
    ) <> 2 then
    raise exception 'a direct conversation needs exactly its two users as participants'
      using errcode = '23514', hint = 'Create direct conversations with start_direct_conversation(other_user).';
  end if;
  return null;
end;
$$;

-- Before insert of a participant: copy the organization, require membership of it, keep direct conversations to
-- their pair, and count the history a newcomer to a group joins into as read.
create function internal.tg_conversation_participants__before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  conversation public.conversations;
begin
  select * into conversation from public.conversations as c where c.id = new.conversation_id;
  if not found then
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

-- Before update of a participant: the row stays with its conversation and user.
create function internal.tg_conversation_participants__pin()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (new.conversation_id, new.user_id, new.organization_id)
    is distinct from (old.conversation_id, old.user_id, old.organization_id) then
    raise exception 'a participant cannot move to another conversation or user'
      using errcode = '22023', hint = 'Remove the participant and add the other user.';
  end if;
  return new;
end;
$$;

-- Before delete of a participant: nobody leaves a direct conversation. Deletions cascading from the conversation or
-- from the user's account (the parent row is already gone) pass.
create function internal.tg_conversation_participants__before_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from public.conversations as c where c.id = old.conversation_id and c.kind = 'direct')
    and exists (select 1 from auth.users as u where u.id = old.user_id) then
    raise exception 'a direct conversation keeps both of its participants'
      using errcode = 'PT409', hint = 'Mute it instead (muted = true).';
  end if;
  return old;
end;
$$;

-- Before insert of a message: the sender is the signed-in user, the organization is the conversation's, a reply
-- stays in its conversation, and attachments point into the conversation's folder of message-attachments.
create function internal.tg_messages__before_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  actor uuid := (select auth.uid());
begin
  if actor is not null then
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

-- Attachments are [{"path": "<conversation id>/...", ...}]: the path is what the storage policies check.
create function internal.check_message_attachments(conversation_id uuid, attachments jsonb)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if jsonb_typeof(attachments) is distinct from 'array' or exists (
    select 1 from jsonb_array_elements(attachments) as a (item)
    where jsonb_typeof(a.item) <> 'object'
      or jsonb_typeof(a.item -> 'path') is distinct from 'string'
      or not starts_with(a.item ->> 'path', conversation_id::text || '/')
  ) then
    raise exception 'each attachment must be an object whose "path" lies in the conversation''s folder'
      using errcode = '22023',
        hint = format('Upload to message-attachments under %s/ and pass [{"path": "%s/<file>"}].',
          conversation_id, conversation_id);
  end if;
end;
$$;

-- Before update of a message, for signed-in users (the service role is trusted, but the conversation is pinned for
-- everyone):
--   * deleting (setting deleted_at): the sender, or an owner/admin of the organization (moderation); the body and
--     attachments are blanked and deleted_by recorded; a deleted message never changes again;
--   * editing (body, attachments): only the sender, within internal.messaging_settings.edit_window of sending.
create function internal.tg_messages__before_update()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  actor uuid := (select auth.uid());
  edit_window interval;
  deleting boolean := old.deleted_at is null and new.deleted_at is not null;
begin
  if (new.conversation_id, new.organization_id) is distinct from (old.conversation_id, old.organization_id) then
    raise exception 'a message cannot move to another conversation' using errcode = '22023';
  end if;
  if actor is not null and old.deleted_at is not null then
    raise exception 'this message was deleted and cannot change' using errcode = 'PT409';
  end if;
  if actor is not null and (new.sender_id, new.reply_to, new.created_at, new.deleted_by)
    is distinct from (old.sender_id, old.reply_to, old.created_at, old.deleted_by) then
    raise exception 'only body, attachments and deleted_at of a message can change' using errcode = '42501';
  end if;

  if deleting then
    if actor is not null and actor is distinct from old.sender_id
      and not internal.has_org_role(old.organization_id, '{owner,admin}') then
      raise exception 'only the sender or an owner or admin of the organization can delete a message'
        using errcode = '42501';
    end if;
    new.deleted_at := clock_timestamp();
    new.deleted_by := coalesce(actor, new.deleted_by);
    new.body := '';
    new.attachments := '[]';
    return new;
  end if;

  if actor is not null and old.deleted_at is null and new.deleted_at is null
    and (new.body, new.attachments) is distinct from (old.body, old.attachments) then
    if actor is distinct from old.sender_id then
      raise exception 'only the sender can edit a message'
        using errcode = '42501', hint = 'Owners and admins may delete it (set deleted_at).';
    end if;
    select s.edit_window into edit_window from internal.messaging_settings as s;
    if now() > old.created_at + coalesce(edit_window, interval '15 minutes') then
      raise exception 'messages can be edited for % after sending; this one was sent at %', edit_window,
        to_char(old.created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')
        using errcode = '42501', hint = 'Delete it and send a new one.';
    end if;
  end if;
  if (new.body, new.attachments) is distinct from (old.body, old.attachments) then
    perform internal.check_message_attachments(new.conversation_id, new.attachments);
    new.edited_at := clock_timestamp();
  end if;
  return new;
end;
$$;

-- After a message is inserted, edited, deleted (soft: an UPDATE setting deleted_at; hard: a service-role DELETE):
-- broadcast it to the private topic `conversation:<id>` with realtime.broadcast_changes, whose payload is
-- {id, old_record, record, operation, table, schema}. Events: message_created, message_edited, message_deleted.
-- A deleted message's old content is never sent (old_record is null for a soft delete, ids only for a hard one);
-- deletions cascading from a deleted conversation send nothing (nobody is left to listen).
create function internal.tg_messages__broadcast()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  topic text := 'conversation:' || (case when tg_op = 'DELETE' then old.conversation_id else new.conversation_id end)::text;
  deleted_ids record;
begin
  -- One call per shape: plpgsql caches each statement's plan with its record argument types.
  if tg_op = 'INSERT' then
    perform realtime.broadcast_changes(topic, 'message_created', tg_op, tg_table_name, tg_table_schema, new, null);
  elsif tg_op = 'UPDATE' and old.deleted_at is null and new.deleted_at is not null then
    perform realtime.broadcast_changes(topic, 'message_deleted', tg_op, tg_table_name, tg_table_schema, new, null);
  elsif tg_op = 'UPDATE' and (new.body, new.attachments) is distinct from (old.body, old.attachments) then
    perform realtime.broadcast_changes(topic, 'message_edited', tg_op, tg_table_name, tg_table_schema, new, old);
  elsif tg_op = 'DELETE' and exists (select 1 from public.conversations as c where c.id = old.conversation_id) then
    select old.id, old.conversation_id, old.sender_id, old.created_at into deleted_ids;
    perform realtime.broadcast_changes(
      topic, 'message_deleted', tg_op, tg_table_name, tg_table_schema, null, deleted_ids
    );
  end if;
  return null;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: RPCs
-- ---------------------------------------------------------------------------------------------------------

-- The direct conversation between the caller and `other_user` in an organization both belong to, created on first
-- use; calling it again (from either side, concurrently too) returns the same conversation. org_id may be omitted
-- when the two share exactly one organization.
-- Errors: 42501 (not signed in), 22023 (no other user, yourself, no shared organization, ambiguous organization).
create function public.start_direct_conversation(other_user uuid, org_id uuid default null)
returns public.conversations
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
  org uuid := start_direct_conversation.org_id;
  low uuid;
  high uuid;
  conversation public.conversations;
begin
  if caller is null then
    raise exception 'sign in to start a conversation' using errcode = '42501';
  end if;
  if other_user is null or other_user = caller then
    raise exception 'other_user must be another user''s id' using errcode = '22023';
  end if;
  if org is null then
    select min(mine.organization_id::text)::uuid into org
    from public.memberships as mine
    inner join public.memberships as theirs
      on theirs.organization_id = mine.organization_id and theirs.user_id = other_user
    where mine.user_id = caller
    having count(*) = 1;
    if org is null then
      raise exception 'pass org_id: you share no organization with this user, or several'
        using errcode = '22023', hint = 'Call start_direct_conversation(other_user, org_id).';
    end if;
  elsif not exists (
    select 1 from public.memberships as m where m.organization_id = org and m.user_id = caller
  ) or not exists (
    select 1 from public.memberships as m where m.organization_id = org and m.user_id = other_user
  ) then
    raise exception 'you and this user are not both members of organization %', org using errcode = '22023';
  end if;

  low := least(caller, other_user);
  high := greatest(caller, other_user);
  -- The unique pair index decides between concurrent callers: the loser waits for the winner's commit, then
  -- skips the insert and reads the winner's row.
  insert into public.conversations (organization_id, kind, created_by, direct_user_low, direct_user_high)
  values (org, 'direct', caller, low, high)
  on conflict (organization_id, direct_user_low, direct_user_high) where kind = 'direct' do nothing
  returning * into conversation;
  if found then
    insert into public.conversation_participants (conversation_id, user_id) values
    (conversation.id, low), (conversation.id, high);
  else
    select * into conversation from public.conversations as c
    where c.organization_id = org and c.kind = 'direct' and c.direct_user_low = low and c.direct_user_high = high;
  end if;
  return conversation;
end;
$$;

-- Mark a conversation read up to its newest message the caller can see; returns the new last_read_at.
-- Errors: PT404 (not a participant).
create function public.mark_read(conversation_id uuid)
returns timestamptz
language plpgsql
volatile
set search_path = ''
as $$
declare
  read_until timestamptz;
begin
  update public.conversation_participants as p
  set last_read_at = greatest(
    p.last_read_at,
    (select max(m.created_at) from public.messages as m where m.conversation_id = mark_read.conversation_id)
  )
  where p.conversation_id = mark_read.conversation_id and p.user_id = (select auth.uid())
  returning p.last_read_at into read_until;
  if not found then
    raise exception 'conversation not found' using errcode = 'PT404',
      hint = 'mark_read takes the id of a conversation you take part in.';
  end if;
  return read_until;
end;
$$;

-- Per conversation the caller takes part in (in an organization they still belong to): how many messages from
-- others arrived after their last_read_at (deleted ones not counted), with their read state. One statement: an
-- index-only range scan of messages_unread_idx per conversation. Security definer so that the messages policy is
-- not re-checked on each of the (possibly thousands of) counted index entries: the caller's own participant rows
-- and the membership join below are exactly what that policy would grant.
create function public.unread_counts()
returns table (conversation_id uuid, unread_count bigint, last_read_at timestamptz, muted boolean)
language sql
stable
security definer
set search_path = ''
as $$
  select p.conversation_id, count(m.created_at), p.last_read_at, p.muted
  from public.conversation_participants as p
  inner join public.memberships as mb on mb.organization_id = p.organization_id and mb.user_id = p.user_id
  left join public.messages as m
    on m.conversation_id = p.conversation_id
    and m.created_at > coalesce(p.last_read_at, '-infinity')
    and m.deleted_at is null
    and m.sender_id is distinct from p.user_id
  where p.user_id = (select auth.uid())
  group by p.conversation_id, p.last_read_at, p.muted
$$;

-- Message analytics for an organization's owners and admins: per conversation and UTC day, the messages sent,
-- how many were later deleted, and how many people sent them. Days default to the last 30.
-- Errors: 42501 (not an owner or admin), 22023 (bad range).
create function public.message_activity(org_id uuid, since date default null, until date default null)
returns table (conversation_id uuid, day date, messages bigint, deleted bigint, senders bigint)
language plpgsql
stable
set search_path = ''
as $$
declare
  first_day date := coalesce(since, (now() at time zone 'UTC')::date - 29);
  last_day date := coalesce(until, (now() at time zone 'UTC')::date);
begin
  if not internal.has_org_role(org_id, '{owner,admin}') then
    raise exception 'only owners and admins of the organization see its message activity' using errcode = '42501';
  end if;
  if last_day < first_day or last_day - first_day > 366 then
    raise exception 'the range % to % must run forwards and span at most 366 days', first_day, last_day
      using errcode = '22023';
  end if;
  return query
  select m.conversation_id, (m.created_at at time zone 'UTC')::date, count(*), count(m.deleted_at),
    count(distinct m.sender_id)
  from public.messages as m
  where m.organization_id = org_id
    and m.created_at >= (first_day::timestamp at time zone 'UTC')
    and m.created_at < ((last_day + 1)::timestamp at time zone 'UTC')
  group by 1, 2
  order by 2, 1;
end;
$$;

revoke all on function internal.current_user_conversation_ids(text[]) from public;
revoke all on function internal.current_user_has_conversation_topic(text) from public;
revoke all on function internal.tg_conversations__pin() from public;
revoke all on function internal.tg_conversations__add_creator() from public;
revoke all on function internal.tg_conversations__check_direct_pair() from public;
revoke all on function internal.tg_conversation_participants__before_insert() from public;
revoke all on function internal.tg_conversation_participants__pin() from public;
revoke all on function internal.tg_conversation_participants__before_delete() from public;
revoke all on function internal.tg_messages__before_insert() from public;
revoke all on function internal.check_message_attachments(uuid, jsonb) from public;
revoke all on function internal.tg_messages__before_update() from public;
revoke all on function internal.tg_messages__broadcast() from public;
revoke all on function public.start_direct_conversation(uuid, uuid) from public;
revoke all on function public.mark_read(uuid) from public;
revoke all on function public.unread_counts() from public;
revoke all on function public.message_activity(uuid, date, date) from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _050_pin
before update on public.conversations
for each row execute function internal.tg_conversations__pin();

create trigger _100_set_created_by
before insert on public.conversations
for each row execute function internal.tg_set_created_by();

create trigger _100_set_updated_at
before update on public.conversations
for each row execute function internal.tg_set_updated_at();

create trigger _500_add_creator
after insert on public.conversations
for each row execute function internal.tg_conversations__add_creator();

create constraint trigger _900_check_direct_pair
after insert on public.conversations
deferrable initially deferred
for each row when (new.kind = 'direct')
execute function internal.tg_conversations__check_direct_pair();

create trigger _100_before_insert
before insert on public.conversation_participants
for each row execute function internal.tg_conversation_participants__before_insert();

create trigger _050_pin
before update on public.conversation_participants
for each row execute function internal.tg_conversation_participants__pin();

create trigger _100_before_delete
before delete on public.conversation_participants
for each row execute function internal.tg_conversation_participants__before_delete();

create trigger _100_before_insert
before insert on public.messages
for each row execute function internal.tg_messages__before_insert();

create trigger _100_before_update
before update on public.messages
for each row execute function internal.tg_messages__before_update();

create trigger _900_broadcast
after insert or update or delete on public.messages
for each row execute function internal.tg_messages__broadcast();

-- ---------------------------------------------------------------------------------------------------------
-- realtime: postgres_changes subscribers (filter conversation_id=eq.<id>) get full old rows
-- ---------------------------------------------------------------------------------------------------------

alter table public.messages replica identity full;
alter publication supabase_realtime add table public.messages;

-- ---------------------------------------------------------------------------------------------------------
-- storage buckets (policies/storage.sql decides who reads and writes their objects). Storage API enforces the
-- size limit and MIME types on upload; there is no Storage server locally, so nothing enforces them there.
-- ---------------------------------------------------------------------------------------------------------

insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values
(
  'message-attachments', 'message-attachments', false, 26214400,
  array[
    'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'text/plain', 'text/csv',
    'application/zip', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
  ]
),
(
  'user-uploads', 'user-uploads', false, 10485760,
  array['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf']
),
(
  'generated-assets', 'generated-assets', false, 52428800,
  array[
    'image/png', 'image/jpeg', 'image/webp', 'image/svg+xml', 'application/pdf', 'text/plain', 'text/markdown',
    'application/json'
  ]
)
on conflict (id) do update
  set
    public = excluded.public,
    file_size_limit = excluded.file_size_limit,
    allowed_mime_types = excluded.allowed_mime_types;

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
  ('versioned', '0009', '0009_create_messaging.sql', '7b65bf614b037a5d165aad9261503e7fb97b17dd8b471304ddfb0bc5d93e5fa3')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
