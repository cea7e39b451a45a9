"""postgres_changes filters: parsing Realtime's `filter` strings and evaluating them against a decoded row.

Syntax (supabase/realtime `subscriptions.ex::parse_subscription_params`): `col=op.value`, several joined by commas
(AND), a comma inside `in.(...)` or a double-quoted value does not split; `not.` negates; `in.(a,b)` becomes the
array literal `{a,b}`; a double-quoted value is unquoted. Operators: the documented `eq neq lt lte gt gte in`, and
the 2026 additions `like ilike is match imatch isdistinct`.

Semantics are PostgreSQL's (`realtime.check_equality_op` runs `value::type op filter::type`): a NULL column value
makes every operator NULL, and NULL never passes, except for `is` and `isdistinct`. The comparison runs here when
Python's result is certainly the same as PostgreSQL's (integers, floats, numeric, bool, uuid, dates and
timestamps in canonical form, and equality on text-like types); otherwise (`lt` on text, whose order is the
collation's, like, regexes, jsonb, ...) the feed asks the database (`Filter.needs_sql`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from functions_py.realtime.changes.values import TypeInfo

OPERATORS = ("eq", "neq", "lt", "lte", "gt", "gte", "in", "like", "ilike", "is", "match", "imatch", "isdistinct")
SQL_OPERATORS = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "like": "~~",
                 "ilike": "~~*", "match": "~", "imatch": "~*"}
IS_VALUES = ("null", "true", "false", "unknown")
MAX_IN_VALUES = 100


class FilterSyntaxError(ValueError):
    """The filter string is malformed; the message is Realtime's."""


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A parsed filter before the column's type is known: value is the text after the operator
    (for `in`, an array literal `{a,b}`)."""

    column: str
    op: str
    value: str
    negate: bool = False

    def as_log(self) -> str:
        return f'{{"{self.column}", "{self.op}", "{self.value}", {str(self.negate).lower()}}}'


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    prev = ""
    i = 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == "\\" and i + 1 < len(text):
                current.append(text[i:i + 2])
                prev = text[i + 1]
                i += 2
                continue
            if char == '"':
                quoted = False
            current.append(char)
        elif char == '"' and prev in (".", "(", ","):
            quoted = True
            current.append(char)
        elif char == "(":
            depth += 1
            current.append(char)
        elif char == ")":
            depth = max(0, depth - 1)
            current.append(char)
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            char = ""
        else:
            current.append(char)
        prev = char
        i += 1
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if not value.startswith('"'):
        return value
    out: list[str] = []
    i = 1
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out) if i == len(value) - 1 else value
        out.append(char)
        i += 1
    return value


def parse_filter(text: str | None) -> list[FilterSpec]:
    """Parse a binding's `filter`; an empty or blank string means no filter. Raises FilterSyntaxError."""
    if text is None or not text.strip():
        return []
    specs = []
    for segment in _split_top_level(text.strip()):
        segment = segment.strip()
        if not segment:
            raise FilterSyntaxError("filter must not contain empty segments (check for extra commas)")
        column, eq, rest = segment.partition("=")
        if not eq:
            raise FilterSyntaxError(f'["{segment}"]')
        negate = rest.startswith("not.")
        if negate:
            rest = rest[4:]
        op, dot, value = rest.partition(".")
        if not dot:
            raise FilterSyntaxError(f'["{rest}"]')
        if op not in OPERATORS:
            raise FilterSyntaxError(f'["{op}", "{value}"]')
        if op == "in":
            if len(value) < 2 or not (value.startswith("(") and value.endswith(")")):
                raise FilterSyntaxError("`in` filter value must be wrapped by parentheses")
            value = "{" + value[1:-1] + "}"
        else:
            value = _unquote(value)
        specs.append(FilterSpec(column, op, value, negate))
    return specs


# -- evaluation ------------------------------------------------------------------------------------------------

_INT_TYPES = frozenset({"int2", "int4", "int8"})
_EQUALITY_TEXT_TYPES = frozenset({"text", "varchar", "name"})  # deterministic equality = same characters
_ORDERED_BY_TEXT = frozenset({"uuid"})  # canonical text order is the type's order
_CANONICAL_DATETIME = re.compile(r"^\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d(\.\d+)?(\+00)?)?$")


def _float_key(text: str) -> tuple[int, float]:
    return (1, 0.0) if text == "NaN" else (0, float(text))  # PostgreSQL: NaN equals NaN, above every number


def _numeric_key(text: str) -> tuple[int, Decimal]:
    return (1, Decimal(0)) if text == "NaN" else (0, Decimal(text))


def _datetime_key(text: str) -> tuple[int, str]:
    if text == "-infinity":
        return (-1, "")
    if text == "infinity":
        return (1, "")
    if not _CANONICAL_DATETIME.match(text):
        raise _NeedsSql
    return (0, text)


class _NeedsSql(Exception):
    pass


def _key_function(info: TypeInfo, op: str) -> Callable[[str], object] | None:
    """A key whose Python order/equality matches PostgreSQL's for this type and operator, or None."""
    base = info.base_name or info.name
    if info.kind == "int" and base in _INT_TYPES:
        return int
    if info.kind == "float":
        return _float_key
    if info.kind == "numeric":
        return _numeric_key
    if info.kind == "bool":
        return lambda text: text in ("t", "true")  # decoded values say t/f, bool::text says true/false
    if base in _ORDERED_BY_TEXT:
        return str
    if info.kind in ("date", "timestamp", "timestamptz"):
        return _datetime_key
    if op in ("eq", "neq", "in", "isdistinct") and (base in _EQUALITY_TEXT_TYPES or info.enum):
        return str
    return None


@dataclass(frozen=True, slots=True)
class Filter:
    """A validated filter: `value` (or `values` for `in`) is the canonical text the database gave for the
    filter's literal cast to the column's type, so it compares with decoded values (also canonical text)."""

    column: str
    op: str
    value: str | None
    values: tuple[str | None, ...]
    negate: bool
    type: TypeInfo
    key: Callable[[str], object] | None  # None: evaluated by the database

    @property
    def needs_sql(self) -> bool:
        return self.key is None and self.op != "is"

    def evaluate(self, cell: str | None) -> bool | None:
        """True/False/None (SQL NULL) for one column value in canonical text form; raises _NeedsSql when the
        comparison must go to the database."""
        op = self.op
        if op == "is":
            result: bool | None
            if self.value == "null":
                result = cell is None
            elif cell is None:
                result = self.value == "unknown"
            else:
                result = (cell == "t") == (self.value == "true") if self.value != "unknown" else False
            return (not result) if self.negate else result
        if self.key is None:
            raise _NeedsSql
        if op == "isdistinct":
            if cell is None or self.value is None:
                result = (cell is None) != (self.value is None)
            else:
                result = self.key(cell) != self.key(self.value)
            return (not result) if self.negate else result
        if cell is None:
            return None
        try:
            left = self.key(cell)
            if op == "in":
                keys = [self.key(v) for v in self.values if v is not None]
                # SQL's `= any`: NULL, not false, when not found and the list holds a NULL
                result = True if left in keys else (None if None in self.values else False)
            else:
                right = self.key(self.value)  # type: ignore[arg-type]
                result = {"eq": left == right, "neq": left != right, "lt": left < right,  # type: ignore[operator]
                          "lte": left <= right, "gt": left > right, "gte": left >= right}[op]  # type: ignore
        except (ValueError, InvalidOperation, KeyError):
            raise _NeedsSql from None
        if result is None:
            return None
        return (not result) if self.negate else result


def make_filter(spec: FilterSpec, info: TypeInfo, canonical: str | None, canonical_values: tuple[str | None, ...]
                ) -> Filter:
    if spec.op == "is":  # evaluated directly on the value's presence and truth
        return Filter(spec.column, spec.op, spec.value, (), spec.negate, info, None)
    key = None if spec.op in ("like", "ilike", "match", "imatch") else _key_function(info, spec.op)
    return Filter(spec.column, spec.op, canonical, canonical_values, spec.negate, info, key)


NeedsSql = _NeedsSql
