"""Split a SQL file into statements, so a failure can be pinned to its file and line.

The lexer knows PostgreSQL's quoting: '...' (with '' escapes), E'...' (backslash escapes), "identifiers",
$tag$ dollar quotes $tag$, -- line comments and nested /* block comments */. SQL-standard function bodies
(`begin atomic ... end`) hold semicolons the lexer cannot attribute safely, so a file containing one is run as a
single statement (PostgreSQL still reports the error position within it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")
_BEGIN_ATOMIC = re.compile(r"\bbegin\s+atomic\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """One statement and where it starts in the file (0-based offset, 1-based line)."""

    text: str
    offset: int
    line: int


def _scan(sql: str) -> tuple[list[int], str]:
    """Offsets of top-level semicolons, and `sql` with strings and comments blanked (same length)."""
    cuts: list[int] = []
    code = list(sql)
    i, n = 0, len(sql)

    def blank(start: int, end: int) -> None:
        for k in range(start, min(end, n)):
            if code[k] != "\n":
                code[k] = " "

    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            blank(i, end)
            i = end
        elif ch == "/" and sql.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if sql.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif ch == "'":
            escapes = i > 0 and sql[i - 1] in "eE" and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == "_"))
            j = i + 1
            while j < n:
                if escapes and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            blank(i, j + 1)
            i = j + 1
        elif ch == '"':
            j = sql.find('"', i + 1)
            while j != -1 and sql.startswith('""', j):
                j = sql.find('"', j + 2)
            j = n if j == -1 else j
            blank(i, j + 1)
            i = j + 1
        elif ch == "$" and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            match = _DOLLAR_TAG.match(sql, i)
            if match:
                tag = match.group(0)
                end = sql.find(tag, match.end())
                end = n if end == -1 else end + len(tag)
                blank(i, end)
                i = end
            else:
                i += 1
        elif ch == ";":
            cuts.append(i)
            i += 1
        else:
            i += 1
    return cuts, "".join(code)


def split(sql: str) -> list[Statement]:
    """The statements of `sql`, in order, without empty ones (comments-only chunks are dropped)."""
    cuts, code = _scan(sql)
    if _BEGIN_ATOMIC.search(code):
        cuts = []
    statements: list[Statement] = []
    start = 0
    for end in [*cuts, len(sql)]:
        chunk, chunk_code = sql[start:end + 1], code[start:end + 1]
        if chunk_code.strip(" \t\r\n;"):
            lead = len(chunk_code) - len(chunk_code.lstrip())
            offset = start + lead
            statements.append(Statement(text=chunk[lead:].rstrip(), offset=offset, line=sql.count("\n", 0, offset) + 1))
        start = end + 1
    return statements


def line_of(sql: str, offset: int) -> int:
    """1-based line number of a 0-based character offset."""
    return sql.count("\n", 0, max(0, offset)) + 1
