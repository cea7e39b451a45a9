"""The `email.send` job: deliver one outbox e-mail (internal.outbox_emails, queued by internal.enqueue_email).

Payload: `{"email_id": int}`. The row's template is rendered with its data (functions_py/emails) and sent by SMTP
when SUPAKIT_SMTP_HOST is set, otherwise written as an .eml file to the local maildir. The row records the outcome:
`sent` (with sent_at), or `failed` after a permanent error or the last attempt; `attempts` and `last_error` move
with every try. A row already `sent` is not sent again (delivery is at least once only up to that update); the row
is locked while it is delivered, so the job and the Auth API (which delivers its own mails at once) never both send
it.
"""

from __future__ import annotations

import logging
from typing import Any

from functions_py.emails import DeliveryError, EmailMissing, MailSettings, deliver_outbox_email, mark_failed
from functions_py.errors import ConfigError
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, handler

log = logging.getLogger(__name__)


@handler("email.send", timeout_s=120)
async def send(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Deliver outbox e-mail `payload.email_id`; returns its id and where it went (or that it was already sent:
    the Auth API delivers its mails itself right after queueing them, functions_py/emails)."""
    email_id = job.payload.get("email_id")
    if not isinstance(email_id, int):
        raise PermanentJobError("email.send: payload.email_id must be the outbox row's id (an integer); e-mails "
                                "are queued with internal.enqueue_email().")
    final = job.attempts >= job.max_attempts
    try:
        settings = MailSettings.from_env()
    except ConfigError as error:  # a bad mail setting fails the e-mail, naming the variable
        async with ctx.pool.connection() as conn:
            await mark_failed(conn, email_id, error.message, final=True)
        raise PermanentJobError(error.message) from None
    try:
        async with ctx.pool.connection() as conn:
            where = await deliver_outbox_email(conn, email_id, settings, final=final)
    except EmailMissing as error:
        raise PermanentJobError(f"email.send: {error.message}") from None
    except (DeliveryError, ConfigError) as error:
        if isinstance(error, DeliveryError) and error.retryable:
            raise RetryableJobError(error.message) from None
        raise PermanentJobError(error.message) from None
    if where is None:
        return {"email_id": email_id, "skipped": "already sent"}
    log.info("email.send job %s: e-mail %s delivered to %s", job.id, email_id, where)
    return {"email_id": email_id, "delivered_to": where}
