"""Keys and tokens kept out of the servers' logs. uvicorn logs every WebSocket handshake (on `uvicorn.error`) and,
with the access log on, every request (on `uvicorn.access`) with its full query string — and supabase-js puts the
API key in the Realtime socket's URL (`?apikey=…`), Storage signed URLs carry `?token=…`, Auth's e-mail links
`?token=…`/`token_hash=…`. A filter on those two loggers replaces each such value with `***` before any handler
sees the record (a logger's filters survive uvicorn's logging setup, which replaces only its handlers)."""

from __future__ import annotations

import logging
import re

# query parameters whose value is a credential (lower-case; matched case-insensitively)
SECRET_PARAMETERS = ("apikey", "api_key", "token", "token_hash", "access_token", "refresh_token", "jwt", "password",
                     "secret", "key")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:" + "|".join(map(re.escape, SECRET_PARAMETERS)) + r")=)[^&#\s\"']*")
MASK = "***"
LOGGERS = ("uvicorn.access", "uvicorn.error")


def mask_query(text: str) -> str:
    """`text` with the value of every secret query parameter replaced by ***."""
    return _SECRET_QUERY.sub(lambda match: match.group(1) + MASK, text)


class SecretQueryFilter(logging.Filter):
    """Masks secret query parameters in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_query(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_query(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def mask_query_secrets(loggers: tuple[str, ...] = LOGGERS) -> None:
    """Install the filter on uvicorn's loggers (once; calling again is harmless)."""
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(each, SecretQueryFilter) for each in logger.filters):
            logger.addFilter(SecretQueryFilter())
