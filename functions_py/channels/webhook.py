"""Twilio's webhook, as SQL receives it: verify `X-Twilio-Signature` before anything, then store an inbound message
(once per MessageSid) or apply a status callback (forward only). Duplicates and replays change nothing: Twilio's
signature carries no timestamp, so a replayed request is answered as the original was, from the stored state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from functions_py.channels.twilio_api import plain_address

MAX_BODY_BYTES = 64 * 1024  # Twilio's webhook bodies are a few kB; a message body is at most 1,600 characters
SID_PATTERN = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")

MESSAGE_RECEIVE = "select internal.receive_channel_message(%s, %s, %s, %s, %s, %s::jsonb, %s)"
STATUS_RECORD = "select internal.record_channel_status(%s, %s, %s, %s)"


class WebhookRejected(Exception):
    """The request is not a Twilio webhook we can act on: `status` and `code` for the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Outcome:
    kind: str  # "inbound" or "status"
    result: Any


def parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(400, "invalid_body", "the body is not UTF-8 form data") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def verify(auth_token: str, url: str, params: dict[str, str], signature: str | None) -> None:
    """Twilio's signature over the URL and the sorted parameters, checked by the SDK's own validator."""
    from twilio.request_validator import RequestValidator

    if not signature:
        raise WebhookRejected(403, "missing_signature", "X-Twilio-Signature is missing: only Twilio may call this")
    if not RequestValidator(auth_token).validate(url, params, signature):
        raise WebhookRejected(403, "invalid_signature", "X-Twilio-Signature does not match this request; check "
                              "that TWILIO_AUTH_TOKEN is the account's token and SUPAKIT_TWILIO_WEBHOOK_URL the "
                              "URL configured in Twilio")


def _media(params: dict[str, str]) -> list[dict[str, str]]:
    try:
        count = min(int(params.get("NumMedia") or 0), 10)
    except ValueError:
        count = 0
    return [{"url": params[f"MediaUrl{i}"], "content_type": params.get(f"MediaContentType{i}", "")}
            for i in range(count) if params.get(f"MediaUrl{i}")]


async def apply(conn: Any, params: dict[str, str]) -> Outcome:
    """Store the inbound message or apply the status callback `params` describe (already verified)."""
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
    if not SID_PATTERN.match(sid):
        raise WebhookRejected(400, "invalid_message_sid", "MessageSid is missing or not a Twilio message SID")
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if status == "received" or ("Body" in params and not status):
        channel, sender = plain_address(params.get("From", ""))
        _, receiver = plain_address(params.get("To", ""))
        if not E164.match(sender) or not E164.match(receiver):
            raise WebhookRejected(400, "invalid_address", "From and To must be E.164 numbers")
        row = await (await conn.execute(MESSAGE_RECEIVE, (
            channel, receiver, sender, sid, params.get("Body", ""), json.dumps(_media(params)),
            params.get("ProfileName")))).fetchone()
        return Outcome("inbound", row[0])
    row = await (await conn.execute(STATUS_RECORD, (
        sid, status, params.get("ErrorCode") or None, params.get("ErrorMessage") or None))).fetchone()
    return Outcome("status", row[0])
