-- Exported by `supakit migrate export`: every file in policies/, which supakit re-applies whenever
-- it changes. Each is idempotent, so this snapshot is safe to run again.
-- Edit policies/, not this file.

-- ---- policies/billing.sql (sha256 0f9a32c20407c7d9bd3d7a29d17640c0c1ed3d44fde9618c18e01e00a44c2824)
-- Access control for billing (sql/0011): Stripe is the source of truth and only the service role (the webhook,
-- `supakit billing sync`) writes; members read. Repeatable and idempotent (see policies/tenancy.sql).
--   billing_customers: owners and admins read their organization's (the people who manage billing)
--   subscriptions:     members read their organization's
--   invoices:          members read their organization's
--   internal.stripe_events: the ledger; never exposed (revoked in sql/0011)
--   realtime topic `org:<id>:billing`: members receive subscription changes; nobody publishes

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.billing_customers from anon, authenticated, service_role;
grant select on table public.billing_customers to authenticated;
grant select, insert, update, delete on table public.billing_customers to service_role;

revoke all on table public.subscriptions from anon, authenticated, service_role;
grant select on table public.subscriptions to authenticated;
grant select, insert, update, delete on table public.subscriptions to service_role;

revoke all on table public.invoices from anon, authenticated, service_role;
grant select on table public.invoices to authenticated;
grant select, insert, update, delete on table public.invoices to service_role;

revoke all on function public.organization_entitlements(uuid) from public, anon, authenticated, service_role;
grant execute on function public.organization_entitlements(uuid) to authenticated, service_role;
-- its security-definer body (sql/0018), which the invoker RPC calls as the caller
revoke all on function internal.organization_entitlements(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.organization_entitlements(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.billing_customers enable row level security;
alter table public.subscriptions enable row level security;
alter table public.invoices enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "owners and admins can read their organization's billing customer" on public.billing_customers;
create policy "owners and admins can read their organization's billing customer"
on public.billing_customers for select to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin}')));

drop policy if exists "members can read their organization's subscriptions" on public.subscriptions;
create policy "members can read their organization's subscriptions"
on public.subscriptions for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's invoices" on public.invoices;
create policy "members can read their organization's invoices"
on public.invoices for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

-- Private Realtime channels `org:<id>:billing`: members of the organization may join (read); there is no insert
-- policy, so only the database publishes there (sql/0011, tg_subscriptions__broadcast).
drop policy if exists "members can receive their organization's billing updates" on realtime.messages;
create policy "members can receive their organization's billing updates"
on realtime.messages for select to authenticated
using (
  realtime.messages.extension = 'broadcast'
  and (select realtime.topic())
  in (select 'org:' || o.id::text || ':billing' from internal.current_user_org_ids() as o (id))
);

-- ---- policies/channels.sql (sha256 052cecfaf8ac15f3c2dc435ffae4ef7df7ea121e9d6a7802d3cc6630a6e0be3d)
-- Access control for SMS/WhatsApp channels and AI-suggested replies (sql/0023, docs/channels.md). Repeatable and
-- idempotent (see policies/tenancy.sql). In short:
--   channel_senders:    the organization's members read its numbers; only the service role writes them
--   channel_contacts:   the organization's staff (every role but client) read them; managers and above bind a
--                       conversation through bind_channel_contact; opt-outs are written by the inbound webhook
--   message_deliveries: whoever may read the message reads its delivery (the sender sees a failure); only SQL
--                       functions write them
--   reply_suggestions:  the organization's staff taking part in the conversation (or moderating it) read them and
--                       may dismiss one; the ai.suggest_reply job writes them
--   realtime topics:    staff of the conversation receive `conversation:<id>:staff`; nobody sends on it

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.channel_senders from anon, authenticated, service_role;
grant select on table public.channel_senders to authenticated;
grant select, insert, update, delete on table public.channel_senders to service_role;

revoke all on table public.channel_contacts from anon, authenticated, service_role;
grant select on table public.channel_contacts to authenticated;
grant select, insert, update, delete on table public.channel_contacts to service_role;

revoke all on table public.message_deliveries from anon, authenticated, service_role;
grant select on table public.message_deliveries to authenticated;
grant select, insert, update, delete on table public.message_deliveries to service_role;

revoke all on table public.reply_suggestions from anon, authenticated, service_role;
grant select on table public.reply_suggestions to authenticated;
grant update (status) on table public.reply_suggestions to authenticated;
grant select, insert, update, delete on table public.reply_suggestions to service_role;

revoke all on table internal.channel_unrouted from anon, authenticated, service_role;

revoke all on function public.bind_channel_contact(uuid, text, text, text) from public, anon, authenticated, service_role;
grant execute on function public.bind_channel_contact(uuid, text, text, text) to authenticated;
revoke all on function internal.bind_channel_contact(uuid, text, text, text) from public, anon, authenticated;
grant execute on function internal.bind_channel_contact(uuid, text, text, text) to authenticated;
revoke all on function public.request_reply_suggestion(uuid) from public, anon, authenticated, service_role;
grant execute on function public.request_reply_suggestion(uuid) to authenticated;
revoke all on function internal.request_reply_suggestion(uuid, uuid) from public, anon, authenticated;
grant execute on function internal.request_reply_suggestion(uuid, uuid) to authenticated;
revoke all on function internal.current_user_has_staff_topic(text) from public, anon, authenticated;
grant execute on function internal.current_user_has_staff_topic(text) to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.channel_senders enable row level security;
alter table public.channel_contacts enable row level security;
alter table public.message_deliveries enable row level security;
alter table public.reply_suggestions enable row level security;
alter table internal.channel_unrouted enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "members can read their organization's sender numbers" on public.channel_senders;
create policy "members can read their organization's sender numbers"
on public.channel_senders for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "staff can read their organization's contacts" on public.channel_contacts;
create policy "staff can read their organization's contacts"
on public.channel_contacts for select to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin,manager,member,assistant}')));

drop policy if exists "readers of a message can read its delivery" on public.message_deliveries;
create policy "readers of a message can read its delivery"
on public.message_deliveries for select to authenticated
using (exists (
  select 1 from public.messages as m
  where m.id = message_deliveries.message_id
));

drop policy if exists "staff in the conversation can read its suggestions" on public.reply_suggestions;
create policy "staff in the conversation can read its suggestions"
on public.reply_suggestions for select to authenticated
using (
  organization_id in (select internal.current_user_org_ids('{owner,admin}'))
  or (
    organization_id in (select internal.current_user_org_ids('{manager,member,assistant}'))
    and conversation_id in (select internal.current_user_conversation_ids())
  )
);

drop policy if exists "staff in the conversation can dismiss its suggestions" on public.reply_suggestions;
create policy "staff in the conversation can dismiss its suggestions"
on public.reply_suggestions for update to authenticated
using (
  status = 'ready' and (
    organization_id in (select internal.current_user_org_ids('{owner,admin}'))
    or (
      organization_id in (select internal.current_user_org_ids('{manager,member,assistant}'))
      and conversation_id in (select internal.current_user_conversation_ids())
    )
  )
)
with check (status = 'dismissed');

drop policy if exists "staff can receive their conversations' suggestion topics" on realtime.messages;
create policy "staff can receive their conversations' suggestion topics"
on realtime.messages for select to authenticated
using (
  realtime.messages.extension = 'broadcast'
  and realtime.messages.topic = (select realtime.topic())
  and (select internal.current_user_has_staff_topic((select realtime.topic())))
);

-- ---- policies/generations.sql (sha256 56470afaef5fbc80b78d3afd015e7911ee1126743a9f66e92a72eb9f41028043)
-- Access control for plans, generations, usage counters, the generation RPCs and the organization job topics
-- on Realtime. Repeatable and idempotent (see policies/tenancy.sql).
--   plans:          anyone may read (pricing pages)
--   generations:    members read their organization's; written only by request_generation and the queue
--   usage_counters: members read their organization's; written only by the queue's triggers

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.plans from anon, authenticated, service_role;
grant select on table public.plans to anon, authenticated;
grant select, insert, update, delete on table public.plans to service_role;

revoke all on table public.generations from anon, authenticated, service_role;
grant select on table public.generations to authenticated;
grant select, insert, update, delete on table public.generations to service_role;

revoke all on table public.usage_counters from anon, authenticated, service_role;
grant select on table public.usage_counters to authenticated;
grant select, insert, update, delete on table public.usage_counters to service_role;

revoke all on function public.request_generation(text, text, uuid) from public, anon, authenticated, service_role;
grant execute on function public.request_generation(text, text, uuid) to authenticated;
revoke all on function public.cancel_generation(uuid) from public, anon, authenticated, service_role;
grant execute on function public.cancel_generation(uuid) to authenticated;
-- their security-definer bodies (sql/0018), which the invoker RPCs call as the caller
revoke all on function internal.request_generation(text, text, uuid) from public, anon, authenticated, service_role;
grant execute on function internal.request_generation(text, text, uuid) to authenticated;
revoke all on function internal.cancel_generation(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.cancel_generation(uuid) to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.plans enable row level security;
alter table public.generations enable row level security;
alter table public.usage_counters enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "anyone can read plans" on public.plans;
create policy "anyone can read plans"
on public.plans for select to anon, authenticated
using (true);

drop policy if exists "members can read their organization's generations" on public.generations;
create policy "members can read their organization's generations"
on public.generations for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's usage" on public.usage_counters;
create policy "members can read their organization's usage"
on public.usage_counters for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

-- Private Realtime channels `org:<id>:jobs`: Realtime asks this policy, with realtime.topic() set to the channel,
-- whether a subscriber may join (read). Members of the organization may; nobody may broadcast on it (no insert
-- policy): the database alone publishes job status there.
drop policy if exists "members can receive their organization's job updates" on realtime.messages;
create policy "members can receive their organization's job updates"
on realtime.messages for select to authenticated
using (
  realtime.messages.extension = 'broadcast'
  and (select realtime.topic()) in (select 'org:' || o.id::text || ':jobs' from internal.current_user_org_ids() as o (id))
);

-- ---- policies/messaging.sql (sha256 acd9081ed0c49caf811e382a1bd9546a37782a3c9889260522f28f7ae71cab2a)
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

-- ---- policies/profiles.sql (sha256 31359831d5b022ac925192ffdae10cf0760efb917c8de4bb919a6acc1bfecd22)
-- Access control for public.profiles. Repeatable: re-applied whenever this file changes, so every statement
-- must be idempotent (revoke before grant; drop policy if exists before create).
-- Users read their own profile and the profiles of people who share an organization with them.

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.profiles from anon, authenticated, service_role;
grant select on table public.profiles to authenticated;
-- users may change only these columns; id and timestamps are not theirs to set
grant update (full_name, avatar_url) on table public.profiles to authenticated;
grant select, insert, update, delete on table public.profiles to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.profiles enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "users can read their own profile" on public.profiles;
drop policy if exists "users can read their own and their co-members' profiles" on public.profiles;
create policy "users can read their own and their co-members' profiles"
on public.profiles for select to authenticated
using (id = (select auth.uid()) or id in (select internal.current_user_co_member_ids()));

drop policy if exists "users can update their own profile" on public.profiles;
create policy "users can update their own profile"
on public.profiles for update to authenticated
using (id = (select auth.uid()))
with check (id = (select auth.uid()));

-- ---- policies/provisioning.sql (sha256 12c312275a53268fa47e1ca7787bb2f50445e8efc63418541712b20795de50d0)
-- Access control for provisioning (sql/0012) and its Realtime topics. Repeatable and idempotent.
--   provisioning_runs, provisioning_steps, customer_infrastructure: members read their organization's rows;
--     only the service role (and the worker, as the database owner) writes
--   provisioning_logs: members read; the service role reads and appends (append-only: no update or delete)
--   instance_health_checks, infrastructure_usage (sql/0033): members read; only the service role (and the
--     worker, through internal.record_health_check / record_usage) writes
--   provisioning_status(org_id): the RPC members call; security invoker around internal.provisioning_status
--     (security definer since sql/0033: it checks membership itself)

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.provisioning_runs from anon, authenticated, service_role;
grant select on table public.provisioning_runs to authenticated;
grant select, insert, update, delete on table public.provisioning_runs to service_role;

revoke all on table public.provisioning_steps from anon, authenticated, service_role;
grant select on table public.provisioning_steps to authenticated;
grant select, insert, update, delete on table public.provisioning_steps to service_role;

revoke all on table public.provisioning_logs from anon, authenticated, service_role;
grant select on table public.provisioning_logs to authenticated;
grant select, insert on table public.provisioning_logs to service_role;

revoke all on table public.customer_infrastructure from anon, authenticated, service_role;
grant select on table public.customer_infrastructure to authenticated;
grant select, insert, update, delete on table public.customer_infrastructure to service_role;

revoke all on table public.instance_health_checks from anon, authenticated, service_role;
grant select on table public.instance_health_checks to authenticated;
grant select, insert, update, delete on table public.instance_health_checks to service_role;

revoke all on table public.infrastructure_usage from anon, authenticated, service_role;
grant select on table public.infrastructure_usage to authenticated;
grant select, insert, update, delete on table public.infrastructure_usage to service_role;

revoke all on function public.provisioning_status(uuid) from public, anon, authenticated, service_role;
grant execute on function public.provisioning_status(uuid) to authenticated, service_role;
revoke all on function internal.provisioning_status(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.provisioning_status(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.provisioning_runs enable row level security;
alter table public.provisioning_steps enable row level security;
alter table public.provisioning_logs enable row level security;
alter table public.customer_infrastructure enable row level security;
alter table public.instance_health_checks enable row level security;
alter table public.infrastructure_usage enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "members can read their organization's provisioning runs" on public.provisioning_runs;
create policy "members can read their organization's provisioning runs"
on public.provisioning_runs for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's provisioning steps" on public.provisioning_steps;
create policy "members can read their organization's provisioning steps"
on public.provisioning_steps for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's provisioning logs" on public.provisioning_logs;
create policy "members can read their organization's provisioning logs"
on public.provisioning_logs for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's infrastructure" on public.customer_infrastructure;
create policy "members can read their organization's infrastructure"
on public.customer_infrastructure for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's health checks" on public.instance_health_checks;
create policy "members can read their organization's health checks"
on public.instance_health_checks for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "members can read their organization's usage" on public.infrastructure_usage;
create policy "members can read their organization's usage"
on public.infrastructure_usage for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

-- Private Realtime channels `org:<id>:provisioning`: members of the organization may join (read); there is no
-- insert policy, so only the database publishes there (sql/0012, tg_provisioning__broadcast). Permissive policies
-- are OR-ed, so this one sits beside the `org:<id>:jobs` one of policies/generations.sql without touching it.
drop policy if exists "members can receive their organization's provisioning updates" on realtime.messages;
create policy "members can receive their organization's provisioning updates"
on realtime.messages for select to authenticated
using (
  realtime.messages.extension = 'broadcast'
  and (select realtime.topic())
  in (select 'org:' || o.id::text || ':provisioning' from internal.current_user_org_ids() as o (id))
);

-- ---------------------------------------------------------------------------------------------------------
-- backups and restores (sql/0031)
--   backups: owners and admins read their organization's backups; only the service role (and the worker) writes
--   request_restore(backup_id): the RPC owners call (security invoker; the body, internal.request_restore, checks
--     the caller owns the backup's organization)
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.backups from anon, authenticated, service_role;
grant select on table public.backups to authenticated;
grant select, insert, update, delete on table public.backups to service_role;

revoke all on function public.request_restore(uuid) from public, anon, authenticated, service_role;
grant execute on function public.request_restore(uuid) to authenticated;
revoke all on function internal.request_restore(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.request_restore(uuid) to authenticated;

alter table public.backups enable row level security;

drop policy if exists "owners and admins can read their organization's backups" on public.backups;
create policy "owners and admins can read their organization's backups"
on public.backups for select to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin}')));

-- ---- policies/storage.sql (sha256 903bdf236493758ce317edd0efb00caee57f1b00ecbf876fca11f914cc0a94d2)
-- Access control for the storage buckets created in sql/0009 (policies on storage.objects, one per bucket and
-- command). Repeatable and idempotent. The same SQL applies unchanged on hosted Supabase: it uses only
-- storage.foldername() and the columns storage-api fills (bucket_id, name, owner_id = the uploader's JWT sub).
-- Object paths put the owning entity first, so (storage.foldername(name))[1] is what each bucket checks:
--   message-attachments  <conversation id>/<file>  participants read and upload; uploaders change or remove theirs
--   user-uploads         <user id>/<file>          the user alone, for everything
--   generated-assets     <organization id>/<file>  members read; only the service role (bypassing RLS) writes
-- storage-api answers a denied upload with 403 and hides unreadable objects (404), as PostgREST does for tables.
-- Upserts (x-upsert) need the insert, select and update policies together; message-attachments and user-uploads
-- have all three for the uploader.

-- ---------------------------------------------------------------------------------------------------------
-- policies: message-attachments
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "participants can read their conversations' attachments" on storage.objects;
create policy "participants can read their conversations' attachments"
on storage.objects for select to authenticated
using (
  bucket_id = 'message-attachments'
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
);

drop policy if exists "participants can upload attachments to their conversations" on storage.objects;
create policy "participants can upload attachments to their conversations"
on storage.objects for insert to authenticated
with check (
  bucket_id = 'message-attachments'
  and owner_id = (select auth.uid())::text
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
);

drop policy if exists "uploaders can replace their attachments" on storage.objects;
create policy "uploaders can replace their attachments"
on storage.objects for update to authenticated
using (
  bucket_id = 'message-attachments'
  and owner_id = (select auth.uid())::text
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
)
with check (
  bucket_id = 'message-attachments'
  and owner_id = (select auth.uid())::text
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
);

drop policy if exists "uploaders can remove their attachments" on storage.objects;
create policy "uploaders can remove their attachments"
on storage.objects for delete to authenticated
using (
  bucket_id = 'message-attachments'
  and owner_id = (select auth.uid())::text
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
);

-- ---------------------------------------------------------------------------------------------------------
-- policies: user-uploads
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "users can read their own uploads" on storage.objects;
create policy "users can read their own uploads"
on storage.objects for select to authenticated
using (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);

drop policy if exists "users can upload to their own folder" on storage.objects;
create policy "users can upload to their own folder"
on storage.objects for insert to authenticated
with check (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);

drop policy if exists "users can replace their own uploads" on storage.objects;
create policy "users can replace their own uploads"
on storage.objects for update to authenticated
using (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text)
with check (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);

drop policy if exists "users can remove their own uploads" on storage.objects;
create policy "users can remove their own uploads"
on storage.objects for delete to authenticated
using (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);

-- ---------------------------------------------------------------------------------------------------------
-- policies: generated-assets (no insert, update or delete policy: the worker writes as the service role)
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "members can read their organization's generated assets" on storage.objects;
create policy "members can read their organization's generated assets"
on storage.objects for select to authenticated
using (
  bucket_id = 'generated-assets'
  and (storage.foldername(name))[1] in (select o.id::text from internal.current_user_org_ids() as o (id))
);

-- ---- policies/tenancy.sql (sha256 2024a970c0f6fb1e38f2ba81e1714fd9b46ce8f971307c91711c3f08d219d31a)
-- Access control for organizations, memberships, invitations and the tenancy RPCs. Repeatable: re-applied
-- whenever this file changes, so every statement is idempotent (revoke before grant; drop policy if exists).
-- Writes to memberships and invitations go through the RPCs (sql/0003), which check the caller's role; the
-- membership triggers (sql/0002) enforce the role rules for every writer.

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

-- Policies run as the querying role, so it needs the access helpers (not the tables behind them).
grant usage on schema internal to authenticated;
-- service_role reaches the bodies of the RPCs granted to it (organization_entitlements)
grant usage on schema internal to service_role;
revoke all on function internal.current_user_org_ids(public.org_role[]) from public, anon, authenticated;
grant execute on function internal.current_user_org_ids(public.org_role[]) to authenticated;
revoke all on function internal.has_org_role(uuid, public.org_role[]) from public, anon, authenticated;
grant execute on function internal.has_org_role(uuid, public.org_role[]) to authenticated;
revoke all on function internal.current_user_co_member_ids() from public, anon, authenticated;
grant execute on function internal.current_user_co_member_ids() to authenticated;

revoke all on table public.organizations from anon, authenticated, service_role;
grant select, delete on table public.organizations to authenticated;
grant update (name, slug) on table public.organizations to authenticated;
grant select, insert, update, delete on table public.organizations to service_role;

revoke all on table public.memberships from anon, authenticated, service_role;
grant select on table public.memberships to authenticated;
grant select, insert, update, delete on table public.memberships to service_role;

revoke all on table public.invitations from anon, authenticated, service_role;
-- never token_hash: the token is a secret even hashed
grant select (
  id, organization_id, email, role, invited_by, expires_at, accepted_at, accepted_by, revoked_at, created_at
) on table public.invitations to authenticated;
grant select, insert, update, delete on table public.invitations to service_role;

revoke all on function public.create_organization(text, text) from public, anon, authenticated, service_role;
grant execute on function public.create_organization(text, text) to authenticated;
revoke all on function public.current_user_organizations() from public, anon, authenticated, service_role;
grant execute on function public.current_user_organizations() to authenticated;
revoke all on function public.change_member_role(uuid, uuid, public.org_role)
from public, anon, authenticated, service_role;
grant execute on function public.change_member_role(uuid, uuid, public.org_role) to authenticated;
revoke all on function public.remove_member(uuid, uuid) from public, anon, authenticated, service_role;
grant execute on function public.remove_member(uuid, uuid) to authenticated;
revoke all on function public.leave_organization(uuid) from public, anon, authenticated, service_role;
grant execute on function public.leave_organization(uuid) to authenticated;
revoke all on function public.invite_member(uuid, text, public.org_role)
from public, anon, authenticated, service_role;
grant execute on function public.invite_member(uuid, text, public.org_role) to authenticated;
revoke all on function public.accept_invitation(text) from public, anon, authenticated, service_role;
grant execute on function public.accept_invitation(text) to authenticated;
revoke all on function public.revoke_invitation(uuid) from public, anon, authenticated, service_role;
grant execute on function public.revoke_invitation(uuid) to authenticated;
revoke all on function public.organization_audit_log(uuid, integer, bigint)
from public, anon, authenticated, service_role;
grant execute on function public.organization_audit_log(uuid, integer, bigint) to authenticated;
-- The RPCs above are security invoker; each calls its security-definer body in internal (sql/0018), as the caller.
revoke all on function internal.create_organization(text, text) from public, anon, authenticated, service_role;
grant execute on function internal.create_organization(text, text) to authenticated;
revoke all on function internal.change_member_role(uuid, uuid, public.org_role)
from public, anon, authenticated, service_role;
grant execute on function internal.change_member_role(uuid, uuid, public.org_role) to authenticated;
revoke all on function internal.remove_member(uuid, uuid) from public, anon, authenticated, service_role;
grant execute on function internal.remove_member(uuid, uuid) to authenticated;
revoke all on function internal.leave_organization(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.leave_organization(uuid) to authenticated;
revoke all on function internal.invite_member(uuid, text, public.org_role)
from public, anon, authenticated, service_role;
grant execute on function internal.invite_member(uuid, text, public.org_role) to authenticated;
revoke all on function internal.accept_invitation(text) from public, anon, authenticated, service_role;
grant execute on function internal.accept_invitation(text) to authenticated;
revoke all on function internal.revoke_invitation(uuid) from public, anon, authenticated, service_role;
grant execute on function internal.revoke_invitation(uuid) to authenticated;
revoke all on function internal.organization_audit_log(uuid, integer, bigint)
from public, anon, authenticated, service_role;
grant execute on function internal.organization_audit_log(uuid, integer, bigint) to authenticated;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.organizations enable row level security;
alter table public.memberships enable row level security;
alter table public.invitations enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "members can read their organizations" on public.organizations;
create policy "members can read their organizations"
on public.organizations for select to authenticated
using (id in (select internal.current_user_org_ids()));

drop policy if exists "owners and admins can rename their organizations" on public.organizations;
create policy "owners and admins can rename their organizations"
on public.organizations for update to authenticated
using (id in (select internal.current_user_org_ids('{owner,admin}')))
with check (id in (select internal.current_user_org_ids('{owner,admin}')));

drop policy if exists "owners can delete their organizations" on public.organizations;
create policy "owners can delete their organizations"
on public.organizations for delete to authenticated
using (id in (select internal.current_user_org_ids('{owner}')));

drop policy if exists "members can read the memberships of their organizations" on public.memberships;
create policy "members can read the memberships of their organizations"
on public.memberships for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "owners and admins can read their organizations' invitations" on public.invitations;
create policy "owners and admins can read their organizations' invitations"
on public.invitations for select to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin}')));

-- ---- policies/work.sql (sha256 fe7149042e05df6645188355ba05911f4d89fbbcac15fc51d555dc7cd2e9fa86)
-- Access control for projects and tasks. Repeatable and idempotent (see policies/tenancy.sql).
--   projects: every member reads; managers, admins and owners create, edit and delete.
--   tasks:    owners, admins, managers and clients read all of the organization's tasks; members and
--             assistants read and update the tasks assigned to them (the status only, by trigger);
--             managers and above create, edit and delete; clients never write.

-- ---------------------------------------------------------------------------------------------------------
-- grants
-- ---------------------------------------------------------------------------------------------------------

revoke all on table public.projects from anon, authenticated, service_role;
grant select, insert, delete on table public.projects to authenticated;
-- never created_by, created_at or the organization: they are facts, not edits
grant update (name, description, archived_at) on table public.projects to authenticated;
grant select, insert, update, delete on table public.projects to service_role;

revoke all on table public.tasks from anon, authenticated, service_role;
grant select, insert, delete on table public.tasks to authenticated;
grant update (project_id, title, description, status, assignee_id, due_on) on table public.tasks to authenticated;
grant select, insert, update, delete on table public.tasks to service_role;

-- ---------------------------------------------------------------------------------------------------------
-- row level security
-- ---------------------------------------------------------------------------------------------------------

alter table public.projects enable row level security;
alter table public.tasks enable row level security;

-- ---------------------------------------------------------------------------------------------------------
-- policies
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "members can read their organization's projects" on public.projects;
create policy "members can read their organization's projects"
on public.projects for select to authenticated
using (organization_id in (select internal.current_user_org_ids()));

drop policy if exists "managers and above can create projects" on public.projects;
create policy "managers and above can create projects"
on public.projects for insert to authenticated
with check (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

drop policy if exists "managers and above can edit projects" on public.projects;
create policy "managers and above can edit projects"
on public.projects for update to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')))
with check (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

drop policy if exists "managers and above can delete projects" on public.projects;
create policy "managers and above can delete projects"
on public.projects for delete to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

drop policy if exists "members can read the tasks they may see" on public.tasks;
create policy "members can read the tasks they may see"
on public.tasks for select to authenticated
using (
  organization_id in (select internal.current_user_org_ids('{owner,admin,manager,client}'))
  or (
    assignee_id = (select auth.uid())
    and organization_id in (select internal.current_user_org_ids('{member,assistant}'))
  )
);

drop policy if exists "managers and above can create tasks" on public.tasks;
create policy "managers and above can create tasks"
on public.tasks for insert to authenticated
with check (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

drop policy if exists "managers and above edit tasks, assignees update theirs" on public.tasks;
create policy "managers and above edit tasks, assignees update theirs"
on public.tasks for update to authenticated
using (
  organization_id in (select internal.current_user_org_ids('{owner,admin,manager}'))
  or (
    assignee_id = (select auth.uid())
    and organization_id in (select internal.current_user_org_ids('{member,assistant}'))
  )
)
with check (
  organization_id in (select internal.current_user_org_ids('{owner,admin,manager}'))
  or (
    assignee_id = (select auth.uid())
    and organization_id in (select internal.current_user_org_ids('{member,assistant}'))
  )
);

drop policy if exists "managers and above can delete tasks" on public.tasks;
create policy "managers and above can delete tasks"
on public.tasks for delete to authenticated
using (organization_id in (select internal.current_user_org_ids('{owner,admin,manager}')));

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
  ('repeatable', 'billing', 'billing.sql', '0f9a32c20407c7d9bd3d7a29d17640c0c1ed3d44fde9618c18e01e00a44c2824'),
  ('repeatable', 'channels', 'channels.sql', '052cecfaf8ac15f3c2dc435ffae4ef7df7ea121e9d6a7802d3cc6630a6e0be3d'),
  ('repeatable', 'generations', 'generations.sql', '56470afaef5fbc80b78d3afd015e7911ee1126743a9f66e92a72eb9f41028043'),
  ('repeatable', 'messaging', 'messaging.sql', 'acd9081ed0c49caf811e382a1bd9546a37782a3c9889260522f28f7ae71cab2a'),
  ('repeatable', 'profiles', 'profiles.sql', '31359831d5b022ac925192ffdae10cf0760efb917c8de4bb919a6acc1bfecd22'),
  ('repeatable', 'provisioning', 'provisioning.sql', '12c312275a53268fa47e1ca7787bb2f50445e8efc63418541712b20795de50d0'),
  ('repeatable', 'storage', 'storage.sql', '903bdf236493758ce317edd0efb00caee57f1b00ecbf876fca11f914cc0a94d2'),
  ('repeatable', 'tenancy', 'tenancy.sql', '2024a970c0f6fb1e38f2ba81e1714fd9b46ce8f971307c91711c3f08d219d31a'),
  ('repeatable', 'work', 'work.sql', 'fe7149042e05df6645188355ba05911f4d89fbbcac15fc51d555dc7cd2e9fa86')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
