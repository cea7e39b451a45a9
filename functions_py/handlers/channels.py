"""The channel jobs (sql/0023, docs/channels.md):

- `channel.send` `{"message_id"}`: hand one outbound SMS/WhatsApp message to Twilio and record its MessageSid and
  status. Queued by SQL when a member posts in a conversation bound to a contact, once per message. A delivery that
  already left `queued` is not sent again; a refusal that no retry can fix fails the delivery at once (visible to
  the sender), other errors are retried with backoff and the last one fails it (a trigger on the job).
- `ai.suggest_reply` `{"suggestion_id"}`: ask Claude (the `anthropic` SDK, configured as `ai.generate` is) for a
  reply to a conversation's latest messages and store it as the suggestion; nothing is ever sent.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from functions_py.channels.twilio_api import TwilioSendError, TwilioSettings, send
from functions_py.errors import ConfigError
from functions_py.jobs.registry import Job, JobContext, PermanentJobError, RetryableJobError, handler

log = logging.getLogger(__name__)

OUTBOUND_SELECT_ONE = "select internal.channel_outbound(%s)"
SEND_RECORD = "select internal.record_channel_send(%s, %s, %s, %s, %s)"
SUGGESTION_CONTEXT = "select internal.reply_suggestion_context(%s)"
SUGGESTION_COMPLETE = "select internal.complete_reply_suggestion(%s, %s, %s, %s, %s)"

SUGGESTION_SYSTEM_PROMPT = (
    "You draft replies for the staff of {organization} to a customer conversation held over SMS or WhatsApp. "
    "Write only the reply the staff member would send next: short, friendly, specific to what the customer asked, "
    "in the customer's language, with no greeting line if the conversation is already under way, no placeholders "
    "and no promises the conversation does not support. A staff member reads and edits it before sending."
)
SUGGESTION_MAX_TOKENS = 600


def _uuid(payload: dict[str, Any], key: str, kind: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[key]))
    except (KeyError, ValueError):
        raise PermanentJobError(f"{kind}: payload.{key} must be a uuid; these jobs are queued by SQL "
                                "(sql/0023), not by hand.") from None


async def _record(ctx: JobContext, message_id: uuid.UUID, sid: str | None, status: str | None,
                  code: str | None = None, message: str | None = None) -> str | None:
    async with ctx.pool.connection() as conn:
        row = await (await conn.execute(SEND_RECORD, (message_id, sid, status, code, message))).fetchone()
    return row[0] if row else None


@handler("channel.send", timeout_s=60)
async def send_message(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Send outbound message `payload.message_id` through Twilio; returns its sid and status."""
    message_id = _uuid(job.payload, "message_id", "channel.send")
    async with ctx.pool.connection() as conn:
        row = await (await conn.execute(OUTBOUND_SELECT_ONE, (message_id,))).fetchone()
    outbound = row[0] if row else None
    if outbound is None:
        return {"message_id": str(message_id), "skipped": "the message was deleted"}
    if outbound["twilio_sid"] or outbound["status"] != "queued":
        return {"message_id": str(message_id), "skipped": f"already handed to Twilio ({outbound['status']})",
                "sid": outbound["twilio_sid"]}
    if outbound["opted_out"]:
        await _record(ctx, message_id, None, "failed", "21610", "the contact opted out before it was sent")
        return {"message_id": str(message_id), "skipped": "the contact opted out"}
    settings = TwilioSettings.load()
    try:
        result = await asyncio.to_thread(
            send, settings, channel=outbound["channel"], to=outbound["to"], sender=outbound["from"],
            body=outbound["body"], status_callback=settings.webhook_url)
    except ConfigError as error:
        await _record(ctx, message_id, None, "failed", "not_configured", error.message)
        raise PermanentJobError(error.message) from None
    except TwilioSendError as error:
        if error.permanent:
            await _record(ctx, message_id, None, "failed", error.code or "refused", error.message)
            raise PermanentJobError(error.message) from None
        raise RetryableJobError(error.message) from None
    status = await _record(ctx, message_id, result.sid, result.status)
    return {"message_id": str(message_id), "sid": result.sid, "status": status}


def transcript(context: dict[str, Any]) -> str:
    """The conversation as the prompt shows it: one line per message, oldest first, marked by side."""
    lines = [f"[{entry['from']}] {entry['body']}" for entry in context.get("messages", [])]
    return ("The conversation so far, oldest first:\n\n" + "\n".join(lines)
            + "\n\nWrite the staff's next reply.")


@handler("ai.suggest_reply", timeout_s=150)
async def suggest_reply(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Write suggestion `payload.suggestion_id` from its conversation; returns the model and token counts."""
    import anthropic

    from functions_py.handlers.ai import AISettings, _client_for, _job_error  # one configuration for both AI jobs

    suggestion_id = _uuid(job.payload, "suggestion_id", "ai.suggest_reply")
    async with ctx.pool.connection() as conn:
        row = await (await conn.execute(SUGGESTION_CONTEXT, (suggestion_id,))).fetchone()
    context = row[0] if row else None
    if context is None:
        raise PermanentJobError(f"ai.suggest_reply: suggestion {suggestion_id} does not exist.")
    if context["status"] != "queued":
        return {"suggestion_id": str(suggestion_id), "skipped": f"already {context['status']}"}
    try:
        settings = AISettings.from_env()
    except ConfigError as error:
        raise PermanentJobError(error.message) from None
    client = _client_for(settings)
    try:
        response = await client.messages.create(
            model=settings.model, max_tokens=min(settings.max_tokens, SUGGESTION_MAX_TOKENS),
            system=SUGGESTION_SYSTEM_PROMPT.format(organization=context.get("organization") or "the organization"),
            messages=[{"role": "user", "content": transcript(context)}])
    except anthropic.APIError as exc:
        raise _job_error(exc, settings, client) from None
    text = "".join(block.text for block in response.content if getattr(block, "type", None) == "text").strip()
    if not text:
        raise RetryableJobError("ai.suggest_reply: the model answered without text; retrying")
    usage = response.usage
    async with ctx.pool.connection() as conn:
        await conn.execute(SUGGESTION_COMPLETE, (suggestion_id, text, response.model, usage.input_tokens,
                                                 usage.output_tokens))
    log.info("suggestion %s written (%s tokens)", suggestion_id, usage.output_tokens)
    return {"suggestion_id": str(suggestion_id), "model": response.model, "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens, "messages": len(context.get("messages", []))}
