"""The schema cache: what PostgREST knows about the exposed schemas, read from pg_catalog in one transaction.

Tables and views with their columns (type, default, nullability, position), primary keys, unique keys, foreign
keys (composite ones included) turned into relationships (many-to-one, one-to-many, one-to-one, many-to-many
through junction tables whose key holds both foreign keys), views' column lineage to their base tables so views
embed through the base tables' keys, functions (arguments, return type, volatility), the roles' own settings, and
the type names casts may use.

A SchemaCache is immutable once built; `load()` builds a new one and the server swaps the reference, so a request
sees either the old cache or the new one, never half of either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from psycopg import AsyncConnection, sql


@lru_cache(maxsize=65536)
def ident(name: str) -> str:
    """`name` quoted as an SQL identifier (psycopg.sql does the quoting)."""
    return sql.Identifier(name).as_string(None)


def qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


@dataclass(frozen=True)
class Column:
    name: str
    type: str             # format_type(): what a cast or a json_to_recordset column list uses
    base_type: str        # the type's name without modifiers, for OpenAPI and tsvector checks
    nullable: bool
    default: str | None   # pg_get_expr of the default: SQL from the catalog, never from a request
    position: int
    description: str | None = None
    is_array: bool = False
    enum: tuple[str, ...] = ()
    max_length: int | None = None


@dataclass
class Table:
    schema: str
    name: str
    kind: str                                  # r, p (tables), v, m (views), f (foreign tables)
    columns: dict[str, Column]
    pk: tuple[str, ...] = ()
    uniques: list[tuple[str, ...]] = field(default_factory=list)
    insertable: bool = True
    updatable: bool = True
    deletable: bool = True
    description: str | None = None

    @property
    def is_view(self) -> bool:
        return self.kind in ("v", "m")

    @property
    def qi(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class Relationship:
    """A way to embed `foreign` in `table`: `columns` pairs (table column, foreign column); for many-to-many,
    `junction` with its two constraints and column pairs (junction column, side column)."""

    table: tuple[str, str]
    foreign: tuple[str, str]
    cardinality: str                            # M2O, O2M, O2O, M2M
    constraint: str
    columns: tuple[tuple[str, str], ...]
    junction: tuple[str, str] | None = None
    junction_constraint_source: str = ""
    junction_columns_source: tuple[tuple[str, str], ...] = ()   # (junction col, table col)
    junction_constraint_target: str = ""
    junction_columns_target: tuple[tuple[str, str], ...] = ()   # (junction col, foreign col)
    is_self: bool = False
    function: tuple[str, str] | None = None     # a computed relationship: the function of the parent's row

    @property
    def to_one(self) -> bool:
        return self.cardinality in ("M2O", "O2O")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    mode: str            # i, o, b, v, t
    has_default: bool

    @property
    def is_input(self) -> bool:
        return self.mode in ("i", "b", "v")


@dataclass
class Function:
    schema: str
    name: str
    params: tuple[Param, ...]
    return_type: str                 # format_type of prorettype
    return_type_schema: str
    return_type_name: str
    returns_set: bool
    returns_composite: bool          # a table type / composite: rows are objects
    returns_void: bool
    volatility: str                  # v, s, i
    variadic: bool
    description: str | None = None
    table_return: bool = False       # RETURNS TABLE / OUT params (a record with columns)

    @property
    def inputs(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.is_input)

    @property
    def qi(self) -> str:
        return qualified(self.schema, self.name)

    @property
    def returns_scalar(self) -> bool:
        return not self.returns_composite and not self.table_return and not self.returns_void


@dataclass
class SchemaCache:
    schemas: tuple[str, ...]
    tables: dict[tuple[str, str], Table]
    relationships: dict[tuple[str, str], list[Relationship]]
    functions: dict[tuple[str, str], list[Function]]
    role_settings: dict[str, list[tuple[str, str]]]
    type_names: frozenset[str]
    existing_schemas: frozenset[str]
    roles: frozenset[str] = frozenset()
    timezones: frozenset[str] = frozenset()
    # computed fields: (table schema, table) -> field name -> (function schema, function name)
    computed: dict[tuple[str, str], dict[str, tuple[str, str]]] = field(default_factory=dict)

    def table(self, schema: str, name: str) -> Table | None:
        return self.tables.get((schema, name))

    def relationships_of(self, schema: str, name: str) -> list[Relationship]:
        return self.relationships.get((schema, name), [])


_TABLES = """
select n.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class'),
  c.relkind in ('r', 'p') or (pg_catalog.pg_relation_is_updatable(c.oid, true) & 8) = 8,
  c.relkind in ('r', 'p') or (pg_catalog.pg_relation_is_updatable(c.oid, true) & 4) = 4,
  c.relkind in ('r', 'p') or (pg_catalog.pg_relation_is_updatable(c.oid, true) & 16) = 16,
  c.oid
from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
where c.relkind in ('r', 'v', 'm', 'f', 'p') and n.nspname = any(%(schemas)s) and not c.relispartition
"""

_COLUMNS = """
select c.oid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
  coalesce(bt.typname, t.typname), not (a.attnotnull or (t.typtype = 'd' and t.typnotnull)),
  pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attnum, col_description(c.oid, a.attnum),
  t.typcategory = 'A' or bt.typcategory = 'A',
  coalesce((select array_agg(e.enumlabel order by e.enumsortorder) from pg_catalog.pg_enum as e
            where e.enumtypid = coalesce(bt.oid, t.oid)), '{}'),
  case when a.atttypmod > 4 and t.typname in ('varchar', 'bpchar') then a.atttypmod - 4 end
from pg_catalog.pg_attribute as a
join pg_catalog.pg_class as c on c.oid = a.attrelid
join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
join pg_catalog.pg_type as t on t.oid = a.atttypid
left join pg_catalog.pg_type as bt on t.typtype = 'd' and bt.oid = t.typbasetype
left join pg_catalog.pg_attrdef as d on d.adrelid = a.attrelid and d.adnum = a.attnum
where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'v', 'm', 'f', 'p')
  and n.nspname = any(%(schemas)s)
order by c.oid, a.attnum
"""

# Keys of every table (any schema: relationships may point outside the exposed ones).
_KEYS = """
select con.conrelid, con.contype, con.conname,
  array(select a.attname from unnest(con.conkey) with ordinality as k(attnum, i)
        join pg_catalog.pg_attribute as a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.i)
from pg_catalog.pg_constraint as con
where con.contype in ('p', 'u')
"""

_FOREIGN_KEYS = """
select con.conname, ns.nspname, cs.relname, nf.nspname, cf.relname,
  array(select a.attname from unnest(con.conkey) with ordinality as k(attnum, i)
        join pg_catalog.pg_attribute as a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.i),
  array(select a.attname from unnest(con.confkey) with ordinality as k(attnum, i)
        join pg_catalog.pg_attribute as a on a.attrelid = con.confrelid and a.attnum = k.attnum order by k.i),
  con.conrelid, con.confrelid
from pg_catalog.pg_constraint as con
join pg_catalog.pg_class as cs on cs.oid = con.conrelid
join pg_catalog.pg_namespace as ns on ns.oid = cs.relnamespace
join pg_catalog.pg_class as cf on cf.oid = con.confrelid
join pg_catalog.pg_namespace as nf on nf.oid = cf.relnamespace
where con.contype = 'f'
order by con.conname
"""

_VIEW_DEFINITIONS = """
select c.oid, r.ev_action::text
from pg_catalog.pg_class as c
join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
join pg_catalog.pg_rewrite as r on r.ev_class = c.oid and r.rulename = '_RETURN'
where c.relkind in ('v', 'm') and n.nspname = any(%(schemas)s)
"""

_RELATION_NAMES = """
select c.oid, n.nspname, c.relname,
  array(select a.attname from pg_catalog.pg_attribute as a where a.attrelid = c.oid and a.attnum > 0
        order by a.attnum)
from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
where c.oid = any(%(oids)s)
"""

_FUNCTIONS = """
select n.nspname, p.proname, coalesce(p.proargnames, '{}'),
  array(select pg_catalog.format_type(t, null) from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) as t),
  coalesce(p.proargmodes::text[], '{}'), p.pronargs, p.pronargdefaults,
  pg_catalog.format_type(p.prorettype, null), rn.nspname, rt.typname, p.proretset,
  rt.typtype = 'c' or (rt.typtype = 'p' and rt.typname = 'record'
                       and coalesce(p.proargmodes::text[] && '{o,b,t}', false)),
  p.prorettype = 'pg_catalog.void'::regtype, p.provolatile, p.provariadic <> 0,
  obj_description(p.oid, 'pg_proc'),
  coalesce(p.proargmodes::text[] && '{o,b,t}', false)
from pg_catalog.pg_proc as p
join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
join pg_catalog.pg_type as rt on rt.oid = p.prorettype
join pg_catalog.pg_namespace as rn on rn.oid = rt.typnamespace
where n.nspname = any(%(schemas)s) and p.prokind = 'f'
order by p.oid
"""

_ROLE_SETTINGS = """
select r.rolname, s.setconfig
from pg_catalog.pg_db_role_setting as s join pg_catalog.pg_roles as r on r.oid = s.setrole
where s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
order by s.setdatabase
"""

_TYPE_NAMES = "select distinct typname from pg_catalog.pg_type where typname !~ '^_'"
_SCHEMAS = "select nspname from pg_catalog.pg_namespace"
_ROLES = "select rolname from pg_catalog.pg_roles"
_TIMEZONES = "select name from pg_catalog.pg_timezone_names"

# Functions taking one row of a table and returning a scalar: PostgREST's computed fields.
_COMPUTED = """
select tn.nspname, tc.relname, p.proname, n.nspname
from pg_catalog.pg_proc as p
join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
join pg_catalog.pg_type as t on t.oid = p.proargtypes[0]
join pg_catalog.pg_class as tc on tc.oid = t.typrelid
join pg_catalog.pg_namespace as tn on tn.oid = tc.relnamespace
join pg_catalog.pg_type as rt on rt.oid = p.prorettype
where p.pronargs = 1 and p.prokind = 'f' and n.nspname = any(%(schemas)s) and not p.proretset
  and rt.typtype <> 'c' and rt.typrelid = 0
"""

# Functions taking one row of a table and returning rows of a table: PostgREST's computed relationships.
_COMPUTED_RELATIONSHIPS = """
select tn.nspname, tc.relname, n.nspname, p.proname, fn.nspname, fc.relname, p.proretset and p.prorows <> 1
from pg_catalog.pg_proc as p
join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
join pg_catalog.pg_type as t on t.oid = p.proargtypes[0]
join pg_catalog.pg_class as tc on tc.oid = t.typrelid
join pg_catalog.pg_namespace as tn on tn.oid = tc.relnamespace
join pg_catalog.pg_type as rt on rt.oid = p.prorettype
join pg_catalog.pg_class as fc on fc.oid = rt.typrelid
join pg_catalog.pg_namespace as fn on fn.oid = fc.relnamespace
where p.pronargs = 1 and p.prokind = 'f' and n.nspname = any(%(schemas)s)
"""

# SQL's own spellings of type names (what `::int`, `::double precision` ... mean).
SQL_TYPE_ALIASES = frozenset({
    "int", "integer", "smallint", "bigint", "real", "double precision", "float", "decimal", "numeric",
    "boolean", "bool", "character varying", "varchar", "character", "char", "text", "json", "jsonb",
    "timestamp", "timestamptz", "timestamp with time zone", "timestamp without time zone", "date", "time",
    "time with time zone", "time without time zone", "interval", "uuid", "bytea",
})

_TARGET_ENTRY = re.compile(
    r"\{TARGETENTRY :expr .*?:resno (\d+) :resname (\S+) :ressortgroupref \d+ :resorigtbl (\d+) "
    r":resorigcol (\d+) :resjunk (true|false)\}", re.S)


def _view_lineage(action: str) -> dict[str, tuple[int, int]]:
    """View column name -> (base relation oid, column number), from the view's rewrite rule: the parser records
    each output column's origin (resorigtbl / resorigcol). Later entries (the outer query) win over subqueries'."""
    lineage: dict[str, tuple[int, int]] = {}
    for match in _TARGET_ENTRY.finditer(action):
        _, name, table, column, junk = match.groups()
        if junk == "false" and table != "0":
            lineage[name] = (int(table), int(column))
    return lineage


async def load(conn: AsyncConnection, schemas: tuple[str, ...]) -> SchemaCache:
    """Read the catalog (one REPEATABLE READ snapshot) and build a new cache."""
    async with conn.transaction():
        await conn.execute("set transaction isolation level repeatable read, read only")
        existing = frozenset(r[0] for r in await (await conn.execute(_SCHEMAS)).fetchall())
        params = {"schemas": list(schemas)}
        table_rows = await (await conn.execute(_TABLES, params)).fetchall()
        column_rows = await (await conn.execute(_COLUMNS, params)).fetchall()
        key_rows = await (await conn.execute(_KEYS)).fetchall()
        fk_rows = await (await conn.execute(_FOREIGN_KEYS)).fetchall()
        view_rows = await (await conn.execute(_VIEW_DEFINITIONS, params)).fetchall()
        function_rows = await (await conn.execute(_FUNCTIONS, params)).fetchall()
        setting_rows = await (await conn.execute(_ROLE_SETTINGS)).fetchall()
        type_names = frozenset(r[0] for r in await (await conn.execute(_TYPE_NAMES)).fetchall())
        roles = frozenset(r[0] for r in await (await conn.execute(_ROLES)).fetchall())
        timezones = frozenset(r[0] for r in await (await conn.execute(_TIMEZONES)).fetchall())
        computed_rows = await (await conn.execute(_COMPUTED, params)).fetchall()
        computed_rel_rows = await (await conn.execute(_COMPUTED_RELATIONSHIPS, params)).fetchall()
        lineages = {oid: _view_lineage(action) for oid, action in view_rows}
        origin_oids = sorted({t for lin in lineages.values() for t, _ in lin.values()})
        names = await (await conn.execute(_RELATION_NAMES, {"oids": origin_oids})).fetchall() if origin_oids \
            else []

    tables: dict[tuple[str, str], Table] = {}
    by_oid: dict[int, Table] = {}
    for schema, name, kind, description, insertable, updatable, deletable, oid in table_rows:
        table = Table(schema, name, kind, {}, insertable=insertable, updatable=updatable, deletable=deletable,
                      description=description)
        tables[(schema, name)] = table
        by_oid[oid] = table
    for oid, name, type_, base, nullable, default, position, description, is_array, enum, max_len in column_rows:
        table = by_oid.get(oid)
        if table is not None:
            table.columns[name] = Column(name, type_, base, nullable, default, position, description, is_array,
                                         tuple(enum), max_len)
    keys: dict[int, list[tuple[str, str, tuple[str, ...]]]] = {}
    for relid, kind, conname, cols in key_rows:
        keys.setdefault(relid, []).append((kind, conname, tuple(cols)))
        if relid in by_oid:
            if kind == "p":
                by_oid[relid].pk = tuple(cols)
            else:
                by_oid[relid].uniques.append(tuple(cols))

    relation_names = {oid: (schema, name, list(cols)) for oid, schema, name, cols in names}
    # view columns per base table: base oid -> view oid -> base column -> view column (views over views are
    # followed down to the table)
    def origin(view_oid: int, column: str, depth: int = 0) -> tuple[int, str] | None:
        found = lineages.get(view_oid, {}).get(column)
        if found is None or depth > 16:
            return None
        base_oid, attnum = found
        base = relation_names.get(base_oid)
        if base is None or not 0 < attnum <= len(base[2]):
            return None
        if base_oid in lineages:
            return origin(base_oid, base[2][attnum - 1], depth + 1)
        return base_oid, base[2][attnum - 1]

    view_columns: dict[int, dict[int, dict[str, str]]] = {}
    for view_oid, lineage in lineages.items():
        for view_col in lineage:
            found = origin(view_oid, view_col)
            if found is not None:
                view_columns.setdefault(found[0], {}).setdefault(view_oid, {})[found[1]] = view_col

    def key_of(oid: int, cols: tuple[str, ...]) -> bool:
        """Whether `cols` are the primary key or a unique key of relation `oid`."""
        return any(set(k) == set(cols) for _, _, k in keys.get(oid, ()))

    relationships: dict[tuple[str, str], list[Relationship]] = {}

    def add(rel: Relationship) -> None:
        relationships.setdefault(rel.table, []).append(rel)

    fks = []
    for conname, s_schema, s_name, f_schema, f_name, cols, fcols, s_oid, f_oid in fk_rows:
        cols, fcols = tuple(cols), tuple(fcols)
        one_to_one = key_of(s_oid, cols)
        fks.append((conname, s_oid, f_oid, cols, fcols))
        sides = [((s_schema, s_name), dict(zip(cols, cols, strict=True)))]
        for view_oid, mapping in view_columns.get(s_oid, {}).items():
            if all(c in mapping for c in cols) and view_oid in by_oid:
                v = by_oid[view_oid]
                sides.append(((v.schema, v.name), mapping))
        targets = [((f_schema, f_name), dict(zip(fcols, fcols, strict=True)))]
        for view_oid, mapping in view_columns.get(f_oid, {}).items():
            if all(c in mapping for c in fcols) and view_oid in by_oid:
                v = by_oid[view_oid]
                targets.append(((v.schema, v.name), mapping))
        for source, smap in sides:
            for target, tmap in targets:
                pairs = tuple((smap[c], tmap[f]) for c, f in zip(cols, fcols, strict=True))
                is_self = source == target
                add(Relationship(source, target, "O2O" if one_to_one else "M2O", conname, pairs,
                                 is_self=is_self))
                add(Relationship(target, source, "O2O" if one_to_one else "O2M", conname,
                                 tuple((b, a) for a, b in pairs), is_self=is_self))
    # many-to-many: a junction whose primary key (or a unique key) holds the columns of two foreign keys
    by_source: dict[int, list[tuple[str, int, tuple[str, ...], tuple[str, ...]]]] = {}
    for conname, s_oid, f_oid, cols, fcols in fks:
        by_source.setdefault(s_oid, []).append((conname, f_oid, cols, fcols))
    for j_oid, jfks in by_source.items():
        junction = by_oid.get(j_oid) or None
        j_name = relation_names.get(j_oid)
        if junction is None and j_name is None:
            continue
        j_key = (junction.schema, junction.name) if junction else (j_name[0], j_name[1])
        pk = junction.pk if junction else ()
        if not pk:
            continue
        for i, (c1, f1, cols1, fcols1) in enumerate(jfks):
            for c2, f2, cols2, fcols2 in jfks[i + 1:]:
                if not (set(cols1) <= set(pk) and set(cols2) <= set(pk)):
                    continue
                a, b = by_oid.get(f1), by_oid.get(f2)
                if a is None or b is None:
                    continue
                src1 = tuple(zip(cols1, fcols1, strict=True))
                src2 = tuple(zip(cols2, fcols2, strict=True))
                add(Relationship((a.schema, a.name), (b.schema, b.name), "M2M", c1, (), j_key, c1, src1, c2, src2))
                add(Relationship((b.schema, b.name), (a.schema, a.name), "M2M", c2, (), j_key, c2, src2, c1, src1))

    for t_schema, t_name, fn_schema, fn_name, f_schema, f_name, retset in computed_rel_rows:
        add(Relationship((t_schema, t_name), (f_schema, f_name), "O2M" if retset else "M2O", fn_name, (),
                         function=(fn_schema, fn_name)))

    functions: dict[tuple[str, str], list[Function]] = {}
    for (schema, name, arg_names, arg_types, modes, nargs, ndefaults, ret, ret_schema, ret_name, retset,
         composite, void, volatility, variadic, description, table_return) in function_rows:
        modes = list(modes) or ["i"] * len(arg_types)
        params = []
        input_index = 0
        for i, type_ in enumerate(arg_types):
            mode = modes[i]
            pname = arg_names[i] if i < len(arg_names) else ""
            has_default = False
            if mode in ("i", "b", "v"):
                has_default = input_index >= nargs - ndefaults
                input_index += 1
            params.append(Param(pname, type_, mode, has_default))
        functions.setdefault((schema, name), []).append(Function(
            schema, name, tuple(params), ret, ret_schema, ret_name, retset, bool(composite), void,
            volatility, variadic, description, table_return))

    role_settings: dict[str, list[tuple[str, str]]] = {}
    for role, config in setting_rows:
        for item in config or ():
            key, _, value = item.partition("=")
            role_settings.setdefault(role, []).append((key, value))
    computed: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
    for t_schema, t_name, fn_name, fn_schema in computed_rows:
        computed.setdefault((t_schema, t_name), {}).setdefault(fn_name, (fn_schema, fn_name))
    return SchemaCache(schemas, tables, relationships, functions, role_settings,
                       type_names | SQL_TYPE_ALIASES, existing, roles, timezones, computed)


def describe(value: Any) -> str:  # pragma: no cover - debugging aid
    return repr(value)
