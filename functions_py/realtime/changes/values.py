"""Typing decoded column values the way Supabase Realtime does: `to_jsonb(<text>::<type>)`.

Realtime's `apply_rls` turns each wal2json value into jsonb with `realtime.cast(text, type)`, which is
`to_jsonb(text::type)`. PostgreSQL's to_jsonb puts a value in one of a few categories (json_categorize_type):
integers, floats and numeric become JSON numbers (NaN and infinities stay strings), bool a JSON bool, json/jsonb
the document itself, date/timestamp/timestamptz an ISO 8601 string with a `T`, arrays a JSON array of their
elements, everything else its text output. Domains follow their base type. Composite types and types with a cast
to json (hstore, ...) are converted by the database (`kind == "sql"`), since their rules are the type's own.

The feed's session runs with `TimeZone=UTC, DateStyle=ISO` so the text it decodes is in the forms parsed here.
Pure: `TypeInfo` comes from the catalog (catalog.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# to_jsonb categories; "text" is the type's text output as a JSON string
KINDS = frozenset({"bool", "int", "float", "numeric", "json", "date", "timestamp", "timestamptz", "array", "text",
                   "sql"})


@dataclass(frozen=True, slots=True)
class TypeInfo:
    oid: int
    name: str  # pg_type.typname, what `columns[].type` carries ("int8", "_text", "my_enum")
    kind: str  # one of KINDS, after resolving domains to their base type
    element: TypeInfo | None = None  # for arrays
    delimiter: str = ","  # array element delimiter (typdelim of the element type)
    sql_name: str = ""  # format_type(oid, NULL): safe to splice into SQL as a cast target
    base_name: str = ""  # typname of the base type (domains), for filter comparisons
    enum: bool = False  # an enum: equality is the label's, order is the enum's (not the text's)


class ArrayLiteralError(ValueError):
    """An array's text form could not be parsed."""


def parse_array(text: str, delimiter: str = ",") -> list:
    """'{1,NULL,"a b",{2,3}}' -> ['1', None, 'a b', ['2', '3']]; elements stay text (None for NULL)."""
    if text.startswith("["):  # explicit bounds: '[0:1]={1,2}'
        eq = text.find("=")
        if eq < 0:
            raise ArrayLiteralError(f"malformed array literal: {text!r}")
        text = text[eq + 1:]
    pos = 0

    def parse_level() -> list:
        nonlocal pos
        if text[pos] != "{":
            raise ArrayLiteralError(f"malformed array literal: {text!r}")
        pos += 1
        items: list = []
        if text[pos] == "}":
            pos += 1
            return items
        while True:
            char = text[pos]
            if char == "{":
                items.append(parse_level())
            elif char == '"':
                pos += 1
                chunk: list[str] = []
                while text[pos] != '"':
                    if text[pos] == "\\":
                        pos += 1
                    chunk.append(text[pos])
                    pos += 1
                pos += 1
                items.append("".join(chunk))
            else:
                start = pos
                while text[pos] not in (delimiter, "}"):
                    pos += 1
                raw = text[start:pos].strip()
                items.append(None if raw.upper() == "NULL" else raw)
            if text[pos] == delimiter:
                pos += 1
            elif text[pos] == "}":
                pos += 1
                return items
            else:
                raise ArrayLiteralError(f"malformed array literal: {text!r}")

    try:
        result = parse_level()
    except IndexError:
        raise ArrayLiteralError(f"malformed array literal: {text!r}") from None
    if text[pos:].strip():
        raise ArrayLiteralError(f"malformed array literal: {text!r}")
    return result


def _iso_datetime(text: str, *, with_zone: bool) -> str:
    """'2026-01-01 10:00:00.5+00' -> '2026-01-01T10:00:00.5+00:00' (XSD form: a T, the zone as +HH:MM, a BC
    suffix kept at the end); infinities unchanged."""
    if text in ("infinity", "-infinity"):
        return text
    suffix = ""
    if text.endswith(" BC"):
        text, suffix = text[:-3], " BC"
    date_part, _, rest = text.partition(" ")
    if with_zone:
        for i in range(len(rest) - 1, -1, -1):
            if rest[i] in "+-":
                time_part, zone = rest[:i], rest[i:]
                break
        else:
            time_part, zone = rest, ""
        pieces = zone[1:].split(":") if zone else []
        if pieces:
            zone = zone[0] + ":".join(p.zfill(2) for p in (pieces + ["00"])[: max(2, len(pieces))])
        rest = time_part + zone
    return f"{date_part}T{rest}{suffix}"


def _number(text: str, kind: str) -> object:
    if kind == "int":
        return int(text)
    if text in ("NaN", "Infinity", "-Infinity"):
        return text  # to_jsonb keeps these as strings
    if kind == "numeric" and "." not in text and "e" not in text.lower():
        return int(text)  # exact, however many digits
    # A fractional numeric becomes a double: exact up to 15-17 significant digits (Supabase sends the digits
    # verbatim; realtime-js parses them into a double anyway).
    return float(text)


def to_json(text: str | None, info: TypeInfo) -> object:
    """The JSON value Realtime would send for this column value (text output of the type, or None)."""
    if text is None:
        return None
    kind = info.kind
    if kind == "text":
        return text
    if kind in ("int", "float", "numeric"):
        return _number(text, kind)
    if kind == "bool":
        return text == "t"
    if kind == "json":
        return json.loads(text)
    if kind == "timestamptz":
        return _iso_datetime(text, with_zone=True)
    if kind == "timestamp":
        return _iso_datetime(text, with_zone=False)
    if kind == "date":
        return text  # ISO already, BC suffix included
    if kind == "array":
        assert info.element is not None
        element = info.element

        def convert(items: list) -> list:
            return [convert(i) if isinstance(i, list) else to_json(i, element) for i in items]

        return convert(parse_array(text, info.delimiter))
    raise ValueError(f"values of type {info.name} are converted by the database")


def json_size(value: object) -> int:
    """Bytes of `value` as JSON text (what Realtime's octet_length(jsonb::text) measures, near enough)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")).encode())
