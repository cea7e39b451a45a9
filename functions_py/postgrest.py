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

The response settings a function may set (§4) are honoured as PostgREST does: read at the end of the request,
in its transaction; then, after the commit, `response.status` (leading decimal digits) replaces the status and
`response.headers` (a JSON array of single-key objects with string values) is laid over PostgREST's own headers.
A malformed value answers 500 PGRST112 / PGRST111 — after the commit, so the request's writes stay, exactly as
PostgREST computes the response only once its transaction has ended. The block's cursor carries what was set
(`cur.response`); `rpc()` makes the whole call as a client sees it — body, status, headers — and raises
`RequestError` for a status of 400 or more, whether the database raised or a function chose the status:

    answer = rpc_as_user(conn, user_id, "request_generation", {"prompt": "..."})  # Response(status, headers, body)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from functions_py.errors import RequestError
from functions_py.rest.errors import (
    GUC_HEADERS_ERROR,  # noqa: F401 - re-exported for callers of this module
    GUC_STATUS_ERROR,  # noqa: F401
    JSON_CONTENT_TYPE,
    ApiError,
    http_status,
    overlay_headers,
)
from functions_py.rest.errors import decode_response_settings as _decode_response_settings

ANON_ROLE = "anon"
READ_METHODS = frozenset({"GET", "HEAD"})
DEFAULT_SEARCH_PATH = "public, extensions"  # exposed schema, then Supabase's extra_search_path
RESPONSE_SETTINGS = ("response.status", "response.headers")
# The SQLSTATE -> HTTP mapping and the response-settings decoding live in functions_py.rest.errors (one copy,
# shared with the /rest/v1 server).
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
        body={"code": sqlstate, "details": diag.message_detail, "hint": diag.message_hint, "message": message},
        headers=[("Content-Type", JSON_CONTENT_TYPE)],
    )


def _from_api_error(error: ApiError) -> RequestError:
    return RequestError(error.message, status=error.status, code=error.code, details=error.details,
                        hint=error.hint, body=error.body(), headers=[("Content-Type", JSON_CONTENT_TYPE)])


@dataclass
class Response:
    """What a request's function asked of the HTTP response, or (from `rpc`) the whole response a client gets:
    `status` None means PostgREST's own choice; `headers` are (name, value) pairs in order; `body` the parsed
    JSON (None for an empty body) and `text` the raw body."""

    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    text: str = ""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def decode_response_settings(status: str | None, headers: str | None) -> tuple[int | None, list[tuple[str, str]]]:
    """`response.status` and `response.headers` as PostgREST reads them (functions_py.rest.errors); a malformed
    value raises RequestError 500 PGRST112 / PGRST111."""
    try:
        return _decode_response_settings(status, headers)
    except ApiError as error:
        raise _from_api_error(error) from None


class RequestCursor(psycopg.Cursor):
    """The cursor a request block gets; after the block, `response` holds what its functions set."""

    response: Response | None = None


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
    keys = [k for k, _ in settings] + list(RESPONSE_SETTINGS)
    asked: tuple[str | None, str | None] = (None, None)
    cur = RequestCursor(conn)
    try:
        with conn.transaction(), cur:
            before = cur.execute(
                "select " + ", ".join(["current_setting(%s, true)"] * len(keys)), keys
            ).fetchone() if nested and not read_only else None
            if read_only:
                cur.execute("select set_config('transaction_read_only', 'on', true)")
            pairs = [v for kv in settings for v in kv]
            cur.execute("select " + ", ".join(["set_config(%s, %s, true)"] * len(settings)), pairs)
            yield cur
            # PostgREST reads these in its main statement, inside the transaction (Statements.hs).
            # (On a cursor of its own: the block's cursor keeps its last result.)
            asked = conn.execute("select nullif(current_setting('response.status', true), ''),"
                                 " nullif(current_setting('response.headers', true), '')").fetchone()
            if read_only:
                raise psycopg.Rollback()  # a GET never changes anything: roll the savepoint back
            if before is not None:
                # What a committed request leaves behind: the settings read '' (role: the session's).
                restore = [v for k, b in zip(keys, before, strict=True) for v in (k, b or "")]
                conn.execute("select " + ", ".join(["set_config(%s, %s, true)"] * len(keys)), restore)
    except psycopg.Error as error:
        raise request_error(error, role=role) from error
    # Only now, the transaction over (committed), does PostgREST decode them: a bad value fails the response, not
    # the transaction.
    status, extra = decode_response_settings(*asked)
    cur.response = Response(status=status, headers=extra)


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


# ---------------------------------------------------------------------------------------------------------------
# POST /rpc/<function>: the whole call as a client sees it
# ---------------------------------------------------------------------------------------------------------------

_function_overloads = """
select p.proname, array(select format_type(t, null) from unnest(p.proargtypes) as t) as types,
  coalesce(p.proargnames, '{}') as names, coalesce(p.proargmodes::text[], '{}') as modes,
  p.pronargs - p.pronargdefaults as required, p.proretset, p.prorettype = 'pg_catalog.void'::regtype as void
from pg_catalog.pg_proc as p join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
where n.nspname = %s and p.proname = %s and p.prokind = 'f'
"""


def _call_query(conn: psycopg.Connection, schema: str, function: str,
                names: list[str]) -> tuple[sql.Composed, bool, bool]:
    """The SELECT PostgREST's schema cache would build for `function` called with these argument names; and
    whether it returns a set, and whether it returns void. RequestError 404 PGRST202 when no overload fits."""
    for _, types, arg_names, modes, required, returns_set, void in conn.execute(_function_overloads,
                                                                                 (schema, function)).fetchall():
        inputs = [n for i, n in enumerate(arg_names) if not modes or modes[i] in ("i", "b", "v")]
        typed = dict(zip(inputs, types, strict=False))
        if set(names) <= set(typed) and set(inputs[:required]) <= set(names):
            call = sql.SQL("{}.{}({})").format(sql.Identifier(schema), sql.Identifier(function), sql.SQL(", ").join(
                sql.SQL("{} := {}::{}").format(sql.Identifier(n), sql.Placeholder(), sql.SQL(typed[n]))
                for n in names))
            if void:
                return sql.SQL("select {}, 0").format(call), returns_set, True
            agg = sql.SQL("coalesce(json_agg(t), '[]')" if returns_set else "coalesce(json_agg(t) -> 0, 'null')")
            return sql.SQL("select {}::text, count(*) from {} as t").format(agg, call), returns_set, False
    message = f"Could not find the function {schema}.{function}({', '.join(sorted(names))}) in the schema cache"
    raise RequestError(message, status=404, code="PGRST202", details=None, hint=None,
                       body={"code": "PGRST202", "details": None, "hint": None, "message": message},
                       headers=[("Content-Type", JSON_CONTENT_TYPE)])


def rpc(conn: psycopg.Connection, function: str, args: Mapping[str, Any] | None = None, *, role: str,
        claims: Mapping[str, Any] | None = None, method: str = "POST", headers: Mapping[str, str] | None = None,
        schema: str = "public") -> Response:
    """Call `schema.function(**args)` as `POST /rpc/<function>` does and answer what the client receives: the
    body PostgREST builds (a function's JSON as is, a row as an object, a set as an array, void as 204 with no
    body), its status and headers with the function's `response.status` / `response.headers` applied.

    A final status of 400 or more raises RequestError with that status, the parsed body and its code, message,
    details and hint — the same error whether the database raised it or the function set the status."""
    args = dict(args or {})
    query, returns_set, void = _call_query(conn, schema, function, list(args))
    values = [json.dumps(v) if isinstance(v, dict | list) else v for v in args.values()]
    with request(conn, role=role, claims=claims, method=method, path=f"/rpc/{function}", headers=headers) as cur:
        text, rows = cur.execute(query, values).fetchone()
    if void:
        answer = Response(status=204, headers=[], body=None, text="")
    else:
        last = f"0-{rows - 1}" if rows else "*"
        answer = Response(status=200, headers=[("Content-Range", f"{last}/*"), ("Content-Type", JSON_CONTENT_TYPE)],
                          body=json.loads(text), text=text)
    asked = cur.response or Response()
    answer.status = asked.status if asked.status is not None else answer.status
    answer.headers = overlay_headers(answer.headers, asked.headers)
    if answer.status >= 400:
        body = answer.body if isinstance(answer.body, dict) else {}
        raise RequestError(body.get("message") or f"HTTP {answer.status}", status=answer.status,
                           code=body.get("code"), details=body.get("details"), hint=body.get("hint"),
                           body=answer.body, headers=answer.headers)
    return answer


def rpc_as_user(conn: psycopg.Connection, user_id: uuid.UUID | str, function: str,
                args: Mapping[str, Any] | None = None, *, claims: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> Response:
    """`rpc` by a signed-in user (role `authenticated`); `claims` overrides or adds JWT claims."""
    full = user_claims(user_id, **dict(claims or {}))
    return rpc(conn, function, args, role=full.get("role", "authenticated"), claims=full, headers=headers)
