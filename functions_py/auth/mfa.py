"""MFA with TOTP as GoTrue runs it (internal/api/mfa.go, internal/models/factor.go, challenge.go): enroll a factor
(unverified), challenge it, verify a code (the factor becomes verified; the session gains a `totp` amr claim and
aal2; the refresh token rotates), unenroll. Codes are RFC 6238, 30 s steps, 6 digits, checked with pyotp allowing
one step of clock skew, as GoTrue's totp.ValidateCustom does."""

from __future__ import annotations

import datetime as dt
import html
import uuid
from typing import Any
from urllib.parse import urlsplit

import pyotp
from psycopg import AsyncConnection

from functions_py.auth import sessions, users
from functions_py.auth.context import AuthContext
from functions_py.auth.errors import AuthError, forbidden, not_found, unprocessable

CHALLENGE_EXPIRY_S = 300

FACTOR_SELECT_ONE = """
select id, user_id, friendly_name, factor_type::text, status::text, secret, created_at, updated_at
from auth.mfa_factors where id = %s and user_id = %s
"""
FACTOR_INSERT_ONE = """
insert into auth.mfa_factors (id, user_id, friendly_name, factor_type, status, created_at, updated_at, secret)
values (%s, %s, %s, 'totp', 'unverified', now(), now(), %s)
"""
CHALLENGE_INSERT_ONE = """
insert into auth.mfa_challenges (id, factor_id, created_at, ip_address) values (%s, %s, now(), %s)
returning created_at
"""
CHALLENGE_SELECT_ONE = "select id, factor_id, created_at, verified_at from auth.mfa_challenges where id = %s"


def _qr_svg(uri: str) -> str:
    """The enrollment QR code as GoTrue returns it (an SVG data URI); without the optional `qrcode` package the
    SVG carries the otpauth URI as text only (docs/auth.md)."""
    try:
        import qrcode  # type: ignore[import-not-found]
        import qrcode.image.svg  # type: ignore[import-not-found]

        image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
        svg = image.to_string(encoding="unicode")
    except ImportError:
        svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40"><text x="0" y="20" '
               f'font-size="8">{html.escape(uri)}</text></svg>')
    return "data:image/svg+xml;utf-8," + svg


async def enroll(context: AuthContext, conn: AsyncConnection, user: dict[str, Any], body: dict[str, Any]) -> dict:
    factor_type = body.get("factor_type")
    if factor_type not in ("totp", "phone", "webauthn"):
        raise AuthError(400, "validation_failed", "factor_type needs to be totp, phone, or webauthn")
    if factor_type != "totp":
        raise unprocessable("mfa_phone_enroll_not_enabled" if factor_type == "phone" else
                            "mfa_webauthn_enroll_not_enabled",
                            f"MFA enroll is disabled for {factor_type}: supakit's local Auth supports TOTP only")
    if not context.auth.mfa_totp_enroll_enabled:
        raise unprocessable("mfa_totp_enroll_not_enabled", "MFA enroll is disabled for TOTP")
    friendly = str(body.get("friendly_name") or "")
    issuer = str(body.get("issuer") or urlsplit(context.external_url).hostname or "localhost")
    rows = await (await conn.execute("select status::text, friendly_name from auth.mfa_factors where user_id = %s",
                                     (user["id"],))).fetchall()
    if friendly and any(name == friendly for _, name in rows):
        raise unprocessable("mfa_factor_name_conflict",
                            f"A factor with the friendly name \"{friendly}\" for this user already exists")
    if len(rows) >= int(context.auth.mfa_max_enrolled_factors):
        raise unprocessable("too_many_enrolled_mfa_factors",
                            "Maximum number of verified factors reached, unenroll to continue")
    secret = pyotp.random_base32()
    factor_id = str(uuid.uuid4())
    account = user["email"] or user["phone"] or str(user["id"])
    uri = pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)
    await conn.execute(FACTOR_INSERT_ONE, (factor_id, user["id"], friendly or None, secret))
    return {"id": factor_id, "type": "totp", "friendly_name": friendly,
            "totp": {"qr_code": _qr_svg(uri), "secret": secret, "uri": uri}}


async def _factor(conn: AsyncConnection, user: dict[str, Any], factor_id: str) -> tuple:
    try:
        uuid.UUID(factor_id)
    except ValueError:
        raise not_found("mfa_factor_not_found", "Factor not found") from None
    row = await (await conn.execute(FACTOR_SELECT_ONE, (factor_id, user["id"]))).fetchone()
    if row is None:
        raise not_found("mfa_factor_not_found", "Factor not found")
    return row


async def challenge(context: AuthContext, conn: AsyncConnection, user: dict[str, Any], factor_id: str,
                    ip: str | None) -> dict:
    await _factor(conn, user, factor_id)
    if not context.auth.mfa_totp_verify_enabled:
        raise unprocessable("mfa_totp_verify_not_enabled", "MFA verification is disabled for TOTP")
    challenge_id = str(uuid.uuid4())
    row = await (await conn.execute(CHALLENGE_INSERT_ONE, (challenge_id, factor_id, ip or "127.0.0.1"))).fetchone()
    await conn.execute("update auth.mfa_factors set last_challenged_at = now() where id = %s", (factor_id,))
    expires = int((row[0] + dt.timedelta(seconds=CHALLENGE_EXPIRY_S)).timestamp())
    return {"id": challenge_id, "type": "totp", "expires_at": expires}


async def verify(context: AuthContext, conn: AsyncConnection, user: dict[str, Any], session_id: str,
                 factor_id: str, body: dict[str, Any]) -> dict:
    factor = await _factor(conn, user, factor_id)
    if not context.auth.mfa_totp_verify_enabled:
        raise unprocessable("mfa_totp_verify_not_enabled", "MFA verification is disabled for TOTP")
    challenge_id, code = str(body.get("challenge_id") or ""), str(body.get("code") or "")
    try:
        uuid.UUID(challenge_id)
    except ValueError:
        raise AuthError(400, "validation_failed", "challenge_id must be an UUID") from None
    found = await (await conn.execute(CHALLENGE_SELECT_ONE, (challenge_id,))).fetchone()
    if found is None or str(found[1]) != str(factor[0]):
        raise not_found("mfa_factor_not_found", "MFA factor with the provided challenge ID not found")
    if found[3] is not None or dt.datetime.now(dt.UTC) > found[2] + dt.timedelta(seconds=CHALLENGE_EXPIRY_S):
        raise unprocessable("mfa_challenge_expired", f"MFA challenge {challenge_id} has expired, verify against "
                                                     "another challenge or create a new challenge.")
    if not pyotp.TOTP(factor[5]).verify(code, valid_window=1):
        raise unprocessable("mfa_verification_failed", "Invalid TOTP code entered")
    async with conn.transaction():
        await conn.execute("update auth.mfa_challenges set verified_at = now() where id = %s", (challenge_id,))
        await conn.execute("update auth.mfa_factors set status = 'verified', updated_at = now() where id = %s",
                           (factor_id,))
        await conn.execute("update auth.sessions set factor_id = %s where id = %s", (factor_id, session_id))
        fresh = await _user(conn, user["id"])
        return await sessions.add_method(context, conn, fresh, session_id, "totp")


async def _user(conn: AsyncConnection, user_id: Any) -> dict[str, Any]:
    row = await users.fetch_by_id(conn, user_id)
    assert row is not None
    return row


async def unenroll(conn: AsyncConnection, user: dict[str, Any], aal: str, factor_id: str) -> dict:
    factor = await _factor(conn, user, factor_id)
    if factor[4] == "verified" and aal != "aal2":
        raise forbidden("insufficient_aal", "AAL2 required to unenroll verified factor")
    await conn.execute("delete from auth.mfa_factors where id = %s", (factor_id,))
    return {"id": factor_id}


