"""The database boundary: connections (sync, async, pools), and psycopg errors translated once into supakit's
errors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import AsyncConnectionPool

from functions_py import config
from functions_py.errors import ConfigError, DatabaseUnavailable

CONNECT_TIMEOUT_S = 5


_CONNINFO_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)


def redact(url: str) -> str:
    """`url` with any password replaced by ***, safe to print or log: the user:password@ of a URL, a
    `?password=` query parameter, or a `password=` key of a key=value connection string."""
    if "://" not in url:
        return _CONNINFO_PASSWORD.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable database URL>"
    if password is not None:
        parts = parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@", 1))
    return urlunsplit(parts._replace(query=_QUERY_PASSWORD.sub(r"\1***", parts.query)))


def describe_target(url: str) -> str:
    """host:port/dbname of `url`, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return redact(url)
    return f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


def _where_from(url: str, *, malformed: bool = False) -> str:
    """What to check or do, by where `url` came from: DATABASE_URL / --database-url, or the embedded database."""
    try:
        current = config.current()
    except ConfigError:
        current = None
    if current is not None and current.database_url == url:
        source = "--database-url" if current.sources.get("db.url") == config.SOURCE_FLAG else "DATABASE_URL"
        if malformed:
            return f"Fix {source}, or unset it to use the embedded database."
        return f"Check {source} (it points at that server), or unset it to use the embedded database."
    if current is not None and current.database_url is None:
        return "Start the embedded database with `supakit db start` (or `supakit up`)."
    return "Check the URL, or start the embedded database with `supakit db start`."


def _reason(error: Exception) -> str:
    """The reason a connection failed, from psycopg's several lines: "Connection refused" rather than its closing
    "Is the server running on that host…?" hint."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "failed:" in line:
            return line.rsplit("failed:", 1)[1].strip() or line
    return lines[0] if lines else "no reason given"


def check_url(url: str) -> None:
    """DatabaseUnavailable (exit 3, as every malformed database URL) for a postgresql:// URL with whitespace or
    control characters — a stray newline from a .env file or `echo` — which psycopg would take as part of a name.
    (A key=value connection string has spaces between its pairs, which libpq reads as such: it is not checked.)"""
    if not url.strip().lower().startswith(("postgresql://", "postgres://")):
        return
    stray = [(i, ch) for i, ch in enumerate(url) if ch.isspace() or ord(ch) < 32 or ord(ch) == 127]
    if not stray:
        return
    where = "at its end" if stray[0][0] >= len(url.rstrip()) else \
        "at its start" if stray[0][0] < len(url) - len(url.lstrip()) else f"at position {stray[0][0]}"
    raise DatabaseUnavailable(
        f"the database URL {redact(url.strip())!r} has {len(stray)} stray whitespace or control character(s) "
        f"({', '.join(repr(ch) for _, ch in stray[:3])}) {where}; remove them (a URL has no spaces or newlines: "
        "percent-encode them, e.g. %20). " + _where_from(url, malformed=True), url=redact(url))


def connect(url: str, *, autocommit: bool = True, application_name: str = "supakit", **kwargs) -> psycopg.Connection:
    """Open a connection, turning every way of failing to connect into `DatabaseUnavailable` (exit 3) whose
    message names the server, the reason, and what to check."""
    check_url(url)
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name=application_name, **kwargs)
    except psycopg.ProgrammingError as error:  # a malformed URL
        raise DatabaseUnavailable(
            f"the database URL {redact(url)!r} is not valid ({str(error).strip().replace(url, redact(url))}); "
            "expected postgresql://user:password@host:port/dbname. " + _where_from(url, malformed=True),
            url=redact(url)) from error
    except psycopg.OperationalError as error:
        raise DatabaseUnavailable(
            f"cannot connect to the database at {describe_target(url)}: {_reason(error)}. {_where_from(url)}",
            url=redact(url)) from error


async def connect_async(url: str, *, autocommit: bool = True, application_name: str = "supakit",
                        connect_timeout: float = CONNECT_TIMEOUT_S, **kwargs: Any) -> psycopg.AsyncConnection:
    """An async connection with the house defaults (autocommit, a connect timeout, an application name).
    psycopg's errors pass through untranslated: the long-running readers that use this (the worker's listener,
    the Realtime feeds) tell a lost database from other failures by them and reconnect."""
    return await psycopg.AsyncConnection.connect(url, autocommit=autocommit, connect_timeout=connect_timeout,
                                                 application_name=application_name, **kwargs)


def async_pool(url: str, *, application_name: str, min_size: int = 1, max_size: int = 4, check: bool = False,
               timeout: float = 30.0, name: str | None = None) -> AsyncConnectionPool:
    """A pool of autocommit connections, not opened yet (`await pool.open(wait=True)`). With `check`, each
    connection is tested before it is lent (one round trip), so a restart of the database costs no request; the
    hot paths (worker, gateway) leave it off and let a broken connection be discarded when it is returned."""
    return AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False, timeout=timeout, name=name,
                               check=AsyncConnectionPool.check_connection if check else None,
                               kwargs={"autocommit": True, "application_name": application_name,
                                       "connect_timeout": CONNECT_TIMEOUT_S})


def is_local(url: str) -> bool:
    """True when `url` points at this machine (loopback or a Unix socket)."""
    try:
        host = psycopg.conninfo.conninfo_to_dict(url).get("host") or ""
    except psycopg.ProgrammingError:
        return False
    return host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/")


def with_dbname(url: str, dbname: str) -> str:
    """`url` pointing at another database on the same server."""
    return psycopg.conninfo.make_conninfo(url, dbname=dbname)
