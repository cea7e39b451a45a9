-- 0023_create_channels: SMS and WhatsApp conversations through Twilio, and AI-suggested replies
-- (docs/channels.md). The rules live here; Python only talks to Twilio and Anthropic:
--   * an organization owns sender numbers (channel_senders); a conversation is bound to one external contact
--     (channel_contacts: a phone or WhatsApp number);
--   * a message a member posts in a bound conversation is queued for delivery in the same transaction
--     (message_deliveries + a `channel.send` job, one per message id): at-least-once, never twice for one message;
--     the plan decides whether channels may be used and how many messages a month (channel_allowance, from
--     internal.organization_plan); an opted-out contact gets nothing;
--   * Twilio's status callbacks move a delivery forward only (queued -> sending -> sent -> delivered -> read,
--     or a terminal undelivered / failed); late or repeated callbacks change nothing; a delivery that finally
--     fails is visible to the sender (its row, and a broadcast on the conversation's topic);
--   * an inbound message is stored once per Twilio MessageSid, routed to its contact's conversation (created on
--     first contact, with the organization's owners, admins and managers as participants); STOP / START keywords
--     opt the contact out / in;
--   * AI-suggested replies (plans with `ai_replies`): requested for a message by staff, or automatically for an
--     inbound one, quota-counted with generations, visible only to the organization's staff, broadcast on the
--     conversation's staff topic `conversation:<id>:staff`; a suggestion is never sent: a member posts it.
-- Grants, row level security and policies: policies/channels.sql.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

alter table public.plans
add column channel_messages_monthly_limit integer,
add constraint channel_messages_monthly_limit_is_not_negative check (
  channel_messages_monthly_limit is null or channel_messages_monthly_limit >= 0
);
comment on column public.plans.channel_messages_monthly_limit is
'outbound SMS/WhatsApp messages an organization may send per UTC month, when the plan has the `channels` feature; '
'null: unlimited';

update public.plans set
  features = features || '["channels"]', channel_messages_monthly_limit = 1000
where id = 'pro' and not features ? 'channels';
update public.plans set
  features = features || '["channels", "ai_replies"]'
where id = 'team' and not features ? 'channels';

create table public.channel_senders (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  channel text not null,
  address text not null,
  created_at timestamptz not null default now(),
  constraint channel_senders_pkey primary key (id),
  constraint channel_senders_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint channel_senders_channel_address_key unique (channel, address),
  constraint channel_is_known check (channel in ('sms', 'whatsapp')),
  constraint address_is_e164 check (address ~ '^\+[1-9][0-9]{6,14}$')
);
comment on table public.channel_senders is
'the Twilio numbers an organization sends from and receives on (one organization per number and channel); '
'written by operators with the service role';

create table public.channel_contacts (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  channel text not null,
  address text not null,
  display_name text,
  conversation_id uuid,
  opted_out_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint channel_contacts_pkey primary key (id),
  constraint channel_contacts_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint channel_contacts_conversation_id_fkey foreign key (conversation_id)
  references public.conversations (id) on delete set null,
  constraint channel_contacts_organization_id_channel_address_key unique (organization_id, channel, address),
  constraint channel_contacts_conversation_id_key unique (conversation_id),
  constraint channel_is_known check (channel in ('sms', 'whatsapp')),
  constraint address_is_e164 check (address ~ '^\+[1-9][0-9]{6,14}$'),
  constraint display_name_is_short check (display_name is null or char_length(display_name) <= 200)
);
comment on table public.channel_contacts is
'an external person reached by SMS or WhatsApp, bound to at most one conversation of the organization';
comment on column public.channel_contacts.opted_out_at is
'set when the contact texts STOP (or another opt-out keyword), cleared by START: nothing is sent while set';

create table public.message_deliveries (
  message_id uuid not null,
  organization_id uuid not null,
  conversation_id uuid not null,
  contact_id uuid,
  channel text not null,
  direction text not null,
  status text not null,
  twilio_sid text,
  error_code text,
  error_message text,
  media jsonb not null default '[]',
  status_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  constraint message_deliveries_pkey primary key (message_id),
  constraint message_deliveries_message_id_fkey foreign key (message_id)
  references public.messages (id) on delete cascade,
  constraint message_deliveries_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint message_deliveries_contact_id_fkey foreign key (contact_id)
  references public.channel_contacts (id) on delete set null,
  constraint message_deliveries_twilio_sid_key unique (twilio_sid),
  constraint channel_is_known check (channel in ('sms', 'whatsapp')),
  constraint direction_is_known check (direction in ('inbound', 'outbound')),
  constraint status_is_known check (
    status in (
      'queued',  -- outbound: posted, the channel.send job will hand it to Twilio
      'sending',  -- queued -> sending: Twilio accepted it (or reports it is being sent)
      'sent',  -- -> sent: the carrier took it
      'delivered',  -- -> delivered: the handset (or WhatsApp) confirmed it
      'read',  -- delivered -> read: WhatsApp read receipt
      'undelivered',  -- -> undelivered: the carrier could not deliver it (terminal)
      'failed',  -- -> failed: Twilio refused it or every attempt failed (terminal)
      'received'  -- inbound: stored from Twilio's webhook
    )
  ),
  constraint inbound_is_received check ((direction = 'inbound') = (status = 'received')),
  constraint media_is_an_array check (jsonb_typeof(media) = 'array')
);
comment on table public.message_deliveries is
'the SMS/WhatsApp side of a message: direction, Twilio MessageSid, delivery status (forward only), errors, media';
comment on column public.message_deliveries.media is
'inbound media as Twilio sent it: [{"url": MediaUrlN, "content_type": MediaContentTypeN}]';

-- Inbound messages to a number no organization owns: kept for operators, answered 200 so Twilio stops retrying.
create table internal.channel_unrouted (
  twilio_sid text not null,
  channel text not null,
  to_address text not null,
  from_address text not null,
  body text not null default '',
  received_at timestamptz not null default now(),
  constraint channel_unrouted_pkey primary key (twilio_sid)
);
comment on table internal.channel_unrouted is 'inbound messages to a number in no channel_senders row';

create table public.reply_suggestions (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  conversation_id uuid not null,
  message_id uuid not null,
  requested_by uuid,
  status text not null default 'queued',
  body text,
  model text,
  input_tokens integer,
  output_tokens integer,
  error_message text,
  job_id bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint reply_suggestions_pkey primary key (id),
  constraint reply_suggestions_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint reply_suggestions_conversation_id_fkey foreign key (conversation_id)
  references public.conversations (id) on delete cascade,
  constraint reply_suggestions_message_id_fkey foreign key (message_id)
  references public.messages (id) on delete cascade,
  constraint reply_suggestions_requested_by_fkey foreign key (requested_by)
  references auth.users (id) on delete set null,
  constraint status_is_known check (
    status in (
      'queued',  -- requested; the ai.suggest_reply job will write it
      'ready',  -- queued -> ready: the body is the suggestion
      'failed',  -- queued -> failed: every attempt failed (error_message says why)
      'dismissed'  -- ready -> dismissed: a member set it aside
    )
  ),
  constraint ready_has_body check (status not in ('ready', 'dismissed') or body is not null)
);
comment on table public.reply_suggestions is
'an AI-suggested reply to a message, for the organization''s staff only; never sent by itself';

-- ---------------------------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------------------------

create index channel_senders_organization_id_idx on public.channel_senders (organization_id);
create index message_deliveries_outbound_month_idx on public.message_deliveries (organization_id, created_at)
where direction = 'outbound';
create index message_deliveries_organization_id_idx on public.message_deliveries (organization_id);
create index message_deliveries_conversation_id_idx on public.message_deliveries (conversation_id);
create index message_deliveries_contact_id_idx on public.message_deliveries (contact_id);
create index reply_suggestions_organization_id_created_at_idx on public.reply_suggestions (organization_id, created_at);
create index reply_suggestions_conversation_id_idx on public.reply_suggestions (conversation_id);
create index reply_suggestions_message_id_idx on public.reply_suggestions (message_id);
create index reply_suggestions_requested_by_idx on public.reply_suggestions (requested_by);

-- ---------------------------------------------------------------------------------------------------------
-- functions: rules
-- ---------------------------------------------------------------------------------------------------------

-- What the organization's plan allows on the channels now (from internal.organization_plan, the one place that
-- decides the plan): whether channels and AI replies are included, the monthly limit and what was sent this month.
create function internal.channel_allowance(org_id uuid)
returns table (
  plan_id text, plan_name text, channels boolean, ai_replies boolean, monthly_limit integer, sent_this_month integer
)
language sql
stable
security definer
set search_path = ''
as $$
  select p.id, p.name, p.features ? 'channels', p.features ? 'ai_replies', p.channel_messages_monthly_limit,
    (
      select count(*)::integer from public.message_deliveries as d
      where d.organization_id = channel_allowance.org_id and d.direction = 'outbound'
        and d.created_at >= date_trunc('month', now(), 'UTC')
    )
  from internal.organization_plan(channel_allowance.org_id) as o
  inner join public.plans as p on p.id = o.plan_id
$$;

-- Where a delivery status stands: callbacks only move it forward (a late `sent` after `delivered` is ignored),
-- and the first terminal status wins.
create function internal.channel_status_rank(status text)
returns integer
language sql
immutable
set search_path = ''
as $$
  select case status
    when 'queued' then 0 when 'sending' then 1 when 'sent' then 2 when 'delivered' then 3 when 'read' then 4
    when 'undelivered' then 5 when 'failed' then 5 else -1
  end
$$;

-- Whether a delivery at `current` may move to `next`: forward only; a delivered message can only be read next, and
-- undelivered / failed / read are final (so a late `failed` cannot undo a `delivered`, nor the reverse).
create function internal.channel_status_follows(current text, next text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select case
    when current in ('undelivered', 'failed', 'read', 'received') then false
    when current = 'delivered' then next = 'read'
    else internal.channel_status_rank(next) > internal.channel_status_rank(current)
  end
$$;

-- Twilio's message statuses in ours (null: a status we do not track, such as `receiving`).
create function internal.channel_status_from_twilio(twilio_status text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case lower(coalesce(twilio_status, ''))
    when 'accepted' then 'queued' when 'scheduled' then 'queued' when 'queued' then 'queued'
    when 'sending' then 'sending' when 'sent' then 'sent' when 'delivered' then 'delivered' when 'read' then 'read'
    when 'undelivered' then 'undelivered' when 'failed' then 'failed' when 'canceled' then 'failed'
  end
$$;

-- Tell the conversation's participants (the sender among them) where a delivery stands.
create function internal.broadcast_delivery(delivery public.message_deliveries)
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  select realtime.send(
    jsonb_build_object(
      'message_id', delivery.message_id, 'channel', delivery.channel, 'direction', delivery.direction,
      'status', delivery.status, 'error_code', delivery.error_code, 'error_message', delivery.error_message
    ),
    'message_delivery', 'conversation:' || delivery.conversation_id::text, true
  )
$$;

-- After a message is posted by a member in a conversation bound to a contact: check the plan and the contact,
-- record the delivery and queue its channel.send job, in the poster's transaction. Messages without a sender
-- (inbound ones, system messages) are not sent out.
create function internal.tg_messages__route_to_channel()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  contact public.channel_contacts;
  allowance record;
begin
  if new.sender_id is null then
    return null;
  end if;
  select * into contact from public.channel_contacts as c where c.conversation_id = new.conversation_id;
  if not found then
    return null;
  end if;
  if contact.opted_out_at is not null then
    raise exception '% opted out of % messages on %; nothing can be sent until they text START', contact.address,
      contact.channel, to_char(contact.opted_out_at at time zone 'UTC', 'YYYY-MM-DD')
      using errcode = 'P0001', hint = 'Reach them another way, or wait for them to opt in again.';
  end if;
  -- one organization's senders take the last unit of the monthly allowance one at a time
  perform pg_advisory_xact_lock(hashtextextended('supakit.channels:' || new.organization_id::text, 0));
  select * into allowance from internal.channel_allowance(new.organization_id);
  if not coalesce(allowance.channels, false) then
    raise exception 'the % plan does not include SMS and WhatsApp messaging', coalesce(allowance.plan_name, 'current')
      using errcode = 'PT403', hint = 'Upgrade to a plan with channels to message this contact.';
  end if;
  if allowance.monthly_limit is not null and allowance.sent_this_month >= allowance.monthly_limit then
    raise exception 'monthly limit reached: the % plan allows % SMS/WhatsApp messages a month; it resets at % UTC',
      allowance.plan_name, allowance.monthly_limit,
      to_char((date_trunc('month', now(), 'UTC') + interval '1 month') at time zone 'UTC', 'YYYY-MM-DD HH24:MI')
      using errcode = 'PT429', hint = 'Wait for the reset, or upgrade the plan.';
  end if;
  insert into public.message_deliveries (
    message_id, organization_id, conversation_id, contact_id, channel, direction, status
  )
  values (new.id, new.organization_id, new.conversation_id, contact.id, contact.channel, 'outbound', 'queued');
  perform internal.enqueue_job(
    'channel.send', jsonb_build_object('message_id', new.id), new.organization_id, new.sender_id, 0, now(), 8,
    'channel.send:' || new.id::text
  );
  return null;
end;
$$;

-- What the channel.send job needs to hand a message to Twilio (null: nothing to send any more — the message was
-- deleted, or its delivery already left `queued`).
create function internal.channel_outbound(message_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'message_id', d.message_id, 'channel', d.channel, 'to', c.address, 'body', m.body, 'status', d.status,
    'twilio_sid', d.twilio_sid, 'from', (
      select s.address from public.channel_senders as s
      where s.organization_id = d.organization_id and s.channel = d.channel
      order by s.created_at, s.id limit 1
    ),
    'opted_out', c.opted_out_at is not null
  )
  from public.message_deliveries as d
  inner join public.messages as m on m.id = d.message_id
  inner join public.channel_contacts as c on c.id = d.contact_id
  where d.message_id = channel_outbound.message_id and d.direction = 'outbound' and m.deleted_at is null
$$;

-- Record what Twilio answered for an outbound message: its MessageSid and status, or the error that ends it.
-- Returns the delivery's status afterwards.
create function internal.record_channel_send(
  message_id uuid, twilio_sid text, twilio_status text, error_code text default null, error_message text default null
)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  target text := coalesce(
    internal.channel_status_from_twilio(record_channel_send.twilio_status),
    case when record_channel_send.error_code is not null then 'failed' end
  );
  delivery public.message_deliveries;
begin
  update public.message_deliveries as d
  set twilio_sid = coalesce(d.twilio_sid, record_channel_send.twilio_sid),
    status = case when target is not null and internal.channel_status_follows(d.status, target) then target
      else d.status end,
    error_code = coalesce(record_channel_send.error_code, d.error_code),
    error_message = coalesce(left(record_channel_send.error_message, 1000), d.error_message),
    status_at = now()
  where d.message_id = record_channel_send.message_id and d.direction = 'outbound'
  returning * into delivery;
  if not found then
    return null;
  end if;
  perform internal.broadcast_delivery(delivery);
  return delivery.status;
end;
$$;

-- A status callback from Twilio: move the delivery forward ('applied'), or ignore a late or repeated one
-- ('stale'), or one for a message we never sent ('unknown').
create function internal.record_channel_status(
  twilio_sid text, twilio_status text, error_code text default null, error_message text default null
)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  target text := internal.channel_status_from_twilio(record_channel_status.twilio_status);
  delivery public.message_deliveries;
begin
  select * into delivery from public.message_deliveries as d where d.twilio_sid = record_channel_status.twilio_sid
  for update;
  if not found then
    return 'unknown';
  end if;
  if delivery.direction <> 'outbound' or target is null
    or not internal.channel_status_follows(delivery.status, target) then
    return 'stale';
  end if;
  update public.message_deliveries as d
  set status = target, status_at = now(),
    error_code = coalesce(nullif(record_channel_status.error_code, ''), d.error_code),
    error_message = coalesce(left(nullif(record_channel_status.error_message, ''), 1000), d.error_message)
  where d.message_id = delivery.message_id
  returning * into delivery;
  perform internal.broadcast_delivery(delivery);
  return 'applied';
end;
$$;

-- After a channel.send job ends failed (every attempt used, or a permanent error): the delivery fails with the
-- job's error, visible to the sender.
create function internal.tg_jobs__fail_channel_delivery()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform internal.record_channel_send(
    (new.payload ->> 'message_id')::uuid, null, 'failed', coalesce(
      (select d.error_code from public.message_deliveries as d where d.message_id = (new.payload ->> 'message_id')::uuid),
      'job_failed'
    ),
    coalesce(new.error, 'delivery failed')
  );
  return null;
end;
$$;

-- Request an AI-suggested reply to a message (body of the RPC and of the automatic request for inbound
-- messages). `requested_by` null: automatic. Quota: suggestions count with the organization's generations against
-- the plan's daily and monthly generation limits. Returns the suggestion, or (over quota, through PostgREST) the
-- PT429 error body with response.status 429, as request_generation does.
create function internal.request_reply_suggestion(message_id uuid, requested_by uuid)
returns json
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  message public.messages;
  plan record;
  allowance record;
  used_today integer;
  used_this_month integer;
  day_start timestamptz := date_trunc('day', now(), 'UTC');
  month_start timestamptz := date_trunc('month', now(), 'UTC');
  refused_message text;
  created public.reply_suggestions;
begin
  select * into message from public.messages as m where m.id = request_reply_suggestion.message_id;
  if not found or message.deleted_at is not null then
    raise exception 'message % does not exist', request_reply_suggestion.message_id using errcode = '22023';
  end if;
  select * into allowance from internal.channel_allowance(message.organization_id);
  if not coalesce(allowance.ai_replies, false) then
    raise exception 'the % plan does not include AI-suggested replies', coalesce(allowance.plan_name, 'current')
      using errcode = 'PT403', hint = 'Upgrade to a plan with AI replies.';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('supakit.quota:' || message.organization_id::text, 0));
  select * into plan from internal.organization_plan(message.organization_id);
  select
    coalesce(sum(n) filter (where created_at >= day_start), 0), coalesce(sum(n), 0)
  into used_today, used_this_month
  from (
    select g.created_at, 1 as n from public.generations as g
    where g.organization_id = message.organization_id and g.created_at >= least(day_start, month_start)
      and g.status not in ('failed', 'cancelled')
    union all
    select s.created_at, 1 from public.reply_suggestions as s
    where s.organization_id = message.organization_id and s.created_at >= least(day_start, month_start)
      and s.status <> 'failed'
  ) as used;
  if plan.daily_generation_limit is not null and used_today >= plan.daily_generation_limit then
    refused_message := format('daily limit reached: the %s plan allows %s generations a day', plan.plan_name,
      plan.daily_generation_limit);
  elsif plan.monthly_generation_limit is not null and used_this_month >= plan.monthly_generation_limit then
    refused_message := format('monthly limit reached: the %s plan allows %s generations a month', plan.plan_name,
      plan.monthly_generation_limit);
  end if;
  if refused_message is not null then
    if requested_by is null or nullif(current_setting('request.method', true), '') is null then
      raise exception using message = refused_message, errcode = 'PT429', hint = 'Wait for the reset, or upgrade the plan.';
    end if;
    perform set_config('response.status', '429', true);
    return internal.postgrest_error_body('PT429', refused_message, null, 'Wait for the reset, or upgrade the plan.');
  end if;
  insert into public.reply_suggestions (organization_id, conversation_id, message_id, requested_by)
  values (message.organization_id, message.conversation_id, message.id, request_reply_suggestion.requested_by)
  returning * into created;
  update public.reply_suggestions as s
  set job_id = internal.enqueue_job(
    'ai.suggest_reply', jsonb_build_object('suggestion_id', created.id), message.organization_id,
    request_reply_suggestion.requested_by, plan.queue_priority
  )
  where s.id = created.id
  returning * into created;
  return to_json(created);
end;
$$;

-- The conversation up to the message a suggestion answers (at most 20 messages, oldest first), for the prompt.
-- Each entry says whether the organization's side wrote it (`staff`) or the customer did.
create function internal.reply_suggestion_context(suggestion_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'suggestion_id', s.id, 'status', s.status, 'organization', o.name, 'conversation', c.title,
    'messages', coalesce((
      select jsonb_agg(jsonb_build_object('from', h.side, 'body', h.body, 'at', h.created_at) order by h.created_at)
      from (
        select case
            when m.sender_id is null then 'customer'
            when exists (
              select 1 from public.memberships as mm
              where mm.organization_id = m.organization_id and mm.user_id = m.sender_id and mm.role <> 'client'
            ) then 'staff'
            else 'customer'
          end as side,
          m.body, m.created_at
        from public.messages as m
        where m.conversation_id = s.conversation_id and m.deleted_at is null
          and m.created_at <= (select t.created_at from public.messages as t where t.id = s.message_id)
        order by m.created_at desc
        limit 20
      ) as h
    ), '[]')
  )
  from public.reply_suggestions as s
  inner join public.conversations as c on c.id = s.conversation_id
  inner join public.organizations as o on o.id = s.organization_id
  where s.id = reply_suggestion_context.suggestion_id
$$;

-- Store a finished suggestion (the ai.suggest_reply job), count its tokens with the requester's usage, and tell
-- the organization's staff in the conversation.
create function internal.complete_reply_suggestion(
  suggestion_id uuid, body text, model text, input_tokens integer, output_tokens integer
)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  suggestion public.reply_suggestions;
begin
  update public.reply_suggestions as s
  set status = 'ready', body = complete_reply_suggestion.body, model = complete_reply_suggestion.model,
    input_tokens = complete_reply_suggestion.input_tokens, output_tokens = complete_reply_suggestion.output_tokens,
    error_message = null, updated_at = now()
  where s.id = complete_reply_suggestion.suggestion_id and s.status = 'queued'
  returning * into suggestion;
  if not found then
    return;  -- already written by an earlier attempt (at-least-once), or dismissed
  end if;
  if suggestion.requested_by is not null then
    insert into public.usage_counters as u
      (organization_id, user_id, period, period_start, generations, input_tokens, output_tokens)
    select suggestion.organization_id, suggestion.requested_by, p.period, p.start, 1,
      coalesce(suggestion.input_tokens, 0), coalesce(suggestion.output_tokens, 0)
    from (values
      ('day', (now() at time zone 'UTC')::date),
      ('month', date_trunc('month', now() at time zone 'UTC')::date)
    ) as p (period, start)
    on conflict (organization_id, user_id, period, period_start) do update
    set generations = u.generations + 1, input_tokens = u.input_tokens + excluded.input_tokens,
      output_tokens = u.output_tokens + excluded.output_tokens, updated_at = now();
  end if;
  perform realtime.send(
    jsonb_build_object(
      'suggestion_id', suggestion.id, 'message_id', suggestion.message_id, 'status', suggestion.status,
      'body', suggestion.body
    ),
    'reply_suggestion', 'conversation:' || suggestion.conversation_id::text || ':staff', true
  );
end;
$$;

-- After an ai.suggest_reply job ends failed: the suggestion says so (and the staff topic hears it).
create function internal.tg_jobs__fail_reply_suggestion()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  suggestion public.reply_suggestions;
begin
  update public.reply_suggestions as s
  set status = 'failed', error_message = left(coalesce(new.error, 'the suggestion could not be written'), 1000),
    updated_at = now()
  where s.id = (new.payload ->> 'suggestion_id')::uuid and s.status = 'queued'
  returning * into suggestion;
  if found then
    perform realtime.send(
      jsonb_build_object('suggestion_id', suggestion.id, 'message_id', suggestion.message_id, 'status', 'failed'),
      'reply_suggestion', 'conversation:' || suggestion.conversation_id::text || ':staff', true
    );
  end if;
  return null;
end;
$$;

-- An inbound message from Twilio's webhook, stored once per MessageSid and routed to its contact's conversation
-- (created on first contact). STOP/START keywords opt the contact out/in (the message is still stored). For
-- plans with AI replies, a suggestion is requested (quota permitting). Returns {outcome: stored | duplicate |
-- unrouted, message_id, conversation_id, opt: out | in | null}.
create function internal.receive_channel_message(
  channel text, to_address text, from_address text, twilio_sid text, body text, media jsonb default '[]',
  profile_name text default null
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  existing public.message_deliveries;
  sender public.channel_senders;
  contact public.channel_contacts;
  conv_id uuid;
  stored_id uuid;
  keyword text := upper(btrim(coalesce(receive_channel_message.body, '')));
  opt text;
  allowance record;
begin
  if receive_channel_message.channel not in ('sms', 'whatsapp') then
    raise exception 'channel % is not sms or whatsapp', receive_channel_message.channel using errcode = '22023';
  end if;
  -- Twilio retries and replays arrive concurrently: one request per MessageSid at a time, so the second sees the
  -- first's committed row below (a new statement, a new snapshot) and answers `duplicate`.
  perform pg_advisory_xact_lock(hashtextextended('supakit.twilio_sid:' || receive_channel_message.twilio_sid, 0));
  select * into existing from public.message_deliveries as d where d.twilio_sid = receive_channel_message.twilio_sid;
  if found then
    return jsonb_build_object('outcome', 'duplicate', 'message_id', existing.message_id,
      'conversation_id', existing.conversation_id);
  end if;
  select * into sender from public.channel_senders as s
  where s.channel = receive_channel_message.channel and s.address = receive_channel_message.to_address;
  if not found then
    insert into internal.channel_unrouted (twilio_sid, channel, to_address, from_address, body)
    values (receive_channel_message.twilio_sid, receive_channel_message.channel, receive_channel_message.to_address,
      receive_channel_message.from_address, left(coalesce(receive_channel_message.body, ''), 10000))
    on conflict (twilio_sid) do nothing;
    return jsonb_build_object('outcome', 'unrouted');
  end if;
  -- one contact's messages are routed one at a time (a new contact's conversation is created once)
  perform pg_advisory_xact_lock(hashtextextended(
    'supakit.contact:' || sender.organization_id::text || receive_channel_message.channel
    || receive_channel_message.from_address, 0
  ));
  insert into public.channel_contacts (organization_id, channel, address, display_name)
  values (sender.organization_id, receive_channel_message.channel, receive_channel_message.from_address,
    nullif(left(btrim(coalesce(receive_channel_message.profile_name, '')), 200), ''))
  on conflict (organization_id, channel, address) do nothing;
  select * into contact from public.channel_contacts as c
  where c.organization_id = sender.organization_id and c.channel = receive_channel_message.channel
    and c.address = receive_channel_message.from_address;
  conv_id := contact.conversation_id;
  if conv_id is null then
    insert into public.conversations (organization_id, kind, title)
    values (sender.organization_id, 'support',
      left(coalesce(contact.display_name, contact.address) || ' (' || receive_channel_message.channel || ')', 200))
    returning id into conv_id;
    insert into public.conversation_participants (conversation_id, user_id, role)
    select conv_id, m.user_id, 'member' from public.memberships as m
    where m.organization_id = sender.organization_id and m.role in ('owner', 'admin', 'manager')
    on conflict do nothing;
    update public.channel_contacts as c set conversation_id = conv_id, updated_at = now()
    where c.id = contact.id;
  end if;
  if keyword in ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT') then
    opt := 'out';
    update public.channel_contacts as c set opted_out_at = coalesce(c.opted_out_at, now()), updated_at = now()
    where c.id = contact.id;
  elsif keyword in ('START', 'YES', 'UNSTOP') then
    opt := 'in';
    update public.channel_contacts as c set opted_out_at = null, updated_at = now() where c.id = contact.id;
  end if;
  insert into public.messages (conversation_id, body)
  values (conv_id, case
    when char_length(btrim(coalesce(receive_channel_message.body, ''))) > 0 then left(receive_channel_message.body, 10000)
    else format('[%s attachment%s]', jsonb_array_length(coalesce(receive_channel_message.media, '[]')),
      case when jsonb_array_length(coalesce(receive_channel_message.media, '[]')) = 1 then '' else 's' end)
  end)
  returning id into stored_id;
  insert into public.message_deliveries (
    message_id, organization_id, conversation_id, contact_id, channel, direction, status, twilio_sid, media
  )
  values (stored_id, sender.organization_id, conv_id, contact.id, receive_channel_message.channel,
    'inbound', 'received', receive_channel_message.twilio_sid, coalesce(receive_channel_message.media, '[]'));
  if opt is null then
    select * into allowance from internal.channel_allowance(sender.organization_id);
    if coalesce(allowance.ai_replies, false) then
      begin
        perform internal.request_reply_suggestion(stored_id, null);
      exception when sqlstate 'PT429' then
        null;  -- over quota: the message is stored; staff can ask again later
      end;
    end if;
  end if;
  return jsonb_build_object('outcome', 'stored', 'message_id', stored_id, 'conversation_id', conv_id, 'opt', opt);
end;
$$;

-- Whether the signed-in user is staff (not a client) in the organization of the conversation a Realtime topic
-- `conversation:<uuid>:staff` names, and takes part in it or moderates it (false for any other topic).
create function internal.current_user_has_staff_topic(topic text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  conversation_id uuid;
begin
  if topic is null
    or topic !~ '^conversation:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}:staff$' then
    return false;
  end if;
  conversation_id := substr(topic, 14, 36)::uuid;
  return exists (
    select 1 from public.conversations as c
    inner join public.memberships as m on m.organization_id = c.organization_id and m.user_id = (select auth.uid())
    where c.id = conversation_id and m.role <> 'client'
      and (m.role in ('owner', 'admin') or exists (
        select 1 from public.conversation_participants as p
        where p.conversation_id = c.id and p.user_id = m.user_id
      ))
  );
end;
$$;

-- Bind a conversation to an external contact (managers and above of its organization). Binding again with the
-- same contact is a no-op; a contact already bound elsewhere, or a conversation bound to someone else, is refused.
create function internal.bind_channel_contact(
  conversation_id uuid, channel text, address text, display_name text default null
)
returns public.channel_contacts
language plpgsql
volatile
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  org uuid;
  contact public.channel_contacts;
begin
  select c.organization_id into org from public.conversations as c where c.id = bind_channel_contact.conversation_id;
  if org is null or not internal.has_org_role(org, '{owner,admin,manager}') then
    raise exception 'only managers and above of the conversation''s organization bind it to a contact'
      using errcode = '42501';
  end if;
  if bind_channel_contact.channel is null or bind_channel_contact.channel not in ('sms', 'whatsapp') then
    raise exception 'channel must be sms or whatsapp' using errcode = '22023';
  end if;
  if bind_channel_contact.address is null or bind_channel_contact.address !~ '^\+[1-9][0-9]{6,14}$' then
    raise exception 'the address must be a phone number in E.164 form, such as +15551234567' using errcode = '22023';
  end if;
  if char_length(coalesce(bind_channel_contact.display_name, '')) > 200 then
    raise exception 'the display name must be at most 200 characters' using errcode = '22023';
  end if;
  perform pg_advisory_xact_lock(hashtextextended(
    'supakit.contact:' || org::text || bind_channel_contact.channel || bind_channel_contact.address, 0
  ));
  insert into public.channel_contacts (organization_id, channel, address, display_name)
  values (org, bind_channel_contact.channel, bind_channel_contact.address, bind_channel_contact.display_name)
  on conflict (organization_id, channel, address) do nothing;
  select * into contact from public.channel_contacts as c
  where c.organization_id = org and c.channel = bind_channel_contact.channel and c.address = bind_channel_contact.address;
  if contact.conversation_id = bind_channel_contact.conversation_id then
    return contact;
  end if;
  if contact.conversation_id is not null then
    raise exception 'this contact is already bound to another conversation' using errcode = 'PT409';
  end if;
  if exists (select 1 from public.channel_contacts as c where c.conversation_id = bind_channel_contact.conversation_id)
    then
    raise exception 'this conversation is already bound to another contact' using errcode = 'PT409';
  end if;
  update public.channel_contacts as c
  set conversation_id = bind_channel_contact.conversation_id,
    display_name = coalesce(bind_channel_contact.display_name, c.display_name), updated_at = now()
  where c.id = contact.id
  returning * into contact;
  return contact;
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: RPCs (security invoker; the bodies above run with definer rights)
-- ---------------------------------------------------------------------------------------------------------

create function public.bind_channel_contact(
  conversation_id uuid, channel text, address text, display_name text default null
)
returns public.channel_contacts
language sql
volatile
security invoker
set search_path = ''
as $$
  select * from internal.bind_channel_contact(
    bind_channel_contact.conversation_id, bind_channel_contact.channel, bind_channel_contact.address,
    bind_channel_contact.display_name
  )
$$;
comment on function public.bind_channel_contact(uuid, text, text, text) is
'binds a conversation to an SMS/WhatsApp contact (managers and above); body: internal.bind_channel_contact';

create function public.request_reply_suggestion(message_id uuid)
returns json
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  caller uuid := (select auth.uid());
begin
  -- the message must be visible to the caller (RLS on messages), and the caller staff in its organization
  if caller is null or not exists (
    select 1 from public.messages as m
    where m.id = request_reply_suggestion.message_id
      and (select internal.has_org_role(m.organization_id, '{owner,admin,manager,member,assistant}'))
  ) then
    raise exception 'only the organization''s staff taking part in the conversation can ask for a suggested reply'
      using errcode = '42501';
  end if;
  return internal.request_reply_suggestion(request_reply_suggestion.message_id, caller);
end;
$$;
comment on function public.request_reply_suggestion(uuid) is
'asks for an AI-suggested reply to a message (staff; plans with ai_replies; counted with generations)';

-- message_activity gains the channel dimension: one row per conversation, UTC day, channel and direction.
drop function public.message_activity(uuid, date, date);
create function public.message_activity(org_id uuid, since date default null, until date default null)
returns table (
  conversation_id uuid, day date, messages bigint, deleted bigint, senders bigint, channel text, direction text,
  delivered bigint, failed bigint
)
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
    count(distinct m.sender_id), coalesce(d.channel, 'in_app'), d.direction,
    count(*) filter (where d.status in ('delivered', 'read')),
    count(*) filter (where d.status in ('failed', 'undelivered'))
  from public.messages as m
  left join public.message_deliveries as d on d.message_id = m.id
  where m.organization_id = org_id
    and m.created_at >= (first_day::timestamp at time zone 'UTC')
    and m.created_at < ((last_day + 1)::timestamp at time zone 'UTC')
  group by 1, 2, 6, 7
  order by 2, 1, 6, 7;
end;
$$;
comment on function public.message_activity(uuid, date, date) is
'per conversation, UTC day, channel (in_app, sms, whatsapp) and direction: messages, deleted, senders, delivered, '
'failed (owners and admins)';
revoke all on function public.message_activity(uuid, date, date) from public, anon;
grant execute on function public.message_activity(uuid, date, date) to authenticated;

revoke all on function internal.channel_allowance(uuid) from public;
revoke all on function internal.channel_status_rank(text) from public;
revoke all on function internal.channel_status_from_twilio(text) from public;
revoke all on function internal.channel_status_follows(text, text) from public;
revoke all on function internal.broadcast_delivery(public.message_deliveries) from public;
revoke all on function internal.tg_messages__route_to_channel() from public;
revoke all on function internal.channel_outbound(uuid) from public;
revoke all on function internal.record_channel_send(uuid, text, text, text, text) from public;
revoke all on function internal.record_channel_status(text, text, text, text) from public;
revoke all on function internal.tg_jobs__fail_channel_delivery() from public;
revoke all on function internal.request_reply_suggestion(uuid, uuid) from public;
revoke all on function internal.reply_suggestion_context(uuid) from public;
revoke all on function internal.complete_reply_suggestion(uuid, text, text, integer, integer) from public;
revoke all on function internal.tg_jobs__fail_reply_suggestion() from public;
revoke all on function internal.receive_channel_message(text, text, text, text, text, jsonb, text) from public;
revoke all on function internal.current_user_has_staff_topic(text) from public;
revoke all on function internal.bind_channel_contact(uuid, text, text, text) from public;
revoke all on function public.bind_channel_contact(uuid, text, text, text) from public;
revoke all on function public.request_reply_suggestion(uuid) from public;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _800_route_to_channel
after insert on public.messages
for each row execute function internal.tg_messages__route_to_channel();

create trigger _510_fail_channel_delivery
after update of status on internal.jobs
for each row
when (new.kind = 'channel.send' and new.status = 'failed' and old.status is distinct from new.status)
execute function internal.tg_jobs__fail_channel_delivery();

create trigger _520_fail_reply_suggestion
after update of status on internal.jobs
for each row
when (new.kind = 'ai.suggest_reply' and new.status = 'failed' and old.status is distinct from new.status)
execute function internal.tg_jobs__fail_reply_suggestion();
