"""`supakit gen types python`: TypedDict models of the schemas for supabase-py users.

For each table `<Name>Row`, `<Name>Insert` and `<Name>Update` (the TypeScript `Row` / `Insert` / `Update`: an
optional key is `NotRequired`, `Update` is `total=False`); for each view `<Name>Row`; for each enum a `Literal`
alias; for each function `<Name>Args` (its named input arguments) and a `<Name>Returns` alias. Names in a schema
other than the first default (`public`) are prefixed with the schema (`GraphqlPublicGraphqlArgs`). Values are what
PostgREST's JSON carries: timestamps, dates and uuids are `str`, json/jsonb is `Json`.
"""

from __future__ import annotations

import json
import keyword
import re

from functions_py.typegen.catalog import Catalog, Function, Relation, sort_key

INT_TYPES = {"int2", "int4", "int8"}
FLOAT_TYPES = {"float4", "float8", "numeric"}
STRING_TYPES = {"bytea", "bpchar", "varchar", "date", "text", "citext", "time", "timetz", "timestamp",
                "timestamptz", "uuid", "vector"}


def camel(name: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words) or "X"
    return f"T{text}" if text[0].isdigit() else text


class PythonGenerator:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.schemas = sorted(catalog.schemas, key=sort_key)
        self.default = "public" if "public" in self.schemas else self.schemas[0]
        self.lines: list[str] = []

    def name(self, schema: str, name: str, suffix: str = "") -> str:
        prefix = "" if schema == self.default else camel(schema)
        return f"{prefix}{camel(name)}{suffix}"

    def py(self, oid: int) -> str:
        pg = self.catalog.types.get(oid)
        if pg is None:
            return "Any"
        if pg.typtype == "d" and pg.base:
            return self.py(pg.base)
        if pg.name == "bool":
            return "bool"
        if pg.name in INT_TYPES:
            return "int"
        if pg.name in FLOAT_TYPES:
            return "float"
        if pg.name in STRING_TYPES:
            return "str"
        if pg.name in ("json", "jsonb"):
            return "Json"
        if pg.name == "void":
            return "None"
        if pg.name == "record":
            return "dict[str, Any]"
        if pg.element and pg.name.startswith("_"):
            return f"list[{self.py(pg.element)}]"
        if pg.typtype == "e":
            if pg.schema in self.catalog.schemas:
                return self.name(pg.schema, pg.name)
            return "Literal[" + ", ".join(json.dumps(label) for label in pg.labels) + "]"
        if pg.typtype == "c" and pg.schema in self.catalog.schemas:
            relation = self.catalog.relation(pg.relation)
            if relation is not None:
                return self.name(pg.schema, pg.name, "" if pg.relkind == "c" else "Row")
        return "Any"

    def emit(self, text: str = "") -> None:
        self.lines.append(text)

    def typed_dict(self, class_name: str, fields: list[tuple[str, str]], *, total: bool = True,
                   doc: str = "") -> None:
        """A TypedDict; a key that is not an identifier (or is a keyword) forces the functional form."""
        if any(not name.isidentifier() or keyword.iskeyword(name) for name, _ in fields):
            body = ", ".join(f"{name!r}: {ts}" for name, ts in fields)
            self.emit(f"{class_name} = TypedDict({class_name!r}, {{{body}}}, total={total})")
            self.emit()
            self.emit()
            return
        self.emit(f"class {class_name}(TypedDict{'' if total else ', total=False'}):")
        if doc:
            self.emit(f'    """{doc}"""')
            self.emit()
        if not fields:
            self.emit("    pass")
        for name, ts in fields:
            self.emit(f"    {name}: {ts}")
        self.emit()
        self.emit()

    def relation(self, relation: Relation) -> None:
        columns = sorted(relation.columns, key=lambda c: sort_key(c.name))
        where = f"{relation.schema}.{relation.name}"
        rows = [(c.name, self.py(c.type_oid) + (" | None" if c.nullable else "")) for c in columns]
        self.typed_dict(self.name(relation.schema, relation.name, "Row"), rows, doc=f"A row of {where}.")
        if not relation.is_table:
            return
        inserts = []
        for c in columns:
            if c.identity == "a":
                continue
            ts = self.py(c.type_oid) + (" | None" if c.nullable else "")
            optional = c.nullable or c.identity != "" or c.default is not None
            inserts.append((c.name, f"NotRequired[{ts}]" if optional else ts))
        self.typed_dict(self.name(relation.schema, relation.name, "Insert"), inserts,
                        doc=f"What an insert into {where} may send.")
        updates = [(c.name, self.py(c.type_oid) + (" | None" if c.nullable else "")) for c in columns
                   if c.identity != "a"]
        self.typed_dict(self.name(relation.schema, relation.name, "Update"), updates, total=False,
                        doc=f"What an update of {where} may send.")

    def function(self, fn: Function) -> None:
        args = [arg for arg in fn.args if arg.mode == "i"]
        fields = [(arg.name, f"NotRequired[{self.py(arg.type_oid)}]" if arg.has_default else self.py(arg.type_oid))
                  for arg in args]
        base = self.name(fn.schema, fn.name)
        self.typed_dict(f"{base}Args", fields, doc=f"The arguments of rpc('{fn.name}').")
        table_args = [arg for arg in fn.args if arg.mode == "t"]
        pg = self.catalog.types.get(fn.return_type)
        if table_args:
            self.typed_dict(f"{base}Result", [(arg.name, self.py(arg.type_oid)) for arg in table_args],
                            doc=f"One row rpc('{fn.name}') returns.")
            returns = f"{base}Result"
        elif pg is not None and pg.relation and pg.relkind != "c":
            returns = self.py(fn.return_type)
        else:
            returns = self.py(fn.return_type)
        if fn.returns_set:
            returns = f"list[{returns}]"
        self.emit(f"{base}Returns = {returns}")
        self.emit()

    def generate(self) -> str:
        self.emit('"""Typed models of the database for supabase-py, generated by `supakit gen types python`: do not '
                  'edit.')
        self.emit()
        self.emit("Rows are what PostgREST returns as JSON (timestamps, dates and uuids are strings). Use them to "
                  "annotate results:")
        self.emit("`rows: list[ProjectsRow] = client.table('projects').select('*').execute().data`.")
        self.emit('"""')
        self.emit()
        # no `from __future__ import annotations`: TypedDict must see NotRequired[...] to know optional keys
        self.emit("from typing import Any, Literal, NotRequired, TypedDict, Union")
        self.emit()
        self.emit('Json = Union[str, int, float, bool, None, dict[str, "Json"], list["Json"]]  # noqa: UP007')
        self.emit()
        for schema in self.schemas:
            self.emit()
            self.emit(f"# -- {schema} " + "-" * max(0, 112 - len(schema)))
            self.emit()
            enums = sorted((t for t in self.catalog.types.values() if t.schema == schema and t.typtype == "e"),
                           key=lambda t: sort_key(t.name))
            for pg in enums:
                self.emit(f"{self.name(schema, pg.name)} = Literal[{', '.join(json.dumps(v) for v in pg.labels)}]")
            if enums:
                self.emit()
                self.emit()
            relations = sorted((r for r in self.catalog.relations
                                if r.schema == schema and (r.is_table or r.is_view)), key=lambda r: sort_key(r.name))
            composites = sorted((r for r in self.catalog.relations if r.schema == schema and r.kind == "c"),
                                key=lambda r: sort_key(r.name))
            for composite in composites:
                fields = [(c.name, f"{self.py(c.type_oid)} | None") for c in composite.columns]
                self.typed_dict(self.name(schema, composite.name), fields, total=True,
                                doc=f"The composite type {schema}.{composite.name}.")
            for relation in relations:
                self.relation(relation)
            functions = sorted((f for f in self.catalog.functions if f.schema == schema),
                               key=lambda f: (sort_key(f.name), f.oid))
            seen = set()
            for fn in functions:
                if fn.name in seen:  # an overload: the first definition names the models
                    continue
                seen.add(fn.name)
                in_args = fn.in_args
                if all(arg.name for arg in in_args) or len(in_args) == 1:
                    self.function(fn)
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


def generate_python(catalog: Catalog) -> str:
    """The `database_types.py` text for `catalog`'s schemas."""
    return PythonGenerator(catalog).generate()
