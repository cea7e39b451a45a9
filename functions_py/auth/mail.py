"""Auth's e-mails (confirmation, magic link, recovery, invite, email change, reauthentication), with GoTrue's
default subjects and the link and one-time code GoTrue's templates carry (internal/mailer/template.go).

Sent through the project's outbox (sql/0010, sql/0029): the composed message is queued with
internal.enqueue_email as an `auth.<kind>` row in the transaction that stores the one-time token, then delivered at
once by the outbox's own delivery code (functions_py/emails.deliver_outbox_email: SMTP when mail.smtp_host is set,
else the maildir, `<data dir>/mail/new/email-<id>.eml`), so the developer has the link when the request answers even
without a worker; a failed delivery stays queued and its email.send job retries it (docs/auth.md, "E-mail").

`[auth.email.template.<kind>]` in supabase/config.toml replaces a mail's subject and body as the Supabase CLI
does: the body file is an HTML Go template; the variables GoTrue's templates use are filled in
({{ .ConfirmationURL }}, {{ .Token }}, {{ .TokenHash }}, {{ .SiteURL }}, {{ .Email }}, {{ .NewEmail }},
{{ .RedirectTo }}, {{ .Data.<key> }}); other template actions are not interpreted."""

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from functions_py.config import Settings
from functions_py.emails import DeliveryError, MailSettings, deliver_outbox_email

log = logging.getLogger(__name__)

EMAIL_ENQUEUE_ONE = "select internal.enqueue_email(%s, %s, %s::jsonb)"

SUBJECTS = {
    "signup": "Confirm Your Email",
    "magiclink": "Your Magic Link",
    "recovery": "Reset Your Password",
    "invite": "You have been invited",
    "email_change": "Confirm Email Change",
    "reauthentication": "Confirm reauthentication",
}
INTROS = {
    "signup": "Follow this link to confirm your user:",
    "magiclink": "Follow this link to login:",
    "recovery": "Follow this link to reset the password for your user:",
    "invite": "You have been invited to create a user. Follow this link to accept the invite:",
    "email_change": "Follow this link to confirm the update of your email:",
    "reauthentication": "Enter the code to confirm reauthentication:",
}


# Our kinds -> the CLI's [auth.email.template.<name>] names
TEMPLATE_NAMES = {"signup": "confirmation", "magiclink": "magic_link", "recovery": "recovery", "invite": "invite",
                  "email_change": "email_change", "reauthentication": "reauthentication"}
GO_VARIABLE = re.compile(r"{{\s*\.(\w+)(?:\.(\w+))?\s*}}")


def fill(template: str, values: dict[str, Any]) -> str:
    """`template` with GoTrue's template variables replaced (HTML-escaped, as Go's html/template does)."""

    def one(match: re.Match[str]) -> str:
        value = values.get(match[1])
        if match[2] is not None:
            value = value.get(match[2]) if isinstance(value, dict) else None
        return "" if value is None else html.escape(str(value))

    return GO_VARIABLE.sub(one, template)


def action_link(api_url: str, token_hash: str, kind: str, redirect_to: str) -> str:
    """The link GoTrue mails: <api>/verify?token=<hash>&type=<kind>&redirect_to=<url>."""
    return f"{api_url}/verify?" + urlencode({"token": token_hash, "type": kind, "redirect_to": redirect_to})


class Mailer:
    """Queues and delivers auth e-mails through the outbox; `settings` gives the templates ([auth.email.template.*],
    paths relative to the project) and where mail goes (the mail.* settings, as for every outbox e-mail)."""

    def __init__(self, settings: Settings) -> None:
        self.auth = settings.auth
        self.project_dir = settings.project_dir
        self.delivery = MailSettings.from_settings(settings)

    def _custom(self, kind: str) -> tuple[str | None, str | None]:
        name = TEMPLATE_NAMES[kind]
        subject = getattr(self.auth, f"template_{name}_subject", None)
        path = getattr(self.auth, f"template_{name}_content_path", None)
        body = None
        if path:
            file = Path(path)
            file = file if file.is_absolute() else self.project_dir / file
            body = file.read_text()
        return subject, body

    def compose(self, kind: str, to: str, *, link: str | None, otp: str | None,
                values: dict[str, Any] | None = None) -> dict[str, str]:
        """The `kind` mail to `to` as the outbox row's data: {subject, text, html?} (html from a config.toml
        template)."""
        subject, body = self._custom(kind)
        values = {"ConfirmationURL": link or "", "Token": otp or "", "Email": to, **(values or {})}
        lines = [INTROS[kind], ""]
        if link:
            lines += [link, ""]
        if otp:
            lines += [f"Alternatively, enter the code: {otp}", ""]
        message = {"subject": fill(subject, values) if subject else SUBJECTS[kind], "text": "\n".join(lines)}
        if body is not None:
            message["html"] = fill(body, values)
        return message

    async def enqueue(self, conn: Any, kind: str, to: str, *, link: str | None = None, otp: str | None = None,
                      **values: Any) -> int:
        """Queue the `kind` mail to `to` in `conn`'s transaction (its outbox id); `values` fill the template
        (TokenHash, SiteURL, RedirectTo, NewEmail, Data)."""
        message = self.compose(kind, to, link=link, otp=otp, values=values)
        row = await (await conn.execute(EMAIL_ENQUEUE_ONE, (to, f"auth.{kind}", json.dumps(message)))).fetchone()
        return int(row[0])

    async def deliver(self, conn: Any, *email_ids: int) -> None:
        """Deliver queued mails now. A failure is left to the outbox (the row stays queued, its email.send job
        retries it) and logged without the message, which holds a sign-in link."""
        for email_id in email_ids:
            try:
                await deliver_outbox_email(conn, email_id, self.delivery)
            except DeliveryError as error:
                log.warning("auth e-mail %s not delivered yet (its email.send job retries it): %s", email_id,
                            error.message)
