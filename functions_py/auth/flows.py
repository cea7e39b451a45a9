"""The e-mail flows as GoTrue runs them (internal/api/signup.go, magic_link.go, otp.go, recover.go, resend.go,
verify.go, user.go, reauthenticate.go, mail.go): one-time tokens, the mails that carry them, and their verification.

A mailed token is a 6-digit code (`otp_length`) and its hash `sha224(email + code)` in hex; the link carries the
hash (`/verify?token=<hash>&type=…`), the code is typed into `verifyOtp`; both find the same auth.users column
(confirmation_token for signup and invite, recovery_token for recovery and magic links, email_change_token_* for
e-mail changes, reauthentication_token for nonces), mirrored into auth.one_time_tokens as GoTrue does. PKCE flows
store their code challenge in auth.flow_state and prefix the link's token with `pkce_`; verifying answers
`?code=<auth_code>` for POST /token?grant_type=pkce."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from functions_py.auth import mail, users
from functions_py.auth.context import AuthContext
from functions_py.auth.errors import AuthError, bad_request, forbidden, not_found, too_many, unprocessable

# kind -> (token column, sent_at column, one_time_tokens type)
TOKEN_COLUMNS = {
    "signup": ("confirmation_token", "confirmation_sent_at", "confirmation_token"),
    "invite": ("confirmation_token", "confirmation_sent_at", "confirmation_token"),
    "magiclink": ("recovery_token", "recovery_sent_at", "recovery_token"),
    "recovery": ("recovery_token", "recovery_sent_at", "recovery_token"),
    "reauthentication": ("reauthentication_token", "reauthentication_sent_at", "reauthentication_token"),
}
VERIFY_TYPES = ("signup", "invite", "magiclink", "recovery", "email_change", "email")
PKCE_PREFIX = "pkce_"
FLOW_STATE_EXPIRY_S = 300
# flow_state.authentication_method per verification kind (models.AuthenticationMethod strings)
FLOW_METHODS = {"signup": "email/signup", "invite": "invite", "magiclink": "magiclink", "recovery": "recovery",
                "email_change": "email_change", "email": "magiclink"}
EMAIL_CHANGE_HALF = "Confirmation link accepted. Please proceed to confirm link sent to the other email"

OTT_UPSERT = """
insert into auth.one_time_tokens (id, user_id, token_type, token_hash, relates_to, created_at, updated_at)
values (gen_random_uuid(), %s, %s, %s, %s, now(), now())
on conflict (user_id, token_type) do update set token_hash = excluded.token_hash,
  relates_to = excluded.relates_to, updated_at = now()
"""
OTT_DELETE = "delete from auth.one_time_tokens where user_id = %s and token_type = %s"
FLOW_STATE_INSERT = """
insert into auth.flow_state (id, user_id, auth_code, code_challenge_method, code_challenge, provider_type,
  created_at, updated_at, authentication_method)
values (gen_random_uuid(), %s, %s, %s, %s, 'email', now(), now(), %s)
"""
FLOW_STATE_ISSUE = """
update auth.flow_state set auth_code_issued_at = now(), updated_at = now()
where id = (select id from auth.flow_state where user_id = %s and authentication_method = %s
            order by created_at desc limit 1)
returning auth_code
"""
FLOW_STATE_SELECT_BY_CODE = """
select id, user_id, code_challenge_method::text, code_challenge, authentication_method, created_at
from auth.flow_state where auth_code = %s
"""
USER_CONFIRM = """
update auth.users set email_confirmed_at = coalesce(email_confirmed_at, now()), confirmation_token = '',
  updated_at = now(), raw_user_meta_data = coalesce(raw_user_meta_data, '{}') || '{"email_verified": true}'
where id = %s
"""
IDENTITY_CONFIRM = """
update auth.identities set identity_data = identity_data || '{"email_verified": true}', updated_at = now()
where user_id = %s and provider = 'email'
"""


def token_hash(email: str, otp: str) -> str:
    """GoTrue's hashed token: sha224 of the address followed by the code, hex."""
    return hashlib.sha224((email + otp).encode()).hexdigest()


def new_otp(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def _glob(pattern: str) -> re.Pattern[str]:
    """GoTrue's uri_allow_list glob (gobwas/glob with '.' and '/' as separators): `**` matches anything, `*` and
    `?` stop at a dot or a slash."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^./]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^./]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def redirect_target(context: AuthContext, requested: str | None) -> str:
    """`requested` when it has the site URL's origin or matches additional_redirect_urls (GoTrue's globs), else
    the site URL: GoTrue falls back silently (utilities.GetReferrer), so an outside target is never used."""
    site = context.auth.site_url
    if not requested:
        return site
    try:
        asked = urlsplit(requested)
        home = urlsplit(site)
    except ValueError:
        return site
    if asked.scheme and asked.netloc and (asked.scheme, asked.netloc) == (home.scheme, home.netloc):
        return requested
    for pattern in context.auth.additional_redirect_urls:
        if requested == pattern or _glob(pattern).match(requested):
            return requested
    return site


def _left_s(sent_at: dt.datetime | None, frequency_s: int) -> int:
    if sent_at is None or frequency_s <= 0:
        return 0
    left = (sent_at + dt.timedelta(seconds=frequency_s) - dt.datetime.now(dt.UTC)).total_seconds()
    return max(0, int(left + 0.999))


def check_frequency(context: AuthContext, sent_at: dt.datetime | None) -> None:
    left = _left_s(sent_at, int(context.auth.email_max_frequency_s))
    if left > 0:
        raise too_many("over_email_send_rate_limit",
                       f"For security purposes, you can only request this after {left} seconds.")


async def _pkce_flow(conn: AsyncConnection, user_id: str, kind: str, pkce: tuple[str, str] | None) -> None:
    if pkce is None:
        return
    challenge, method = pkce
    await conn.execute(FLOW_STATE_INSERT, (user_id, str(uuid.uuid4()), method, challenge, FLOW_METHODS[kind]))


def pkce_params(body: dict[str, Any]) -> tuple[str, str] | None:
    """(code_challenge, method) from a request body, or None for the implicit flow; bad params answer 400."""
    challenge = str(body.get("code_challenge") or "")
    method = str(body.get("code_challenge_method") or "").lower()
    if not challenge and not method:
        return None
    if not challenge or not method:
        raise bad_request("validation_failed", "PKCE flow requires code_challenge_method and code_challenge")
    if method not in ("s256", "plain"):
        raise bad_request("validation_failed", f"code challenge method not supported: {method}")
    if not 43 <= len(challenge) <= 128:
        raise bad_request("validation_failed", "code challenge has to be between 43 and 128 characters")
    return challenge, method


async def send_token_mail(context: AuthContext, conn: AsyncConnection, user: dict[str, Any], kind: str,
                          redirect_to: str, pkce: tuple[str, str] | None = None) -> None:
    """Store a fresh token of `kind` for `user` and mail it (rate limit and max frequency as GoTrue)."""
    column, sent_column, ott_type = TOKEN_COLUMNS[kind]
    check_frequency(context, user.get(sent_column))
    context.limiter.check_email(int(context.auth.rate_limit_email_sent))
    email = user["email"]
    otp = new_otp(int(context.auth.otp_length))
    hashed = token_hash(email, otp)
    extra = ", invited_at = now()" if kind == "invite" else ""
    link_token = (PKCE_PREFIX + hashed) if pkce else hashed
    link = None if kind == "reauthentication" else mail.action_link(context.api_url, link_token, kind, redirect_to)
    async with conn.transaction():
        await conn.execute(f"update auth.users set {column} = %s, {sent_column} = now(){extra} where id = %s",
                           (hashed, user["id"]))
        await conn.execute(OTT_UPSERT, (user["id"], ott_type, hashed, email))
        await _pkce_flow(conn, str(user["id"]), kind, pkce)
        # the token and its mail commit together (the outbox): no stored token without its mail, and back
        queued = await context.mailer.enqueue(conn, kind, email, link=link, otp=otp, TokenHash=hashed,
                                              SiteURL=context.auth.site_url, RedirectTo=redirect_to,
                                              Data=user.get("raw_user_meta_data") or {})
    await context.mailer.deliver(conn, queued)


async def send_email_change(context: AuthContext, conn: AsyncConnection, user: dict[str, Any], new_email: str,
                            redirect_to: str, pkce: tuple[str, str] | None = None) -> None:
    """Mail the e-mail change: the new address always, the current one too with double_confirm_changes."""
    check_frequency(context, user.get("email_change_sent_at"))
    context.limiter.check_email(int(context.auth.rate_limit_email_sent))
    current = user["email"] or ""
    both = bool(context.auth.double_confirm_changes and current)
    otp_new = new_otp(int(context.auth.otp_length))
    otp_current = new_otp(int(context.auth.otp_length)) if both else ""
    hash_new = token_hash(new_email, otp_new)
    hash_current = token_hash(current, otp_current) if both else ""
    prefix = PKCE_PREFIX if pkce else ""
    common = {"SiteURL": context.auth.site_url, "RedirectTo": redirect_to, "NewEmail": new_email,
              "Data": user.get("raw_user_meta_data") or {}}
    async with conn.transaction():
        await conn.execute(
            "update auth.users set email_change = %s, email_change_token_new = %s, email_change_token_current = %s,"
            " email_change_sent_at = now(), email_change_confirm_status = 0 where id = %s",
            (new_email, hash_new, hash_current, user["id"]))
        await conn.execute(OTT_UPSERT, (user["id"], "email_change_token_new", hash_new, new_email))
        if both:
            await conn.execute(OTT_UPSERT, (user["id"], "email_change_token_current", hash_current, current))
        await _pkce_flow(conn, str(user["id"]), "email_change", pkce)
        queued = [await context.mailer.enqueue(
            conn, "email_change", new_email, otp=otp_new, TokenHash=hash_new, **common,
            link=mail.action_link(context.api_url, prefix + hash_new, "email_change", redirect_to))]
        if both:
            queued.append(await context.mailer.enqueue(
                conn, "email_change", current, otp=otp_current, TokenHash=hash_current, **common,
                link=mail.action_link(context.api_url, prefix + hash_current, "email_change", redirect_to)))
    await context.mailer.deliver(conn, *queued)


def _expired(context: AuthContext, sent_at: dt.datetime | None) -> bool:
    if sent_at is None:
        return True
    return dt.datetime.now(dt.UTC) > sent_at + dt.timedelta(seconds=int(context.auth.otp_expiry_s))


def otp_invalid(link: bool = False) -> AuthError:
    """GoTrue's 403 otp_expired: worded for a link (token hash) or for a typed code."""
    return forbidden("otp_expired", "Email link is invalid or has expired" if link else
                     "Token has expired or is invalid")


async def confirm_email(conn: AsyncConnection, user_id: Any) -> None:
    await conn.execute(USER_CONFIRM, (user_id,))
    await conn.execute(IDENTITY_CONFIRM, (user_id,))
    await conn.execute(OTT_DELETE, (user_id, "confirmation_token"))


async def _find_by_hash(conn: AsyncConnection, kind: str, hashed: str) -> tuple[dict[str, Any] | None, str]:
    """The user holding `hashed` for `kind`, and the kind it was found as ("email" resolves to signup or
    magiclink; email_change to which half)."""
    candidates = {"email": ["signup", "magiclink"], "email_change": []}.get(kind, [kind])
    for candidate in candidates:
        column = TOKEN_COLUMNS[candidate][0]
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(users.USER_SELECT + f" where u.{column} = %s", (hashed,))
            row = await cur.fetchone()
        if row is not None:
            return row, candidate
    if kind == "email_change":
        for half in ("email_change_token_new", "email_change_token_current"):
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(users.USER_SELECT + f" where u.{half} = %s", (hashed,))
                row = await cur.fetchone()
            if row is not None:
                return row, half
    return None, kind


async def verify(context: AuthContext, conn: AsyncConnection, kind: str, *, hashed: str | None = None,
                 email: str | None = None, otp: str | None = None) -> tuple[dict[str, Any] | None, str, bool]:
    """Apply verification `kind` by link hash or by (email, code). Returns (user, resolved kind, complete):
    complete is False only for the first half of a double-confirmed e-mail change."""
    if kind not in VERIFY_TYPES:
        raise bad_request("validation_failed", "Verify requires a verification type")
    if hashed is None:
        assert email is not None and otp is not None
        row = await users.fetch_by_email(conn, email)
        if kind == "email_change" and row is None:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(users.USER_SELECT + " where lower(u.email_change) = lower(%s)", (email,))
                row = await cur.fetchone()
        if row is None:
            raise otp_invalid()
        candidate_hash = token_hash(email, otp)
        kinds = {"email": ["signup", "magiclink"]}.get(kind, [kind])
        found = None
        if kind == "email_change":
            for half in ("email_change_token_new", "email_change_token_current"):
                stored = row.get(half) or ""
                if stored and hmac.compare_digest(stored, candidate_hash):
                    found = half
        else:
            for candidate in kinds:
                stored = row.get(TOKEN_COLUMNS[candidate][0]) or ""
                if stored and hmac.compare_digest(stored, candidate_hash):
                    found = candidate
                    break
        if found is None:
            raise otp_invalid()
        user, resolved = row, found
    else:
        user, resolved = await _find_by_hash(conn, kind, hashed)
        if user is None:
            raise otp_invalid(link=True)
    link = hashed is not None
    if resolved.startswith("email_change"):
        if _expired(context, user.get("email_change_sent_at")):
            raise otp_invalid(link)
        return await _apply_email_change(context, conn, user, resolved)
    if _expired(context, user.get(TOKEN_COLUMNS[resolved][1])):
        raise otp_invalid(link)
    if users.is_banned(user):
        raise forbidden("user_banned", "User is banned")
    column, _, ott_type = TOKEN_COLUMNS[resolved]
    async with conn.transaction():
        await conn.execute(f"update auth.users set {column} = '' where id = %s", (user["id"],))
        await conn.execute(OTT_DELETE, (user["id"], ott_type))
        if not users.is_confirmed(user) or resolved in ("signup", "invite"):
            await confirm_email(conn, user["id"])
    fresh = await users.fetch_by_id(conn, user["id"])
    return fresh, resolved, True


async def ensure_email_identity(conn: AsyncConnection, user_id: Any, email: str) -> None:
    exists = await (await conn.execute(
        "select 1 from auth.identities where user_id = %s and provider = 'email'", (user_id,))).fetchone()
    data = {"sub": str(user_id), "email": email, "email_verified": True, "phone_verified": False}
    if exists:
        await conn.execute("update auth.identities set identity_data = identity_data || %s, updated_at = now()"
                           " where user_id = %s and provider = 'email'", (json.dumps({"email": email}), user_id))
    else:
        await conn.execute(users.IDENTITY_INSERT_ONE, {"provider_id": str(user_id), "user_id": user_id,
                                                       "data": json.dumps(data), "provider": "email"})


async def link_email(conn: AsyncConnection, user_id: Any, email: str) -> None:
    """Make `email` the user's confirmed address; an anonymous user becomes a permanent email user."""
    await conn.execute(
        "update auth.users set email = %s, email_change = '', email_change_token_new = '',"
        " email_change_token_current = '', email_change_confirm_status = 0,"
        " email_confirmed_at = coalesce(email_confirmed_at, now()), is_anonymous = false, updated_at = now(),"
        " raw_app_meta_data = coalesce(raw_app_meta_data, '{}') || jsonb_build_object('provider',"
        " coalesce(raw_app_meta_data ->> 'provider', 'email'), 'providers', (select coalesce(jsonb_agg(distinct p),"
        " '[\"email\"]') from (select jsonb_array_elements_text(coalesce(raw_app_meta_data -> 'providers',"
        " '[]')) as p union select 'email') as ps))"
        " where id = %s", (email, user_id))
    await ensure_email_identity(conn, user_id, email)
    await conn.execute("delete from auth.one_time_tokens where user_id = %s and token_type in"
                       " ('email_change_token_new', 'email_change_token_current')", (user_id,))


async def _apply_email_change(context: AuthContext, conn: AsyncConnection, user: dict[str, Any],
                              half: str) -> tuple[dict[str, Any] | None, str, bool]:
    both = bool(user.get("email_change_token_current"))
    async with conn.transaction():
        if both and (user.get("email_change_confirm_status") or 0) == 0:
            await conn.execute(f"update auth.users set {half} = '', email_change_confirm_status = 1 where id = %s",
                               (user["id"],))
            return None, "email_change", False
        await link_email(conn, user["id"], user["email_change"])
    return await users.fetch_by_id(conn, user["id"]), "email_change", True


async def issue_auth_code(conn: AsyncConnection, user_id: Any, kind: str) -> str | None:
    row = await (await conn.execute(FLOW_STATE_ISSUE, (user_id, FLOW_METHODS.get(kind, kind)))).fetchone()
    return row[0] if row else None


def _challenge_of(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def exchange_code(conn: AsyncConnection, auth_code: str, verifier: str) -> tuple[dict[str, Any], str]:
    """POST /token?grant_type=pkce: the flow state's user and authentication method; the flow state is used up."""
    if not auth_code or not verifier:
        raise bad_request("validation_failed",
                          "invalid request: both auth code and code verifier should be non-empty")
    row = await (await conn.execute(FLOW_STATE_SELECT_BY_CODE, (auth_code,))).fetchone()
    if row is None or row[1] is None:
        raise not_found("flow_state_not_found", "invalid flow state, no valid flow state found")
    flow_id, user_id, method, challenge, auth_method, created_at = row
    if dt.datetime.now(dt.UTC) > created_at + dt.timedelta(seconds=FLOW_STATE_EXPIRY_S):
        raise unprocessable("flow_state_expired", "invalid flow state, flow state has expired")
    if not hmac.compare_digest(_challenge_of(verifier, method), challenge):
        raise bad_request("bad_code_verifier", "code challenge does not match previously saved code verifier")
    await conn.execute("delete from auth.flow_state where id = %s", (flow_id,))
    user = await users.fetch_by_id(conn, user_id)
    if user is None:
        raise not_found("user_not_found", "User not found")
    return user, auth_method


def fragment_redirect(target: str, values: dict[str, Any]) -> str:
    return target + "#" + urlencode(sorted((k, str(v)) for k, v in values.items()))


def query_redirect(target: str, values: dict[str, Any]) -> str:
    separator = "&" if urlsplit(target).query else "?"
    return target + separator + urlencode(values)
