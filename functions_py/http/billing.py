"""The billing edge functions: `stripe-webhook` (Stripe's signed events), `billing-checkout` and
`billing-portal` (a signed-in owner or admin starts Stripe Checkout or opens the Billing Portal)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import psycopg
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from functions_py.billing import sessions, webhooks
from functions_py.http.auth import Forbidden, Unauthorized, authenticate, require_role
from functions_py.http.edge import EdgeState, error_response

log = logging.getLogger("supakit.http.billing")

BILLING_ROLES = ("owner", "admin")


class BodyRefused(Exception):
    """The request body was not read: too large (413), too slow (408), or the client went away."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        # connection: close, so the server drops a body it will never read instead of waiting for the rest
        response = error_response(self.status, self.code, self.message)
        response.headers["connection"] = "close"
        return response


async def read_body(request: Request, *, limit: int, timeout_s: float) -> bytes:
    """The request body, at most `limit` bytes, all of it within `timeout_s`; BodyRefused otherwise. A declared
    Content-Length over the limit is refused before anything is read."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyRefused(413, "payload_too_large", f"the body may hold at most {limit} bytes")

    async def collect() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyRefused(413, "payload_too_large", f"the body may hold at most {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        async with asyncio.timeout(timeout_s):  # not wait_for: that starts a task per request (issue 21)
            return await collect()
    except TimeoutError:
        raise BodyRefused(408, "body_timeout", f"the body did not arrive within {timeout_s:g} s") from None
    except ClientDisconnect:
        raise BodyRefused(400, "body_aborted", "the client went away before sending its whole body") from None


async def _body(request: Request, state: EdgeState) -> bytes:
    settings = state.stripe_settings
    try:
        return await read_body(request, limit=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    except BodyRefused as refused:
        # one line, no traceback: a client's problem, not ours
        log.warning("%s %s: body %s: %s", request.method, request.url.path,
                    "aborted" if refused.code == "body_aborted" else "refused", refused.message)
        raise


async def stripe_webhook(request: Request, state: EdgeState) -> Response:
    """Verify, then store once and apply: 200 (applied, stale, ignored, unmatched, duplicate, unstorable), 400 when
    the request is not a verified Stripe event (nothing stored), 408/413 for a body too slow or too large, 500 when
    applying failed (recorded; Stripe retries)."""
    secret = state.stripe_settings.require_webhook_secret()
    try:
        payload = await _body(request, state)
    except BodyRefused as refused:
        return refused.response()
    try:
        event = webhooks.verify(payload, request.headers.get("stripe-signature"), secret,
                                tolerance_s=state.stripe_settings.tolerance_s)
    except webhooks.WebhookRejected as rejected:
        log.warning("stripe webhook rejected: %s", rejected.code)
        return error_response(400, rejected.code, rejected.message)
    try:
        async with state.pool.connection() as conn:
            receipt = await webhooks.receive(conn, payload, event)
    except (psycopg.DataError, psycopg.IntegrityError) as error:
        # verify() refuses what the ledger cannot key; this is a defect to report, answered in the documented shape
        log.error("stripe event %s (%s) could not be stored: %s", event["id"], event["type"],
                  error.diag.message_primary or type(error).__name__)
        return error_response(500, "storage_failed", "the event could not be stored; it was not recorded",
                              id=event["id"])
    body = {"received": True, "id": receipt.event_id, "type": receipt.event_type, "outcome": receipt.outcome,
            "attempts": receipt.attempts}
    if receipt.outcome == "unstorable":
        log.warning("stripe event %s (%s) stored unapplied: %s", receipt.event_id, receipt.event_type, receipt.error)
        return JSONResponse({**body, "error": receipt.error})
    if receipt.failed:
        log.error("stripe event %s (%s) failed: %s", receipt.event_id, receipt.event_type, receipt.error)
        return error_response(500, "handler_failed", receipt.error or "the event could not be applied",
                              id=receipt.event_id, attempts=receipt.attempts)
    log.info("stripe event %s (%s): %s", receipt.event_id, receipt.event_type, receipt.outcome)
    return JSONResponse(body)


async def _json_body(request: Request, state: EdgeState) -> dict[str, Any]:
    try:
        body = json.loads(await _body(request, state) or b"{}")
    except (ValueError, RecursionError):
        raise sessions.BillingError("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise sessions.BillingError("the body must be a JSON object")
    return body


def _organization(body: dict[str, Any]) -> uuid.UUID:
    raw = body.get("organization_id")
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise sessions.BillingError("organization_id is required: the id of the organization to bill") from None


async def _authorized(request: Request, state: EdgeState) -> tuple[Any, dict[str, Any], uuid.UUID]:
    if state.verifier.settings.jwks_url:  # the first verification may fetch the JWKS: keep the loop free
        caller = await asyncio.to_thread(authenticate, request, state.verifier)
    else:
        caller = authenticate(request, state.verifier)  # 401 before the body is even read
    body = await _json_body(request, state)
    return caller, body, _organization(body)


def _failure(error: Exception) -> Response:
    if isinstance(error, BodyRefused):
        return error.response()
    if isinstance(error, Unauthorized | Forbidden | sessions.BillingError):
        return error_response(error.status, error.code, error.message)
    raise error


async def checkout(request: Request, state: EdgeState) -> Response:
    """POST {organization_id, plan_id, interval?: month|year, success_url?, cancel_url?} → {id, url}."""
    try:
        caller, body, org = await _authorized(request, state)
        plan_id = body.get("plan_id")
        if not isinstance(plan_id, str) or not plan_id:
            raise sessions.BillingError("plan_id is required (e.g. pro or team)")
        async with state.pool.connection() as conn:
            await require_role(conn, caller, org, BILLING_ROLES)
            site = state.stripe_settings.site_url
            link = await sessions.create_checkout(
                conn, state.stripe, organization_id=org, plan_id=plan_id, interval=body.get("interval") or "month",
                success_url=body.get("success_url") or f"{site}/billing?checkout=success",
                cancel_url=body.get("cancel_url") or f"{site}/billing?checkout=cancelled", email=caller.email)
    except (Unauthorized, Forbidden, sessions.BillingError, BodyRefused) as error:
        return _failure(error)
    return JSONResponse({"id": link.id, "url": link.url})


async def portal(request: Request, state: EdgeState) -> Response:
    """POST {organization_id, return_url?} → {id, url} of a Billing Portal session."""
    try:
        caller, body, org = await _authorized(request, state)
        async with state.pool.connection() as conn:
            await require_role(conn, caller, org, BILLING_ROLES)
            link = await sessions.create_portal(
                conn, state.stripe, organization_id=org,
                return_url=body.get("return_url") or f"{state.stripe_settings.site_url}/billing")
    except (Unauthorized, Forbidden, sessions.BillingError, BodyRefused) as error:
        return _failure(error)
    return JSONResponse({"id": link.id, "url": link.url})
