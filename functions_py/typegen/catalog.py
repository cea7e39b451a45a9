"""What the type generators need from pg_catalog: the schemas' tables, views, columns, foreign keys, functions and
types, read in one pass (a handful of queries) into plain dataclasses.

This mirrors what supabase/postgres-meta reads for `supabase gen types` (its lib/sql/*.sql), from the catalog
directly and independently of the Data API's schema cache: the generators must describe the database as
PostgREST will see it on hosted Supabase, whatever our local server implements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Every type the schemas' objects mention, with what a generator needs to name it: enums' labels in their sort
# order, composite types' attributes, arrays' element type, domains' base type.
TYPE_SELECT_MANY = """
select t.oid::int8, n.nspname, t.typname, t.typtype::text, t.typelem::int8, t.typbasetype::int8,
  t.typrelid::int8, coalesce(c.relkind::text, ''),
  coalesce((select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum as e
            where e.enumtypid = t.oid), '{}')
from pg_type as t
join pg_namespace as n on n.oid = t.typnamespace
left join pg_class as c on c.oid = t.typrelid
"""
RELATION_SELECT_MANY = """
select c.oid::int8, n.nspname, c.relname, c.relkind::text,
  (pg_relation_is_updatable(c.oid, false) & 20) = 20
from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p', 'f', 'v', 'm', 'c')
  and not c.relispartition
"""
COLUMN_SELECT_MANY = """
select a.attrelid::int8, a.attname, a.atttypid::int8, not a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
  a.attidentity::text, a.attgenerated::text, pg_column_is_updatable(a.attrelid, a.attnum, false), a.attnum
from pg_attribute as a
join pg_class as c on c.oid = a.attrelid
join pg_namespace as n on n.oid = c.relnamespace
left join pg_attrdef as d on d.adrelid = a.attrelid and d.adnum = a.attnum
where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p', 'f', 'v', 'm', 'c') and a.attnum > 0
  and not a.attisdropped
order by a.attrelid, a.attnum
"""
# Foreign keys between relations of one schema; one-to-one when the referencing columns are themselves unique.
RELATIONSHIP_SELECT_MANY = """
select con.conname, src_ns.nspname, src.relname,
  array(select a.attname::text from unnest(con.conkey) with ordinality as k (attnum, ord)
        join pg_attribute as a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.ord),
  dst_ns.nspname, dst.relname,
  array(select a.attname::text from unnest(con.confkey) with ordinality as k (attnum, ord)
        join pg_attribute as a on a.attrelid = con.confrelid and a.attnum = k.attnum order by k.ord),
  exists (select 1 from pg_index as i where i.indrelid = con.conrelid and i.indisunique and i.indpred is null
          and (select array_agg(x order by x) from unnest(i.indkey::int2[]) as x)
            = (select array_agg(y order by y) from unnest(con.conkey) as y))
from pg_constraint as con
join pg_class as src on src.oid = con.conrelid
join pg_namespace as src_ns on src_ns.oid = src.relnamespace
join pg_class as dst on dst.oid = con.confrelid
join pg_namespace as dst_ns on dst_ns.oid = dst.relnamespace
where con.contype = 'f' and src_ns.nspname = any(%(schemas)s)
"""
# Functions PostgREST can call: plain functions (not procedures, aggregates or window functions), not triggers.
FUNCTION_SELECT_MANY = """
select p.oid::int8, n.nspname, p.proname, p.prorettype::int8, p.proretset,
  coalesce(p.proallargtypes::int8[], p.proargtypes::int8[]),
  coalesce(p.proargmodes::text[], array_fill('i'::text, array[p.pronargs::int])),
  coalesce(p.proargnames, array_fill(''::text, array[coalesce(array_length(p.proallargtypes, 1), p.pronargs::int)])),
  p.pronargdefaults, p.pronargs
from pg_proc as p join pg_namespace as n on n.oid = p.pronamespace
where n.nspname = any(%(schemas)s) and p.prokind = 'f'
  and p.prorettype not in ('trigger'::regtype, 'event_trigger'::regtype)
  and not exists (select 1 from pg_depend as d where d.objid = p.oid and d.deptype = 'e')
order by p.oid
"""


@dataclass(frozen=True)
class PgType:
    oid: int
    schema: str
    name: str
    typtype: str  # b base, c composite, d domain, e enum, p pseudo, r range, m multirange
    element: int  # the element type of an array type, else 0
    base: int  # the base type of a domain, else 0
    relation: int  # the relation of a composite (row) type, else 0
    relkind: str  # that relation's kind ('c' for a standalone composite type)
    labels: tuple[str, ...]  # an enum's values in their sort order


@dataclass(frozen=True)
class Column:
    name: str
    type_oid: int
    nullable: bool
    default: str | None
    identity: str  # '' not an identity, 'a' always, 'd' by default
    generated: str  # '' or 's' (stored generated)
    updatable: bool


@dataclass
class Relation:
    oid: int
    schema: str
    name: str
    kind: str  # r, p, f (tables), v, m (views), c (composite types)
    updatable: bool
    columns: list[Column] = field(default_factory=list)

    @property
    def is_table(self) -> bool:
        return self.kind in ("r", "p", "f")

    @property
    def is_view(self) -> bool:
        return self.kind in ("v", "m")


@dataclass(frozen=True)
class Relationship:
    foreign_key_name: str
    schema: str
    relation: str
    columns: tuple[str, ...]
    referenced_schema: str
    referenced_relation: str
    referenced_columns: tuple[str, ...]
    is_one_to_one: bool


@dataclass(frozen=True)
class Argument:
    name: str
    type_oid: int
    mode: str  # i in, o out, b inout, v variadic, t table
    has_default: bool


@dataclass(frozen=True)
class Function:
    oid: int
    schema: str
    name: str
    return_type: int
    returns_set: bool
    args: tuple[Argument, ...]

    @property
    def in_args(self) -> tuple[Argument, ...]:
        return tuple(arg for arg in self.args if arg.mode in ("i", "b", "v"))


@dataclass
class Catalog:
    """The schemas' objects. `types` covers every type of the database (by oid)."""

    schemas: tuple[str, ...]
    types: dict[int, PgType]
    relations: list[Relation]
    relationships: list[Relationship]
    functions: list[Function]

    def relation(self, oid: int) -> Relation | None:
        return next((r for r in self.relations if r.oid == oid), None)


def read_catalog(conn: Any, schemas: tuple[str, ...] | list[str]) -> Catalog:
    """The catalog of `schemas`, read from `conn` (any role that can see pg_catalog; the generators do not need
    privileges on the objects themselves, as `supabase gen types` does not)."""
    wanted = list(schemas)
    args = {"schemas": wanted}
    types = {row[0]: PgType(*row[:8], labels=tuple(row[8])) for row in conn.execute(TYPE_SELECT_MANY).fetchall()}
    relations = {row[0]: Relation(*row) for row in conn.execute(RELATION_SELECT_MANY, args).fetchall()}
    for relid, name, type_oid, nullable, default, identity, generated, updatable, _ in conn.execute(
            COLUMN_SELECT_MANY, args).fetchall():
        if relid in relations:
            relations[relid].columns.append(Column(name, type_oid, nullable, default, identity, generated,
                                                   updatable))
    relationships = [Relationship(name, schema, relation, tuple(columns), ref_schema, ref_relation,
                                  tuple(ref_columns), one_to_one)
                     for name, schema, relation, columns, ref_schema, ref_relation, ref_columns, one_to_one
                     in conn.execute(RELATIONSHIP_SELECT_MANY, args).fetchall()]
    functions = []
    for oid, schema, name, rettype, retset, argtypes, modes, names, ndefaults, nargs in conn.execute(
            FUNCTION_SELECT_MANY, args).fetchall():
        arguments = []
        input_index = 0
        for type_oid, mode, arg_name in zip(argtypes, modes, names, strict=False):
            has_default = False
            if mode in ("i", "b", "v"):
                has_default = input_index >= nargs - ndefaults
                input_index += 1
            arguments.append(Argument(arg_name or "", type_oid, mode, has_default))
        functions.append(Function(oid, schema, name, rettype, retset, tuple(arguments)))
    return Catalog(schemas=tuple(wanted), types=types, relations=list(relations.values()),
                   relationships=relationships, functions=functions)


def sort_key(name: str) -> tuple[str, str]:
    """JavaScript's `localeCompare` order (what postgres-meta sorts by) for identifiers: case-insensitive first,
    punctuation such as `_` before digits and letters."""
    folded = name.lower().translate({ord("_"): "\x01", ord("-"): "\x02", ord("$"): "\x03"})
    return folded, name
