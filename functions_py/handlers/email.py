"""The `email.send` job: deliver one outbox e-mail (internal.outbox_emails, queued by internal.enqueue_email).

Payload: `{"email_id": int}`. The row's template is rendered with its data (functions_py/emails) and sent by SMTP
when SUPAKIT_SMTP_HOST is set, otherwise written as an .eml file to the local maildir. The row records the outcome:
`sent` (with sent_at), or `failed` after a permanent error or the last attempt; `attempts` and `last_error` move
with every try. A row already `sent` is not sent again (delivery is at least once only up to that update).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from functions_py.emails import DeliveryError, MailSettings, build_message, deliver
from functions_py.errors import ConfigError
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, handler

log = logging.getLogger(__name__)

EMAIL_SELECT_ONE = """
select id, to_address, template, data, status, attempts from internal.outbox_emails where id = %s
"""
EMAIL_MARK_SENT = """
update internal.outbox_emails set status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = null
where id = %s and status <> 'sent'
"""
EMAIL_MARK_FAILED = """
update internal.outbox_emails
set status = case when %(final)s then 'failed' else status end, attempts = attempts + 1, last_error = %(error)s
where id = %(id)s and status <> 'sent'
"""


@handler("email.send", timeout_s=120)
async def send(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Deliver outbox e-mail `payload.email_id`; returns its id, template and where it went."""
    email_id = job.payload.get("email_id")
    if not isinstance(email_id, int):
        raise PermanentJobError("email.send: payload.email_id must be the outbox row's id (an integer); e-mails "
                                "are queued with internal.enqueue_email().")
    async with ctx.pool.connection() as conn:
        row = await (await conn.execute(EMAIL_SELECT_ONE, (email_id,))).fetchone()
    if row is None:
        raise PermanentJobError(f"email.send: outbox e-mail {email_id} does not exist.")
    _, to_address, template, data, status, _ = row
    if status == "sent":
        return {"email_id": email_id, "template": template, "skipped": "already sent"}
    final = job.attempts >= job.max_attempts
    try:
        settings = MailSettings.from_env()
        message = build_message(email_id, to_address, template, data or {}, settings.sender)
        where = await asyncio.to_thread(deliver, message, settings, email_id)
    except (DeliveryError, ConfigError) as error:
        retryable = isinstance(error, DeliveryError) and error.retryable
        async with ctx.pool.connection() as conn:
            await conn.execute(EMAIL_MARK_FAILED, {"id": email_id, "error": error.message[:2000],
                                                   "final": final or not retryable})
        if retryable:
            raise RetryableJobError(error.message) from None
        raise PermanentJobError(error.message) from None
    async with ctx.pool.connection() as conn:
        await conn.execute(EMAIL_MARK_SENT, (email_id,))
    log.info("email.send job %s: e-mail %s (%s) delivered to %s", job.id, email_id, template, where)
    return {"email_id": email_id, "template": template, "delivered_to": where}
