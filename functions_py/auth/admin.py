"""The admin API (internal/api/admin.go, invite.go, mail.go GenerateLink), for JWTs whose role is one of
`auth.admin_roles` (service_role, supabase_admin): users listed with GoTrue's page/per_page pagination and its
`Link` / `X-Total-Count` headers, created, read, updated, deleted (hard or soft), invited; action links generated
without sending mail."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from typing import Any
from urllib.parse import urlencode

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from functions_py.auth import flows, mail, passwords, users
from functions_py.auth.context import AuthContext
from functions_py.auth.errors import bad_request, not_found, unprocessable

DEFAULT_PER_PAGE = 50
EMAIL_EXISTS = "A user with this email address has already been registered"
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(h|m|s|ms)$")


def pagination(query: dict[str, str]) -> tuple[int, int]:
    try:
        page = int(query.get("page") or 1)
        per_page = int(query.get("per_page") or DEFAULT_PER_PAGE)
        if page < 0 or per_page <= 0:
            raise ValueError
    except ValueError:
        raise bad_request("validation_failed", "Bad Pagination Parameters: page and per_page must be positive "
                                               "integers") from None
    return max(page, 1), per_page


def link_header(path: str, query: dict[str, str], page: int, per_page: int, total: int) -> str:
    """GoTrue's addPaginationHeaders: the request URL (path and query, keys sorted) with page set."""
    pages = total // per_page + (1 if total % per_page else 0)
    values = dict(query)
    header = ""
    if pages > page:
        values["page"] = str(page + 1)
        header += f"<{path}?{urlencode(sorted(values.items()))}>; rel=\"next\", "
    values["page"] = str(pages)
    return header + f"<{path}?{urlencode(sorted(values.items()))}>; rel=\"last\""


async def list_users(conn: AsyncConnection, page: int, per_page: int, aud: str = "authenticated",
                     email_filter: str | None = None) -> tuple[list[dict[str, Any]], int]:
    where, args = " where u.aud = %s", [aud]
    if email_filter:
        where += " and (u.email ilike %s or u.raw_user_meta_data ->> 'full_name' ilike %s)"
        args += [f"%{email_filter}%", f"%{email_filter}%"]
    total = (await (await conn.execute(f"select count(*) from auth.users as u{where}", args)).fetchone())[0]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(users.USER_SELECT + where + " order by u.created_at desc, u.id limit %s offset %s",
                          [*args, per_page, (page - 1) * per_page])
        rows = await cur.fetchall()
    return rows, int(total)


def ban_until(duration: Any) -> dt.datetime | None | bool:
    """The banned_until for a ban_duration: None to unban ("none"), False when absent; 400 when malformed."""
    if duration in (None, ""):
        return False
    if duration == "none":
        return None
    match = DURATION.match(str(duration))
    if not match:
        raise bad_request("validation_failed", "invalid format for ban duration: time: invalid duration "
                                               f"\"{duration}\"")
    amount, unit = float(match[1]), match[2]
    seconds = amount * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


async def create_user(context: AuthContext, conn: AsyncConnection, body: dict[str, Any]) -> dict[str, Any]:
    email = users.normalize_email(body.get("email"))
    phone = str(body.get("phone") or "")
    if phone:
        raise bad_request("phone_provider_disabled", "Phone users need an SMS provider, which supakit's local Auth "
                                                     "does not have; create the user with an email")
    if not email:
        raise bad_request("validation_failed", "Cannot create a user without either an email or phone")
    if not users.valid_email(email):
        raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
    if await users.fetch_by_email(conn, email):
        raise unprocessable("email_exists", EMAIL_EXISTS)
    password = body.get("password")
    hashed = body.get("password_hash") or None
    if password:
        weak = passwords.weakness(str(password), int(context.auth.minimum_password_length),
                                  context.auth.password_requirements)
        if weak is not None:
            raise weak
        hashed = await passwords.hash_password(str(password))
    user_id = str(body.get("id") or uuid.uuid4())
    try:
        uuid.UUID(user_id)
    except ValueError:
        raise bad_request("validation_failed", "id must be an UUID") from None
    provider = "email" if email else None
    app_metadata = {**({"provider": provider, "providers": [provider]} if provider else {}),
                    **(body.get("app_metadata") or {})}
    user_metadata = dict(body.get("user_metadata") or {})
    banned = ban_until(body.get("ban_duration"))
    confirmed = dt.datetime.now(dt.UTC) if body.get("email_confirm") else None
    if email:
        user_metadata = {**user_metadata, "email": email, "email_verified": bool(confirmed),
                         "phone_verified": False, "sub": user_id}
    async with conn.transaction():
        await conn.execute(users.USER_INSERT_ONE, {
            "id": user_id, "aud": "authenticated", "role": body.get("role") or "authenticated", "email": email or None,
            "phone": None, "password": hashed or "", "app_metadata": json.dumps(app_metadata),
            "user_metadata": json.dumps(user_metadata), "is_anonymous": False, "email_confirmed_at": confirmed,
            "phone_confirmed_at": None, "invited_at": None, "banned_until": banned or None})
        if email:
            await conn.execute(users.IDENTITY_INSERT_ONE, {
                "provider_id": user_id, "user_id": user_id, "provider": "email",
                "data": json.dumps({"sub": user_id, "email": email, "email_verified": bool(confirmed),
                                    "phone_verified": False})})
    row = await users.fetch_by_id(conn, user_id)
    assert row is not None
    return row


async def user_or_404(conn: AsyncConnection, user_id: str) -> dict[str, Any]:
    try:
        uuid.UUID(user_id)
    except ValueError:
        raise not_found("validation_failed", "user_id must be an UUID") from None
    row = await users.fetch_by_id(conn, user_id)
    if row is None:
        raise not_found("user_not_found", "User not found")
    return row


async def update_user(context: AuthContext, conn: AsyncConnection, user_id: str, body: dict[str, Any]) -> dict:
    user = await user_or_404(conn, user_id)
    sets, args = [], []
    if "email" in body and body["email"]:
        email = users.normalize_email(body["email"])
        if not users.valid_email(email):
            raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
        other = await users.fetch_by_email(conn, email)
        if other is not None and str(other["id"]) != str(user["id"]):
            raise unprocessable("email_exists", EMAIL_EXISTS)
        sets.append("email = %s")
        args.append(email)
    hashed = None
    if body.get("password"):
        weak = passwords.weakness(str(body["password"]), int(context.auth.minimum_password_length),
                                  context.auth.password_requirements)
        if weak is not None:
            raise weak
        hashed = await passwords.hash_password(str(body["password"]))
    if body.get("email_confirm") is True:
        sets.append("email_confirmed_at = coalesce(email_confirmed_at, now())")
    if body.get("role"):
        sets.append("role = %s")
        args.append(body["role"])
    if isinstance(body.get("user_metadata"), dict):
        sets.append("raw_user_meta_data = coalesce(raw_user_meta_data, '{}') || %s")
        args.append(json.dumps(body["user_metadata"]))
    if isinstance(body.get("app_metadata"), dict):
        sets.append("raw_app_meta_data = coalesce(raw_app_meta_data, '{}') || %s")
        args.append(json.dumps(body["app_metadata"]))
    banned = ban_until(body.get("ban_duration"))
    if banned is not False:
        sets.append("banned_until = %s")
        args.append(banned)
    if sets or hashed is not None:
        async with conn.transaction():
            if hashed is not None:  # GoTrue's UserUpdate: UpdatePassword(tx, nil), so every session ends
                await users.update_password(conn, user["id"], hashed, None)
            if sets:
                await conn.execute(f"update auth.users set {', '.join(sets)}, updated_at = now() where id = %s",
                                   [*args, user["id"]])
            if "email" in body and body["email"]:
                await conn.execute("update auth.identities set identity_data = identity_data || %s where "
                                   "user_id = %s and provider = 'email'",
                                   (json.dumps({"email": users.normalize_email(body["email"])}), user["id"]))
            if banned:
                await conn.execute("delete from auth.sessions where user_id = %s", (user["id"],))
    return await user_or_404(conn, user_id)


def _obfuscate(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def delete_user(conn: AsyncConnection, user_id: str, soft: bool) -> None:
    user = await user_or_404(conn, user_id)
    if not soft:
        await conn.execute("delete from auth.users where id = %s", (user["id"],))
        return
    # GoTrue's SoftDeleteUser: identities and credentials obfuscated, sessions and factors gone, deleted_at set.
    async with conn.transaction():
        await conn.execute(
            "update auth.users set email = %s, phone = %s, encrypted_password = '', confirmation_token = '',"
            " recovery_token = '', email_change = '', email_change_token_new = '', email_change_token_current = '',"
            " phone_change = '', phone_change_token = '', reauthentication_token = '', deleted_at = now(),"
            " raw_app_meta_data = '{}', raw_user_meta_data = '{}', updated_at = now() where id = %s",
            (_obfuscate(user["email"] or str(user["id"])) if user["email"] else None,
             _obfuscate(user["phone"]) if user["phone"] else None, user["id"]))
        await conn.execute("update auth.identities set provider_id = %s || provider_id, identity_data = '{}'"
                           " where user_id = %s", ("deleted:", user["id"]))
        await conn.execute("delete from auth.sessions where user_id = %s", (user["id"],))
        await conn.execute("delete from auth.mfa_factors where user_id = %s", (user["id"],))
        await conn.execute("delete from auth.one_time_tokens where user_id = %s", (user["id"],))


LINK_TYPES = ("signup", "invite", "magiclink", "recovery", "email_change_current", "email_change_new")


async def generate_link(context: AuthContext, conn: AsyncConnection, body: dict[str, Any],
                        redirect_to: str) -> dict[str, Any]:
    kind = body.get("type")
    if kind not in LINK_TYPES:
        raise bad_request("validation_failed", "Invalid email action link type requested: " + str(kind))
    email = users.normalize_email(body.get("email"))
    if not users.valid_email(email):
        raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
    user = await users.fetch_by_email(conn, email)
    if kind == "signup":
        if user is not None and users.is_confirmed(user):
            raise unprocessable("email_exists", EMAIL_EXISTS)
        if user is None:
            if not body.get("password"):
                raise unprocessable("validation_failed", "Signup requires a valid password")
            user = await create_user(context, conn, {"email": email, "password": body["password"],
                                                     "user_metadata": body.get("data") or {}})
    elif kind == "invite":
        if user is not None and users.is_confirmed(user):
            raise unprocessable("email_exists", EMAIL_EXISTS)
        if user is None:
            user = await create_user(context, conn, {"email": email, "user_metadata": body.get("data") or {}})
    elif user is None:
        raise not_found("user_not_found", "User with this email not found")
    otp = flows.new_otp(int(context.auth.otp_length))
    verification = kind
    if kind.startswith("email_change"):
        new_email = users.normalize_email(body.get("new_email"))
        if not users.valid_email(new_email):
            raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
        target = email if kind == "email_change_current" else new_email
        hashed = flows.token_hash(target, otp)
        column = "email_change_token_current" if kind == "email_change_current" else "email_change_token_new"
        await conn.execute(f"update auth.users set email_change = %s, {column} = %s, email_change_sent_at = now(),"
                           " email_change_confirm_status = 0 where id = %s", (new_email, hashed, user["id"]))
        verification = "email_change"
    else:
        column, sent_column, ott_type = flows.TOKEN_COLUMNS[kind]
        hashed = flows.token_hash(email, otp)
        extra = ", invited_at = now()" if kind == "invite" else ""
        async with conn.transaction():
            await conn.execute(f"update auth.users set {column} = %s, {sent_column} = now(){extra} where id = %s",
                               (hashed, user["id"]))
            await conn.execute(flows.OTT_UPSERT, (user["id"], ott_type, hashed, email))
    fresh = await users.fetch_by_id(conn, user["id"])
    assert fresh is not None
    return {**users.user_json(fresh),
            "action_link": mail.action_link(context.api_url, hashed, verification, redirect_to),
            "email_otp": otp, "hashed_token": hashed, "verification_type": verification,
            "redirect_to": redirect_to}


async def invite(context: AuthContext, conn: AsyncConnection, body: dict[str, Any], redirect_to: str) -> dict:
    email = users.normalize_email(body.get("email"))
    if not users.valid_email(email):
        raise bad_request("email_address_invalid", "Unable to validate email address: invalid format")
    user = await users.fetch_by_email(conn, email)
    if user is not None and users.is_confirmed(user):
        raise unprocessable("email_exists", EMAIL_EXISTS)
    if user is None:
        user = await create_user(context, conn, {"email": email, "user_metadata": body.get("data") or {}})
    await flows.send_token_mail(context, conn, user, "invite", redirect_to)
    fresh = await users.fetch_by_id(conn, user["id"])
    assert fresh is not None
    return users.user_json(fresh)


