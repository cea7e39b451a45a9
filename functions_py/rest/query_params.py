"""PostgREST's URL grammar: `select`, horizontal filters, logic trees, `order`, `limit` / `offset`, `columns`,
`on_conflict`, parsed into plain values (reference: local-api-surface.md §1.2–§1.5; PostgREST's
docs/references/api/url_grammar.rst). Nothing here knows the schema: plan.py checks names against the cache.

A malformed parameter raises ApiError 400 PGRST100 with PostgREST's message shape: `"failed to parse <what>
(<text>)" (line 1, column <n>)` and the reason in `details`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from functions_py.rest.errors import ApiError, parse_error

SIMPLE_OPERATORS = frozenset({"neq", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj"})
QUANT_OPERATORS = frozenset({"eq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"})
FTS_OPERATORS = frozenset({"fts", "plfts", "phfts", "wfts"})
OTHER_OPERATORS = frozenset({"in", "is", "isdistinct"})
OPERATORS = SIMPLE_OPERATORS | QUANT_OPERATORS | FTS_OPERATORS | OTHER_OPERATORS
IS_VALUES = {"null": "NULL", "not_null": "NOT NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}
AGGREGATES = frozenset({"sum", "avg", "max", "min", "count"})
RESERVED = frozenset({"select", "order", "limit", "offset", "on_conflict", "columns", "or", "and"})
MAX_DEPTH = 64  # a select or logic tree nested deeper is refused (PGRST100), not a recursion error


@dataclass(frozen=True)
class Field:
    """A column, optionally with a JSON path: `(("->", "a"), ("->>", "b"))`."""

    name: str
    path: tuple[tuple[str, str], ...] = ()

    def default_alias(self) -> str | None:
        """The key PostgREST gives a JSON path item: the last key (or index) of the path."""
        return self.path[-1][1] if self.path else None

    def text(self) -> str:
        return self.name + "".join(a + k for a, k in self.path)


@dataclass
class SelectItem:
    field: Field | None           # None: a bare `count()`
    alias: str | None = None
    cast: str | None = None
    aggregate: str | None = None
    aggregate_cast: str | None = None


@dataclass
class EmbedItem:
    name: str
    alias: str | None = None
    hint: str | None = None
    join: str | None = None       # "inner" / "left"
    spread: bool = False
    items: list[SelectItem | EmbedItem] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Filter:
    field: Field
    op: str
    value: str | list[str] | None
    negated: bool = False
    quant: str | None = None      # "any" / "all"
    language: str | None = None   # fts configuration


@dataclass
class Logic:
    op: str                       # "and" / "or"
    children: list[Filter | Logic]
    negated: bool = False


@dataclass
class OrderTerm:
    field: Field
    relation: str | None = None   # order=rel(col).desc
    direction: str | None = None  # ASC / DESC
    nulls: str | None = None      # NULLS FIRST / NULLS LAST


@dataclass
class QueryParams:
    select: list[SelectItem | EmbedItem] | None = None
    # embed path (() for the root) -> filters / logic trees / order / limit / offset
    filters: dict[tuple[str, ...], list[Filter]] = field(default_factory=dict)
    logic: dict[tuple[str, ...], list[Logic]] = field(default_factory=dict)
    order: dict[tuple[str, ...], list[OrderTerm]] = field(default_factory=dict)
    limit: dict[tuple[str, ...], int] = field(default_factory=dict)
    offset: dict[tuple[str, ...], int] = field(default_factory=dict)
    columns: list[str] | None = None
    on_conflict: list[str] | None = None
    # the raw (key, value) pairs not recognised as anything else at the root: RPC GET arguments
    params: list[tuple[str, str]] = field(default_factory=list)
    canonical: str = ""


def _fail(what: str, text: str, column: int, details: str) -> ApiError:
    return parse_error(f'"failed to parse {what} ({text})" (line 1, column {column})', details)


class _Scanner:
    """A cursor over one parameter's text, with PostgREST-shaped error messages."""

    def __init__(self, text: str, what: str) -> None:
        self.text, self.what, self.pos = text, what, 0

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def error(self, expecting: str) -> ApiError:
        found = f'unexpected "{self.text[self.pos]}"' if not self.at_end() else "unexpected end of input"
        return _fail(self.what, self.text, self.pos + 1, f"{found} expecting {expecting}")

    def expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise self.error(f'"{token}"')
        self.pos += len(token)

    def accept(self, token: str) -> bool:
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\n"):
            self.pos += 1

    def quoted(self) -> str:
        """A double-quoted value; `\\"` and `\\\\` escape."""
        self.expect('"')
        out = []
        while True:
            if self.at_end():
                raise self.error('"\\"" (closing quote)')
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == '"':
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1

    def name(self) -> str:
        """A field name: quoted, or letters, digits, `_`, `$`, spaces and `-` not starting an arrow."""
        self.skip_spaces()
        if self.peek() == '"':
            return self.quoted()
        start = self.pos
        while not self.at_end():
            ch = self.text[self.pos]
            if ch.isalnum() or ch in "_$ " or (ch == "-" and self.peek(2) != "->") or ord(ch) > 127:
                self.pos += 1
            else:
                break
        value = self.text[start:self.pos].strip()
        if not value:
            raise self.error("field name (* or [a..z0..9_$])")
        return value

    def json_path(self) -> tuple[tuple[str, str], ...]:
        path = []
        while self.peek(2) == "->":
            arrow = "->>" if self.peek(3) == "->>" else "->"
            self.pos += len(arrow)
            if self.peek() == "-":
                self.pos += 1
                start = self.pos
                while not self.at_end() and self.text[self.pos].isdigit():
                    self.pos += 1
                if start == self.pos:
                    raise self.error("digit")
                key = "-" + self.text[start:self.pos]
            else:
                key = self.json_key()
            path.append((arrow, key))
        return tuple(path)

    def json_key(self) -> str:
        """A JSON key in a path: quoted, or anything up to a delimiter (`.`, `,`, `:`, `(`, `)`, `!`, an arrow)."""
        if self.peek() == '"':
            return self.quoted()
        start = self.pos
        while not self.at_end():
            ch = self.text[self.pos]
            if ch in ".,:()!" or self.peek(2) == "->":
                break
            self.pos += 1
        if start == self.pos:
            raise self.error('"-", digit or field name (* or [a..z0..9_$])')
        return self.text[start:self.pos]

    def field(self) -> Field:
        name = self.name()
        return Field(name, self.json_path())

    def cast(self) -> str | None:
        if not self.accept("::"):
            return None
        start = self.pos
        while not self.at_end() and (self.text[self.pos].isalnum() or self.text[self.pos] in "_ []"):
            self.pos += 1
        value = self.text[start:self.pos].strip()
        if not value:
            raise self.error("cast type")
        return value


# -- select ------------------------------------------------------------------------------------------------------


def parse_select(text: str) -> list[SelectItem | EmbedItem]:
    scanner = _Scanner(text, "select parameter")
    items = _select_list(scanner, 0)
    if not scanner.at_end():
        raise scanner.error('"," or end of input')
    return items


def _select_list(s: _Scanner, depth: int) -> list[SelectItem | EmbedItem]:
    if depth > MAX_DEPTH:
        raise _fail(s.what, s.text, s.pos + 1, "the select is nested too deeply")
    items: list[SelectItem | EmbedItem] = []
    while True:
        s.skip_spaces()
        if s.at_end() or s.peek() == ")":
            if items or depth == 0:
                return items
            return items  # rel() is an empty embed
        items.append(_select_item(s, depth))
        s.skip_spaces()
        if not s.accept(","):
            return items


def _select_item(s: _Scanner, depth: int) -> SelectItem | EmbedItem:
    if s.accept("*"):
        return SelectItem(Field("*"))
    spread = s.accept("...")
    alias = None
    first = s.name()
    if s.peek() == ":" and s.peek(2) != "::":
        s.pos += 1
        alias = first
        first = s.name()
    if first == "count" and s.peek(2) == "()":
        s.pos += 2
        return SelectItem(None, alias, None, "count", s.cast())
    if s.peek() in ("!", "(") or spread:
        hint = join = None
        while s.accept("!"):
            word = s.name()
            if word in ("inner", "left"):
                join = word
            else:
                hint = word
        if not s.accept("("):
            raise s.error('"("')
        items = _select_list(s, depth + 1)
        if not s.accept(")"):
            raise s.error('")"')
        return EmbedItem(first, alias, hint, join, spread, items)
    fld = Field(first, s.json_path())
    cast = s.cast()
    aggregate = aggregate_cast = None
    if s.peek() == "." and not s.text.startswith("...", s.pos):
        save = s.pos
        s.pos += 1
        word = s.name()
        if word in AGGREGATES and s.accept("()"):
            aggregate, aggregate_cast = word, s.cast()
        else:
            s.pos = save
            raise s.error('"," or ")"')
    return SelectItem(fld, alias, cast, aggregate, aggregate_cast)


# -- filters -----------------------------------------------------------------------------------------------------


def _list_value(s: _Scanner) -> list[str]:
    """`(a,b,"c,d")`."""
    s.expect("(")
    values: list[str] = []
    while True:
        if s.peek() == '"':
            values.append(s.quoted())
        else:
            start = s.pos
            while not s.at_end() and s.text[s.pos] not in ",)":
                s.pos += 1
            values.append(s.text[start:s.pos].strip())
        if s.accept(","):
            continue
        s.expect(")")
        return values


def _operation(s: _Scanner, fld: Field, in_tree: bool) -> Filter:
    """`[not.]op[(any|all|lang)].value` — the part after the column."""
    negated = False
    if s.text.startswith("not.", s.pos):
        s.pos += 4
        negated = True
    start = s.pos
    while not s.at_end() and s.text[s.pos].isalpha():
        s.pos += 1
    op = s.text[start:s.pos]
    if op not in OPERATORS:
        s.pos = start
        raise s.error('"not" or operator (eq, gt, ...)')
    quant = language = None
    if s.peek() == "(":
        if op in QUANT_OPERATORS:
            s.pos += 1
            word = s.name()
            if word not in ("any", "all"):
                raise s.error('"any" or "all"')
            quant = word
            s.expect(")")
        elif op in FTS_OPERATORS:
            s.pos += 1
            language = s.name()
            s.expect(")")
    s.expect(".")
    value: str | list[str] | None
    if op == "in":
        value = _list_value(s)
    elif in_tree:
        value = _tree_value(s)
    else:
        value = s.text[s.pos:]
        s.pos = len(s.text)
    if op == "is":
        lowered = str(value).lower()
        if lowered not in IS_VALUES:
            s.pos = len(s.text) - len(str(value))
            raise s.error("null or trilean value (unknown, true, false)")
        value = lowered
    if quant is not None:
        text = str(value)
        if not (text.startswith("{") and text.endswith("}")):
            raise s.error('"{"')
    return Filter(fld, op, value, negated, quant, language)


def _tree_value(s: _Scanner) -> str:
    """A value inside a logic tree: quoted, or up to the next `,` / `)` outside braces and parentheses."""
    if s.peek() == '"':
        return s.quoted()
    start = s.pos
    depth = 0
    while not s.at_end():
        ch = s.text[s.pos]
        if ch in "({[":
            depth += 1
        elif ch in ")}]" and depth:
            depth -= 1
        elif ch in ",)" and depth == 0:
            break
        s.pos += 1
    return s.text[start:s.pos]


def parse_filter(column: str, value: str) -> Filter:
    """`?<column>=<value>`: the column part (with a JSON path) and the operation."""
    cs = _Scanner(column, "filter")
    fld = cs.field()
    if not cs.at_end():
        raise cs.error("end of input")
    s = _Scanner(value, "filter")
    return _operation(s, fld, in_tree=False)


def parse_logic(op: str, negated: bool, text: str) -> Logic:
    s = _Scanner(text, "logic tree")
    try:
        return _parse_logic(s, op, negated)
    except ApiError as error:
        # PostgREST parses the key and the value as one text: columns count from the key's start
        offset = len(op) + (4 if negated else 0)
        error.message = f'"failed to parse logic tree ({text})" (line 1, column {s.pos + 1 + offset})'
        raise


def _parse_logic(s: _Scanner, op: str, negated: bool) -> Logic:
    s.expect("(")
    children = _logic_children(s, 0)
    s.expect(")")
    if not s.at_end():
        raise s.error("end of input")
    return Logic(op, children, negated)


def _logic_children(s: _Scanner, depth: int) -> list[Filter | Logic]:
    if depth > MAX_DEPTH:
        raise _fail(s.what, s.text, s.pos + 1, "the logic tree is nested too deeply")
    children: list[Filter | Logic] = []
    while True:
        s.skip_spaces()
        negated = False
        save = s.pos
        if s.text.startswith("not.", s.pos):
            s.pos += 4
            negated = True
        matched = False
        for word in ("and", "or"):
            if s.text.startswith(word + "(", s.pos):
                s.pos += len(word) + 1
                children.append(Logic(word, _logic_children(s, depth + 1), negated))
                s.expect(")")
                matched = True
                break
        if not matched:
            s.pos = save
            fld = s.field()
            s.expect(".")
            children.append(_operation(s, fld, in_tree=True))
        if not s.accept(","):
            return children


# -- order -------------------------------------------------------------------------------------------------------


def parse_order(text: str) -> list[OrderTerm]:
    s = _Scanner(text, "order")
    terms = []
    while True:
        fld = s.field()
        relation = None
        if s.accept("("):
            relation = fld.name
            fld = s.field()
            s.expect(")")
        direction = nulls = None
        while s.accept("."):
            word_start = s.pos
            word = s.name()
            if word in ("asc", "desc") and direction is None and nulls is None:
                direction = word.upper()
            elif word in ("nullsfirst", "nullslast") and nulls is None:
                nulls = "NULLS FIRST" if word == "nullsfirst" else "NULLS LAST"
            else:
                common = max((len(_common_prefix(word, k)) for k in ("asc", "desc", "nullsfirst", "nullslast")),
                             default=0)
                s.pos = word_start + common
                error = s.error('"asc", "desc", "nullsfirst" or "nullslast"')
                error.message = f'"failed to parse order ({text})" (line 1, column {word_start + 1})'
                raise error
        terms.append(OrderTerm(fld, relation, direction, nulls))
        if s.at_end():
            return terms
        s.expect(",")


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def parse_columns(text: str, what: str) -> list[str]:
    s = _Scanner(text, what)
    names = []
    while True:
        names.append(s.name())
        if s.at_end():
            return names
        s.expect(",")


def _range_number(value: str) -> int | None:
    """`limit` / `offset` as PostgREST reads them (QueryParams.hs: `readMaybe` as a Haskell Integer, optional
    minus sign, surrounding blanks allowed); None when the value is no such number, and PostgREST then ignores the
    parameter (`limit=ten` returns every row, it is not a 400)."""
    text = value.strip(" \t\n\r\f\v")
    digits = text[1:] if text.startswith("-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return int(text)


def _is_filter(key: str, value: str) -> bool:
    """PostgREST's test (QueryParams.hs): a key with an embed path, or a value starting with `not.<x>`, `is`,
    `in`, an operator or an fts operator (with its `(config)` / `(any)` modifier), is a filter."""
    if "." in key:
        return True
    parts = value.split(".")
    head = parts[0]
    if head == "not":
        return len(parts) > 1
    return head in ("is", "in") or head.split("(", 1)[0] in OPERATORS


def parse(query_string: str) -> QueryParams:
    """Parse a whole query string (the order of repeated filters is kept: they AND together)."""
    qp = QueryParams()
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key == "select":
            qp.select = parse_select(value)
            continue
        if key == "columns":
            qp.columns = parse_columns(value, "columns parameter")
            continue
        if key == "on_conflict":
            qp.on_conflict = parse_columns(value, "on_conflict parameter")
            continue
        parts = key.split(".")
        negated_logic = len(parts) >= 2 and parts[-2] == "not" and parts[-1] in ("or", "and")
        last = parts[-1]
        path = tuple(parts[:-2] if negated_logic else parts[:-1])
        if last in ("or", "and"):
            qp.logic.setdefault(path, []).append(parse_logic(last, negated_logic, value))
        elif last == "order" and "->" not in key:
            qp.order.setdefault(path, []).extend(parse_order(value) if value else [])
        elif last in ("limit", "offset"):
            ranges, number = (qp.limit if last == "limit" else qp.offset), _range_number(value)
            if number is None:
                ranges.pop(path, None)  # the last one counts (a HashMap.fromList), even when it is ignored
            else:
                ranges[path] = number
        elif not _is_filter(key, value):
            # PostgREST's partition: a root key whose value names no operator is a parameter, not a filter
            # (an RPC argument on /rpc/, ignored on a table: `?id=5` filters nothing)
            qp.params.append((key, value))
        elif "->" in key:
            # a JSON path: dots before the arrow separate embeds, the rest is the column's path
            head, _, tail = key.partition("->")
            segments = head.split(".")
            qp.filters.setdefault(tuple(segments[:-1]), []).append(
                parse_filter(segments[-1] + "->" + tail, value))
        else:
            qp.filters.setdefault(path, []).append(parse_filter(last, value))
    return qp
