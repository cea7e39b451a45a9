"""The one decoder of PostgreSQL's `pgoutput` logical replication messages (protocol version 1, text values), for
both feeds of the local Realtime server: database broadcasts (realtime/messages.py) and postgres_changes
(realtime/changes/feed.py). Both read their slot through `SlotReader` (realtime/slots.py).

The feeds read them with `pg_logical_slot_peek_binary_changes(..., 'proto_version', '1', 'publication_names', ...)`,
one message per row. `Decoder.feed` turns them into `Transaction`s: the changes of one committed transaction, in
order, with its commit LSNs and timestamp. Reference: PostgreSQL docs, "Logical Replication Message Formats".

Tuple values stay in their text form (`'t'`); `UNCHANGED` marks an unchanged TOASTed value (`'u'`), None a NULL
(`'n'`); binary values (`'b'`, only with the `binary` option, which the feed never sets) are kept as bytes.
Every SQL-interface call starts a new decoding context, so each batch re-sends the Relation messages it needs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class _Unchanged:
    """An unchanged TOASTed value: pgoutput does not send it again in an UPDATE's new tuple."""

    _instance: _Unchanged | None = None

    def __new__(cls) -> _Unchanged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()

Value = str | bytes | None | _Unchanged


class DecodingError(ValueError):
    """A pgoutput message could not be decoded (a truncated or unknown message)."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type_oid: int
    type_modifier: int
    is_key: bool  # part of the replica identity (flag 1)


@dataclass(frozen=True, slots=True)
class Relation:
    oid: int
    schema: str
    name: str
    replica_identity: str  # 'd' default, 'f' full, 'i' index, 'n' nothing
    columns: tuple[Column, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """One row change. `old` is the old tuple as the replica identity gives it (None when not sent):
    the key columns only for kind 'K' (others None), every column for kind 'O' (REPLICA IDENTITY FULL)."""

    type: str  # INSERT | UPDATE | DELETE
    relation: Relation
    new: tuple[Value, ...] | None
    old: tuple[Value, ...] | None
    old_kind: str | None  # 'K' key columns, 'O' whole old row, None

    @property
    def values(self) -> dict[str, Value]:
        """The new row (the old one for a DELETE) by column name."""
        row = self.new if self.new is not None else self.old
        return dict(zip((c.name for c in self.relation.columns), row or (), strict=False))


@dataclass(frozen=True, slots=True)
class Truncate:
    relations: tuple[Relation, ...]
    cascade: bool
    restart_identity: bool


@dataclass(slots=True)
class Transaction:
    xid: int
    final_lsn: int  # LSN of the commit record
    commit_time: datetime
    end_lsn: int = 0  # LSN just past the commit record: where the slot can advance to once this is delivered
    changes: list[Change | Truncate] = field(default_factory=list)


def lsn_to_int(text: str) -> int:
    """'16/B374D848' -> int."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def lsn_to_text(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _timestamp(micros: int) -> datetime:
    return PG_EPOCH + timedelta(microseconds=micros)


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 1  # after the message tag

    def unpack(self, fmt: str) -> tuple:
        try:
            values = struct.unpack_from(fmt, self.data, self.pos)
        except struct.error as error:
            raise DecodingError(f"truncated pgoutput message {self.data[:1]!r}: {error}") from error
        self.pos += struct.calcsize(fmt)
        return values

    def byte(self) -> bytes:
        if self.pos >= len(self.data):
            raise DecodingError(f"truncated pgoutput message {self.data[:1]!r}")
        value = self.data[self.pos:self.pos + 1]
        self.pos += 1
        return value

    def string(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise DecodingError(f"unterminated string in pgoutput message {self.data[:1]!r}")
        value = self.data[self.pos:end].decode()
        self.pos = end + 1
        return value

    def tuple(self) -> tuple[Value, ...]:
        (count,) = self.unpack(">h")
        values: list[Value] = []
        for _ in range(count):
            kind = self.byte()
            if kind == b"n":
                values.append(None)
            elif kind == b"u":
                values.append(UNCHANGED)
            elif kind in (b"t", b"b"):
                (size,) = self.unpack(">i")
                raw = self.data[self.pos:self.pos + size]
                if len(raw) != size:
                    raise DecodingError("truncated tuple value in pgoutput message")
                self.pos += size
                values.append(raw.decode() if kind == b"t" else bytes(raw))
            else:
                raise DecodingError(f"unknown tuple value kind {kind!r}")
        return tuple(values)


class Decoder:
    """Turns pgoutput messages into committed `Transaction`s; keeps the relations it has seen."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}
        self._current: Transaction | None = None

    def _relation(self, oid: int) -> Relation:
        try:
            return self.relations[oid]
        except KeyError:
            raise DecodingError(f"change for relation {oid} before its Relation message") from None

    def feed(self, data: bytes) -> Transaction | None:
        """Read one message; returns the transaction when `data` is its Commit, else None."""
        change = self.decode(data)
        if isinstance(change, Transaction):
            return change
        if change is not None:
            if self._current is None:
                raise DecodingError("row change outside a transaction")
            self._current.changes.append(change)
        return None

    def decode(self, data: bytes) -> Change | Truncate | Transaction | None:
        """Read one message on its own: a row change or truncate is returned (not added to a transaction),
        a Commit returns its transaction, Begin and Relation messages update the decoder's state."""
        if not data:
            raise DecodingError("empty pgoutput message")
        tag = data[:1]
        reader = _Reader(data)
        if tag == b"B":
            final_lsn, micros, xid = reader.unpack(">qqI")
            self._current = Transaction(xid=xid, final_lsn=final_lsn, commit_time=_timestamp(micros))
        elif tag == b"C":
            _flags, commit_lsn, end_lsn, micros = reader.unpack(">bqqq")
            txn = self._current
            if txn is None:
                raise DecodingError("Commit without Begin")
            txn.end_lsn = end_lsn
            txn.commit_time = _timestamp(micros)
            self._current = None
            return txn
        elif tag == b"R":
            (oid,) = reader.unpack(">I")
            schema = reader.string()
            name = reader.string()
            identity = reader.byte().decode()
            (count,) = reader.unpack(">h")
            columns = []
            for _ in range(count):
                (flags,) = reader.unpack(">b")
                column = reader.string()
                type_oid, modifier = reader.unpack(">Ii")
                columns.append(Column(column, type_oid, modifier, bool(flags & 1)))
            self.relations[oid] = Relation(oid, schema, name, identity, tuple(columns))
        elif tag == b"I":
            (oid,) = reader.unpack(">I")
            if reader.byte() != b"N":
                raise DecodingError("Insert without a new tuple")
            return Change("INSERT", self._relation(oid), reader.tuple(), None, None)
        elif tag == b"U":
            (oid,) = reader.unpack(">I")
            kind = reader.byte()
            old: tuple[Value, ...] | None = None
            old_kind = None
            if kind in (b"K", b"O"):
                old_kind = kind.decode()
                old = reader.tuple()
                kind = reader.byte()
            if kind != b"N":
                raise DecodingError("Update without a new tuple")
            return Change("UPDATE", self._relation(oid), reader.tuple(), old, old_kind)
        elif tag == b"D":
            (oid,) = reader.unpack(">I")
            kind = reader.byte()
            if kind not in (b"K", b"O"):
                raise DecodingError("Delete without an old tuple")
            return Change("DELETE", self._relation(oid), None, reader.tuple(), kind.decode())
        elif tag == b"T":
            count, options = reader.unpack(">IB")
            oids = reader.unpack(f">{count}I")
            return Truncate(tuple(self._relation(o) for o in oids), bool(options & 1), bool(options & 2))
        elif tag in (b"Y", b"O", b"M"):
            pass  # Type (custom types: the feed reads pg_type itself), Origin, logical Message
        else:
            raise DecodingError(f"unknown pgoutput message {tag!r}")
        return None
