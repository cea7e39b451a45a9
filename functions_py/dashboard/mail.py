"""The Mail page's messages: outbox rows (internal.outbox_emails) rendered with their template, and the .eml files
the local maildir holds (everything delivered locally, outbox e-mails and Auth's alike) — what Inbucket shows a
Supabase CLI user. Links in a text body become clickable; an HTML part is shown in a sandboxed frame."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from html import escape
from pathlib import Path

from markupsafe import Markup

from functions_py.emails import render
from functions_py.errors import ConfigError

URL = re.compile(r"https?://[^\s<>\"')\]]+")
MAILDIR_NAME = re.compile(r"^[A-Za-z0-9._:,=+-]{1,200}$")
MAILDIR_LIMIT = 200


def linkify(text: str) -> Markup:
    """`text` escaped, with every http(s) URL a link that opens in a new tab."""
    out, last = [], 0
    for match in URL.finditer(text):
        out.append(escape(text[last:match.start()]))
        url = match.group(0)
        out.append(f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a>')
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("".join(out))


def render_outbox(template: str, data: dict) -> tuple[str, Markup]:
    """(subject, linkified body) of an outbox row, as the email.send job would render it now."""
    try:
        subject, body = render(template, data or {})
    except ConfigError as error:
        return f"({template})", Markup(f"<em>{escape(error.message)}</em>")
    return subject, linkify(body)


@dataclass(frozen=True)
class MaildirMessage:
    name: str
    subject: str
    sender: str
    to: str
    date: datetime
    size: int


def _paths(maildir: Path) -> list[Path]:
    found = []
    for sub in ("new", "cur"):
        folder = maildir / sub
        if folder.is_dir():
            found += [p for p in folder.iterdir() if p.is_file()]
    return found


def list_maildir(maildir: Path, limit: int = MAILDIR_LIMIT) -> list[MaildirMessage]:
    """The newest `limit` messages of the maildir (by file time); headers only."""
    paths = sorted(_paths(maildir), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    parser = BytesParser(policy=policy.default)
    messages = []
    for path in paths:
        with path.open("rb") as handle:
            headers = parser.parse(handle, headersonly=True)
        stat = path.stat()
        messages.append(MaildirMessage(name=path.name, subject=str(headers.get("Subject", "(no subject)")),
                                       sender=str(headers.get("From", "")), to=str(headers.get("To", "")),
                                       date=datetime.fromtimestamp(stat.st_mtime, UTC), size=stat.st_size))
    return messages


def read_maildir(maildir: Path, name: str) -> dict | None:
    """One message by file name: headers, text body linkified, HTML body (for a sandboxed frame); None when absent."""
    if not MAILDIR_NAME.match(name) or name.startswith("."):
        return None
    path = next((p for p in (maildir / "new" / name, maildir / "cur" / name) if p.is_file()), None)
    if path is None:
        return None
    message = BytesParser(policy=policy.default).parse(path.open("rb"))
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    return {"name": name, "subject": str(message.get("Subject", "(no subject)")), "from": str(message.get("From", "")),
            "to": str(message.get("To", "")), "date": str(message.get("Date", "")),
            "headers": [(k, str(v)) for k, v in message.items()],
            "text": linkify(text), "html": html_part.get_content() if html_part is not None else None}
