"""From parsed query parameters to a plan checked against the schema cache: the read tree (which relation each
embed goes through, which columns exist), the relationship search with PostgREST's rules and errors
(400 PGRST200 none, 300 PGRST201 ambiguous), and RPC overload resolution (404 PGRST202, 300 PGRST203)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from functions_py.rest.errors import ApiError, no_relationship
from functions_py.rest.query_params import EmbedItem, Filter, Logic, OrderTerm, SelectItem
from functions_py.rest.schema_cache import Function, Relationship, SchemaCache, Table


@dataclass
class Embed:
    """One embedded resource under its parent: the relationship, the child node, how it is named and joined."""

    key: str                      # the JSON key (alias or name)
    relationship: Relationship
    node: ReadNode
    join: str | None
    spread: bool
    agg_alias: str                # the lateral subquery's alias
    empty: bool                   # rel(): joined for filtering, not selected
    parent_row: str | None = None  # a computed relationship's argument: the parent's whole row


@dataclass
class ReadNode:
    table: Table
    alias: str | None              # None at the root
    items: list[SelectItem] = field(default_factory=list)
    star: bool = False
    embeds: list[Embed] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    logic: list[Logic] = field(default_factory=list)
    null_embeds: list[tuple[Embed, bool]] = field(default_factory=list)  # (embed, negated)
    order: list[OrderTerm] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def _suggest(word: str, options: list[str]) -> str | None:
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None


def find_relationship(cache: SchemaCache, parent: Table, item: EmbedItem) -> Relationship:
    """The relationship `item` names from `parent`, by PostgREST's rules: the target is a table/view name, a
    foreign key column or a constraint name; the hint a constraint, a column, the other table or a junction."""
    schema = parent.schema
    rels = cache.relationships_of(parent.schema, parent.name)
    target, hint = item.name, item.hint

    def cols_of(rel: Relationship) -> tuple[list[str], list[str]]:
        return [a for a, _ in rel.columns], [b for _, b in rel.columns]

    def matches_hint(rel: Relationship, h: str) -> bool:
        own, theirs = cols_of(rel)
        if rel.constraint == h:
            return True
        if rel.cardinality == "M2M":
            return rel.junction is not None and rel.junction[1] == h
        if len(own) == 1 and own[0] == h:
            return True
        return len(theirs) == 1 and theirs[0] == h

    computed = [r for r in rels if r.function is not None and r.function[1] == target]
    if computed:  # a computed relationship is named by its function
        return computed[0]
    found = []
    for rel in rels:
        if rel.function is not None:
            continue
        if rel.foreign[0] != schema and rel.foreign[0] not in cache.schemas:
            continue
        own, _ = cols_of(rel)
        if rel.foreign[1] == target:
            if hint is None or matches_hint(rel, hint):
                found.append(rel)
        elif rel.cardinality in ("M2O", "O2O") and len(own) == 1 and own[0] == target:
            # select=client_id(*): embed through the foreign key column
            if hint is None or rel.foreign[1] == hint or matches_hint(rel, hint):
                found.append(rel)
        elif rel.cardinality != "M2M" and rel.constraint == target and (hint is None or rel.foreign[1] == hint):
            found.append(rel)
    if len(found) > 1 and hint is None:
        # a relationship through a column or constraint named like the target is more precise than by table
        direct = [r for r in found if r.foreign[1] == target]
        found = direct or found
    if len(found) > 1:
        # a self-reference named by the table (or by the key column) means the children, as in PostgREST
        children = [r for r in found if not (r.is_self and r.cardinality == "M2O")]
        if children and len(children) < len(found):
            found = children
    if len(found) > 1:
        # the same path seen twice (a to-one that is both M2O and O2O views of one key) collapses
        unique = {(r.foreign, r.cardinality, r.constraint, r.junction): r for r in found}
        found = list(unique.values())
    if not found:
        parent_names = [t[1] for t in cache.relationships if t[0] == schema]
        suggestion = None
        if parent.name in parent_names:
            children = sorted({r.foreign[1] for r in rels})
            hit = _suggest(target, children)
            if hit and hit != target:
                suggestion = f"Perhaps you meant '{hit}' instead of '{target}'."
        raise no_relationship(parent.name, target, hint, schema, suggestion)
    if len(found) > 1:
        raise ambiguous(parent.name, target, found)
    return found[0]


def _fmt(cols: list[str]) -> str:
    return "(" + ", ".join(cols) + ")"


def ambiguous(parent: str, child: str, rels: list[Relationship]) -> ApiError:
    details = []
    hints = []
    for rel in rels:
        entry = {"cardinality": {"M2O": "many-to-one", "O2M": "one-to-many", "O2O": "one-to-one",
                                 "M2M": "many-to-many"}[rel.cardinality],
                 "embedding": f"{rel.table[1]} with {rel.foreign[1]}"}
        if rel.cardinality == "M2M" and rel.junction:
            entry["relationship"] = (f"{rel.junction[1]} using {rel.junction_constraint_source}"
                                     f"{_fmt([a for a, _ in rel.junction_columns_source])} and "
                                     f"{rel.junction_constraint_target}"
                                     f"{_fmt([a for a, _ in rel.junction_columns_target])}")
            hints.append(f"'{rel.foreign[1]}!{rel.junction[1]}'")
        else:
            entry["relationship"] = (f"{rel.constraint} using {rel.table[1]}{_fmt([a for a, _ in rel.columns])} "
                                     f"and {rel.foreign[1]}{_fmt([b for _, b in rel.columns])}")
            hints.append(f"'{rel.foreign[1]}!{rel.constraint}'")
        details.append({"cardinality": entry["cardinality"], "embedding": entry["embedding"],
                        "relationship": entry["relationship"]})
    return ApiError(300, "PGRST201",
                    f"Could not embed because more than one relationship was found for '{parent}' and '{child}'",
                    details,
                    f"Try changing '{child}' to one of the following: {', '.join(hints)}. Find the desired "
                    "relationship in the 'details' key.")


# -- functions ---------------------------------------------------------------------------------------------------


def _signature(fn: Function) -> str:
    return f"{fn.schema}.{fn.name}(" + ", ".join(f"{p.name} => {p.type}" for p in fn.inputs) + ")"


def find_function(cache: SchemaCache, schema: str, name: str, args: list[str], *, post: bool,
                  content: str = "json", whole_body: bool = False) -> tuple[Function, bool]:
    """The overload of `schema.name` that takes exactly these argument names (defaults may be left out); and
    whether it takes the whole body as its single unnamed json/jsonb (or text/xml/bytea) parameter."""
    overloads = cache.functions.get((schema, name), [])
    candidates = []
    for fn in overloads:
        inputs = fn.inputs
        names = [p.name for p in inputs]
        if post and len(inputs) == 1 and not inputs[0].name:
            single = inputs[0].type
            if (content == "json" and single in ("json", "jsonb")) or \
               (content == "text" and single == "text") or (content == "xml" and single == "xml") or \
               (content == "octet" and single == "bytea"):
                candidates.append((fn, True))
                continue
        if content in ("text", "xml", "octet") and post:
            continue
        required = {p.name for p in inputs if not p.has_default}
        if set(args) <= set(names) and required <= set(args) and all(names) or not inputs and not args:
            candidates.append((fn, False))
    if len(candidates) > 1:
        exact = [c for c in candidates if not c[1] and {p.name for p in c[0].inputs} == set(args)]
        if len(exact) == 1:
            candidates = exact
        else:
            named = [c for c in candidates if not c[1]]
            if len(named) == 1:
                candidates = named
    if not candidates:
        raise no_function(cache, schema, name, args, post=post, content=content, overloads=overloads)
    if len(candidates) > 1:
        raise ApiError(300, "PGRST203", "Could not choose the best candidate function between: "
                       + ", ".join(_signature(fn) for fn, _ in candidates), None,
                       "Try renaming the parameters or the function itself in the database so function "
                       "overloading can be resolved")
    return candidates[0]


def no_function(cache: SchemaCache, schema: str, name: str, args: list[str], *, post: bool, content: str,
                overloads: list[Function]) -> ApiError:
    only_single = post and content in ("text", "xml", "octet")
    keys = sorted(args)
    prms = ", ".join(keys)
    message = f"Could not find the function {schema}.{name}"
    if not only_single:
        message += f"({prms})" if keys else " without parameters"
    message += " in the schema cache"
    detail_params = (" with parameter" + ("s " if len(keys) > 1 else " ") + prms) if keys else " without parameters"
    if post and content == "text":
        detail = " with a single unnamed text parameter"
    elif post and content == "xml":
        detail = " with a single unnamed xml parameter"
    elif post and content == "octet":
        detail = " with a single unnamed bytea parameter"
    elif post:
        detail = detail_params + " or with a single unnamed json/jsonb parameter"
    else:
        detail = detail_params
    details = f"Searched for the function {schema}.{name}{detail}, but no matches were found in the schema cache."
    hint = None
    if not only_single:
        if overloads:
            options = ["(" + ", ".join(sorted(p.name for p in fn.inputs)) + ")" for fn in overloads]
            hit = difflib.get_close_matches("(" + ", ".join(keys) + ")", options, n=1, cutoff=0.33)
            if hit:
                hint = f"Perhaps you meant to call the function {schema}.{name}{hit[0]}"
        else:
            names = sorted({n for s, n in cache.functions if s == schema})
            hit = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
            if hit:
                hint = f"Perhaps you meant to call the function {schema}.{hit[0]}"
    return ApiError(404, "PGRST202", message, details, hint)
