-- Exported by `supakit migrate export` from sql/0011_create_billing.sql (sha256 689b3f5880d78b0d9be813547d152f4e83b1f36551e28e7ccc12ce81953de031).
-- Edit the source file, not this one.

-- 0011_create_billing: plans with prices and Stripe ids, Stripe customers, subscriptions, invoices, the Stripe
-- event ledger, and entitlements. Stripe is the source of truth; these tables are a faithful, ordered copy
-- written only by the webhook (internal.receive_stripe_event) and `supakit billing sync`. What an organization
-- may do now is decided in one place, internal.organization_plan(org), which request_generation and the queue
-- priority already call. Grants, row level security and policies: policies/billing.sql.

-- ---------------------------------------------------------------------------------------------------------
-- tables
-- ---------------------------------------------------------------------------------------------------------

alter table public.plans
add column description text not null default '',
add column monthly_price_cents integer not null default 0,
add column yearly_price_cents integer not null default 0,
add column currency text not null default 'usd',
add column features jsonb not null default '[]',
add column trial_days integer not null default 0,
add column stripe_product_id text,
add column stripe_price_monthly text,
add column stripe_price_yearly text,
add column active boolean not null default true,
add column stripe_synced_at timestamptz,
add column updated_at timestamptz not null default now(),
add constraint plans_stripe_price_monthly_key unique (stripe_price_monthly),
add constraint plans_stripe_price_yearly_key unique (stripe_price_yearly),
add constraint prices_are_not_negative check (monthly_price_cents >= 0 and yearly_price_cents >= 0),
add constraint currency_is_iso_4217 check (currency ~ '^[a-z]{3}$'),
add constraint features_is_an_array check (jsonb_typeof(features) = 'array'),
add constraint trial_days_in_range check (trial_days between 0 and 730);
comment on column public.plans.features is 'feature keys the plan includes (JSON array of strings), for pricing pages';
comment on column public.plans.trial_days is 'free trial offered by checkout for a first subscription; 0: none';
comment on column public.plans.stripe_price_monthly is
'Stripe price id (price_...) billed monthly; set by `price.*` events whose metadata names the plan, or by hand';
comment on column public.plans.active is 'offered for new checkouts; existing subscriptions keep their plan';
comment on column public.plans.stripe_synced_at is 'created time of the last product/price event applied to the plan';

update public.plans set
  description = 'For trying things out: 5 generations a day.',
  features = '["generations"]'
where id = 'free';
update public.plans set
  description = 'For individuals: 50 generations a day.',
  monthly_price_cents = 1000, yearly_price_cents = 10000, trial_days = 14,
  features = '["generations", "email_support"]'
where id = 'pro';
update public.plans set
  description = 'For teams: unlimited generations, first in the queue.',
  monthly_price_cents = 3000, yearly_price_cents = 30000, trial_days = 14,
  features = '["generations", "unlimited_generations", "priority_queue", "email_support"]'
where id = 'team';

create table public.billing_customers (
  organization_id uuid not null,
  stripe_customer_id text not null,
  email text,
  deleted_at timestamptz,
  last_event_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint billing_customers_pkey primary key (organization_id),
  constraint billing_customers_stripe_customer_id_key unique (stripe_customer_id),
  constraint billing_customers_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint stripe_customer_id_is_a_customer_id check (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$')
);
comment on table public.billing_customers is
'the Stripe customer of each organization, created on the first checkout; deleted_at: customer.deleted arrived';

create table public.subscriptions (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  plan_id text not null,
  status text not null,
  stripe_subscription_id text not null,
  stripe_customer_id text not null,
  stripe_price_id text,
  billing_interval text,
  quantity integer not null default 1,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  cancel_at timestamptz,
  trial_start timestamptz,
  trial_end timestamptz,
  canceled_at timestamptz,
  ended_at timestamptz,
  past_due_since timestamptz,
  last_event_at timestamptz not null,
  last_event_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint subscriptions_pkey primary key (id),
  constraint subscriptions_stripe_subscription_id_key unique (stripe_subscription_id),
  constraint subscriptions_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint subscriptions_plan_id_fkey foreign key (plan_id) references public.plans (id),
  constraint status_is_a_stripe_status check (
    status in (
      'incomplete',  -- created; the first payment has not succeeded yet (no access)
      'incomplete_expired',  -- incomplete -> the first payment never succeeded within 23 hours (final)
      'trialing',  -- in the free trial (access)
      'active',  -- paid up (access)
      'past_due',  -- active/trialing -> a renewal payment failed; Stripe retries (access for the grace period)
      'canceled',  -- any -> ended (final)
      'unpaid',  -- past_due -> retries exhausted, left open by the account's settings (no access)
      'paused'  -- trialing -> the trial ended without a payment method (no access)
    )
  ),
  constraint billing_interval_is_known check (billing_interval in ('day', 'week', 'month', 'year')),
  constraint quantity_is_positive check (quantity > 0),
  constraint past_due_since_iff_past_due check ((status = 'past_due') = (past_due_since is not null))
);
comment on table public.subscriptions is
'Stripe subscriptions, one row per Stripe subscription; written only from Stripe events and `supakit billing sync`';
comment on column public.subscriptions.last_event_at is
'created time of the newest Stripe event (or sync) applied: older events change nothing (out-of-order guard)';
comment on column public.subscriptions.past_due_since is
'when the subscription became past_due: access continues until this plus the grace period (organization_plan)';

create table public.invoices (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  stripe_invoice_id text not null,
  stripe_customer_id text not null,
  stripe_subscription_id text,
  number text,
  status text,
  currency text not null,
  amount_due integer not null default 0,
  amount_paid integer not null default 0,
  amount_remaining integer not null default 0,
  subtotal integer,
  total integer,
  attempt_count integer not null default 0,
  hosted_invoice_url text,
  invoice_pdf text,
  period_start timestamptz,
  period_end timestamptz,
  due_date timestamptz,
  paid_at timestamptz,
  next_payment_attempt timestamptz,
  stripe_created_at timestamptz,
  last_event_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint invoices_pkey primary key (id),
  constraint invoices_stripe_invoice_id_key unique (stripe_invoice_id),
  constraint invoices_organization_id_fkey foreign key (organization_id)
  references public.organizations (id) on delete cascade,
  constraint status_is_an_invoice_status check (
    status in (
      'draft',  -- being prepared
      'open',  -- draft -> finalized, awaiting payment (a failed payment leaves it open)
      'paid',  -- open -> paid
      'uncollectible',  -- open -> written off
      'void'  -- open/uncollectible -> cancelled
    )
  ),
  constraint amounts_are_not_negative check (amount_due >= 0 and amount_paid >= 0 and amount_remaining >= 0)
);
comment on table public.invoices is
'Stripe invoices (amounts in the currency''s smallest unit); stripe_subscription_id is not a foreign key because
invoice and subscription events arrive in any order';

create table internal.stripe_events (
  id text not null,
  type text not null,
  api_version text,
  livemode boolean not null default false,
  stripe_created_at timestamptz not null,
  object_id text,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  outcome text,
  error text,
  attempts integer not null default 0,
  last_attempt_at timestamptz,
  constraint stripe_events_pkey primary key (id),
  constraint id_is_an_event_id check (id ~ '^evt_[A-Za-z0-9_]+$'),
  constraint outcome_is_known check (
    outcome in (
      'applied',  -- changed (or confirmed) our copy
      'stale',  -- older than what was already applied to its object: changed nothing
      'ignored',  -- a type we store but do not act on
      'unmatched'  -- names a customer/subscription no organization owns: stored, replayable
    )
  ),
  constraint processed_iff_outcome check ((processed_at is null) = (outcome is null)),
  constraint attempts_not_negative check (attempts >= 0)
);
comment on table internal.stripe_events is
'every Stripe event received, once (event id unique); processed_at null with an error: failed, retried by Stripe
or `supakit billing replay`';

-- The out-of-order guard for catalogue objects (products, prices), which have no row of their own here.
create table internal.stripe_object_versions (
  object_id text not null,
  last_event_at timestamptz not null,
  constraint stripe_object_versions_pkey primary key (object_id)
);
comment on table internal.stripe_object_versions is
'created time of the newest event applied per Stripe product/price: older events for it change nothing';

-- ---------------------------------------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------------------------------------

create index subscriptions_organization_id_idx on public.subscriptions (organization_id);
create index subscriptions_plan_id_idx on public.subscriptions (plan_id);
create index subscriptions_stripe_customer_id_idx on public.subscriptions (stripe_customer_id);
create index invoices_organization_id_stripe_created_at_idx on public.invoices (organization_id, stripe_created_at desc);
create index invoices_stripe_subscription_id_idx on public.invoices (stripe_subscription_id);
create index stripe_events_failed_idx on internal.stripe_events (received_at) where processed_at is null;
create index stripe_events_object_id_idx on internal.stripe_events (object_id);

-- ---------------------------------------------------------------------------------------------------------
-- functions: reading Stripe objects
-- ---------------------------------------------------------------------------------------------------------

-- A Stripe timestamp (seconds since the epoch, as text) as timestamptz; null stays null.
create function internal.stripe_time(epoch text)
returns timestamptz
language sql
immutable
set search_path = ''
as $$
  select to_timestamp(nullif(epoch, '')::double precision)
$$;

-- The id of a Stripe reference, which is a string or, when expanded, an object with an id.
create function internal.stripe_id(ref jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select case jsonb_typeof(ref) when 'string' then ref #>> '{}' when 'object' then ref ->> 'id' end
$$;

-- The organization a Stripe customer belongs to: our billing_customers link (made before checkout), else a
-- metadata organization_id that names an existing organization (checkout puts it on the subscription too).
create function internal.stripe_organization(customer_id text, metadata jsonb default null)
returns uuid
language sql
stable
set search_path = ''
as $$
  select coalesce(
    (select c.organization_id from public.billing_customers as c where c.stripe_customer_id = customer_id),
    (
      select o.id from public.organizations as o
      where (metadata ->> 'organization_id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        and o.id = (metadata ->> 'organization_id')::uuid
    )
  )
$$;

-- The plan a Stripe price belongs to: the plan holding that price id, else the plan its metadata names.
create function internal.stripe_plan_for_price(price_id text, metadata_plan_id text default null)
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce(
    (
      select p.id from public.plans as p
      where price_id is not null and price_id in (p.stripe_price_monthly, p.stripe_price_yearly)
    ),
    (select p.id from public.plans as p where p.id = metadata_plan_id)
  )
$$;

-- Serialise everything applied to one Stripe object (two events for a new subscription may race).
create function internal.lock_stripe_object(object_id text)
returns void
language sql
volatile
set search_path = ''
as $$
  select pg_advisory_xact_lock(hashtextextended('supakit.stripe:' || object_id, 0))
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: applying Stripe objects (each returns the outcome recorded in the ledger)
-- ---------------------------------------------------------------------------------------------------------

-- A subscription object (from customer.subscription.* events, or fetched by `supakit billing sync`) as of
-- `version`. An object older than the last one applied changes nothing ('stale'); so does anything after a
-- final status (canceled, incomplete_expired): Stripe never revives those.
create function internal.apply_stripe_subscription(sub jsonb, version timestamptz, event_id text default null)
returns text
language plpgsql
volatile
set search_path = ''
as $$
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

-- Move a subscription to `new_status` because of an invoice event at `version`, when that is newer than what
-- was applied and the subscription is in one of `from_statuses`.
create function internal.set_stripe_subscription_status(
  sub_id text, from_statuses text[], new_status text, version timestamptz, event_id text
)
returns void
language sql
volatile
set search_path = ''
as $$
  update public.subscriptions as s
  set status = new_status, last_event_at = version, last_event_id = event_id, updated_at = now()
  where s.stripe_subscription_id = sub_id and s.status = any(from_statuses) and s.last_event_at <= version
$$;

-- An invoice object as of `version`, and what its event means for the subscription: invoice.payment_failed
-- moves an active or trialing subscription to past_due and queues a "payment failed" e-mail to every owner
-- (once per invoice and address); invoice.paid brings a past_due, unpaid or incomplete one back to active.
create function internal.apply_stripe_invoice(
  inv jsonb, event_type text, version timestamptz, event_id text default null
)
returns text
language plpgsql
volatile
set search_path = ''
as $$
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

-- checkout.session.completed: link the session's customer to the organization it names (client_reference_id,
-- else metadata). The subscription itself arrives with customer.subscription.* events.
create function internal.apply_stripe_checkout_session(session jsonb, version timestamptz)
returns text
language plpgsql
volatile
set search_path = ''
as $$
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

-- customer.* events: a deleted customer is marked (the next checkout creates a new one) and its subscriptions
-- end (Stripe cancels them too, with their own events); created/updated refresh the e-mail.
create function internal.apply_stripe_customer(customer jsonb, event_type text, version timestamptz, event_id text)
returns text
language plpgsql
volatile
set search_path = ''
as $$
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

-- product.* and price.* events keep the plans' Stripe ids and prices current. A product or price belongs to the
-- plan its metadata plan_id names (a price also to the plan holding its product or its id). Products and prices
-- belonging to no plan are ignored.
create function internal.apply_stripe_catalog(obj jsonb, event_type text, version timestamptz)
returns text
language plpgsql
volatile
set search_path = ''
as $$
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

-- One Stripe event applied by type; raises on a handler error (the caller records it).
create function internal.apply_stripe_event(event jsonb)
returns text
language plpgsql
volatile
set search_path = ''
as $$
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

-- Apply a stored event once more and record the attempt: on success processed_at and the outcome, on failure
-- the error (the apply is rolled back to a savepoint; the ledger row survives). Returns the outcome
-- ('failed' on an error), the error, and the attempts so far.
create function internal.process_stripe_event(event_id text)
returns table (outcome text, error text, attempts integer)
language plpgsql
volatile
set search_path = ''
as $$
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

-- The webhook's one call, in the request's transaction: store the (verified) event once, then apply it.
-- A redelivery of an event already processed answers 'duplicate' and changes nothing; one that failed before
-- is applied again. Concurrent deliveries of one event serialise on its ledger row: exactly one applies it.
create function internal.receive_stripe_event(event jsonb)
returns table (outcome text, error text, attempts integer)
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  stored internal.stripe_events;
begin
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
  return query select * from internal.process_stripe_event(stored.id);
end;
$$;

-- `supakit billing replay`: apply a stored event again. One already processed is only re-applied with `force`
-- (harmless: the out-of-order guard and the e-mail dedupe keys make it idempotent).
create function internal.replay_stripe_event(event_id text, force boolean default false)
returns table (outcome text, error text, attempts integer)
language plpgsql
volatile
set search_path = ''
as $$
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

-- What an organization may do now: the one source of truth for quotas (request_generation), queue priority and
-- features. In order: an active or trialing subscription gives its plan; a past_due one keeps its plan for a
-- grace period of 7 days from when it became past_due (Stripe's smart retries run meanwhile); then a manual
-- assignment (internal.plan_assignments: comped or legacy accounts); otherwise Free. With several, the plan
-- with the highest queue priority wins.
drop function internal.organization_plan(uuid);
create function internal.organization_plan(org_id uuid)
returns table (
  plan_id text, plan_name text, daily_generation_limit integer, monthly_generation_limit integer,
  queue_priority integer, features jsonb, source text, subscription_status text, access_until timestamptz
)
language sql
stable
security definer
set search_path = ''
as $$
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
comment on function internal.organization_plan(uuid) is
'the effective plan and limits of an organization now (subscription, 7-day past_due grace, assignment, Free)';

-- For frontends: the caller's organization's entitlements (members only; 42501 otherwise).
create function public.organization_entitlements(org_id uuid)
returns table (
  plan_id text, plan_name text, daily_generation_limit integer, monthly_generation_limit integer,
  queue_priority integer, features jsonb, source text, subscription_status text, access_until timestamptz
)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not internal.has_org_role(org_id) then
    raise exception 'you are not a member of this organization' using errcode = '42501';
  end if;
  return query select * from internal.organization_plan(org_id);
end;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- functions: triggers
-- ---------------------------------------------------------------------------------------------------------

-- Before a subscription is written: final statuses stay final, and past_due_since records when past_due began
-- (the Stripe event's time, so a replay gives the same answer).
create function internal.tg_subscriptions__check_status()
returns trigger
language plpgsql
set search_path = ''
as $$
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

-- After a subscription's status, plan or cancellation changes: broadcast it to the organization's private topic
-- `org:<id>:billing` (members may listen; see policies/billing.sql).
create function internal.tg_subscriptions__broadcast()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
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

revoke all on function internal.stripe_time(text) from public;
revoke all on function internal.stripe_id(jsonb) from public;
revoke all on function internal.stripe_organization(text, jsonb) from public;
revoke all on function internal.stripe_plan_for_price(text, text) from public;
revoke all on function internal.lock_stripe_object(text) from public;
revoke all on function internal.apply_stripe_subscription(jsonb, timestamptz, text) from public;
revoke all on function internal.set_stripe_subscription_status(text, text[], text, timestamptz, text) from public;
revoke all on function internal.apply_stripe_invoice(jsonb, text, timestamptz, text) from public;
revoke all on function internal.apply_stripe_checkout_session(jsonb, timestamptz) from public;
revoke all on function internal.apply_stripe_customer(jsonb, text, timestamptz, text) from public;
revoke all on function internal.apply_stripe_catalog(jsonb, text, timestamptz) from public;
revoke all on function internal.apply_stripe_event(jsonb) from public;
revoke all on function internal.process_stripe_event(text) from public;
revoke all on function internal.receive_stripe_event(jsonb) from public;
revoke all on function internal.replay_stripe_event(text, boolean) from public;
revoke all on function internal.organization_plan(uuid) from public;
revoke all on function public.organization_entitlements(uuid) from public;
revoke all on function internal.tg_subscriptions__check_status() from public;
revoke all on function internal.tg_subscriptions__broadcast() from public;
revoke all on table internal.stripe_events from public, anon, authenticated, service_role;
revoke all on table internal.stripe_object_versions from public, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------------
-- triggers
-- ---------------------------------------------------------------------------------------------------------

create trigger _100_set_updated_at
before update on public.plans
for each row execute function internal.tg_set_updated_at();

create trigger _200_check_status
before insert or update on public.subscriptions
for each row execute function internal.tg_subscriptions__check_status();

create trigger _900_broadcast
after insert or update on public.subscriptions
for each row execute function internal.tg_subscriptions__broadcast();

-- ---------------------------------------------------------------------------------------------------------
-- realtime: postgres_changes subscribers get full old rows
-- ---------------------------------------------------------------------------------------------------------

alter table public.subscriptions replica identity full;
alter publication supabase_realtime add table public.subscriptions;

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
  ('versioned', '0011', '0011_create_billing.sql', '689b3f5880d78b0d9be813547d152f4e83b1f36551e28e7ccc12ce81953de031')
on conflict (kind, key) do update set checksum = excluded.checksum, name = excluded.name, applied_at = now();
