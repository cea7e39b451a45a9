"""Sessions and tokens as GoTrue keeps them (internal/models/sessions.go, refresh_token.go, internal/tokens):
one auth.sessions row per sign-in with its amr claims, a chain of opaque refresh tokens per session (each refresh
revokes the token and issues a child), the reuse interval, reuse detection that revokes the session's family,
`not_after`, and logout scopes. Access tokens are signed HS256 with the project's secret after the custom access
token hook (when configured) has had its say."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import secrets
import string
import time
import uuid
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from functions_py.auth import claims as claim_shape
from functions_py.auth.context import AuthContext
from functions_py.auth.errors import AuthError, bad_request, forbidden
from functions_py.auth.users import USER_SELECT, is_banned, user_json

INSTANCE_ID = "00000000-0000-0000-0000-000000000000"
REFRESH_ALPHABET = string.ascii_lowercase + string.digits

SESSION_CREATE_ONE = """
with s as (
  insert into auth.sessions (id, user_id, created_at, updated_at, aal, not_after, user_agent, ip)
  values (%(session_id)s, %(user_id)s, now(), now(), 'aal1', %(not_after)s, %(user_agent)s, %(ip)s)
  returning id
), c as (
  insert into auth.mfa_amr_claims (session_id, created_at, updated_at, authentication_method, id)
  select id, now(), now(), %(method)s, gen_random_uuid() from s
), t as (
  insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
  select %(instance)s, %(token)s, %(user_id)s::text, false, now(), now(), null, id from s
  returning token
), u as (
  update auth.users set last_sign_in_at = now() where id = %(user_id)s
  returning last_sign_in_at
), a as (
  insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
  values (%(instance)s, gen_random_uuid(), json_build_object('actor_id', %(user_id)s::text, 'actor_username',
    %(actor)s::text, 'actor_via_sso', false, 'log_type', 'account', 'action', 'login', 'traits',
    json_build_object('provider', %(provider)s::text)), now(), coalesce(%(ip)s::text, ''))
)
select (select token from t) as token, (select last_sign_in_at from u) as last_sign_in_at
"""
REFRESH_SELECT_ONE = """
select rt.id as rt_id, rt.token as rt_token, rt.revoked as rt_revoked, rt.updated_at as rt_updated_at,
  rt.session_id, s.not_after, s.aal,
  (select coalesce(json_agg(json_build_array(c.authentication_method,
      extract(epoch from c.updated_at))), '[]')
   from auth.mfa_amr_claims as c where c.session_id = s.id) as amr,
  usr.*
from auth.refresh_tokens as rt
join auth.sessions as s on s.id = rt.session_id
cross join lateral (""" + USER_SELECT + """ where u.id = s.user_id) as usr
where rt.token = %s
"""
REFRESH_SWAP_ONE = """
with old as (
  update auth.refresh_tokens set revoked = true, updated_at = now()
  where id = %(id)s and revoked = false
  returning session_id, token, user_id
), new as (
  insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
  select %(instance)s, %(token)s, user_id, false, now(), now(), token, session_id from old
  returning token
), s as (
  update auth.sessions set refreshed_at = (now() at time zone 'utc'), updated_at = now()
  where id = (select session_id from old)
)
select token from new
"""
# The common refresh in one statement: rotate the presented token when it is active, its session not past
# not_after and its user not banned, and answer the new token with the user, the session's amr claims and aal.
# No row: one of those did not hold, and `refresh` looks closer to say which.
REFRESH_ROTATE_ONE = """
with old as (
  update auth.refresh_tokens as rt set revoked = true, updated_at = now()
  from auth.sessions as s
  where rt.token = %(presented)s and rt.revoked = false and s.id = rt.session_id
    and (s.not_after is null or s.not_after > now())
    and not exists (select 1 from auth.users as b where b.id = s.user_id and b.banned_until > now())
  returning rt.session_id, rt.token, rt.user_id, s.user_id as owner
), new as (
  insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
  select %(instance)s, %(token)s, user_id, false, now(), now(), token, session_id from old
  returning token, session_id
), touched as (
  update auth.sessions set refreshed_at = (now() at time zone 'utc'), updated_at = now()
  where id = (select session_id from old)
), audited as (
  insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
  select %(instance)s, gen_random_uuid(), json_build_object('actor_id', owner::text, 'actor_username',
    (select coalesce(email, phone, '') from auth.users where id = owner), 'actor_via_sso', false,
    'log_type', 'token', 'action', 'token_refreshed'), now(), coalesce(%(ip)s::text, '')
  from old
)
select new.token as new_token, new.session_id,
  (select coalesce(json_agg(json_build_array(c.authentication_method,
      extract(epoch from c.updated_at))), '[]')
   from auth.mfa_amr_claims as c where c.session_id = new.session_id) as amr,
  usr.*
from new
cross join lateral (""" + USER_SELECT + """ where u.id = (select owner from old)) as usr
"""
# A revoked token presented again: the session row is locked so concurrent reuses decide one after the other.
SESSION_LOCK_ONE = "select 1 from auth.sessions where id = %s for update"
# The session's currently active token (GoTrue's FindCurrentlyActiveRefreshToken: the newest non-revoked one).
REFRESH_ACTIVE_SELECT_ONE = """
select token, parent from auth.refresh_tokens where session_id = %s and revoked = false order by id desc limit 1
"""
# GrantRefreshTokenSwap of an already revoked token (reused within the interval): it is touched again (pop's
# UpdateOnly sets updated_at) and a new active child is issued.
REFRESH_REUSE_SWAP_ONE = """
with old as (
  update auth.refresh_tokens set revoked = true, updated_at = now()
  where token = %(presented)s
  returning session_id, token, user_id
), new as (
  insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
  select %(instance)s, %(token)s, user_id, false, now(), now(), token, session_id from old
  returning token
), s as (
  update auth.sessions set refreshed_at = (now() at time zone 'utc'), updated_at = now()
  where id = (select session_id from old)
)
select token from new
"""
# RevokeTokenFamily: the session's still active tokens; tokens revoked earlier keep their updated_at.
REFRESH_FAMILY_REVOKE = """
update auth.refresh_tokens set revoked = true, updated_at = now() where session_id = %s and revoked = false
"""
SESSION_AMR_SELECT = """
select s.id, s.aal, s.not_after,
  (select coalesce(json_agg(json_build_array(c.authentication_method,
      extract(epoch from c.updated_at))), '[]')
   from auth.mfa_amr_claims as c where c.session_id = s.id) as amr
from auth.sessions as s where s.id = %s
"""
AMR_CLAIM_UPSERT = """
insert into auth.mfa_amr_claims (session_id, created_at, updated_at, authentication_method, id)
values (%s, now(), now(), %s, gen_random_uuid())
on conflict (session_id, authentication_method) do update set updated_at = now()
"""
SESSION_TOKEN_ROTATE = """
with old as (
  update auth.refresh_tokens set revoked = true, updated_at = now()
  where session_id = %(session_id)s and revoked = false
  returning token, user_id
), new as (
  insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
  values (%(instance)s, %(token)s, %(user_id)s::text, false, now(), now(),
          (select token from old order by token limit 1), %(session_id)s)
  returning token
)
select token from new
"""
AUDIT_LOGOUT = """
insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
select %(instance)s, gen_random_uuid(), json_build_object('actor_id', u.id::text, 'actor_username',
  coalesce(u.email, u.phone, ''), 'actor_via_sso', false, 'log_type', 'account', 'action', 'logout'), now(), ''
from auth.users as u where u.id = %(user_id)s
"""
SESSIONS_DELETE_ALL = "delete from auth.sessions where user_id = %s"
SESSIONS_DELETE_ONE = "delete from auth.sessions where id = %s"
SESSIONS_DELETE_OTHERS = "delete from auth.sessions where user_id = %s and id <> %s"

HOOK_URI = re.compile(r"^pg-functions://[^/]+/(?P<schema>[^/]+)/(?P<function>[^/]+)$")


def new_refresh_token() -> str:
    """GoTrue's v1 refresh token: 12 random lower-case alphanumerics."""
    return "".join(secrets.choice(REFRESH_ALPHABET) for _ in range(12))


def _client(request: Any) -> tuple[str | None, str | None]:
    if request is None:
        return None, None
    host = request.client.host if request.client else None
    return request.headers.get("user-agent"), host


async def _run_hook(context: AuthContext, conn: AsyncConnection, user_id: str, token_claims: dict[str, Any],
                    method: str) -> dict[str, Any]:
    """The custom access token hook's claims, run as Supabase runs it: `<schema>.<function>(event jsonb)` as
    supabase_auth_admin, with {user_id, claims, authentication_method}; its `claims` replace ours."""
    uri = context.auth.hook_custom_access_token_uri or ""
    match = HOOK_URI.match(uri)
    if not match:
        raise AuthError(500, "unexpected_failure", f"Invalid custom access token hook URI {uri!r}: expected "
                                                   "pg-functions://postgres/<schema>/<function>")
    event = {"user_id": user_id, "claims": token_claims, "authentication_method": method}
    query = sql.SQL("select {}.{}(%s::jsonb)").format(sql.Identifier(match["schema"]),
                                                      sql.Identifier(match["function"]))
    try:
        async with conn.transaction():
            await conn.execute("set local role supabase_auth_admin")
            row = await (await conn.execute(query, (json.dumps(event),))).fetchone()
            await conn.execute("reset role")
    except Exception as error:  # noqa: BLE001 - any database error is the hook failing, as GoTrue reports it
        raise AuthError(500, "unexpected_failure",
                        f"Error running hook URI: {uri} ({type(error).__name__})") from None
    output = row[0] if row else None
    if isinstance(output, str):
        output = json.loads(output)
    if not isinstance(output, dict):
        raise AuthError(500, "unexpected_failure", "Invalid output from custom access token hook: expected an object")
    if isinstance(output.get("error"), dict):
        failure = output["error"]
        raise AuthError(int(failure.get("http_code") or 500), "unexpected_failure",
                        str(failure.get("message") or "Hook rejected the request"))
    result = output.get("claims")
    if not isinstance(result, dict) or any(key not in result for key in claim_shape.REQUIRED_HOOK_CLAIMS):
        raise AuthError(500, "unexpected_failure",
                        "output claims do not conform to the expected schema: the hook must return claims with "
                        + ", ".join(claim_shape.REQUIRED_HOOK_CLAIMS))
    return result


async def sign_access_token(context: AuthContext, conn: AsyncConnection, user: dict[str, Any], session_id: str,
                            amr: list[tuple[str, float]], method: str) -> tuple[str, int]:
    """(access token, expires_at) for `user` in session `session_id` with amr claims `amr`."""
    issued = int(time.time())
    token_claims = claim_shape.access_token_claims(
        user_id=str(user["id"]), aud=user["aud"], role=user["role"], email=user["email"] or "",
        phone=user["phone"] or "", app_metadata=user["raw_app_meta_data"] or {},
        user_metadata=user["raw_user_meta_data"] or {}, session_id=session_id,
        amr=claim_shape.amr_entries(amr), aal=claim_shape.aal_for([m for m, _ in amr]),
        is_anonymous=user["is_anonymous"], issuer=context.issuer, issued_at=issued,
        expires_in_s=context.jwt_expiry_s)
    if context.auth.hook_custom_access_token_enabled:
        token_claims = await _run_hook(context, conn, str(user["id"]), token_claims, method)
    return context.sign(token_claims), int(token_claims.get("exp", issued + context.jwt_expiry_s))


def token_response(context: AuthContext, access_token: str, expires_at: int, refresh_token: str,
                   user: dict[str, Any]) -> dict[str, Any]:
    """AccessTokenResponse (internal/api/token.go), keys in its order."""
    return {"access_token": access_token, "token_type": "bearer", "expires_in": context.jwt_expiry_s,
            "expires_at": expires_at, "refresh_token": refresh_token, "user": user_json(user)}


async def start_session(context: AuthContext, conn: AsyncConnection, user: dict[str, Any], method: str,
                        request: Any = None) -> dict[str, Any]:
    """A new session for `user` signed in by `method` (password, otp, anonymous, …): the token response."""
    session_id = str(uuid.uuid4())
    refresh = new_refresh_token()
    timebox = int(context.auth.sessions_timebox_s or 0)
    not_after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timebox) if timebox else None
    user_agent, ip = _client(request)
    # One statement is atomic on its own; with the hook, the session and the hook's reads share a transaction so a
    # hook refusal leaves no session behind.
    async with _atomic(context, conn):
        row = await (await conn.execute(SESSION_CREATE_ONE, {
            "session_id": session_id, "user_id": str(user["id"]), "not_after": not_after,
            "user_agent": user_agent, "ip": ip, "method": method, "instance": INSTANCE_ID, "token": refresh,
            "actor": user.get("email") or user.get("phone") or "",
            "provider": "anonymous" if user.get("is_anonymous") else "email",
        })).fetchone()
        user = {**user, "last_sign_in_at": row[1]}
        access, expires_at = await sign_access_token(context, conn, user, session_id, [(method, time.time())],
                                                     method)
    return token_response(context, access, expires_at, refresh, user)


def _atomic(context: AuthContext, conn: AsyncConnection) -> Any:
    if context.auth.hook_custom_access_token_enabled or conn.info.transaction_status != 0:
        return conn.transaction()
    return contextlib.nullcontext()


async def refresh(context: AuthContext, conn: AsyncConnection, presented: str,
                  ip: str | None = None) -> dict[str, Any]:
    """POST /token?grant_type=refresh_token: rotate `presented` (module docstring)."""
    if not context.auth.hook_custom_access_token_enabled:
        token = new_refresh_token()
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(REFRESH_ROTATE_ONE, {"presented": presented, "token": token, "instance": INSTANCE_ID,
                                                   "ip": ip})
            rotated = await cur.fetchone()
        if rotated is not None:
            amr = [(method, float(stamp)) for method, stamp in rotated["amr"]]
            access, expires_at = await sign_access_token(context, conn, rotated, str(rotated["session_id"]), amr,
                                                         "token_refresh")
            return token_response(context, access, expires_at, token, rotated)
    for _ in range(3):
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(REFRESH_SELECT_ONE, (presented,))
            row = await cur.fetchone()
        if row is None:
            raise bad_request("refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")
        if is_banned(row):
            raise bad_request("user_banned", "Invalid Refresh Token: User Banned")
        if row["not_after"] is not None and dt.datetime.now(dt.UTC) > row["not_after"]:
            raise bad_request("session_expired", "Invalid Refresh Token: Session Expired")
        session_id = str(row["session_id"])
        amr = [(method, float(stamp)) for method, stamp in row["amr"]]
        if row["rt_revoked"]:
            reused = await _reuse(context, conn, row, presented, session_id, amr)
            if reused is None:
                raise bad_request("refresh_token_already_used", "Invalid Refresh Token: Already Used")
            return reused
        token = new_refresh_token()
        async with conn.transaction():
            swapped = await (await conn.execute(REFRESH_SWAP_ONE, {"id": row["rt_id"], "token": token,
                                                                    "instance": INSTANCE_ID})).fetchone()
            if swapped is None:
                continue  # rotated concurrently: look again and take the reuse path
            access, expires_at = await sign_access_token(context, conn, row, session_id, amr, "token_refresh")
        return token_response(context, access, expires_at, token, row)
    raise bad_request("refresh_token_already_used", "Invalid Refresh Token: Already Used")


async def _reuse(context: AuthContext, conn: AsyncConnection, row: dict[str, Any], presented: str,
                 session_id: str, amr: list[tuple[str, float]]) -> dict[str, Any] | None:
    """A revoked token presented again, as GoTrue's RefreshTokenGrant: the parent of the session's active token gets
    that token back at any time (the client lost the answer to its last refresh); any other revoked token is
    rotated within refresh_token_reuse_interval of its last update; after it the session's family is revoked (with
    enable_refresh_token_rotation) and None is answered, committed, for the caller's refresh_token_already_used."""
    async with conn.transaction():
        await conn.execute(SESSION_LOCK_ONE, (session_id,))
        active = await (await conn.execute(REFRESH_ACTIVE_SELECT_ONE, (session_id,))).fetchone()
        if active is not None and active[1] == presented:
            issued = active[0]
        else:
            window = row["rt_updated_at"] + dt.timedelta(seconds=int(context.auth.refresh_token_reuse_interval))
            if dt.datetime.now(dt.UTC) > window:
                if context.auth.enable_refresh_token_rotation:
                    await conn.execute(REFRESH_FAMILY_REVOKE, (session_id,))
                return None
            issued = new_refresh_token()
            await conn.execute(REFRESH_REUSE_SWAP_ONE, {"presented": presented, "token": issued,
                                                        "instance": INSTANCE_ID})
        access, expires_at = await sign_access_token(context, conn, row, session_id, amr, "token_refresh")
    return token_response(context, access, expires_at, issued, row)


async def add_method(context: AuthContext, conn: AsyncConnection, user: dict[str, Any], session_id: str,
                     method: str) -> dict[str, Any]:
    """Record `method` (totp after an MFA verify) on the session, set its aal, rotate its refresh token and answer
    a new token response (GoTrue's updateMFASessionAndClaims)."""
    async with conn.transaction():
        await conn.execute(AMR_CLAIM_UPSERT, (session_id, method))
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(SESSION_AMR_SELECT, (session_id,))
            session = await cur.fetchone()
        if session is None:
            raise forbidden("session_not_found", "Session from session_id claim in JWT does not exist")
        amr = [(m, float(stamp)) for m, stamp in session["amr"]]
        aal = claim_shape.aal_for([m for m, _ in amr])
        await conn.execute("update auth.sessions set aal = %s, updated_at = now() where id = %s", (aal, session_id))
        token = new_refresh_token()
        await conn.execute(SESSION_TOKEN_ROTATE, {"session_id": session_id, "token": token,
                                                  "instance": INSTANCE_ID, "user_id": str(user["id"])})
        access, expires_at = await sign_access_token(context, conn, user, session_id, amr, method)
    return token_response(context, access, expires_at, token, user)


async def logout(conn: AsyncConnection, user_id: str, session_id: str | None, scope: str) -> None:
    """POST /logout?scope=global|local|others (internal/api/logout.go)."""
    await conn.execute(AUDIT_LOGOUT, {"instance": INSTANCE_ID, "user_id": user_id})
    if scope == "global" or not session_id:
        await conn.execute(SESSIONS_DELETE_ALL, (user_id,))
    elif scope == "local":
        await conn.execute(SESSIONS_DELETE_ONE, (session_id,))
    else:
        await conn.execute(SESSIONS_DELETE_OTHERS, (user_id, session_id))
