"""SQL for reads, writes and calls, built the way PostgREST builds it (Query/QueryBuilder.hs, SqlFragment.hs),
so the database renders the JSON and the bytes match: the main query in a `pgrst_source` CTE aggregated with
`json_agg` / `row_to_json`, embeds as lateral subqueries, bodies decoded with `json_to_recordset` against the
columns' types, counts over the same filters.

Every value is a parameter (`%s`, sent untyped so PostgreSQL infers the type, as PostgREST's "unknown"
encoder does); every identifier is quoted by psycopg.sql (schema_cache.ident); tables, functions and
relationships come from the schema cache. Columns a request names are quoted and left to PostgreSQL to resolve,
so an unknown one fails with PostgreSQL's own 42703 error, as it does behind PostgREST.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions_py.rest import errors
from functions_py.rest.plan import Embed, ReadNode, find_relationship
from functions_py.rest.query_params import (
    IS_VALUES,
    EmbedItem,
    Field,
    Filter,
    Logic,
    QueryParams,
    SelectItem,
)
from functions_py.rest.schema_cache import SchemaCache, Table, ident

JSON_TYPES = frozenset({"json", "jsonb"})


def q(name: str) -> str:
    """An identifier quoted for SQL text that psycopg will also scan for placeholders."""
    return ident(name).replace("%", "%%")


def qualified(schema: str, name: str) -> str:
    return f"{q(schema)}.{q(name)}"


@dataclass
class Query:
    """SQL text with `%s` placeholders and its parameters, in order."""

    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, text: str, *params: Any) -> Query:
        self.parts.append(text)
        self.params.extend(params)
        return self

    def text(self) -> str:
        return "".join(self.parts)


def _array_literal(values: list[str]) -> str:
    """PostgreSQL's array literal for `in.(…)`, each element quoted (pgBuildArrayLiteral)."""
    out = []
    for v in values:
        v = v.split("\x00", 1)[0].replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'"{v}"')
    return "{" + ",".join(out) + "}"


def validate_cast(cache: SchemaCache, cast: str) -> str:
    """A cast type named in `select`: only type names the database has (so nothing else reaches the SQL)."""
    name = cast.strip().lower()
    base = name[:-2].strip() if name.endswith("[]") else name
    if base not in cache.type_names:
        # PostgREST writes the cast into its SQL, so an unknown type is PostgreSQL's 42704 (400)
        raise errors.ApiError(400, "42704", f'type "{base}" does not exist')
    return name


class Builder:
    """Builds the read tree of one request and renders its SQL."""

    def __init__(self, cache: SchemaCache, *, aggregates: bool = False) -> None:
        self.cache = cache
        self.aggregates = aggregates
        self.counter = 0
        # the root row when the root reads `pgrst_source` (an RPC's result): its whole row cast to the table's
        # type, so computed fields and relationships apply (None: not available, e.g. a write's representation)
        self.source_row: str | None = None

    # -- the tree --------------------------------------------------------------------------------------------

    def tree(self, table: Table, qp: QueryParams, *, select_default: bool = True) -> ReadNode:
        root = ReadNode(table, None)
        self._fill(root, qp.select if qp.select is not None else [SelectItem(Field("*"))], qp, ())
        self._attach(root, qp, ())
        known = self._paths(root, ())
        for path in list(qp.filters) + list(qp.logic) + list(qp.order) + list(qp.limit) + list(qp.offset):
            if path and path not in known:
                raise errors.not_embedded(".".join(path))
        return root

    def _paths(self, node: ReadNode, path: tuple[str, ...]) -> set[tuple[str, ...]]:
        out = {path}
        for embed in node.embeds:
            out |= self._paths(embed.node, (*path, embed.key))
            if embed.node.alias and embed.key != embed.relationship.foreign[1]:
                out.add((*path, embed.relationship.foreign[1]))
        return out

    def _fill(self, node: ReadNode, items: list[SelectItem | EmbedItem], qp: QueryParams,
              path: tuple[str, ...]) -> None:
        for item in items:
            if isinstance(item, EmbedItem):
                rel = find_relationship(self.cache, node.table, item)
                child_table = self.cache.table(*rel.foreign)
                if child_table is None:
                    raise errors.no_relationship(node.table.name, item.name, item.hint, node.table.schema, None)
                self.counter += 1
                alias = f"{child_table.name}_{self.counter}"
                child = ReadNode(child_table, alias)
                embed = Embed(item.key, rel, child, item.join, item.spread,
                              f"{node.table.name}_{item.key}_{self.counter}", not item.items)
                if rel.function is not None:
                    # the function takes the parent's whole row: the alias, or the table's bare name at the root
                    embed.parent_row = q(node.alias) if node.alias else (self.source_row or q(node.table.name))
                self._fill(child, item.items, qp, (*path, item.key))
                node.embeds.append(embed)
                continue
            if item.aggregate is not None and not self.aggregates:
                raise errors.aggregates_not_allowed()
            if item.field is not None and item.field.name == "*" and not item.field.path:
                node.star = True
            if item.cast:
                item.cast = validate_cast(self.cache, item.cast)
            if item.aggregate_cast:
                item.aggregate_cast = validate_cast(self.cache, item.aggregate_cast)
            node.items.append(item)

    def _attach(self, node: ReadNode, qp: QueryParams, path: tuple[str, ...],
                alternate: tuple[str, ...] | None = None) -> None:
        """Give `node` the filters, trees, order and range written for its path (or, for an aliased embed, the
        deprecated path through the table's name, `alternate`)."""
        for embed in node.embeds:
            other = None
            if embed.node.alias and embed.key != embed.relationship.foreign[1]:
                other = (*path, embed.relationship.foreign[1])
            self._attach(embed.node, qp, (*path, embed.key), other)
        if alternate is not None and alternate != path:
            self._attach_own(node, qp, alternate)
        self._attach_own(node, qp, path)

    def _attach_own(self, node: ReadNode, qp: QueryParams, path: tuple[str, ...]) -> None:
        embeds = {e.key: e for e in node.embeds}
        for flt in qp.filters.get(path, []):
            embed = embeds.get(flt.field.name) if not flt.field.path else None
            if embed is not None:
                if flt.op != "is" or flt.value != "null":
                    raise errors.unacceptable_filter(flt.field.name)
                node.null_embeds.append((embed, flt.negated))
            else:
                node.filters.append(flt)
        node.logic.extend(qp.logic.get(path, []))
        for term in qp.order.get(path, []):
            if term.relation is not None:
                embed = embeds.get(term.relation)
                if embed is None:
                    raise errors.not_embedded(term.relation)
                if not embed.relationship.to_one:
                    raise errors.related_order(node.table.name, term.relation)
            node.order.append(term)
        if path in qp.limit:
            node.limit = qp.limit[path]
        if path in qp.offset:
            node.offset = qp.offset[path]

    # -- fragments -------------------------------------------------------------------------------------------

    def column_type(self, table: Table, name: str) -> str | None:
        column = table.columns.get(name)
        return column.base_type if column else None

    def field_sql(self, query: Query, ref: str, table: Table | None, fld: Field, *, tsvector: str | None = None,
                  fts: bool = False, lang: str | None = None) -> None:
        base = f"{ref}.{q(fld.name)}" if fld.name != "*" else f"{ref}.*"
        col_type = self.column_type(table, fld.name) if table is not None else None
        if table is not None and col_type is None and (ref != '"pgrst_source"' or self.source_row):
            computed = self.cache.computed.get((table.schema, table.name), {}).get(fld.name)
            if computed is not None:  # a computed field: the function applied to the row
                if ref == '"pgrst_source"':
                    row = self.source_row
                else:
                    row = q(table.name) if ref == table.qi.replace("%", "%%") else ref  # the whole-row reference
                base = f"{qualified(*computed)}({row})"
        if fld.path:
            if col_type is not None and col_type not in JSON_TYPES:
                base = f"to_jsonb({base})"
            query.add(base)
            for arrow, key in fld.path:
                if key.lstrip("-").isdigit():
                    query.add(f"{arrow}%s::int", key)
                else:
                    query.add(f"{arrow}%s", key)
            return
        if fts and col_type is not None and col_type != "tsvector":
            if lang is not None:
                query.add("to_tsvector(%s, ", lang)
            else:
                query.add("to_tsvector(")
            query.add(base).add(")")
            return
        query.add(base)

    def filter_sql(self, query: Query, ref: str, table: Table | None, flt: Filter) -> None:
        if flt.negated:
            query.add("NOT ")
        op = flt.op
        self.field_sql(query, ref, table, flt.field, fts=op in ("fts", "plfts", "phfts", "wfts"),
                       lang=flt.language)
        value = flt.value
        if op in ("eq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"):
            symbol = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "like",
                      "ilike": "ilike", "match": "~", "imatch": "~*"}[op]
            text = str(value)
            if op in ("like", "ilike"):
                text = text.replace("*", "%")
            if flt.quant == "any":
                query.add(f" {symbol} ANY(%s)", text)
            elif flt.quant == "all":
                query.add(f" {symbol} ALL(%s)", text)
            else:
                query.add(f" {symbol} %s", text)
        elif op in ("neq", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj"):
            symbol = {"neq": "<>", "cs": "@>", "cd": "<@", "ov": "&&", "sl": "<<", "sr": ">>", "nxr": "&<",
                      "nxl": "&>", "adj": "-|-"}[op]
            query.add(f" {symbol} %s", str(value))
        elif op == "is":
            query.add(f" IS {IS_VALUES[str(value)]}")
        elif op == "isdistinct":
            query.add(" IS DISTINCT FROM %s", str(value))
        elif op == "in":
            values = list(value) if isinstance(value, list) else [str(value)]
            if values == [""]:
                query.add(" = ANY('{}') ")
            else:
                query.add(" = ANY (%s) ", _array_literal(values))
        else:  # full text search
            function = {"fts": "to_tsquery", "plfts": "plainto_tsquery", "phfts": "phraseto_tsquery",
                        "wfts": "websearch_to_tsquery"}[op]
            if flt.language is not None:
                query.add(f" @@ {function}(%s, %s) ", flt.language, str(value))
            else:
                query.add(f" @@ {function}(%s) ", str(value))

    def logic_sql(self, query: Query, ref: str, node: ReadNode, tree: Logic) -> None:
        if tree.negated:
            query.add("NOT")
        query.add(" (")
        for i, child in enumerate(tree.children):
            if i:
                query.add(" AND " if tree.op == "and" else " OR ")
            if isinstance(child, Logic):
                self.logic_sql(query, ref, node, child)
            else:
                embed = next((e for e in node.embeds if e.key == child.field.name), None) \
                    if not child.field.path else None
                if embed is not None:
                    if child.op != "is" or child.value != "null":
                        raise errors.unacceptable_filter(child.field.name)
                    query.add(f"{q(embed.agg_alias)} IS {'' if child.negated else 'NOT '}DISTINCT FROM NULL")
                else:
                    self.filter_sql(query, ref, node.table, child)
        query.add(")")

    def where_sql(self, query: Query, ref: str, node: ReadNode, join: list[str] | None = None,
                  count: bool = False) -> None:
        conditions: list[Any] = []
        for flt in node.filters:
            conditions.append(("filter", flt))
        for tree in node.logic:
            conditions.append(("logic", tree))
        for cond in join or []:
            conditions.append(("sql", cond))
        for embed, negated in node.null_embeds:
            conditions.append(("null", (embed, negated)))
        if count:
            for embed in node.embeds:
                if embed.join == "inner":
                    conditions.append(("exists", embed))
        if not conditions:
            return
        query.add(" WHERE ")
        for i, (kind, value) in enumerate(conditions):
            if i:
                query.add(" AND ")
            if kind == "filter":
                self.filter_sql(query, ref, node.table, value)
            elif kind == "logic":
                self.logic_sql(query, ref, node, value)
            elif kind == "sql":
                query.add(value)
            elif kind == "null":
                embed, negated = value
                if count:
                    query.add(("" if negated else "NOT ") + "EXISTS (")
                    self.count_sql(query, embed.node, parent_ref=ref, embed=embed)
                    query.add(")")
                else:
                    query.add(f"{q(embed.agg_alias)} IS {'' if negated else 'NOT '}DISTINCT FROM NULL")
            else:
                query.add("EXISTS (")
                self.count_sql(query, value.node, parent_ref=ref, embed=value)
                query.add(" )")

    def order_sql(self, query: Query, ref: str, node: ReadNode) -> None:
        if not node.order:
            return
        query.add(" ORDER BY ")
        for i, term in enumerate(node.order):
            if i:
                query.add(", ")
            if term.relation is not None:
                embed = next(e for e in node.embeds if e.key == term.relation)
                self.field_sql(query, q(embed.agg_alias), embed.node.table, term.field)
            else:
                self.field_sql(query, ref, node.table, term.field)
            query.add(" " + " ".join(x for x in (term.direction, term.nulls) if x))

    def limit_sql(self, query: Query, limit: int | None, offset: int) -> None:
        if limit is None and not offset:
            return
        query.add(" LIMIT ")
        if limit is None:
            query.add("ALL")
        else:
            query.add("%s", limit)
        query.add(" OFFSET %s", offset)

    def select_item_sql(self, query: Query, ref: str, table: Table, item: SelectItem) -> None:
        sub = Query()
        if item.field is None:  # count()
            sub.add("*")
        else:
            self.field_sql(sub, ref, table, item.field)
        text = sub.text()
        if item.cast:
            text = f"CAST( {text} AS {item.cast} )"
        if item.aggregate is not None:
            text = f"{item.aggregate.upper()}({text})"
            if item.aggregate_cast:
                text = f"CAST( {text} AS {item.aggregate_cast} )"
        query.add(text, *sub.params)
        alias = item.alias
        if alias is None and item.field is not None and item.field.path:
            alias = item.field.default_alias()
        if alias is None and item.cast and item.field is not None:
            alias = item.field.name
        if alias is not None:
            query.add(f" AS {q(alias)}")

    # -- reads -----------------------------------------------------------------------------------------------

    def read_sql(self, query: Query, node: ReadNode, *, from_sql: str, ref: str, join: list[str] | None = None,
                 top_limit: int | None = None, top_offset: int = 0, root: bool = True,
                 skip_conditions: bool = False) -> None:
        """`SELECT … FROM … [joins] WHERE … ORDER BY … LIMIT … OFFSET …` for `node` (readPlanToQuery)."""
        query.add("SELECT ")
        items = node.items
        selects = 0
        grouped = any(i.aggregate for i in items)
        if not items and not [e for e in node.embeds if not e.empty]:
            items = [SelectItem(Field("*"))]
        for item in items:
            if selects:
                query.add(", ")
            self.select_item_sql(query, ref, node.table, item)
            selects += 1
        joins = []
        for embed in node.embeds:
            sub = Query()
            self.embed_sql(sub, embed, parent_ref=ref)
            joins.append(sub)
            if embed.empty:
                continue
            if selects:
                query.add(", ")
            selects += 1
            alias = q(embed.agg_alias)
            if embed.spread:
                query.add(f"{alias}.*")
            elif embed.relationship.to_one:
                query.add(f"row_to_json({alias}.*) AS {q(embed.key)}")
            else:
                query.add(f"COALESCE( {alias}.{alias}, '[]') AS {q(embed.key)}")
        if selects == 0:
            query.add("NULL")
        query.add(f" FROM {from_sql}")
        for sub in joins:
            query.add(" ")
            query.parts.extend(sub.parts)
            query.params.extend(sub.params)
        if not skip_conditions:
            self.where_sql(query, ref, node, join)
        elif join:
            query.add(" WHERE " + " AND ".join(join))
        if grouped:
            terms: list[Query] = []
            for item in items:
                if item.aggregate is None and item.field is not None:
                    term = Query()
                    if item.alias:
                        term.add(q(item.alias))
                    else:
                        self.field_sql(term, ref, node.table, item.field)
                    terms.append(term)
            for embed in node.embeds:
                if embed.empty:
                    continue
                if embed.spread:
                    for key in self.spread_keys(embed.node):
                        terms.append(Query().add(f"{q(embed.agg_alias)}.{q(key)}"))
                else:  # the lateral row itself (json has no equality to group by)
                    terms.append(Query().add(q(embed.agg_alias)))
            if terms:
                query.add(" GROUP BY ")
                for i, term in enumerate(terms):
                    if i:
                        query.add(", ")
                    query.add(term.text(), *term.params)
        if skip_conditions:
            return
        self.order_sql(query, ref, node)
        if root:
            self.limit_sql(query, top_limit, top_offset)
        else:
            self.limit_sql(query, node.limit, node.offset)

    def _join_conditions(self, embed: Embed, parent_ref: str) -> tuple[str, list[str]]:
        """The child's FROM and the conditions tying it to the parent."""
        rel = embed.relationship
        child = embed.node
        child_ref = q(child.alias or child.table.name)
        if rel.function is not None:
            parent = embed.parent_row or parent_ref
            return f"{qualified(*rel.function)}({parent}) AS {child_ref}", []
        from_sql = f"{child.table.qi.replace('%', '%%')} AS {child_ref}"
        if rel.cardinality == "M2M" and rel.junction is not None:
            junction = qualified(*rel.junction)
            from_sql += f", {junction}"
            conds = [f"{child_ref}.{q(fc)} = {junction}.{q(jc)}" for jc, fc in rel.junction_columns_target]
            conds += [f"{junction}.{q(jc)} = {parent_ref}.{q(pc)}" for jc, pc in rel.junction_columns_source]
            return from_sql, conds
        conds = [f"{child_ref}.{q(cc)} = {parent_ref}.{q(pc)}" for pc, cc in rel.columns]
        return from_sql, conds

    def embed_sql(self, query: Query, embed: Embed, *, parent_ref: str) -> None:
        child = embed.node
        child_ref = q(child.alias or child.table.name)
        from_sql, conds = self._join_conditions(embed, parent_ref)
        sub = Query()
        self.read_sql(sub, child, from_sql=from_sql, ref=child_ref, join=conds, root=False)
        alias = q(embed.agg_alias)
        kind = "INNER" if embed.join == "inner" else "LEFT"
        if embed.relationship.to_one:
            query.add(f"{kind} JOIN LATERAL ( ")
            query.parts.extend(sub.parts)
            query.params.extend(sub.params)
            query.add(f" ) AS {alias} ON TRUE")
        elif embed.spread:
            # a to-many spread: each selected column becomes an array of its values (PostgREST v13+)
            keys = self.spread_keys(child)
            aggregates = ", ".join(f"COALESCE(json_agg({alias}.{q(k)}), '[]') AS {q(k)}" for k in keys) or "NULL"
            query.add(f"{kind} JOIN LATERAL ( SELECT {aggregates} FROM (")
            query.parts.extend(sub.parts)
            query.params.extend(sub.params)
            query.add(f" ) AS {alias} ) AS {alias} ON TRUE")
        else:
            query.add(f"{kind} JOIN LATERAL ( SELECT json_agg({alias}) AS {alias}FROM (")
            query.parts.extend(sub.parts)
            query.params.extend(sub.params)
            on = f"{alias} IS NOT NULL" if embed.join == "inner" else "TRUE"
            query.add(f" ) AS {alias} ) AS {alias} ON {on}")

    @staticmethod
    def spread_keys(node: ReadNode) -> list[str]:
        """The JSON keys a node's select produces (for a to-many spread)."""
        keys: list[str] = []
        for item in node.items:
            if item.field is None:
                keys.append(item.alias or "count")
            elif item.field.name == "*" and not item.field.path:
                keys.extend(sorted(node.table.columns, key=lambda c: node.table.columns[c].position))
            else:
                keys.append(item.alias or item.field.default_alias() or
                            (item.aggregate if item.aggregate else item.field.name))
        for embed in node.embeds:
            if not embed.empty and not embed.spread:
                keys.append(embed.key)
        return keys

    def count_sql(self, query: Query, node: ReadNode, *, from_sql: str | None = None, parent_ref: str | None = None,
                  embed: Embed | None = None, ref: str | None = None) -> None:
        """`SELECT 1 FROM … WHERE …` over the same filters (readPlanToCountQuery)."""
        join: list[str] = []
        if embed is not None and parent_ref is not None:
            from_sql, join = self._join_conditions(embed, parent_ref)
            ref = q(node.alias or node.table.name)
        assert from_sql is not None and ref is not None
        query.add(f"SELECT 1 FROM {from_sql}")
        self.where_sql(query, ref, node, join, count=True)


def body_sql(payload: str | None, columns: list[tuple[str, str, str | None]], *, defaults: bool,
             select: bool, limit_one: bool = False) -> Query:
    """`FROM (SELECT $1 AS json_data) pgrst_payload, LATERAL (… json_to_recordset …) pgrst_body` for a JSON array
    payload and the target `columns` (name, type, default expression) (fromJsonBodyF)."""
    query = Query()
    if select:
        query.add("SELECT " + ", ".join(f"{q('pgrst_body')}.{q(c)}" for c, _, _ in columns) + " ")
    if defaults:
        query.add("FROM (SELECT %s::jsonb AS json_data) pgrst_payload, ", payload)
        with_defaults = [(c, d) for c, _, d in columns if d is not None]
        build = "jsonb_build_object(" + ",".join(f"%s::text, {d.replace('%', '%%')}" for _, d in with_defaults) \
            + ")"
        query.add(f"LATERAL (SELECT jsonb_agg({build} || elem) AS val from "
                  "jsonb_array_elements(pgrst_payload.json_data) elem) pgrst_json_defs, ",
                  *[c for c, _ in with_defaults])
        source, elements, recordset = "pgrst_json_defs.val", "jsonb_array_elements", "jsonb_to_recordset"
    else:
        query.add("FROM (SELECT %s::json AS json_data) pgrst_payload, ", payload)
        source, elements, recordset = "pgrst_payload.json_data", "json_array_elements", "json_to_recordset"
    if not columns:
        query.add(f"LATERAL (SELECT FROM {elements}({source}) _ ) pgrst_body ")
    else:
        names = ", ".join(q(c) for c, _, _ in columns)
        typed = ", ".join(f"{q(c)} {t}" for c, t, _ in columns)
        query.add(f"LATERAL (SELECT {names} FROM {recordset}({source}) AS _({typed}) "
                  f"{'LIMIT 1' if limit_one else ''}) pgrst_body ")
    return query
