-- Access control for conversations, participants, messages, the messaging RPCs and the private Realtime topics
-- `conversation:<id>`. Repeatable and idempotent (see policies/tenancy.sql). In short (docs/messaging.md):
--   conversations:   participants, their creator and the organization's owners/admins read; members create group and support
--                    conversations (direct ones only through start_direct_conversation); the conversation's owner
--                    and organization owners/admins rename; organization owners/admins delete
--   participants:    participants see each other; the conversation's owner and organization owners/admins add and
--                    remove; everyone updates their own read state and mute, and may leave (not a direct one)
--   messages:        participants read and post; senders edit (within the window) and delete their own;
--                    organization owners/admins read and delete any (moderation); nobody hard-deletes but the
--                    service role
--   realtime topics: participants read and write broadcast and presence on `conversation:<id>`; nobody else

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on function internal.current_user_conversation_ids(text[]) from public, anon, authenticated;
grant execute on function internal.current_user_conversation_ids(text[]) to authenticated;
revoke all on function internal.current_user_has_conversation_topic(text) from public, anon, authenticated;
grant execute on function internal.current_user_has_conversation_topic(text) to authenticated;

revoke all on table public.conversations from anon, authenticated, service_role;
grant select, delete on table public.conversations to authenticated;
grant insert (organization_id, kind, title) on table public.conversations to authenticated;
grant update (title) on table public.conversations to authenticated;
grant select, insert, update, delete on table public.conversations to service_role;

revoke all on table public.conversation_participants from anon, authenticated, service_role;
grant select, delete on table public.conversation_participants to authenticated;
grant insert (conversation_id, user_id) on table public.conversation_participants to authenticated;
grant update (last_read_at, muted) on table public.conversation_participants to authenticated;
grant select, insert, update, delete on table public.conversation_participants to service_role;

revoke all on table public.messages from anon, authenticated, service_role;
grant select on table public.messages to authenticated;
grant insert (id, conversation_id, body, attachments, reply_to) on table public.messages to authenticated;
grant update (body, attachments, deleted_at) on table public.messages to authenticated;
grant select, insert, update, delete on table public.messages to service_role;

revoke all on function public.start_direct_conversation(uuid, uuid) from public, anon, authenticated, service_role;
grant execute on function public.start_direct_conversation(uuid, uuid) to authenticated;
revoke all on function public.mark_read(uuid) from public, anon, authenticated, service_role;
grant execute on function public.mark_read(uuid) to authenticated;
revoke all on function public.unread_counts() from public, anon, authenticated, service_role;
grant execute on function public.unread_counts() to authenticated;
revoke all on function public.message_activity(uuid, date, date) from public, anon, authenticated, service_role;
grant execute on function public.message_activity(uuid, date, date) to authenticated;
-- the security-definer bodies of start_direct_conversation and unread_counts (sql/0018), called as the caller
revoke all on function internal.start_direct_conversation(uuid, uuid) from public, anon, authenticated, service_role;
grant execute on function internal.start_direct_conversation(uuid, uuid) to authenticated;
revoke all on function internal.unread_counts() from public, anon, authenticated, service_role;
grant execute on function internal.unread_counts() to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.conversations enable row level security;
alter table public.conversation_participants enable row level security;
alter table public.messages enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies: conversations
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "participants and moderators can read conversations" on public.conversations;
create policy "participants and moderators can read conversations"
on public.conversations for select to authenticated
using (
  id in (select internal.current_user_conversation_ids())
  or organization_id in (select internal.current_user_org_ids('{owner,admin}'))
  -- the creator, so that insert ... returning (supabase-js .insert().select()) sees the row before the trigger
  -- has made them a participant
  or (created_by = (select auth.uid()) and organization_id in (select internal.current_user_org_ids()))
);

drop policy if exists "members can start group and support conversations" on public.conversations;
create policy "members can start group and support conversations"
on public.conversations for insert to authenticated
with check (kind <> 'direct' and organization_id in (select internal.current_user_org_ids()));

drop policy if exists "conversation owners and moderators can rename conversations" on public.conversations;
create policy "conversation owners and moderators can rename conversations"
on public.conversations for update to authenticated
using (
  id in (select internal.current_user_conversation_ids('{owner}'))
  or organization_id in (select internal.current_user_org_ids('{owner,admin}'))
)
with check (
  id in (select internal.current_user_conversation_ids('{owner}'))
  or organization_id in (select internal.current_user_org_ids('{owner,admin}'))
);

drop policy if exists "moderators can delete conversations" on public.conversations;
create policy "moderators can delete conversations"
on public.conversations for delete to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin}')));

-- ---------------------------------------------------------------------------------------------------------
-- policies: conversation_participants
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "participants and moderators can read participants" on public.conversation_participants;
create policy "participants and moderators can read participants"
on public.conversation_participants for select to authenticated
using (
  conversation_id in (select internal.current_user_conversation_ids())
  or organization_id in (select internal.current_user_org_ids('{owner,admin}'))
);

drop policy if exists "conversation owners and moderators can add participants" on public.conversation_participants;
create policy "conversation owners and moderators can add participants"
on public.conversation_participants for insert to authenticated
with check (
  conversation_id in (select internal.current_user_conversation_ids('{owner}'))
  or organization_id in (select internal.current_user_org_ids('{owner,admin}'))
);

drop policy if exists "participants can update their own read state" on public.conversation_participants;
create policy "participants can update their own read state"
on public.conversation_participants for update to authenticated
using (user_id = (select auth.uid()) and conversation_id in (select internal.current_user_conversation_ids()))
with check (user_id = (select auth.uid()) and conversation_id in (select internal.current_user_conversation_ids()));

drop policy if exists "participants can leave and owners and moderators can remove" on public.conversation_participants;
create policy "participants can leave and owners and moderators can remove"
on public.conversation_participants for delete to authenticated
using (
  user_id = (select auth.uid())
  or conversation_id in (select internal.current_user_conversation_ids('{owner}'))
  or organization_id in (select internal.current_user_org_ids('{owner,admin}'))
);

-- ---------------------------------------------------------------------------------------------------------
-- policies: messages
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "participants and moderators can read messages" on public.messages;
create policy "participants and moderators can read messages"
on public.messages for select to authenticated
using (
  conversation_id in (select internal.current_user_conversation_ids())
  or organization_id in (select internal.current_user_org_ids('{owner,admin}'))
);

drop policy if exists "participants can post messages" on public.messages;
create policy "participants can post messages"
on public.messages for insert to authenticated
with check (
  sender_id = (select auth.uid()) and conversation_id in (select internal.current_user_conversation_ids())
);

-- What may change is decided by internal.tg_messages__before_update (edit window, who deletes).
drop policy if exists "senders and moderators can change messages" on public.messages;
create policy "senders and moderators can change messages"
on public.messages for update to authenticated
using (
  (sender_id = (select auth.uid()) and conversation_id in (select internal.current_user_conversation_ids()))
  or organization_id in (select internal.current_user_org_ids('{owner,admin}'))
)
with check (
  (sender_id = (select auth.uid()) and conversation_id in (select internal.current_user_conversation_ids()))
  or organization_id in (select internal.current_user_org_ids('{owner,admin}'))
);

-- ---------------------------------------------------------------------------------------------------------
-- policies: private Realtime topics `conversation:<id>`
-- ---------------------------------------------------------------------------------------------------------

-- Realtime authorises a private channel by probing realtime.messages under the user's role and claims with
-- realtime.topic() set to the channel's topic: read = the probe row is visible, write = an insert passes.
-- These policies coexist with the `org:<id>:jobs` select policy of policies/generations.sql: permissive policies
-- are OR-ed, and each grants only its own topics (this one: the topic must name a conversation the user takes
-- part in, and the row must belong to that topic), so neither widens the other. Only these topics are writable.
drop policy if exists "participants can receive on their conversation topics" on realtime.messages;
create policy "participants can receive on their conversation topics"
on realtime.messages for select to authenticated
using (
  realtime.messages.extension in ('broadcast', 'presence')
  and realtime.messages.topic = (select realtime.topic())
  and (select internal.current_user_has_conversation_topic((select realtime.topic())))
);

drop policy if exists "participants can send on their conversation topics" on realtime.messages;
create policy "participants can send on their conversation topics"
on realtime.messages for insert to authenticated
with check (
  realtime.messages.extension in ('broadcast', 'presence')
  and realtime.messages.topic = (select realtime.topic())
  and (select internal.current_user_has_conversation_topic((select realtime.topic())))
);
