"""The OpenAPI (Swagger 2.0) description PostgREST serves at `/`: tables, views and functions of the schema with
their columns and verbs; with openapi-mode follow-privileges only what the requesting role may use."""

from __future__ import annotations

import json
from typing import Any

from functions_py.rest import errors, media
from functions_py.rest.schema_cache import Column, SchemaCache

_TYPES = {
    "integer": ("integer", "int32"), "int4": ("integer", "int32"), "smallint": ("integer", "int16"),
    "int2": ("integer", "int16"), "bigint": ("integer", "int64"), "int8": ("integer", "int64"),
    "numeric": ("number", None), "real": ("number", "float"), "float4": ("number", "float"),
    "float8": ("number", "double"), "double precision": ("number", "double"), "boolean": ("boolean", None),
    "bool": ("boolean", None), "json": (None, None), "jsonb": (None, None),
}


def _column_schema(column: Column, pk: bool, fk: str | None) -> dict[str, Any]:
    kind, fmt = _TYPES.get(column.base_type, ("string", None))
    out: dict[str, Any] = {}
    if column.default is not None:
        out["default"] = column.default
    description = column.description or ""
    notes = []
    if pk:
        notes.append("Note:\nThis is a Primary Key.<pk/>")
    if fk:
        notes.append(f"Note:\nThis is a Foreign Key to `{fk}`.<fk table='{fk.split('.')[0]}' "
                     f"column='{fk.split('.')[1]}'/>")
    if description or notes:
        out["description"] = "\n\n".join([d for d in [description] if d] + notes)
    if column.is_array:
        out["type"] = "array"
        out["items"] = {"type": kind or "string"}
        out["format"] = column.type
        return out
    out["format"] = column.type
    if kind:
        out["type"] = kind
    if column.enum:
        out["enum"] = list(column.enum)
    if column.max_length:
        out["maxLength"] = column.max_length
    return out


async def openapi_answer(app: Any, cache: SchemaCache, schema: str, role: str, request: Any,
                         negotiated: bool) -> tuple[list[tuple[str, str]], bytes]:
    """The OpenAPI document's headers and body (the app answers them with 200)."""
    mode = app.rest.openapi_mode
    if mode == "disabled":
        raise errors.openapi_disabled()
    media.negotiate(request.header("accept"), ("openapi", "json"))
    visible = None
    if mode == "follow-privileges":
        visible = await _visible(app, role, schema)
    paths: dict[str, Any] = {"/": {"get": {"produces": ["application/openapi+json", "application/json"],
                                           "responses": {"200": {"description": "OK"}},
                                           "summary": "OpenAPI description (this document)",
                                           "tags": ["Introspection"]}}}
    definitions: dict[str, Any] = {}
    for (s, name), table in sorted(cache.tables.items()):
        if s != schema or (visible is not None and name not in visible[0]):
            continue
        fks = {}
        for rel in cache.relationships_of(s, name):
            if rel.cardinality in ("M2O", "O2O") and rel.table == (s, name) and len(rel.columns) == 1:
                fks[rel.columns[0][0]] = f"{rel.foreign[1]}.{rel.columns[0][1]}"
        properties = {c.name: _column_schema(c, c.name in table.pk, fks.get(c.name))
                      for c in sorted(table.columns.values(), key=lambda c: c.position)}
        required = [c.name for c in table.columns.values() if not c.nullable and c.default is None]
        definition: dict[str, Any] = {"properties": properties, "type": "object"}
        if required:
            definition["required"] = required
        if table.description:
            definition["description"] = table.description
        definitions[name] = definition
        ops: dict[str, Any] = {"get": {"parameters": [], "responses": {"200": {"description": "OK"}},
                                       "tags": [name]}}
        if table.insertable:
            ops["post"] = {"parameters": [], "responses": {"201": {"description": "Created"}}, "tags": [name]}
        if table.updatable:
            ops["patch"] = {"parameters": [], "responses": {"204": {"description": "No Content"}}, "tags": [name]}
        if table.deletable:
            ops["delete"] = {"parameters": [], "responses": {"204": {"description": "No Content"}}, "tags": [name]}
        if table.description:
            for op in ops.values():
                op["summary"] = table.description
        paths[f"/{name}"] = ops
    for (s, name), fns in sorted(cache.functions.items()):
        if s != schema or (visible is not None and name not in visible[1]):
            continue
        fn = fns[0]
        args = {p.name: {"format": p.type, "type": _TYPES.get(p.type, ("string", None))[0] or "string"}
                for p in fn.inputs if p.name}
        body = {"in": "body", "name": "args", "required": True,
                "schema": {"properties": args, "type": "object",
                           "required": [p.name for p in fn.inputs if p.name and not p.has_default]}}
        ops = {"post": {"parameters": [body], "produces": ["application/json",
                                                             "application/vnd.pgrst.object+json"],
                        "responses": {"200": {"description": "OK"}}, "tags": ["(rpc) " + name]}}
        if fn.volatility != "v":
            ops["get"] = {"parameters": [{"in": "query", "name": p.name, "required": not p.has_default,
                                          "type": _TYPES.get(p.type, ("string", None))[0] or "string",
                                          "format": p.type} for p in fn.inputs if p.name],
                          "responses": {"200": {"description": "OK"}}, "tags": ["(rpc) " + name]}
        if fn.description:
            for op in ops.values():
                op["summary"] = fn.description.split("\n")[0]
        paths[f"/rpc/{name}"] = ops
    document = {
        "swagger": "2.0",
        "info": {"description": "", "title": "standard public schema", "version": "14.12"},
        "host": request.header("host") or "localhost",
        "basePath": "/",
        "schemes": ["http"],
        "consumes": ["application/json", "application/vnd.pgrst.object+json;nulls=stripped",
                     "application/vnd.pgrst.object+json", "text/csv"],
        "produces": ["application/json", "application/vnd.pgrst.object+json;nulls=stripped",
                     "application/vnd.pgrst.object+json", "text/csv"],
        "paths": paths,
        "definitions": definitions,
        "parameters": {},
        "externalDocs": {"description": "PostgREST Documentation", "url": "https://postgrest.org/en/v14/references/api.html"},
    }
    headers = [("Content-Type", "application/openapi+json; charset=utf-8")]
    if negotiated:
        headers.append(("Content-Profile", schema))
    return headers, json.dumps(document, separators=(",", ":")).encode()


async def _visible(app: Any, role: str, schema: str) -> tuple[set[str], set[str]]:
    """The tables/views and functions `role` has any privilege on."""
    async with app.pool.connection() as conn:
        cur = await conn.execute(
            "select c.relname from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = "
            "c.relnamespace where n.nspname = %s and c.relkind in ('r','v','m','f','p') and ("
            "pg_catalog.has_table_privilege(%s, c.oid, 'SELECT, INSERT, UPDATE, DELETE'))", (schema, role))
        tables = {r[0] for r in await cur.fetchall()}
        cur = await conn.execute(
            "select p.proname from pg_catalog.pg_proc as p join pg_catalog.pg_namespace as n on n.oid = "
            "p.pronamespace where n.nspname = %s and pg_catalog.has_function_privilege(%s, p.oid, 'EXECUTE')",
            (schema, role))
        functions = {r[0] for r in await cur.fetchall()}
    return tables, functions
