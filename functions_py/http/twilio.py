"""The `twilio-webhook` edge function: inbound SMS/WhatsApp messages and delivery status callbacks from Twilio
(functions_py/channels/webhook.py, sql/0023). Answers 200 with an empty TwiML response (Twilio sends nothing back
to the customer), 403 when the signature is missing or wrong (nothing stored), 400 for a signed request we cannot
use, 413 for a body no Twilio webhook has, 503 when TWILIO_AUTH_TOKEN is not set."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from functions_py.channels import webhook
from functions_py.channels.twilio_api import TwilioSettings
from functions_py.http.app import EdgeState, error_response

log = logging.getLogger("supakit.http.twilio")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed_url(request: Request, configured: str | None) -> str:
    """The URL Twilio signed: the configured public URL (with the request's query string), else the request's."""
    if not configured:
        return str(request.url)
    query = request.url.query
    return configured if not query or "?" in configured else f"{configured}?{query}"


async def twilio_webhook(request: Request, state: EdgeState) -> Response:
    settings = TwilioSettings.load()
    if not settings.auth_token:
        return error_response(503, "not_configured", "TWILIO_AUTH_TOKEN is not set; the webhook cannot verify Twilio")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > webhook.MAX_BODY_BYTES:
        return error_response(413, "body_too_large", f"a Twilio webhook body is at most {webhook.MAX_BODY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > webhook.MAX_BODY_BYTES:
            return error_response(413, "body_too_large",
                                  f"a Twilio webhook body is at most {webhook.MAX_BODY_BYTES} bytes")
    try:
        params = webhook.parse_form(body)
        webhook.verify(settings.auth_token, _signed_url(request, settings.webhook_url), params,
                       request.headers.get("x-twilio-signature"))
        async with state.pool.connection() as conn:
            outcome = await webhook.apply(conn, params)
    except webhook.WebhookRejected as rejected:
        log.warning("twilio webhook rejected: %s", rejected.code)
        return error_response(rejected.status, rejected.code, rejected.message)
    log.info("twilio %s %s: %s", outcome.kind, params.get("MessageSid"),
             outcome.result.get("outcome") if isinstance(outcome.result, dict) else outcome.result)
    return Response(EMPTY_TWIML, media_type="text/xml")
