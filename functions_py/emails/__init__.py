"""E-mail: templates rendered from an outbox row's data (templates/*.txt), and delivery by SMTP or to a maildir.

Templates are plain text: a `Subject:` line, a blank line, then the body; `${name}` placeholders take values from
the outbox row's `data` plus a few derived ones (see `_derived`). A missing value renders as an empty string, so
an older row never breaks a newer template. Auth's mails (`auth.*`, sql/0029) arrive composed by the Auth API (its
[auth.email.template.*] settings): their row's data is the message itself, `{subject, text, html?}`.

`deliver_outbox_email` is the one delivery path for an outbox row: the email.send job runs it, and so does the Auth
API right after the request that queued a mail commits (the developer is waiting for the link, and `supakit serve`
may run without a worker). It locks the row, so two processes never send one message twice.
"""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from functions_py import config
from functions_py.config import Settings
from functions_py.errors import ConfigError, SupakitError

TEMPLATES = ("welcome", "provisioning_complete", "provisioning_failed", "payment_failed", "backup_failed",
             "restore_complete", "restore_failed", "resize_complete", "resize_failed")
# composed by functions_py/auth/mail.py; the outbox row carries the message (sql/0029)
AUTH_TEMPLATES = ("auth.signup", "auth.magiclink", "auth.recovery", "auth.invite", "auth.email_change",
                  "auth.reauthentication")
DEFAULT_FROM = "supakit <no-reply@localhost>"
DEFAULT_SMTP_TIMEOUT_S = 30.0


class DeliveryError(SupakitError):
    """An e-mail could not be delivered."""

    retryable: bool = True


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _derived(template: str, data: dict[str, Any]) -> dict[str, str]:
    values = {k: ("" if v is None else str(v)) for k, v in data.items()}
    if template == "welcome":
        values["greeting_name"] = f" {data['full_name']}" if data.get("full_name") else ""
    if template == "provisioning_failed":
        values["status_explained"] = (
            "Everything that had been created was removed again; nothing is left running or billed."
            if data.get("status") == "rolled_back" else
            "Some resources could not be removed automatically; our team has been alerted to clean them up.")
        values.setdefault("error", "an unexpected error")
    if template == "restore_failed":
        values["status_explained"] = (
            "Your data was put back as it was before the restore started; nothing was lost."
            if data.get("status") == "rolled_back" else
            "Part of the restore could not be undone automatically; our team has been alerted to look into it.")
        values.setdefault("error", "an unexpected error")
    if template in ("backup_failed", "restore_failed"):
        values["error"] = values.get("error") or "an unexpected error"
    if template == "resize_failed":
        values["status_explained"] = (
            "Your old instance was left untouched and keeps serving; nothing changed for your users."
            if data.get("status") == "rolled_back" else
            "Your site already runs on the new instance; the old one could not be retired yet and our team has "
            "been alerted to finish the job.")
        values.setdefault("error", "an unexpected error")
    if template == "payment_failed":
        amount = data.get("amount_due")
        currency = str(data.get("currency") or "").upper()
        values["amount"] = f"{int(amount) / 100:.2f} {currency}".strip() if isinstance(amount, int | float) \
            else "your subscription"
        values["invoice_ref"] = f" (invoice {data['invoice_number']})" if data.get("invoice_number") else ""
        values["portal_ref"] = f" at {data['hosted_invoice_url']}" if data.get("hosted_invoice_url") else ""
    return values


def render(template: str, data: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of `template` filled with `data`. Unknown templates raise ConfigError."""
    if template in AUTH_TEMPLATES:
        subject, body = data.get("subject"), data.get("text")
        if not isinstance(subject, str) or not isinstance(body, str):
            raise ConfigError(f"outbox e-mail of template {template} has no subject and text; auth mails are queued "
                              "composed by the Auth API.")
        return subject, body
    if template not in TEMPLATES:
        raise ConfigError(f"unknown e-mail template {template!r}; the templates are {', '.join(TEMPLATES)}.")
    text = resources.files("functions_py.emails").joinpath("templates", f"{template}.txt").read_text()
    filled = Template(text).safe_substitute(_Blank(_derived(template, data)))
    head, _, body = filled.partition("\n\n")
    if not head.startswith("Subject:"):
        raise ConfigError(f"template {template}.txt must start with a 'Subject:' line and a blank line.")
    return head.removeprefix("Subject:").strip(), body.strip() + "\n"


def build_message(email_id: int, to_address: str, template: str, data: dict[str, Any], sender: str) -> EmailMessage:
    """The message for outbox row `email_id`. Its Message-ID is derived from the id, so a resend after a crash is
    recognisable as the same message."""
    subject, body = render(template, data)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to_address
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<supakit-email-{email_id}@{domain}>"
    message["X-Supakit-Template"] = template
    message.set_content(body)
    if template in AUTH_TEMPLATES and isinstance(data.get("html"), str):
        message.add_alternative(data["html"], subtype="html")
    return message


@dataclass(frozen=True)
class SMTPSettings:
    """SMTP delivery settings. `password` is a secret: never logged, never in an error message."""

    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    starttls: bool
    timeout_s: float = DEFAULT_SMTP_TIMEOUT_S


@dataclass(frozen=True)
class MailSettings:
    sender: str
    smtp: SMTPSettings | None
    maildir: Path

    @classmethod
    def from_env(cls) -> MailSettings:
        """from_settings with the process's settings (functions_py.config.current())."""
        return cls.from_settings(config.current())

    @classmethod
    def from_settings(cls, settings: Settings) -> MailSettings:
        """mail.smtp_host set: SMTP (SUPAKIT_SMTP_PORT default 587, SUPAKIT_SMTP_USER, SUPAKIT_SMTP_PASSWORD,
        SUPAKIT_SMTP_STARTTLS default true unless the port is 25 or 1025); otherwise .eml files in SUPAKIT_MAILDIR
        (default <data dir>/mail). SUPAKIT_SMTP_FROM is the sender for both."""
        mail = settings.mail
        smtp = None
        if mail.smtp_host:
            port = mail.smtp_port
            starttls = mail.smtp_starttls if mail.smtp_starttls is not None else port not in (25, 1025)
            smtp = SMTPSettings(host=mail.smtp_host, port=port, user=mail.smtp_user, password=mail.smtp_password,
                                starttls=starttls)
        return cls(sender=mail.sender or DEFAULT_FROM, smtp=smtp, maildir=settings.maildir)

    @property
    def transport(self) -> str:
        return f"smtp://{self.smtp.host}:{self.smtp.port}" if self.smtp else f"maildir:{self.maildir}"


def deliver(message: EmailMessage, settings: MailSettings, email_id: int) -> str:
    """Send `message`; returns where it went. Raises DeliveryError (`retryable` says whether to try again)."""
    if settings.smtp is None:
        return str(write_maildir(message, settings.maildir, email_id))
    send_smtp(message, settings.smtp)
    return f"smtp://{settings.smtp.host}:{settings.smtp.port}"


EMAIL_LOCK_ONE = """
select to_address, template, data, status from internal.outbox_emails where id = %s for update
"""
EMAIL_MARK_SENT = """
update internal.outbox_emails set status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = null
where id = %s and status <> 'sent'
"""
EMAIL_MARK_FAILED = """
update internal.outbox_emails
set status = case when %(final)s then 'failed' else status end, attempts = attempts + 1, last_error = %(error)s
where id = %(id)s and status <> 'sent'
"""


async def mark_failed(conn: Any, email_id: int, message: str, *, final: bool) -> None:
    """Record a failed delivery attempt on outbox row `email_id` (`failed` when `final`)."""
    await conn.execute(EMAIL_MARK_FAILED, {"id": email_id, "error": message[:2000], "final": final})


class EmailMissing(SupakitError):
    """The outbox e-mail does not exist."""


async def deliver_outbox_email(conn: Any, email_id: int, settings: MailSettings, *, final: bool = False) -> str | None:
    """Deliver outbox row `email_id` on `conn` (an async connection, not in a transaction): where it went, or None
    when it was already sent (by the job or the Auth API: the row is locked while one of them delivers, so the other
    waits and then skips it). A failure is recorded on the row (`attempts`, `last_error`; `failed` when `final` or
    permanent) and raised as DeliveryError; ConfigError for a row that cannot be rendered."""
    import asyncio

    async with conn.transaction():
        row = await (await conn.execute(EMAIL_LOCK_ONE, (email_id,))).fetchone()
        if row is None:
            raise EmailMissing(f"outbox e-mail {email_id} does not exist.")
        to_address, template, data, status = row
        if status == "sent":
            return None
        try:
            message = build_message(email_id, to_address, template, data or {}, settings.sender)
            where = await asyncio.to_thread(deliver, message, settings, email_id)
        except (DeliveryError, ConfigError) as error:
            retryable = isinstance(error, DeliveryError) and error.retryable
            await conn.execute(EMAIL_MARK_FAILED, {"id": email_id, "error": error.message[:2000],
                                                   "final": final or not retryable})
            failure = error
        else:
            await conn.execute(EMAIL_MARK_SENT, (email_id,))
            return where
    raise failure


def write_maildir(message: EmailMessage, maildir: Path, email_id: int) -> Path:
    """Write `message` as `new/email-<id>.eml` in the maildir (via tmp/, atomically); the same id overwrites the
    same file, so a resend after a crash does not make a second copy."""
    try:
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        name = f"email-{email_id}.eml"
        tmp = maildir / "tmp" / f"{name}.{os.getpid()}"
        tmp.write_bytes(bytes(message))
        final = maildir / "new" / name
        tmp.replace(final)
    except OSError as error:
        raise DeliveryError(f"cannot write to the maildir {maildir}: {error.strerror}; check SUPAKIT_MAILDIR.",
                            retryable=False) from None
    return final


def send_smtp(message: EmailMessage, smtp: SMTPSettings) -> None:
    """Send through SMTP. 4xx answers, timeouts and dropped connections are retryable; 5xx answers (refused
    recipient, rejected login, STARTTLS not offered) are not."""
    where = f"{smtp.host}:{smtp.port}"
    try:
        client_class = smtplib.SMTP_SSL if smtp.port == 465 else smtplib.SMTP
        with client_class(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
            client.ehlo()
            if smtp.starttls and client_class is smtplib.SMTP:
                client.starttls()
                client.ehlo()
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        retryable = all(400 <= code < 500 for code in codes)
        detail = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in error.recipients.items())
        raise DeliveryError(f"the SMTP server at {where} refused the recipient ({detail})",
                            retryable=retryable) from None
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryError(f"the SMTP server at {where} rejected the login for SUPAKIT_SMTP_USER ({error.smtp_code} "
                            f"{_text(error.smtp_error)}); check SUPAKIT_SMTP_USER and SUPAKIT_SMTP_PASSWORD.",
                            retryable=False) from None
    except smtplib.SMTPNotSupportedError as error:
        raise DeliveryError(f"the SMTP server at {where} does not support what was asked ({error}); set "
                            "SUPAKIT_SMTP_STARTTLS=false for a server without STARTTLS.", retryable=False) from None
    except smtplib.SMTPResponseException as error:
        retryable = 400 <= error.smtp_code < 500
        raise DeliveryError(f"the SMTP server at {where} answered {error.smtp_code} {_text(error.smtp_error)}",
                            retryable=retryable) from None
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"could not talk to the SMTP server at {where} ({type(error).__name__}: {error}); check "
                            "SUPAKIT_SMTP_HOST and SUPAKIT_SMTP_PORT", retryable=True) from None


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
