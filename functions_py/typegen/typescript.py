"""`supakit gen types typescript`: the `Database` type `supabase gen types typescript --local` writes.

The shape is postgres-meta's (src/server/templates/typescript.ts): `Json`; `Database` with the
`__InternalSupabase: { PostgrestVersion }` key supabase-js reads its client options from, then per schema `Tables`
(Row / Insert / Update / Relationships), `Views`, `Functions` (Args / Returns), `Enums` and `CompositeTypes`; the
`Tables<>` / `TablesInsert<>` / `TablesUpdate<>` / `Enums<>` / `CompositeTypes<>` helpers; and `Constants` with
every enum's values. postgres-meta formats its output with prettier (no semicolons, width 80); this writer lays
the text out by the same rules (a union or object that does not fit on its line breaks), so the file reads as the
Supabase CLI's does. Differences from postgres-meta are listed in docs/typegen.md.
"""

from __future__ import annotations

import json
import re

from functions_py.typegen.catalog import Catalog, Function, Relation, sort_key

# The PostgREST version supabase-js is told the database speaks (the Supabase CLI's local PostgREST).
POSTGREST_VERSION = "13.0.5"
WIDTH = 80

STRING_TYPES = {"bytea", "bpchar", "varchar", "date", "text", "citext", "time", "timetz", "timestamp",
                "timestamptz", "uuid", "vector"}
NUMBER_TYPES = {"int2", "int4", "int8", "float4", "float8", "numeric"}
IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def key(name: str) -> str:
    """A property name as prettier prints it: bare when it is an identifier, else quoted."""
    return name if IDENTIFIER.match(name) else json.dumps(name)


def quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def split_union(ts: str) -> list[str]:
    """The members of a top-level union type (`a | b | null` -> [a, b, null])."""
    parts, depth, current = [], 0, ""
    i = 0
    while i < len(ts):
        char = ts[i]
        if char in "([{<":
            depth += 1
        elif char in ")]}>":
            depth -= 1
        elif char == '"':
            end = ts.index('"', i + 1)
            current += ts[i:end + 1]
            i = end + 1
            continue
        if depth == 0 and ts.startswith(" | ", i):
            parts.append(current)
            current = ""
            i += 3
            continue
        current += char
        i += 1
    parts.append(current)
    return parts


class TypeNamer:
    """pgTypeToTsType: a PostgreSQL type (by oid) as a TypeScript type."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.relations = {r.oid: r for r in catalog.relations}

    def __call__(self, oid: int) -> str:
        types = self.catalog.types
        pg = types.get(oid)
        if pg is None:
            return "unknown"
        if pg.typtype == "d" and pg.base:
            return self(pg.base)
        name = pg.name
        if name == "bool":
            return "boolean"
        if name in NUMBER_TYPES:
            return "number"
        if name in STRING_TYPES:
            return "string"
        if name in ("json", "jsonb"):
            return "Json"
        if name == "void":
            return "undefined"
        if name == "record":
            return "Record<string, unknown>"
        if pg.element and name.startswith("_"):
            inner = self(pg.element)
            return f"({inner})[]" if " | " in inner else f"{inner}[]"
        exposed = pg.schema in self.catalog.schemas
        if pg.typtype == "e":
            if exposed:
                return f"Database[{quote(pg.schema)}][\"Enums\"][{quote(name)}]"
            return " | ".join(quote(label) for label in pg.labels)
        if pg.typtype == "c":
            relation = self.relations.get(pg.relation)
            if not exposed or relation is None:
                return "unknown"
            if pg.relkind == "c":
                return f"Database[{quote(pg.schema)}][\"CompositeTypes\"][{quote(name)}]"
            group = "Tables" if relation.is_table else "Views"
            return f"Database[{quote(pg.schema)}][{quote(group)}][{quote(name)}][\"Row\"]"
        return "unknown"


class Writer:
    """Lines of prettier-shaped TypeScript."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, indent: int, text: str) -> None:
        self.lines.append(" " * indent + text if text else "")

    def prop(self, indent: int, name: str, ts: str, *, optional: bool = False, comma: bool = False) -> None:
        """`name: type`, broken into one union member per line when it does not fit."""
        head = f"{key(name)}{'?' if optional else ''}:"
        tail = "," if comma else ""
        single = f"{head} {ts}{tail}"
        members = split_union(ts)
        if indent + len(single) <= WIDTH or len(members) == 1:
            self.line(indent, single)
            return
        self.line(indent, head)
        for member in members:
            self.line(indent + 2, f"| {member}")
        if tail:
            self.lines[-1] += tail

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _columns(relation: Relation) -> list:
    return sorted(relation.columns, key=lambda c: sort_key(c.name))


def _object_inline(fields: list[tuple[str, str]]) -> str:
    return "{ " + "; ".join(f"{name}: {ts}" for name, ts in fields) + " }"


class TypeScriptGenerator:
    def __init__(self, catalog: Catalog, *, postgrest_version: str = POSTGREST_VERSION) -> None:
        self.catalog = catalog
        self.ts = TypeNamer(catalog)
        self.postgrest_version = postgrest_version
        self.out = Writer()

    # -- per schema -------------------------------------------------------------------------------------------

    def _functions(self, schema: str) -> list[Function]:
        chosen = []
        for fn in self.catalog.functions:
            if fn.schema != schema:
                continue
            in_args = fn.in_args
            # postgres-meta: every input argument named, or a single unnamed one
            if all(arg.name for arg in in_args) or len(in_args) == 1:
                chosen.append(fn)
        return sorted(chosen, key=lambda f: sort_key(f.name))

    def _relations(self, schema: str, *, tables: bool) -> list[Relation]:
        found = [r for r in self.catalog.relations
                 if r.schema == schema and (r.is_table if tables else r.is_view)]
        return sorted(found, key=lambda r: sort_key(r.name))

    def _empty(self, indent: int, title: str) -> None:
        self.out.line(indent, f"{title}: {{")
        self.out.line(indent + 2, "[_ in never]: never")
        self.out.line(indent, "}")

    def _relationships(self, indent: int, relation: Relation) -> None:
        found = [r for r in self.catalog.relationships
                 if r.schema == relation.schema and r.referenced_schema == relation.schema
                 and r.relation == relation.name]
        found.sort(key=lambda r: (sort_key(r.foreign_key_name), sort_key(r.referenced_relation),
                                  json.dumps(list(r.referenced_columns))))
        if not found:
            self.out.line(indent, "Relationships: []")
            return
        self.out.line(indent, "Relationships: [")
        for rel in found:
            self.out.line(indent + 2, "{")
            self.out.prop(indent + 4, "foreignKeyName", quote(rel.foreign_key_name))
            self.out.prop(indent + 4, "columns", json.dumps(list(rel.columns)).replace('","', '", "'))
            self.out.prop(indent + 4, "isOneToOne", "true" if rel.is_one_to_one else "false")
            self.out.prop(indent + 4, "referencedRelation", quote(rel.referenced_relation))
            self.out.prop(indent + 4, "referencedColumns",
                          json.dumps(list(rel.referenced_columns)).replace('","', '", "'))
            self.out.line(indent + 2, "},")
        self.out.line(indent, "]")

    def _computed_fields(self, relation: Relation, functions: list[Function]) -> list[tuple[str, str]]:
        """Functions taking the table's row as their one argument: PostgREST's computed fields, in Row."""
        row_type = next((t.oid for t in self.catalog.types.values() if t.relation == relation.oid), None)
        fields = []
        for fn in functions:
            args = fn.in_args
            if len(args) == 1 and args[0].type_oid == row_type:
                fields.append((fn.name, f"{self.ts(fn.return_type)} | null"))
        return fields

    def _table(self, indent: int, table: Relation, functions: list[Function]) -> None:
        out = self.out
        out.line(indent, f"{key(table.name)}: {{")
        out.line(indent + 2, "Row: {")
        for column in _columns(table):
            out.prop(indent + 4, column.name, self.ts(column.type_oid) + (" | null" if column.nullable else ""))
        for name, ts in self._computed_fields(table, functions):
            out.prop(indent + 4, name, ts)
        out.line(indent + 2, "}")
        for part in ("Insert", "Update"):
            out.line(indent + 2, f"{part}: {{")
            for column in _columns(table):
                if column.identity == "a":  # postgres-meta: only an identity generated always is `never`
                    out.prop(indent + 4, column.name, "never", optional=True)
                    continue
                ts = self.ts(column.type_oid) + (" | null" if column.nullable else "")
                optional = (part == "Update" or column.nullable or column.identity != ""
                            or column.default is not None)
                out.prop(indent + 4, column.name, ts, optional=optional)
            out.line(indent + 2, "}")
        self._relationships(indent + 2, table)
        out.line(indent, "}")

    def _view(self, indent: int, view: Relation) -> None:
        out = self.out
        out.line(indent, f"{key(view.name)}: {{")
        out.line(indent + 2, "Row: {")
        for column in _columns(view):
            out.prop(indent + 4, column.name, self.ts(column.type_oid) + (" | null" if column.nullable else ""))
        out.line(indent + 2, "}")
        if view.updatable:
            for part in ("Insert", "Update"):
                out.line(indent + 2, f"{part}: {{")
                for column in _columns(view):
                    ts = "never" if not column.updatable else f"{self.ts(column.type_oid)} | null"
                    out.prop(indent + 4, column.name, ts, optional=True)
                out.line(indent + 2, "}")
        self._relationships(indent + 2, view)
        out.line(indent, "}")

    def _returns(self, fn: Function) -> tuple[list[tuple[str, str]] | None, str]:
        """(fields of a returned row, or None; the type when it is not a row) of `fn`, before `[]` for a set."""
        table_args = [arg for arg in fn.args if arg.mode == "t"]
        if table_args:
            return [(key(arg.name), self.ts(arg.type_oid)) for arg in table_args], ""
        pg = self.catalog.types.get(fn.return_type)
        relation = self.catalog.relation(pg.relation) if pg and pg.relation else None
        if relation is not None and relation.kind != "c":
            return [(key(c.name), self.ts(c.type_oid) + (" | null" if c.nullable else ""))
                    for c in _columns(relation)], ""
        return None, self.ts(fn.return_type)

    def _function(self, indent: int, name: str, overloads: list[Function]) -> None:
        out = self.out
        variants = []
        for fn in overloads:
            args = sorted((arg for arg in fn.args if arg.mode == "i"), key=lambda a: sort_key(a.name))
            if not args:
                variants.append(None)
            else:
                variants.append([(f"{key(arg.name)}{'?' if arg.has_default else ''}", self.ts(arg.type_oid))
                                 for arg in args])
        first = overloads[0]
        fields, returns = self._returns(first)
        suffix = "[]" if first.returns_set else ""
        args_inline = " | ".join("never" if v is None else _object_inline(v) for v in variants)
        if fields is None:
            one_line = f"{key(name)}: {{ Args: {args_inline}; Returns: {returns}{suffix} }}"
            if indent + len(one_line) <= WIDTH:
                out.line(indent, one_line)
                return
        out.line(indent, f"{key(name)}: {{")
        if indent + 2 + len(f"Args: {args_inline}") <= WIDTH or all(v is None for v in variants):
            out.line(indent + 2, f"Args: {args_inline}")
        elif len(variants) == 1:
            out.line(indent + 2, "Args: {")
            for arg_name, ts in variants[0]:
                out.line(indent + 4, f"{arg_name}: {ts}")
            out.line(indent + 2, "}")
        else:
            out.line(indent + 2, "Args:")
            for variant in variants:
                if variant is None:
                    out.line(indent + 4, "| never")
                    continue
                inline = f"| {_object_inline(variant)}"
                if indent + 4 + len(inline) <= WIDTH:
                    out.line(indent + 4, inline)
                    continue
                out.line(indent + 4, "| {")
                for arg_name, ts in variant:
                    out.line(indent + 8, f"{arg_name}: {ts}")
                out.line(indent + 6, "}")
        if fields is None:
            out.prop(indent + 2, "Returns", returns + suffix)
        else:
            out.line(indent + 2, "Returns: {")
            for field_name, ts in fields:
                out.line(indent + 4, f"{field_name}: {ts}")
            out.line(indent + 2, "}" + suffix)
        out.line(indent, "}")

    def _schema(self, schema: str) -> None:
        out = self.out
        indent = 2
        out.line(indent, f"{key(schema)}: {{")
        functions = self._functions(schema)
        tables = self._relations(schema, tables=True)
        views = self._relations(schema, tables=False)
        if tables:
            out.line(indent + 2, "Tables: {")
            for table in tables:
                self._table(indent + 4, table, functions)
            out.line(indent + 2, "}")
        else:
            self._empty(indent + 2, "Tables")
        if views:
            out.line(indent + 2, "Views: {")
            for view in views:
                self._view(indent + 4, view)
            out.line(indent + 2, "}")
        else:
            self._empty(indent + 2, "Views")
        if functions:
            out.line(indent + 2, "Functions: {")
            grouped: dict[str, list[Function]] = {}
            for fn in functions:
                grouped.setdefault(fn.name, []).append(fn)
            for name, overloads in grouped.items():
                self._function(indent + 4, name, overloads)
            out.line(indent + 2, "}")
        else:
            self._empty(indent + 2, "Functions")
        enums = self._enums(schema)
        if enums:
            out.line(indent + 2, "Enums: {")
            for pg in enums:
                out.prop(indent + 4, pg.name, " | ".join(quote(label) for label in pg.labels))
            out.line(indent + 2, "}")
        else:
            self._empty(indent + 2, "Enums")
        composites = self._composites(schema)
        if composites:
            out.line(indent + 2, "CompositeTypes: {")
            for pg, relation in composites:
                out.line(indent + 4, f"{key(pg.name)}: {{")
                for column in relation.columns:
                    out.prop(indent + 6, column.name, f"{self.ts(column.type_oid)} | null")
                out.line(indent + 4, "}")
            out.line(indent + 2, "}")
        else:
            self._empty(indent + 2, "CompositeTypes")
        out.line(indent, "}")

    def _enums(self, schema: str) -> list:
        return sorted((t for t in self.catalog.types.values() if t.schema == schema and t.typtype == "e"),
                      key=lambda t: sort_key(t.name))

    def _composites(self, schema: str) -> list:
        found = []
        for pg in self.catalog.types.values():
            if pg.schema == schema and pg.typtype == "c" and pg.relkind == "c":
                relation = self.catalog.relation(pg.relation)
                if relation is not None and relation.columns:
                    found.append((pg, relation))
        return sorted(found, key=lambda item: sort_key(item[0].name))

    # -- the file ---------------------------------------------------------------------------------------------

    def generate(self) -> str:
        out = self.out
        for text in JSON_TYPE:
            out.line(0, text)
        out.line(0, "")
        out.line(0, "export type Database = {")
        out.line(2, "// Allows to automatically instantiate createClient with right options")
        out.line(2, "// instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)")
        out.line(2, "__InternalSupabase: {")
        out.line(4, f"PostgrestVersion: {quote(self.postgrest_version)}")
        out.line(2, "}")
        schemas = sorted(self.catalog.schemas, key=sort_key)
        for schema in schemas:
            self._schema(schema)
        out.line(0, "}")
        out.line(0, "")
        default = "public" if "public" in schemas else schemas[0]
        for text in HELPERS.replace("__DEFAULT_SCHEMA__", quote(default)).splitlines():
            out.line(0, text)
        out.line(0, "")
        out.line(0, "export const Constants = {")
        for schema in schemas:
            out.line(2, f"{key(schema)}: {{")
            enums = self._enums(schema)
            if not enums:
                out.line(4, "Enums: {},")
            else:
                out.line(4, "Enums: {")
                for pg in enums:
                    inline = f"{key(pg.name)}: [{', '.join(quote(label) for label in pg.labels)}],"
                    if 6 + len(inline) <= WIDTH:
                        out.line(6, inline)
                    else:
                        out.line(6, f"{key(pg.name)}: [")
                        for label in pg.labels:
                            out.line(8, f"{quote(label)},")
                        out.line(6, "],")
                out.line(4, "},")
            out.line(2, "},")
        out.line(0, "} as const")
        return out.text()


def generate_typescript(catalog: Catalog, *, postgrest_version: str = POSTGREST_VERSION) -> str:
    """The `database.types.ts` text for `catalog`'s schemas."""
    return TypeScriptGenerator(catalog, postgrest_version=postgrest_version).generate()


JSON_TYPE = (
    "export type Json =",
    "  | string",
    "  | number",
    "  | boolean",
    "  | null",
    "  | { [key: string]: Json | undefined }",
    "  | Json[]",
)

# postgres-meta's helper types, as prettier prints them (the default schema is substituted).
HELPERS = """\
type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, __DEFAULT_SCHEMA__>]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never"""
