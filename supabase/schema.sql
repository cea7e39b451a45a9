-- supabase/schema.sql: GENERATED, do not edit. The schema that `supakit migrate` builds from sql/ and policies/
-- (compat and the ledger left out): regenerate with `python -m functions_py.migrations.schema` after changing
-- a migration or a policies file; tests/test_schema_dump.py fails while it is out of date.

--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: internal; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA "internal";

--
-- Name: SCHEMA "internal"; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA "internal" IS 'supakit internals: helpers, queues, ledgers. Not exposed through PostgREST; no grants to anon/authenticated.';

--
-- Name: public; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA "public";

--
-- Name: SCHEMA "public"; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA "public" IS 'standard public schema';

--
-- Name: job_status; Type: TYPE; Schema: internal; Owner: -
--

CREATE TYPE "internal"."job_status" AS ENUM (
    'queued',
    'running',
    'succeeded',
    'failed',
    'cancelled'
);

--
-- Name: org_role; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE "public"."org_role" AS ENUM (
    'owner',
    'admin',
    'manager',
    'member',
    'assistant',
    'client'
);

--
-- Name: TYPE "org_role"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE "public"."org_role" IS 'role of a user in an organization; see README "Roles"';

--
-- Name: task_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE "public"."task_status" AS ENUM (
    'todo',
    'in_progress',
    'blocked',
    'done'
);

SET default_table_access_method = "heap";

--
-- Name: memberships; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."memberships" (
    "organization_id" "uuid" NOT NULL,
    "user_id" "uuid" NOT NULL,
    "role" "public"."org_role" DEFAULT 'member'::"public"."org_role" NOT NULL,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL
);

--
-- Name: TABLE "memberships"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."memberships" IS 'who belongs to which organization, with which role; written through the RPCs, rules enforced by triggers';

--
-- Name: accept_invitation("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."accept_invitation"("token" "text") RETURNS "public"."memberships"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: FUNCTION "accept_invitation"("token" "text"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."accept_invitation"("token" "text") IS 'joins the organization of a pending, unexpired invitation sent to the caller''s e-mail address';

--
-- Name: apply_stripe_catalog("jsonb", "text", timestamp with time zone); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."apply_stripe_catalog"("obj" "jsonb", "event_type" "text", "version" timestamp with time zone) RETURNS "text"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  catalog_id text := obj ->> 'id';
  plan public.plans;
  removed boolean := event_type in ('product.deleted', 'price.deleted') or obj ->> 'active' = 'false';
  interval_name text := obj #>> '{recurring,interval}';
begin
  perform internal.lock_stripe_object('plans');
  if event_type like 'product.%' then
    select * into plan from public.plans as p
    where p.id = obj #>> '{metadata,plan_id}' or p.stripe_product_id = catalog_id
    order by p.id = obj #>> '{metadata,plan_id}' desc limit 1;
  else
    select * into plan from public.plans as p
    where p.id = obj #>> '{metadata,plan_id}' or catalog_id in (p.stripe_price_monthly, p.stripe_price_yearly)
      or (p.stripe_product_id is not null and p.stripe_product_id = internal.stripe_id(obj -> 'product'))
    order by p.id = obj #>> '{metadata,plan_id}' desc, catalog_id in (p.stripe_price_monthly, p.stripe_price_yearly) desc
    limit 1;
  end if;
  if plan.id is null then
    return 'ignored';
  end if;
  if exists (
    select 1 from internal.stripe_object_versions as v where v.object_id = catalog_id and v.last_event_at > version
  ) then
    return 'stale';
  end if;
  insert into internal.stripe_object_versions as v (object_id, last_event_at) values (catalog_id, version)
  on conflict on constraint stripe_object_versions_pkey do update set last_event_at = excluded.last_event_at;

  if event_type like 'product.%' then
    update public.plans as p
    set stripe_product_id = case when event_type = 'product.deleted' then null else catalog_id end,
      active = case when event_type = 'product.deleted' then p.active else coalesce((obj ->> 'active')::boolean, true) end,
      stripe_synced_at = version, updated_at = now()
    where p.id = plan.id;
  elsif removed then
    update public.plans as p
    set stripe_price_monthly = nullif(p.stripe_price_monthly, catalog_id),
      stripe_price_yearly = nullif(p.stripe_price_yearly, catalog_id), stripe_synced_at = version, updated_at = now()
    where p.id = plan.id;
  elsif interval_name = 'month' then
    update public.plans as p
    set stripe_price_monthly = catalog_id,
      monthly_price_cents = coalesce((obj ->> 'unit_amount')::integer, p.monthly_price_cents),
      currency = coalesce(obj ->> 'currency', p.currency), stripe_synced_at = version, updated_at = now()
    where p.id = plan.id;
  elsif interval_name = 'year' then
    update public.plans as p
    set stripe_price_yearly = catalog_id,
      yearly_price_cents = coalesce((obj ->> 'unit_amount')::integer, p.yearly_price_cents),
      currency = coalesce(obj ->> 'currency', p.currency), stripe_synced_at = version, updated_at = now()
    where p.id = plan.id;
  else
    return 'ignored';  -- one-off or other intervals: our plans bill monthly or yearly
  end if;
  return 'applied';
end;
$$;

--
-- Name: apply_stripe_checkout_session("jsonb", timestamp with time zone); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."apply_stripe_checkout_session"("session" "jsonb", "version" timestamp with time zone) RETURNS "text"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  customer_id text := internal.stripe_id(session -> 'customer');
  org uuid;
begin
  if session ->> 'mode' is distinct from 'subscription' or customer_id is null then
    return 'ignored';
  end if;
  org := coalesce(
    internal.stripe_organization(customer_id, jsonb_build_object('organization_id', session ->> 'client_reference_id')),
    internal.stripe_organization(customer_id, session -> 'metadata')
  );
  if org is null then
    return 'unmatched';
  end if;
  perform internal.lock_stripe_object(customer_id);
  insert into public.billing_customers as c (organization_id, stripe_customer_id, email, last_event_at)
  values (org, customer_id, session #>> '{customer_details,email}', version)
  on conflict (organization_id) do update
  set stripe_customer_id = excluded.stripe_customer_id, email = coalesce(excluded.email, c.email),
    deleted_at = null, last_event_at = greatest(c.last_event_at, excluded.last_event_at), updated_at = now()
  where c.stripe_customer_id = excluded.stripe_customer_id or c.deleted_at is not null;
  return 'applied';
end;
$$;

--
-- Name: apply_stripe_customer("jsonb", "text", timestamp with time zone, "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."apply_stripe_customer"("customer" "jsonb", "event_type" "text", "version" timestamp with time zone, "event_id" "text") RETURNS "text"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  customer_id text := customer ->> 'id';
  linked public.billing_customers;
begin
  perform internal.lock_stripe_object(customer_id);
  select * into linked from public.billing_customers as c where c.stripe_customer_id = customer_id;
  if not found then
    return case when event_type = 'customer.deleted' then 'unmatched' else 'ignored' end;
  end if;
  if linked.last_event_at > version then
    return 'stale';
  end if;
  if event_type = 'customer.deleted' then
    update public.billing_customers as c
    set deleted_at = version, last_event_at = version, updated_at = now()
    where c.stripe_customer_id = customer_id;
    update public.subscriptions as s
    set status = 'canceled', canceled_at = coalesce(s.canceled_at, version), ended_at = coalesce(s.ended_at, version),
      last_event_at = version, last_event_id = event_id, updated_at = now()
    where s.stripe_customer_id = customer_id and s.status not in ('canceled', 'incomplete_expired')
      and s.last_event_at <= version;
  else
    update public.billing_customers as c
    set email = coalesce(customer ->> 'email', c.email), last_event_at = version, updated_at = now()
    where c.stripe_customer_id = customer_id;
  end if;
  return 'applied';
end;
$$;

--
-- Name: apply_stripe_event("jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."apply_stripe_event"("event" "jsonb") RETURNS "text"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  event_type text := event ->> 'type';
  obj jsonb := event #> '{data,object}';
  version timestamptz := internal.stripe_time(event ->> 'created');
  event_id text := event ->> 'id';
begin
  if obj is null or jsonb_typeof(obj) <> 'object' then
    raise exception 'event % has no data.object', event_id using errcode = '22023';
  end if;
  return case
    when event_type = 'checkout.session.completed' then internal.apply_stripe_checkout_session(obj, version)
    when event_type like 'customer.subscription.%' then internal.apply_stripe_subscription(obj, version, event_id)
    when event_type like 'invoice.%' and event_type not in ('invoice.upcoming', 'invoice.deleted')
      then internal.apply_stripe_invoice(obj, event_type, version, event_id)
    when event_type in ('customer.created', 'customer.updated', 'customer.deleted')
      then internal.apply_stripe_customer(obj, event_type, version, event_id)
    when event_type in (
      'product.created', 'product.updated', 'product.deleted', 'price.created', 'price.updated', 'price.deleted'
    ) then internal.apply_stripe_catalog(obj, event_type, version)
    else 'ignored'
  end;
end;
$$;

--
-- Name: apply_stripe_invoice("jsonb", "text", timestamp with time zone, "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."apply_stripe_invoice"("inv" "jsonb", "event_type" "text", "version" timestamp with time zone, "event_id" "text" DEFAULT NULL::"text") RETURNS "text"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  invoice_id text := inv ->> 'id';
  customer_id text := internal.stripe_id(inv -> 'customer');
  -- since API version 2025-03-31 the subscription lives under parent.subscription_details
  sub_id text := coalesce(
    internal.stripe_id(inv -> 'subscription'), inv #>> '{parent,subscription_details,subscription}'
  );
  existing public.invoices;
  org uuid;
  owner_email text;
begin
  if invoice_id is null or customer_id is null then
    raise exception 'the invoice object has no id or customer' using errcode = '22023';
  end if;
  perform internal.lock_stripe_object(invoice_id);
  select * into existing from public.invoices as i where i.stripe_invoice_id = invoice_id;
  if found and existing.last_event_at > version then
    return 'stale';
  end if;
  org := coalesce(
    existing.organization_id,
    internal.stripe_organization(customer_id, inv -> 'metadata'),
    (select s.organization_id from public.subscriptions as s where s.stripe_subscription_id = sub_id)
  );
  if org is null then
    return 'unmatched';
  end if;

  insert into public.invoices as i (
    organization_id, stripe_invoice_id, stripe_customer_id, stripe_subscription_id, number, status, currency,
    amount_due, amount_paid, amount_remaining, subtotal, total, attempt_count, hosted_invoice_url, invoice_pdf,
    period_start, period_end, due_date, paid_at, next_payment_attempt, stripe_created_at, last_event_at
  )
  values (
    org, invoice_id, customer_id, sub_id, inv ->> 'number', inv ->> 'status', coalesce(inv ->> 'currency', 'usd'),
    coalesce((inv ->> 'amount_due')::integer, 0), coalesce((inv ->> 'amount_paid')::integer, 0),
    coalesce((inv ->> 'amount_remaining')::integer, 0), (inv ->> 'subtotal')::integer, (inv ->> 'total')::integer,
    coalesce((inv ->> 'attempt_count')::integer, 0), inv ->> 'hosted_invoice_url', inv ->> 'invoice_pdf',
    internal.stripe_time(inv ->> 'period_start'), internal.stripe_time(inv ->> 'period_end'),
    internal.stripe_time(inv ->> 'due_date'), internal.stripe_time(inv #>> '{status_transitions,paid_at}'),
    internal.stripe_time(inv ->> 'next_payment_attempt'), internal.stripe_time(inv ->> 'created'), version
  )
  on conflict (stripe_invoice_id) do update
  set stripe_subscription_id = excluded.stripe_subscription_id, number = excluded.number, status = excluded.status,
    currency = excluded.currency, amount_due = excluded.amount_due, amount_paid = excluded.amount_paid,
    amount_remaining = excluded.amount_remaining, subtotal = excluded.subtotal, total = excluded.total,
    attempt_count = excluded.attempt_count, hosted_invoice_url = excluded.hosted_invoice_url,
    invoice_pdf = excluded.invoice_pdf, period_start = excluded.period_start, period_end = excluded.period_end,
    due_date = excluded.due_date, paid_at = excluded.paid_at, next_payment_attempt = excluded.next_payment_attempt,
    stripe_created_at = excluded.stripe_created_at, last_event_at = excluded.last_event_at, updated_at = now();

  if sub_id is not null and event_type = 'invoice.payment_failed' then
    perform internal.lock_stripe_object(sub_id);
    perform internal.set_stripe_subscription_status(sub_id, '{active,trialing}', 'past_due', version, event_id);
    for owner_email in select e from internal.organization_owner_emails(org) as e loop
      perform internal.enqueue_email(
        owner_email, 'payment_failed',
        jsonb_build_object(
          'organization_id', org,
          'organization_name', (select o.name from public.organizations as o where o.id = org),
          'invoice_id', invoice_id, 'invoice_number', inv ->> 'number', 'amount_due', inv -> 'amount_due',
          'currency', inv ->> 'currency', 'hosted_invoice_url', inv ->> 'hosted_invoice_url',
          'attempt_count', inv -> 'attempt_count',
          'next_payment_attempt', internal.stripe_time(inv ->> 'next_payment_attempt')
        ),
        org, 'payment_failed:' || invoice_id || ':' || owner_email
      );
    end loop;
  elsif sub_id is not null and event_type in ('invoice.paid', 'invoice.payment_succeeded') then
    perform internal.lock_stripe_object(sub_id);
    perform internal.set_stripe_subscription_status(
      sub_id, '{past_due,unpaid,incomplete}', 'active', version, event_id
    );
  end if;
  return 'applied';
end;
$$;

--
-- Name: apply_stripe_subscription("jsonb", timestamp with time zone, "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."apply_stripe_subscription"("sub" "jsonb", "version" timestamp with time zone, "event_id" "text" DEFAULT NULL::"text") RETURNS "text"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  sub_id text := sub ->> 'id';
  customer_id text := internal.stripe_id(sub -> 'customer');
  item jsonb := sub #> '{items,data,0}';
  price jsonb := sub #> '{items,data,0,price}';
  existing public.subscriptions;
  org uuid;
  plan text;
begin
  if sub_id is null or customer_id is null then
    raise exception 'the subscription object has no id or customer' using errcode = '22023';
  end if;
  perform internal.lock_stripe_object(sub_id);
  select * into existing from public.subscriptions as s where s.stripe_subscription_id = sub_id;
  if found and (existing.last_event_at > version
    or (existing.status in ('canceled', 'incomplete_expired') and existing.status <> sub ->> 'status')) then
    return 'stale';
  end if;
  org := coalesce(existing.organization_id, internal.stripe_organization(customer_id, sub -> 'metadata'));
  if org is null then
    return 'unmatched';
  end if;
  plan := internal.stripe_plan_for_price(
    price ->> 'id', coalesce(price #>> '{metadata,plan_id}', sub #>> '{metadata,plan_id}')
  );
  if plan is null then
    raise exception 'Stripe price % (subscription %) belongs to no plan', coalesce(price ->> 'id', '(none)'), sub_id
      using hint = 'Set public.plans.stripe_price_monthly/yearly to the price id (or give the price metadata '
        'plan_id), then `supakit billing replay` the event.';
  end if;

  insert into public.subscriptions as s (
    organization_id, plan_id, status, stripe_subscription_id, stripe_customer_id, stripe_price_id, billing_interval,
    quantity, current_period_start, current_period_end, cancel_at_period_end, cancel_at, trial_start, trial_end,
    canceled_at, ended_at, last_event_at, last_event_id
  )
  values (
    org, plan, sub ->> 'status', sub_id, customer_id, price ->> 'id', price #>> '{recurring,interval}',
    coalesce((item ->> 'quantity')::integer, 1),
    -- since API version 2025-03-31 the period lives on the subscription item
    internal.stripe_time(coalesce(sub ->> 'current_period_start', item ->> 'current_period_start')),
    internal.stripe_time(coalesce(sub ->> 'current_period_end', item ->> 'current_period_end')),
    coalesce((sub ->> 'cancel_at_period_end')::boolean, false), internal.stripe_time(sub ->> 'cancel_at'),
    internal.stripe_time(sub ->> 'trial_start'), internal.stripe_time(sub ->> 'trial_end'),
    internal.stripe_time(sub ->> 'canceled_at'), internal.stripe_time(sub ->> 'ended_at'), version, event_id
  )
  on conflict (stripe_subscription_id) do update
  set plan_id = excluded.plan_id, status = excluded.status, stripe_customer_id = excluded.stripe_customer_id,
    stripe_price_id = excluded.stripe_price_id, billing_interval = excluded.billing_interval,
    quantity = excluded.quantity, current_period_start = excluded.current_period_start,
    current_period_end = excluded.current_period_end, cancel_at_period_end = excluded.cancel_at_period_end,
    cancel_at = excluded.cancel_at, trial_start = excluded.trial_start, trial_end = excluded.trial_end,
    canceled_at = excluded.canceled_at, ended_at = excluded.ended_at, last_event_at = excluded.last_event_at,
    last_event_id = excluded.last_event_id, updated_at = now();
  return 'applied';
end;
$$;

--
-- Name: channel_contacts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."channel_contacts" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "channel" "text" NOT NULL,
    "address" "text" NOT NULL,
    "display_name" "text",
    "conversation_id" "uuid",
    "opted_out_at" timestamp with time zone,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "address_is_e164" CHECK (("address" ~ '^\+[1-9][0-9]{6,14}$'::"text")),
    CONSTRAINT "channel_is_known" CHECK (("channel" = ANY (ARRAY['sms'::"text", 'whatsapp'::"text"]))),
    CONSTRAINT "display_name_is_short" CHECK ((("display_name" IS NULL) OR ("char_length"("display_name") <= 200)))
);

--
-- Name: TABLE "channel_contacts"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."channel_contacts" IS 'an external person reached by SMS or WhatsApp, bound to at most one conversation of the organization';

--
-- Name: COLUMN "channel_contacts"."opted_out_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."channel_contacts"."opted_out_at" IS 'set when the contact texts STOP (or another opt-out keyword), cleared by START: nothing is sent while set';

--
-- Name: bind_channel_contact("uuid", "text", "text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text" DEFAULT NULL::"text") RETURNS "public"."channel_contacts"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $_$
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
$_$;

--
-- Name: message_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."message_deliveries" (
    "message_id" "uuid" NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "conversation_id" "uuid" NOT NULL,
    "contact_id" "uuid",
    "channel" "text" NOT NULL,
    "direction" "text" NOT NULL,
    "status" "text" NOT NULL,
    "twilio_sid" "text",
    "error_code" "text",
    "error_message" "text",
    "media" "jsonb" DEFAULT '[]'::"jsonb" NOT NULL,
    "status_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "channel_is_known" CHECK (("channel" = ANY (ARRAY['sms'::"text", 'whatsapp'::"text"]))),
    CONSTRAINT "direction_is_known" CHECK (("direction" = ANY (ARRAY['inbound'::"text", 'outbound'::"text"]))),
    CONSTRAINT "inbound_is_received" CHECK ((("direction" = 'inbound'::"text") = ("status" = 'received'::"text"))),
    CONSTRAINT "media_is_an_array" CHECK (("jsonb_typeof"("media") = 'array'::"text")),
    CONSTRAINT "status_is_known" CHECK (("status" = ANY (ARRAY['queued'::"text", 'sending'::"text", 'sent'::"text", 'delivered'::"text", 'read'::"text", 'undelivered'::"text", 'failed'::"text", 'received'::"text"])))
);

--
-- Name: TABLE "message_deliveries"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."message_deliveries" IS 'the SMS/WhatsApp side of a message: direction, Twilio MessageSid, delivery status (forward only), errors, media';

--
-- Name: COLUMN "message_deliveries"."media"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."message_deliveries"."media" IS 'inbound media as Twilio sent it: [{"url": MediaUrlN, "content_type": MediaContentTypeN}]';

--
-- Name: broadcast_delivery("public"."message_deliveries"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."broadcast_delivery"("delivery" "public"."message_deliveries") RETURNS "void"
    LANGUAGE "sql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
  select realtime.send(
    jsonb_build_object(
      'message_id', delivery.message_id, 'channel', delivery.channel, 'direction', delivery.direction,
      'status', delivery.status, 'error_code', delivery.error_code, 'error_message', delivery.error_message
    ),
    'message_delivery', 'conversation:' || delivery.conversation_id::text, true
  )
$$;

--
-- Name: generations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."generations" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "user_id" "uuid",
    "job_id" bigint,
    "prompt" "text" NOT NULL,
    "app_type" "text" DEFAULT 'generic'::"text" NOT NULL,
    "status" "text" DEFAULT 'queued'::"text" NOT NULL,
    "result" "text",
    "error_message" "text",
    "model" "text",
    "input_tokens" integer,
    "output_tokens" integer,
    "duration_ms" integer,
    "attempts" integer DEFAULT 0 NOT NULL,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "started_at" timestamp with time zone,
    "completed_at" timestamp with time zone,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "app_type_is_a_slug" CHECK (("app_type" ~ '^[a-z][a-z0-9_-]{0,39}$'::"text")),
    CONSTRAINT "completed_iff_finished" CHECK ((("status" = ANY (ARRAY['succeeded'::"text", 'failed'::"text", 'cancelled'::"text"])) = ("completed_at" IS NOT NULL))),
    CONSTRAINT "prompt_is_not_blank" CHECK ((("char_length"("btrim"("prompt")) >= 1) AND ("char_length"("btrim"("prompt")) <= 20000))),
    CONSTRAINT "status_is_a_job_status" CHECK (("status" = ANY (ARRAY['queued'::"text", 'running'::"text", 'succeeded'::"text", 'failed'::"text", 'cancelled'::"text"])))
);

ALTER TABLE ONLY "public"."generations" REPLICA IDENTITY FULL;

--
-- Name: TABLE "generations"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."generations" IS 'an AI generation request and its outcome; status mirrors its ai.generate job (internal.jobs, job_id)';

--
-- Name: COLUMN "generations"."job_id"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."generations"."job_id" IS 'internal.jobs id; not a foreign key because finished jobs are pruned';

--
-- Name: COLUMN "generations"."status"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."generations"."status" IS 'queued -> running -> succeeded | failed | cancelled; running -> queued again while a retry waits';

--
-- Name: cancel_generation("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."cancel_generation"("generation_id" "uuid") RETURNS "public"."generations"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: cancel_job(bigint); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."cancel_job"("job_id" bigint) RETURNS "internal"."job_status"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  outcome internal.job_status;
begin
  update internal.jobs as j
  set status = case when j.status = 'queued' then 'cancelled'::internal.job_status else j.status end,
    finished_at = case when j.status = 'queued' then now() else j.finished_at end,
    cancel_requested_at = case when j.status = 'running' then coalesce(j.cancel_requested_at, now())
      else j.cancel_requested_at end
  where j.id = job_id
  returning j.status into outcome;
  if outcome = 'running' then
    perform pg_notify('supakit_jobs_cancel', job_id::text);
  end if;
  if outcome is null then
    select j.status into outcome from internal.jobs as j where j.id = job_id;
  end if;
  return outcome;
end;
$$;

--
-- Name: change_member_role("uuid", "uuid", "public"."org_role"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role") RETURNS "public"."memberships"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: FUNCTION "change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role") IS 'changes a member''s role: owners change anyone, admins the roles below owner; nobody raises their own role';

--
-- Name: channel_allowance("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."channel_allowance"("org_id" "uuid") RETURNS TABLE("plan_id" "text", "plan_name" "text", "channels" boolean, "ai_replies" boolean, "monthly_limit" integer, "sent_this_month" integer)
    LANGUAGE "sql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
  select p.id, p.name, p.features ? 'channels', p.features ? 'ai_replies', p.channel_messages_monthly_limit,
    (
      select count(*)::integer from public.message_deliveries as d
      where d.organization_id = channel_allowance.org_id and d.direction = 'outbound'
        and d.created_at >= date_trunc('month', now(), 'UTC')
    )
  from internal.organization_plan(channel_allowance.org_id) as o
  inner join public.plans as p on p.id = o.plan_id
$$;

--
-- Name: channel_outbound("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."channel_outbound"("message_id" "uuid") RETURNS "jsonb"
    LANGUAGE "sql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: channel_status_follows("text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."channel_status_follows"("current" "text", "next" "text") RETURNS boolean
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select case
    when current in ('undelivered', 'failed', 'read', 'received') then false
    when current = 'delivered' then next = 'read'
    else internal.channel_status_rank(next) > internal.channel_status_rank(current)
  end
$$;

--
-- Name: channel_status_from_twilio("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."channel_status_from_twilio"("twilio_status" "text") RETURNS "text"
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select case lower(coalesce(twilio_status, ''))
    when 'accepted' then 'queued' when 'scheduled' then 'queued' when 'queued' then 'queued'
    when 'sending' then 'sending' when 'sent' then 'sent' when 'delivered' then 'delivered' when 'read' then 'read'
    when 'undelivered' then 'undelivered' when 'failed' then 'failed' when 'canceled' then 'failed'
  end
$$;

--
-- Name: channel_status_rank("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."channel_status_rank"("status" "text") RETURNS integer
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select case status
    when 'queued' then 0 when 'sending' then 1 when 'sent' then 2 when 'delivered' then 3 when 'read' then 4
    when 'undelivered' then 5 when 'failed' then 5 else -1
  end
$$;

--
-- Name: check_message_attachments("uuid", "jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."check_message_attachments"("conversation_id" "uuid", "attachments" "jsonb") RETURNS "void"
    LANGUAGE "plpgsql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
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

--
-- Name: jobs; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."jobs" (
    "id" bigint NOT NULL,
    "kind" "text" NOT NULL,
    "payload" "jsonb" DEFAULT '{}'::"jsonb" NOT NULL,
    "organization_id" "uuid",
    "user_id" "uuid",
    "priority" integer DEFAULT 0 NOT NULL,
    "status" "internal"."job_status" DEFAULT 'queued'::"internal"."job_status" NOT NULL,
    "attempts" integer DEFAULT 0 NOT NULL,
    "max_attempts" integer DEFAULT 3 NOT NULL,
    "run_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "lease_owner" "text",
    "lease_token" "uuid",
    "lease_expires_at" timestamp with time zone,
    "heartbeat_at" timestamp with time zone,
    "progress" "jsonb",
    "result" "jsonb",
    "error" "text",
    "dedupe_key" "text",
    "cancel_requested_at" timestamp with time zone,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "started_at" timestamp with time zone,
    "finished_at" timestamp with time zone,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "lease_losses" integer DEFAULT 0 NOT NULL,
    "max_lease_losses" integer DEFAULT 10 NOT NULL,
    CONSTRAINT "attempts_within_max" CHECK ((("attempts" >= 0) AND ("attempts" <= "max_attempts"))),
    CONSTRAINT "finished_iff_finished_at" CHECK ((("status" = ANY (ARRAY['succeeded'::"internal"."job_status", 'failed'::"internal"."job_status", 'cancelled'::"internal"."job_status"])) = ("finished_at" IS NOT NULL))),
    CONSTRAINT "kind_is_dotted_name" CHECK (("kind" ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'::"text")),
    CONSTRAINT "lease_losses_not_negative" CHECK (("lease_losses" >= 0)),
    CONSTRAINT "max_attempts_is_positive" CHECK ((("max_attempts" >= 1) AND ("max_attempts" <= 100))),
    CONSTRAINT "max_lease_losses_is_positive" CHECK ((("max_lease_losses" >= 1) AND ("max_lease_losses" <= 1000))),
    CONSTRAINT "running_has_started" CHECK ((("status" <> 'running'::"internal"."job_status") OR ("started_at" IS NOT NULL))),
    CONSTRAINT "running_iff_leased" CHECK ((("status" = 'running'::"internal"."job_status") = (("lease_owner" IS NOT NULL) AND ("lease_token" IS NOT NULL) AND ("lease_expires_at" IS NOT NULL))))
)
WITH ("fillfactor"='70', "autovacuum_vacuum_scale_factor"='0.01');

--
-- Name: TABLE "jobs"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."jobs" IS 'the job queue: one row per job; finished rows are pruned by internal.prune_jobs (keep the last N per kind)';

--
-- Name: COLUMN "jobs"."priority"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."jobs"."priority" IS 'higher runs first (Team 20, Pro 10, Free 0); then run_at, then id';

--
-- Name: COLUMN "jobs"."lease_token"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."jobs"."lease_token" IS 'new at every claim; complete/fail/heartbeat must present it, so a worker whose lease expired cannot finish';

--
-- Name: COLUMN "jobs"."dedupe_key"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."jobs"."dedupe_key" IS 'unique among unfinished jobs: enqueueing a duplicate returns the existing job';

--
-- Name: COLUMN "jobs"."cancel_requested_at"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."jobs"."cancel_requested_at" IS 'set by cancel on a running job; the worker stops it and marks it cancelled';

--
-- Name: COLUMN "jobs"."lease_losses"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."jobs"."lease_losses" IS 'how often a worker lost this job''s lease (killed or hung): counted here, not in attempts';

--
-- Name: COLUMN "jobs"."max_lease_losses"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."jobs"."max_lease_losses" IS 'the job fails when lease_losses reaches this (a job that takes down every worker that runs it)';

--
-- Name: claim_jobs("text", integer, "text"[], integer); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."claim_jobs"("worker" "text", "batch_size" integer DEFAULT 10, "kinds" "text"[] DEFAULT NULL::"text"[], "lease_seconds" integer DEFAULT 30) RETURNS SETOF "internal"."jobs"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  with ready as (
    select j.id from internal.jobs as j
    where j.status = 'queued' and j.run_at <= now() and (kinds is null or j.kind = any(kinds))
    order by j.priority desc, j.run_at, j.id
    limit batch_size
    for update skip locked
  )
  update internal.jobs as j
  set status = 'running', attempts = j.attempts + 1, lease_owner = worker, lease_token = gen_random_uuid(),
    lease_expires_at = now() + make_interval(secs => lease_seconds), heartbeat_at = now(),
    started_at = coalesce(j.started_at, now()), error = null, updated_at = now()
  from ready
  where j.id = ready.id
  returning j.*
$$;

--
-- Name: claim_jobs_v2("text", integer, "text"[], integer); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."claim_jobs_v2"("worker" "text", "batch_size" integer DEFAULT 10, "kinds" "text"[] DEFAULT NULL::"text"[], "lease_seconds" integer DEFAULT 30) RETURNS TABLE("id" bigint, "kind" "text", "payload" "jsonb", "attempts" integer, "max_attempts" integer, "organization_id" "uuid", "user_id" "uuid", "lease_token" "uuid")
    LANGUAGE "sql"
    SET "search_path" TO ''
    SET "plan_cache_mode" TO 'force_generic_plan'
    AS $$
  with ready as (
    select j.id from internal.jobs as j
    where j.status = 'queued' and j.run_at <= now() and (kinds is null or j.kind = any(kinds))
    order by j.priority desc, j.run_at, j.id
    limit batch_size
    for update skip locked
  )
  update internal.jobs as j
  set status = 'running', attempts = j.attempts + 1, lease_owner = worker, lease_token = (select gen_random_uuid()),
    lease_expires_at = now() + make_interval(secs => lease_seconds), heartbeat_at = now(),
    started_at = coalesce(j.started_at, now()), error = null, updated_at = now()
  where j.id = any(array(select ready.id from ready))
  returning j.id, j.kind, j.payload, j.attempts, j.max_attempts, j.organization_id, j.user_id, j.lease_token
$$;

--
-- Name: compensate_provisioning_step(bigint, "text", "text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."compensate_provisioning_step"("step_id" bigint, "status" "text", "message" "text", "error" "text" DEFAULT NULL::"text") RETURNS "void"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run public.provisioning_runs;
  step public.provisioning_steps;
begin
  if status not in ('compensating', 'compensated', 'compensation_failed') then
    raise exception 'compensate_provisioning_step: % is not a compensation status', status using errcode = '22023';
  end if;
  run := internal.provisioning_step_run(step_id, 'compensating');
  update public.provisioning_steps as s
  set status = compensate_provisioning_step.status,
    error = coalesce(left(compensate_provisioning_step.error, 4000), s.error),
    compensated_at = case when compensate_provisioning_step.status = 'compensated' then now() else s.compensated_at end
  where s.id = step_id
  returning * into step;
  if status = 'compensating' then
    update public.provisioning_runs as r set current_step = step.name where r.id = run.id;
  end if;
  if message is not null then
    perform internal.log_provisioning(
      run.id, step.name, case when status = 'compensation_failed' then 'error' else 'info' end, message
    );
  end if;
  if status = 'compensation_failed' then
    perform internal.move_provisioning_run(
      run.id, 'failed', 'rollback stopped: the undo of step ' || step.name || ' failed', 'error',
      left('undo of step ' || step.name || ' failed: ' || coalesce(error, 'unknown error'), 2000), step.name
    );
  end if;
end;
$$;

--
-- Name: complete_jobs(bigint[], "uuid"[], "jsonb"[]); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."complete_jobs"("ids" bigint[], "tokens" "uuid"[], "results" "jsonb"[] DEFAULT NULL::"jsonb"[]) RETURNS SETOF bigint
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  update internal.jobs as j
  set status = 'succeeded', result = c.result, finished_at = now(), progress = null,
    lease_owner = null, lease_token = null, lease_expires_at = null, updated_at = now()
  from unnest(ids, tokens, results) as c (id, token, result)
  where j.id = c.id and j.lease_token = c.token and j.status = 'running'
  returning j.id
$$;

--
-- Name: complete_reply_suggestion("uuid", "text", "text", integer, integer); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."complete_reply_suggestion"("suggestion_id" "uuid", "body" "text", "model" "text", "input_tokens" integer, "output_tokens" integer) RETURNS "void"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: organizations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."organizations" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "name" "text" NOT NULL,
    "slug" "text" NOT NULL,
    "created_by" "uuid",
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "name_is_not_blank" CHECK ((("char_length"("btrim"("name")) >= 1) AND ("char_length"("btrim"("name")) <= 100))),
    CONSTRAINT "slug_is_url_safe" CHECK (("slug" ~ '^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$'::"text"))
);

--
-- Name: TABLE "organizations"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."organizations" IS 'a tenant: every business row belongs to exactly one organization';

--
-- Name: COLUMN "organizations"."slug"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."organizations"."slug" IS 'unique, URL-safe: lowercase letters, digits and inner hyphens, 1 to 48 characters';

--
-- Name: create_organization("text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."create_organization"("name" "text", "slug" "text") RETURNS "public"."organizations"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $_$
declare
  caller uuid := (select auth.uid());
  created public.organizations;
begin
  if caller is null then
    raise exception 'sign in to create an organization' using errcode = '42501';
  end if;
  if create_organization.name is null or char_length(btrim(create_organization.name)) not between 1 and 100 then
    raise exception 'the organization name must be 1 to 100 characters' using errcode = '22023';
  end if;
  if create_organization.slug is null or create_organization.slug !~ '^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$' then
    raise exception 'the slug "%" is not valid', create_organization.slug
      using errcode = '22023',
        hint = 'Use 1 to 48 lowercase letters, digits and hyphens, starting and ending with a letter or digit.';
  end if;

  begin
    insert into public.organizations (name, slug, created_by)
    values (btrim(create_organization.name), create_organization.slug, caller)
    returning * into created;
  exception when unique_violation then
    raise exception 'the slug "%" is taken', create_organization.slug
      using errcode = '23505', hint = 'Choose another slug.';
  end;

  insert into public.memberships (organization_id, user_id, role) values (created.id, caller, 'owner');
  return created;
end;
$_$;

--
-- Name: FUNCTION "create_organization"("name" "text", "slug" "text"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."create_organization"("name" "text", "slug" "text") IS 'creates an organization; the caller becomes its owner';

--
-- Name: current_instance_type("jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."current_instance_type"("resources" "jsonb") RETURNS "text"
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select coalesce(resources #>> '{instance,instance_type}', resources #>> '{instance,size}')
$$;

--
-- Name: current_user_co_member_ids(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."current_user_co_member_ids"() RETURNS SETOF "uuid"
    LANGUAGE "sql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
  select distinct other.user_id
  from public.memberships as mine
  inner join public.memberships as other on other.organization_id = mine.organization_id
  where mine.user_id = (select auth.uid())
$$;

--
-- Name: current_user_conversation_ids("text"[]); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."current_user_conversation_ids"("roles" "text"[] DEFAULT NULL::"text"[]) RETURNS SETOF "uuid"
    LANGUAGE "sql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
  select p.conversation_id
  from public.conversation_participants as p
  inner join public.memberships as m on m.organization_id = p.organization_id and m.user_id = p.user_id
  where p.user_id = (select auth.uid())
    and (roles is null or p.role = any(roles))
$$;

--
-- Name: current_user_has_conversation_topic("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."current_user_has_conversation_topic"("topic" "text") RETURNS boolean
    LANGUAGE "plpgsql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $_$
begin
  if topic is null or topic !~ '^conversation:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    return false;
  end if;
  return exists (
    select 1 from internal.current_user_conversation_ids() as c (id) where c.id = substr(topic, 14)::uuid
  );
end;
$_$;

--
-- Name: current_user_has_staff_topic("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."current_user_has_staff_topic"("topic" "text") RETURNS boolean
    LANGUAGE "plpgsql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $_$
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
$_$;

--
-- Name: current_user_org_ids("public"."org_role"[]); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."current_user_org_ids"("roles" "public"."org_role"[] DEFAULT NULL::"public"."org_role"[]) RETURNS SETOF "uuid"
    LANGUAGE "sql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
  select m.organization_id
  from public.memberships as m
  where m.user_id = (select auth.uid())
    and (roles is null or m.role = any(roles))
$$;

--
-- Name: end_provisioning_run_of_job(bigint, "text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."end_provisioning_run_of_job"("job_id" bigint, "job_status" "text", "job_error" "text" DEFAULT NULL::"text") RETURNS "text"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run public.provisioning_runs;
  why text;
  next_job bigint;
begin
  select * into run from public.provisioning_runs as r
  where r.job_id = end_provisioning_run_of_job.job_id and r.status in ('pending', 'running', 'compensating');
  if run.id is null then
    return null;
  end if;
  -- serialised with request_provisioning / request_deprovisioning of the organization
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || run.organization_id::text, 0));
  select * into run from public.provisioning_runs as r where r.id = run.id for update;
  if run.status not in ('pending', 'running', 'compensating') then
    return null;
  end if;
  why := left(format('its job %s ended %s%s', end_provisioning_run_of_job.job_id, job_status,
    coalesce(': ' || job_error, '')), 1800);
  if run.kind = 'deprovision' or run.status = 'compensating' then
    -- a teardown has nothing to compensate; a compensation cannot be compensated: what is left is left, and said
    -- (steps in flight say it too; a retry resumes them)
    update public.provisioning_steps as s
    set status = case s.status when 'running' then 'failed' else 'compensation_failed' end,
      finished_at = case s.status when 'running' then now() else s.finished_at end,
      error = left('in flight when ' || why, 4000)
    where s.run_id = run.id and s.status in ('running', 'compensating');
    update public.provisioning_runs as r
    set status = 'failed', started_at = coalesce(r.started_at, now()), finished_at = now(),
      error = left(case when run.kind = 'deprovision' then 'teardown stopped: ' else 'rollback stopped: ' end
        || why, 2000)
    where r.id = run.id;
    perform internal.log_provisioning(
      run.id, run.current_step, 'error',
      'run failed: ' || why || '; resources may be left; fix the cause and run `supakit provision retry`'
    );
    return 'failed';
  end if;
  if not exists (
    select 1 from public.provisioning_steps as s where s.run_id = run.id and s.status <> 'pending'
  ) then
    -- no step ever started, so nothing was made: the run is rolled back as it stands, through the usual states
    if run.status = 'pending' then
      update public.provisioning_runs as r set status = 'running', started_at = now() where r.id = run.id;
    end if;
    update public.provisioning_runs as r set status = 'compensating', error = left('rolling back: ' || why, 2000)
    where r.id = run.id;
    update public.provisioning_runs as r
    set status = 'rolled_back', finished_at = now(),
      error = left('rolled back before any step started: ' || why, 2000)
    where r.id = run.id;
    perform internal.log_provisioning(run.id, null, 'error', 'rolled back before any step started: ' || why);
    return 'rolled_back';
  end if;
  -- work was done: undo it, in a new job (the worker that took this one is gone). A step in flight may have made
  -- part of its resource: it is failed, and failed steps are undone too.
  update public.provisioning_steps as s
  set status = 'failed', finished_at = now(), error = left('in flight when ' || why, 4000)
  where s.run_id = run.id and s.status = 'running';
  update public.provisioning_runs as r
  set status = 'compensating', error = left('rolling back: ' || why, 2000)
  where r.id = run.id;
  next_job := internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run.id), run.organization_id, null, 0, now(), 5,
    'provisioning:' || run.organization_id::text
  );
  update public.provisioning_runs as r set job_id = next_job where r.id = run.id;
  perform internal.log_provisioning(
    run.id, run.current_step, 'error', 'rolling back: ' || why, jsonb_build_object('job_id', next_job)
  );
  return 'compensating';
end;
$$;

--
-- Name: FUNCTION "end_provisioning_run_of_job"("job_id" bigint, "job_status" "text", "job_error" "text"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."end_provisioning_run_of_job"("job_id" bigint, "job_status" "text", "job_error" "text") IS 'called when a provisioning job ends: a run it leaves live is rolled back (by a new job) or failed';

--
-- Name: enqueue_email("text", "text", "jsonb", "uuid", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."enqueue_email"("to_address" "text", "template" "text", "data" "jsonb" DEFAULT '{}'::"jsonb", "organization_id" "uuid" DEFAULT NULL::"uuid", "dedupe_key" "text" DEFAULT NULL::"text") RETURNS bigint
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  email_id bigint;
begin
  insert into internal.outbox_emails (organization_id, to_address, template, data, dedupe_key)
  values (
    enqueue_email.organization_id, lower(trim(enqueue_email.to_address)), enqueue_email.template,
    coalesce(enqueue_email.data, '{}'), enqueue_email.dedupe_key
  )
  on conflict (dedupe_key) do nothing
  returning id into email_id;
  if email_id is null then
    select e.id into email_id from internal.outbox_emails as e where e.dedupe_key = enqueue_email.dedupe_key;
    return email_id;
  end if;
  update internal.outbox_emails as e
  set job_id = internal.enqueue_job(
    'email.send', jsonb_build_object('email_id', email_id), enqueue_email.organization_id, null, 0, now(), 5, null
  )
  where e.id = email_id;
  return email_id;
end;
$$;

--
-- Name: FUNCTION "enqueue_email"("to_address" "text", "template" "text", "data" "jsonb", "organization_id" "uuid", "dedupe_key" "text"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."enqueue_email"("to_address" "text", "template" "text", "data" "jsonb", "organization_id" "uuid", "dedupe_key" "text") IS 'queue an e-mail (template + data) and its email.send job; idempotent per dedupe_key';

--
-- Name: enqueue_job("text", "jsonb", "uuid", "uuid", integer, timestamp with time zone, integer, "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."enqueue_job"("kind" "text", "payload" "jsonb" DEFAULT '{}'::"jsonb", "organization_id" "uuid" DEFAULT NULL::"uuid", "user_id" "uuid" DEFAULT NULL::"uuid", "priority" integer DEFAULT 0, "run_at" timestamp with time zone DEFAULT "now"(), "max_attempts" integer DEFAULT 3, "dedupe_key" "text" DEFAULT NULL::"text") RETURNS bigint
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  job_id bigint;
begin
  insert into internal.jobs (kind, payload, organization_id, user_id, priority, run_at, max_attempts, dedupe_key)
  values (
    enqueue_job.kind, coalesce(enqueue_job.payload, '{}'), enqueue_job.organization_id, enqueue_job.user_id,
    coalesce(enqueue_job.priority, 0), coalesce(enqueue_job.run_at, now()), coalesce(enqueue_job.max_attempts, 3),
    enqueue_job.dedupe_key
  )
  on conflict (dedupe_key) where dedupe_key is not null and status in ('queued', 'running') do nothing
  returning id into job_id;
  if job_id is null then
    select j.id into job_id from internal.jobs as j
    where j.dedupe_key = enqueue_job.dedupe_key and j.status in ('queued', 'running');
  end if;
  return job_id;
end;
$$;

--
-- Name: enqueue_jobs("text", "jsonb"[], integer[], timestamp with time zone[], "text"[], integer); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."enqueue_jobs"("kind" "text", "payloads" "jsonb"[], "priorities" integer[] DEFAULT NULL::integer[], "run_ats" timestamp with time zone[] DEFAULT NULL::timestamp with time zone[], "dedupe_keys" "text"[] DEFAULT NULL::"text"[], "max_attempts" integer DEFAULT 3) RETURNS SETOF bigint
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  if dedupe_keys is null or cardinality(array_remove(dedupe_keys, null)) = 0 then
    return query
    insert into internal.jobs (kind, payload, priority, run_at, dedupe_key, max_attempts)
    select enqueue_jobs.kind, coalesce(p.payload, '{}'), coalesce(p.priority, 0), coalesce(p.run_at, now()),
      p.dedupe_key, enqueue_jobs.max_attempts
    from unnest(payloads, priorities, run_ats, dedupe_keys) with ordinality as p (payload, priority, run_at, dedupe_key, n)
    order by p.n
    returning id;
    return;
  end if;
  return query
  insert into internal.jobs (kind, payload, priority, run_at, dedupe_key, max_attempts)
  select enqueue_jobs.kind, coalesce(p.payload, '{}'), coalesce(p.priority, 0), coalesce(p.run_at, now()),
    p.dedupe_key, enqueue_jobs.max_attempts
  from unnest(payloads, priorities, run_ats, dedupe_keys) with ordinality as p (payload, priority, run_at, dedupe_key, n)
  order by p.n
  on conflict (dedupe_key) where dedupe_key is not null and status in ('queued', 'running') do nothing
  returning id;
end;
$$;

--
-- Name: enqueue_provisioning_checks("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."enqueue_provisioning_checks"("job_kind" "text") RETURNS integer
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  queued integer := 0;
  org uuid;
begin
  if job_kind is null or job_kind not in ('provisioning.check_health', 'provisioning.collect_usage') then
    raise exception 'enqueue_provisioning_checks: % is not provisioning.check_health or provisioning.collect_usage',
      coalesce(job_kind, 'null') using errcode = '22023';
  end if;
  for org in
    select i.organization_id from public.customer_infrastructure as i where i.status = 'active'
    order by i.organization_id
  loop
    perform internal.enqueue_job(
      job_kind, jsonb_build_object('org_id', org), org, null, 0, now(), 3, job_kind || ':' || org::text
    );
    queued := queued + 1;
  end loop;
  return queued;
end;
$$;

--
-- Name: expire_backup("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."expire_backup"("backup_id" "uuid") RETURNS boolean
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  with expired as (
    update public.backups as b set status = 'expired', expired_at = now()
    where b.id = expire_backup.backup_id and b.status = 'expiring'
    returning b.id
  )
  select exists (select 1 from expired)
$$;

--
-- Name: FUNCTION "expire_backup"("backup_id" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."expire_backup"("backup_id" "uuid") IS 'expiring -> expired once its snapshot and export are removed';

--
-- Name: fail_job(bigint, "uuid", "text", boolean); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."fail_job"("job_id" bigint, "token" "uuid", "message" "text", "retryable" boolean DEFAULT true) RETURNS "internal"."job_status"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  outcome internal.job_status;
begin
  update internal.jobs as j
  set status = case
      when j.cancel_requested_at is not null then 'cancelled'::internal.job_status
      when fail_job.retryable and j.attempts < j.max_attempts then 'queued'::internal.job_status
      else 'failed'::internal.job_status end,
    run_at = case when fail_job.retryable and j.attempts < j.max_attempts
      then now() + make_interval(secs => 5 * power(2, j.attempts - 1) * (0.75 + random() * 0.5))
      else j.run_at end,
    error = left(message, 4000),
    finished_at = case when fail_job.retryable and j.attempts < j.max_attempts and j.cancel_requested_at is null
      then null else now() end,
    lease_owner = null, lease_token = null, lease_expires_at = null
  where j.id = job_id and j.lease_token = token and j.status = 'running'
  returning j.status into outcome;
  return outcome;
end;
$$;

--
-- Name: fail_provisioning_step(bigint, "text", boolean); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."fail_provisioning_step"("step_id" bigint, "message" "text", "for_good" boolean) RETURNS "text"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run public.provisioning_runs;
  step public.provisioning_steps;
begin
  run := internal.provisioning_step_run(step_id, 'running');
  if not for_good then
    update public.provisioning_steps as s set error = left(message, 4000) where s.id = step_id
    returning * into step;
    perform internal.log_provisioning(run.id, step.name, 'warning', 'step failed, will be retried: ' || message);
    return run.status;
  end if;
  update public.provisioning_steps as s
  set status = 'failed', error = left(message, 4000), finished_at = now()
  where s.id = step_id
  returning * into step;
  if run.kind <> 'deprovision' and not internal.provisioning_run_committed(run.id) then
    perform internal.move_provisioning_run(
      run.id, 'compensating', 'step ' || step.name || ' failed for good: ' || message || '; rolling back', 'error',
      left('step ' || step.name || ' failed: ' || message, 2000), step.name
    );
    return 'compensating';
  end if;
  perform internal.move_provisioning_run(
    run.id, 'failed', 'step ' || step.name || ' failed: ' || message || case run.kind
      when 'resize' then '; the new instance serves; fix the cause and run `supakit provision retry`'
      else '; request deprovisioning again once fixed' end,
    'error', left('step ' || step.name || ' failed: ' || message, 2000), step.name
  );
  return 'failed';
end;
$$;

--
-- Name: finish_and_claim_jobs("text", bigint[], "uuid"[], "jsonb"[], integer, "text"[], integer); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."finish_and_claim_jobs"("worker" "text", "ids" bigint[], "tokens" "uuid"[], "results" "jsonb"[], "batch_size" integer, "kinds" "text"[] DEFAULT NULL::"text"[], "lease_seconds" integer DEFAULT 30) RETURNS TABLE("id" bigint, "kind" "text", "payload" "jsonb", "attempts" integer, "max_attempts" integer, "organization_id" "uuid", "user_id" "uuid", "lease_token" "uuid")
    LANGUAGE "sql"
    SET "search_path" TO ''
    SET "plan_cache_mode" TO 'force_generic_plan'
    AS $$
  select set_config('synchronous_commit', 'off', true);
  with completed as (
    update internal.jobs as j
    set status = 'succeeded', result = c.result, finished_at = now(), progress = null,
      lease_owner = null, lease_token = null, lease_expires_at = null, updated_at = now()
    from unnest(ids, tokens, results) as c (id, token, result)
    where j.id = any(ids) and j.id = c.id and j.lease_token = c.token and j.status = 'running'
    returning j.id
  ),
  ready as (
    select j.id from internal.jobs as j
    where j.status = 'queued' and j.run_at <= now() and (kinds is null or j.kind = any(kinds))
    order by j.priority desc, j.run_at, j.id
    limit batch_size
    for update skip locked
  ),
  claimed as (
    update internal.jobs as j
    set status = 'running', attempts = j.attempts + 1, lease_owner = worker, lease_token = (select gen_random_uuid()),
      lease_expires_at = now() + make_interval(secs => lease_seconds), heartbeat_at = now(),
      started_at = coalesce(j.started_at, now()), error = null, updated_at = now()
    where j.id = any(array(select ready.id from ready))
    returning j.id, j.kind, j.payload, j.attempts, j.max_attempts, j.organization_id, j.user_id, j.lease_token
  )
  select
    completed.id, null::text, null::jsonb, null::integer, null::integer, null::uuid, null::uuid, null::uuid
  from completed
  union all
  select
    claimed.id, claimed.kind, claimed.payload, claimed.attempts, claimed.max_attempts, claimed.organization_id,
    claimed.user_id, claimed.lease_token
  from claimed
$$;

--
-- Name: fire_due_schedules(integer); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."fire_due_schedules"("max_count" integer DEFAULT 100) RETURNS TABLE("schedule_name" "text", "slot" timestamp with time zone, "job_id" bigint)
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  due internal.job_schedules;
  latest timestamptz;
  fired boolean;
  new_job bigint;
  slot_text text;
begin
  for due in
    select * from internal.job_schedules as s
    where s.enabled and s.next_run_at <= now()
    order by s.next_run_at, s.name
    limit greatest(coalesce(max_count, 100), 1)
    for update skip locked
  loop
    -- the latest slot due now: the one at or before now (next_run_at itself when it was fired on time)
    latest := internal.next_schedule_slot(due.anchor, due.every, now()) - due.every;
    latest := greatest(latest, due.next_run_at);
    insert into internal.job_schedule_firings as f (schedule_name, slot)
    values (due.name, latest)
    on conflict on constraint job_schedule_firings_pkey do nothing
    returning true into fired;
    new_job := null;
    if fired then
      -- the slot in UTC, whatever the session's time zone: every worker writes the same payload and dedupe key
      slot_text := to_char(latest at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
      new_job := internal.enqueue_job(
        due.kind, due.payload || jsonb_build_object('schedule', due.name, 'slot', slot_text), due.organization_id,
        null, due.priority, now(), due.max_attempts, 'schedule:' || due.name || ':' || slot_text
      );
      update internal.job_schedule_firings as f set job_id = new_job
      where f.schedule_name = due.name and f.slot = latest;
      delete from internal.job_schedule_firings as f
      where f.schedule_name = due.name and f.slot < latest - due.every * 100;
      schedule_name := due.name;
      slot := latest;
      job_id := new_job;
      return next;
    end if;
    update internal.job_schedules as s
    set next_run_at = internal.next_schedule_slot(due.anchor, due.every, now()),
      last_slot = case when fired then latest else s.last_slot end,
      last_job_id = coalesce(new_job, s.last_job_id),
      last_fired_at = case when fired then now() else s.last_fired_at end,
      missed = s.missed + greatest(
        floor(extract(epoch from (latest - due.next_run_at)) / extract(epoch from due.every))::bigint, 0
      ),
      updated_at = now()
    where s.name = due.name;
  end loop;
end;
$$;

--
-- Name: FUNCTION "fire_due_schedules"("max_count" integer); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."fire_due_schedules"("max_count" integer) IS 'enqueue the job of every due schedule once for its latest due slot and move it on; safe for any number of workers';

--
-- Name: has_org_role("uuid", "public"."org_role"[]); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."has_org_role"("org_id" "uuid", "roles" "public"."org_role"[] DEFAULT NULL::"public"."org_role"[]) RETURNS boolean
    LANGUAGE "sql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
  select exists (
    select 1 from public.memberships as m
    where m.organization_id = org_id
      and m.user_id = (select auth.uid())
      and (roles is null or m.role = any(roles))
  )
$$;

--
-- Name: heartbeat_jobs("text", bigint[], "uuid"[], integer, "jsonb"[]); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."heartbeat_jobs"("worker" "text", "ids" bigint[], "tokens" "uuid"[], "lease_seconds" integer DEFAULT 30, "progresses" "jsonb"[] DEFAULT NULL::"jsonb"[]) RETURNS TABLE("id" bigint, "cancel_requested" boolean)
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  update internal.jobs as j
  set lease_expires_at = now() + make_interval(secs => lease_seconds), heartbeat_at = now(),
    progress = coalesce(h.progress, j.progress)
  from unnest(ids, tokens, progresses) as h (id, token, progress)
  where j.id = h.id and j.lease_token = h.token and j.lease_owner = worker and j.status = 'running'
  returning j.id, j.cancel_requested_at is not null
$$;

--
-- Name: invite_member("uuid", "text", "public"."org_role"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role" DEFAULT 'member'::"public"."org_role") RETURNS TABLE("invitation_id" "uuid", "token" "text", "expires_at" timestamp with time zone)
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $_$
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
$_$;

--
-- Name: FUNCTION "invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role") IS 'invites an e-mail address with a role (default member); returns the one-time token';

--
-- Name: keep_provisioning_job_waiting(bigint, "uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."keep_provisioning_job_waiting"("job_id" bigint, "token" "uuid") RETURNS boolean
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  with kept as (
    update internal.jobs as j
    set max_attempts = least(j.max_attempts + 1, 100)
    where
      j.id = keep_provisioning_job_waiting.job_id
      and j.lease_token = keep_provisioning_job_waiting.token
      and j.status = 'running'
      and j.kind in ('provisioning.run', 'provisioning.deprovision')
    returning j.id
  )

  select exists (select from kept)
$$;

--
-- Name: FUNCTION "keep_provisioning_job_waiting"("job_id" bigint, "token" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."keep_provisioning_job_waiting"("job_id" bigint, "token" "uuid") IS 'give a provisioning job whose run waits for another run one more attempt, so the wait is not counted';

--
-- Name: leave_organization("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."leave_organization"("org_id" "uuid") RETURNS "void"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  delete from public.memberships as m where m.organization_id = org_id and m.user_id = (select auth.uid());
  if not found then
    raise exception 'you are not a member of this organization' using errcode = 'PT404';
  end if;
end;
$$;

--
-- Name: FUNCTION "leave_organization"("org_id" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."leave_organization"("org_id" "uuid") IS 'the caller leaves the organization (not its last owner)';

--
-- Name: lock_stripe_event("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."lock_stripe_event"("event_id" "text") RETURNS "void"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select pg_advisory_xact_lock(hashtextextended('supakit.stripe_event:' || event_id, 0))
$$;

--
-- Name: lock_stripe_object("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."lock_stripe_object"("object_id" "text") RETURNS "void"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select pg_advisory_xact_lock(hashtextextended('supakit.stripe:' || object_id, 0))
$$;

--
-- Name: log_provisioning("uuid", "text", "text", "text", "jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."log_provisioning"("run_id" "uuid", "step_name" "text", "level" "text", "message" "text", "data" "jsonb" DEFAULT '{}'::"jsonb") RETURNS "void"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  insert into public.provisioning_logs (run_id, organization_id, step_name, level, message, data)
  select r.id, r.organization_id, log_provisioning.step_name, coalesce(log_provisioning.level, 'info'),
    left(log_provisioning.message, 4000), coalesce(log_provisioning.data, '{}')
  from public.provisioning_runs as r
  where r.id = log_provisioning.run_id
$$;

--
-- Name: mark_jobs_cancelled(bigint[], "uuid"[]); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."mark_jobs_cancelled"("ids" bigint[], "tokens" "uuid"[]) RETURNS SETOF bigint
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  update internal.jobs as j
  set status = 'cancelled', finished_at = now(), error = 'cancelled while running',
    lease_owner = null, lease_token = null, lease_expires_at = null
  from unnest(ids, tokens) as r (id, token)
  where j.id = r.id and j.lease_token = r.token and j.status = 'running'
  returning j.id
$$;

--
-- Name: move_provisioning_run("uuid", "text", "text", "text", "text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."move_provisioning_run"("run_id" "uuid", "status" "text", "message" "text", "level" "text" DEFAULT 'info'::"text", "error" "text" DEFAULT NULL::"text", "current_step" "text" DEFAULT NULL::"text") RETURNS "void"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  update public.provisioning_runs as r
  set status = move_provisioning_run.status, error = coalesce(move_provisioning_run.error, r.error),
    current_step = move_provisioning_run.current_step,
    finished_at = case when move_provisioning_run.status in ('succeeded', 'rolled_back', 'failed') then now() end
  where r.id = move_provisioning_run.run_id;
  if not found then
    raise exception 'no provisioning run %', run_id using errcode = 'P0002';
  end if;
  perform internal.log_provisioning(run_id, null, level, message);
end;
$$;

--
-- Name: next_schedule_slot(timestamp with time zone, interval, timestamp with time zone); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."next_schedule_slot"("anchor" timestamp with time zone, "every" interval, "after" timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select anchor + every * (floor(extract(epoch from (after - anchor)) / extract(epoch from every)) + 1)
$$;

--
-- Name: FUNCTION "next_schedule_slot"("anchor" timestamp with time zone, "every" interval, "after" timestamp with time zone); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."next_schedule_slot"("anchor" timestamp with time zone, "every" interval, "after" timestamp with time zone) IS 'the first slot anchor + n * every strictly after `after`';

--
-- Name: org_role_rank("public"."org_role"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."org_role_rank"("role" "public"."org_role") RETURNS integer
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select case role
    when 'owner' then 60 when 'admin' then 50 when 'manager' then 40
    when 'member' then 30 when 'assistant' then 20 when 'client' then 10
  end
$$;

--
-- Name: FUNCTION "org_role_rank"("role" "public"."org_role"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."org_role_rank"("role" "public"."org_role") IS 'higher is more powerful; "raising" a role means moving to a higher rank';

--
-- Name: organization_audit_log("uuid", integer, bigint); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."organization_audit_log"("org_id" "uuid", "max_rows" integer DEFAULT 100, "before_id" bigint DEFAULT NULL::bigint) RETURNS TABLE("id" bigint, "occurred_at" timestamp with time zone, "actor_id" "uuid", "actor_role" "text", "table_name" "text", "operation" "text", "record_id" "jsonb", "changes" "jsonb")
    LANGUAGE "plpgsql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  if not internal.has_org_role(org_id, '{owner,admin}') then
    raise exception 'only owners and admins read the audit log' using errcode = '42501';
  end if;
  if max_rows is null or max_rows not between 1 and 1000 then
    raise exception 'max_rows must be between 1 and 1000' using errcode = '22023';
  end if;
  return query
  select a.id, a.occurred_at, a.actor_id, a.actor_role, a.table_name, a.operation, a.record_id, a.changes
  from internal.audit_log as a
  where a.organization_id = org_id and (before_id is null or a.id < before_id)
  order by a.id desc
  limit max_rows;
end;
$$;

--
-- Name: FUNCTION "organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint) IS 'an organization''s audit trail, newest first (owners and admins)';

--
-- Name: organization_entitlements("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."organization_entitlements"("org_id" "uuid") RETURNS TABLE("plan_id" "text", "plan_name" "text", "daily_generation_limit" integer, "monthly_generation_limit" integer, "queue_priority" integer, "features" "jsonb", "source" "text", "subscription_status" "text", "access_until" timestamp with time zone)
    LANGUAGE "plpgsql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  if not internal.has_org_role(org_id) then
    raise exception 'you are not a member of this organization' using errcode = '42501';
  end if;
  return query select * from internal.organization_plan(org_id);
end;
$$;

--
-- Name: organization_owner_emails("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."organization_owner_emails"("org_id" "uuid") RETURNS SETOF "text"
    LANGUAGE "sql" STABLE
    SET "search_path" TO ''
    AS $$
  select u.email::text
  from public.memberships as m
  inner join auth.users as u on m.user_id = u.id
  where m.organization_id = org_id and m.role = 'owner' and u.email is not null
  order by m.created_at, u.email
$$;

--
-- Name: organization_plan("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."organization_plan"("org_id" "uuid") RETURNS TABLE("plan_id" "text", "plan_name" "text", "daily_generation_limit" integer, "monthly_generation_limit" integer, "queue_priority" integer, "features" "jsonb", "source" "text", "subscription_status" "text", "access_until" timestamp with time zone)
    LANGUAGE "sql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
  with candidates as (
    select
      s.plan_id,
      'subscription' as source,
      1 as rank,
      s.status,
      case when s.status = 'past_due' then s.past_due_since + interval '7 days' end as access_until
    from public.subscriptions as s
    where
      s.organization_id = org_id
      and (s.status in ('active', 'trialing') or (s.status = 'past_due' and s.past_due_since + interval '7 days' > now()))
    union all
    select a.plan_id, 'assignment', 2, null, null
    from internal.plan_assignments as a where a.organization_id = org_id
    union all
    select 'free', 'default', 3, null, null
  )
  select p.id, p.name, p.daily_generation_limit, p.monthly_generation_limit, p.queue_priority, p.features,
    c.source, c.status, c.access_until
  from candidates as c
  inner join public.plans as p on c.plan_id = p.id
  order by c.rank, p.queue_priority desc
  limit 1
$$;

--
-- Name: FUNCTION "organization_plan"("org_id" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."organization_plan"("org_id" "uuid") IS 'the effective plan and limits of an organization now (subscription, 7-day past_due grace, assignment, Free)';

--
-- Name: plan_instance_type("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."plan_instance_type"("plan_id" "text") RETURNS "text"
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select case plan_id when 'pro' then 't3.small' when 'team' then 't3.medium' else 't3.micro' end
$$;

--
-- Name: postgrest_error_body("text", "text", "text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."postgrest_error_body"("code" "text", "message" "text", "details" "text" DEFAULT NULL::"text", "hint" "text" DEFAULT NULL::"text") RETURNS json
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select (
    '{"code":' || coalesce(to_json(code)::text, 'null')
    || ',"details":' || coalesce(to_json(details)::text, 'null')
    || ',"hint":' || coalesce(to_json(hint)::text, 'null')
    || ',"message":' || coalesce(to_json(message)::text, 'null') || '}'
  )::json
$$;

--
-- Name: process_stripe_event("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."process_stripe_event"("event_id" "text") RETURNS TABLE("outcome" "text", "error" "text", "attempts" integer)
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  stored internal.stripe_events;
  result text;
  message text;
  state text;
begin
  select * into stored from internal.stripe_events as e where e.id = event_id for update;
  begin
    result := coalesce(internal.apply_stripe_event(stored.payload), 'ignored');
  exception when others then
    get stacked diagnostics message = message_text, state = returned_sqlstate;
    update internal.stripe_events as e
    set error = message || ' (SQLSTATE ' || state || ')', attempts = e.attempts + 1, last_attempt_at = now()
    where e.id = event_id;
    return query select 'failed'::text, message, stored.attempts + 1;
    return;
  end;
  update internal.stripe_events as e
  set processed_at = now(), outcome = result, error = null, attempts = e.attempts + 1, last_attempt_at = now()
  where e.id = event_id;
  return query select result, null::text, stored.attempts + 1;
end;
$$;

--
-- Name: provisioning_run_committed("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."provisioning_run_committed"("run_id" "uuid") RETURNS boolean
    LANGUAGE "sql" STABLE
    SET "search_path" TO ''
    AS $$
  select exists (
    select 1 from public.provisioning_runs as r
    inner join public.provisioning_steps as s on s.run_id = r.id
    where r.id = provisioning_run_committed.run_id and r.kind = 'resize' and s.name = 'switch_dns'
      and s.status = 'succeeded'
  )
$$;

--
-- Name: provisioning_status("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."provisioning_status"("org_id" "uuid") RETURNS "jsonb"
    LANGUAGE "plpgsql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  infra public.customer_infrastructure;
  latest public.provisioning_runs;
  last_check public.instance_health_checks;
  day_usage public.infrastructure_usage;
  queued internal.resize_requests;
  since timestamptz;
begin
  if ((select auth.uid()) is not null or coalesce((select auth.jwt()) ->> 'role', '') in ('anon', 'authenticated'))
    and not internal.has_org_role(org_id) or not exists (
      select 1 from public.organizations as o where o.id = org_id
    ) then
    raise exception 'organization % not found or you are not a member', org_id
      using errcode = '42501', hint = 'Ask an owner of the organization to invite you.';
  end if;
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  select * into latest from public.provisioning_runs as r
  where r.organization_id = org_id order by r.created_at desc, r.id limit 1;
  select * into last_check from public.instance_health_checks as c
  where c.organization_id = org_id order by c.checked_at desc, c.id desc limit 1;
  select c.checked_at into since from public.instance_health_checks as c
  where c.organization_id = org_id and c.status is distinct from c.previous_status
  order by c.checked_at desc, c.id desc limit 1;
  select * into day_usage from public.infrastructure_usage as u
  where u.organization_id = org_id order by u.day desc limit 1;
  select * into queued from internal.resize_requests as q where q.organization_id = org_id;
  return jsonb_build_object(
    'organization_id', org_id,
    'infrastructure', case when infra.organization_id is not null then jsonb_build_object(
      'status', infra.status, 'provider', infra.provider, 'plan_id', infra.plan_id, 'subdomain', infra.subdomain,
      'public_address', infra.public_address, 'instance_type', internal.current_instance_type(infra.resources),
      'updated_at', infra.updated_at
    ) end,
    'services', jsonb_build_object(
      'instance', jsonb_build_object(
        'state', case when infra.organization_id is null then 'none'
          when infra.status <> 'active' then infra.status
          else coalesce(last_check.instance_state, 'unknown') end,
        'instance_type', internal.current_instance_type(infra.resources),
        'address', infra.public_address, 'provider', infra.provider
      ),
      'dns', jsonb_build_object(
        'state', case when infra.resources ? 'dns' then 'active' else 'none' end,
        'name', infra.subdomain, 'address', infra.resources #>> '{dns,address}'
      ),
      'site', jsonb_build_object(
        'state', case when infra.status = 'active' then coalesce(last_check.status, 'unknown') else 'unknown' end,
        'url', last_check.url, 'http_status', last_check.http_status, 'latency_ms', last_check.latency_ms,
        'error', last_check.error, 'checked_at', last_check.checked_at
      )
    ),
    'health', case when last_check.id is not null then jsonb_build_object(
      'status', last_check.status, 'since', since, 'checked_at', last_check.checked_at,
      'history', (
        select jsonb_agg(jsonb_build_object(
          'checked_at', h.checked_at, 'status', h.status, 'instance_state', h.instance_state,
          'http_status', h.http_status, 'latency_ms', h.latency_ms, 'timed_out', h.timed_out, 'error', h.error
        ) order by h.checked_at desc, h.id desc)
        from (
          select * from public.instance_health_checks as c0 where c0.organization_id = org_id
          order by c0.checked_at desc, c0.id desc limit 20
        ) as h
      )
    ) end,
    'usage', case when day_usage.organization_id is not null then jsonb_build_object(
      'day', day_usage.day, 'period_start', day_usage.period_start, 'storage_bytes', day_usage.storage_bytes,
      'bandwidth_bytes', day_usage.bandwidth_bytes, 'users', day_usage.users, 'sources', day_usage.sources,
      'collected_at', day_usage.collected_at
    ) end,
    'sagas', coalesce((
      select jsonb_agg(jsonb_build_object(
        'id', r.id, 'kind', r.kind, 'status', r.status, 'current_step', r.current_step, 'plan_id', r.plan_id,
        'instance_type', r.instance_type, 'previous_instance_type', r.previous_instance_type, 'reason', r.reason,
        'created_at', r.created_at, 'started_at', r.started_at,
        'steps', coalesce((
          select jsonb_agg(jsonb_build_object('name', s.name, 'status', s.status, 'attempts', s.attempts)
            order by s.ordinal)
          from public.provisioning_steps as s where s.run_id = r.id
        ), '[]'::jsonb)
      ) order by r.created_at)
      from public.provisioning_runs as r
      where r.organization_id = org_id and r.status in ('pending', 'running', 'compensating')
    ), '[]'::jsonb),
    'backups', jsonb_build_object(
      'latest', (
        select jsonb_build_object(
          'id', b.id, 'status', b.status, 'reason', b.reason, 'size_bytes', b.size_bytes,
          'created_at', b.created_at, 'finished_at', b.finished_at, 'error', b.error
        )
        from public.backups as b where b.organization_id = org_id order by b.created_at desc, b.id limit 1
      ),
      'last_succeeded_at', (
        select max(b.finished_at) from public.backups as b
        where b.organization_id = org_id and b.status in ('succeeded', 'expiring')
      )
    ),
    'resize', jsonb_build_object(
      'queued', case when queued.organization_id is not null then jsonb_build_object(
        'instance_type', queued.instance_type, 'reason', queued.reason, 'requested_at', queued.requested_at
      ) end
    ),
    'run', case when latest.id is not null then jsonb_build_object(
      'id', latest.id, 'kind', latest.kind, 'status', latest.status, 'plan_id', latest.plan_id,
      'provider', latest.provider, 'reason', latest.reason, 'current_step', latest.current_step,
      'instance_type', latest.instance_type, 'error', latest.error, 'created_at', latest.created_at,
      'started_at', latest.started_at, 'finished_at', latest.finished_at
    ) end,
    'steps', coalesce((
      select jsonb_agg(jsonb_build_object(
        'ordinal', s.ordinal, 'name', s.name, 'status', s.status, 'attempts', s.attempts, 'error', s.error,
        'started_at', s.started_at, 'finished_at', s.finished_at, 'compensated_at', s.compensated_at
      ) order by s.ordinal)
      from public.provisioning_steps as s where s.run_id = latest.id
    ), '[]'::jsonb),
    'logs', coalesce((
      select jsonb_agg(jsonb_build_object(
        'at', l.created_at, 'level', l.level, 'step', l.step_name, 'message', l.message
      ) order by l.id)
      from (
        select * from public.provisioning_logs as l0 where l0.run_id = latest.id order by l0.id desc limit 100
      ) as l
    ), '[]'::jsonb)
  );
end;
$$;

--
-- Name: FUNCTION "provisioning_status"("org_id" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."provisioning_status"("org_id" "uuid") IS 'the customer dashboard''s status of an organization''s infrastructure (members only); called through public.provisioning_status';

--
-- Name: provisioning_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."provisioning_runs" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "kind" "text" DEFAULT 'provision'::"text" NOT NULL,
    "plan_id" "text" NOT NULL,
    "provider" "text",
    "reason" "text" DEFAULT 'manual'::"text" NOT NULL,
    "status" "text" DEFAULT 'pending'::"text" NOT NULL,
    "current_step" "text",
    "job_id" bigint,
    "error" "text",
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "started_at" timestamp with time zone,
    "finished_at" timestamp with time zone,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "backup_id" "uuid",
    "instance_type" "text",
    "previous_plan_id" "text",
    "previous_instance_type" "text",
    CONSTRAINT "finished_iff_finished_at" CHECK ((("status" = ANY (ARRAY['succeeded'::"text", 'rolled_back'::"text", 'failed'::"text"])) = ("finished_at" IS NOT NULL))),
    CONSTRAINT "instance_type_is_an_instance_type" CHECK (("instance_type" ~ '^[a-z][a-z0-9-]*\.[a-z0-9]+$'::"text")),
    CONSTRAINT "kind_is_known" CHECK (("kind" = ANY (ARRAY['provision'::"text", 'deprovision'::"text", 'backup'::"text", 'restore'::"text", 'resize'::"text"]))),
    CONSTRAINT "provider_is_a_slug" CHECK (("provider" ~ '^[a-z][a-z0-9_]*$'::"text")),
    CONSTRAINT "started_unless_pending" CHECK ((("status" = 'pending'::"text") = ("started_at" IS NULL))),
    CONSTRAINT "status_is_known" CHECK (("status" = ANY (ARRAY['pending'::"text", 'running'::"text", 'succeeded'::"text", 'compensating'::"text", 'rolled_back'::"text", 'failed'::"text"])))
);

--
-- Name: TABLE "provisioning_runs"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."provisioning_runs" IS 'one attempt to build (kind provision) or tear down (kind deprovision) an organization''s infrastructure';

--
-- Name: COLUMN "provisioning_runs"."kind"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_runs"."kind" IS 'provision | deprovision (sql/0012) | backup | restore (sql/0031)';

--
-- Name: COLUMN "provisioning_runs"."provider"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_runs"."provider" IS 'set by the worker when it starts the run (SUPAKIT_PROVISIONING_PROVIDER)';

--
-- Name: COLUMN "provisioning_runs"."status"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_runs"."status" IS 'pending -> running (a worker took it) -> succeeded; running -> compensating (a step failed for good) -> rolled_back (every done step undone) | failed (an undo failed too: resources may be left, retry); a deprovision run goes running -> failed when a step fails (nothing to compensate); failed -> compensating on retry';

--
-- Name: COLUMN "provisioning_runs"."job_id"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_runs"."job_id" IS 'internal.jobs id; not a foreign key because finished jobs are pruned';

--
-- Name: COLUMN "provisioning_runs"."backup_id"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_runs"."backup_id" IS 'a backup run: the backup it takes; a restore run: the backup it restores (sql/0031)';

--
-- Name: COLUMN "provisioning_runs"."instance_type"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_runs"."instance_type" IS 'resize runs: the instance type the run makes (the plan''s, or the one asked for with --instance-type)';

--
-- Name: COLUMN "provisioning_runs"."previous_plan_id"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_runs"."previous_plan_id" IS 'resize runs: the plan the replaced instance was sized for';

--
-- Name: COLUMN "provisioning_runs"."previous_instance_type"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_runs"."previous_instance_type" IS 'resize runs: the instance type of the replaced instance';

--
-- Name: provisioning_step_run(bigint, "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."provisioning_step_run"("step_id" bigint, "phase" "text") RETURNS "public"."provisioning_runs"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run public.provisioning_runs;
begin
  select r.* into run from public.provisioning_runs as r
  join public.provisioning_steps as s on s.run_id = r.id
  where s.id = step_id
  for update of r;
  if run.id is null then
    raise exception 'no provisioning step %', step_id using errcode = 'P0002';
  end if;
  if run.status <> phase then
    raise exception 'provisioning run % is %, not %: this executor no longer owns it', run.id, run.status, phase
      using errcode = '55000', hint = 'Its job ended and the run was ended with it; the executor stops here.';
  end if;
  return run;
end;
$$;

--
-- Name: prune_health_checks(interval); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."prune_health_checks"("keep" interval DEFAULT '30 days'::interval) RETURNS integer
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  with gone as (
    delete from public.instance_health_checks as c where c.checked_at < now() - keep returning 1
  )
  select count(*)::integer from gone
$$;

--
-- Name: prune_jobs(integer, integer); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."prune_jobs"("keep_succeeded" integer DEFAULT 100, "keep_failed" integer DEFAULT 500) RETURNS bigint
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  with ranked as (
    select j.id, j.status,
      row_number() over (
        partition by j.kind, j.status = 'succeeded' order by j.finished_at desc, j.id desc
      ) as n
    from internal.jobs as j
    where j.status in ('succeeded', 'failed', 'cancelled')
  ),
  removed as (
    delete from internal.jobs as j
    using ranked as r
    where j.id = r.id
      and r.n > case when r.status = 'succeeded' then keep_succeeded else keep_failed end
    returning 1
  )
  select count(*) from removed
$$;

--
-- Name: reap_expired_leases(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."reap_expired_leases"() RETURNS TABLE("id" bigint, "status" "internal"."job_status")
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  return query
  with expired as (
    select j.id from internal.jobs as j
    where j.status = 'running' and j.lease_expires_at < now()
    for update skip locked
  )
  update internal.jobs as j
  set status = case
      when j.cancel_requested_at is not null then 'cancelled'::internal.job_status
      when j.lease_losses + 1 >= j.max_lease_losses then 'failed'::internal.job_status
      else 'queued'::internal.job_status end,
    finished_at = case when j.cancel_requested_at is null and j.lease_losses + 1 < j.max_lease_losses then null
      else now() end,
    attempts = greatest(j.attempts - 1, 0),
    lease_losses = j.lease_losses + 1,
    error = case when j.cancel_requested_at is null and j.lease_losses + 1 >= j.max_lease_losses
      then 'lease lost ' || (j.lease_losses + 1) || ' times (max_lease_losses): every worker that ran it died or '
      || 'hung; the last was ' || j.lease_owner
      else 'lease expired: the worker ' || j.lease_owner || ' stopped heart-beating (lease loss '
        || (j.lease_losses + 1) || ' of ' || j.max_lease_losses || '; the attempt is not counted)' end,
    lease_owner = null, lease_token = null, lease_expires_at = null
  from expired
  where j.id = expired.id
  returning j.id, j.status;
  if found then
    perform pg_notify('supakit_jobs', '');  -- requeued jobs are ready now: wake idle workers
  end if;
end;
$$;

--
-- Name: receive_channel_message("text", "text", "text", "text", "text", "jsonb", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."receive_channel_message"("channel" "text", "to_address" "text", "from_address" "text", "twilio_sid" "text", "body" "text", "media" "jsonb" DEFAULT '[]'::"jsonb", "profile_name" "text" DEFAULT NULL::"text") RETURNS "jsonb"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: receive_stripe_event("jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."receive_stripe_event"("event" "jsonb") RETURNS TABLE("outcome" "text", "error" "text", "attempts" integer)
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  event_id text := event ->> 'id';
  stored_processed_at timestamptz;
  stored_attempts integer;
  result text;
  message text;
  state text;
begin
  perform internal.lock_stripe_event(event_id);
  select e.processed_at, e.attempts into stored_processed_at, stored_attempts
  from internal.stripe_events as e where e.id = event_id for update;
  if found then
    if stored_processed_at is not null then
      return query select 'duplicate'::text, null::text, stored_attempts;
      return;
    end if;
    return query select * from internal.process_stripe_event(event_id);
    return;
  end if;
  begin
    result := coalesce(internal.apply_stripe_event(event), 'ignored');
  exception when others then
    get stacked diagnostics message = message_text, state = returned_sqlstate;
    insert into internal.stripe_events (
      id, type, api_version, livemode, stripe_created_at, object_id, payload, error, attempts, last_attempt_at
    )
    values (
      event_id, event ->> 'type', event ->> 'api_version', coalesce((event ->> 'livemode')::boolean, false),
      internal.stripe_time(event ->> 'created'), event #>> '{data,object,id}', event,
      message || ' (SQLSTATE ' || state || ')', 1, now()
    );
    return query select 'failed'::text, message, 1;
    return;
  end;
  insert into internal.stripe_events (
    id, type, api_version, livemode, stripe_created_at, object_id, payload, processed_at, outcome, attempts,
    last_attempt_at
  )
  values (
    event_id, event ->> 'type', event ->> 'api_version', coalesce((event ->> 'livemode')::boolean, false),
    internal.stripe_time(event ->> 'created'), event #>> '{data,object,id}', event, now(), result, 1, now()
  );
  return query select result, null::text, 1;
end;
$$;

--
-- Name: receive_unstorable_stripe_event("jsonb", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."receive_unstorable_stripe_event"("event" "jsonb", "problem" "text") RETURNS TABLE("outcome" "text", "error" "text", "attempts" integer)
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  stored internal.stripe_events;
begin
  perform internal.lock_stripe_event(event ->> 'id');
  insert into internal.stripe_events (id, type, api_version, livemode, stripe_created_at, object_id, payload)
  values (
    event ->> 'id', event ->> 'type', event ->> 'api_version', coalesce((event ->> 'livemode')::boolean, false),
    internal.stripe_time(event ->> 'created'), event #>> '{data,object,id}', event
  )
  on conflict (id) do nothing;
  select * into stored from internal.stripe_events as e where e.id = event ->> 'id' for update;
  if stored.processed_at is not null then
    return query select 'duplicate'::text, null::text, stored.attempts;
    return;
  end if;
  update internal.stripe_events as e
  set error = left(problem, 2000), attempts = e.attempts + 1, last_attempt_at = now()
  where e.id = stored.id;
  return query select 'unstorable'::text, left(problem, 2000), stored.attempts + 1;
end;
$$;

--
-- Name: record_channel_send("uuid", "text", "text", "text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."record_channel_send"("message_id" "uuid", "twilio_sid" "text", "twilio_status" "text", "error_code" "text" DEFAULT NULL::"text", "error_message" "text" DEFAULT NULL::"text") RETURNS "text"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: record_channel_status("text", "text", "text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."record_channel_status"("twilio_sid" "text", "twilio_status" "text", "error_code" "text" DEFAULT NULL::"text", "error_message" "text" DEFAULT NULL::"text") RETURNS "text"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: instance_health_checks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."instance_health_checks" (
    "id" bigint NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "checked_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "status" "text" NOT NULL,
    "previous_status" "text",
    "provider" "text",
    "instance_state" "text" NOT NULL,
    "instance_ok" boolean NOT NULL,
    "url" "text",
    "http_status" integer,
    "latency_ms" integer,
    "timed_out" boolean DEFAULT false NOT NULL,
    "error" "text",
    CONSTRAINT "error_is_short" CHECK (("char_length"("error") <= 2000)),
    CONSTRAINT "http_status_is_a_status" CHECK ((("http_status" >= 100) AND ("http_status" <= 599))),
    CONSTRAINT "instance_state_is_a_word" CHECK (("instance_state" ~ '^[a-z][a-z0-9_-]{0,40}$'::"text")),
    CONSTRAINT "latency_ms_not_negative" CHECK (("latency_ms" >= 0)),
    CONSTRAINT "previous_status_is_known" CHECK (("previous_status" = ANY (ARRAY['healthy'::"text", 'degraded'::"text", 'down'::"text"]))),
    CONSTRAINT "status_is_known" CHECK (("status" = ANY (ARRAY['healthy'::"text", 'degraded'::"text", 'down'::"text"]))),
    CONSTRAINT "url_is_short" CHECK (("char_length"("url") <= 2000))
);

--
-- Name: TABLE "instance_health_checks"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."instance_health_checks" IS 'every health check of an organization''s instance, newest last: the provider''s state and the site''s HTTP answer';

--
-- Name: COLUMN "instance_health_checks"."status"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."instance_health_checks"."status" IS 'healthy (instance running, site answered 2xx/3xx in time) | degraded (instance running, site failed or timed out) | down (instance not running or gone)';

--
-- Name: COLUMN "instance_health_checks"."previous_status"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."instance_health_checks"."previous_status" IS 'the status of the check before this one (null for the first): a change is where they differ';

--
-- Name: COLUMN "instance_health_checks"."instance_state"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."instance_health_checks"."instance_state" IS 'the provider''s word: running, pending, stopping, stopped, shutting-down, terminated, missing, unknown';

--
-- Name: COLUMN "instance_health_checks"."timed_out"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."instance_health_checks"."timed_out" IS 'the HTTP check got no answer within health.timeout_s';

--
-- Name: record_health_check("uuid", "jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."record_health_check"("org_id" "uuid", "result" "jsonb") RETURNS "public"."instance_health_checks"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  recorded public.instance_health_checks;
  instance_ok boolean := coalesce((result ->> 'instance_ok')::boolean, false);
  http_status integer := (result ->> 'http_status')::integer;
  timed_out boolean := coalesce((result ->> 'timed_out')::boolean, false);
begin
  insert into public.instance_health_checks (
    organization_id, status, previous_status, provider, instance_state, instance_ok, url, http_status, latency_ms,
    timed_out, error
  )
  values (
    org_id,
    case when not instance_ok then 'down'
      when http_status between 200 and 399 and not timed_out then 'healthy'
      else 'degraded' end,
    (select c.status from public.instance_health_checks as c where c.organization_id = org_id
      order by c.checked_at desc, c.id desc limit 1),
    result ->> 'provider', coalesce(nullif(result ->> 'instance_state', ''), 'unknown'), instance_ok,
    left(result ->> 'url', 2000), http_status, (result ->> 'latency_ms')::integer, timed_out,
    left(result ->> 'error', 2000)
  )
  returning * into recorded;
  return recorded;
end;
$$;

--
-- Name: FUNCTION "record_health_check"("org_id" "uuid", "result" "jsonb"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."record_health_check"("org_id" "uuid", "result" "jsonb") IS 'record a health check of the organization''s instance; its status (healthy, degraded, down) is decided here';

--
-- Name: infrastructure_usage; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."infrastructure_usage" (
    "organization_id" "uuid" NOT NULL,
    "day" "date" NOT NULL,
    "period_start" "date" NOT NULL,
    "storage_bytes" bigint,
    "bandwidth_bytes" bigint,
    "users" integer NOT NULL,
    "sources" "jsonb" DEFAULT '{}'::"jsonb" NOT NULL,
    "collected_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "figures_not_negative" CHECK ((("storage_bytes" >= 0) AND ("bandwidth_bytes" >= 0) AND ("users" >= 0))),
    CONSTRAINT "period_start_is_the_month_of_day" CHECK (("period_start" = ("date_trunc"('month'::"text", ("day")::timestamp with time zone))::"date")),
    CONSTRAINT "sources_is_an_object" CHECK (("jsonb_typeof"("sources") = 'object'::"text"))
);

--
-- Name: TABLE "infrastructure_usage"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."infrastructure_usage" IS 'an organization''s usage, one row per UTC day (the latest collection that day): storage, bandwidth, users';

--
-- Name: COLUMN "infrastructure_usage"."storage_bytes"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."infrastructure_usage"."storage_bytes" IS 'bytes the customer''s instance holds (local: its schema and files; aws: its EBS volumes); null: not measured';

--
-- Name: COLUMN "infrastructure_usage"."bandwidth_bytes"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."infrastructure_usage"."bandwidth_bytes" IS 'bytes in and out of the instance since period_start (aws: CloudWatch NetworkIn + NetworkOut); null: not measured';

--
-- Name: COLUMN "infrastructure_usage"."users"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."infrastructure_usage"."users" IS 'members of the organization when collected';

--
-- Name: COLUMN "infrastructure_usage"."sources"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."infrastructure_usage"."sources" IS 'where each figure came from, by figure name';

--
-- Name: record_usage("uuid", "jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."record_usage"("org_id" "uuid", "figures" "jsonb") RETURNS "public"."infrastructure_usage"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  today date := (now() at time zone 'utc')::date;
  recorded public.infrastructure_usage;
begin
  insert into public.infrastructure_usage as u (
    organization_id, day, period_start, storage_bytes, bandwidth_bytes, users, sources, collected_at
  )
  values (
    org_id, today, date_trunc('month', today)::date, (figures ->> 'storage_bytes')::bigint,
    (figures ->> 'bandwidth_bytes')::bigint,
    (select count(*) from public.memberships as m where m.organization_id = org_id),
    coalesce(figures -> 'sources', '{}') || jsonb_build_object('users', 'members in public.memberships'), now()
  )
  on conflict (organization_id, day) do update
  set storage_bytes = excluded.storage_bytes, bandwidth_bytes = excluded.bandwidth_bytes, users = excluded.users,
    sources = excluded.sources, collected_at = excluded.collected_at
  returning * into recorded;
  return recorded;
end;
$$;

--
-- Name: FUNCTION "record_usage"("org_id" "uuid", "figures" "jsonb"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."record_usage"("org_id" "uuid", "figures" "jsonb") IS 'record today''s usage of an organization (one row per UTC day; users counted from memberships)';

--
-- Name: release_jobs(bigint[], "uuid"[]); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."release_jobs"("ids" bigint[], "tokens" "uuid"[]) RETURNS SETOF bigint
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  -- keeps its place in line (run_at never moves later) and wakes idle workers
  return query
  update internal.jobs as j
  set status = 'queued', attempts = greatest(j.attempts - 1, 0), run_at = least(j.run_at, now()),
    lease_owner = null, lease_token = null, lease_expires_at = null
  from unnest(ids, tokens) as r (id, token)
  where j.id = r.id and j.lease_token = r.token and j.status = 'running'
  returning j.id;
  if found then
    perform pg_notify('supakit_jobs', '');
  end if;
end;
$$;

--
-- Name: remove_member("uuid", "uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."remove_member"("org_id" "uuid", "user_id" "uuid") RETURNS "void"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  if not internal.has_org_role(org_id) then
    raise exception 'you are not a member of this organization' using errcode = '42501';
  end if;
  delete from public.memberships as m where m.organization_id = org_id and m.user_id = remove_member.user_id;
  if not found then
    raise exception 'user % is not a member of this organization', remove_member.user_id using errcode = 'PT404';
  end if;
end;
$$;

--
-- Name: FUNCTION "remove_member"("org_id" "uuid", "user_id" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."remove_member"("org_id" "uuid", "user_id" "uuid") IS 'removes a member: owners remove anyone, admins members below owner; the last owner stays';

--
-- Name: replay_stripe_event("text", boolean); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."replay_stripe_event"("event_id" "text", "force" boolean DEFAULT false) RETURNS TABLE("outcome" "text", "error" "text", "attempts" integer)
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  stored internal.stripe_events;
begin
  select * into stored from internal.stripe_events as e where e.id = event_id for update;
  if not found then
    raise exception 'no Stripe event % in the ledger', event_id using errcode = 'P0002',
      hint = 'List failed events with `supakit billing events --failed`.';
  end if;
  if stored.processed_at is not null and not force then
    return query select 'duplicate'::text, null::text, stored.attempts;
    return;
  end if;
  return query select * from internal.process_stripe_event(event_id);
end;
$$;

--
-- Name: reply_suggestion_context("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."reply_suggestion_context"("suggestion_id" "uuid") RETURNS "jsonb"
    LANGUAGE "sql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: request_backup("uuid", "text", timestamp with time zone); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."request_backup"("org_id" "uuid", "reason" "text" DEFAULT 'manual'::"text", "slot" timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS "uuid"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run_id uuid;
  new_backup uuid;
  infra public.customer_infrastructure;
begin
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  if slot is not null then
    select r.id into run_id from public.backups as b join public.provisioning_runs as r on r.backup_id = b.id
    where b.organization_id = org_id and b.slot = request_backup.slot and r.kind = 'backup';
    if found then
      return run_id;
    end if;
  end if;
  select r.id into run_id from public.provisioning_runs as r
  where r.organization_id = org_id and r.kind = 'backup' and r.status in ('pending', 'running', 'compensating');
  if run_id is not null then
    return run_id;
  end if;
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  if infra.status is distinct from 'active' then
    return null;
  end if;
  insert into public.backups (organization_id, plan_id, provider, reason, slot)
  values (org_id, coalesce(infra.plan_id, 'free'), infra.provider, coalesce(reason, 'manual'), slot)
  returning id into new_backup;
  insert into public.provisioning_runs (organization_id, kind, plan_id, provider, reason, backup_id)
  values (org_id, 'backup', coalesce(infra.plan_id, 'free'), infra.provider, coalesce(reason, 'manual'), new_backup)
  returning id into run_id;
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run_id), org_id, null, 0, now(), 5, 'backup:' || org_id::text
  )
  where r.id = run_id;
  perform internal.log_provisioning(
    run_id, null, 'info', 'backup requested', jsonb_build_object('reason', reason, 'slot', slot, 'backup_id', new_backup)
  );
  return run_id;
end;
$$;

--
-- Name: FUNCTION "request_backup"("org_id" "uuid", "reason" "text", "slot" timestamp with time zone); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."request_backup"("org_id" "uuid", "reason" "text", "slot" timestamp with time zone) IS 'queue one backup (row, run and job) of an organization''s active infrastructure; one per slot, one live at a time';

--
-- Name: request_deprovisioning("uuid", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."request_deprovisioning"("org_id" "uuid", "reason" "text" DEFAULT 'manual'::"text") RETURNS "uuid"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run_id uuid;
  infra public.customer_infrastructure;
begin
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  select r.id into run_id from public.provisioning_runs as r
  where r.organization_id = org_id and r.kind = 'deprovision' and r.status in ('pending', 'running', 'compensating');
  if run_id is not null then
    return run_id;
  end if;
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  if infra.organization_id is null or infra.status = 'deleted' then
    return null;
  end if;
  insert into public.provisioning_runs (organization_id, kind, plan_id, provider, reason)
  values (org_id, 'deprovision', coalesce(infra.plan_id, 'free'), infra.provider, coalesce(reason, 'manual'))
  returning id into run_id;
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.deprovision', jsonb_build_object('run_id', run_id), org_id, null, 0, now(), 10,
    'deprovisioning:' || org_id::text
  )
  where r.id = run_id;
  insert into public.provisioning_logs (run_id, organization_id, message, data)
  values (run_id, org_id, 'deprovisioning requested', jsonb_build_object('reason', reason));
  return run_id;
end;
$$;

--
-- Name: FUNCTION "request_deprovisioning"("org_id" "uuid", "reason" "text"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."request_deprovisioning"("org_id" "uuid", "reason" "text") IS 'queue one deprovision run and its provisioning.deprovision job; idempotent under concurrency';

--
-- Name: request_generation("text", "text", "uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."request_generation"("prompt" "text", "app_type" "text" DEFAULT 'generic'::"text", "org_id" "uuid" DEFAULT NULL::"uuid") RETURNS json
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $_$
declare
  caller uuid := (select auth.uid());
  org uuid := request_generation.org_id;
  plan record;
  used_today integer;
  used_this_month integer;
  day_start timestamptz := date_trunc('day', now(), 'UTC');
  month_start timestamptz := date_trunc('month', now(), 'UTC');
  refused_period text;
  refused_message text;
  refused_hint text := 'Wait for the reset, or upgrade the plan.';
  refused_limit integer;
  resets_at timestamptz;
  refusals_today integer;
  created public.generations;
begin
  if caller is null then
    raise exception 'sign in to request a generation' using errcode = '42501';
  end if;
  if org is null then
    select min(m.organization_id::text)::uuid into org from public.memberships as m where m.user_id = caller
    having count(*) = 1;
    if org is null then
      raise exception 'pass org_id: you belong to no organization or to several'
        using errcode = '22023', hint = 'Call request_generation(prompt, app_type, org_id).';
    end if;
  end if;
  if not internal.has_org_role(org) then
    raise exception 'you are not a member of this organization' using errcode = '42501';
  end if;
  if request_generation.prompt is null or char_length(btrim(request_generation.prompt)) not between 1 and 20000 then
    raise exception 'the prompt must be 1 to 20000 characters' using errcode = '22023';
  end if;
  if coalesce(request_generation.app_type, '') !~ '^[a-z][a-z0-9_-]{0,39}$' then
    raise exception 'app_type "%" is not valid: use lowercase letters, digits, - and _', request_generation.app_type
      using errcode = '22023';
  end if;

  -- Serialise this organization's requests so two concurrent ones cannot both take the last unit of quota.
  perform pg_advisory_xact_lock(hashtextextended('supakit.quota:' || org::text, 0));
  select * into plan from internal.organization_plan(org);
  select
    count(*) filter (where g.created_at >= day_start),
    count(*)
  into used_today, used_this_month
  from public.generations as g
  where g.organization_id = org and g.created_at >= least(day_start, month_start)
    and g.status not in ('failed', 'cancelled');
  if plan.daily_generation_limit is not null and used_today >= plan.daily_generation_limit then
    refused_period := 'day';
    refused_limit := plan.daily_generation_limit;
    resets_at := day_start + interval '1 day';
    refused_message := format('daily limit reached: the %s plan allows %s generations a day; it resets at %s UTC',
      plan.plan_name, plan.daily_generation_limit, to_char(resets_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'));
  elsif plan.monthly_generation_limit is not null and used_this_month >= plan.monthly_generation_limit then
    refused_period := 'month';
    refused_limit := plan.monthly_generation_limit;
    resets_at := month_start + interval '1 month';
    refused_message := format('monthly limit reached: the %s plan allows %s generations a month; it resets at %s UTC',
      plan.plan_name, plan.monthly_generation_limit, to_char(resets_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'));
  end if;

  if refused_period is not null then
    if nullif(current_setting('request.method', true), '') is null then
      -- Not a PostgREST request: nothing would read response.status, so refuse the way SQL callers expect.
      raise exception using message = refused_message, errcode = 'PT429', hint = refused_hint;
    end if;
    insert into internal.quota_refusals as r (organization_id, user_id, day, last_period)
    values (org, caller, (now() at time zone 'UTC')::date, refused_period)
    on conflict (organization_id, user_id, day) do update
    set refusals = r.refusals + 1, last_period = excluded.last_period, last_refused_at = now()
    returning r.refusals into refusals_today;
    if refusals_today = 1 then
      insert into internal.analytics_events (event, organization_id, user_id, properties)
      values ('generation.quota_refused', org, caller, jsonb_build_object(
        'plan', plan.plan_id, 'period', refused_period, 'limit', refused_limit, 'resets_at', resets_at
      ));
    end if;
    perform set_config('response.status', '429', true);
    return internal.postgrest_error_body('PT429', refused_message, null, refused_hint);
  end if;

  insert into public.generations (organization_id, user_id, prompt, app_type)
  values (org, caller, request_generation.prompt, request_generation.app_type)
  returning * into created;
  update public.generations as g
  set job_id = internal.enqueue_job(
    'ai.generate',
    jsonb_build_object('generation_id', created.id, 'prompt', created.prompt, 'app_type', created.app_type),
    org, caller, plan.queue_priority
  )
  where g.id = created.id
  returning * into created;
  insert into internal.analytics_events (event, organization_id, user_id, generation_id, job_id, properties)
  values ('generation.requested', org, caller, created.id, created.job_id,
    jsonb_build_object('app_type', created.app_type, 'plan', plan.plan_id));
  return to_json(created);
end;
$_$;

--
-- Name: FUNCTION "request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid") IS 'request an AI generation; returns the generation row as JSON; over quota: HTTP 429 with PT429 (see sql/0008)';

--
-- Name: request_provisioning("uuid", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."request_provisioning"("org_id" "uuid", "reason" "text" DEFAULT 'manual'::"text") RETURNS "uuid"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run_id uuid;
  infra_status text;
  plan text;
begin
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  select r.id into run_id from public.provisioning_runs as r
  where r.organization_id = org_id and r.kind = 'provision' and r.status in ('pending', 'running', 'compensating');
  if run_id is not null then
    return run_id;
  end if;
  select i.status into infra_status from public.customer_infrastructure as i where i.organization_id = org_id;
  if infra_status in ('active', 'failed') then
    return null;
  end if;
  select p.plan_id into plan from internal.organization_plan(org_id) as p;
  insert into public.provisioning_runs (organization_id, kind, plan_id, reason)
  values (org_id, 'provision', coalesce(plan, 'free'), coalesce(reason, 'manual'))
  returning id into run_id;
  insert into public.customer_infrastructure as i (organization_id, plan_id, status, last_run_id)
  values (org_id, coalesce(plan, 'free'), 'provisioning', run_id)
  on conflict (organization_id) do update
  set plan_id = excluded.plan_id, status = 'provisioning', last_run_id = excluded.last_run_id, updated_at = now();
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run_id), org_id, null, 0, now(), 5,
    'provisioning:' || org_id::text
  )
  where r.id = run_id;
  insert into public.provisioning_logs (run_id, organization_id, message, data)
  values (run_id, org_id, 'provisioning requested', jsonb_build_object('reason', reason, 'plan', plan));
  return run_id;
end;
$$;

--
-- Name: FUNCTION "request_provisioning"("org_id" "uuid", "reason" "text"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."request_provisioning"("org_id" "uuid", "reason" "text") IS 'queue one provisioning run and its provisioning.run job for an organization; idempotent under concurrency';

--
-- Name: request_reply_suggestion("uuid", "uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."request_reply_suggestion"("message_id" "uuid", "requested_by" "uuid") RETURNS json
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: request_resize("uuid", "text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."request_resize"("org_id" "uuid", "reason" "text" DEFAULT 'manual'::"text", "instance_type" "text" DEFAULT NULL::"text", OUT "run_id" "uuid", OUT "action" "text") RETURNS "record"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $_$
declare
  infra public.customer_infrastructure;
  live public.provisioning_runs;
  last_status text;
  target_plan text;
  target_type text;
  current_type text;
  wanted text := coalesce(nullif(btrim(request_resize.reason), ''), 'manual');
  needed boolean;
begin
  if request_resize.instance_type is not null
    and request_resize.instance_type !~ '^[a-z][a-z0-9-]*\.[a-z0-9]+$' then
    raise exception '"%" is not an instance type', left(request_resize.instance_type, 100)
      using errcode = '22023', hint = 'Name an EC2 instance type such as t3.medium.';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  if infra.organization_id is null or infra.status <> 'active' or exists (
    select 1 from public.provisioning_runs as r
    where r.organization_id = org_id and r.kind = 'deprovision' and r.status in ('pending', 'running', 'compensating')
  ) then
    action := 'not_active';
    return;
  end if;
  select p.plan_id into target_plan from internal.organization_plan(org_id) as p;
  target_plan := coalesce(target_plan, 'free');
  target_type := coalesce(request_resize.instance_type, internal.plan_instance_type(target_plan));
  current_type := internal.current_instance_type(infra.resources);
  needed := case when request_resize.instance_type is null then target_plan is distinct from infra.plan_id
    else target_type is distinct from current_type end;

  select * into live from public.provisioning_runs as r
  where r.organization_id = org_id and r.kind = 'resize' and r.status in ('pending', 'running', 'compensating');
  if live.id is null then
    select r.status into last_status from public.provisioning_runs as r
    where r.organization_id = org_id and r.kind = 'resize' order by r.created_at desc, r.id limit 1;
  end if;

  if live.status = 'pending' then
    -- not started: the latest request wins (a worker that starts it meanwhile makes this update miss)
    update public.provisioning_runs as r
    set plan_id = target_plan, instance_type = target_type, reason = wanted
    where r.id = live.id and r.status = 'pending'
    returning * into live;
    if live.id is not null then
      run_id := live.id;
      if not needed or target_type is not distinct from current_type then
        update public.provisioning_runs as r set status = 'running', started_at = now() where r.id = live.id;
        update public.provisioning_runs as r set status = 'compensating' where r.id = live.id;
        update public.provisioning_runs as r
        set status = 'rolled_back', finished_at = now(),
          error = 'superseded before it started: ' || left(wanted, 200) || ' asks for the size that runs now'
        where r.id = live.id;
        perform internal.log_provisioning(live.id, null, 'info',
          'resize superseded before it started: the instance already has the size now asked for');
        action := 'superseded';
      else
        perform internal.log_provisioning(live.id, null, 'info',
          'resize retargeted before it started: ' || target_type || ' (plan ' || target_plan || ')',
          jsonb_build_object('reason', wanted, 'plan', target_plan, 'instance_type', target_type));
        action := 'merged';
      end if;
      return;
    end if;
    select * into live from public.provisioning_runs as r
    where r.organization_id = org_id and r.kind = 'resize' and r.status in ('pending', 'running', 'compensating');
  end if;

  if live.id is not null or last_status = 'failed' then
    -- one resize at a time: this one waits; a newer request replaces an older waiting one. (No log line on the
    -- running run here: the worker holds its row locked while it waits for this lock.)
    insert into internal.resize_requests as q (organization_id, instance_type, reason)
    values (org_id, request_resize.instance_type, wanted)
    on conflict (organization_id) do update
    set instance_type = excluded.instance_type, reason = excluded.reason, requested_at = now();
    run_id := live.id;
    action := 'queued';
    return;
  end if;

  if not needed then
    action := 'nothing';
    return;
  end if;
  if target_type is not distinct from current_type then
    update public.customer_infrastructure as i set plan_id = target_plan, updated_at = now()
    where i.organization_id = org_id;
    action := 'updated';
    return;
  end if;

  insert into public.provisioning_runs (
    organization_id, kind, plan_id, provider, reason, instance_type, previous_plan_id, previous_instance_type
  )
  values (org_id, 'resize', target_plan, infra.provider, wanted, target_type, infra.plan_id, current_type)
  returning id into run_id;
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run_id), org_id, null, 0, now(), 5, 'resize:' || org_id::text
  )
  where r.id = run_id;
  perform internal.log_provisioning(run_id, null, 'info',
    'resize requested: ' || coalesce(current_type, 'unknown') || ' -> ' || target_type,
    jsonb_build_object('reason', wanted, 'from_plan', infra.plan_id, 'to_plan', target_plan,
      'from_instance_type', current_type, 'to_instance_type', target_type));
  action := 'requested';
end;
$_$;

--
-- Name: FUNCTION "request_resize"("org_id" "uuid", "reason" "text", "instance_type" "text", OUT "run_id" "uuid", OUT "action" "text"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."request_resize"("org_id" "uuid", "reason" "text", "instance_type" "text", OUT "run_id" "uuid", OUT "action" "text") IS 'request (or merge into the live one) a resize of the organization''s instance; one resize at a time';

--
-- Name: request_restore("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."request_restore"("backup_id" "uuid") RETURNS "uuid"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  org_id uuid;
begin
  if backup_id is null then
    raise exception 'backup_id is required' using errcode = '22023', hint = 'Pass the id of a succeeded backup.';
  end if;
  select b.organization_id into org_id from public.backups as b where b.id = request_restore.backup_id;
  if org_id is null or not internal.has_org_role(org_id, '{owner}') then
    raise exception 'backup not found' using errcode = 'PT404',
      hint = 'Only an owner of the backup''s organization may restore it.';
  end if;
  return internal.request_restore_run(backup_id, 'requested by ' || coalesce((select auth.uid())::text, 'an owner'));
end;
$$;

--
-- Name: FUNCTION "request_restore"("backup_id" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."request_restore"("backup_id" "uuid") IS 'owners: restore a succeeded backup of their organization; returns the restore run''s id';

--
-- Name: request_restore_run("uuid", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."request_restore_run"("backup_id" "uuid", "reason" "text" DEFAULT 'manual'::"text") RETURNS "uuid"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  chosen public.backups;
  live public.provisioning_runs;
  run_id uuid;
begin
  select * into chosen from public.backups as b where b.id = request_restore_run.backup_id;
  if chosen.id is null then
    raise exception 'backup % not found', backup_id using errcode = 'P0002',
      hint = 'List the organization''s backups with `supakit provision backups --org <id>` or GET /rest/v1/backups.';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || chosen.organization_id::text, 0));
  select * into chosen from public.backups as b where b.id = request_restore_run.backup_id;
  if chosen.status <> 'succeeded' then
    raise exception 'backup % is %: only a succeeded backup can be restored', chosen.id, chosen.status
      using errcode = '22023', hint = 'Choose a backup whose status is succeeded.';
  end if;
  select * into live from public.provisioning_runs as r
  where r.organization_id = chosen.organization_id and r.kind = 'restore'
    and r.status in ('pending', 'running', 'compensating');
  if live.id is not null then
    if live.backup_id = chosen.id then
      return live.id;
    end if;
    raise exception 'a restore of backup % is already in progress for this organization', live.backup_id
      using errcode = '55000', hint = 'Wait for it to finish (supakit provision status), then request this one.';
  end if;
  if not exists (
    select 1 from public.customer_infrastructure as i
    where i.organization_id = chosen.organization_id and i.status = 'active'
  ) then
    raise exception 'the organization''s infrastructure is not active: there is nothing to restore into'
      using errcode = '55000', hint = 'Provision it first (supakit provision run), then restore.';
  end if;
  insert into public.provisioning_runs (organization_id, kind, plan_id, provider, reason, backup_id)
  values (chosen.organization_id, 'restore', chosen.plan_id, chosen.provider, coalesce(reason, 'manual'), chosen.id)
  returning id into run_id;
  update public.provisioning_runs as r
  set job_id = internal.enqueue_job(
    'provisioning.run', jsonb_build_object('run_id', run_id), chosen.organization_id, null, 0, now(), 5,
    'restore:' || chosen.organization_id::text
  )
  where r.id = run_id;
  perform internal.log_provisioning(
    run_id, null, 'info', 'restore requested',
    jsonb_build_object('reason', reason, 'backup_id', chosen.id, 'backup_created_at', chosen.created_at)
  );
  return run_id;
end;
$$;

--
-- Name: FUNCTION "request_restore_run"("backup_id" "uuid", "reason" "text"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."request_restore_run"("backup_id" "uuid", "reason" "text") IS 'queue the restore (run and job) of a succeeded backup; idempotent for the same backup, one restore at a time';

--
-- Name: retry_job(bigint); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."retry_job"("job_id" bigint) RETURNS "internal"."job_status"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  update internal.jobs as j
  set status = 'queued', attempts = 0, lease_losses = 0, run_at = now(), finished_at = null,
    cancel_requested_at = null
  where j.id = job_id and j.status in ('failed', 'cancelled')
  returning j.status
$$;

--
-- Name: retry_provisioning("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."retry_provisioning"("org_id" "uuid", OUT "run_id" "uuid", OUT "action" "text") RETURNS "record"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  latest record;
begin
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || org_id::text, 0));
  select r.id, r.kind, r.status, r.instance_type, j.status::text as job_status into latest
  from public.provisioning_runs as r left join internal.jobs as j on r.job_id = j.id
  where r.organization_id = org_id and r.kind in ('provision', 'deprovision', 'resize')
  order by r.created_at desc, r.id
  limit 1;
  if latest.id is null then
    action := 'no_run';
  elsif latest.status = 'succeeded' then
    run_id := latest.id;
    action := 'succeeded';
  elsif latest.status = 'rolled_back' and latest.kind = 'resize' then
    select q.run_id into run_id from internal.request_resize(org_id, 'retry', latest.instance_type) as q;
    action := 'requested';
  elsif latest.status = 'rolled_back' then
    run_id := internal.request_provisioning(org_id, 'retry');
    action := 'requested';
  elsif latest.kind = 'deprovision' and latest.status = 'failed' then
    run_id := internal.request_deprovisioning(org_id, 'retry');
    action := 'requested';
  elsif latest.job_status in ('queued', 'running') then
    run_id := latest.id;
    action := 'left';
  else
    update public.provisioning_runs as r
    set job_id = internal.enqueue_job(
      case r.kind when 'deprovision' then 'provisioning.deprovision' else 'provisioning.run' end,
      jsonb_build_object('run_id', r.id), r.organization_id, null, 0, now(),
      case r.kind when 'deprovision' then 10 else 5 end,
      case r.kind when 'deprovision' then 'deprovisioning:' when 'resize' then 'resize:' else 'provisioning:' end
      || r.organization_id::text
    )
    where r.id = latest.id;
    insert into public.provisioning_logs (run_id, organization_id, message)
    values (latest.id, org_id, 'retry requested');
    run_id := latest.id;
    action := 'requeued';
  end if;
end;
$$;

--
-- Name: FUNCTION "retry_provisioning"("org_id" "uuid", OUT "run_id" "uuid", OUT "action" "text"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."retry_provisioning"("org_id" "uuid", OUT "run_id" "uuid", OUT "action" "text") IS 'retry the organization''s latest provisioning run: request a new one, leave it, or queue its job again';

--
-- Name: revoke_invitation("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."revoke_invitation"("invitation_id" "uuid") RETURNS "void"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  invitation public.invitations;
begin
  select * into invitation from public.invitations as i where i.id = invitation_id for update;
  if not found or not internal.has_org_role(invitation.organization_id, '{owner,admin}') then
    raise exception 'invitation not found' using errcode = 'PT404';
  end if;
  if invitation.accepted_at is not null then
    raise exception 'this invitation was already accepted; remove the member instead' using errcode = 'PT409';
  end if;
  if invitation.revoked_at is null then
    update public.invitations as i set revoked_at = now() where i.id = invitation_id;
  end if;
end;
$$;

--
-- Name: FUNCTION "revoke_invitation"("invitation_id" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."revoke_invitation"("invitation_id" "uuid") IS 'revokes a pending invitation (owners and admins)';

--
-- Name: set_stripe_subscription_status("text", "text"[], "text", timestamp with time zone, "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."set_stripe_subscription_status"("sub_id" "text", "from_statuses" "text"[], "new_status" "text", "version" timestamp with time zone, "event_id" "text") RETURNS "void"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  update public.subscriptions as s
  set status = new_status, last_event_at = version, last_event_id = event_id, updated_at = now()
  where s.stripe_subscription_id = sub_id and s.status = any(from_statuses) and s.last_event_at <= version
$$;

--
-- Name: conversations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."conversations" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "kind" "text" DEFAULT 'group'::"text" NOT NULL,
    "title" "text",
    "created_by" "uuid",
    "direct_user_low" "uuid",
    "direct_user_high" "uuid",
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "direct_iff_pair" CHECK ((("kind" = 'direct'::"text") = (("direct_user_low" IS NOT NULL) AND ("direct_user_high" IS NOT NULL)))),
    CONSTRAINT "direct_pair_is_ordered" CHECK (("direct_user_low" < "direct_user_high")),
    CONSTRAINT "kind_is_known" CHECK (("kind" = ANY (ARRAY['direct'::"text", 'group'::"text", 'support'::"text"]))),
    CONSTRAINT "title_is_not_blank" CHECK ((("title" IS NULL) OR (("char_length"("btrim"("title")) >= 1) AND ("char_length"("btrim"("title")) <= 200))))
);

--
-- Name: TABLE "conversations"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."conversations" IS 'a chat inside one organization: direct (two people), group, or support (a client and the team)';

--
-- Name: COLUMN "conversations"."kind"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."conversations"."kind" IS 'direct: exactly two participants, one per pair and organization (start_direct_conversation); group; support';

--
-- Name: COLUMN "conversations"."direct_user_low"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."conversations"."direct_user_low" IS 'direct conversations: the smaller of the two user ids (with direct_user_high, the unique pair); not a foreign key so that a deleted account leaves the other person''s history in place';

--
-- Name: start_direct_conversation("uuid", "uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."start_direct_conversation"("other_user" "uuid", "org_id" "uuid" DEFAULT NULL::"uuid") RETURNS "public"."conversations"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: start_provisioning_run("uuid", "text", "text"[]); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."start_provisioning_run"("run_id" "uuid", "provider" "text", "step_names" "text"[]) RETURNS "text"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run public.provisioning_runs;
begin
  update public.provisioning_runs as r
  set status = 'running', provider = start_provisioning_run.provider, started_at = now()
  where r.id = start_provisioning_run.run_id and r.status = 'pending'
  returning * into run;
  if run.id is null then
    return (select r.status from public.provisioning_runs as r where r.id = start_provisioning_run.run_id);
  end if;
  insert into public.provisioning_steps (run_id, organization_id, ordinal, name, idempotency_key)
  select run.id, run.organization_id, s.ordinal, s.name, run.id::text || ':' || s.name
  from unnest(step_names) with ordinality as s (name, ordinal)
  on conflict on constraint provisioning_steps_run_id_ordinal_key do nothing;
  perform internal.log_provisioning(
    run.id, null, 'info', run.kind || ' run started with provider ' || run.provider,
    jsonb_build_object('plan', run.plan_id, 'steps', to_jsonb(step_names))
  );
  return run.status;
end;
$$;

--
-- Name: start_provisioning_step(bigint); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."start_provisioning_step"("step_id" bigint) RETURNS integer
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run public.provisioning_runs;
  step public.provisioning_steps;
  resumed boolean;
begin
  run := internal.provisioning_step_run(step_id, 'running');
  select * into step from public.provisioning_steps as s where s.id = step_id;
  resumed := step.status = 'running';
  update public.provisioning_steps as s
  set status = 'running', attempts = s.attempts + 1, started_at = coalesce(s.started_at, now()), error = null
  where s.id = step_id
  returning * into step;
  update public.provisioning_runs as r set current_step = step.name where r.id = run.id;
  perform internal.log_provisioning(
    run.id, step.name, 'info',
    case when resumed then 'resuming step (it was in flight when its worker stopped)' else 'step started' end
    || ', attempt ' || step.attempts
  );
  return step.attempts;
end;
$$;

--
-- Name: stripe_id("jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."stripe_id"("ref" "jsonb") RETURNS "text"
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select case jsonb_typeof(ref) when 'string' then ref #>> '{}' when 'object' then ref ->> 'id' end
$$;

--
-- Name: stripe_organization("text", "jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."stripe_organization"("customer_id" "text", "metadata" "jsonb" DEFAULT NULL::"jsonb") RETURNS "uuid"
    LANGUAGE "sql" STABLE
    SET "search_path" TO ''
    AS $_$
  select coalesce(
    (select c.organization_id from public.billing_customers as c where c.stripe_customer_id = customer_id),
    (
      select o.id from public.organizations as o
      where (metadata ->> 'organization_id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        and o.id = (metadata ->> 'organization_id')::uuid
    )
  )
$_$;

--
-- Name: stripe_plan_for_price("text", "text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."stripe_plan_for_price"("price_id" "text", "metadata_plan_id" "text" DEFAULT NULL::"text") RETURNS "text"
    LANGUAGE "sql" STABLE
    SET "search_path" TO ''
    AS $$
  select coalesce(
    (
      select p.id from public.plans as p
      where price_id is not null and price_id in (p.stripe_price_monthly, p.stripe_price_yearly)
    ),
    (select p.id from public.plans as p where p.id = metadata_plan_id)
  )
$$;

--
-- Name: stripe_time("text"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."stripe_time"("epoch" "text") RETURNS timestamp with time zone
    LANGUAGE "sql" IMMUTABLE
    SET "search_path" TO ''
    AS $$
  select to_timestamp(nullif(epoch, '')::double precision)
$$;

--
-- Name: succeed_provisioning_step(bigint, "jsonb", "jsonb"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."succeed_provisioning_step"("step_id" bigint, "output" "jsonb", "record" "jsonb" DEFAULT NULL::"jsonb") RETURNS "void"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  run public.provisioning_runs;
  step public.provisioning_steps;
begin
  run := internal.provisioning_step_run(step_id, 'running');
  update public.provisioning_steps as s
  set status = 'succeeded', output = succeed_provisioning_step.output, finished_at = now(), error = null
  where s.id = step_id
  returning * into step;
  if run.kind = 'provision' then
    update public.customer_infrastructure as i
    set resources = i.resources || jsonb_build_object(step.name, coalesce(record, output, '{}')),
      provider = run.provider,
      subdomain = coalesce(output ->> 'subdomain', i.subdomain),
      public_address = coalesce(output ->> 'public_address', i.public_address),
      updated_at = now()
    where i.organization_id = run.organization_id;
  end if;
  perform internal.log_provisioning(run.id, step.name, 'info', 'step done',
    case when run.kind = 'provision' then coalesce(output, '{}') else '{}' end);
end;
$$;

--
-- Name: sync_backup_schedule("uuid"); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."sync_backup_schedule"("org_id" "uuid") RETURNS timestamp with time zone
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
declare
  policy internal.backup_policies;
  infra public.customer_infrastructure;
begin
  select * into infra from public.customer_infrastructure as i where i.organization_id = org_id;
  select * into policy from internal.backup_policies as p where p.plan_id = infra.plan_id;
  if infra.status is distinct from 'active' or policy.plan_id is null then
    delete from internal.job_schedules as s where s.name = 'backups:' || org_id::text;
    return null;
  end if;
  return internal.upsert_job_schedule(
    'backups:' || org_id::text, 'provisioning.backup', policy.every,
    jsonb_build_object('organization_id', org_id), org_id, 0, 3
  );
end;
$$;

--
-- Name: FUNCTION "sync_backup_schedule"("org_id" "uuid"); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."sync_backup_schedule"("org_id" "uuid") IS 'create, change or remove the organization''s `backups:<id>` schedule from its infrastructure and plan; its next slot';

--
-- Name: tg_audit(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_audit"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  old_row jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) end;
  new_row jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) end;
  row_now jsonb := coalesce(new_row, old_row);
  key_columns text[] := string_to_array(tg_argv[1], ',');
  secret_columns text[] := coalesce(string_to_array(nullif(tg_argv[2], ''), ','), '{}');
  diff jsonb;
begin
  -- INSERT: {"new": v}; DELETE: {"old": v}; UPDATE: {"old": v1, "new": v2}, nulls kept (a column set to null)
  select coalesce(jsonb_object_agg(
    k.key,
    case
      when k.key = any(secret_columns) then
        (case when tg_op <> 'INSERT' then '{"old": "[redacted]"}'::jsonb else '{}' end)
        || (case when tg_op <> 'DELETE' then '{"new": "[redacted]"}'::jsonb else '{}' end)
      when tg_op = 'INSERT' then jsonb_build_object('new', new_row -> k.key)
      when tg_op = 'DELETE' then jsonb_build_object('old', old_row -> k.key)
      else jsonb_build_object('old', old_row -> k.key, 'new', new_row -> k.key)
    end
  ), '{}')
  into diff
  from jsonb_object_keys(row_now) as k (key)
  where k.key <> 'updated_at'
    and (tg_op <> 'UPDATE' or (old_row -> k.key) is distinct from (new_row -> k.key));

  if tg_op = 'UPDATE' and diff = '{}' then
    return null;
  end if;

  insert into internal.audit_log (actor_id, actor_role, organization_id, table_name, operation, record_id, changes)
  values (
    (select auth.uid()),
    coalesce((select auth.role()), session_user::text),
    (row_now ->> tg_argv[0])::uuid,
    tg_table_schema || '.' || tg_table_name,
    tg_op,
    (select jsonb_object_agg(c.col, row_now -> c.col) from unnest(key_columns) as c (col)),
    diff
  );
  return null;
end;
$$;

--
-- Name: FUNCTION "tg_audit"(); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."tg_audit"() IS 'after insert/update/delete: appends the change to internal.audit_log (args: org column, key columns, secrets)';

--
-- Name: tg_audit_log__refuse_change(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_audit_log__refuse_change"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  raise exception 'internal.audit_log is append-only: % is not allowed', tg_op
    using errcode = '42501', hint = 'Audit rows are never changed or removed.';
end;
$$;

--
-- Name: tg_backups__check_transition(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_backups__check_transition"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  new.updated_at := now();
  if new.status = old.status then
    return new;
  end if;
  if (old.status, new.status) not in (
    ('pending', 'running'),
    ('pending', 'failed'),
    ('running', 'succeeded'),
    ('running', 'failed'),
    ('succeeded', 'expiring'),
    ('expiring', 'expired')
  ) then
    raise exception 'backup %: illegal status transition % -> %', old.id, old.status, new.status
      using errcode = '22023', hint = 'See the comment on public.backups.status for the legal transitions.';
  end if;
  return new;
end;
$$;

--
-- Name: tg_conversation_participants__before_delete(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_conversation_participants__before_delete"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  if exists (select 1 from public.conversations as c where c.id = old.conversation_id and c.kind = 'direct')
    and exists (select 1 from auth.users as u where u.id = old.user_id) then
    raise exception 'a direct conversation keeps both of its participants'
      using errcode = 'PT409', hint = 'Mute it instead (muted = true).';
  end if;
  return old;
end;
$$;

--
-- Name: tg_conversation_participants__before_insert(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_conversation_participants__before_insert"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: tg_conversation_participants__pin(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_conversation_participants__pin"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  if (new.conversation_id, new.user_id, new.organization_id)
    is distinct from (old.conversation_id, old.user_id, old.organization_id) then
    raise exception 'a participant cannot move to another conversation or user'
      using errcode = '22023', hint = 'Remove the participant and add the other user.';
  end if;
  return new;
end;
$$;

--
-- Name: tg_conversations__add_creator(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_conversations__add_creator"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  if new.kind <> 'direct' and new.created_by is not null then
    insert into public.conversation_participants (conversation_id, user_id, role)
    values (new.id, new.created_by, 'owner')
    on conflict (conversation_id, user_id) do nothing;
  end if;
  return null;
end;
$$;

--
-- Name: tg_conversations__check_direct_pair(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_conversations__check_direct_pair"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: tg_conversations__pin(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_conversations__pin"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  if (new.organization_id, new.kind, new.direct_user_low, new.direct_user_high)
    is distinct from (old.organization_id, old.kind, old.direct_user_low, old.direct_user_high) then
    raise exception 'a conversation''s organization, kind and direct pair cannot change'
      using errcode = '22023', hint = 'Start a new conversation instead.';
  end if;
  return new;
end;
$$;

--
-- Name: tg_customer_infrastructure__backup_schedule(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_customer_infrastructure__backup_schedule"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  perform internal.sync_backup_schedule(new.organization_id);
  return null;
end;
$$;

--
-- Name: tg_customer_infrastructure__check_schedules(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_customer_infrastructure__check_schedules"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  if not exists (select 1 from internal.job_schedules as s where s.name = 'provisioning.check_health') then
    perform internal.upsert_job_schedule('provisioning.check_health', 'provisioning.check_health', interval '5 minutes');
  end if;
  if not exists (select 1 from internal.job_schedules as s where s.name = 'provisioning.collect_usage') then
    perform internal.upsert_job_schedule('provisioning.collect_usage', 'provisioning.collect_usage', interval '1 hour');
  end if;
  return null;
end;
$$;

--
-- Name: tg_generations__broadcast(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_generations__broadcast"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  current_row record;
  previous_row record;
begin
  select new.id, new.organization_id, new.user_id, new.app_type, new.status, new.error_message, new.attempts,
    new.input_tokens, new.output_tokens, new.duration_ms, new.created_at, new.started_at, new.completed_at,
    new.updated_at
  into current_row;
  if tg_op = 'UPDATE' then
    if new.status is not distinct from old.status and new.attempts is not distinct from old.attempts then
      return null;
    end if;
    select old.id, old.organization_id, old.user_id, old.app_type, old.status, old.error_message, old.attempts,
      old.input_tokens, old.output_tokens, old.duration_ms, old.created_at, old.started_at, old.completed_at,
      old.updated_at
    into previous_row;
  end if;
  perform realtime.broadcast_changes(
    'org:' || new.organization_id::text || ':jobs', tg_op, tg_op, tg_table_name, tg_table_schema,
    current_row, previous_row
  );
  return null;
end;
$$;

--
-- Name: tg_instance_health_checks__broadcast(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_instance_health_checks__broadcast"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  if new.status is not distinct from new.previous_status then
    return null;
  end if;
  perform realtime.broadcast_changes(
    'org:' || new.organization_id::text || ':provisioning', tg_op, tg_op, tg_table_name, tg_table_schema, new, null
  );
  return null;
end;
$$;

--
-- Name: tg_jobs__check_transition(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_jobs__check_transition"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  new.updated_at := now();
  if new.status = old.status then
    return new;
  end if;
  if (old.status, new.status) not in (
    ('queued', 'running'),  -- claimed
    ('queued', 'cancelled'),  -- cancelled before it ran
    ('running', 'succeeded'),
    ('running', 'failed'),  -- permanent error or attempts spent
    ('running', 'queued'),  -- retry after a retryable error, an expired lease, or a graceful release
    ('running', 'cancelled'),  -- the worker observed a cancel request
    ('failed', 'queued'),  -- manual retry (supakit jobs retry)
    ('cancelled', 'queued')  -- manual retry
  ) then
    raise exception 'job %: illegal status transition % -> %', old.id, old.status, new.status
      using errcode = '22023', hint = 'See the comments on internal.job_status for the legal transitions.';
  end if;
  return new;
end;
$$;

--
-- Name: tg_jobs__end_provisioning_run(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_jobs__end_provisioning_run"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  begin
    perform internal.end_provisioning_run_of_job(new.id, new.status::text, new.error);
  exception
    when serialization_failure or deadlock_detected or lock_not_available then
      raise;
    when others then
      raise warning 'job %: could not end its provisioning run: % (SQLSTATE %)', new.id, sqlerrm, sqlstate
        using hint = 'Look at the run with `supakit provision status`; `supakit provision retry` re-queues it.';
  end;
  return null;
end;
$$;

--
-- Name: tg_jobs__fail_channel_delivery(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_jobs__fail_channel_delivery"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: tg_jobs__fail_reply_suggestion(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_jobs__fail_reply_suggestion"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: tg_jobs__notify(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_jobs__notify"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  perform pg_notify('supakit_jobs', '');
  return null;
end;
$$;

--
-- Name: tg_jobs__sync_generation(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_jobs__sync_generation"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  generation public.generations;
begin
  update public.generations as g
  set status = new.status::text,
    attempts = new.attempts,
    started_at = case when new.status = 'running' then coalesce(g.started_at, now()) else g.started_at end,
    completed_at = case when new.status in ('succeeded', 'failed', 'cancelled') then now() end,
    result = case when new.status = 'succeeded' then new.result ->> 'text' else g.result end,
    model = coalesce(new.result ->> 'model', g.model),
    input_tokens = coalesce((new.result ->> 'input_tokens')::integer, g.input_tokens),
    output_tokens = coalesce((new.result ->> 'output_tokens')::integer, g.output_tokens),
    duration_ms = coalesce((new.result ->> 'duration_ms')::integer, g.duration_ms),
    error_message = case when new.status in ('failed', 'queued') then new.error else g.error_message end,
    updated_at = now()
  where g.job_id = new.id
  returning * into generation;
  if not found then
    return null;
  end if;

  if new.status = 'succeeded' and generation.user_id is not null then
    insert into public.usage_counters as u
      (organization_id, user_id, period, period_start, generations, input_tokens, output_tokens)
    select generation.organization_id, generation.user_id, p.period, p.start, 1,
      coalesce(generation.input_tokens, 0), coalesce(generation.output_tokens, 0)
    from (values
      ('day', (now() at time zone 'UTC')::date),
      ('month', date_trunc('month', now() at time zone 'UTC')::date)
    ) as p (period, start)
    on conflict (organization_id, user_id, period, period_start) do update
    set generations = u.generations + 1, input_tokens = u.input_tokens + excluded.input_tokens,
      output_tokens = u.output_tokens + excluded.output_tokens, updated_at = now();
  end if;

  insert into internal.analytics_events (event, organization_id, user_id, generation_id, job_id, properties)
  values (
    case new.status
      when 'running' then 'generation.started' when 'succeeded' then 'generation.succeeded'
      when 'failed' then 'generation.failed' when 'cancelled' then 'generation.cancelled'
      else 'generation.retrying'
    end,
    generation.organization_id, generation.user_id, generation.id, new.id,
    jsonb_strip_nulls(jsonb_build_object(
      'attempt', new.attempts, 'error', new.error, 'input_tokens', generation.input_tokens,
      'output_tokens', generation.output_tokens, 'duration_ms', generation.duration_ms
    ))
  );
  return null;
end;
$$;

--
-- Name: tg_memberships__enforce_rules(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_memberships__enforce_rules"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  actor uuid := (select auth.uid());
  actor_role public.org_role;
  org uuid := coalesce(old.organization_id, new.organization_id);
  removes_owner boolean := old.role = 'owner' and (tg_op = 'DELETE' or new.role <> 'owner');
begin
  if tg_op = 'UPDATE' and (new.organization_id, new.user_id) is distinct from (old.organization_id, old.user_id) then
    raise exception 'a membership cannot move to another organization or user'
      using errcode = '22023', hint = 'Remove the membership and invite the user instead.';
  end if;

  perform 1 from public.organizations as o where o.id = org for update;
  if not found then
    return coalesce(new, old);  -- the organization itself is being deleted
  end if;

  if actor is not null then
    select m.role into actor_role from public.memberships as m
    where m.organization_id = org and m.user_id = actor;

    if actor = old.user_id then
      if tg_op = 'UPDATE' and internal.org_role_rank(new.role) > internal.org_role_rank(old.role) then
        raise exception 'you cannot raise your own role (from % to %)', old.role, new.role
          using errcode = '42501', hint = 'Ask an owner or admin of the organization to change it.';
      end if;
    elsif actor_role is null or actor_role not in ('owner', 'admin') then
      raise exception 'only owners and admins manage members'
        using errcode = '42501', hint = 'Ask an owner or admin of the organization.';
    elsif actor_role = 'admin' and (old.role = 'owner' or (tg_op = 'UPDATE' and new.role = 'owner')) then
      raise exception 'only owners can change, grant or remove the owner role'
        using errcode = '42501', hint = 'Ask an owner of the organization.';
    end if;
  end if;

  if removes_owner and not exists (
    select 1 from public.memberships as m
    where m.organization_id = org and m.role = 'owner' and m.user_id <> old.user_id
  ) then
    raise exception 'an organization must keep at least one owner'
      using errcode = 'PT409',
        hint = 'Make another member an owner first, or delete the organization.';
  end if;

  return coalesce(new, old);
end;
$$;

--
-- Name: tg_memberships__welcome(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_memberships__welcome"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $_$
declare
  owner_email text;
begin
  select u.email::text into owner_email from auth.users as u where u.id = new.user_id;
  if owner_email is null or owner_email !~ '^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$' then
    return null;
  end if;
  perform internal.enqueue_email(
    owner_email, 'welcome',
    jsonb_build_object(
      'organization_name', o.name, 'organization_slug', o.slug,
      'full_name', (select p.full_name from public.profiles as p where p.id = new.user_id)
    ),
    new.organization_id, 'welcome:' || new.organization_id::text
  )
  from public.organizations as o where o.id = new.organization_id;
  return null;
end;
$_$;

--
-- Name: tg_messages__before_insert(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_messages__before_insert"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: tg_messages__before_update(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_messages__before_update"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: tg_messages__broadcast(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_messages__broadcast"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: tg_messages__route_to_channel(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_messages__route_to_channel"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: tg_pin_organization(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_pin_organization"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  if new.organization_id is distinct from old.organization_id then
    raise exception 'a % cannot move to another organization', tg_argv[0]
      using errcode = '22023', hint = 'Create it in the other organization and delete this one.';
  end if;
  return new;
end;
$$;

--
-- Name: tg_provisioning__broadcast(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning__broadcast"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  current_row record;
  previous_row record;
begin
  if tg_table_name = 'provisioning_runs' then
    select new.id, new.organization_id, new.kind, new.status, new.current_step, new.plan_id, new.provider,
      new.error, new.started_at, new.finished_at, new.updated_at
      into current_row;
    if tg_op = 'UPDATE' then
      if new.status is not distinct from old.status and new.current_step is not distinct from old.current_step then
        return null;
      end if;
      select old.id, old.organization_id, old.kind, old.status, old.current_step, old.plan_id, old.provider,
        old.error, old.started_at, old.finished_at, old.updated_at
        into previous_row;
    end if;
  else
    select new.id, new.run_id, new.organization_id, new.ordinal, new.name, new.status, new.attempts, new.error,
      new.started_at, new.finished_at, new.compensated_at, new.updated_at
      into current_row;
    if tg_op = 'UPDATE' then
      if new.status is not distinct from old.status and new.attempts is not distinct from old.attempts then
        return null;
      end if;
      select old.id, old.run_id, old.organization_id, old.ordinal, old.name, old.status, old.attempts, old.error,
        old.started_at, old.finished_at, old.compensated_at, old.updated_at
        into previous_row;
    end if;
  end if;
  perform realtime.broadcast_changes(
    'org:' || new.organization_id::text || ':provisioning', tg_op, tg_op, tg_table_name, tg_table_schema,
    current_row, previous_row
  );
  return null;
end;
$$;

--
-- Name: tg_provisioning_logs__refuse_change(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning_logs__refuse_change"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  if tg_op = 'DELETE' and pg_trigger_depth() > 1 then
    return old;
  end if;
  raise exception 'public.provisioning_logs is append-only: % is not allowed', tg_op
    using errcode = '42501';
end;
$$;

--
-- Name: tg_provisioning_runs__backup_outcome(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning_runs__backup_outcome"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  owner_email text;
  snapshot_output jsonb;
  export_output jsonb;
  policy internal.backup_policies;
  expiring integer;
  chosen public.backups;
  template text;
begin
  if new.status = old.status or new.backup_id is null then
    return null;
  end if;
  if new.kind = 'restore' then
    template := case new.status when 'succeeded' then 'restore_complete' when 'rolled_back' then 'restore_failed'
      when 'failed' then 'restore_failed' end;
    if template is null then
      return null;
    end if;
    select * into chosen from public.backups as b where b.id = new.backup_id;
    for owner_email in select e from internal.organization_owner_emails(new.organization_id) as e loop
      perform internal.enqueue_email(
        owner_email, template,
        jsonb_build_object(
          'organization_name', (select o.name from public.organizations as o where o.id = new.organization_id),
          'run_id', new.id, 'backup_id', new.backup_id, 'backup_created_at', chosen.created_at,
          'status', new.status, 'error', new.error
        ),
        new.organization_id, template || ':' || new.id::text || ':' || owner_email
      );
    end loop;
    return null;
  end if;
  if new.status = 'running' then
    update public.backups as b set status = 'running', started_at = now(), provider = new.provider
    where b.id = new.backup_id and b.status = 'pending';
    return null;
  end if;
  if new.status = 'succeeded' then
    select s.output into snapshot_output from public.provisioning_steps as s
    where s.run_id = new.id and s.name = 'snapshot';
    select s.output into export_output from public.provisioning_steps as s
    where s.run_id = new.id and s.name = 'export';
    update public.backups as b
    set status = 'succeeded', finished_at = now(), snapshot_id = snapshot_output ->> 'snapshot_id',
      snapshot = coalesce(snapshot_output, '{}'), export_url = export_output ->> 'url',
      size_bytes = (export_output ->> 'size_bytes')::bigint, sha256 = export_output ->> 'sha256'
    where b.id = new.backup_id
    returning * into chosen;
    -- retention: the newest `keep` succeeded backups stay; older ones are removed by a job
    select * into policy from internal.backup_policies as p
    where p.plan_id = (select i.plan_id from public.customer_infrastructure as i
                       where i.organization_id = new.organization_id);
    with old_ones as (
      select b.id from public.backups as b
      where b.organization_id = new.organization_id and b.status = 'succeeded'
      order by b.created_at desc, b.id desc
      offset coalesce(policy.keep, 1000000)
    )
    update public.backups as b set status = 'expiring'
    from old_ones where b.id = old_ones.id;
    get diagnostics expiring = row_count;
    if expiring > 0 then
      perform internal.enqueue_job(
        'provisioning.expire_backups', jsonb_build_object('organization_id', new.organization_id),
        new.organization_id, null, 0, now(), 5, 'expire_backups:' || new.organization_id::text
      );
    end if;
    return null;
  end if;
  if new.status in ('rolled_back', 'failed') then
    update public.backups as b
    set status = 'failed', finished_at = coalesce(b.finished_at, now()), error = new.error
    where b.id = new.backup_id and b.status in ('pending', 'running')
    returning * into chosen;
    if chosen.id is null then
      return null;
    end if;
    for owner_email in select e from internal.organization_owner_emails(new.organization_id) as e loop
      perform internal.enqueue_email(
        owner_email, 'backup_failed',
        jsonb_build_object(
          'organization_name', (select o.name from public.organizations as o where o.id = new.organization_id),
          'run_id', new.id, 'backup_id', new.backup_id, 'plan_id', new.plan_id, 'status', new.status,
          'error', new.error
        ),
        new.organization_id, 'backup_failed:' || new.backup_id::text || ':' || owner_email
      );
    end loop;
  end if;
  return null;
end;
$$;

--
-- Name: tg_provisioning_runs__check_transition(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning_runs__check_transition"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  new.updated_at := now();
  if new.status = old.status then
    return new;
  end if;
  if (old.status, new.status) not in (
    ('pending', 'running'),
    ('pending', 'failed'),  -- a deprovision run whose job ended before it started (0016)
    ('running', 'succeeded'),
    ('running', 'compensating'),  -- a provision step failed for good, or its job ended: undo the done ones
    ('running', 'failed'),  -- a deprovision step failed, or its job ended (nothing to compensate)
    ('compensating', 'rolled_back'),
    ('compensating', 'failed'),  -- an undo failed, or the compensation's job ended
    ('failed', 'compensating'),  -- retry the compensation of a provision run
    ('failed', 'running')  -- retry a deprovision run
  ) then
    raise exception 'provisioning run %: illegal status transition % -> %', old.id, old.status, new.status
      using errcode = '22023', hint = 'See the comment on public.provisioning_runs.status for the legal transitions.';
  end if;
  return new;
end;
$$;

--
-- Name: tg_provisioning_runs__follow_up(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning_runs__follow_up"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  queued internal.resize_requests;
  plan text;
begin
  if new.status = old.status or new.status = 'failed'
    or (new.kind = 'provision' and new.status <> 'succeeded')
    or (new.kind = 'resize' and not exists (
      select 1 from public.provisioning_steps as s where s.run_id = new.id and s.status <> 'pending'
    )) then
    return null;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('supakit.provisioning:' || new.organization_id::text, 0));
  delete from internal.resize_requests as q where q.organization_id = new.organization_id returning * into queued;
  if queued.organization_id is not null then
    perform internal.request_resize(new.organization_id, queued.reason, queued.instance_type);
    return null;
  end if;
  if new.kind = 'resize' and new.status <> 'succeeded' then
    select p.plan_id into plan from internal.organization_plan(new.organization_id) as p;
    if coalesce(plan, 'free') = new.plan_id then
      return null;
    end if;
  end if;
  perform internal.request_resize(new.organization_id, 'plan changed while the ' || new.kind || ' run ran');
  return null;
end;
$$;

--
-- Name: tg_provisioning_runs__outcome(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning_runs__outcome"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  owner_email text;
  infra public.customer_infrastructure;
  template text;
begin
  if new.status = old.status then
    return null;
  end if;
  if new.kind = 'deprovision' then
    update public.customer_infrastructure as i
    set status = case new.status when 'running' then 'deprovisioning' when 'succeeded' then 'deleted'
        else i.status end,
      resources = case when new.status = 'succeeded' then '{}'::jsonb else i.resources end,
      public_address = case when new.status = 'succeeded' then null else i.public_address end,
      last_run_id = new.id, updated_at = now()
    where i.organization_id = new.organization_id and new.status in ('running', 'succeeded');
    return null;
  end if;
  update public.customer_infrastructure as i
  set status = case new.status when 'succeeded' then 'active' when 'rolled_back' then 'deleted'
      when 'failed' then 'failed' else i.status end,
    provider = coalesce(new.provider, i.provider),
    resources = case when new.status = 'rolled_back' then '{}'::jsonb else i.resources end,
    public_address = case when new.status = 'rolled_back' then null else i.public_address end,
    updated_at = now()
  where i.organization_id = new.organization_id and i.last_run_id = new.id
  returning * into infra;
  template := case new.status when 'succeeded' then 'provisioning_complete'
    when 'rolled_back' then 'provisioning_failed' when 'failed' then 'provisioning_failed' end;
  if template is null then
    return null;
  end if;
  for owner_email in select e from internal.organization_owner_emails(new.organization_id) as e loop
    perform internal.enqueue_email(
      owner_email, template,
      jsonb_build_object(
        'organization_name', (select o.name from public.organizations as o where o.id = new.organization_id),
        'run_id', new.id, 'plan_id', new.plan_id, 'provider', new.provider, 'status', new.status,
        'subdomain', infra.subdomain, 'public_address', infra.public_address, 'error', new.error
      ),
      new.organization_id, template || ':' || new.id::text || ':' || owner_email
    );
  end loop;
  return null;
end;
$$;

--
-- Name: tg_provisioning_runs__release_waiting(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning_runs__release_waiting"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  update internal.jobs as j
  set run_at = now()
  from public.provisioning_runs as r
  where
    r.organization_id = new.organization_id
    and r.id <> new.id
    and r.status in ('pending', 'running', 'compensating')
    and j.id = r.job_id
    and j.status = 'queued'
    and j.run_at > now();
  if found then
    perform pg_notify('supakit_jobs', '');  -- as an enqueue does: idle workers claim at once
  end if;
  return null;
end;
$$;

--
-- Name: tg_provisioning_runs__resize_outcome(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning_runs__resize_outcome"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  owner_email text;
  template text := case new.status when 'succeeded' then 'resize_complete' else 'resize_failed' end;
  infra public.customer_infrastructure;
begin
  if new.status = old.status or not exists (
    select 1 from public.provisioning_steps as s where s.run_id = new.id and s.status <> 'pending'
  ) then
    return null;
  end if;
  select * into infra from public.customer_infrastructure as i where i.organization_id = new.organization_id;
  for owner_email in select e from internal.organization_owner_emails(new.organization_id) as e loop
    perform internal.enqueue_email(
      owner_email, template,
      jsonb_build_object(
        'organization_name', (select o.name from public.organizations as o where o.id = new.organization_id),
        'run_id', new.id, 'plan_id', new.plan_id, 'previous_plan_id', new.previous_plan_id,
        'instance_type', new.instance_type, 'previous_instance_type', new.previous_instance_type,
        'provider', new.provider, 'status', new.status, 'error', new.error, 'subdomain', infra.subdomain,
        'public_address', infra.public_address
      ),
      new.organization_id, template || ':' || new.id::text || ':' || owner_email
    );
  end loop;
  return null;
end;
$$;

--
-- Name: tg_provisioning_steps__check_transition(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning_steps__check_transition"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  new.updated_at := now();
  if new.status = old.status then
    return new;
  end if;
  if (old.status, new.status) not in (
    ('pending', 'running'),
    ('running', 'succeeded'),
    ('running', 'failed'),
    ('succeeded', 'compensating'),
    ('failed', 'compensating'),  -- a failed step may have left part of its work: its undo runs too
    ('compensating', 'compensated'),
    ('compensating', 'compensation_failed'),
    ('compensation_failed', 'compensating'),
    ('failed', 'running')  -- retry of a deprovision step
  ) then
    raise exception 'provisioning step % (%): illegal status transition % -> %', old.id, old.name, old.status,
      new.status
      using errcode = '22023', hint = 'See the comment on public.provisioning_steps.status for the legal transitions.';
  end if;
  return new;
end;
$$;

--
-- Name: tg_provisioning_steps__resize_switch(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_provisioning_steps__resize_switch"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  run public.provisioning_runs;
  launch public.provisioning_steps;
begin
  select * into run from public.provisioning_runs as r where r.id = new.run_id;
  if run.kind <> 'resize' then
    return null;
  end if;
  select * into launch from public.provisioning_steps as s where s.run_id = run.id and s.name = 'launch';
  update public.customer_infrastructure as i
  set resources = i.resources || jsonb_build_object(
      'instance', coalesce(launch.output, '{}') || jsonb_build_object('idempotency_key', launch.idempotency_key),
      'dns', coalesce(i.resources -> 'dns', '{}') || jsonb_build_object('address', launch.output ->> 'public_address')
    ),
    public_address = coalesce(launch.output ->> 'public_address', i.public_address),
    plan_id = run.plan_id, updated_at = now()
  where i.organization_id = run.organization_id;
  return null;
end;
$$;

--
-- Name: tg_refuse_change(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_refuse_change"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  raise exception '%.% is append-only: % is not allowed', tg_table_schema, tg_table_name, tg_op
    using errcode = '42501';
end;
$$;

--
-- Name: tg_set_created_by(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_set_created_by"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  if (select auth.uid()) is not null then
    new.created_by := (select auth.uid());
  end if;
  return new;
end;
$$;

--
-- Name: tg_set_updated_at(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_set_updated_at"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  new.updated_at := now();
  return new;
end;
$$;

--
-- Name: FUNCTION "tg_set_updated_at"(); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."tg_set_updated_at"() IS 'before update trigger: sets updated_at to now()';

--
-- Name: tg_subscriptions__broadcast(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_subscriptions__broadcast"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
declare
  current_row record;
  previous_row record;
begin
  select new.id, new.organization_id, new.plan_id, new.status, new.cancel_at_period_end, new.current_period_end,
    new.trial_end, new.canceled_at, new.updated_at
  into current_row;
  if tg_op = 'UPDATE' then
    if (new.status, new.plan_id, new.cancel_at_period_end) is not distinct from
      (old.status, old.plan_id, old.cancel_at_period_end) then
      return null;
    end if;
    select old.id, old.organization_id, old.plan_id, old.status, old.cancel_at_period_end, old.current_period_end,
      old.trial_end, old.canceled_at, old.updated_at
    into previous_row;
  end if;
  perform realtime.broadcast_changes(
    'org:' || new.organization_id::text || ':billing', tg_op, tg_op, tg_table_name, tg_table_schema,
    current_row, previous_row
  );
  return null;
end;
$$;

--
-- Name: tg_subscriptions__check_status(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_subscriptions__check_status"() RETURNS "trigger"
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
begin
  if tg_op = 'UPDATE' and old.status in ('canceled', 'incomplete_expired') and new.status <> old.status then
    raise exception 'subscription % is % (final) and cannot become %', old.stripe_subscription_id, old.status,
      new.status using errcode = '23514';
  end if;
  new.past_due_since := case
    when new.status <> 'past_due' then null
    when tg_op = 'UPDATE' and old.status = 'past_due' then old.past_due_since
    else new.last_event_at
  end;
  return new;
end;
$$;

--
-- Name: tg_subscriptions__provisioning(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_subscriptions__provisioning"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  if tg_op = 'UPDATE' and new.status is not distinct from old.status then
    return null;
  end if;
  if new.status in ('active', 'trialing') then
    perform internal.request_provisioning(new.organization_id, 'subscription ' || new.status);
  elsif new.status in ('canceled', 'incomplete_expired') and not exists (
    select 1 from public.subscriptions as s
    where s.organization_id = new.organization_id and s.id <> new.id and s.status in ('active', 'trialing', 'past_due')
  ) then
    perform internal.request_deprovisioning(new.organization_id, 'subscription ' || new.status);
  end if;
  return null;
end;
$$;

--
-- Name: tg_subscriptions__resize(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_subscriptions__resize"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  if tg_op = 'UPDATE' and (new.plan_id, new.status) is not distinct from (old.plan_id, old.status) then
    return null;
  end if;
  perform internal.request_resize(new.organization_id, 'subscription ' || new.status || ' on plan ' || new.plan_id);
  return null;
end;
$$;

--
-- Name: tg_tasks__enforce_rules(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_tasks__enforce_rules"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: tg_users__create_profile(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."tg_users__create_profile"() RETURNS "trigger"
    LANGUAGE "plpgsql" SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
begin
  insert into public.profiles (id, full_name, avatar_url)
  values (
    new.id,
    nullif(coalesce(new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'name'), ''),
    nullif(coalesce(new.raw_user_meta_data ->> 'avatar_url', new.raw_user_meta_data ->> 'picture'), '')
  )
  on conflict (id) do nothing;
  return new;
end;
$$;

--
-- Name: FUNCTION "tg_users__create_profile"(); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."tg_users__create_profile"() IS 'after insert on auth.users: creates the public.profiles row from raw_user_meta_data';

--
-- Name: unread_counts(); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."unread_counts"() RETURNS TABLE("conversation_id" "uuid", "unread_count" bigint, "last_read_at" timestamp with time zone, "muted" boolean)
    LANGUAGE "sql" STABLE SECURITY DEFINER
    SET "search_path" TO ''
    AS $$
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

--
-- Name: upsert_job_schedule("text", "text", interval, "jsonb", "uuid", integer, integer, timestamp with time zone, boolean); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."upsert_job_schedule"("name" "text", "kind" "text", "every" interval, "payload" "jsonb" DEFAULT '{}'::"jsonb", "organization_id" "uuid" DEFAULT NULL::"uuid", "priority" integer DEFAULT 0, "max_attempts" integer DEFAULT 3, "anchor" timestamp with time zone DEFAULT '2000-01-01 00:00:00+00'::timestamp with time zone, "enabled" boolean DEFAULT true) RETURNS timestamp with time zone
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
#variable_conflict use_column
declare
  next_at timestamptz;
begin
  if every is null or every < interval '1 second' then
    raise exception 'schedule %: the interval must be at least 1 second (got %)', name, every
      using errcode = '22023', hint = 'Pass e.g. interval ''1 hour''.';
  end if;
  insert into internal.job_schedules as s (
    name, kind, payload, organization_id, every, anchor, priority, max_attempts, enabled, next_run_at
  )
  values (
    upsert_job_schedule.name, upsert_job_schedule.kind, coalesce(upsert_job_schedule.payload, '{}'),
    upsert_job_schedule.organization_id, upsert_job_schedule.every,
    coalesce(upsert_job_schedule.anchor, '2000-01-01 00:00:00+00'), coalesce(upsert_job_schedule.priority, 0),
    coalesce(upsert_job_schedule.max_attempts, 3), coalesce(upsert_job_schedule.enabled, true),
    internal.next_schedule_slot(
      coalesce(upsert_job_schedule.anchor, '2000-01-01 00:00:00+00'), upsert_job_schedule.every, now()
    )
  )
  on conflict (name) do update
  set kind = excluded.kind, payload = excluded.payload, organization_id = excluded.organization_id,
    priority = excluded.priority, max_attempts = excluded.max_attempts, enabled = excluded.enabled,
    next_run_at = case when (s.every, s.anchor) is distinct from (excluded.every, excluded.anchor)
      then excluded.next_run_at else s.next_run_at end,
    every = excluded.every, anchor = excluded.anchor, updated_at = now()
  returning s.next_run_at into next_at;
  return next_at;
end;
$$;

--
-- Name: FUNCTION "upsert_job_schedule"("name" "text", "kind" "text", "every" interval, "payload" "jsonb", "organization_id" "uuid", "priority" integer, "max_attempts" integer, "anchor" timestamp with time zone, "enabled" boolean); Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON FUNCTION "internal"."upsert_job_schedule"("name" "text", "kind" "text", "every" interval, "payload" "jsonb", "organization_id" "uuid", "priority" integer, "max_attempts" integer, "anchor" timestamp with time zone, "enabled" boolean) IS 'create or change a recurring job; returns its next slot';

--
-- Name: worker_seen("text", "text"[], integer, boolean); Type: FUNCTION; Schema: internal; Owner: -
--

CREATE FUNCTION "internal"."worker_seen"("worker" "text", "kinds" "text"[], "concurrency" integer, "stopping" boolean DEFAULT false) RETURNS "void"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  insert into internal.workers as w (name, kinds, concurrency)
  values (worker, coalesce(kinds, '{}'), coalesce(concurrency, 1))
  on conflict (name) do update
  set kinds = excluded.kinds, concurrency = excluded.concurrency, last_seen_at = now(),
    stopped_at = case when stopping then now() end
$$;

--
-- Name: accept_invitation("text"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."accept_invitation"("token" "text") RETURNS "public"."memberships"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select * from internal.accept_invitation(accept_invitation.token)
$$;

--
-- Name: FUNCTION "accept_invitation"("token" "text"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."accept_invitation"("token" "text") IS 'joins the organization of a pending, unexpired invitation sent to the caller''s e-mail address; body: internal.accept_invitation';

--
-- Name: bind_channel_contact("uuid", "text", "text", "text"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text" DEFAULT NULL::"text") RETURNS "public"."channel_contacts"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select * from internal.bind_channel_contact(
    bind_channel_contact.conversation_id, bind_channel_contact.channel, bind_channel_contact.address,
    bind_channel_contact.display_name
  )
$$;

--
-- Name: FUNCTION "bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text") IS 'binds a conversation to an SMS/WhatsApp contact (managers and above); body: internal.bind_channel_contact';

--
-- Name: cancel_generation("uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."cancel_generation"("generation_id" "uuid") RETURNS "public"."generations"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select * from internal.cancel_generation(cancel_generation.generation_id)
$$;

--
-- Name: FUNCTION "cancel_generation"("generation_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."cancel_generation"("generation_id" "uuid") IS 'cancels a generation: queued ones at once, running ones when the worker sees it (the requester, managers and up); body: internal.cancel_generation';

--
-- Name: change_member_role("uuid", "uuid", "public"."org_role"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role") RETURNS "public"."memberships"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select * from internal.change_member_role(
    change_member_role.org_id,
    change_member_role.user_id,
    change_member_role.new_role
  )
$$;

--
-- Name: FUNCTION "change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role") IS 'changes a member''s role: owners change anyone, admins the roles below owner; nobody raises their own role; body: internal.change_member_role';

--
-- Name: create_organization("text", "text"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."create_organization"("name" "text", "slug" "text") RETURNS "public"."organizations"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select * from internal.create_organization(create_organization.name, create_organization.slug)
$$;

--
-- Name: FUNCTION "create_organization"("name" "text", "slug" "text"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."create_organization"("name" "text", "slug" "text") IS 'creates an organization; the caller becomes its owner; body: internal.create_organization';

--
-- Name: current_user_organizations(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."current_user_organizations"() RETURNS TABLE("organization_id" "uuid", "name" "text", "slug" "text", "role" "public"."org_role", "joined_at" timestamp with time zone)
    LANGUAGE "sql" STABLE
    SET "search_path" TO ''
    AS $$
  select o.id, o.name, o.slug, m.role, m.created_at
  from public.memberships as m
  inner join public.organizations as o on o.id = m.organization_id
  where m.user_id = (select auth.uid())
  order by o.name, o.id
$$;

--
-- Name: FUNCTION "current_user_organizations"(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."current_user_organizations"() IS 'the organizations the caller belongs to, with their role';

--
-- Name: invite_member("uuid", "text", "public"."org_role"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role" DEFAULT 'member'::"public"."org_role") RETURNS TABLE("invitation_id" "uuid", "token" "text", "expires_at" timestamp with time zone)
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select * from internal.invite_member(invite_member.org_id, invite_member.email, invite_member.role)
$$;

--
-- Name: FUNCTION "invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role") IS 'invites an e-mail address with a role (default member); returns the one-time token; body: internal.invite_member';

--
-- Name: leave_organization("uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."leave_organization"("org_id" "uuid") RETURNS "void"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select internal.leave_organization(leave_organization.org_id)
$$;

--
-- Name: FUNCTION "leave_organization"("org_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."leave_organization"("org_id" "uuid") IS 'the caller leaves the organization (not its last owner); body: internal.leave_organization';

--
-- Name: mark_read("uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."mark_read"("conversation_id" "uuid") RETURNS timestamp with time zone
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
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

--
-- Name: message_activity("uuid", "date", "date"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."message_activity"("org_id" "uuid", "since" "date" DEFAULT NULL::"date", "until" "date" DEFAULT NULL::"date") RETURNS TABLE("conversation_id" "uuid", "day" "date", "messages" bigint, "deleted" bigint, "senders" bigint, "channel" "text", "direction" "text", "delivered" bigint, "failed" bigint)
    LANGUAGE "plpgsql" STABLE
    SET "search_path" TO ''
    AS $$
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

--
-- Name: FUNCTION "message_activity"("org_id" "uuid", "since" "date", "until" "date"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."message_activity"("org_id" "uuid", "since" "date", "until" "date") IS 'per conversation, UTC day, channel (in_app, sms, whatsapp) and direction: messages, deleted, senders, delivered, failed (owners and admins)';

--
-- Name: organization_audit_log("uuid", integer, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."organization_audit_log"("org_id" "uuid", "max_rows" integer DEFAULT 100, "before_id" bigint DEFAULT NULL::bigint) RETURNS TABLE("id" bigint, "occurred_at" timestamp with time zone, "actor_id" "uuid", "actor_role" "text", "table_name" "text", "operation" "text", "record_id" "jsonb", "changes" "jsonb")
    LANGUAGE "sql" STABLE
    SET "search_path" TO ''
    AS $$
  select * from internal.organization_audit_log(
    organization_audit_log.org_id,
    organization_audit_log.max_rows,
    organization_audit_log.before_id
  )
$$;

--
-- Name: FUNCTION "organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint) IS 'an organization''s audit trail, newest first (owners and admins); body: internal.organization_audit_log';

--
-- Name: organization_entitlements("uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."organization_entitlements"("org_id" "uuid") RETURNS TABLE("plan_id" "text", "plan_name" "text", "daily_generation_limit" integer, "monthly_generation_limit" integer, "queue_priority" integer, "features" "jsonb", "source" "text", "subscription_status" "text", "access_until" timestamp with time zone)
    LANGUAGE "sql" STABLE
    SET "search_path" TO ''
    AS $$
  select * from internal.organization_entitlements(organization_entitlements.org_id)
$$;

--
-- Name: FUNCTION "organization_entitlements"("org_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."organization_entitlements"("org_id" "uuid") IS 'what the organization may do now: its effective plan, limits and features (members); body: internal.organization_entitlements';

--
-- Name: provisioning_status("uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."provisioning_status"("org_id" "uuid") RETURNS "jsonb"
    LANGUAGE "sql" STABLE
    SET "search_path" TO ''
    AS $$
  select internal.provisioning_status(provisioning_status.org_id)
$$;

--
-- Name: FUNCTION "provisioning_status"("org_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."provisioning_status"("org_id" "uuid") IS 'the organization''s infrastructure, services, health, usage, live runs and latest run (members only); body: internal.provisioning_status';

--
-- Name: remove_member("uuid", "uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."remove_member"("org_id" "uuid", "user_id" "uuid") RETURNS "void"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select internal.remove_member(remove_member.org_id, remove_member.user_id)
$$;

--
-- Name: FUNCTION "remove_member"("org_id" "uuid", "user_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."remove_member"("org_id" "uuid", "user_id" "uuid") IS 'removes a member: owners remove anyone, admins members below owner; the last owner stays; body: internal.remove_member';

--
-- Name: request_generation("text", "text", "uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."request_generation"("prompt" "text", "app_type" "text" DEFAULT 'generic'::"text", "org_id" "uuid" DEFAULT NULL::"uuid") RETURNS json
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select internal.request_generation(
    request_generation.prompt,
    request_generation.app_type,
    request_generation.org_id
  )
$$;

--
-- Name: FUNCTION "request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid") IS 'request an AI generation; returns the generation row as JSON; over quota: HTTP 429 with PT429 (see sql/0008); body: internal.request_generation';

--
-- Name: request_reply_suggestion("uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."request_reply_suggestion"("message_id" "uuid") RETURNS json
    LANGUAGE "plpgsql"
    SET "search_path" TO ''
    AS $$
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

--
-- Name: FUNCTION "request_reply_suggestion"("message_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."request_reply_suggestion"("message_id" "uuid") IS 'asks for an AI-suggested reply to a message (staff; plans with ai_replies; counted with generations)';

--
-- Name: request_restore("uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."request_restore"("backup_id" "uuid") RETURNS "uuid"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select internal.request_restore(request_restore.backup_id)
$$;

--
-- Name: FUNCTION "request_restore"("backup_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."request_restore"("backup_id" "uuid") IS 'owners: restore a succeeded backup; returns the restore run''s id (progress on org:<id>:provisioning); body: internal.request_restore';

--
-- Name: revoke_invitation("uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."revoke_invitation"("invitation_id" "uuid") RETURNS "void"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select internal.revoke_invitation(revoke_invitation.invitation_id)
$$;

--
-- Name: FUNCTION "revoke_invitation"("invitation_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."revoke_invitation"("invitation_id" "uuid") IS 'revokes a pending invitation (owners and admins); body: internal.revoke_invitation';

--
-- Name: start_direct_conversation("uuid", "uuid"); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."start_direct_conversation"("other_user" "uuid", "org_id" "uuid" DEFAULT NULL::"uuid") RETURNS "public"."conversations"
    LANGUAGE "sql"
    SET "search_path" TO ''
    AS $$
  select * from internal.start_direct_conversation(
    start_direct_conversation.other_user,
    start_direct_conversation.org_id
  )
$$;

--
-- Name: FUNCTION "start_direct_conversation"("other_user" "uuid", "org_id" "uuid"); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."start_direct_conversation"("other_user" "uuid", "org_id" "uuid") IS 'the direct conversation between the caller and other_user in an organization both belong to, created on first use; body: internal.start_direct_conversation';

--
-- Name: unread_counts(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."unread_counts"() RETURNS TABLE("conversation_id" "uuid", "unread_count" bigint, "last_read_at" timestamp with time zone, "muted" boolean)
    LANGUAGE "sql" STABLE
    SET "search_path" TO ''
    AS $$
  select * from internal.unread_counts()
$$;

--
-- Name: FUNCTION "unread_counts"(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."unread_counts"() IS 'per conversation the caller takes part in: messages from others since their last_read_at, with their read state; body: internal.unread_counts';

--
-- Name: analytics_events; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."analytics_events" (
    "id" bigint NOT NULL,
    "occurred_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "event" "text" NOT NULL,
    "organization_id" "uuid",
    "user_id" "uuid",
    "generation_id" "uuid",
    "job_id" bigint,
    "properties" "jsonb" DEFAULT '{}'::"jsonb" NOT NULL,
    CONSTRAINT "event_is_known" CHECK (("event" = ANY (ARRAY['generation.requested'::"text", 'generation.started'::"text", 'generation.succeeded'::"text", 'generation.failed'::"text", 'generation.cancelled'::"text", 'generation.retrying'::"text", 'generation.quota_refused'::"text"])))
);

--
-- Name: TABLE "analytics_events"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."analytics_events" IS 'append-only product analytics; rows are never changed or removed (triggers refuse)';

--
-- Name: analytics_events_id_seq; Type: SEQUENCE; Schema: internal; Owner: -
--

ALTER TABLE "internal"."analytics_events" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME "internal"."analytics_events_id_seq"
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: audit_log; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."audit_log" (
    "id" bigint NOT NULL,
    "occurred_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "actor_id" "uuid",
    "actor_role" "text",
    "organization_id" "uuid",
    "table_name" "text" NOT NULL,
    "operation" "text" NOT NULL,
    "record_id" "jsonb" NOT NULL,
    "changes" "jsonb" NOT NULL,
    "transaction_id" "xid8" DEFAULT "pg_current_xact_id"() NOT NULL,
    CONSTRAINT "operation_is_a_row_change" CHECK (("operation" = ANY (ARRAY['INSERT'::"text", 'UPDATE'::"text", 'DELETE'::"text"])))
);

--
-- Name: TABLE "audit_log"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."audit_log" IS 'append-only: who changed what, when. Triggers refuse update, delete and truncate for every role; only the table
owner could bypass them, by disabling the triggers.';

--
-- Name: COLUMN "audit_log"."actor_id"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."audit_log"."actor_id" IS 'auth.uid() of the request; null for the service role and SQL scripts';

--
-- Name: COLUMN "audit_log"."actor_role"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."audit_log"."actor_role" IS 'the JWT role (authenticated, service_role) or, outside a request, the session user';

--
-- Name: COLUMN "audit_log"."organization_id"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."audit_log"."organization_id" IS 'not a foreign key: the trail outlives the organization';

--
-- Name: COLUMN "audit_log"."record_id"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."audit_log"."record_id" IS 'primary key of the changed row, as a JSON object';

--
-- Name: COLUMN "audit_log"."changes"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."audit_log"."changes" IS '{"column": {"old": ..., "new": ...}} for changed columns only; secrets read "[redacted]"';

--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: internal; Owner: -
--

ALTER TABLE "internal"."audit_log" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME "internal"."audit_log_id_seq"
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: backup_policies; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."backup_policies" (
    "plan_id" "text" NOT NULL,
    "every" interval NOT NULL,
    "keep" integer NOT NULL,
    CONSTRAINT "every_is_at_least_a_minute" CHECK (("every" >= '00:01:00'::interval)),
    CONSTRAINT "keep_is_positive" CHECK ((("keep" >= 1) AND ("keep" <= 1000)))
);

--
-- Name: TABLE "backup_policies"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."backup_policies" IS 'how often a plan''s customers are backed up and how many succeeded backups are kept; a plan without a row has none';

--
-- Name: channel_unrouted; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."channel_unrouted" (
    "twilio_sid" "text" NOT NULL,
    "channel" "text" NOT NULL,
    "to_address" "text" NOT NULL,
    "from_address" "text" NOT NULL,
    "body" "text" DEFAULT ''::"text" NOT NULL,
    "received_at" timestamp with time zone DEFAULT "now"() NOT NULL
);

--
-- Name: TABLE "channel_unrouted"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."channel_unrouted" IS 'inbound messages to a number in no channel_senders row';

--
-- Name: job_schedule_firings; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."job_schedule_firings" (
    "schedule_name" "text" NOT NULL,
    "slot" timestamp with time zone NOT NULL,
    "job_id" bigint,
    "fired_at" timestamp with time zone DEFAULT "now"() NOT NULL
);

--
-- Name: TABLE "job_schedule_firings"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."job_schedule_firings" IS 'one row per fired (schedule, slot): the primary key makes a second firing of a slot impossible; pruned to the last 100 per schedule';

--
-- Name: COLUMN "job_schedule_firings"."job_id"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."job_schedule_firings"."job_id" IS 'internal.jobs id; not a foreign key because finished jobs are pruned';

--
-- Name: job_schedules; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."job_schedules" (
    "name" "text" NOT NULL,
    "kind" "text" NOT NULL,
    "payload" "jsonb" DEFAULT '{}'::"jsonb" NOT NULL,
    "organization_id" "uuid",
    "every" interval NOT NULL,
    "anchor" timestamp with time zone DEFAULT '2000-01-01 00:00:00+00'::timestamp with time zone NOT NULL,
    "priority" integer DEFAULT 0 NOT NULL,
    "max_attempts" integer DEFAULT 3 NOT NULL,
    "enabled" boolean DEFAULT true NOT NULL,
    "next_run_at" timestamp with time zone NOT NULL,
    "last_slot" timestamp with time zone,
    "last_job_id" bigint,
    "last_fired_at" timestamp with time zone,
    "missed" bigint DEFAULT 0 NOT NULL,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "every_has_no_months" CHECK (((EXTRACT("month" FROM "every") = (0)::numeric) AND (EXTRACT("year" FROM "every") = (0)::numeric))),
    CONSTRAINT "every_is_at_least_a_second" CHECK (("every" >= '00:00:01'::interval)),
    CONSTRAINT "kind_is_dotted_name" CHECK (("kind" ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'::"text")),
    CONSTRAINT "max_attempts_is_positive" CHECK ((("max_attempts" >= 1) AND ("max_attempts" <= 100))),
    CONSTRAINT "missed_not_negative" CHECK (("missed" >= 0)),
    CONSTRAINT "name_is_a_key" CHECK (("name" ~ '^[a-z][a-z0-9_.:-]{0,199}$'::"text")),
    CONSTRAINT "payload_is_an_object" CHECK (("jsonb_typeof"("payload") = 'object'::"text"))
);

--
-- Name: TABLE "job_schedules"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."job_schedules" IS 'recurring jobs: each row enqueues a `kind` job at every slot anchor + n * every; fired by any worker, once per slot';

--
-- Name: COLUMN "job_schedules"."name"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."job_schedules"."name" IS 'the schedule''s key, e.g. `backups:<org id>`; part of each job''s dedupe key `schedule:<name>:<slot>`';

--
-- Name: COLUMN "job_schedules"."next_run_at"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."job_schedules"."next_run_at" IS 'the next slot due; moved past now in the transaction that enqueues the slot''s job';

--
-- Name: COLUMN "job_schedules"."missed"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."job_schedules"."missed" IS 'slots skipped because no worker fired them in time (only the latest due slot is fired)';

--
-- Name: jobs_id_seq; Type: SEQUENCE; Schema: internal; Owner: -
--

ALTER TABLE "internal"."jobs" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME "internal"."jobs_id_seq"
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: messaging_settings; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."messaging_settings" (
    "singleton" boolean DEFAULT true NOT NULL,
    "edit_window" interval DEFAULT '00:15:00'::interval NOT NULL,
    CONSTRAINT "edit_window_is_not_negative" CHECK (("edit_window" >= '00:00:00'::interval)),
    CONSTRAINT "singleton_is_true" CHECK ("singleton")
);

--
-- Name: TABLE "messaging_settings"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."messaging_settings" IS 'messaging configuration, one row; e.g. update internal.messaging_settings set edit_window = interval ''1 hour''';

--
-- Name: COLUMN "messaging_settings"."edit_window"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."messaging_settings"."edit_window" IS 'how long after sending a sender may still edit a message (0: never); deleting is not limited';

--
-- Name: outbox_emails; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."outbox_emails" (
    "id" bigint NOT NULL,
    "organization_id" "uuid",
    "to_address" "text" NOT NULL,
    "template" "text" NOT NULL,
    "data" "jsonb" DEFAULT '{}'::"jsonb" NOT NULL,
    "status" "text" DEFAULT 'queued'::"text" NOT NULL,
    "attempts" integer DEFAULT 0 NOT NULL,
    "dedupe_key" "text",
    "job_id" bigint,
    "last_error" "text",
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "sent_at" timestamp with time zone,
    CONSTRAINT "attempts_not_negative" CHECK (("attempts" >= 0)),
    CONSTRAINT "auth_rows_carry_their_message" CHECK ((("template" !~~ 'auth.%'::"text") OR (("data" ? 'subject'::"text") AND ("data" ? 'text'::"text") AND ("jsonb_typeof"(("data" -> 'subject'::"text")) = 'string'::"text") AND ("jsonb_typeof"(("data" -> 'text'::"text")) = 'string'::"text")))),
    CONSTRAINT "data_is_an_object" CHECK (("jsonb_typeof"("data") = 'object'::"text")),
    CONSTRAINT "sent_rows_have_sent_at" CHECK ((("status" = 'sent'::"text") = ("sent_at" IS NOT NULL))),
    CONSTRAINT "status_is_known" CHECK (("status" = ANY (ARRAY['queued'::"text", 'sent'::"text", 'failed'::"text"]))),
    CONSTRAINT "template_is_known" CHECK (("template" = ANY (ARRAY['welcome'::"text", 'provisioning_complete'::"text", 'provisioning_failed'::"text", 'payment_failed'::"text", 'auth.signup'::"text", 'auth.magiclink'::"text", 'auth.recovery'::"text", 'auth.invite'::"text", 'auth.email_change'::"text", 'auth.reauthentication'::"text", 'backup_failed'::"text", 'restore_complete'::"text", 'restore_failed'::"text", 'resize_complete'::"text", 'resize_failed'::"text"]))),
    CONSTRAINT "to_address_is_an_address" CHECK (("to_address" ~ '^[^@\s<>]+@[^@\s<>.][^@\s<>]*$'::"text"))
);

--
-- Name: TABLE "outbox_emails"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."outbox_emails" IS 'e-mails to send; rows are written by SQL with internal.enqueue_email and delivered by the email.send job';

--
-- Name: COLUMN "outbox_emails"."data"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."outbox_emails"."data" IS 'the template''s values; for auth.* rows the composed message itself: {subject, text, html?}';

--
-- Name: outbox_emails_id_seq; Type: SEQUENCE; Schema: internal; Owner: -
--

ALTER TABLE "internal"."outbox_emails" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME "internal"."outbox_emails_id_seq"
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: plan_assignments; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."plan_assignments" (
    "organization_id" "uuid" NOT NULL,
    "plan_id" "text" NOT NULL,
    "assigned_at" timestamp with time zone DEFAULT "now"() NOT NULL
);

--
-- Name: TABLE "plan_assignments"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."plan_assignments" IS 'manual plan per organization until billing (issue "Billing") takes over';

--
-- Name: quota_refusals; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."quota_refusals" (
    "organization_id" "uuid" NOT NULL,
    "user_id" "uuid" NOT NULL,
    "day" "date" NOT NULL,
    "refusals" integer DEFAULT 1 NOT NULL,
    "last_period" "text" NOT NULL,
    "first_refused_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "last_refused_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "last_period_is_day_or_month" CHECK (("last_period" = ANY (ARRAY['day'::"text", 'month'::"text"]))),
    CONSTRAINT "refusals_is_positive" CHECK (("refusals" >= 1))
);

--
-- Name: TABLE "quota_refusals"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."quota_refusals" IS 'generation requests refused for quota, counted per organization, user and UTC day (one row each, updated in place)';

--
-- Name: COLUMN "quota_refusals"."last_period"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."quota_refusals"."last_period" IS 'the limit the last refusal hit: day (daily) or month (monthly)';

--
-- Name: resize_requests; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."resize_requests" (
    "organization_id" "uuid" NOT NULL,
    "instance_type" "text",
    "reason" "text" NOT NULL,
    "requested_at" timestamp with time zone DEFAULT "now"() NOT NULL
);

--
-- Name: TABLE "resize_requests"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."resize_requests" IS 'the latest resize asked for while one was running: at most one per organization (a newer request replaces it); applied when the running resize ends';

--
-- Name: COLUMN "resize_requests"."instance_type"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON COLUMN "internal"."resize_requests"."instance_type" IS 'null: size by the organization''s plan';

--
-- Name: stripe_events; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."stripe_events" (
    "id" "text" NOT NULL,
    "type" "text" NOT NULL,
    "api_version" "text",
    "livemode" boolean DEFAULT false NOT NULL,
    "stripe_created_at" timestamp with time zone NOT NULL,
    "object_id" "text",
    "payload" "jsonb" NOT NULL,
    "received_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "processed_at" timestamp with time zone,
    "outcome" "text",
    "error" "text",
    "attempts" integer DEFAULT 0 NOT NULL,
    "last_attempt_at" timestamp with time zone,
    CONSTRAINT "attempts_not_negative" CHECK (("attempts" >= 0)),
    CONSTRAINT "id_is_an_event_id" CHECK (("id" ~ '^evt_[A-Za-z0-9_]+$'::"text")),
    CONSTRAINT "outcome_is_known" CHECK (("outcome" = ANY (ARRAY['applied'::"text", 'stale'::"text", 'ignored'::"text", 'unmatched'::"text"]))),
    CONSTRAINT "processed_iff_outcome" CHECK ((("processed_at" IS NULL) = ("outcome" IS NULL)))
);

--
-- Name: TABLE "stripe_events"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."stripe_events" IS 'every Stripe event received, once (event id unique); processed_at null with an error: failed, retried by Stripe
or `supakit billing replay`';

--
-- Name: stripe_object_versions; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."stripe_object_versions" (
    "object_id" "text" NOT NULL,
    "last_event_at" timestamp with time zone NOT NULL
);

--
-- Name: TABLE "stripe_object_versions"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."stripe_object_versions" IS 'created time of the newest event applied per Stripe product/price: older events for it change nothing';

--
-- Name: workers; Type: TABLE; Schema: internal; Owner: -
--

CREATE TABLE "internal"."workers" (
    "name" "text" NOT NULL,
    "kinds" "text"[] DEFAULT '{}'::"text"[] NOT NULL,
    "concurrency" integer DEFAULT 1 NOT NULL,
    "started_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "last_seen_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "stopped_at" timestamp with time zone
);

--
-- Name: TABLE "workers"; Type: COMMENT; Schema: internal; Owner: -
--

COMMENT ON TABLE "internal"."workers" IS 'one row per worker process name (<host>:<pid> by default); last_seen_at moves with heartbeats';

--
-- Name: backups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."backups" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "plan_id" "text" NOT NULL,
    "provider" "text",
    "reason" "text" DEFAULT 'manual'::"text" NOT NULL,
    "slot" timestamp with time zone,
    "status" "text" DEFAULT 'pending'::"text" NOT NULL,
    "snapshot_id" "text",
    "snapshot" "jsonb" DEFAULT '{}'::"jsonb" NOT NULL,
    "export_url" "text",
    "size_bytes" bigint,
    "sha256" "text",
    "error" "text",
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "started_at" timestamp with time zone,
    "finished_at" timestamp with time zone,
    "expired_at" timestamp with time zone,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "finished_iff_finished_at" CHECK ((("status" = ANY (ARRAY['pending'::"text", 'running'::"text"])) = ("finished_at" IS NULL))),
    CONSTRAINT "reason_is_not_blank" CHECK ((("char_length"("btrim"("reason")) >= 1) AND ("char_length"("btrim"("reason")) <= 200))),
    CONSTRAINT "sha256_is_hex" CHECK (("sha256" ~ '^[0-9a-f]{64}$'::"text")),
    CONSTRAINT "size_bytes_not_negative" CHECK (("size_bytes" >= 0)),
    CONSTRAINT "status_is_known" CHECK (("status" = ANY (ARRAY['pending'::"text", 'running'::"text", 'succeeded'::"text", 'failed'::"text", 'expiring'::"text", 'expired'::"text"]))),
    CONSTRAINT "succeeded_has_its_export" CHECK ((("status" <> ALL (ARRAY['succeeded'::"text", 'expiring'::"text"])) OR (("export_url" IS NOT NULL) AND ("sha256" IS NOT NULL) AND ("size_bytes" IS NOT NULL))))
);

--
-- Name: TABLE "backups"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."backups" IS 'one backup of an organization''s infrastructure: the instance snapshot and the data export, with size and sha256';

--
-- Name: COLUMN "backups"."slot"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."backups"."slot" IS 'the schedule slot it was taken for (null for a manual backup): one per slot';

--
-- Name: COLUMN "backups"."status"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."backups"."status" IS 'pending -> running (its run started) -> succeeded | failed (rolled back: nothing of it is left); pending -> failed (its run ended before it started); succeeded -> expiring (beyond the plan''s retention) -> expired (removed)';

--
-- Name: COLUMN "backups"."snapshot_id"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."backups"."snapshot_id" IS 'the provider''s snapshot (local: a directory; aws: an EBS snapshot id)';

--
-- Name: COLUMN "backups"."export_url"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."backups"."export_url" IS 's3://<bucket>/<key> or file://<path> of the data export';

--
-- Name: billing_customers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."billing_customers" (
    "organization_id" "uuid" NOT NULL,
    "stripe_customer_id" "text" NOT NULL,
    "email" "text",
    "deleted_at" timestamp with time zone,
    "last_event_at" timestamp with time zone,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "stripe_customer_id_is_a_customer_id" CHECK (("stripe_customer_id" ~ '^cus_[A-Za-z0-9]+$'::"text"))
);

--
-- Name: TABLE "billing_customers"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."billing_customers" IS 'the Stripe customer of each organization, created on the first checkout; deleted_at: customer.deleted arrived';

--
-- Name: channel_senders; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."channel_senders" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "channel" "text" NOT NULL,
    "address" "text" NOT NULL,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "address_is_e164" CHECK (("address" ~ '^\+[1-9][0-9]{6,14}$'::"text")),
    CONSTRAINT "channel_is_known" CHECK (("channel" = ANY (ARRAY['sms'::"text", 'whatsapp'::"text"])))
);

--
-- Name: TABLE "channel_senders"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."channel_senders" IS 'the Twilio numbers an organization sends from and receives on (one organization per number and channel); written by operators with the service role';

--
-- Name: conversation_participants; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."conversation_participants" (
    "conversation_id" "uuid" NOT NULL,
    "user_id" "uuid" NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "role" "text" DEFAULT 'member'::"text" NOT NULL,
    "last_read_at" timestamp with time zone,
    "muted" boolean DEFAULT false NOT NULL,
    "joined_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "role_is_known" CHECK (("role" = ANY (ARRAY['owner'::"text", 'member'::"text"])))
);

--
-- Name: TABLE "conversation_participants"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."conversation_participants" IS 'who takes part in a conversation, with their read state; access to a conversation follows from a row here plus membership of its organization';

--
-- Name: COLUMN "conversation_participants"."organization_id"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."conversation_participants"."organization_id" IS 'copied from the conversation by trigger: lets the access helper check membership without a join';

--
-- Name: COLUMN "conversation_participants"."role"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."conversation_participants"."role" IS 'owner: adds and removes participants and renames the conversation (its creator); member';

--
-- Name: COLUMN "conversation_participants"."last_read_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."conversation_participants"."last_read_at" IS 'messages created after this are unread (mark_read sets it); null: nothing read yet';

--
-- Name: customer_infrastructure; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."customer_infrastructure" (
    "organization_id" "uuid" NOT NULL,
    "provider" "text",
    "plan_id" "text",
    "status" "text" DEFAULT 'provisioning'::"text" NOT NULL,
    "subdomain" "text",
    "public_address" "text",
    "resources" "jsonb" DEFAULT '{}'::"jsonb" NOT NULL,
    "last_run_id" "uuid",
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "resources_is_an_object" CHECK (("jsonb_typeof"("resources") = 'object'::"text")),
    CONSTRAINT "status_is_known" CHECK (("status" = ANY (ARRAY['provisioning'::"text", 'active'::"text", 'deprovisioning'::"text", 'deleted'::"text", 'failed'::"text"])))
);

--
-- Name: TABLE "customer_infrastructure"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."customer_infrastructure" IS 'what exists for an organization now, per provider; one row per organization';

--
-- Name: COLUMN "customer_infrastructure"."status"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."customer_infrastructure"."status" IS 'provisioning (a run builds it) -> active | deleted (rolled back) | failed (an undo failed: resources may be left); active -> deprovisioning -> deleted; deleted -> provisioning again on a new subscription';

--
-- Name: COLUMN "customer_infrastructure"."resources"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."customer_infrastructure"."resources" IS 'each provisioning step''s output by step name (resource ids)';

--
-- Name: instance_health_checks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE "public"."instance_health_checks" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME "public"."instance_health_checks_id_seq"
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: invitations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."invitations" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "email" "text" NOT NULL,
    "role" "public"."org_role" DEFAULT 'member'::"public"."org_role" NOT NULL,
    "token_hash" "bytea" NOT NULL,
    "invited_by" "uuid",
    "expires_at" timestamp with time zone DEFAULT ("now"() + '7 days'::interval) NOT NULL,
    "accepted_at" timestamp with time zone,
    "accepted_by" "uuid",
    "revoked_at" timestamp with time zone,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "accepted_at_and_accepted_by_together" CHECK ((("accepted_at" IS NULL) = ("accepted_by" IS NULL))),
    CONSTRAINT "accepted_or_revoked_not_both" CHECK ((("accepted_at" IS NULL) OR ("revoked_at" IS NULL))),
    CONSTRAINT "email_is_lowercase" CHECK ((("email" = "lower"("email")) AND ("email" ~~ '%_@_%'::"text"))),
    CONSTRAINT "token_hash_is_sha256" CHECK (("octet_length"("token_hash") = 32))
);

--
-- Name: TABLE "invitations"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."invitations" IS 'an invitation to join an organization; the token is e-mailed once and only its sha256 is stored';

--
-- Name: COLUMN "invitations"."accepted_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."invitations"."accepted_at" IS 'pending -> accepted: set once by accept_invitation';

--
-- Name: COLUMN "invitations"."revoked_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."invitations"."revoked_at" IS 'pending -> revoked: set by revoke_invitation';

--
-- Name: invoices; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."invoices" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "stripe_invoice_id" "text" NOT NULL,
    "stripe_customer_id" "text" NOT NULL,
    "stripe_subscription_id" "text",
    "number" "text",
    "status" "text",
    "currency" "text" NOT NULL,
    "amount_due" integer DEFAULT 0 NOT NULL,
    "amount_paid" integer DEFAULT 0 NOT NULL,
    "amount_remaining" integer DEFAULT 0 NOT NULL,
    "subtotal" integer,
    "total" integer,
    "attempt_count" integer DEFAULT 0 NOT NULL,
    "hosted_invoice_url" "text",
    "invoice_pdf" "text",
    "period_start" timestamp with time zone,
    "period_end" timestamp with time zone,
    "due_date" timestamp with time zone,
    "paid_at" timestamp with time zone,
    "next_payment_attempt" timestamp with time zone,
    "stripe_created_at" timestamp with time zone,
    "last_event_at" timestamp with time zone NOT NULL,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "amounts_are_not_negative" CHECK ((("amount_due" >= 0) AND ("amount_paid" >= 0) AND ("amount_remaining" >= 0))),
    CONSTRAINT "status_is_an_invoice_status" CHECK (("status" = ANY (ARRAY['draft'::"text", 'open'::"text", 'paid'::"text", 'uncollectible'::"text", 'void'::"text"])))
);

--
-- Name: TABLE "invoices"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."invoices" IS 'Stripe invoices (amounts in the currency''s smallest unit); stripe_subscription_id is not a foreign key because
invoice and subscription events arrive in any order';

--
-- Name: messages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."messages" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "conversation_id" "uuid" NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "sender_id" "uuid",
    "body" "text" DEFAULT ''::"text" NOT NULL,
    "attachments" "jsonb" DEFAULT '[]'::"jsonb" NOT NULL,
    "reply_to" "uuid",
    "created_at" timestamp with time zone DEFAULT "clock_timestamp"() NOT NULL,
    "edited_at" timestamp with time zone,
    "deleted_at" timestamp with time zone,
    "deleted_by" "uuid",
    CONSTRAINT "attachments_is_a_short_array" CHECK (
CASE
    WHEN ("jsonb_typeof"("attachments") = 'array'::"text") THEN ("jsonb_array_length"("attachments") <= 10)
    ELSE false
END),
    CONSTRAINT "body_is_not_too_long" CHECK (("char_length"("body") <= 10000)),
    CONSTRAINT "deleted_messages_are_blank" CHECK ((("deleted_at" IS NULL) OR (("body" = ''::"text") AND ("attachments" = '[]'::"jsonb")))),
    CONSTRAINT "has_content_unless_deleted" CHECK ((("deleted_at" IS NOT NULL) OR ("char_length"("btrim"("body")) > 0) OR ("attachments" <> '[]'::"jsonb")))
);

ALTER TABLE ONLY "public"."messages" REPLICA IDENTITY FULL;

--
-- Name: TABLE "messages"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."messages" IS 'a message in a conversation; soft-deleted by setting deleted_at (body and attachments are then blanked)';

--
-- Name: COLUMN "messages"."organization_id"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."messages"."organization_id" IS 'copied from the conversation by trigger (moderation, analytics)';

--
-- Name: COLUMN "messages"."sender_id"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."messages"."sender_id" IS 'the signed-in sender (set by trigger); null: a system message';

--
-- Name: COLUMN "messages"."attachments"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."messages"."attachments" IS '[{"path": "<conversation id>/<file>", "name", "size", "mime_type"}]: objects in the message-attachments bucket';

--
-- Name: COLUMN "messages"."created_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."messages"."created_at" IS 'clock time of the insert (not transaction start), so messages of one transaction keep their order';

--
-- Name: COLUMN "messages"."edited_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."messages"."edited_at" IS 'set when the sender changes body or attachments';

--
-- Name: COLUMN "messages"."deleted_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."messages"."deleted_at" IS 'live -> deleted: set once, by the sender or a moderator; never undone';

--
-- Name: COLUMN "messages"."deleted_by"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."messages"."deleted_by" IS 'who deleted it: the sender, or a moderating owner/admin';

--
-- Name: plans; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."plans" (
    "id" "text" NOT NULL,
    "name" "text" NOT NULL,
    "daily_generation_limit" integer,
    "monthly_generation_limit" integer,
    "queue_priority" integer DEFAULT 0 NOT NULL,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "description" "text" DEFAULT ''::"text" NOT NULL,
    "monthly_price_cents" integer DEFAULT 0 NOT NULL,
    "yearly_price_cents" integer DEFAULT 0 NOT NULL,
    "currency" "text" DEFAULT 'usd'::"text" NOT NULL,
    "features" "jsonb" DEFAULT '[]'::"jsonb" NOT NULL,
    "trial_days" integer DEFAULT 0 NOT NULL,
    "stripe_product_id" "text",
    "stripe_price_monthly" "text",
    "stripe_price_yearly" "text",
    "active" boolean DEFAULT true NOT NULL,
    "stripe_synced_at" timestamp with time zone,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "channel_messages_monthly_limit" integer,
    CONSTRAINT "channel_messages_monthly_limit_is_not_negative" CHECK ((("channel_messages_monthly_limit" IS NULL) OR ("channel_messages_monthly_limit" >= 0))),
    CONSTRAINT "currency_is_iso_4217" CHECK (("currency" ~ '^[a-z]{3}$'::"text")),
    CONSTRAINT "features_is_an_array" CHECK (("jsonb_typeof"("features") = 'array'::"text")),
    CONSTRAINT "id_is_a_slug" CHECK (("id" ~ '^[a-z][a-z0-9_]*$'::"text")),
    CONSTRAINT "limits_are_positive" CHECK (((COALESCE("daily_generation_limit", 1) > 0) AND (COALESCE("monthly_generation_limit", 1) > 0))),
    CONSTRAINT "prices_are_not_negative" CHECK ((("monthly_price_cents" >= 0) AND ("yearly_price_cents" >= 0))),
    CONSTRAINT "trial_days_in_range" CHECK ((("trial_days" >= 0) AND ("trial_days" <= 730)))
);

--
-- Name: TABLE "plans"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."plans" IS 'what each plan allows; issue "Billing" adds prices and Stripe ids';

--
-- Name: COLUMN "plans"."daily_generation_limit"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."plans"."daily_generation_limit" IS 'generations per organization per UTC day; null: unlimited';

--
-- Name: COLUMN "plans"."queue_priority"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."plans"."queue_priority" IS 'the priority of the plan''s jobs in the queue (higher runs first)';

--
-- Name: COLUMN "plans"."features"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."plans"."features" IS 'feature keys the plan includes (JSON array of strings), for pricing pages';

--
-- Name: COLUMN "plans"."trial_days"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."plans"."trial_days" IS 'free trial offered by checkout for a first subscription; 0: none';

--
-- Name: COLUMN "plans"."stripe_price_monthly"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."plans"."stripe_price_monthly" IS 'Stripe price id (price_...) billed monthly; set by `price.*` events whose metadata names the plan, or by hand';

--
-- Name: COLUMN "plans"."active"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."plans"."active" IS 'offered for new checkouts; existing subscriptions keep their plan';

--
-- Name: COLUMN "plans"."stripe_synced_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."plans"."stripe_synced_at" IS 'created time of the last product/price event applied to the plan';

--
-- Name: COLUMN "plans"."channel_messages_monthly_limit"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."plans"."channel_messages_monthly_limit" IS 'outbound SMS/WhatsApp messages an organization may send per UTC month, when the plan has the `channels` feature; null: unlimited';

--
-- Name: profiles; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."profiles" (
    "id" "uuid" NOT NULL,
    "full_name" "text",
    "avatar_url" "text",
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "avatar_url_is_short" CHECK (("char_length"("avatar_url") <= 2048)),
    CONSTRAINT "full_name_is_short" CHECK (("char_length"("full_name") <= 200))
);

--
-- Name: TABLE "profiles"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."profiles" IS 'public profile of a user, one per auth.users row; created by tg_users__create_profile on sign-up';

--
-- Name: COLUMN "profiles"."full_name"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."profiles"."full_name" IS 'from raw_user_meta_data full_name (e-mail sign-up) or name (OAuth providers) at sign-up; then user-editable';

--
-- Name: COLUMN "profiles"."avatar_url"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."profiles"."avatar_url" IS 'from raw_user_meta_data avatar_url or picture (OAuth providers) at sign-up; then user-editable';

--
-- Name: projects; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."projects" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "name" "text" NOT NULL,
    "description" "text",
    "archived_at" timestamp with time zone,
    "created_by" "uuid" DEFAULT "auth"."uid"(),
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "name_is_not_blank" CHECK ((("char_length"("btrim"("name")) >= 1) AND ("char_length"("btrim"("name")) <= 200)))
);

--
-- Name: TABLE "projects"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."projects" IS 'a client project of an organization';

--
-- Name: COLUMN "projects"."archived_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."projects"."archived_at" IS 'active -> archived: set when the project is archived';

--
-- Name: provisioning_logs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."provisioning_logs" (
    "id" bigint NOT NULL,
    "run_id" "uuid" NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "step_name" "text",
    "level" "text" DEFAULT 'info'::"text" NOT NULL,
    "message" "text" NOT NULL,
    "data" "jsonb" DEFAULT '{}'::"jsonb" NOT NULL,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "level_is_known" CHECK (("level" = ANY (ARRAY['info'::"text", 'warning'::"text", 'error'::"text"]))),
    CONSTRAINT "message_is_not_blank" CHECK ((("char_length"("btrim"("message")) >= 1) AND ("char_length"("btrim"("message")) <= 4000)))
);

--
-- Name: TABLE "provisioning_logs"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."provisioning_logs" IS 'append-only: every action of every run (step started, done, failed, undone); triggers refuse update and delete';

--
-- Name: provisioning_logs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE "public"."provisioning_logs" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME "public"."provisioning_logs_id_seq"
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: provisioning_steps; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."provisioning_steps" (
    "id" bigint NOT NULL,
    "run_id" "uuid" NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "ordinal" integer NOT NULL,
    "name" "text" NOT NULL,
    "status" "text" DEFAULT 'pending'::"text" NOT NULL,
    "attempts" integer DEFAULT 0 NOT NULL,
    "idempotency_key" "text" NOT NULL,
    "output" "jsonb",
    "error" "text",
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "started_at" timestamp with time zone,
    "finished_at" timestamp with time zone,
    "compensated_at" timestamp with time zone,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "attempts_not_negative" CHECK (("attempts" >= 0)),
    CONSTRAINT "name_is_a_slug" CHECK (("name" ~ '^[a-z][a-z0-9_]*$'::"text")),
    CONSTRAINT "ordinal_is_positive" CHECK (("ordinal" > 0)),
    CONSTRAINT "status_is_known" CHECK (("status" = ANY (ARRAY['pending'::"text", 'running'::"text", 'succeeded'::"text", 'failed'::"text", 'compensating'::"text", 'compensated'::"text", 'compensation_failed'::"text"])))
);

--
-- Name: TABLE "provisioning_steps"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."provisioning_steps" IS 'the ordered steps of a run; progress is written after each one, so a new worker resumes at the step in flight';

--
-- Name: COLUMN "provisioning_steps"."status"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_steps"."status" IS 'pending -> running -> succeeded | failed; succeeded | failed -> compensating (undo) -> compensated | compensation_failed; compensation_failed -> compensating on retry. running stays running across a resume.';

--
-- Name: COLUMN "provisioning_steps"."idempotency_key"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."provisioning_steps"."idempotency_key" IS '<run id>:<step name>; the provider tags what it creates with it, so a re-run finds the resource instead of creating a second one';

--
-- Name: provisioning_steps_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE "public"."provisioning_steps" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME "public"."provisioning_steps_id_seq"
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: reply_suggestions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."reply_suggestions" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "conversation_id" "uuid" NOT NULL,
    "message_id" "uuid" NOT NULL,
    "requested_by" "uuid",
    "status" "text" DEFAULT 'queued'::"text" NOT NULL,
    "body" "text",
    "model" "text",
    "input_tokens" integer,
    "output_tokens" integer,
    "error_message" "text",
    "job_id" bigint,
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "ready_has_body" CHECK ((("status" <> ALL (ARRAY['ready'::"text", 'dismissed'::"text"])) OR ("body" IS NOT NULL))),
    CONSTRAINT "status_is_known" CHECK (("status" = ANY (ARRAY['queued'::"text", 'ready'::"text", 'failed'::"text", 'dismissed'::"text"])))
);

--
-- Name: TABLE "reply_suggestions"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."reply_suggestions" IS 'an AI-suggested reply to a message, for the organization''s staff only; never sent by itself';

--
-- Name: subscriptions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."subscriptions" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "plan_id" "text" NOT NULL,
    "status" "text" NOT NULL,
    "stripe_subscription_id" "text" NOT NULL,
    "stripe_customer_id" "text" NOT NULL,
    "stripe_price_id" "text",
    "billing_interval" "text",
    "quantity" integer DEFAULT 1 NOT NULL,
    "current_period_start" timestamp with time zone,
    "current_period_end" timestamp with time zone,
    "cancel_at_period_end" boolean DEFAULT false NOT NULL,
    "cancel_at" timestamp with time zone,
    "trial_start" timestamp with time zone,
    "trial_end" timestamp with time zone,
    "canceled_at" timestamp with time zone,
    "ended_at" timestamp with time zone,
    "past_due_since" timestamp with time zone,
    "last_event_at" timestamp with time zone NOT NULL,
    "last_event_id" "text",
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "billing_interval_is_known" CHECK (("billing_interval" = ANY (ARRAY['day'::"text", 'week'::"text", 'month'::"text", 'year'::"text"]))),
    CONSTRAINT "past_due_since_iff_past_due" CHECK ((("status" = 'past_due'::"text") = ("past_due_since" IS NOT NULL))),
    CONSTRAINT "quantity_is_positive" CHECK (("quantity" > 0)),
    CONSTRAINT "status_is_a_stripe_status" CHECK (("status" = ANY (ARRAY['incomplete'::"text", 'incomplete_expired'::"text", 'trialing'::"text", 'active'::"text", 'past_due'::"text", 'canceled'::"text", 'unpaid'::"text", 'paused'::"text"])))
);

ALTER TABLE ONLY "public"."subscriptions" REPLICA IDENTITY FULL;

--
-- Name: TABLE "subscriptions"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."subscriptions" IS 'Stripe subscriptions, one row per Stripe subscription; written only from Stripe events and `supakit billing sync`';

--
-- Name: COLUMN "subscriptions"."past_due_since"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."subscriptions"."past_due_since" IS 'when the subscription became past_due: access continues until this plus the grace period (organization_plan)';

--
-- Name: COLUMN "subscriptions"."last_event_at"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN "public"."subscriptions"."last_event_at" IS 'created time of the newest Stripe event (or sync) applied: older events change nothing (out-of-order guard)';

--
-- Name: tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."tasks" (
    "id" "uuid" DEFAULT "gen_random_uuid"() NOT NULL,
    "organization_id" "uuid" NOT NULL,
    "project_id" "uuid" NOT NULL,
    "title" "text" NOT NULL,
    "description" "text",
    "status" "public"."task_status" DEFAULT 'todo'::"public"."task_status" NOT NULL,
    "assignee_id" "uuid",
    "due_on" "date",
    "completed_at" timestamp with time zone,
    "created_by" "uuid" DEFAULT "auth"."uid"(),
    "created_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "done_iff_completed_at" CHECK ((("status" = 'done'::"public"."task_status") = ("completed_at" IS NOT NULL))),
    CONSTRAINT "title_is_not_blank" CHECK ((("char_length"("btrim"("title")) >= 1) AND ("char_length"("btrim"("title")) <= 500)))
);

--
-- Name: TABLE "tasks"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."tasks" IS 'a task in a project, optionally assigned to a member of the organization';

--
-- Name: usage_counters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE "public"."usage_counters" (
    "organization_id" "uuid" NOT NULL,
    "user_id" "uuid" NOT NULL,
    "period" "text" NOT NULL,
    "period_start" "date" NOT NULL,
    "generations" integer DEFAULT 0 NOT NULL,
    "input_tokens" bigint DEFAULT 0 NOT NULL,
    "output_tokens" bigint DEFAULT 0 NOT NULL,
    "updated_at" timestamp with time zone DEFAULT "now"() NOT NULL,
    CONSTRAINT "counts_are_not_negative" CHECK ((("generations" >= 0) AND ("input_tokens" >= 0) AND ("output_tokens" >= 0))),
    CONSTRAINT "period_is_day_or_month" CHECK (("period" = ANY (ARRAY['day'::"text", 'month'::"text"])))
);

--
-- Name: TABLE "usage_counters"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE "public"."usage_counters" IS 'succeeded generations and tokens per organization, user and UTC day / month; updated when a job finishes';

--
-- Name: analytics_events analytics_events_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."analytics_events"
    ADD CONSTRAINT "analytics_events_pkey" PRIMARY KEY ("id");

--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."audit_log"
    ADD CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id");

--
-- Name: backup_policies backup_policies_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."backup_policies"
    ADD CONSTRAINT "backup_policies_pkey" PRIMARY KEY ("plan_id");

--
-- Name: channel_unrouted channel_unrouted_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."channel_unrouted"
    ADD CONSTRAINT "channel_unrouted_pkey" PRIMARY KEY ("twilio_sid");

--
-- Name: job_schedule_firings job_schedule_firings_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."job_schedule_firings"
    ADD CONSTRAINT "job_schedule_firings_pkey" PRIMARY KEY ("schedule_name", "slot");

--
-- Name: job_schedules job_schedules_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."job_schedules"
    ADD CONSTRAINT "job_schedules_pkey" PRIMARY KEY ("name");

--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."jobs"
    ADD CONSTRAINT "jobs_pkey" PRIMARY KEY ("id");

--
-- Name: messaging_settings messaging_settings_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."messaging_settings"
    ADD CONSTRAINT "messaging_settings_pkey" PRIMARY KEY ("singleton");

--
-- Name: outbox_emails outbox_emails_dedupe_key_key; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."outbox_emails"
    ADD CONSTRAINT "outbox_emails_dedupe_key_key" UNIQUE ("dedupe_key");

--
-- Name: outbox_emails outbox_emails_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."outbox_emails"
    ADD CONSTRAINT "outbox_emails_pkey" PRIMARY KEY ("id");

--
-- Name: plan_assignments plan_assignments_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."plan_assignments"
    ADD CONSTRAINT "plan_assignments_pkey" PRIMARY KEY ("organization_id");

--
-- Name: quota_refusals quota_refusals_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."quota_refusals"
    ADD CONSTRAINT "quota_refusals_pkey" PRIMARY KEY ("organization_id", "user_id", "day");

--
-- Name: resize_requests resize_requests_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."resize_requests"
    ADD CONSTRAINT "resize_requests_pkey" PRIMARY KEY ("organization_id");

--
-- Name: stripe_events stripe_events_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."stripe_events"
    ADD CONSTRAINT "stripe_events_pkey" PRIMARY KEY ("id");

--
-- Name: stripe_object_versions stripe_object_versions_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."stripe_object_versions"
    ADD CONSTRAINT "stripe_object_versions_pkey" PRIMARY KEY ("object_id");

--
-- Name: workers workers_pkey; Type: CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."workers"
    ADD CONSTRAINT "workers_pkey" PRIMARY KEY ("name");

--
-- Name: backups backups_organization_id_slot_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."backups"
    ADD CONSTRAINT "backups_organization_id_slot_key" UNIQUE ("organization_id", "slot");

--
-- Name: backups backups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."backups"
    ADD CONSTRAINT "backups_pkey" PRIMARY KEY ("id");

--
-- Name: billing_customers billing_customers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."billing_customers"
    ADD CONSTRAINT "billing_customers_pkey" PRIMARY KEY ("organization_id");

--
-- Name: billing_customers billing_customers_stripe_customer_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."billing_customers"
    ADD CONSTRAINT "billing_customers_stripe_customer_id_key" UNIQUE ("stripe_customer_id");

--
-- Name: channel_contacts channel_contacts_conversation_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."channel_contacts"
    ADD CONSTRAINT "channel_contacts_conversation_id_key" UNIQUE ("conversation_id");

--
-- Name: channel_contacts channel_contacts_organization_id_channel_address_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."channel_contacts"
    ADD CONSTRAINT "channel_contacts_organization_id_channel_address_key" UNIQUE ("organization_id", "channel", "address");

--
-- Name: channel_contacts channel_contacts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."channel_contacts"
    ADD CONSTRAINT "channel_contacts_pkey" PRIMARY KEY ("id");

--
-- Name: channel_senders channel_senders_channel_address_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."channel_senders"
    ADD CONSTRAINT "channel_senders_channel_address_key" UNIQUE ("channel", "address");

--
-- Name: channel_senders channel_senders_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."channel_senders"
    ADD CONSTRAINT "channel_senders_pkey" PRIMARY KEY ("id");

--
-- Name: conversation_participants conversation_participants_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."conversation_participants"
    ADD CONSTRAINT "conversation_participants_pkey" PRIMARY KEY ("conversation_id", "user_id");

--
-- Name: conversations conversations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."conversations"
    ADD CONSTRAINT "conversations_pkey" PRIMARY KEY ("id");

--
-- Name: customer_infrastructure customer_infrastructure_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."customer_infrastructure"
    ADD CONSTRAINT "customer_infrastructure_pkey" PRIMARY KEY ("organization_id");

--
-- Name: generations generations_job_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."generations"
    ADD CONSTRAINT "generations_job_id_key" UNIQUE ("job_id");

--
-- Name: generations generations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."generations"
    ADD CONSTRAINT "generations_pkey" PRIMARY KEY ("id");

--
-- Name: infrastructure_usage infrastructure_usage_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."infrastructure_usage"
    ADD CONSTRAINT "infrastructure_usage_pkey" PRIMARY KEY ("organization_id", "day");

--
-- Name: instance_health_checks instance_health_checks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."instance_health_checks"
    ADD CONSTRAINT "instance_health_checks_pkey" PRIMARY KEY ("id");

--
-- Name: invitations invitations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."invitations"
    ADD CONSTRAINT "invitations_pkey" PRIMARY KEY ("id");

--
-- Name: invitations invitations_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."invitations"
    ADD CONSTRAINT "invitations_token_hash_key" UNIQUE ("token_hash");

--
-- Name: invoices invoices_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."invoices"
    ADD CONSTRAINT "invoices_pkey" PRIMARY KEY ("id");

--
-- Name: invoices invoices_stripe_invoice_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."invoices"
    ADD CONSTRAINT "invoices_stripe_invoice_id_key" UNIQUE ("stripe_invoice_id");

--
-- Name: memberships memberships_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."memberships"
    ADD CONSTRAINT "memberships_pkey" PRIMARY KEY ("organization_id", "user_id");

--
-- Name: message_deliveries message_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."message_deliveries"
    ADD CONSTRAINT "message_deliveries_pkey" PRIMARY KEY ("message_id");

--
-- Name: message_deliveries message_deliveries_twilio_sid_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."message_deliveries"
    ADD CONSTRAINT "message_deliveries_twilio_sid_key" UNIQUE ("twilio_sid");

--
-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."messages"
    ADD CONSTRAINT "messages_pkey" PRIMARY KEY ("id");

--
-- Name: organizations organizations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."organizations"
    ADD CONSTRAINT "organizations_pkey" PRIMARY KEY ("id");

--
-- Name: organizations organizations_slug_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."organizations"
    ADD CONSTRAINT "organizations_slug_key" UNIQUE ("slug");

--
-- Name: plans plans_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."plans"
    ADD CONSTRAINT "plans_pkey" PRIMARY KEY ("id");

--
-- Name: plans plans_stripe_price_monthly_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."plans"
    ADD CONSTRAINT "plans_stripe_price_monthly_key" UNIQUE ("stripe_price_monthly");

--
-- Name: plans plans_stripe_price_yearly_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."plans"
    ADD CONSTRAINT "plans_stripe_price_yearly_key" UNIQUE ("stripe_price_yearly");

--
-- Name: profiles profiles_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."profiles"
    ADD CONSTRAINT "profiles_pkey" PRIMARY KEY ("id");

--
-- Name: projects projects_id_organization_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."projects"
    ADD CONSTRAINT "projects_id_organization_id_key" UNIQUE ("id", "organization_id");

--
-- Name: projects projects_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."projects"
    ADD CONSTRAINT "projects_pkey" PRIMARY KEY ("id");

--
-- Name: provisioning_logs provisioning_logs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_logs"
    ADD CONSTRAINT "provisioning_logs_pkey" PRIMARY KEY ("id");

--
-- Name: provisioning_runs provisioning_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_runs"
    ADD CONSTRAINT "provisioning_runs_pkey" PRIMARY KEY ("id");

--
-- Name: provisioning_steps provisioning_steps_idempotency_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_steps"
    ADD CONSTRAINT "provisioning_steps_idempotency_key_key" UNIQUE ("idempotency_key");

--
-- Name: provisioning_steps provisioning_steps_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_steps"
    ADD CONSTRAINT "provisioning_steps_pkey" PRIMARY KEY ("id");

--
-- Name: provisioning_steps provisioning_steps_run_id_ordinal_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_steps"
    ADD CONSTRAINT "provisioning_steps_run_id_ordinal_key" UNIQUE ("run_id", "ordinal");

--
-- Name: reply_suggestions reply_suggestions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."reply_suggestions"
    ADD CONSTRAINT "reply_suggestions_pkey" PRIMARY KEY ("id");

--
-- Name: subscriptions subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."subscriptions"
    ADD CONSTRAINT "subscriptions_pkey" PRIMARY KEY ("id");

--
-- Name: subscriptions subscriptions_stripe_subscription_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."subscriptions"
    ADD CONSTRAINT "subscriptions_stripe_subscription_id_key" UNIQUE ("stripe_subscription_id");

--
-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."tasks"
    ADD CONSTRAINT "tasks_pkey" PRIMARY KEY ("id");

--
-- Name: usage_counters usage_counters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."usage_counters"
    ADD CONSTRAINT "usage_counters_pkey" PRIMARY KEY ("organization_id", "user_id", "period", "period_start");

--
-- Name: analytics_events_organization_id_occurred_at_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "analytics_events_organization_id_occurred_at_idx" ON "internal"."analytics_events" USING "btree" ("organization_id", "occurred_at" DESC);

--
-- Name: audit_log_organization_id_occurred_at_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "audit_log_organization_id_occurred_at_idx" ON "internal"."audit_log" USING "btree" ("organization_id", "occurred_at" DESC);

--
-- Name: job_schedules_next_run_at_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "job_schedules_next_run_at_idx" ON "internal"."job_schedules" USING "btree" ("next_run_at") WHERE "enabled";

--
-- Name: job_schedules_organization_id_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "job_schedules_organization_id_idx" ON "internal"."job_schedules" USING "btree" ("organization_id") WHERE ("organization_id" IS NOT NULL);

--
-- Name: jobs_claim_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "jobs_claim_idx" ON "internal"."jobs" USING "btree" ("priority" DESC, "run_at", "id") WHERE ("status" = 'queued'::"internal"."job_status");

--
-- Name: jobs_dedupe_key_key; Type: INDEX; Schema: internal; Owner: -
--

CREATE UNIQUE INDEX "jobs_dedupe_key_key" ON "internal"."jobs" USING "btree" ("dedupe_key") WHERE (("dedupe_key" IS NOT NULL) AND ("status" = ANY (ARRAY['queued'::"internal"."job_status", 'running'::"internal"."job_status"])));

--
-- Name: jobs_kind_status_finished_at_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "jobs_kind_status_finished_at_idx" ON "internal"."jobs" USING "btree" ("kind", "status", "finished_at") WHERE ("status" = ANY (ARRAY['succeeded'::"internal"."job_status", 'failed'::"internal"."job_status", 'cancelled'::"internal"."job_status"]));

--
-- Name: jobs_organization_id_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "jobs_organization_id_idx" ON "internal"."jobs" USING "btree" ("organization_id") WHERE ("organization_id" IS NOT NULL);

--
-- Name: jobs_running_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "jobs_running_idx" ON "internal"."jobs" USING "btree" ("id") WHERE ("status" = 'running'::"internal"."job_status");

--
-- Name: outbox_emails_organization_id_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "outbox_emails_organization_id_idx" ON "internal"."outbox_emails" USING "btree" ("organization_id");

--
-- Name: outbox_emails_queued_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "outbox_emails_queued_idx" ON "internal"."outbox_emails" USING "btree" ("created_at") WHERE ("status" = 'queued'::"text");

--
-- Name: plan_assignments_plan_id_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "plan_assignments_plan_id_idx" ON "internal"."plan_assignments" USING "btree" ("plan_id");

--
-- Name: quota_refusals_user_id_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "quota_refusals_user_id_idx" ON "internal"."quota_refusals" USING "btree" ("user_id");

--
-- Name: stripe_events_failed_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "stripe_events_failed_idx" ON "internal"."stripe_events" USING "btree" ("received_at") WHERE ("processed_at" IS NULL);

--
-- Name: stripe_events_object_id_idx; Type: INDEX; Schema: internal; Owner: -
--

CREATE INDEX "stripe_events_object_id_idx" ON "internal"."stripe_events" USING "btree" ("object_id");

--
-- Name: backups_organization_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "backups_organization_id_created_at_idx" ON "public"."backups" USING "btree" ("organization_id", "created_at" DESC);

--
-- Name: channel_senders_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "channel_senders_organization_id_idx" ON "public"."channel_senders" USING "btree" ("organization_id");

--
-- Name: conversation_participants_user_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "conversation_participants_user_id_idx" ON "public"."conversation_participants" USING "btree" ("user_id");

--
-- Name: conversations_created_by_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "conversations_created_by_idx" ON "public"."conversations" USING "btree" ("created_by");

--
-- Name: conversations_direct_pair_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX "conversations_direct_pair_key" ON "public"."conversations" USING "btree" ("organization_id", "direct_user_low", "direct_user_high") WHERE ("kind" = 'direct'::"text");

--
-- Name: conversations_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "conversations_organization_id_idx" ON "public"."conversations" USING "btree" ("organization_id");

--
-- Name: generations_organization_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "generations_organization_id_created_at_idx" ON "public"."generations" USING "btree" ("organization_id", "created_at" DESC);

--
-- Name: generations_user_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "generations_user_id_idx" ON "public"."generations" USING "btree" ("user_id");

--
-- Name: instance_health_checks_checked_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "instance_health_checks_checked_at_idx" ON "public"."instance_health_checks" USING "btree" ("checked_at");

--
-- Name: instance_health_checks_organization_id_checked_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "instance_health_checks_organization_id_checked_at_idx" ON "public"."instance_health_checks" USING "btree" ("organization_id", "checked_at" DESC, "id" DESC);

--
-- Name: invitations_accepted_by_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "invitations_accepted_by_idx" ON "public"."invitations" USING "btree" ("accepted_by");

--
-- Name: invitations_invited_by_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "invitations_invited_by_idx" ON "public"."invitations" USING "btree" ("invited_by");

--
-- Name: invitations_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "invitations_organization_id_idx" ON "public"."invitations" USING "btree" ("organization_id");

--
-- Name: invitations_pending_email_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX "invitations_pending_email_key" ON "public"."invitations" USING "btree" ("organization_id", "email") WHERE (("accepted_at" IS NULL) AND ("revoked_at" IS NULL));

--
-- Name: invoices_organization_id_stripe_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "invoices_organization_id_stripe_created_at_idx" ON "public"."invoices" USING "btree" ("organization_id", "stripe_created_at" DESC);

--
-- Name: invoices_stripe_subscription_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "invoices_stripe_subscription_id_idx" ON "public"."invoices" USING "btree" ("stripe_subscription_id");

--
-- Name: memberships_user_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "memberships_user_id_idx" ON "public"."memberships" USING "btree" ("user_id");

--
-- Name: message_deliveries_contact_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "message_deliveries_contact_id_idx" ON "public"."message_deliveries" USING "btree" ("contact_id");

--
-- Name: message_deliveries_conversation_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "message_deliveries_conversation_id_idx" ON "public"."message_deliveries" USING "btree" ("conversation_id");

--
-- Name: message_deliveries_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "message_deliveries_organization_id_idx" ON "public"."message_deliveries" USING "btree" ("organization_id");

--
-- Name: message_deliveries_outbound_month_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "message_deliveries_outbound_month_idx" ON "public"."message_deliveries" USING "btree" ("organization_id", "created_at") WHERE ("direction" = 'outbound'::"text");

--
-- Name: messages_conversation_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "messages_conversation_id_created_at_idx" ON "public"."messages" USING "btree" ("conversation_id", "created_at" DESC);

--
-- Name: messages_organization_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "messages_organization_id_created_at_idx" ON "public"."messages" USING "btree" ("organization_id", "created_at");

--
-- Name: messages_reply_to_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "messages_reply_to_idx" ON "public"."messages" USING "btree" ("reply_to");

--
-- Name: messages_sender_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "messages_sender_id_idx" ON "public"."messages" USING "btree" ("sender_id");

--
-- Name: messages_unread_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "messages_unread_idx" ON "public"."messages" USING "btree" ("conversation_id", "created_at") INCLUDE ("sender_id") WHERE ("deleted_at" IS NULL);

--
-- Name: organizations_created_by_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "organizations_created_by_idx" ON "public"."organizations" USING "btree" ("created_by");

--
-- Name: projects_created_by_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "projects_created_by_idx" ON "public"."projects" USING "btree" ("created_by");

--
-- Name: projects_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "projects_organization_id_idx" ON "public"."projects" USING "btree" ("organization_id");

--
-- Name: provisioning_logs_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "provisioning_logs_organization_id_idx" ON "public"."provisioning_logs" USING "btree" ("organization_id");

--
-- Name: provisioning_logs_run_id_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "provisioning_logs_run_id_id_idx" ON "public"."provisioning_logs" USING "btree" ("run_id", "id");

--
-- Name: provisioning_runs_backup_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "provisioning_runs_backup_id_idx" ON "public"."provisioning_runs" USING "btree" ("backup_id") WHERE ("backup_id" IS NOT NULL);

--
-- Name: provisioning_runs_one_live_per_organization_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX "provisioning_runs_one_live_per_organization_idx" ON "public"."provisioning_runs" USING "btree" ("organization_id", "kind") WHERE ("status" = ANY (ARRAY['pending'::"text", 'running'::"text", 'compensating'::"text"]));

--
-- Name: provisioning_runs_organization_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "provisioning_runs_organization_id_created_at_idx" ON "public"."provisioning_runs" USING "btree" ("organization_id", "created_at" DESC);

--
-- Name: provisioning_steps_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "provisioning_steps_organization_id_idx" ON "public"."provisioning_steps" USING "btree" ("organization_id");

--
-- Name: reply_suggestions_conversation_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "reply_suggestions_conversation_id_idx" ON "public"."reply_suggestions" USING "btree" ("conversation_id");

--
-- Name: reply_suggestions_message_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "reply_suggestions_message_id_idx" ON "public"."reply_suggestions" USING "btree" ("message_id");

--
-- Name: reply_suggestions_organization_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "reply_suggestions_organization_id_created_at_idx" ON "public"."reply_suggestions" USING "btree" ("organization_id", "created_at");

--
-- Name: reply_suggestions_requested_by_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "reply_suggestions_requested_by_idx" ON "public"."reply_suggestions" USING "btree" ("requested_by");

--
-- Name: subscriptions_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "subscriptions_organization_id_idx" ON "public"."subscriptions" USING "btree" ("organization_id");

--
-- Name: subscriptions_plan_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "subscriptions_plan_id_idx" ON "public"."subscriptions" USING "btree" ("plan_id");

--
-- Name: subscriptions_stripe_customer_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "subscriptions_stripe_customer_id_idx" ON "public"."subscriptions" USING "btree" ("stripe_customer_id");

--
-- Name: tasks_assignee_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "tasks_assignee_id_idx" ON "public"."tasks" USING "btree" ("assignee_id");

--
-- Name: tasks_created_by_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "tasks_created_by_idx" ON "public"."tasks" USING "btree" ("created_by");

--
-- Name: tasks_organization_id_status_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "tasks_organization_id_status_idx" ON "public"."tasks" USING "btree" ("organization_id", "status");

--
-- Name: tasks_project_id_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "tasks_project_id_organization_id_idx" ON "public"."tasks" USING "btree" ("project_id", "organization_id");

--
-- Name: usage_counters_user_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX "usage_counters_user_id_idx" ON "public"."usage_counters" USING "btree" ("user_id");

--
-- Name: jobs _100_check_transition; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_100_check_transition" BEFORE UPDATE ON "internal"."jobs" FOR EACH ROW WHEN (((NOT ("new"."updated_at" IS DISTINCT FROM "old"."updated_at")) OR (("old"."status" <> "new"."status") AND ((((((((("old"."status" <> 'queued'::"internal"."job_status") OR ("new"."status" <> 'running'::"internal"."job_status")) AND (("old"."status" <> 'queued'::"internal"."job_status") OR ("new"."status" <> 'cancelled'::"internal"."job_status"))) AND (("old"."status" <> 'running'::"internal"."job_status") OR ("new"."status" <> 'succeeded'::"internal"."job_status"))) AND (("old"."status" <> 'running'::"internal"."job_status") OR ("new"."status" <> 'failed'::"internal"."job_status"))) AND (("old"."status" <> 'running'::"internal"."job_status") OR ("new"."status" <> 'queued'::"internal"."job_status"))) AND (("old"."status" <> 'running'::"internal"."job_status") OR ("new"."status" <> 'cancelled'::"internal"."job_status"))) AND (("old"."status" <> 'failed'::"internal"."job_status") OR ("new"."status" <> 'queued'::"internal"."job_status"))) AND (("old"."status" <> 'cancelled'::"internal"."job_status") OR ("new"."status" <> 'queued'::"internal"."job_status")))))) EXECUTE FUNCTION "internal"."tg_jobs__check_transition"();

--
-- Name: analytics_events _100_refuse_change; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_100_refuse_change" BEFORE DELETE OR UPDATE ON "internal"."analytics_events" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_refuse_change"();

--
-- Name: audit_log _100_refuse_change; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_100_refuse_change" BEFORE DELETE OR UPDATE ON "internal"."audit_log" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_audit_log__refuse_change"();

--
-- Name: analytics_events _100_refuse_truncate; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_100_refuse_truncate" BEFORE TRUNCATE ON "internal"."analytics_events" FOR EACH STATEMENT EXECUTE FUNCTION "internal"."tg_refuse_change"();

--
-- Name: audit_log _100_refuse_truncate; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_100_refuse_truncate" BEFORE TRUNCATE ON "internal"."audit_log" FOR EACH STATEMENT EXECUTE FUNCTION "internal"."tg_audit_log__refuse_change"();

--
-- Name: jobs _500_sync_generation; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_500_sync_generation" AFTER UPDATE OF "status" ON "internal"."jobs" FOR EACH ROW WHEN ((("new"."kind" = 'ai.generate'::"text") AND ("old"."status" IS DISTINCT FROM "new"."status"))) EXECUTE FUNCTION "internal"."tg_jobs__sync_generation"();

--
-- Name: jobs _510_fail_channel_delivery; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_510_fail_channel_delivery" AFTER UPDATE OF "status" ON "internal"."jobs" FOR EACH ROW WHEN ((("new"."kind" = 'channel.send'::"text") AND ("new"."status" = 'failed'::"internal"."job_status") AND ("old"."status" IS DISTINCT FROM "new"."status"))) EXECUTE FUNCTION "internal"."tg_jobs__fail_channel_delivery"();

--
-- Name: jobs _520_fail_reply_suggestion; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_520_fail_reply_suggestion" AFTER UPDATE OF "status" ON "internal"."jobs" FOR EACH ROW WHEN ((("new"."kind" = 'ai.suggest_reply'::"text") AND ("new"."status" = 'failed'::"internal"."job_status") AND ("old"."status" IS DISTINCT FROM "new"."status"))) EXECUTE FUNCTION "internal"."tg_jobs__fail_reply_suggestion"();

--
-- Name: jobs _700_end_provisioning_run; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_700_end_provisioning_run" AFTER UPDATE OF "status" ON "internal"."jobs" FOR EACH ROW WHEN ((("new"."kind" = ANY (ARRAY['provisioning.run'::"text", 'provisioning.deprovision'::"text"])) AND ("new"."status" = ANY (ARRAY['succeeded'::"internal"."job_status", 'failed'::"internal"."job_status", 'cancelled'::"internal"."job_status"])) AND ("old"."status" IS DISTINCT FROM "new"."status"))) EXECUTE FUNCTION "internal"."tg_jobs__end_provisioning_run"();

--
-- Name: jobs _900_notify_worker; Type: TRIGGER; Schema: internal; Owner: -
--

CREATE TRIGGER "_900_notify_worker" AFTER INSERT ON "internal"."jobs" FOR EACH STATEMENT EXECUTE FUNCTION "internal"."tg_jobs__notify"();

--
-- Name: conversation_participants _050_pin; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_050_pin" BEFORE UPDATE ON "public"."conversation_participants" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_conversation_participants__pin"();

--
-- Name: conversations _050_pin; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_050_pin" BEFORE UPDATE ON "public"."conversations" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_conversations__pin"();

--
-- Name: projects _050_pin_organization; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_050_pin_organization" BEFORE UPDATE ON "public"."projects" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_pin_organization"('project');

--
-- Name: tasks _050_pin_organization; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_050_pin_organization" BEFORE UPDATE ON "public"."tasks" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_pin_organization"('task');

--
-- Name: conversation_participants _100_before_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_before_delete" BEFORE DELETE ON "public"."conversation_participants" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_conversation_participants__before_delete"();

--
-- Name: conversation_participants _100_before_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_before_insert" BEFORE INSERT ON "public"."conversation_participants" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_conversation_participants__before_insert"();

--
-- Name: messages _100_before_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_before_insert" BEFORE INSERT ON "public"."messages" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_messages__before_insert"();

--
-- Name: messages _100_before_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_before_update" BEFORE UPDATE ON "public"."messages" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_messages__before_update"();

--
-- Name: backups _100_check_transition; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_check_transition" BEFORE UPDATE ON "public"."backups" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_backups__check_transition"();

--
-- Name: provisioning_runs _100_check_transition; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_check_transition" BEFORE UPDATE ON "public"."provisioning_runs" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_provisioning_runs__check_transition"();

--
-- Name: provisioning_steps _100_check_transition; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_check_transition" BEFORE UPDATE ON "public"."provisioning_steps" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_provisioning_steps__check_transition"();

--
-- Name: provisioning_logs _100_refuse_change; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_refuse_change" BEFORE DELETE OR UPDATE ON "public"."provisioning_logs" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_provisioning_logs__refuse_change"();

--
-- Name: provisioning_logs _100_refuse_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_refuse_truncate" BEFORE TRUNCATE ON "public"."provisioning_logs" FOR EACH STATEMENT EXECUTE FUNCTION "internal"."tg_refuse_change"();

--
-- Name: conversations _100_set_created_by; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_created_by" BEFORE INSERT ON "public"."conversations" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_created_by"();

--
-- Name: projects _100_set_created_by; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_created_by" BEFORE INSERT ON "public"."projects" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_created_by"();

--
-- Name: tasks _100_set_created_by; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_created_by" BEFORE INSERT ON "public"."tasks" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_created_by"();

--
-- Name: conversations _100_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_updated_at" BEFORE UPDATE ON "public"."conversations" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_updated_at"();

--
-- Name: memberships _100_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_updated_at" BEFORE UPDATE ON "public"."memberships" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_updated_at"();

--
-- Name: organizations _100_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_updated_at" BEFORE UPDATE ON "public"."organizations" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_updated_at"();

--
-- Name: plans _100_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_updated_at" BEFORE UPDATE ON "public"."plans" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_updated_at"();

--
-- Name: profiles _100_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_updated_at" BEFORE UPDATE ON "public"."profiles" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_updated_at"();

--
-- Name: projects _100_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_updated_at" BEFORE UPDATE ON "public"."projects" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_updated_at"();

--
-- Name: tasks _100_set_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_100_set_updated_at" BEFORE UPDATE ON "public"."tasks" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_set_updated_at"();

--
-- Name: subscriptions _200_check_status; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_200_check_status" BEFORE INSERT OR UPDATE ON "public"."subscriptions" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_subscriptions__check_status"();

--
-- Name: memberships _200_enforce_rules; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_200_enforce_rules" BEFORE DELETE OR UPDATE ON "public"."memberships" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_memberships__enforce_rules"();

--
-- Name: tasks _200_enforce_rules; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_200_enforce_rules" BEFORE INSERT OR UPDATE ON "public"."tasks" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_tasks__enforce_rules"();

--
-- Name: conversations _500_add_creator; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_500_add_creator" AFTER INSERT ON "public"."conversations" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_conversations__add_creator"();

--
-- Name: provisioning_runs _500_outcome; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_500_outcome" AFTER UPDATE OF "status" ON "public"."provisioning_runs" FOR EACH ROW WHEN (("new"."kind" = ANY (ARRAY['provision'::"text", 'deprovision'::"text"]))) EXECUTE FUNCTION "internal"."tg_provisioning_runs__outcome"();

--
-- Name: provisioning_runs _510_backup_outcome; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_510_backup_outcome" AFTER UPDATE OF "status" ON "public"."provisioning_runs" FOR EACH ROW WHEN (("new"."kind" = ANY (ARRAY['backup'::"text", 'restore'::"text"]))) EXECUTE FUNCTION "internal"."tg_provisioning_runs__backup_outcome"();

--
-- Name: provisioning_runs _510_resize_outcome; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_510_resize_outcome" AFTER UPDATE OF "status" ON "public"."provisioning_runs" FOR EACH ROW WHEN ((("new"."kind" = 'resize'::"text") AND ("new"."status" = ANY (ARRAY['succeeded'::"text", 'rolled_back'::"text", 'failed'::"text"])))) EXECUTE FUNCTION "internal"."tg_provisioning_runs__resize_outcome"();

--
-- Name: provisioning_runs _550_follow_up; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_550_follow_up" AFTER UPDATE OF "status" ON "public"."provisioning_runs" FOR EACH ROW WHEN ((("new"."kind" = ANY (ARRAY['provision'::"text", 'resize'::"text"])) AND ("new"."status" = ANY (ARRAY['succeeded'::"text", 'rolled_back'::"text"])))) EXECUTE FUNCTION "internal"."tg_provisioning_runs__follow_up"();

--
-- Name: subscriptions _600_request_provisioning; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_600_request_provisioning" AFTER INSERT OR UPDATE OF "status" ON "public"."subscriptions" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_subscriptions__provisioning"();

--
-- Name: provisioning_steps _600_resize_switch; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_600_resize_switch" AFTER UPDATE OF "status" ON "public"."provisioning_steps" FOR EACH ROW WHEN ((("new"."name" = 'switch_dns'::"text") AND ("new"."status" = 'succeeded'::"text"))) EXECUTE FUNCTION "internal"."tg_provisioning_steps__resize_switch"();

--
-- Name: subscriptions _610_request_resize; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_610_request_resize" AFTER INSERT OR UPDATE OF "plan_id", "status" ON "public"."subscriptions" FOR EACH ROW WHEN (("new"."status" = ANY (ARRAY['active'::"text", 'trialing'::"text"]))) EXECUTE FUNCTION "internal"."tg_subscriptions__resize"();

--
-- Name: customer_infrastructure _700_backup_schedule; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_700_backup_schedule" AFTER INSERT OR UPDATE OF "status", "plan_id" ON "public"."customer_infrastructure" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_customer_infrastructure__backup_schedule"();

--
-- Name: customer_infrastructure _710_check_schedules; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_710_check_schedules" AFTER INSERT OR UPDATE OF "status" ON "public"."customer_infrastructure" FOR EACH ROW WHEN (("new"."status" = 'active'::"text")) EXECUTE FUNCTION "internal"."tg_customer_infrastructure__check_schedules"();

--
-- Name: provisioning_runs _730_release_waiting_runs; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_730_release_waiting_runs" AFTER UPDATE OF "status" ON "public"."provisioning_runs" FOR EACH ROW WHEN ((("old"."status" = ANY (ARRAY['pending'::"text", 'running'::"text", 'compensating'::"text"])) AND ("new"."status" <> ALL (ARRAY['pending'::"text", 'running'::"text", 'compensating'::"text"])))) EXECUTE FUNCTION "internal"."tg_provisioning_runs__release_waiting"();

--
-- Name: messages _800_route_to_channel; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_800_route_to_channel" AFTER INSERT ON "public"."messages" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_messages__route_to_channel"();

--
-- Name: memberships _800_welcome; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_800_welcome" AFTER INSERT ON "public"."memberships" FOR EACH ROW WHEN (("new"."role" = 'owner'::"public"."org_role")) EXECUTE FUNCTION "internal"."tg_memberships__welcome"();

--
-- Name: invitations _900_audit; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_audit" AFTER INSERT OR DELETE OR UPDATE ON "public"."invitations" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_audit"('organization_id', 'id', 'token_hash');

--
-- Name: memberships _900_audit; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_audit" AFTER INSERT OR DELETE OR UPDATE ON "public"."memberships" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_audit"('organization_id', 'organization_id,user_id');

--
-- Name: organizations _900_audit; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_audit" AFTER INSERT OR DELETE OR UPDATE ON "public"."organizations" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_audit"('id', 'id');

--
-- Name: projects _900_audit; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_audit" AFTER INSERT OR DELETE OR UPDATE ON "public"."projects" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_audit"('organization_id', 'id');

--
-- Name: generations _900_broadcast; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_broadcast" AFTER INSERT OR UPDATE ON "public"."generations" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_generations__broadcast"();

--
-- Name: instance_health_checks _900_broadcast; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_broadcast" AFTER INSERT ON "public"."instance_health_checks" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_instance_health_checks__broadcast"();

--
-- Name: messages _900_broadcast; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_broadcast" AFTER INSERT OR DELETE OR UPDATE ON "public"."messages" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_messages__broadcast"();

--
-- Name: provisioning_runs _900_broadcast; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_broadcast" AFTER INSERT OR UPDATE ON "public"."provisioning_runs" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_provisioning__broadcast"();

--
-- Name: provisioning_steps _900_broadcast; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_broadcast" AFTER INSERT OR UPDATE ON "public"."provisioning_steps" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_provisioning__broadcast"();

--
-- Name: subscriptions _900_broadcast; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER "_900_broadcast" AFTER INSERT OR UPDATE ON "public"."subscriptions" FOR EACH ROW EXECUTE FUNCTION "internal"."tg_subscriptions__broadcast"();

--
-- Name: conversations _900_check_direct_pair; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER "_900_check_direct_pair" AFTER INSERT ON "public"."conversations" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (("new"."kind" = 'direct'::"text")) EXECUTE FUNCTION "internal"."tg_conversations__check_direct_pair"();

--
-- Name: backup_policies backup_policies_plan_id_fkey; Type: FK CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."backup_policies"
    ADD CONSTRAINT "backup_policies_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "public"."plans"("id") ON DELETE CASCADE;

--
-- Name: job_schedule_firings job_schedule_firings_schedule_name_fkey; Type: FK CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."job_schedule_firings"
    ADD CONSTRAINT "job_schedule_firings_schedule_name_fkey" FOREIGN KEY ("schedule_name") REFERENCES "internal"."job_schedules"("name") ON DELETE CASCADE;

--
-- Name: job_schedules job_schedules_organization_id_fkey; Type: FK CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."job_schedules"
    ADD CONSTRAINT "job_schedules_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: outbox_emails outbox_emails_organization_id_fkey; Type: FK CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."outbox_emails"
    ADD CONSTRAINT "outbox_emails_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE SET NULL;

--
-- Name: plan_assignments plan_assignments_organization_id_fkey; Type: FK CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."plan_assignments"
    ADD CONSTRAINT "plan_assignments_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: plan_assignments plan_assignments_plan_id_fkey; Type: FK CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."plan_assignments"
    ADD CONSTRAINT "plan_assignments_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "public"."plans"("id");

--
-- Name: quota_refusals quota_refusals_organization_id_fkey; Type: FK CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."quota_refusals"
    ADD CONSTRAINT "quota_refusals_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: quota_refusals quota_refusals_user_id_fkey; Type: FK CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."quota_refusals"
    ADD CONSTRAINT "quota_refusals_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "auth"."users"("id") ON DELETE CASCADE;

--
-- Name: resize_requests resize_requests_organization_id_fkey; Type: FK CONSTRAINT; Schema: internal; Owner: -
--

ALTER TABLE ONLY "internal"."resize_requests"
    ADD CONSTRAINT "resize_requests_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: backups backups_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."backups"
    ADD CONSTRAINT "backups_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: billing_customers billing_customers_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."billing_customers"
    ADD CONSTRAINT "billing_customers_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: channel_contacts channel_contacts_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."channel_contacts"
    ADD CONSTRAINT "channel_contacts_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE SET NULL;

--
-- Name: channel_contacts channel_contacts_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."channel_contacts"
    ADD CONSTRAINT "channel_contacts_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: channel_senders channel_senders_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."channel_senders"
    ADD CONSTRAINT "channel_senders_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: conversation_participants conversation_participants_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."conversation_participants"
    ADD CONSTRAINT "conversation_participants_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE CASCADE;

--
-- Name: conversation_participants conversation_participants_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."conversation_participants"
    ADD CONSTRAINT "conversation_participants_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "auth"."users"("id") ON DELETE CASCADE;

--
-- Name: conversations conversations_created_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."conversations"
    ADD CONSTRAINT "conversations_created_by_fkey" FOREIGN KEY ("created_by") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: conversations conversations_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."conversations"
    ADD CONSTRAINT "conversations_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: customer_infrastructure customer_infrastructure_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."customer_infrastructure"
    ADD CONSTRAINT "customer_infrastructure_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: generations generations_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."generations"
    ADD CONSTRAINT "generations_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: generations generations_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."generations"
    ADD CONSTRAINT "generations_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: infrastructure_usage infrastructure_usage_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."infrastructure_usage"
    ADD CONSTRAINT "infrastructure_usage_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: instance_health_checks instance_health_checks_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."instance_health_checks"
    ADD CONSTRAINT "instance_health_checks_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: invitations invitations_accepted_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."invitations"
    ADD CONSTRAINT "invitations_accepted_by_fkey" FOREIGN KEY ("accepted_by") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: invitations invitations_invited_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."invitations"
    ADD CONSTRAINT "invitations_invited_by_fkey" FOREIGN KEY ("invited_by") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: invitations invitations_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."invitations"
    ADD CONSTRAINT "invitations_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: invoices invoices_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."invoices"
    ADD CONSTRAINT "invoices_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: memberships memberships_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."memberships"
    ADD CONSTRAINT "memberships_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: memberships memberships_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."memberships"
    ADD CONSTRAINT "memberships_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "auth"."users"("id") ON DELETE CASCADE;

--
-- Name: message_deliveries message_deliveries_contact_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."message_deliveries"
    ADD CONSTRAINT "message_deliveries_contact_id_fkey" FOREIGN KEY ("contact_id") REFERENCES "public"."channel_contacts"("id") ON DELETE SET NULL;

--
-- Name: message_deliveries message_deliveries_message_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."message_deliveries"
    ADD CONSTRAINT "message_deliveries_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE CASCADE;

--
-- Name: message_deliveries message_deliveries_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."message_deliveries"
    ADD CONSTRAINT "message_deliveries_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: messages messages_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."messages"
    ADD CONSTRAINT "messages_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE CASCADE;

--
-- Name: messages messages_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."messages"
    ADD CONSTRAINT "messages_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: messages messages_reply_to_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."messages"
    ADD CONSTRAINT "messages_reply_to_fkey" FOREIGN KEY ("reply_to") REFERENCES "public"."messages"("id") ON DELETE SET NULL;

--
-- Name: messages messages_sender_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."messages"
    ADD CONSTRAINT "messages_sender_id_fkey" FOREIGN KEY ("sender_id") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: organizations organizations_created_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."organizations"
    ADD CONSTRAINT "organizations_created_by_fkey" FOREIGN KEY ("created_by") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: profiles profiles_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."profiles"
    ADD CONSTRAINT "profiles_id_fkey" FOREIGN KEY ("id") REFERENCES "auth"."users"("id") ON DELETE CASCADE;

--
-- Name: projects projects_created_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."projects"
    ADD CONSTRAINT "projects_created_by_fkey" FOREIGN KEY ("created_by") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: projects projects_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."projects"
    ADD CONSTRAINT "projects_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: provisioning_logs provisioning_logs_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_logs"
    ADD CONSTRAINT "provisioning_logs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: provisioning_logs provisioning_logs_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_logs"
    ADD CONSTRAINT "provisioning_logs_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "public"."provisioning_runs"("id") ON DELETE CASCADE;

--
-- Name: provisioning_runs provisioning_runs_backup_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_runs"
    ADD CONSTRAINT "provisioning_runs_backup_id_fkey" FOREIGN KEY ("backup_id") REFERENCES "public"."backups"("id") ON DELETE SET NULL;

--
-- Name: provisioning_runs provisioning_runs_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_runs"
    ADD CONSTRAINT "provisioning_runs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: provisioning_steps provisioning_steps_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_steps"
    ADD CONSTRAINT "provisioning_steps_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: provisioning_steps provisioning_steps_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."provisioning_steps"
    ADD CONSTRAINT "provisioning_steps_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "public"."provisioning_runs"("id") ON DELETE CASCADE;

--
-- Name: reply_suggestions reply_suggestions_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."reply_suggestions"
    ADD CONSTRAINT "reply_suggestions_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE CASCADE;

--
-- Name: reply_suggestions reply_suggestions_message_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."reply_suggestions"
    ADD CONSTRAINT "reply_suggestions_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE CASCADE;

--
-- Name: reply_suggestions reply_suggestions_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."reply_suggestions"
    ADD CONSTRAINT "reply_suggestions_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: reply_suggestions reply_suggestions_requested_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."reply_suggestions"
    ADD CONSTRAINT "reply_suggestions_requested_by_fkey" FOREIGN KEY ("requested_by") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: subscriptions subscriptions_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."subscriptions"
    ADD CONSTRAINT "subscriptions_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: subscriptions subscriptions_plan_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."subscriptions"
    ADD CONSTRAINT "subscriptions_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "public"."plans"("id");

--
-- Name: tasks tasks_assignee_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."tasks"
    ADD CONSTRAINT "tasks_assignee_id_fkey" FOREIGN KEY ("assignee_id") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: tasks tasks_created_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."tasks"
    ADD CONSTRAINT "tasks_created_by_fkey" FOREIGN KEY ("created_by") REFERENCES "auth"."users"("id") ON DELETE SET NULL;

--
-- Name: tasks tasks_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."tasks"
    ADD CONSTRAINT "tasks_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: tasks tasks_project_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."tasks"
    ADD CONSTRAINT "tasks_project_fkey" FOREIGN KEY ("project_id", "organization_id") REFERENCES "public"."projects"("id", "organization_id") ON DELETE CASCADE;

--
-- Name: usage_counters usage_counters_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."usage_counters"
    ADD CONSTRAINT "usage_counters_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE CASCADE;

--
-- Name: usage_counters usage_counters_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY "public"."usage_counters"
    ADD CONSTRAINT "usage_counters_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "auth"."users"("id") ON DELETE CASCADE;

--
-- Name: channel_unrouted; Type: ROW SECURITY; Schema: internal; Owner: -
--

ALTER TABLE "internal"."channel_unrouted" ENABLE ROW LEVEL SECURITY;

--
-- Name: plans anyone can read plans; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "anyone can read plans" ON "public"."plans" FOR SELECT TO "anon", "authenticated" USING (true);

--
-- Name: backups; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."backups" ENABLE ROW LEVEL SECURITY;

--
-- Name: billing_customers; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."billing_customers" ENABLE ROW LEVEL SECURITY;

--
-- Name: channel_contacts; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."channel_contacts" ENABLE ROW LEVEL SECURITY;

--
-- Name: channel_senders; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."channel_senders" ENABLE ROW LEVEL SECURITY;

--
-- Name: conversation_participants conversation owners and moderators can add participants; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "conversation owners and moderators can add participants" ON "public"."conversation_participants" FOR INSERT TO "authenticated" WITH CHECK ((("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"('{owner}'::"text"[]) AS "current_user_conversation_ids")) OR ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids"))));

--
-- Name: conversations conversation owners and moderators can rename conversations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "conversation owners and moderators can rename conversations" ON "public"."conversations" FOR UPDATE TO "authenticated" USING ((("id" IN ( SELECT "internal"."current_user_conversation_ids"('{owner}'::"text"[]) AS "current_user_conversation_ids")) OR ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")))) WITH CHECK ((("id" IN ( SELECT "internal"."current_user_conversation_ids"('{owner}'::"text"[]) AS "current_user_conversation_ids")) OR ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids"))));

--
-- Name: conversation_participants; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."conversation_participants" ENABLE ROW LEVEL SECURITY;

--
-- Name: conversations; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."conversations" ENABLE ROW LEVEL SECURITY;

--
-- Name: customer_infrastructure; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."customer_infrastructure" ENABLE ROW LEVEL SECURITY;

--
-- Name: generations; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."generations" ENABLE ROW LEVEL SECURITY;

--
-- Name: infrastructure_usage; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."infrastructure_usage" ENABLE ROW LEVEL SECURITY;

--
-- Name: instance_health_checks; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."instance_health_checks" ENABLE ROW LEVEL SECURITY;

--
-- Name: invitations; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."invitations" ENABLE ROW LEVEL SECURITY;

--
-- Name: invoices; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."invoices" ENABLE ROW LEVEL SECURITY;

--
-- Name: projects managers and above can create projects; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "managers and above can create projects" ON "public"."projects" FOR INSERT TO "authenticated" WITH CHECK (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: tasks managers and above can create tasks; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "managers and above can create tasks" ON "public"."tasks" FOR INSERT TO "authenticated" WITH CHECK (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: projects managers and above can delete projects; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "managers and above can delete projects" ON "public"."projects" FOR DELETE TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: tasks managers and above can delete tasks; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "managers and above can delete tasks" ON "public"."tasks" FOR DELETE TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: projects managers and above can edit projects; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "managers and above can edit projects" ON "public"."projects" FOR UPDATE TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager}'::"public"."org_role"[]) AS "current_user_org_ids"))) WITH CHECK (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: tasks managers and above edit tasks, assignees update theirs; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "managers and above edit tasks, assignees update theirs" ON "public"."tasks" FOR UPDATE TO "authenticated" USING ((("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager}'::"public"."org_role"[]) AS "current_user_org_ids")) OR (("assignee_id" = ( SELECT "auth"."uid"() AS "uid")) AND ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{member,assistant}'::"public"."org_role"[]) AS "current_user_org_ids"))))) WITH CHECK ((("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager}'::"public"."org_role"[]) AS "current_user_org_ids")) OR (("assignee_id" = ( SELECT "auth"."uid"() AS "uid")) AND ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{member,assistant}'::"public"."org_role"[]) AS "current_user_org_ids")))));

--
-- Name: memberships members can read the memberships of their organizations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read the memberships of their organizations" ON "public"."memberships" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: tasks members can read the tasks they may see; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read the tasks they may see" ON "public"."tasks" FOR SELECT TO "authenticated" USING ((("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager,client}'::"public"."org_role"[]) AS "current_user_org_ids")) OR (("assignee_id" = ( SELECT "auth"."uid"() AS "uid")) AND ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{member,assistant}'::"public"."org_role"[]) AS "current_user_org_ids")))));

--
-- Name: generations members can read their organization's generations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's generations" ON "public"."generations" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: instance_health_checks members can read their organization's health checks; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's health checks" ON "public"."instance_health_checks" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: customer_infrastructure members can read their organization's infrastructure; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's infrastructure" ON "public"."customer_infrastructure" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: invoices members can read their organization's invoices; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's invoices" ON "public"."invoices" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: projects members can read their organization's projects; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's projects" ON "public"."projects" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: provisioning_logs members can read their organization's provisioning logs; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's provisioning logs" ON "public"."provisioning_logs" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: provisioning_runs members can read their organization's provisioning runs; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's provisioning runs" ON "public"."provisioning_runs" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: provisioning_steps members can read their organization's provisioning steps; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's provisioning steps" ON "public"."provisioning_steps" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: channel_senders members can read their organization's sender numbers; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's sender numbers" ON "public"."channel_senders" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: subscriptions members can read their organization's subscriptions; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's subscriptions" ON "public"."subscriptions" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: infrastructure_usage members can read their organization's usage; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's usage" ON "public"."infrastructure_usage" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: usage_counters members can read their organization's usage; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organization's usage" ON "public"."usage_counters" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: organizations members can read their organizations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can read their organizations" ON "public"."organizations" FOR SELECT TO "authenticated" USING (("id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")));

--
-- Name: conversations members can start group and support conversations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "members can start group and support conversations" ON "public"."conversations" FOR INSERT TO "authenticated" WITH CHECK ((("kind" <> 'direct'::"text") AND ("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids"))));

--
-- Name: memberships; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."memberships" ENABLE ROW LEVEL SECURITY;

--
-- Name: message_deliveries; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."message_deliveries" ENABLE ROW LEVEL SECURITY;

--
-- Name: messages; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."messages" ENABLE ROW LEVEL SECURITY;

--
-- Name: conversations moderators can delete conversations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "moderators can delete conversations" ON "public"."conversations" FOR DELETE TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: organizations; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."organizations" ENABLE ROW LEVEL SECURITY;

--
-- Name: backups owners and admins can read their organization's backups; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "owners and admins can read their organization's backups" ON "public"."backups" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: billing_customers owners and admins can read their organization's billing custome; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "owners and admins can read their organization's billing custome" ON "public"."billing_customers" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: invitations owners and admins can read their organizations' invitations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "owners and admins can read their organizations' invitations" ON "public"."invitations" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: organizations owners and admins can rename their organizations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "owners and admins can rename their organizations" ON "public"."organizations" FOR UPDATE TO "authenticated" USING (("id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids"))) WITH CHECK (("id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: organizations owners can delete their organizations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "owners can delete their organizations" ON "public"."organizations" FOR DELETE TO "authenticated" USING (("id" IN ( SELECT "internal"."current_user_org_ids"('{owner}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: conversations participants and moderators can read conversations; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "participants and moderators can read conversations" ON "public"."conversations" FOR SELECT TO "authenticated" USING ((("id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids")) OR ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")) OR (("created_by" = ( SELECT "auth"."uid"() AS "uid")) AND ("organization_id" IN ( SELECT "internal"."current_user_org_ids"() AS "current_user_org_ids")))));

--
-- Name: messages participants and moderators can read messages; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "participants and moderators can read messages" ON "public"."messages" FOR SELECT TO "authenticated" USING ((("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids")) OR ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids"))));

--
-- Name: conversation_participants participants and moderators can read participants; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "participants and moderators can read participants" ON "public"."conversation_participants" FOR SELECT TO "authenticated" USING ((("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids")) OR ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids"))));

--
-- Name: conversation_participants participants can leave and owners and moderators can remove; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "participants can leave and owners and moderators can remove" ON "public"."conversation_participants" FOR DELETE TO "authenticated" USING ((("user_id" = ( SELECT "auth"."uid"() AS "uid")) OR ("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"('{owner}'::"text"[]) AS "current_user_conversation_ids")) OR ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids"))));

--
-- Name: messages participants can post messages; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "participants can post messages" ON "public"."messages" FOR INSERT TO "authenticated" WITH CHECK ((("sender_id" = ( SELECT "auth"."uid"() AS "uid")) AND ("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids"))));

--
-- Name: conversation_participants participants can update their own read state; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "participants can update their own read state" ON "public"."conversation_participants" FOR UPDATE TO "authenticated" USING ((("user_id" = ( SELECT "auth"."uid"() AS "uid")) AND ("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids")))) WITH CHECK ((("user_id" = ( SELECT "auth"."uid"() AS "uid")) AND ("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids"))));

--
-- Name: plans; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."plans" ENABLE ROW LEVEL SECURITY;

--
-- Name: profiles; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."profiles" ENABLE ROW LEVEL SECURITY;

--
-- Name: projects; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."projects" ENABLE ROW LEVEL SECURITY;

--
-- Name: provisioning_logs; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."provisioning_logs" ENABLE ROW LEVEL SECURITY;

--
-- Name: provisioning_runs; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."provisioning_runs" ENABLE ROW LEVEL SECURITY;

--
-- Name: provisioning_steps; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."provisioning_steps" ENABLE ROW LEVEL SECURITY;

--
-- Name: message_deliveries readers of a message can read its delivery; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "readers of a message can read its delivery" ON "public"."message_deliveries" FOR SELECT TO "authenticated" USING ((EXISTS ( SELECT 1
   FROM "public"."messages" "m"
  WHERE ("m"."id" = "message_deliveries"."message_id"))));

--
-- Name: reply_suggestions; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."reply_suggestions" ENABLE ROW LEVEL SECURITY;

--
-- Name: messages senders and moderators can change messages; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "senders and moderators can change messages" ON "public"."messages" FOR UPDATE TO "authenticated" USING (((("sender_id" = ( SELECT "auth"."uid"() AS "uid")) AND ("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids"))) OR ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")))) WITH CHECK (((("sender_id" = ( SELECT "auth"."uid"() AS "uid")) AND ("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids"))) OR ("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids"))));

--
-- Name: channel_contacts staff can read their organization's contacts; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "staff can read their organization's contacts" ON "public"."channel_contacts" FOR SELECT TO "authenticated" USING (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin,manager,member,assistant}'::"public"."org_role"[]) AS "current_user_org_ids")));

--
-- Name: reply_suggestions staff in the conversation can dismiss its suggestions; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "staff in the conversation can dismiss its suggestions" ON "public"."reply_suggestions" FOR UPDATE TO "authenticated" USING ((("status" = 'ready'::"text") AND (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")) OR (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{manager,member,assistant}'::"public"."org_role"[]) AS "current_user_org_ids")) AND ("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids")))))) WITH CHECK (("status" = 'dismissed'::"text"));

--
-- Name: reply_suggestions staff in the conversation can read its suggestions; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "staff in the conversation can read its suggestions" ON "public"."reply_suggestions" FOR SELECT TO "authenticated" USING ((("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{owner,admin}'::"public"."org_role"[]) AS "current_user_org_ids")) OR (("organization_id" IN ( SELECT "internal"."current_user_org_ids"('{manager,member,assistant}'::"public"."org_role"[]) AS "current_user_org_ids")) AND ("conversation_id" IN ( SELECT "internal"."current_user_conversation_ids"() AS "current_user_conversation_ids")))));

--
-- Name: subscriptions; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."subscriptions" ENABLE ROW LEVEL SECURITY;

--
-- Name: tasks; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."tasks" ENABLE ROW LEVEL SECURITY;

--
-- Name: usage_counters; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE "public"."usage_counters" ENABLE ROW LEVEL SECURITY;

--
-- Name: profiles users can read their own and their co-members' profiles; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "users can read their own and their co-members' profiles" ON "public"."profiles" FOR SELECT TO "authenticated" USING ((("id" = ( SELECT "auth"."uid"() AS "uid")) OR ("id" IN ( SELECT "internal"."current_user_co_member_ids"() AS "current_user_co_member_ids"))));

--
-- Name: profiles users can update their own profile; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY "users can update their own profile" ON "public"."profiles" FOR UPDATE TO "authenticated" USING (("id" = ( SELECT "auth"."uid"() AS "uid"))) WITH CHECK (("id" = ( SELECT "auth"."uid"() AS "uid")));

--
-- Name: SCHEMA "internal"; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA "internal" TO "authenticated";
GRANT USAGE ON SCHEMA "internal" TO "service_role";

--
-- Name: SCHEMA "public"; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA "public" TO "anon";
GRANT USAGE ON SCHEMA "public" TO "authenticated";
GRANT USAGE ON SCHEMA "public" TO "postgres";
GRANT USAGE ON SCHEMA "public" TO "service_role";

--
-- Name: TABLE "memberships"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."memberships" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."memberships" TO "service_role";

--
-- Name: FUNCTION "accept_invitation"("token" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."accept_invitation"("token" "text") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."accept_invitation"("token" "text") TO "authenticated";

--
-- Name: FUNCTION "apply_stripe_catalog"("obj" "jsonb", "event_type" "text", "version" timestamp with time zone); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."apply_stripe_catalog"("obj" "jsonb", "event_type" "text", "version" timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION "apply_stripe_checkout_session"("session" "jsonb", "version" timestamp with time zone); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."apply_stripe_checkout_session"("session" "jsonb", "version" timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION "apply_stripe_customer"("customer" "jsonb", "event_type" "text", "version" timestamp with time zone, "event_id" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."apply_stripe_customer"("customer" "jsonb", "event_type" "text", "version" timestamp with time zone, "event_id" "text") FROM PUBLIC;

--
-- Name: FUNCTION "apply_stripe_event"("event" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."apply_stripe_event"("event" "jsonb") FROM PUBLIC;

--
-- Name: FUNCTION "apply_stripe_invoice"("inv" "jsonb", "event_type" "text", "version" timestamp with time zone, "event_id" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."apply_stripe_invoice"("inv" "jsonb", "event_type" "text", "version" timestamp with time zone, "event_id" "text") FROM PUBLIC;

--
-- Name: FUNCTION "apply_stripe_subscription"("sub" "jsonb", "version" timestamp with time zone, "event_id" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."apply_stripe_subscription"("sub" "jsonb", "version" timestamp with time zone, "event_id" "text") FROM PUBLIC;

--
-- Name: TABLE "channel_contacts"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."channel_contacts" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."channel_contacts" TO "service_role";

--
-- Name: FUNCTION "bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text") TO "authenticated";

--
-- Name: TABLE "message_deliveries"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."message_deliveries" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."message_deliveries" TO "service_role";

--
-- Name: FUNCTION "broadcast_delivery"("delivery" "public"."message_deliveries"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."broadcast_delivery"("delivery" "public"."message_deliveries") FROM PUBLIC;

--
-- Name: TABLE "generations"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."generations" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."generations" TO "service_role";

--
-- Name: FUNCTION "cancel_generation"("generation_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."cancel_generation"("generation_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."cancel_generation"("generation_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "cancel_job"("job_id" bigint); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."cancel_job"("job_id" bigint) FROM PUBLIC;

--
-- Name: FUNCTION "change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role") TO "authenticated";

--
-- Name: FUNCTION "channel_allowance"("org_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."channel_allowance"("org_id" "uuid") FROM PUBLIC;

--
-- Name: FUNCTION "channel_outbound"("message_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."channel_outbound"("message_id" "uuid") FROM PUBLIC;

--
-- Name: FUNCTION "channel_status_follows"("current" "text", "next" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."channel_status_follows"("current" "text", "next" "text") FROM PUBLIC;

--
-- Name: FUNCTION "channel_status_from_twilio"("twilio_status" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."channel_status_from_twilio"("twilio_status" "text") FROM PUBLIC;

--
-- Name: FUNCTION "channel_status_rank"("status" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."channel_status_rank"("status" "text") FROM PUBLIC;

--
-- Name: FUNCTION "check_message_attachments"("conversation_id" "uuid", "attachments" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."check_message_attachments"("conversation_id" "uuid", "attachments" "jsonb") FROM PUBLIC;

--
-- Name: FUNCTION "claim_jobs"("worker" "text", "batch_size" integer, "kinds" "text"[], "lease_seconds" integer); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."claim_jobs"("worker" "text", "batch_size" integer, "kinds" "text"[], "lease_seconds" integer) FROM PUBLIC;

--
-- Name: FUNCTION "claim_jobs_v2"("worker" "text", "batch_size" integer, "kinds" "text"[], "lease_seconds" integer); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."claim_jobs_v2"("worker" "text", "batch_size" integer, "kinds" "text"[], "lease_seconds" integer) FROM PUBLIC;

--
-- Name: FUNCTION "compensate_provisioning_step"("step_id" bigint, "status" "text", "message" "text", "error" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."compensate_provisioning_step"("step_id" bigint, "status" "text", "message" "text", "error" "text") FROM PUBLIC;

--
-- Name: FUNCTION "complete_jobs"("ids" bigint[], "tokens" "uuid"[], "results" "jsonb"[]); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."complete_jobs"("ids" bigint[], "tokens" "uuid"[], "results" "jsonb"[]) FROM PUBLIC;

--
-- Name: FUNCTION "complete_reply_suggestion"("suggestion_id" "uuid", "body" "text", "model" "text", "input_tokens" integer, "output_tokens" integer); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."complete_reply_suggestion"("suggestion_id" "uuid", "body" "text", "model" "text", "input_tokens" integer, "output_tokens" integer) FROM PUBLIC;

--
-- Name: TABLE "organizations"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,DELETE ON TABLE "public"."organizations" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."organizations" TO "service_role";

--
-- Name: COLUMN "organizations"."name"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("name") ON TABLE "public"."organizations" TO "authenticated";

--
-- Name: COLUMN "organizations"."slug"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("slug") ON TABLE "public"."organizations" TO "authenticated";

--
-- Name: FUNCTION "create_organization"("name" "text", "slug" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."create_organization"("name" "text", "slug" "text") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."create_organization"("name" "text", "slug" "text") TO "authenticated";

--
-- Name: FUNCTION "current_instance_type"("resources" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."current_instance_type"("resources" "jsonb") FROM PUBLIC;

--
-- Name: FUNCTION "current_user_co_member_ids"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."current_user_co_member_ids"() FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."current_user_co_member_ids"() TO "authenticated";

--
-- Name: FUNCTION "current_user_conversation_ids"("roles" "text"[]); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."current_user_conversation_ids"("roles" "text"[]) FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."current_user_conversation_ids"("roles" "text"[]) TO "authenticated";

--
-- Name: FUNCTION "current_user_has_conversation_topic"("topic" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."current_user_has_conversation_topic"("topic" "text") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."current_user_has_conversation_topic"("topic" "text") TO "authenticated";

--
-- Name: FUNCTION "current_user_has_staff_topic"("topic" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."current_user_has_staff_topic"("topic" "text") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."current_user_has_staff_topic"("topic" "text") TO "authenticated";

--
-- Name: FUNCTION "current_user_org_ids"("roles" "public"."org_role"[]); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."current_user_org_ids"("roles" "public"."org_role"[]) FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."current_user_org_ids"("roles" "public"."org_role"[]) TO "authenticated";

--
-- Name: FUNCTION "end_provisioning_run_of_job"("job_id" bigint, "job_status" "text", "job_error" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."end_provisioning_run_of_job"("job_id" bigint, "job_status" "text", "job_error" "text") FROM PUBLIC;

--
-- Name: FUNCTION "enqueue_email"("to_address" "text", "template" "text", "data" "jsonb", "organization_id" "uuid", "dedupe_key" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."enqueue_email"("to_address" "text", "template" "text", "data" "jsonb", "organization_id" "uuid", "dedupe_key" "text") FROM PUBLIC;

--
-- Name: FUNCTION "enqueue_job"("kind" "text", "payload" "jsonb", "organization_id" "uuid", "user_id" "uuid", "priority" integer, "run_at" timestamp with time zone, "max_attempts" integer, "dedupe_key" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."enqueue_job"("kind" "text", "payload" "jsonb", "organization_id" "uuid", "user_id" "uuid", "priority" integer, "run_at" timestamp with time zone, "max_attempts" integer, "dedupe_key" "text") FROM PUBLIC;

--
-- Name: FUNCTION "enqueue_jobs"("kind" "text", "payloads" "jsonb"[], "priorities" integer[], "run_ats" timestamp with time zone[], "dedupe_keys" "text"[], "max_attempts" integer); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."enqueue_jobs"("kind" "text", "payloads" "jsonb"[], "priorities" integer[], "run_ats" timestamp with time zone[], "dedupe_keys" "text"[], "max_attempts" integer) FROM PUBLIC;

--
-- Name: FUNCTION "enqueue_provisioning_checks"("job_kind" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."enqueue_provisioning_checks"("job_kind" "text") FROM PUBLIC;

--
-- Name: FUNCTION "expire_backup"("backup_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."expire_backup"("backup_id" "uuid") FROM PUBLIC;

--
-- Name: FUNCTION "fail_job"("job_id" bigint, "token" "uuid", "message" "text", "retryable" boolean); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."fail_job"("job_id" bigint, "token" "uuid", "message" "text", "retryable" boolean) FROM PUBLIC;

--
-- Name: FUNCTION "fail_provisioning_step"("step_id" bigint, "message" "text", "for_good" boolean); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."fail_provisioning_step"("step_id" bigint, "message" "text", "for_good" boolean) FROM PUBLIC;

--
-- Name: FUNCTION "finish_and_claim_jobs"("worker" "text", "ids" bigint[], "tokens" "uuid"[], "results" "jsonb"[], "batch_size" integer, "kinds" "text"[], "lease_seconds" integer); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."finish_and_claim_jobs"("worker" "text", "ids" bigint[], "tokens" "uuid"[], "results" "jsonb"[], "batch_size" integer, "kinds" "text"[], "lease_seconds" integer) FROM PUBLIC;

--
-- Name: FUNCTION "fire_due_schedules"("max_count" integer); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."fire_due_schedules"("max_count" integer) FROM PUBLIC;

--
-- Name: FUNCTION "has_org_role"("org_id" "uuid", "roles" "public"."org_role"[]); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."has_org_role"("org_id" "uuid", "roles" "public"."org_role"[]) FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."has_org_role"("org_id" "uuid", "roles" "public"."org_role"[]) TO "authenticated";

--
-- Name: FUNCTION "heartbeat_jobs"("worker" "text", "ids" bigint[], "tokens" "uuid"[], "lease_seconds" integer, "progresses" "jsonb"[]); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."heartbeat_jobs"("worker" "text", "ids" bigint[], "tokens" "uuid"[], "lease_seconds" integer, "progresses" "jsonb"[]) FROM PUBLIC;

--
-- Name: FUNCTION "invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role") TO "authenticated";

--
-- Name: FUNCTION "keep_provisioning_job_waiting"("job_id" bigint, "token" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."keep_provisioning_job_waiting"("job_id" bigint, "token" "uuid") FROM PUBLIC;

--
-- Name: FUNCTION "leave_organization"("org_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."leave_organization"("org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."leave_organization"("org_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "lock_stripe_event"("event_id" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."lock_stripe_event"("event_id" "text") FROM PUBLIC;

--
-- Name: FUNCTION "lock_stripe_object"("object_id" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."lock_stripe_object"("object_id" "text") FROM PUBLIC;

--
-- Name: FUNCTION "log_provisioning"("run_id" "uuid", "step_name" "text", "level" "text", "message" "text", "data" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."log_provisioning"("run_id" "uuid", "step_name" "text", "level" "text", "message" "text", "data" "jsonb") FROM PUBLIC;

--
-- Name: FUNCTION "mark_jobs_cancelled"("ids" bigint[], "tokens" "uuid"[]); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."mark_jobs_cancelled"("ids" bigint[], "tokens" "uuid"[]) FROM PUBLIC;

--
-- Name: FUNCTION "move_provisioning_run"("run_id" "uuid", "status" "text", "message" "text", "level" "text", "error" "text", "current_step" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."move_provisioning_run"("run_id" "uuid", "status" "text", "message" "text", "level" "text", "error" "text", "current_step" "text") FROM PUBLIC;

--
-- Name: FUNCTION "next_schedule_slot"("anchor" timestamp with time zone, "every" interval, "after" timestamp with time zone); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."next_schedule_slot"("anchor" timestamp with time zone, "every" interval, "after" timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION "org_role_rank"("role" "public"."org_role"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."org_role_rank"("role" "public"."org_role") FROM PUBLIC;

--
-- Name: FUNCTION "organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint) TO "authenticated";

--
-- Name: FUNCTION "organization_entitlements"("org_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."organization_entitlements"("org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."organization_entitlements"("org_id" "uuid") TO "authenticated";
GRANT ALL ON FUNCTION "internal"."organization_entitlements"("org_id" "uuid") TO "service_role";

--
-- Name: FUNCTION "organization_owner_emails"("org_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."organization_owner_emails"("org_id" "uuid") FROM PUBLIC;

--
-- Name: FUNCTION "organization_plan"("org_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."organization_plan"("org_id" "uuid") FROM PUBLIC;

--
-- Name: FUNCTION "plan_instance_type"("plan_id" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."plan_instance_type"("plan_id" "text") FROM PUBLIC;

--
-- Name: FUNCTION "postgrest_error_body"("code" "text", "message" "text", "details" "text", "hint" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."postgrest_error_body"("code" "text", "message" "text", "details" "text", "hint" "text") FROM PUBLIC;

--
-- Name: FUNCTION "process_stripe_event"("event_id" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."process_stripe_event"("event_id" "text") FROM PUBLIC;

--
-- Name: FUNCTION "provisioning_run_committed"("run_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."provisioning_run_committed"("run_id" "uuid") FROM PUBLIC;

--
-- Name: FUNCTION "provisioning_status"("org_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."provisioning_status"("org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."provisioning_status"("org_id" "uuid") TO "authenticated";
GRANT ALL ON FUNCTION "internal"."provisioning_status"("org_id" "uuid") TO "service_role";

--
-- Name: TABLE "provisioning_runs"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."provisioning_runs" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."provisioning_runs" TO "service_role";

--
-- Name: FUNCTION "provisioning_step_run"("step_id" bigint, "phase" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."provisioning_step_run"("step_id" bigint, "phase" "text") FROM PUBLIC;

--
-- Name: FUNCTION "prune_health_checks"("keep" interval); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."prune_health_checks"("keep" interval) FROM PUBLIC;

--
-- Name: FUNCTION "prune_jobs"("keep_succeeded" integer, "keep_failed" integer); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."prune_jobs"("keep_succeeded" integer, "keep_failed" integer) FROM PUBLIC;

--
-- Name: FUNCTION "reap_expired_leases"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."reap_expired_leases"() FROM PUBLIC;

--
-- Name: FUNCTION "receive_channel_message"("channel" "text", "to_address" "text", "from_address" "text", "twilio_sid" "text", "body" "text", "media" "jsonb", "profile_name" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."receive_channel_message"("channel" "text", "to_address" "text", "from_address" "text", "twilio_sid" "text", "body" "text", "media" "jsonb", "profile_name" "text") FROM PUBLIC;

--
-- Name: FUNCTION "receive_stripe_event"("event" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."receive_stripe_event"("event" "jsonb") FROM PUBLIC;

--
-- Name: FUNCTION "receive_unstorable_stripe_event"("event" "jsonb", "problem" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."receive_unstorable_stripe_event"("event" "jsonb", "problem" "text") FROM PUBLIC;

--
-- Name: FUNCTION "record_channel_send"("message_id" "uuid", "twilio_sid" "text", "twilio_status" "text", "error_code" "text", "error_message" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."record_channel_send"("message_id" "uuid", "twilio_sid" "text", "twilio_status" "text", "error_code" "text", "error_message" "text") FROM PUBLIC;

--
-- Name: FUNCTION "record_channel_status"("twilio_sid" "text", "twilio_status" "text", "error_code" "text", "error_message" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."record_channel_status"("twilio_sid" "text", "twilio_status" "text", "error_code" "text", "error_message" "text") FROM PUBLIC;

--
-- Name: TABLE "instance_health_checks"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."instance_health_checks" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."instance_health_checks" TO "service_role";

--
-- Name: FUNCTION "record_health_check"("org_id" "uuid", "result" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."record_health_check"("org_id" "uuid", "result" "jsonb") FROM PUBLIC;

--
-- Name: TABLE "infrastructure_usage"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."infrastructure_usage" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."infrastructure_usage" TO "service_role";

--
-- Name: FUNCTION "record_usage"("org_id" "uuid", "figures" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."record_usage"("org_id" "uuid", "figures" "jsonb") FROM PUBLIC;

--
-- Name: FUNCTION "release_jobs"("ids" bigint[], "tokens" "uuid"[]); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."release_jobs"("ids" bigint[], "tokens" "uuid"[]) FROM PUBLIC;

--
-- Name: FUNCTION "remove_member"("org_id" "uuid", "user_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."remove_member"("org_id" "uuid", "user_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."remove_member"("org_id" "uuid", "user_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "replay_stripe_event"("event_id" "text", "force" boolean); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."replay_stripe_event"("event_id" "text", "force" boolean) FROM PUBLIC;

--
-- Name: FUNCTION "reply_suggestion_context"("suggestion_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."reply_suggestion_context"("suggestion_id" "uuid") FROM PUBLIC;

--
-- Name: FUNCTION "request_backup"("org_id" "uuid", "reason" "text", "slot" timestamp with time zone); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."request_backup"("org_id" "uuid", "reason" "text", "slot" timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION "request_deprovisioning"("org_id" "uuid", "reason" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."request_deprovisioning"("org_id" "uuid", "reason" "text") FROM PUBLIC;

--
-- Name: FUNCTION "request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "request_provisioning"("org_id" "uuid", "reason" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."request_provisioning"("org_id" "uuid", "reason" "text") FROM PUBLIC;

--
-- Name: FUNCTION "request_reply_suggestion"("message_id" "uuid", "requested_by" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."request_reply_suggestion"("message_id" "uuid", "requested_by" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."request_reply_suggestion"("message_id" "uuid", "requested_by" "uuid") TO "authenticated";

--
-- Name: FUNCTION "request_resize"("org_id" "uuid", "reason" "text", "instance_type" "text", OUT "run_id" "uuid", OUT "action" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."request_resize"("org_id" "uuid", "reason" "text", "instance_type" "text", OUT "run_id" "uuid", OUT "action" "text") FROM PUBLIC;

--
-- Name: FUNCTION "request_restore"("backup_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."request_restore"("backup_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."request_restore"("backup_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "request_restore_run"("backup_id" "uuid", "reason" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."request_restore_run"("backup_id" "uuid", "reason" "text") FROM PUBLIC;

--
-- Name: FUNCTION "retry_job"("job_id" bigint); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."retry_job"("job_id" bigint) FROM PUBLIC;

--
-- Name: FUNCTION "retry_provisioning"("org_id" "uuid", OUT "run_id" "uuid", OUT "action" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."retry_provisioning"("org_id" "uuid", OUT "run_id" "uuid", OUT "action" "text") FROM PUBLIC;

--
-- Name: FUNCTION "revoke_invitation"("invitation_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."revoke_invitation"("invitation_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."revoke_invitation"("invitation_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "set_stripe_subscription_status"("sub_id" "text", "from_statuses" "text"[], "new_status" "text", "version" timestamp with time zone, "event_id" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."set_stripe_subscription_status"("sub_id" "text", "from_statuses" "text"[], "new_status" "text", "version" timestamp with time zone, "event_id" "text") FROM PUBLIC;

--
-- Name: TABLE "conversations"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,DELETE ON TABLE "public"."conversations" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."conversations" TO "service_role";

--
-- Name: COLUMN "conversations"."organization_id"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("organization_id") ON TABLE "public"."conversations" TO "authenticated";

--
-- Name: COLUMN "conversations"."kind"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("kind") ON TABLE "public"."conversations" TO "authenticated";

--
-- Name: COLUMN "conversations"."title"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("title"),UPDATE("title") ON TABLE "public"."conversations" TO "authenticated";

--
-- Name: FUNCTION "start_direct_conversation"("other_user" "uuid", "org_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."start_direct_conversation"("other_user" "uuid", "org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."start_direct_conversation"("other_user" "uuid", "org_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "start_provisioning_run"("run_id" "uuid", "provider" "text", "step_names" "text"[]); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."start_provisioning_run"("run_id" "uuid", "provider" "text", "step_names" "text"[]) FROM PUBLIC;

--
-- Name: FUNCTION "start_provisioning_step"("step_id" bigint); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."start_provisioning_step"("step_id" bigint) FROM PUBLIC;

--
-- Name: FUNCTION "stripe_id"("ref" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."stripe_id"("ref" "jsonb") FROM PUBLIC;

--
-- Name: FUNCTION "stripe_organization"("customer_id" "text", "metadata" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."stripe_organization"("customer_id" "text", "metadata" "jsonb") FROM PUBLIC;

--
-- Name: FUNCTION "stripe_plan_for_price"("price_id" "text", "metadata_plan_id" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."stripe_plan_for_price"("price_id" "text", "metadata_plan_id" "text") FROM PUBLIC;

--
-- Name: FUNCTION "stripe_time"("epoch" "text"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."stripe_time"("epoch" "text") FROM PUBLIC;

--
-- Name: FUNCTION "succeed_provisioning_step"("step_id" bigint, "output" "jsonb", "record" "jsonb"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."succeed_provisioning_step"("step_id" bigint, "output" "jsonb", "record" "jsonb") FROM PUBLIC;

--
-- Name: FUNCTION "sync_backup_schedule"("org_id" "uuid"); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."sync_backup_schedule"("org_id" "uuid") FROM PUBLIC;

--
-- Name: FUNCTION "tg_audit"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_audit"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_audit_log__refuse_change"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_audit_log__refuse_change"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_backups__check_transition"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_backups__check_transition"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_conversation_participants__before_delete"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_conversation_participants__before_delete"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_conversation_participants__before_insert"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_conversation_participants__before_insert"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_conversation_participants__pin"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_conversation_participants__pin"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_conversations__add_creator"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_conversations__add_creator"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_conversations__check_direct_pair"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_conversations__check_direct_pair"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_conversations__pin"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_conversations__pin"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_customer_infrastructure__backup_schedule"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_customer_infrastructure__backup_schedule"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_customer_infrastructure__check_schedules"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_customer_infrastructure__check_schedules"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_generations__broadcast"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_generations__broadcast"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_instance_health_checks__broadcast"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_instance_health_checks__broadcast"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_jobs__check_transition"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_jobs__check_transition"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_jobs__end_provisioning_run"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_jobs__end_provisioning_run"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_jobs__fail_channel_delivery"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_jobs__fail_channel_delivery"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_jobs__fail_reply_suggestion"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_jobs__fail_reply_suggestion"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_jobs__notify"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_jobs__notify"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_jobs__sync_generation"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_jobs__sync_generation"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_memberships__enforce_rules"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_memberships__enforce_rules"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_memberships__welcome"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_memberships__welcome"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_messages__before_insert"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_messages__before_insert"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_messages__before_update"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_messages__before_update"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_messages__broadcast"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_messages__broadcast"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_messages__route_to_channel"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_messages__route_to_channel"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_pin_organization"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_pin_organization"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning__broadcast"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning__broadcast"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning_logs__refuse_change"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning_logs__refuse_change"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning_runs__backup_outcome"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning_runs__backup_outcome"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning_runs__check_transition"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning_runs__check_transition"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning_runs__follow_up"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning_runs__follow_up"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning_runs__outcome"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning_runs__outcome"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning_runs__release_waiting"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning_runs__release_waiting"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning_runs__resize_outcome"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning_runs__resize_outcome"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning_steps__check_transition"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning_steps__check_transition"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_provisioning_steps__resize_switch"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_provisioning_steps__resize_switch"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_refuse_change"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_refuse_change"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_set_created_by"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_set_created_by"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_set_updated_at"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_set_updated_at"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_subscriptions__broadcast"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_subscriptions__broadcast"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_subscriptions__check_status"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_subscriptions__check_status"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_subscriptions__provisioning"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_subscriptions__provisioning"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_subscriptions__resize"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_subscriptions__resize"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_tasks__enforce_rules"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_tasks__enforce_rules"() FROM PUBLIC;

--
-- Name: FUNCTION "tg_users__create_profile"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."tg_users__create_profile"() FROM PUBLIC;

--
-- Name: FUNCTION "unread_counts"(); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."unread_counts"() FROM PUBLIC;
GRANT ALL ON FUNCTION "internal"."unread_counts"() TO "authenticated";

--
-- Name: FUNCTION "upsert_job_schedule"("name" "text", "kind" "text", "every" interval, "payload" "jsonb", "organization_id" "uuid", "priority" integer, "max_attempts" integer, "anchor" timestamp with time zone, "enabled" boolean); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."upsert_job_schedule"("name" "text", "kind" "text", "every" interval, "payload" "jsonb", "organization_id" "uuid", "priority" integer, "max_attempts" integer, "anchor" timestamp with time zone, "enabled" boolean) FROM PUBLIC;

--
-- Name: FUNCTION "worker_seen"("worker" "text", "kinds" "text"[], "concurrency" integer, "stopping" boolean); Type: ACL; Schema: internal; Owner: -
--

REVOKE ALL ON FUNCTION "internal"."worker_seen"("worker" "text", "kinds" "text"[], "concurrency" integer, "stopping" boolean) FROM PUBLIC;

--
-- Name: FUNCTION "accept_invitation"("token" "text"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."accept_invitation"("token" "text") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."accept_invitation"("token" "text") TO "authenticated";

--
-- Name: FUNCTION "bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."bind_channel_contact"("conversation_id" "uuid", "channel" "text", "address" "text", "display_name" "text") TO "authenticated";

--
-- Name: FUNCTION "cancel_generation"("generation_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."cancel_generation"("generation_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."cancel_generation"("generation_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."change_member_role"("org_id" "uuid", "user_id" "uuid", "new_role" "public"."org_role") TO "authenticated";

--
-- Name: FUNCTION "create_organization"("name" "text", "slug" "text"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."create_organization"("name" "text", "slug" "text") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."create_organization"("name" "text", "slug" "text") TO "authenticated";

--
-- Name: FUNCTION "current_user_organizations"(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."current_user_organizations"() FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."current_user_organizations"() TO "authenticated";

--
-- Name: FUNCTION "invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."invite_member"("org_id" "uuid", "email" "text", "role" "public"."org_role") TO "authenticated";

--
-- Name: FUNCTION "leave_organization"("org_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."leave_organization"("org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."leave_organization"("org_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "mark_read"("conversation_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."mark_read"("conversation_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."mark_read"("conversation_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "message_activity"("org_id" "uuid", "since" "date", "until" "date"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."message_activity"("org_id" "uuid", "since" "date", "until" "date") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."message_activity"("org_id" "uuid", "since" "date", "until" "date") TO "authenticated";

--
-- Name: FUNCTION "organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."organization_audit_log"("org_id" "uuid", "max_rows" integer, "before_id" bigint) TO "authenticated";

--
-- Name: FUNCTION "organization_entitlements"("org_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."organization_entitlements"("org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."organization_entitlements"("org_id" "uuid") TO "authenticated";
GRANT ALL ON FUNCTION "public"."organization_entitlements"("org_id" "uuid") TO "service_role";

--
-- Name: FUNCTION "provisioning_status"("org_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."provisioning_status"("org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."provisioning_status"("org_id" "uuid") TO "authenticated";
GRANT ALL ON FUNCTION "public"."provisioning_status"("org_id" "uuid") TO "service_role";

--
-- Name: FUNCTION "remove_member"("org_id" "uuid", "user_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."remove_member"("org_id" "uuid", "user_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."remove_member"("org_id" "uuid", "user_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."request_generation"("prompt" "text", "app_type" "text", "org_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "request_reply_suggestion"("message_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."request_reply_suggestion"("message_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."request_reply_suggestion"("message_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "request_restore"("backup_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."request_restore"("backup_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."request_restore"("backup_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "revoke_invitation"("invitation_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."revoke_invitation"("invitation_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."revoke_invitation"("invitation_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "start_direct_conversation"("other_user" "uuid", "org_id" "uuid"); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."start_direct_conversation"("other_user" "uuid", "org_id" "uuid") FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."start_direct_conversation"("other_user" "uuid", "org_id" "uuid") TO "authenticated";

--
-- Name: FUNCTION "unread_counts"(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION "public"."unread_counts"() FROM PUBLIC;
GRANT ALL ON FUNCTION "public"."unread_counts"() TO "authenticated";

--
-- Name: TABLE "backups"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."backups" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."backups" TO "service_role";

--
-- Name: TABLE "billing_customers"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."billing_customers" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."billing_customers" TO "service_role";

--
-- Name: TABLE "channel_senders"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."channel_senders" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."channel_senders" TO "service_role";

--
-- Name: TABLE "conversation_participants"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,DELETE ON TABLE "public"."conversation_participants" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."conversation_participants" TO "service_role";

--
-- Name: COLUMN "conversation_participants"."conversation_id"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("conversation_id") ON TABLE "public"."conversation_participants" TO "authenticated";

--
-- Name: COLUMN "conversation_participants"."user_id"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("user_id") ON TABLE "public"."conversation_participants" TO "authenticated";

--
-- Name: COLUMN "conversation_participants"."last_read_at"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("last_read_at") ON TABLE "public"."conversation_participants" TO "authenticated";

--
-- Name: COLUMN "conversation_participants"."muted"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("muted") ON TABLE "public"."conversation_participants" TO "authenticated";

--
-- Name: TABLE "customer_infrastructure"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."customer_infrastructure" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."customer_infrastructure" TO "service_role";

--
-- Name: TABLE "invitations"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."invitations" TO "service_role";

--
-- Name: COLUMN "invitations"."id"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("id") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: COLUMN "invitations"."organization_id"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("organization_id") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: COLUMN "invitations"."email"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("email") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: COLUMN "invitations"."role"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("role") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: COLUMN "invitations"."invited_by"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("invited_by") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: COLUMN "invitations"."expires_at"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("expires_at") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: COLUMN "invitations"."accepted_at"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("accepted_at") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: COLUMN "invitations"."accepted_by"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("accepted_by") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: COLUMN "invitations"."revoked_at"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("revoked_at") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: COLUMN "invitations"."created_at"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT("created_at") ON TABLE "public"."invitations" TO "authenticated";

--
-- Name: TABLE "invoices"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."invoices" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."invoices" TO "service_role";

--
-- Name: TABLE "messages"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."messages" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."messages" TO "service_role";

--
-- Name: COLUMN "messages"."id"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("id") ON TABLE "public"."messages" TO "authenticated";

--
-- Name: COLUMN "messages"."conversation_id"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("conversation_id") ON TABLE "public"."messages" TO "authenticated";

--
-- Name: COLUMN "messages"."body"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("body"),UPDATE("body") ON TABLE "public"."messages" TO "authenticated";

--
-- Name: COLUMN "messages"."attachments"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("attachments"),UPDATE("attachments") ON TABLE "public"."messages" TO "authenticated";

--
-- Name: COLUMN "messages"."reply_to"; Type: ACL; Schema: public; Owner: -
--

GRANT INSERT("reply_to") ON TABLE "public"."messages" TO "authenticated";

--
-- Name: COLUMN "messages"."deleted_at"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("deleted_at") ON TABLE "public"."messages" TO "authenticated";

--
-- Name: TABLE "plans"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."plans" TO "anon";
GRANT SELECT ON TABLE "public"."plans" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."plans" TO "service_role";

--
-- Name: TABLE "profiles"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."profiles" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."profiles" TO "service_role";

--
-- Name: COLUMN "profiles"."full_name"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("full_name") ON TABLE "public"."profiles" TO "authenticated";

--
-- Name: COLUMN "profiles"."avatar_url"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("avatar_url") ON TABLE "public"."profiles" TO "authenticated";

--
-- Name: TABLE "projects"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE ON TABLE "public"."projects" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."projects" TO "service_role";

--
-- Name: COLUMN "projects"."name"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("name") ON TABLE "public"."projects" TO "authenticated";

--
-- Name: COLUMN "projects"."description"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("description") ON TABLE "public"."projects" TO "authenticated";

--
-- Name: COLUMN "projects"."archived_at"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("archived_at") ON TABLE "public"."projects" TO "authenticated";

--
-- Name: TABLE "provisioning_logs"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."provisioning_logs" TO "authenticated";
GRANT SELECT,INSERT ON TABLE "public"."provisioning_logs" TO "service_role";

--
-- Name: TABLE "provisioning_steps"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."provisioning_steps" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."provisioning_steps" TO "service_role";

--
-- Name: TABLE "reply_suggestions"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."reply_suggestions" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."reply_suggestions" TO "service_role";

--
-- Name: COLUMN "reply_suggestions"."status"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("status") ON TABLE "public"."reply_suggestions" TO "authenticated";

--
-- Name: TABLE "subscriptions"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."subscriptions" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."subscriptions" TO "service_role";

--
-- Name: TABLE "tasks"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE ON TABLE "public"."tasks" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."tasks" TO "service_role";

--
-- Name: COLUMN "tasks"."project_id"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("project_id") ON TABLE "public"."tasks" TO "authenticated";

--
-- Name: COLUMN "tasks"."title"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("title") ON TABLE "public"."tasks" TO "authenticated";

--
-- Name: COLUMN "tasks"."description"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("description") ON TABLE "public"."tasks" TO "authenticated";

--
-- Name: COLUMN "tasks"."status"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("status") ON TABLE "public"."tasks" TO "authenticated";

--
-- Name: COLUMN "tasks"."assignee_id"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("assignee_id") ON TABLE "public"."tasks" TO "authenticated";

--
-- Name: COLUMN "tasks"."due_on"; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE("due_on") ON TABLE "public"."tasks" TO "authenticated";

--
-- Name: TABLE "usage_counters"; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE "public"."usage_counters" TO "authenticated";
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE "public"."usage_counters" TO "service_role";

--
-- PostgreSQL database dump complete
--

--
-- supakit's policies on Supabase's tables
--

CREATE POLICY "members can receive their organization's billing updates" ON realtime.messages AS PERMISSIVE FOR SELECT TO authenticated
  USING (((extension = 'broadcast'::text) AND (( SELECT realtime.topic() AS topic) IN ( SELECT (('org:'::text || (o.id)::text) || ':billing'::text)
   FROM internal.current_user_org_ids() o(id)))));

CREATE POLICY "members can receive their organization's job updates" ON realtime.messages AS PERMISSIVE FOR SELECT TO authenticated
  USING (((extension = 'broadcast'::text) AND (( SELECT realtime.topic() AS topic) IN ( SELECT (('org:'::text || (o.id)::text) || ':jobs'::text)
   FROM internal.current_user_org_ids() o(id)))));

CREATE POLICY "members can receive their organization's provisioning updates" ON realtime.messages AS PERMISSIVE FOR SELECT TO authenticated
  USING (((extension = 'broadcast'::text) AND (( SELECT realtime.topic() AS topic) IN ( SELECT (('org:'::text || (o.id)::text) || ':provisioning'::text)
   FROM internal.current_user_org_ids() o(id)))));

CREATE POLICY "participants can receive on their conversation topics" ON realtime.messages AS PERMISSIVE FOR SELECT TO authenticated
  USING (((extension = ANY (ARRAY['broadcast'::text, 'presence'::text])) AND (topic = ( SELECT realtime.topic() AS topic)) AND ( SELECT internal.current_user_has_conversation_topic(( SELECT realtime.topic() AS topic)) AS current_user_has_conversation_topic)));

CREATE POLICY "participants can send on their conversation topics" ON realtime.messages AS PERMISSIVE FOR INSERT TO authenticated
  WITH CHECK (((extension = ANY (ARRAY['broadcast'::text, 'presence'::text])) AND (topic = ( SELECT realtime.topic() AS topic)) AND ( SELECT internal.current_user_has_conversation_topic(( SELECT realtime.topic() AS topic)) AS current_user_has_conversation_topic)));

CREATE POLICY "staff can receive their conversations' suggestion topics" ON realtime.messages AS PERMISSIVE FOR SELECT TO authenticated
  USING (((extension = 'broadcast'::text) AND (topic = ( SELECT realtime.topic() AS topic)) AND ( SELECT internal.current_user_has_staff_topic(( SELECT realtime.topic() AS topic)) AS current_user_has_staff_topic)));

CREATE POLICY "members can read their organization's generated assets" ON storage.objects AS PERMISSIVE FOR SELECT TO authenticated
  USING (((bucket_id = 'generated-assets'::text) AND ((storage.foldername(name))[1] IN ( SELECT (o.id)::text AS id
   FROM internal.current_user_org_ids() o(id)))));

CREATE POLICY "participants can read their conversations' attachments" ON storage.objects AS PERMISSIVE FOR SELECT TO authenticated
  USING (((bucket_id = 'message-attachments'::text) AND ((storage.foldername(name))[1] IN ( SELECT (c.id)::text AS id
   FROM internal.current_user_conversation_ids() c(id)))));

CREATE POLICY "participants can upload attachments to their conversations" ON storage.objects AS PERMISSIVE FOR INSERT TO authenticated
  WITH CHECK (((bucket_id = 'message-attachments'::text) AND (owner_id = (( SELECT auth.uid() AS uid))::text) AND ((storage.foldername(name))[1] IN ( SELECT (c.id)::text AS id
   FROM internal.current_user_conversation_ids() c(id)))));

CREATE POLICY "uploaders can remove their attachments" ON storage.objects AS PERMISSIVE FOR DELETE TO authenticated
  USING (((bucket_id = 'message-attachments'::text) AND (owner_id = (( SELECT auth.uid() AS uid))::text) AND ((storage.foldername(name))[1] IN ( SELECT (c.id)::text AS id
   FROM internal.current_user_conversation_ids() c(id)))));

CREATE POLICY "uploaders can replace their attachments" ON storage.objects AS PERMISSIVE FOR UPDATE TO authenticated
  USING (((bucket_id = 'message-attachments'::text) AND (owner_id = (( SELECT auth.uid() AS uid))::text) AND ((storage.foldername(name))[1] IN ( SELECT (c.id)::text AS id
   FROM internal.current_user_conversation_ids() c(id)))))
  WITH CHECK (((bucket_id = 'message-attachments'::text) AND (owner_id = (( SELECT auth.uid() AS uid))::text) AND ((storage.foldername(name))[1] IN ( SELECT (c.id)::text AS id
   FROM internal.current_user_conversation_ids() c(id)))));

CREATE POLICY "users can read their own uploads" ON storage.objects AS PERMISSIVE FOR SELECT TO authenticated
  USING (((bucket_id = 'user-uploads'::text) AND ((storage.foldername(name))[1] = (( SELECT auth.uid() AS uid))::text)));

CREATE POLICY "users can remove their own uploads" ON storage.objects AS PERMISSIVE FOR DELETE TO authenticated
  USING (((bucket_id = 'user-uploads'::text) AND ((storage.foldername(name))[1] = (( SELECT auth.uid() AS uid))::text)));

CREATE POLICY "users can replace their own uploads" ON storage.objects AS PERMISSIVE FOR UPDATE TO authenticated
  USING (((bucket_id = 'user-uploads'::text) AND ((storage.foldername(name))[1] = (( SELECT auth.uid() AS uid))::text)))
  WITH CHECK (((bucket_id = 'user-uploads'::text) AND ((storage.foldername(name))[1] = (( SELECT auth.uid() AS uid))::text)));

CREATE POLICY "users can upload to their own folder" ON storage.objects AS PERMISSIVE FOR INSERT TO authenticated
  WITH CHECK (((bucket_id = 'user-uploads'::text) AND ((storage.foldername(name))[1] = (( SELECT auth.uid() AS uid))::text)));
