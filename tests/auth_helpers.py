"""Shared by the Auth tests: a gateway with the Auth API on a fresh database (rate limits off unless a test turns
them on), the maildir its mails land in, and clicking a link from it."""

from __future__ import annotations

import email
import re
from pathlib import Path
from typing import Any

import httpx

V2024 = {"X-Supabase-Api-Version": "2024-01-01"}
NO_LIMITS = {"auth.rate_limit_email_sent": 0, "auth.rate_limit_sign_in_sign_ups": 0,
             "auth.rate_limit_token_refresh": 0, "auth.rate_limit_token_verifications": 0,
             "auth.rate_limit_anonymous_users": 0, "auth.email_max_frequency_s": 0}


def mails(data_dir: Path, to: str | None = None) -> list[email.message.EmailMessage]:
    """Auth's mails in the maildir (outbox rows of the auth.* templates, delivered as email-<id>.eml), oldest
    first, optionally only those to `to`."""
    folder = data_dir / "mail" / "new"
    found = []
    for path in sorted(folder.glob("email-*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if not str(message["X-Supakit-Template"] or "").startswith("auth."):
            continue
        if to is None or message["To"] == to:
            found.append(message)
    return found


def last_mail(data_dir: Path, to: str) -> tuple[str, str | None, str | None]:
    """(subject, link, code) of the newest mail to `to`."""
    found = mails(data_dir, to)
    assert found, f"no mail to {to} in the maildir"
    message = found[-1]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"(http\S+/verify\?\S+)", body)
    code = re.search(r"code: (\d+)", body)
    return message["Subject"], link[1] if link else None, code[1] if code else None


def click(link: str) -> httpx.Response:
    """Open an e-mail link as a browser does (no apikey), without following the redirect."""
    return httpx.get(link, follow_redirects=False)


def fragment(location: str) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(location.split("#", 1)[1]))


def seed_users(database_url: str) -> None:
    import psycopg

    from tests.api_harness import ROOT

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute((ROOT / "seed.sql").read_text())
