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
