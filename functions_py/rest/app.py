"""The /rest/v1 ASGI app: one HTTP request → PostgREST's answer.

Per request (reference: postgrest-protocol.md §3): authenticate (auth.py), pick the schema (Accept-Profile /
Content-Profile), plan against the schema cache and build the SQL (plan.py, sql_builder.py), then one transaction
on a pooled connection, pipelined: `BEGIN [READ ONLY]`, one `select set_config(…)` batch (search_path, the role's
own settings, role, request.jwt.claims, request.method, request.path, request.headers, request.cookies,
timezone), the pre-request function, the statement; `COMMIT` (or `ROLLBACK` for tx=rollback, a failed singular
or max-affected check). The statement returns the response settings, which override status and headers.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import psycopg
from psycopg import pq

from functions_py.rest import errors, media, preferences, query_params, wire
from functions_py.rest.auth import Authenticator
from functions_py.rest.errors import ApiError
from functions_py.rest.plan import ReadNode, find_function
from functions_py.rest.query_params import Field, QueryParams, SelectItem
from functions_py.rest.schema_cache import Function, SchemaCache, Table, ident
from functions_py.rest.sql_builder import Builder, Query, body_sql, q, qualified

log = logging.getLogger("supakit.rest")

RESPONSE_SETTINGS_SQL = ("nullif(current_setting('response.headers', true), '') AS response_headers, "
                         "nullif(current_setting('response.status', true), '') AS response_status")
CSV_BODY = ("(SELECT coalesce(string_agg(a.k, ','), '')  FROM (    SELECT json_object_keys(r)::text as k    "
            "FROM (       SELECT row_to_json(hh) as r from pgrst_source as hh limit 1    ) s  ) a) || '\n' || "
            "coalesce(string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), '\n'), '')")
READ_METHODS = frozenset({"GET", "HEAD"})
# A Content-Location longer than this is left out: clients refuse response header lines above 64 KiB.
MAX_LOCATION = 16384


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    raw_headers: list[tuple[str, str]]
    body: bytes = b""
    payload: str | None = None                 # a write's body as a JSON array text

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.raw_headers if k == name]


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class Statement:
    """What to run and how to answer: the SQL, the access mode, and what the answer needs."""

    query: Query
    read_only: bool
    kind: str                                  # read, create, update, delete, upsert, call
    media: media.Media
    offset: int = 0
    count: str | None = None
    count_query: Query | None = None
    table_name: str = ""
    pk: tuple[str, ...] = ()
    headers_only: bool = False
    function: Function | None = None
    location: str | None = None                # Content-Location of a read
    plan: tuple[str, tuple[str, ...], str] | None = None  # EXPLAIN (format, options, for-media) instead
    payload_at: int | None = None              # a write's body: the index of its parameter (PAYLOAD when built)
    check_keys: bool = False                   # a cached write re-checks that every row has the same keys
    sql: str = ""                              # query.text(), joined once

    def __post_init__(self) -> None:
        self.sql = self.query.text()
        self.payload_at = next((i for i, p in enumerate(self.query.params) if p is PAYLOAD), None)

    def params(self, payload: str | None) -> list[Any]:
        """The parameters, with a write's body in its slot."""
        if self.payload_at is None:
            return self.query.params
        params = list(self.query.params)
        params[self.payload_at] = payload
        return params


class _Payload:
    """Where a write's body goes among a statement's parameters: a statement is built once per request shape
    (table, query string, Prefer, Accept, the body's keys) and cached; each request puts its body in the slot."""

    def __repr__(self) -> str:
        return "PAYLOAD"


PAYLOAD = _Payload()


class RestApp:
    """The ASGI app; `cache` is swapped whole by the service when the schema reloads."""

    def __init__(self, context: Any) -> None:
        self.context = context
        settings = context.settings
        self.rest = settings.rest
        self.max_body = settings.api.max_body_bytes
        self.schemas: list[str] = list(self.rest.db_schemas)
        self.anon_role = self.rest.db_anon_role or None
        self.auth = Authenticator(context.verifier, anon_role=self.anon_role, audience=self.rest.jwt_aud,
                                  role_claim_key=self.rest.jwt_role_claim_key or ".role")
        self.cache: SchemaCache | None = None
        self.pool = context.pool
        self.tx_end = self.rest.db_tx_end
        self.max_rows = self.rest.db_max_rows or None
        self._plans: OrderedDict[tuple, Statement] = OrderedDict()
        self._plans_for: int = 0
        self._heads: dict[tuple, tuple[str, list[str]]] = {}
        self._prefers: dict[tuple, preferences.Preferences] = {}

    # -- ASGI ------------------------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        headers = dict(raw)  # a repeated header: the last one (request.all gives every value)
        request = Request(scope["method"].upper(), scope["path"], scope.get("query_string", b"").decode("latin-1"),
                          headers, raw)
        try:
            request.body = await self._read_body(receive, headers)
            answer = await self.handle(request)
        except ApiError as error:
            answer = self.error_answer(error)
        except Exception:  # noqa: BLE001 - a bug must answer 500, not drop the connection
            log.exception("unexpected error serving %s %s", request.method, request.path)
            answer = self.error_answer(ApiError(500, "PGRSTX00", "Internal server error"))
        out = [(b"content-length", str(len(answer.body)).encode())]
        for k, v in answer.headers:
            out.append((k.lower().encode("latin-1"), v.encode("latin-1", "replace")))
        await send({"type": "http.response.start", "status": answer.status, "headers": out})
        await send({"type": "http.response.body", "body": b"" if request.method == "HEAD" else answer.body})

    async def _read_body(self, receive: Any, headers: dict[str, str]) -> bytes:
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise self._too_large()
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    def _too_large(self) -> ApiError:
        return ApiError(413, "PGRST413", "Payload Too Large",
                        f"The request body is larger than {self.max_body} bytes",
                        "Send a smaller body, or raise SUPAKIT_API_MAX_BODY_BYTES.")

    @staticmethod
    def error_answer(error: ApiError) -> Answer:
        headers = [("Content-Type", errors.JSON_CONTENT_TYPE), ("Proxy-Status", f"PostgREST; error={error.code}")]
        headers += error.headers
        return Answer(error.status, headers, error.payload())

    # -- routing ---------------------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Answer:
        cache = self.cache
        if cache is None:
            raise errors.schema_cache_not_ready()
        role, claims = self.auth.authenticate(request.header("authorization"))
        schema, negotiated = self._schema(request)
        segments = [unquote(s) for s in request.path.split("/") if s != ""]
        method = request.method
        if method == "OPTIONS":
            return self._options(cache, schema, segments)
        if not segments:
            from functions_py.rest.openapi import openapi_answer

            if method not in READ_METHODS:
                raise errors.unsupported_method(method)
            headers, body = await openapi_answer(self, cache, schema, role, request, negotiated)
            return Answer(200, headers, body)
        prefer = self._preferences(request, cache)
        plan = _plan_media(request.header("accept")) if self.rest.db_plan_enabled else None
        if plan is not None:
            request.headers["accept"] = plan[2]
        if segments[0] == "rpc" and len(segments) == 2:
            statement = self._call(cache, schema, segments[1], request, prefer)
        elif len(segments) == 1:
            statement = self._crud(cache, schema, segments[0], request, prefer)
        else:
            raise errors.invalid_path()
        if plan is not None:
            statement = Statement(**{**statement.__dict__, "plan": plan})
        return await self._run(statement, request, role, claims, schema, negotiated, prefer)

    def _preferences(self, request: Request, cache: SchemaCache) -> preferences.Preferences:
        """The request's `Prefer` headers parsed, remembered by their text (clients send the same few)."""
        values = tuple(request.all("prefer")) if "prefer" in request.headers else ()
        key = (id(cache), values)
        found = self._prefers.get(key)
        if found is None:
            found = preferences.parse(list(values), tx_override=self.tx_end in ("commit-allow-override",
                                                                                "rollback-allow-override"),
                                      timezones=cache.timezones or None)
            if len(self._prefers) > 1000:
                self._prefers.clear()
            self._prefers[key] = found
        return found

    def _schema(self, request: Request) -> tuple[str, bool]:
        name = "accept-profile" if request.method in ("GET", "HEAD") else "content-profile"
        asked = request.header(name)
        negotiated = len(self.schemas) > 1
        if asked is None:
            return self.schemas[0], negotiated
        if asked not in self.schemas:
            raise errors.unacceptable_schema(asked, self.schemas)
        return asked, negotiated

    def _options(self, cache: SchemaCache, schema: str, segments: list[str]) -> Answer:
        if not segments:
            allow = "OPTIONS,GET,HEAD"
        elif segments[0] == "rpc" and len(segments) == 2:
            fns = cache.functions.get((schema, segments[1]))
            if not fns:
                raise errors.invalid_path()
            allow = "OPTIONS,POST" if fns[0].volatility == "v" else "OPTIONS,GET,HEAD,POST"
        else:
            table = self._table(cache, schema, segments[0])
            allow = ",".join(["OPTIONS,GET,HEAD"] + (["POST"] if table.insertable else [])
                             + (["PUT"] if table.insertable and table.updatable and table.pk else [])
                             + (["PATCH"] if table.updatable else []) + (["DELETE"] if table.deletable else []))
        return Answer(200, [("Access-Control-Allow-Origin", "*"), ("Allow", allow)])

    def _table(self, cache: SchemaCache, schema: str, name: str) -> Table:
        table = cache.table(schema, name)
        if table is None:
            import difflib

            names = [n for s, n in cache.tables if s == schema]
            hit = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
            raise errors.table_not_found(schema, name, hit[0] if hit else None)
        return table

    # -- planning: tables and views --------------------------------------------------------------------------

    def _plan_key(self, kind: str, schema: str, request: Request, prefer: preferences.Preferences) -> tuple:
        return (kind, schema, request.method, request.path, request.query_string, request.header("accept"),
                request.header("range"), prefer)

    def _cached(self, key: tuple) -> Statement | None:
        if self._plans_for != id(self.cache):
            self._plans.clear()
            self._plans_for = id(self.cache)
            return None
        hit = self._plans.get(key)
        if hit is not None:
            self._plans.move_to_end(key)
        return hit

    def _remember(self, key: tuple, statement: Statement) -> None:
        self._plans[key] = statement
        if len(self._plans) > 2000:
            self._plans.popitem(last=False)

    def _crud(self, cache: SchemaCache, schema: str, name: str, request: Request,
              prefer: preferences.Preferences) -> Statement:
        method = request.method
        key: tuple | None = None
        if method in READ_METHODS or method == "DELETE":
            key = self._plan_key("read" if method in READ_METHODS else "write", schema, request, prefer)
        elif method in ("POST", "PATCH", "PUT"):
            try:
                request.payload, rows, _ = self._payload(request)
            except ApiError:
                pass  # built below, where the error is raised in its place (after the table's and the URL's)
            else:
                # a write's statement depends on its body only through the keys (the body is one parameter)
                key = (*self._plan_key("write", schema, request, prefer), tuple(rows[0]) if rows else ())
                hit = self._cached(key)
                if hit is not None:
                    if method == "PUT" and len(rows) != 1:
                        raise errors.invalid_body("PUT payload must contain a single row")
                    if hit.check_keys and len(rows) > 1:
                        keys = rows[0].keys()
                        if any(row.keys() != keys for row in rows):
                            raise errors.invalid_body("All object keys must match")
                    return hit
        else:
            raise errors.unsupported_method(method)
        if key is not None and method not in ("POST", "PATCH", "PUT"):
            hit = self._cached(key)
            if hit is not None:
                return hit
        table = self._table(cache, schema, name)
        qp = query_params.parse(request.query_string)
        builder = Builder(cache, aggregates=bool(self.rest.db_aggregates_enabled))
        if method in READ_METHODS:
            statement = self._read(builder, table, qp, request, prefer)
        elif method == "POST":
            statement = self._insert(builder, table, qp, request, prefer)
        elif method == "PATCH":
            statement = self._update(builder, table, qp, request, prefer)
        elif method == "PUT":
            statement = self._put(builder, table, qp, request, prefer)
        else:
            statement = self._delete(builder, table, qp, request, prefer)
        if key is not None:
            self._remember(key, statement)
        return statement

    def _range(self, request: Request, qp: QueryParams) -> tuple[int, int | None]:
        """The top-level offset and limit: `limit`/`offset` intersected with the Range header and db-max-rows."""
        offset = qp.offset.get((), 0)
        limit = qp.limit.get(())
        if limit is not None and limit < 0:
            raise errors.invalid_range("Limit should be greater than or equal to zero.")
        offset = max(offset, 0)
        # RFC 9110: the Range header is ignored for every method but GET (ApiRequest.hs), HEAD included
        header = request.header("range") if request.method == "GET" else None
        if header:
            spec = header.strip()
            if spec.startswith("items="):
                spec = spec[6:]
            low, sep, high = spec.partition("-")
            if sep and low.isdigit() and (high == "" or high.isdigit()):
                lower = int(low)
                upper = int(high) if high else None
                if upper is not None and lower > upper:
                    raise errors.invalid_range("The lower boundary must be lower than or equal to the upper "
                                               "boundary in the Range header.")
                start = max(lower, offset) if offset else lower
                end = upper
                if limit is not None:
                    end = min(end, start + limit - 1) if end is not None else start + limit - 1
                offset = start
                limit = None if end is None else max(end - start + 1, 0)
        if self.max_rows is not None:
            limit = self.max_rows if limit is None else min(limit, self.max_rows)
        return offset, limit

    def _read(self, builder: Builder, table: Table, qp: QueryParams, request: Request,
              prefer: preferences.Preferences) -> Statement:
        chosen = media.negotiate(request.header("accept"), ("json", "object", "csv", "array"))
        node = builder.tree(table, qp)
        offset, limit = self._range(request, qp)
        query = Query().add("WITH pgrst_source AS ( ")
        builder.read_sql(query, node, from_sql=_text(table.qi), ref=_text(table.qi), top_limit=limit,
                         top_offset=offset)
        query.add(" ) ")
        count_query = None
        total = "null::bigint"
        if prefer.count in ("exact", "estimated"):
            count = Query()
            builder.count_sql(count, node, from_sql=_text(table.qi), ref=_text(table.qi))
            query.add(", pgrst_source_count AS (").add(count.text(), *count.params).add(")")
            total = "(SELECT pg_catalog.count(*) FROM pgrst_source_count)"
            if prefer.count == "estimated" and self.max_rows is not None:
                count_query = count
        if prefer.count == "planned":
            count_query = Query()
            builder.count_sql(count_query, node, from_sql=_text(table.qi), ref=_text(table.qi))
        query.add(f" SELECT {total} AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, "
                  f"{_body(chosen)}::text AS body, {RESPONSE_SETTINGS_SQL} "
                  "FROM ( SELECT * FROM pgrst_source ) _postgrest_t")
        return Statement(query, True, "read", chosen, offset=offset, count=prefer.count, count_query=count_query,
                         table_name=table.name, location=_canonical(table.name, request.query_string))

    # -- bodies ----------------------------------------------------------------------------------------------

    def _payload(self, request: Request) -> tuple[str, list[dict[str, Any]], bool]:
        """The body as a JSON array text, the parsed rows, and whether the body was an array."""
        content_type = (request.header("content-type") or "application/json").split(";")[0].strip().lower()
        if content_type not in ("application/json", "text/csv", "application/x-www-form-urlencoded", "*/*"):
            raise errors.invalid_body(f"Content-Type not acceptable: {content_type}")
        if content_type == "text/csv":
            text = request.body.decode("utf-8", "replace")
            reader = csv.reader(io.StringIO(text))
            rows = list(reader)
            if not rows:
                return "[]", [], True
            head = rows[0]
            objects = [{k: (None if v == "NULL" else v) for k, v in zip(head, row, strict=False)}
                       for row in rows[1:] if row]
            return json.dumps(objects), objects, True
        if content_type == "application/x-www-form-urlencoded":
            from urllib.parse import parse_qsl

            obj = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
            return json.dumps([obj]), [obj], False
        text = request.body.decode("utf-8", "replace")
        try:
            value = json.loads(text)
        except ValueError:
            raise errors.invalid_body("Empty or invalid json") from None
        if isinstance(value, dict):
            return "[" + text + "]", [value], False
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return text, value, True
        raise errors.invalid_body("Empty or invalid json")

    def _columns(self, table: Table, qp: QueryParams, rows: list[dict[str, Any]]) -> list[str]:
        if qp.columns is not None:
            names = qp.columns
        else:
            names = list(rows[0]) if rows else []
            keys = set(names)
            for row in rows[1:]:
                if set(row) != keys:
                    raise errors.invalid_body("All object keys must match")
        for name in names:
            if name not in table.columns:
                raise errors.column_not_found(table.name, name)
        return names

    def _returning(self, table: Table, representation: bool, extra: str = "") -> str:
        if representation:
            return f"RETURNING {_text(table.qi)}.*{extra}"
        return f"RETURNING 1{extra}"

    def _representation(self, builder: Builder, table: Table, qp: QueryParams, chosen: media.Media,
                        full: bool, location: bool = False, inserted: bool = False) -> tuple[Query, str]:
        """The outer SELECT of a write: the body from `pgrst_source` shaped by `select`."""
        outer = Query()
        if full:
            # the written rows rebuilt as the table's row type, so computed fields and computed relationships
            # apply to a write's representation too (ComputedRelsSpec "works with mutations")
            builder.source_row = "ROW(" + ", ".join(f'"pgrst_source".{q(c)}' for c in table.columns) + \
                f")::{_text(table.qi)}"
            node = builder.tree(table, qp)
            self._expand_star(node, table)
            inner = Query()
            builder.read_sql(inner, node, from_sql="pgrst_source", ref='"pgrst_source"', skip_conditions=True)
            outer.parts.extend(inner.parts)
            outer.params.extend(inner.params)
            body = _body(chosen)
        else:
            outer.add("SELECT * FROM pgrst_source")
            body = "''"
        return outer, body

    @staticmethod
    def _expand_star(node: ReadNode, table: Table) -> None:
        items = []
        for item in node.items:
            if item.field is not None and item.field.name == "*" and not item.field.path:
                items.extend(SelectItem(Field(c)) for c in table.columns)
            else:
                items.append(item)
        node.items = items

    def _write_statement(self, mutation: Query, builder: Builder, table: Table, qp: QueryParams,
                         request: Request, prefer: preferences.Preferences, kind: str,
                         inserted: bool = False) -> Statement:
        chosen = media.negotiate(request.header("accept"), ("json", "object", "csv", "array"))
        full = prefer.representation == "representation"
        headers_only = prefer.representation == "headers-only" and kind == "create"
        outer, body = self._representation(builder, table, qp, chosen, full)
        query = Query().add("WITH pgrst_source AS (").add(mutation.text(), *mutation.params).add(") ")
        location = "array[]::text[]"
        if headers_only and table.pk:
            location = ("CASE WHEN pg_catalog.count(_postgrest_t) = 1 THEN coalesce((WITH data AS (SELECT "
                        "row_to_json(_) AS row FROM pgrst_source AS _ LIMIT 1) SELECT array_agg(json_data.key || "
                        "'=' || coalesce('eq.' || json_data.value, 'is.null')) FROM data CROSS JOIN "
                        "json_each_text(data.row) AS json_data WHERE json_data.key = ANY(%s)), array[]::text[]) "
                        "ELSE array[]::text[] END")
        ins = ", (SELECT pg_catalog.count(*) FROM pgrst_source WHERE pgrst_source.pgrst_inserted) AS inserted" \
            if inserted else ", NULL::bigint AS inserted"
        query.add("SELECT '' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ")
        if headers_only and table.pk:
            query.add(location + " AS header, ", list(table.pk))
        else:
            query.add(location + " AS header, ")
        query.add(f"{body}::text AS body, {RESPONSE_SETTINGS_SQL}{ins} FROM (")
        query.add(outer.text(), *outer.params).add(") _postgrest_t")
        return Statement(query, False, kind, chosen, count=prefer.count, table_name=table.name, pk=table.pk,
                         headers_only=headers_only)

    def _needs_returning(self, prefer: preferences.Preferences) -> bool:
        return prefer.representation in ("representation", "headers-only")

    def _insert(self, builder: Builder, table: Table, qp: QueryParams, request: Request,
                prefer: preferences.Preferences) -> Statement:
        request.payload, rows, _ = self._payload(request)
        names = self._columns(table, qp, rows)
        defaults = prefer.missing == "default"
        cols = [(n, table.columns[n].type, table.columns[n].default if defaults else None) for n in names]
        body = body_sql(PAYLOAD, cols, defaults=defaults, select=True)
        mutation = Query().add(f"INSERT INTO {_text(table.qi)}")
        if names:
            mutation.add("(" + ", ".join(q(n) for n in names) + ") ")
        else:
            mutation.add(" ")
        mutation.add(body.text(), *body.params)
        conflict = qp.on_conflict or (list(table.pk) if table.pk else None)
        merge = False
        if prefer.resolution and conflict:
            for name in conflict:
                if name not in table.columns:
                    raise errors.column_not_found(table.name, name)
            mutation.add(" ON CONFLICT(" + ", ".join(q(c) for c in conflict) + ") ")
            if prefer.resolution == "ignore-duplicates" or not names:
                mutation.add("DO NOTHING")
            else:
                merge = True
                mutation.add("DO UPDATE SET " + ", ".join(f"{q(n)} = EXCLUDED.{q(n)}" for n in names))
        elif prefer.resolution is None and qp.on_conflict is not None:
            pass
        # whether rows were inserted or only updated decides 201 / 200 for a representation (minimal: 201)
        track = merge and not table.is_view
        extra = f", ({_text(table.qi)}.xmax = 0) AS pgrst_inserted" if track else ""
        mutation.add(" " + self._returning(table, self._needs_returning(prefer), extra))
        statement = self._write_statement(mutation, builder, table, qp, request, prefer, "create", inserted=track)
        statement.kind = "create"
        statement.pk = table.pk if (table.pk or qp.on_conflict) else ()
        statement.check_keys = qp.columns is None
        return statement

    def _where(self, builder: Builder, table: Table, qp: QueryParams) -> Query:
        node = ReadNode(table, None)
        node.filters = list(qp.filters.get((), []))
        node.logic = list(qp.logic.get((), []))
        for path in list(qp.filters) + list(qp.logic):
            if path:
                raise errors.not_embedded(".".join(path))
        where = Query()
        builder.where_sql(where, _text(table.qi), node)
        return where

    def _limited(self, builder: Builder, mutation: Query, table: Table, qp: QueryParams, where: Query) -> None:
        """`limit`/`offset` (with `order`) on PATCH and DELETE: only the rows the ordered range selects, found by
        ctid in a subquery (PostgREST's pgrst_affected_rows)."""
        limit, offset = qp.limit.get(()), qp.offset.get((), 0)
        if limit is None and not offset:
            return
        if table.is_view:
            raise errors.not_implemented("limit/offset on a view's PATCH or DELETE")
        node = ReadNode(table, None)
        node.order = list(qp.order.get((), []))
        ranged = Query().add(f"SELECT {_text(table.qi)}.ctid FROM {_text(table.qi)}")
        ranged.add(where.text(), *where.params)
        builder.order_sql(ranged, _text(table.qi), node)
        builder.limit_sql(ranged, limit, offset)
        mutation.add(" AND " if where.parts else " WHERE ")
        mutation.add(f"{_text(table.qi)}.ctid = ANY(ARRAY(").add(ranged.text(), *ranged.params).add("))")

    def _update(self, builder: Builder, table: Table, qp: QueryParams, request: Request,
                prefer: preferences.Preferences) -> Statement:
        request.payload, rows, _ = self._payload(request)
        names = self._columns(table, qp, rows[:1])
        where = self._where(builder, table, qp)
        mutation = Query()
        if not names:
            mutation.add(f"SELECT {_text(table.qi)}.* FROM {_text(table.qi)} WHERE false")
        else:
            cols = [(n, table.columns[n].type, None) for n in names]
            body = body_sql(PAYLOAD, cols, defaults=False, select=False)
            mutation.add(f"UPDATE {_text(table.qi)} SET "
                         + ", ".join(f"{q(n)} = {q('pgrst_body')}.{q(n)}" for n in names) + " ")
            mutation.add(body.text(), *body.params)
            mutation.add(where.text(), *where.params)
            self._limited(builder, mutation, table, qp, where)
            mutation.add(" " + self._returning(table, self._needs_returning(prefer)))
        return self._write_statement(mutation, builder, table, qp, request, prefer, "update")

    def _delete(self, builder: Builder, table: Table, qp: QueryParams, request: Request,
                prefer: preferences.Preferences) -> Statement:
        where = self._where(builder, table, qp)
        mutation = Query().add(f"DELETE FROM {_text(table.qi)} ")
        mutation.add(where.text(), *where.params)
        self._limited(builder, mutation, table, qp, where)
        mutation.add(" " + self._returning(table, self._needs_returning(prefer)))
        return self._write_statement(mutation, builder, table, qp, request, prefer, "delete")

    def _put(self, builder: Builder, table: Table, qp: QueryParams, request: Request,
             prefer: preferences.Preferences) -> Statement:
        if qp.limit or qp.offset:
            raise errors.put_limit()
        filters = qp.filters.get((), [])
        pk = set(table.pk)
        if (not pk or qp.logic or len(filters) != len(pk) or {f.field.name for f in filters} != pk
                or any(f.op != "eq" or f.negated or f.field.path or f.quant for f in filters)):
            raise errors.put_filters()
        request.payload, rows, _ = self._payload(request)
        if len(rows) != 1:
            raise errors.invalid_body("PUT payload must contain a single row")
        names = self._columns(table, qp, rows)
        cols = [(n, table.columns[n].type, None) for n in names]
        body = body_sql(PAYLOAD, cols, defaults=False, select=True)
        mutation = Query().add(f"INSERT INTO {_text(table.qi)}(" + ", ".join(q(n) for n in names) + ") ")
        mutation.add(body.text(), *body.params)
        mutation.add("WHERE " + " AND ".join(f"{q('pgrst_body')}.{q(f.field.name)} = %s" for f in filters),
                     *[str(f.value) for f in filters])
        mutation.add(" ON CONFLICT(" + ", ".join(q(c) for c in table.pk) + ") DO UPDATE SET "
                     + ", ".join(f"{q(n)} = EXCLUDED.{q(n)}" for n in names))
        track = not table.is_view
        extra = f", ({_text(table.qi)}.xmax = 0) AS pgrst_inserted" if track else ""
        mutation.add(" " + self._returning(table, self._needs_returning(prefer), extra))
        statement = self._write_statement(mutation, builder, table, qp, request, prefer, "upsert", inserted=track)
        return statement

    # -- planning: functions ---------------------------------------------------------------------------------

    def _call(self, cache: SchemaCache, schema: str, name: str, request: Request,
              prefer: preferences.Preferences) -> Statement:
        method = request.method
        if method not in ("GET", "HEAD", "POST"):
            raise errors.invalid_rpc_method(method)
        if method in READ_METHODS:
            key = self._plan_key("call", schema, request, prefer)
            hit = self._cached(key)
            if hit is not None:
                return hit
        overloads = cache.functions.get((schema, name), [])
        if not overloads and method in READ_METHODS:
            given = sorted({k for k, _ in query_params.parse(request.query_string).params})
            raise errors_no_function(cache, schema, name, given)
        content = "json"
        form = False
        raw_body: str | None = None
        args: dict[str, Any] = {}
        if method == "POST":
            content_type = (request.header("content-type") or "application/json").split(";")[0].strip().lower()
            content = {"text/plain": "text", "text/xml": "xml", "application/octet-stream": "octet"}.get(
                content_type, "json")
            if content == "json":
                text = request.body.decode("utf-8", "replace")
                if content_type == "application/x-www-form-urlencoded":
                    from urllib.parse import parse_qsl

                    args = _grouped(parse_qsl(text, keep_blank_values=True))
                    form = True
                elif text.strip() == "":
                    args, raw_body = {}, "{}"
                else:
                    try:
                        value = json.loads(text)
                    except ValueError:
                        raise errors.invalid_body("Empty or invalid json") from None
                    raw_body = text
                    args = value if isinstance(value, dict) else {}
                    if not isinstance(value, dict):
                        args = {}
            qp = query_params.parse(request.query_string)
        else:
            qp = query_params.parse(request.query_string)
            args = _grouped(qp.params)
        fn, whole = find_function(cache, schema, name, list(args), post=method == "POST", content=content)
        if not whole and content == "json" and method == "POST" and raw_body is not None and not form:
            try:
                parsed = json.loads(raw_body)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise errors.invalid_body("Empty or invalid json")
        if method in READ_METHODS or form:
            # variadic and array parameters take repeated keys; others the last value
            for p in fn.inputs:
                if p.name in args and p.mode == "v" and not isinstance(args[p.name], list) \
                        and not str(args[p.name]).startswith("{"):
                    args[p.name] = [args[p.name]]
                elif p.name in args and isinstance(args[p.name], list) and p.mode != "v" \
                        and not p.type.endswith("]"):
                    args[p.name] = args[p.name][-1]
            raw_body = json.dumps(args)
        builder = Builder(cache, aggregates=bool(self.rest.db_aggregates_enabled))
        call = Query()
        scalar = fn.returns_scalar or fn.returns_void
        target = f"{_text(fn.qi)}"
        if whole:
            if content == "octet":
                arg = ("%s::bytea", request.body)
            elif content in ("text", "xml"):
                arg = (f"%s::{inputs_type(fn)}", request.body.decode("utf-8", "replace"))
            else:
                arg = (f"%s::{inputs_type(fn)}", raw_body if raw_body is not None else "{}")
            invocation = Query().add(f"{target}(" + arg[0] + ")", arg[1])
            if scalar:
                call.add("SELECT pgrst_call.pgrst_scalar FROM (SELECT ").add(invocation.text(), *invocation.params)
                call.add(" pgrst_scalar) pgrst_call")
            else:
                call.add("SELECT pgrst_call.* FROM ").add(invocation.text(), *invocation.params).add(" pgrst_call")
        else:
            given = [p for p in fn.inputs if p.name in args]
            if given:
                cols = [(p.name, p.type, None) for p in given]
                body = body_sql(raw_body, [(c, t, d) for c, t, d in cols], defaults=False, select=False,
                                limit_one=True)
                # json_to_recordset over the one object: the payload must be an array
                body.params[0] = "[" + (raw_body or "{}") + "]"
                params = ", ".join(("VARIADIC " if p.mode == "v" else "") + f"{q(p.name)} := pgrst_body.{q(p.name)}"
                                   for p in given)
                select = "pgrst_call.pgrst_scalar" if scalar else "pgrst_call.*"
                call.add(f"SELECT {select} ").add(body.text(), *body.params).add(", ")
                if scalar:
                    call.add(f"LATERAL (SELECT {target}({params}) pgrst_scalar) pgrst_call")
                else:
                    call.add(f"LATERAL {target}({params}) pgrst_call")
            elif scalar:
                call.add(f"SELECT pgrst_call.pgrst_scalar FROM (SELECT {target}() pgrst_scalar) pgrst_call")
            else:
                call.add(f"SELECT pgrst_call.* FROM {target}() pgrst_call")
        # the result, as a relation the read features apply to
        table = cache.table(fn.return_type_schema, fn.return_type_name) if not scalar else None
        if table is None:
            table = Table(fn.schema, fn.name, "f", {})
        chosen = media.negotiate(request.header("accept"), ("json", "object", "csv", "array"))
        if table.kind != "f" or table.columns:
            builder.source_row = f'"pgrst_source"::{_text(table.qi)}'
        node = builder.tree(table, qp)
        offset, limit = self._range(request, qp)
        if not fn.returns_set:
            limit = None if limit is None or (self.max_rows is not None and limit == self.max_rows) else limit
        query = Query().add("WITH pgrst_source AS (").add(call.text(), *call.params).add(") ")
        total = "null::bigint"
        if prefer.count:
            count = Query()
            builder.count_sql(count, node, from_sql="pgrst_source", ref='"pgrst_source"')
            query.add(", pgrst_source_count AS (").add(count.text(), *count.params).add(") ")
            total = "(SELECT pg_catalog.count(*) FROM pgrst_source_count)"
        if scalar:
            select = Query().add('SELECT "pgrst_source".* FROM "pgrst_source"')
            node.items = []
            builder.where_sql(select, '"pgrst_source"', node)
            builder.limit_sql(select, limit, offset)
        else:
            select = Query()
            builder.read_sql(select, node, from_sql='"pgrst_source"', ref='"pgrst_source"', top_limit=limit,
                             top_offset=offset)
        if chosen.kind == "csv":
            body = CSV_BODY
        else:
            single = chosen.kind == "object" or not fn.returns_set
            column = "_postgrest_t.pgrst_scalar" if scalar else "_postgrest_t"
            agg = f"json_agg({column})" + ("->0" if single else "")
            if chosen.strip_nulls:
                agg = f"json_strip_nulls({agg})"
            body = f"coalesce({agg}, {'null' if single else chr(39) + '[]' + chr(39)})"
            if single:
                body = f"coalesce({agg}, 'null')"
        query.add(f"SELECT {total} AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, "
                  f"{body}::text AS body, {RESPONSE_SETTINGS_SQL} FROM (").add(select.text(), *select.params)
        query.add(") _postgrest_t")
        read_only = method in READ_METHODS or fn.volatility != "v"
        statement = Statement(query, read_only, "call", chosen, offset=offset, count=prefer.count, function=fn)
        if method in READ_METHODS:
            self._remember(key, statement)
        return statement

    # -- running ---------------------------------------------------------------------------------------------

    def _settings(self, request: Request, role: str, claims: str, schema: str, prefer: preferences.Preferences,
                  cache: SchemaCache) -> tuple[str, list[str]]:
        """The one `select set_config(…, true), …` of the transaction: its text and parameters. What depends only
        on (schema cache, schema, role, timezone) — the search_path, the role's own settings, the text — is built
        once per combination."""
        key = (id(cache), schema, role, prefer.timezone is not None)
        head = self._heads.get(key)
        if head is None:
            search_path = ", ".join(ident(s) for s in [schema, *[s for s in self.rest.db_extra_search_path
                                                                   if s != schema]])
            pairs: list[tuple[str, str]] = [("search_path", search_path), *cache.role_settings.get(role, [])]
            count = len(pairs) + 6 + (1 if prefer.timezone else 0)
            head = ("select " + ", ".join(["set_config(%s, %s, true)"] * count), [x for kv in pairs for x in kv])
            if len(self._heads) > 1000:
                self._heads.clear()
            self._heads[key] = head
        cookies = {}
        cookie = request.headers.get("cookie")
        if cookie:
            for part in cookie.split(";"):
                k, sep, v = part.strip().partition("=")
                if sep:
                    cookies[k] = v
        params = [*head[1], "role", role, "request.jwt.claims", claims, "request.method", request.method,
                  "request.path", request.path, "request.headers", json.dumps(request.headers, separators=(",", ":")),
                  "request.cookies", json.dumps(cookies, separators=(",", ":")) if cookies else "{}"]
        if prefer.timezone:
            params += ("timezone", prefer.timezone)
        return head[0], params

    async def _run(self, statement: Statement, request: Request, role: str, claims: str, schema: str,
                   negotiated: bool, prefer: preferences.Preferences) -> Answer:
        cache = self.cache
        assert cache is not None
        settings_sql, settings_params = self._settings(request, role, claims, schema, prefer, cache)
        pre = self.rest.db_pre_request
        authenticated = role != self.anon_role
        rollback = prefer.tx == "rollback" if prefer.tx else self.tx_end.startswith("rollback")
        begin = "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY" if statement.read_only else \
            "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"
        if pre:
            schema_name, _, fn_name = pre.rpartition(".")
            pre_sql = f"select {qualified(schema_name, fn_name) if schema_name else q(fn_name)}()"
        if statement.plan is not None:
            return await self._explain(statement, request, begin, settings_sql, settings_params,
                                       pre_sql if pre else None, authenticated)
        conn = await self.pool.getconn()
        try:
            batch = wire.Batch(conn)
            batch.add(begin)
            batch.add(settings_sql, settings_params)
            if pre:
                batch.add(pre_sql)
            count_at = None
            if statement.count_query is not None:
                count_at = batch.add("EXPLAIN (FORMAT JSON) " + statement.count_query.text(),
                                     statement.count_query.params)
            main_at = batch.add(statement.sql, statement.params(request.payload))
            if statement.read_only and not rollback:
                batch.add("COMMIT")
            try:
                results = await batch.run()
                planned = None
                if count_at is not None:
                    plan = batch.values(results[count_at])
                    planned = _plan_rows(plan[0] if plan else None)
                row = batch.values(results[main_at], raw=2 if statement.kind in ("read", "call") else 3)
                answer, keep = self._answer(statement, row, prefer, planned, negotiated, schema)
                if conn.info.transaction_status == pq.TransactionStatus.INTRANS:
                    end = wire.Batch(conn)
                    end.add("ROLLBACK" if (rollback or not keep) else "COMMIT")
                    await end.run()
                return answer
            except psycopg.Error as error:
                await _abandon(conn)
                diag = error.diag
                raise errors.database_error(error.sqlstate, diag.message_primary or str(error),
                                            diag.message_detail, diag.message_hint,
                                            authenticated=authenticated) from None
            except ApiError:
                await _abandon(conn)
                raise
        finally:
            await self.pool.putconn(conn)

    async def _explain(self, statement: Statement, request: Request, begin: str, settings_sql: str,
                       settings_params: list[str], pre_sql: str | None, authenticated: bool) -> Answer:
        """`Accept: application/vnd.pgrst.plan…`: the statement under EXPLAIN, always rolled back."""
        async with self.pool.connection() as conn:
            try:
                async with conn.pipeline():
                    await conn.execute(begin)
                    await conn.execute(settings_sql, settings_params)
                    if pre_sql:
                        await conn.execute(pre_sql)
                    assert statement.plan is not None
                    fmt, options, _ = statement.plan
                    explain = ", ".join([f"FORMAT {fmt.upper()}", *(o.upper() for o in options)])
                    cur = await conn.execute(f"EXPLAIN ({explain}) " + statement.sql,
                                             statement.params(request.payload))
                    rows = await cur.fetchall()
                    await conn.execute("ROLLBACK")
                text = "\n".join(str(r[0]) if fmt == "text" else json.dumps(r[0]) for r in rows)
                content = f'application/vnd.pgrst.plan+{fmt}; for="{statement.plan[2]}"; charset=utf-8'
                return Answer(200, [("Content-Type", content)], text.encode())
            except psycopg.Error as error:
                if conn.info.transaction_status != pq.TransactionStatus.IDLE:
                    with contextlib.suppress(psycopg.Error):
                        await conn.execute("ROLLBACK")
                await _forget_prepared(conn)
                diag = error.diag
                raise errors.database_error(error.sqlstate, diag.message_primary or str(error),
                                            diag.message_detail, diag.message_hint,
                                            authenticated=authenticated) from None

    def _answer(self, st: Statement, row: Any, prefer: preferences.Preferences, planned: int | None,
                negotiated: bool, schema: str) -> tuple[Answer, bool]:
        """The response for the statement's row, and whether the transaction may commit."""
        pref_applied = None
        if st.kind in ("read", "call"):
            total, page_total, body, guc_headers, guc_status = row
        else:
            total, page_total, location, body, guc_headers, guc_status, inserted = row
        total = int(total) if isinstance(total, int) else None
        if st.count == "planned":
            total = planned
        elif st.count == "estimated" and planned is not None and self.max_rows is not None \
                and total is not None and total > self.max_rows:
            total = max(planned, page_total)  # exact up to db-max-rows, the planner's estimate above
        content_type = [("Content-Type", st.media.content_type)]
        profile = [("Content-Profile", schema)] if negotiated else []
        if st.media.kind == "object" and page_total != 1:
            raise errors.singularity(page_total)  # a write is rolled back by the caller
        if st.kind in ("read", "call"):
            fn = st.function
            if fn is not None and fn.returns_void:
                headers = [("Content-Range", _range_status(st.offset, page_total, total)[1])]
                pref_applied = prefer.applied(resolution=False, missing=False, representation=False,
                                              max_affected=True)
                if pref_applied:
                    headers.append(("Preference-Applied", pref_applied))
                status, headers = _override(guc_status, guc_headers, 204, headers)
                return Answer(status, headers, b""), True
            if fn is not None and prefer.handling == "strict" and prefer.max_affected is not None:
                if not fn.returns_set:
                    raise errors.max_affected_rpc()
                if page_total > prefer.max_affected:
                    raise errors.max_affected(page_total)
            status, content_range = _range_status(st.offset, page_total, total)
            headers = [("Content-Range", content_range)]
            if st.location is not None and len(st.location) <= MAX_LOCATION:
                headers.append(("Content-Location", st.location))
            pref_applied = prefer.applied(resolution=False, missing=False, representation=False,
                                          max_affected=fn is not None)
            if pref_applied:
                headers.append(("Preference-Applied", pref_applied))
            headers = content_type + profile + headers if fn is None else headers + content_type + profile
            if status == 416:
                error = errors.out_of_bounds(st.offset, total or 0)
                status, headers = _override(guc_status, guc_headers, 416, headers)
                return Answer(status, [h for h in headers if h[0] != "Content-Type"]
                              + [("Content-Type", errors.JSON_CONTENT_TYPE)], error.payload()), True
            status, headers = _override(guc_status, guc_headers, status, headers)
            return Answer(status, headers, (body or b"")), True
        # writes
        if prefer.handling == "strict" and prefer.max_affected is not None and st.kind in ("update", "delete") \
                and page_total > prefer.max_affected:
            raise errors.max_affected(page_total)
        count_total = page_total if prefer.count else None
        full = prefer.representation == "representation"
        if st.kind == "create":
            headers = []
            if location:
                pairs = (item.split("=", 1) for item in location)
                headers.append(("Location", f"/{quote(st.table_name)}?" + "&".join(
                    quote_plus(k, safe="-_.~") + "=" + quote_plus(v, safe="-_.~") for k, v in pairs)))
            headers.append(("Content-Range", _content_range(1, 0, count_total)))
            pref_applied = prefer.applied(resolution=bool(st.pk))
            if pref_applied:
                headers.append(("Preference-Applied", pref_applied))
            status = 201
            if inserted is not None and inserted <= 0 and prefer.resolution == "merge-duplicates":
                status = 200
            if full:
                headers += content_type + profile
            status, headers = _override(guc_status, guc_headers, status, headers)
            return Answer(status, headers, (body or b"") if full else b""), True
        if st.kind == "upsert":
            if page_total != 1:
                raise errors.put_matching_pk()
            pref_applied = prefer.applied(resolution=False, missing=False)
            headers = [("Preference-Applied", pref_applied)] if pref_applied else []
            if full:
                status = 201 if inserted else 200
                headers = content_type + profile + headers
            else:
                status = 204
            status, headers = _override(guc_status, guc_headers, status, headers)
            return Answer(status, headers, (body or b"") if full else b""), True
        if st.kind == "update":
            headers = [("Content-Range", _content_range(0, page_total - 1, count_total))]
        else:
            headers = [("Content-Range", _content_range(1, 0, count_total))]
        pref_applied = prefer.applied(resolution=False, missing=st.kind == "update", max_affected=True)
        if pref_applied:
            headers.append(("Preference-Applied", pref_applied))
        if full:
            headers += content_type + profile
        status, headers = _override(guc_status, guc_headers, 200 if full else 204, headers)
        return Answer(status, headers, (body or b"") if full else b""), True


PLAN_OPTIONS = frozenset({"analyze", "verbose", "settings", "buffers", "wal"})


def _plan_media(accept: str | None) -> tuple[str, tuple[str, ...], str] | None:
    """`application/vnd.pgrst.plan[+json|+text]; for="…"; options=a|b` → (format, options, for-media)."""
    if not accept or "application/vnd.pgrst.plan" not in accept:
        return None
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        kind = pieces[0].lower()
        if not kind.startswith("application/vnd.pgrst.plan"):
            continue
        fmt = "json" if kind.endswith("+json") else "text"
        target, options = "application/json", ()
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            value = value.strip().strip('"')
            if key.strip() == "for":
                target = value
            elif key.strip() == "options":
                options = tuple(o for o in value.split("|") if o in PLAN_OPTIONS)
        return fmt, options, target
    return None


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Query or form parameters as arguments: a repeated key becomes a list."""
    grouped: dict[str, Any] = {}
    for key, value in pairs:
        if key in grouped:
            grouped[key] = grouped[key] if isinstance(grouped[key], list) else [grouped[key]]
            grouped[key].append(value)
        else:
            grouped[key] = value
    return grouped


async def _abandon(conn: Any) -> None:
    """After a failure: roll back what is left of the transaction (a broken connection is left to the pool)."""
    if not conn.closed and conn.info.transaction_status != pq.TransactionStatus.IDLE:
        with contextlib.suppress(psycopg.Error):
            await wire.Batch(conn).rollback()


async def _forget_prepared(conn: Any) -> None:
    """After a failed pipeline psycopg may believe statements were prepared that the server never prepared
    (the batch was aborted): forget them all (psycopg then sends DEALLOCATE ALL), or drop the connection."""
    manager = getattr(conn, "_prepared", None)
    wire.forget(conn)
    if manager is not None and hasattr(manager, "clear"):
        manager.clear()
        with contextlib.suppress(psycopg.Error):
            await conn.execute("DEALLOCATE ALL", prepare=False)
        return
    await conn.close()


def errors_no_function(cache: SchemaCache, schema: str, name: str, args: list[str]) -> ApiError:
    from functions_py.rest.plan import no_function

    return no_function(cache, schema, name, args, post=False, content="json", overloads=[])


def _canonical(name: str, query_string: str) -> str:
    """PostgREST's canonical location of a read: the path and the parameters sorted by name, re-encoded."""
    from urllib.parse import parse_qsl

    pairs = sorted(parse_qsl(query_string, keep_blank_values=True), key=lambda kv: kv[0])
    encoded = "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~") for k, v in pairs)
    return f"/{name}" + (f"?{encoded}" if encoded else "")


def inputs_type(fn: Function) -> str:
    return fn.inputs[0].type


def _text(sql_text: str) -> str:
    return sql_text.replace("%", "%%")


def _body(chosen: media.Media) -> str:
    if chosen.kind == "csv":
        return CSV_BODY
    if chosen.kind == "object":
        agg = "json_agg(_postgrest_t)->0"
        if chosen.strip_nulls:
            agg = f"json_strip_nulls({agg})"
        return f"coalesce({agg}, 'null')"
    agg = "json_agg(_postgrest_t)"
    if chosen.strip_nulls:
        agg = f"json_strip_nulls({agg})"
    return f"coalesce({agg}, '[]')"


def _plan_rows(plan: Any) -> int | None:
    try:
        value = plan if isinstance(plan, list) else json.loads(plan)
        return int(value[0]["Plan"]["Plan Rows"])
    except (TypeError, ValueError, KeyError, IndexError):
        return None


def _content_range(lower: int, upper: int, total: int | None) -> str:
    total_text = "*" if total is None else str(total)
    in_range = lower <= upper and (total is None or total != 0)
    return f"{lower}-{upper}/{total_text}" if in_range else f"*/{total_text}"


def _range_status(offset: int, page_total: int, total: int | None) -> tuple[int, str]:
    lower, upper = offset, offset + page_total - 1
    header = _content_range(lower, upper, total)
    if total is None:
        return 200, header
    if lower > total:
        return 416, header
    if (1 + upper - lower) < total:
        return 206, header
    return 200, header


def _override(guc_status: str | None, guc_headers: str | None, status: int,
              headers: list[tuple[str, str]]) -> tuple[int, list[tuple[str, str]]]:
    asked_status, asked_headers = errors.decode_response_settings(guc_status, guc_headers)
    if asked_headers:
        names = {k.lower() for k, _ in asked_headers}
        headers = [(k, v) for k, v in headers if k.lower() not in names] + asked_headers
    return (asked_status if asked_status is not None else status), headers

