"""The RLS matrix (tests/test_rls_matrix.py) asked again through /rest/v1 over HTTP instead of in-process.

The same world (built by test_rls_matrix's own `world` builder, committed once in a module database) and the same
expected grid. Each cell's SQL statement is restated as the PostgREST request a client would send: select -> GET
with the statement's filters, update -> PATCH, delete -> DELETE, insert -> POST (when the statement's values are
plain parameters or literals). Writes carry `Prefer: tx=rollback` (the gateway runs with db-tx-end =
commit-allow-override), so every cell sees the same world, and `count=exact` with `return=minimal`, so the rows
affected are read from Content-Range as a client would. Storage rows are storage-api's, not PostgREST's, and
statements with expressions a URL cannot carry are left to the in-process matrix; the rest is every cell.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from functions_py import tokens
from tests import test_rls_matrix as matrix
from tests.api_harness import ANON_KEY, SECRET, SERVICE_KEY, running_api

TARGET = r"(?P<col>\w+) = (?:(?P<any>any\()?%\((?P<param>\w+)\)s\)?|'(?P<lit>[^']*)')"
SELECT = re.compile(rf"select (?P<cols>[\w, ]+) from public\.(?P<table>\w+)(?: where {TARGET})?$")
UPDATE = re.compile(rf"update public\.(?P<table>\w+) set (?P<set>\w+) = (?P<value>'[^']*'|true|false)"
                    rf" where {TARGET}(?P<extra> and role <> 'owner')?$")
DELETE = re.compile(rf"delete from public\.(?P<table>\w+) where {TARGET}$")
INSERT = re.compile(r"insert into public\.(?P<table>\w+) \((?P<cols>[\w, ]+)\) values \((?P<values>.*)\)$")


def _filter(match: re.Match, params: dict) -> str:
    if not match.group("col"):
        return ""
    if match.group("lit") is not None:
        return f"&{match.group('col')}=eq.{match.group('lit')}"
    value = params[match.group("param")]
    if match.group("any"):
        return f"&{match.group('col')}=in.({','.join(str(v) for v in value)})"
    return f"&{match.group('col')}=eq.{value}"


def _literal(text: str, params: dict):
    text = text.strip()
    if text.startswith("%("):
        value = params[text[2:-2]]
        return str(value) if isinstance(value, uuid.UUID) else value
    if text.startswith("'"):
        return text[1:-1]
    return {"true": True, "false": False}.get(text, text)


def rest_request(table: str, command: str, params: dict) -> tuple[str, str, object] | None:
    """(method, path, json body) restating the matrix statement, or None when a URL cannot say it."""
    statement = " ".join(matrix.STATEMENTS[table][command].split())
    if command == "select" and (m := SELECT.match(statement)):
        return "GET", f"/{m.group('table')}?select={m.group('cols').split(',')[0].strip()}{_filter(m, params)}", None
    if command == "update" and (m := UPDATE.match(statement)):
        extra = "&role=neq.owner" if m.group("extra") else ""
        path = f"/{m.group('table')}?{_filter(m, params)[1:]}{extra}"
        return "PATCH", path, {m.group("set"): _literal(m.group("value"), params)}
    if command == "delete" and (m := DELETE.match(statement)):
        return "DELETE", f"/{m.group('table')}?{_filter(m, params)[1:]}", None
    if command == "insert" and (m := INSERT.match(statement)):
        columns = [c.strip() for c in m.group("cols").split(",")]
        if "(" in re.sub(r"%\(\w+\)s|'[^']*'", "", m.group("values")):
            return None  # an expression (sha256(...), a subquery): not something a JSON body carries
        values = re.findall(r"%\(\w+\)s|'[^']*'|[^,\s]+", m.group("values"))
        if len(columns) != len(values) or any(re.fullmatch(r"[a-z_]+", v) and v not in ("true", "false")
                                              for v in values):
            return None  # current_date and the like
        return "POST", f"/{m.group('table')}", dict(zip(columns, (_literal(v, params) for v in values), strict=True))
    return None


def _cells() -> Iterator[tuple[str, str, str, str]]:
    for table, command, actor, scope in matrix.EXPECTED:
        if not table.startswith("storage:") and rest_request(table, command, _SAMPLE_PARAMS) is not None:
            yield table, command, actor, scope


_SAMPLE_PARAMS = {name: [uuid.uuid4()] if name in ("member_ids", "conversations") else uuid.uuid4()
                  for name in ("org", "member_ids", "project", "newcomer", "new_slug", "new_email", "new_plan", "tag",
                               "conversations", "group_conversation", "extra_member")}
CELLS = list(_cells())


@pytest.fixture(scope="module")
def served(pg_server, template_db):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    try:
        with psycopg.connect(url, autocommit=False) as conn:
            def make_user(email: str | None = None, **meta: object) -> uuid.UUID:
                user_id = uuid.uuid4()
                conn.execute(
                    "insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data,"
                    " raw_user_meta_data, email_confirmed_at, created_at, updated_at)"
                    " values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated', 'authenticated', %s,"
                    " '{\"provider\": \"email\", \"providers\": [\"email\"]}', %s, now(), now(), now())",
                    (user_id, email or f"user-{user_id.hex[:8]}@example.com", psycopg.types.json.Jsonb(meta)))
                return user_id

            world = matrix.world.__wrapped__(conn, make_user)
            conn.commit()
        settings = {"rest.db_tx_end": "commit-allow-override"}
        with running_api(url, settings=settings) as api, \
                httpx.Client(base_url=f"{api.url}/rest/v1", timeout=30) as client:
            yield client, world
    finally:
        pg_server.drop_database(name)


def _headers(world, actor: str, method: str) -> dict[str, str]:
    if actor == "anon":
        bearer = ANON_KEY
    elif actor == "service_role":
        bearer = SERVICE_KEY
    else:
        bearer = tokens.user_token(world.users[actor], SECRET)
    headers = {"apikey": ANON_KEY, "Authorization": f"Bearer {bearer}"}
    if method != "GET":
        headers["Prefer"] = "return=minimal, count=exact, tx=rollback"
    return headers


def outcome(client: httpx.Client, world, actor: str, table: str, command: str, scope: str):
    method, path, body = rest_request(table, command, world.params(scope))
    answer = client.request(method, path, json=body, headers=_headers(world, actor, method))
    if answer.status_code >= 400:
        return matrix.Status(answer.status_code)
    if method == "GET":
        return len(answer.json())
    total = answer.headers.get("content-range", "").rpartition("/")[2]
    return int(total) if total.isdigit() else f"no count in Content-Range {answer.headers.get('content-range')!r}"


@pytest.mark.parametrize(("table", "command", "actor", "scope"),
                         [pytest.param(*cell, id="-".join(cell)) for cell in CELLS])
def test_rls_matrix_over_http(served, table, command, actor, scope):
    client, world = served
    expected = matrix.EXPECTED[(table, command, actor, scope)]
    actual = outcome(client, world, actor, table, command, scope)
    assert actual == expected, (
        f"{actor} sending {command} on {table} against the {scope} organization's rows over /rest/v1"
        f" should get {expected!r} (rows when a number), but got {actual!r}")


def test_most_of_the_matrix_is_asked_over_http():
    public_cells = [cell for cell in matrix.EXPECTED if not cell[0].startswith("storage:")]
    assert len(CELLS) >= len(public_cells) * 0.6, f"only {len(CELLS)} of {len(public_cells)} cells restated"
