"""The pure parts of the postgres_changes feed: the pgoutput decoder, value typing and filter parsing/evaluation.
The database-backed behaviour is in tests/test_realtime_changes.py."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from functions_py.realtime.changes.filters import FilterSpec, FilterSyntaxError, NeedsSql, make_filter, parse_filter
from functions_py.realtime.changes.payload import commit_timestamp
from functions_py.realtime.changes.values import ArrayLiteralError, TypeInfo, parse_array, to_json
from functions_py.realtime.pgoutput import (
    UNCHANGED,
    Change,
    Decoder,
    DecodingError,
    Truncate,
    lsn_to_int,
    lsn_to_text,
)

# ---------------------------------------------------------------------------------------------------------
# pgoutput messages, built as the protocol documents them
# ---------------------------------------------------------------------------------------------------------

MICROS_2026 = int((datetime(2026, 1, 1, tzinfo=UTC) - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)


def begin(final_lsn: int = 100, xid: int = 7) -> bytes:
    return b"B" + struct.pack(">qqI", final_lsn, MICROS_2026, xid)


def commit(commit_lsn: int = 100, end_lsn: int = 140) -> bytes:
    return b"C" + struct.pack(">bqqq", 0, commit_lsn, end_lsn, MICROS_2026 + 1500)


def relation(oid: int = 16384, identity: bytes = b"d") -> bytes:
    columns = [(1, b"id", 23), (0, b"title", 25), (0, b"body", 25)]
    body = struct.pack(">I", oid) + b"public\0todos\0" + identity + struct.pack(">h", len(columns))
    for flags, name, type_oid in columns:
        body += struct.pack(">b", flags) + name + b"\0" + struct.pack(">Ii", type_oid, -1)
    return b"R" + body


def tuple_data(*values: object) -> bytes:
    out = struct.pack(">h", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value is UNCHANGED:
            out += b"u"
        else:
            raw = str(value).encode()
            out += b"t" + struct.pack(">i", len(raw)) + raw
    return out


def test_a_transaction_decodes_into_its_changes_in_order():
    decoder = Decoder()
    messages = [
        begin(), relation(),
        b"I" + struct.pack(">I", 16384) + b"N" + tuple_data(1, "hello", None),
        b"U" + struct.pack(">I", 16384) + b"N" + tuple_data(1, "bye", UNCHANGED),
        b"U" + struct.pack(">I", 16384) + b"K" + tuple_data(1, None, None) + b"N" + tuple_data(2, "bye", "x"),
        b"D" + struct.pack(">I", 16384) + b"O" + tuple_data(2, "bye", "x"),
        b"T" + struct.pack(">IBI", 1, 3, 16384),
    ]
    assert all(decoder.feed(m) is None for m in messages), "nothing is complete before the Commit"
    txn = decoder.feed(commit())
    assert txn is not None and txn.xid == 7 and txn.final_lsn == 100 and txn.end_lsn == 140
    assert txn.commit_time == datetime(2026, 1, 1, 0, 0, 0, 1500, tzinfo=UTC), "the Commit's timestamp wins"
    insert, update, key_update, delete, truncate = txn.changes
    assert isinstance(insert, Change) and insert.type == "INSERT" and insert.new == ("1", "hello", None)
    assert update.new == ("1", "bye", UNCHANGED) and update.old is None, "an unchanged TOAST value is marked"
    assert key_update.old_kind == "K" and key_update.old == ("1", None, None)
    assert delete.type == "DELETE" and delete.old_kind == "O" and delete.new is None
    assert isinstance(truncate, Truncate) and truncate.cascade and truncate.restart_identity
    assert [c.is_key for c in insert.relation.columns] == [True, False, False]
    assert insert.relation.replica_identity == "d" and insert.relation.schema == "public"


@pytest.mark.parametrize("message, problem", [
    (b"", "empty"),
    (b"Z\0\0", "unknown pgoutput message"),
    (b"I" + struct.pack(">I", 999) + b"N" + tuple_data(1), "before its Relation"),
    (b"B\0\0", "truncated"),
])
def test_malformed_messages_are_refused_with_a_reason(message, problem):
    decoder = Decoder()
    decoder.feed(begin())
    with pytest.raises(DecodingError, match=problem):
        decoder.feed(message)


def test_a_change_outside_a_transaction_is_refused():
    decoder = Decoder()
    decoder.feed(relation())
    with pytest.raises(DecodingError, match="outside a transaction"):
        decoder.feed(b"I" + struct.pack(">I", 16384) + b"N" + tuple_data(1, "a", "b"))


def test_lsn_text_round_trips():
    assert lsn_to_int("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert lsn_to_text(lsn_to_int("16/B374D848")) == "16/B374D848"


# ---------------------------------------------------------------------------------------------------------
# values: to_jsonb(text::type)
# ---------------------------------------------------------------------------------------------------------

INT = TypeInfo(23, "int4", "int")
TEXT = TypeInfo(25, "text", "text")
NUMERIC = TypeInfo(1700, "numeric", "numeric")
FLOAT = TypeInfo(701, "float8", "float")
TSTZ = TypeInfo(1184, "timestamptz", "timestamptz")


@pytest.mark.parametrize("text, info, expected", [
    ("42", INT, 42),
    ("12345678901234567890", NUMERIC, 12345678901234567890),
    ("1.50", NUMERIC, 1.5),
    ("NaN", NUMERIC, "NaN"),
    ("-Infinity", FLOAT, "-Infinity"),
    ("1e+100", FLOAT, 1e100),
    ("t", TypeInfo(16, "bool", "bool"), True),
    ('{"a": [1, null]}', TypeInfo(3802, "jsonb", "json"), {"a": [1, None]}),
    ("2026-01-01 10:00:00.5+00", TSTZ, "2026-01-01T10:00:00.5+00:00"),
    ("2026-01-01 10:00:00+05:30", TSTZ, "2026-01-01T10:00:00+05:30"),
    ("infinity", TSTZ, "infinity"),
    ("0044-03-15 12:00:00+00 BC", TSTZ, "0044-03-15T12:00:00+00:00 BC"),
    ("0044-03-15 BC", TypeInfo(1082, "date", "date"), "0044-03-15 BC"),
    ("2026-01-01 10:00:00", TypeInfo(1114, "timestamp", "timestamp"), "2026-01-01T10:00:00"),
    ("2026-01-01", TypeInfo(1082, "date", "date"), "2026-01-01"),
    ("\\x0102", TypeInfo(17, "bytea", "text"), "\\x0102"),
    (None, INT, None),
])
def test_values_are_typed_as_to_jsonb_types_them(text, info, expected):
    assert to_json(text, info) == expected


def test_arrays_become_json_arrays_of_typed_elements():
    ints = TypeInfo(1007, "_int4", "array", element=INT)
    texts = TypeInfo(1009, "_text", "array", element=TEXT)
    assert to_json("{1,NULL,3}", ints) == [1, None, 3]
    assert to_json("{{1,2},{3,4}}", ints) == [[1, 2], [3, 4]]
    assert to_json("[0:1]={5,6}", ints) == [5, 6], "explicit bounds are dropped, as to_jsonb does"
    assert to_json('{"a,b","say \\"hi\\"",NULL,"NULL"," x "}', texts) == ["a,b", 'say "hi"', None, "NULL", " x "]
    assert to_json("{}", texts) == []


@pytest.mark.parametrize("literal", ["{1,2", "1,2}", "{1,2}x", "[0:1]{1}"])
def test_malformed_array_literals_are_refused(literal):
    with pytest.raises(ArrayLiteralError):
        parse_array(literal)


def test_values_only_the_database_can_type_are_refused_here():
    with pytest.raises(ValueError, match="converted by the database"):
        to_json("(1,2)", TypeInfo(99999, "my_composite", "sql"))


def test_commit_timestamps_are_utc_milliseconds_with_a_z():
    moment = datetime(2026, 5, 1, 12, 30, 45, 123999, tzinfo=UTC)
    assert commit_timestamp(moment) == "2026-05-01T12:30:45.123Z", "milliseconds are truncated, like to_char MS"


# ---------------------------------------------------------------------------------------------------------
# filters: Realtime's syntax and PostgreSQL's semantics
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", []),
    ("   ", []),
    (None, []),
    ("id=eq.1", [FilterSpec("id", "eq", "1")]),
    ("subject=in.(hidee,ho)", [FilterSpec("subject", "in", "{hidee,ho}")]),
    ("id=gt.0,id=lt.100", [FilterSpec("id", "gt", "0"), FilterSpec("id", "lt", "100")]),
    ("subject=not.like.hey%", [FilterSpec("subject", "like", "hey%", True)]),
    ('area=eq."Oslo, Norway"', [FilterSpec("area", "eq", "Oslo, Norway")]),
    ("name=eq.a.b", [FilterSpec("name", "eq", "a.b")]),
    ("id=in.(1,2),name=eq.x", [FilterSpec("id", "in", "{1,2}"), FilterSpec("name", "eq", "x")]),
])
def test_filters_parse_as_realtime_parses_them(text, expected):
    assert parse_filter(text) == expected


@pytest.mark.parametrize("text, message", [
    ("subject=foo.hey", '["foo", "hey"]'),
    ("undefined", '["undefined"]'),
    ("id=in.1,2", "must be wrapped by parentheses"),
    ("id=eq.1,,id=eq.2", "empty segments"),
    ("id=eq", '["eq"]'),
])
def test_malformed_filters_are_refused_with_realtimes_message(text, message):
    with pytest.raises(FilterSyntaxError) as error:
        parse_filter(text)
    assert message in str(error.value)


def flt(op: str, value: str | None, info: TypeInfo = INT, values: tuple = (), negate: bool = False):
    return make_filter(FilterSpec("c", op, value or "", negate), info, value, values)


def test_null_never_passes_a_comparison_but_passes_is_null():
    for op in ("eq", "neq", "lt", "gte"):
        assert flt(op, "1").evaluate(None) is None, f"NULL {op} 1 is NULL, which does not pass"
    assert flt("is", "null").evaluate(None) is True
    assert flt("is", "null", negate=True).evaluate("3") is True, "not.is.null"
    assert flt("neq", "1", negate=True).evaluate(None) is None, "negating NULL stays NULL"


def test_comparisons_follow_the_column_type_not_the_text():
    assert flt("lt", "10").evaluate("9") is True, "integers compare as numbers"
    assert flt("eq", "1.5", NUMERIC).evaluate("1.50") is True, "numeric 1.50 = 1.5"
    assert flt("gt", "1e308", FLOAT).evaluate("NaN") is True, "NaN sorts above every number in PostgreSQL"
    assert flt("in", None, INT, ("1", "5")).evaluate("5") is True
    assert flt("in", None, INT, ("1", None)).evaluate("5") is None, "= any over a list with NULL: NULL"


def test_comparisons_python_cannot_decide_go_to_the_database():
    with pytest.raises(NeedsSql):
        flt("lt", "m", TEXT).evaluate("a")  # text order is the collation's
    with pytest.raises(NeedsSql):
        flt("like", "a%", TEXT).evaluate("abc")
    assert flt("eq", "a", TEXT).evaluate("a") is True, "text equality is exact"
    assert flt("lt", "m", TEXT).needs_sql


# ---------------------------------------------------------------------------------------------------------
# payloads, as apply_rls builds them
# ---------------------------------------------------------------------------------------------------------

def _change(kind: str, new, old, old_kind, identity: bytes = b"d"):
    from functions_py.realtime.pgoutput import Change

    decoder = Decoder()
    decoder.feed(relation(identity=identity))
    return Change(kind, decoder.relations[16384], new, old, old_kind)


def _typed(change, max_bytes: int = 1 << 20):
    from functions_py.realtime.changes.payload import type_change

    return type_change(change, (INT, TEXT, TEXT), {}, datetime(2026, 1, 1, tzinfo=UTC), max_bytes)


def test_payloads_follow_column_privileges_select_and_rls():
    from functions_py.realtime.changes.catalog import TableAccess
    from functions_py.realtime.changes.payload import build_data

    everything = TableAccess(False, ("id",), frozenset({"id", "title", "body"}))
    with_rls = TableAccess(True, ("id",), frozenset({"id", "title"}))
    update = _typed(_change("UPDATE", ("1", "new", UNCHANGED), ("1", "old", "kept"), "O", b"f"))
    data = build_data(update, everything, None)
    assert data["record"] == {"id": 1, "title": "new", "body": "kept"}, "unchanged TOAST read from the old row"
    assert data["old_record"] == {"id": 1, "title": "old", "body": "kept"}
    assert data["commit_timestamp"] == "2026-01-01T00:00:00.000Z" and data["errors"] is None
    narrowed = build_data(update, with_rls, ("title",))
    assert narrowed["columns"] == [{"name": "id", "type": "int4"}, {"name": "title", "type": "text"}]
    assert narrowed["record"] == {"id": 1, "title": "new"}, "body is not selectable; the key always comes"
    delete = _typed(_change("DELETE", None, ("1", "old", "x"), "O", b"f"))
    assert build_data(delete, with_rls, None)["old_record"] == {"id": 1}, "RLS tables: deletes carry the key"
    assert build_data(delete, everything, None)["old_record"] == {"id": 1, "title": "old", "body": "x"}
    assert "record" not in build_data(delete, everything, None)


def test_an_update_without_an_old_tuple_reports_the_key_from_the_new_row():
    from functions_py.realtime.changes.catalog import TableAccess
    from functions_py.realtime.changes.payload import build_data

    access = TableAccess(False, ("id",), frozenset({"id", "title", "body"}))
    update = _typed(_change("UPDATE", ("1", "a", "b"), None, None))
    assert build_data(update, access, None)["old_record"] == {"id": 1}


def test_an_oversized_change_keeps_small_values_only():
    from functions_py.realtime.changes.catalog import TableAccess
    from functions_py.realtime.changes.payload import ERROR_TOO_LARGE, build_data, error_data

    access = TableAccess(False, ("id",), frozenset({"id", "title", "body"}))
    insert = _typed(_change("INSERT", ("1", "x" * 500, "small"), None, None), max_bytes=300)
    data = build_data(insert, access, None)
    assert data["errors"] == [ERROR_TOO_LARGE] and data["record"] == {"id": 1, "body": "small"}
    assert error_data(insert, "Error 401: Unauthorized") == {
        "schema": "public", "table": "todos", "commit_timestamp": None, "type": "INSERT", "columns": [],
        "errors": ["Error 401: Unauthorized"], "record": {}}
