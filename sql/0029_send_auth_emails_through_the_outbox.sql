-- 0029_send_auth_emails_through_the_outbox: the local Auth API's mails (confirmation, magic link, recovery,
-- invite, e-mail change, reauthentication) are outbox rows like every other e-mail: written with
-- internal.enqueue_email in the transaction that stores the one-time token, delivered by the same code as the
-- email.send job (functions_py/emails.deliver_outbox_email). Auth composes the message at request time, from the
-- [auth.email.template.*] settings only it reads, so these rows carry it whole: data = {subject, text, html?}.

-- == constraints ==============================================================================================

alter table internal.outbox_emails drop constraint template_is_known;
alter table internal.outbox_emails add constraint template_is_known check (
  template in (
    'welcome', 'provisioning_complete', 'provisioning_failed', 'payment_failed',
    -- composed by Auth (functions_py/auth/mail.py): one per GoTrue mail kind
    'auth.signup', 'auth.magiclink', 'auth.recovery', 'auth.invite', 'auth.email_change', 'auth.reauthentication'
  )
);
-- Auth accepts what GoTrue accepts (functions_py/auth/users.py EMAIL_FORMAT), a single-label host included
-- (dev@localhost): the outbox takes every such address rather than fail the request with a check violation.
alter table internal.outbox_emails drop constraint to_address_is_an_address;
alter table internal.outbox_emails add constraint to_address_is_an_address check (
  to_address ~ '^[^@\s<>]+@[^@\s<>.][^@\s<>]*$'
);
alter table internal.outbox_emails add constraint auth_rows_carry_their_message check (
  -- the key tests first: a missing key would make the check null, which a check constraint lets through
  template not like 'auth.%' or (
    data ? 'subject' and data ? 'text'
    and jsonb_typeof(data -> 'subject') = 'string' and jsonb_typeof(data -> 'text') = 'string'
  )
);
comment on column internal.outbox_emails.data is
'the template''s values; for auth.* rows the composed message itself: {subject, text, html?}';
