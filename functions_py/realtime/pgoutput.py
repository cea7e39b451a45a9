"""A reader for PostgreSQL's `pgoutput` logical decoding messages (protocol version 1, text tuples).

Only what broadcast-from-the-database needs: Begin (commit timestamp), Relation (column names) and Insert
(new tuple as text). Other messages are skipped. Reference: PostgreSQL docs, "Logical Replication Message Formats".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Relation:
    oid: int
    schema: str
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Insert:
    relation: Relation
    values: dict[str, str | None]  # text form of each column; None for NULL
    commit_time: datetime | None


def _string(data: bytes, offset: int) -> tuple[str, int]:
    end = data.index(0, offset)
    return data[offset:end].decode(), end + 1


def _tuple(data: bytes, offset: int) -> tuple[list[str | None], int]:
    (count,) = struct.unpack_from(">h", data, offset)
    offset += 2
    values: list[str | None] = []
    for _ in range(count):
        kind = data[offset:offset + 1]
        offset += 1
        if kind == b"t":
            (size,) = struct.unpack_from(">i", data, offset)
            offset += 4
            values.append(data[offset:offset + size].decode())
            offset += size
        else:  # b"n" null, b"u" unchanged TOAST (never in an INSERT)
            values.append(None)
    return values, offset


class Decoder:
    """Turns a stream of pgoutput messages into Inserts; keeps the relations it has seen."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}
        self._commit_time: datetime | None = None

    def feed(self, data: bytes) -> Insert | None:
        """Read one message; returns an Insert for insert messages, None for the others."""
        tag = data[:1]
        if tag == b"B":
            _lsn, micros, _xid = struct.unpack_from(">qqi", data, 1)
            self._commit_time = PG_EPOCH + timedelta(microseconds=micros)
        elif tag == b"R":
            (oid,) = struct.unpack_from(">I", data, 1)
            schema, offset = _string(data, 5)
            name, offset = _string(data, offset)
            offset += 1  # replica identity
            (count,) = struct.unpack_from(">h", data, offset)
            offset += 2
            columns = []
            for _ in range(count):
                offset += 1  # flags
                column, offset = _string(data, offset)
                offset += 8  # type oid, type modifier
                columns.append(column)
            self.relations[oid] = Relation(oid, schema, name, tuple(columns))
        elif tag == b"I":
            (oid,) = struct.unpack_from(">I", data, 1)
            relation = self.relations.get(oid)
            if relation is None:
                return None
            values, _ = _tuple(data, 6)  # after the relation id and the 'N' marker
            return Insert(relation, dict(zip(relation.columns, values, strict=False)), self._commit_time)
        return None
