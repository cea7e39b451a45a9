"""PostgREST's per-request protocol, reproduced for tests and for Python code acting as a user.

PostgREST runs every HTTP request as one transaction: `begin` (READ ONLY for GET/HEAD), one
`set_config(k, v, true)` batch (search_path, the role's own settings, role, request.jwt.claims with `role`
always present, request.method, request.path, lower-cased request.headers, request.cookies), the query,
then commit — and answers errors with an HTTP status derived from the SQLSTATE.
See ../shared/reference/postgrest-protocol.md (§3, §6).

    with as_user(conn, user_id) as cur:               # a POST/PATCH/DELETE: changes persist
        cur.execute("insert into public.things ...")
    with as_user(conn, user_id, method="GET") as cur:  # a read: READ ONLY, rolled back
        rows = cur.execute("select ...").fetchall()

Errors raised inside the block come out as `RequestError` carrying the HTTP `status` PostgREST would send.
Inside an open transaction (the `db` test fixture) a request is a savepoint; its settings are cleared
afterwards so the connection reads as it would after a committed request (`auth.uid()` is NULL again).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg

from functions_py.errors import RequestError

ANON_ROLE = "anon"
READ_METHODS = frozenset({"GET", "HEAD"})
DEFAULT_SEARCH_PATH = "public, extensions"  # exposed schema, then Supabase's extra_search_path

# SQLSTATE (exact, or class prefix) -> HTTP status, from PostgREST's mapSQLtoHTTP (Error.hs).
_EXACT_STATUS = {
    "23503": 409, "23505": 409, "25006": 405, "53400": 500, "57P01": 503,
    "42883": 404, "42P01": 404, "42P17": 500,
}
_CLASS_STATUS = {
    "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500, "38": 500, "39": 500,
    "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500, "58": 500, "F0": 500, "HV": 500, "XX": 500,
    "57": 500,
}


def http_status(sqlstate: str, *, message: str = "", role: str | None = None, anon_role: str = ANON_ROLE) -> int:
    """The HTTP status PostgREST answers for a database error with this SQLSTATE, raised under `role`."""
    if sqlstate == "42501":
        return 401 if role == anon_role else 403
    if sqlstate == "P0001":
        return 400
    if sqlstate.startswith("P0"):
        return 500
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    if sqlstate == "21000":
        return 400 if "requires a WHERE clause" in message else 500
    if sqlstate == "22023" and "role" in message and "does not exist" in message:
        return 401
    if sqlstate in _EXACT_STATUS:
        return _EXACT_STATUS[sqlstate]
    return _CLASS_STATUS.get(sqlstate[:2], 400)


def request_error(error: psycopg.Error, *, role: str | None) -> RequestError:
    """Translate a psycopg error into the response PostgREST would give."""
    diag = error.diag
    sqlstate = error.sqlstate or "XX000"
    message = diag.message_primary or str(error)
    return RequestError(
        message,
        status=http_status(sqlstate, message=message, role=role),
        code=sqlstate,
        details=diag.message_detail,
        hint=diag.message_hint,
        body={"code": sqlstate, "message": message, "details": diag.message_detail, "hint": diag.message_hint},
    )


def user_claims(user_id: uuid.UUID | str, *, email: str | None = None, role: str = "authenticated",
                **extra: Any) -> dict[str, Any]:
    """Claims shaped like a Supabase Auth access token for this user (`extra` overrides or adds keys)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "http://127.0.0.1:54321/auth/v1", "aud": "authenticated", "exp": now + 3600, "iat": now,
        "sub": str(user_id), "role": role, "aal": "aal1", "session_id": str(uuid.uuid4()),
        "email": email or "", "phone": "", "is_anonymous": False,
        "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {},
    }
    claims.update(extra)
    return claims


def _role_settings(cur: psycopg.Cursor, role: str) -> list[tuple[str, str]]:
    """The `alter role ... set` values PostgREST applies for the impersonated role (e.g. statement_timeout)."""
    rows = cur.execute(
        "select unnest(s.setconfig) from pg_catalog.pg_db_role_setting as s"
        " join pg_catalog.pg_roles as r on r.oid = s.setrole"
        " where r.rolname = %s and s.setdatabase in (0, (select oid from pg_catalog.pg_database"
        " where datname = current_database()))",
        (role,),
    ).fetchall()
    return [tuple(row[0].split("=", 1)) for row in rows]  # type: ignore[misc]


@contextmanager
def request(conn: psycopg.Connection, *, role: str, claims: Mapping[str, Any] | None = None,
            method: str = "POST", path: str = "/", headers: Mapping[str, str] | None = None,
            cookies: Mapping[str, str] | None = None,
            search_path: str = DEFAULT_SEARCH_PATH) -> Iterator[psycopg.Cursor]:
    """Run the block as one PostgREST request made under `role` with these JWT `claims`."""
    method = method.upper()
    full_claims = dict(claims or {})
    full_claims["role"] = role  # PostgREST always inserts the role claim
    settings: list[tuple[str, str]] = [("search_path", search_path)]
    with conn.cursor() as probe:
        settings += _role_settings(probe, role)
    settings += [
        ("role", role),
        ("request.jwt.claims", json.dumps(full_claims)),
        ("request.method", method),
        ("request.path", path),
        ("request.headers", json.dumps({k.lower(): v for k, v in (headers or {}).items()})),
        ("request.cookies", json.dumps(dict(cookies or {}))),
    ]
    nested = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    read_only = method in READ_METHODS
    keys = [k for k, _ in settings]
    try:
        with conn.transaction(), conn.cursor() as cur:
            before = cur.execute(
                "select " + ", ".join(["current_setting(%s, true)"] * len(keys)), keys
            ).fetchone() if nested and not read_only else None
            if read_only:
                cur.execute("select set_config('transaction_read_only', 'on', true)")
            pairs = [v for kv in settings for v in kv]
            cur.execute("select " + ", ".join(["set_config(%s, %s, true)"] * len(settings)), pairs)
            yield cur
            if read_only:
                raise psycopg.Rollback()  # a GET never changes anything: roll the savepoint back
            if before is not None:
                # What a committed request leaves behind: the settings read '' (role: the session's).
                restore = [v for k, b in zip(keys, before, strict=True) for v in (k, b or "")]
                cur.execute("select " + ", ".join(["set_config(%s, %s, true)"] * len(keys)), restore)
    except psycopg.Error as error:
        raise request_error(error, role=role) from error


def as_user(conn: psycopg.Connection, user_id: uuid.UUID | str, *, claims: Mapping[str, Any] | None = None,
            method: str = "POST", path: str = "/", headers: Mapping[str, str] | None = None):
    """A request by a signed-in user (role `authenticated`); `claims` overrides or adds JWT claims."""
    full = user_claims(user_id, **dict(claims or {}))
    return request(conn, role=full.get("role", "authenticated"), claims=full, method=method, path=path,
                   headers=headers)


def as_anon(conn: psycopg.Connection, *, method: str = "POST", path: str = "/",
            headers: Mapping[str, str] | None = None):
    """A request with the anon key (role `anon`, claims `{"role": "anon"}` plus the key's iss/ref)."""
    return request(conn, role="anon", claims={"iss": "supabase", "ref": "local"}, method=method, path=path,
                   headers=headers)


def as_service(conn: psycopg.Connection, *, method: str = "POST", path: str = "/",
               headers: Mapping[str, str] | None = None):
    """A request with the service-role key (role `service_role`, which bypasses RLS)."""
    return request(conn, role="service_role", claims={"iss": "supabase", "ref": "local"}, method=method,
                   path=path, headers=headers)
