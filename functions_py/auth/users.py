"""auth.users as GoTrue reads and renders them: the queries that load a user with its identities and factors, and
the user JSON (internal/models/user.go tags: omitempty timestamps absent when null, email/phone strings)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

# One row: the user's columns, its identities and its factors as JSON arrays.
USER_SELECT = """
select u.id, u.aud, u.role, u.email, u.encrypted_password, u.email_confirmed_at, u.invited_at,
  u.confirmation_token, u.confirmation_sent_at, u.recovery_token, u.recovery_sent_at,
  u.email_change_token_new, u.email_change, u.email_change_sent_at, u.email_change_token_current,
  u.email_change_confirm_status, u.last_sign_in_at, u.raw_app_meta_data, u.raw_user_meta_data,
  u.created_at, u.updated_at, u.phone, u.phone_confirmed_at, u.phone_change, u.phone_change_sent_at,
  u.confirmed_at, u.banned_until, u.reauthentication_token, u.reauthentication_sent_at, u.deleted_at,
  u.is_anonymous, u.is_sso_user,
  coalesce((select json_agg(json_build_object(
      'identity_id', i.id, 'id', i.provider_id, 'user_id', i.user_id, 'identity_data', i.identity_data,
      'provider', i.provider, 'last_sign_in_at', i.last_sign_in_at, 'created_at', i.created_at,
      'updated_at', i.updated_at, 'email', i.email) order by i.created_at)
    from auth.identities as i where i.user_id = u.id), '[]') as identities,
  coalesce((select json_agg(json_build_object(
      'id', f.id, 'friendly_name', f.friendly_name, 'factor_type', f.factor_type, 'status', f.status,
      'created_at', f.created_at, 'updated_at', f.updated_at) order by f.created_at)
    from auth.mfa_factors as f where f.user_id = u.id), '[]') as factors
from auth.users as u
"""
USER_SELECT_BY_ID = USER_SELECT + " where u.id = %s"
# The caller of an authenticated endpoint in one round trip: the user and whether its claimed session exists.
USER_SELECT_WITH_SESSION = USER_SELECT.replace(
    "from auth.users as u", ", exists(select 1 from auth.sessions as s where s.id = %s::uuid and s.user_id = u.id)"
    " as session_exists\nfrom auth.users as u") + " where u.id = %s"
USER_SELECT_BY_EMAIL = USER_SELECT + (" where lower(u.email) = lower(%s) and u.aud = %s and u.is_sso_user = false"
                                      " and u.deleted_at is null")
USER_SELECT_BY_PHONE = USER_SELECT + " where u.phone = %s and u.aud = %s"

USER_INSERT_ONE = """
insert into auth.users (instance_id, id, aud, role, email, phone, encrypted_password, raw_app_meta_data,
  raw_user_meta_data, created_at, updated_at, is_anonymous, confirmation_token, recovery_token,
  email_change_token_new, email_change, email_change_token_current, phone_change, phone_change_token,
  reauthentication_token, email_confirmed_at, phone_confirmed_at, invited_at, banned_until)
values ('00000000-0000-0000-0000-000000000000', %(id)s, %(aud)s, %(role)s, %(email)s, %(phone)s, %(password)s,
  %(app_metadata)s, %(user_metadata)s, now(), now(), %(is_anonymous)s, '', '', '', '', '', '', '', '',
  %(email_confirmed_at)s, %(phone_confirmed_at)s, %(invited_at)s, %(banned_until)s)
"""
# GoTrue's User.UpdatePassword (internal/models/user.go): a new password means the user may no longer trust what
# was done with the old one, so every outstanding one-time token is spent and the other sessions end (all of them
# when %(keep_session)s is null). Refresh tokens go with their sessions (on delete cascade).
USER_PASSWORD_UPDATE_ONE = """
with u as (
  update auth.users set encrypted_password = %(hashed)s, confirmation_token = '', confirmation_sent_at = null,
    recovery_token = '', recovery_sent_at = null, email_change_token_current = '', email_change_token_new = '',
    email_change_sent_at = null, phone_change_token = '', phone_change_sent_at = null,
    reauthentication_token = '', reauthentication_sent_at = null, updated_at = now()
  where id = %(user_id)s
  returning id
), o as (
  delete from auth.one_time_tokens where user_id = %(user_id)s
)
delete from auth.sessions
where user_id = %(user_id)s and (%(keep_session)s::uuid is null or id <> %(keep_session)s::uuid)
"""
IDENTITY_INSERT_ONE = """
insert into auth.identities (id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at,
  updated_at)
values (gen_random_uuid(), %(provider_id)s, %(user_id)s, %(data)s, %(provider)s, now(), now(), now())
on conflict (provider_id, provider) do nothing
"""


def go_time(value: Any) -> str | None:
    """A timestamp as Go's time.Time marshals it (RFC 3339, fraction without trailing zeros, Z for UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += ("." + f"{value.microsecond:06d}").rstrip("0")
    return text + "Z"


def _identity_json(identity: dict[str, Any]) -> dict[str, Any]:
    out = dict(identity)
    for key in ("last_sign_in_at", "created_at", "updated_at"):
        out[key] = go_time(out.get(key))
    if out.get("last_sign_in_at") is None:
        out.pop("last_sign_in_at", None)
    if not out.get("email"):
        out.pop("email", None)
    return out


def _factor_json(factor: dict[str, Any]) -> dict[str, Any]:
    out = dict(factor)
    out["created_at"], out["updated_at"] = go_time(out["created_at"]), go_time(out["updated_at"])
    return out


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    """The user as GoTrue renders it (field order and omitempty as models.User)."""
    body: dict[str, Any] = {"id": str(row["id"]), "aud": row["aud"] or "", "role": row["role"] or "",
                            "email": row["email"] or ""}

    def stamp(key: str, column: str | None = None) -> None:
        value = go_time(row.get(column or key))
        if value is not None:
            body[key] = value

    stamp("email_confirmed_at")
    stamp("invited_at")
    body["phone"] = row["phone"] or ""
    stamp("phone_confirmed_at")
    stamp("confirmation_sent_at")
    stamp("confirmed_at")
    stamp("recovery_sent_at")
    if row.get("email_change"):
        body["new_email"] = row["email_change"]
    stamp("email_change_sent_at")
    if row.get("phone_change"):
        body["new_phone"] = row["phone_change"]
    stamp("phone_change_sent_at")
    stamp("reauthentication_sent_at")
    stamp("last_sign_in_at")
    body["app_metadata"] = row["raw_app_meta_data"] or {}
    body["user_metadata"] = row["raw_user_meta_data"] or {}
    factors = row.get("factors") or []
    if factors:
        body["factors"] = [_factor_json(f) for f in factors]
    body["identities"] = [_identity_json(i) for i in (row.get("identities") or [])]
    body["created_at"] = go_time(row["created_at"]) or go_time(dt.datetime.now(dt.UTC))
    body["updated_at"] = go_time(row["updated_at"]) or body["created_at"]
    stamp("banned_until")
    stamp("deleted_at")
    body["is_anonymous"] = bool(row["is_anonymous"])
    return body


def is_confirmed(row: dict[str, Any]) -> bool:
    return row.get("email_confirmed_at") is not None


def is_banned(row: dict[str, Any]) -> bool:
    until = row.get("banned_until")
    return until is not None and until > dt.datetime.now(dt.UTC)


async def update_password(conn: AsyncConnection, user_id: uuid.UUID | str, hashed: str,
                          keep_session: str | None) -> None:
    """Store `hashed` as the user's password, spend their one-time tokens and end every session but `keep_session`
    (every one when None), as GoTrue's User.UpdatePassword; one statement, so all of it or none."""
    await conn.execute(USER_PASSWORD_UPDATE_ONE, {"hashed": hashed, "user_id": str(user_id),
                                                  "keep_session": keep_session})


async def fetch_by_id(conn: AsyncConnection, user_id: uuid.UUID | str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(USER_SELECT_BY_ID, (str(user_id),))
        return await cur.fetchone()


async def fetch_with_session(conn: AsyncConnection, user_id: uuid.UUID | str,
                             session_id: str | None) -> dict[str, Any] | None:
    """The user, with `session_exists` telling whether session `session_id` (None: none claimed) is theirs."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(USER_SELECT_WITH_SESSION, (session_id, str(user_id)))
        return await cur.fetchone()


async def fetch_by_email(conn: AsyncConnection, email: str, aud: str = "authenticated") -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(USER_SELECT_BY_EMAIL, (email, aud))
        return await cur.fetchone()


def normalize_email(raw: Any) -> str:
    """The address as GoTrue stores it (trimmed, lower-cased), or '' when absent."""
    return str(raw or "").strip().lower()


# GoTrue's format check (github.com/badoux/checkmail ValidateFormat, called by validateEmail): an atext local part,
# an @, and dot-separated host labels of letters, digits and inner hyphens (a single label, user@localhost, passes).
EMAIL_FORMAT = re.compile(r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                          r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*")


def valid_email(email: str) -> bool:
    return len(email) <= 255 and EMAIL_FORMAT.fullmatch(email) is not None
