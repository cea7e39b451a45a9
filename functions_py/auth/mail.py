"""Auth's e-mails (confirmation, magic link, recovery, invite, email change, reauthentication), with GoTrue's
default subjects and the link and one-time code GoTrue's templates carry (internal/mailer/template.go).

Delivered straight to the local maildir (`<data dir>/mail/new/*.eml`, where the email.send job writes too), not
through the outbox: an auth mail must arrive while the developer clicks through sign-up, and queueing it would make
every sign-up depend on a running worker (docs/auth.md).

`[auth.email.template.<kind>]` in supabase/config.toml replaces a mail's subject and body as the Supabase CLI
does: the body file is an HTML Go template; the variables GoTrue's templates use are filled in
({{ .ConfirmationURL }}, {{ .Token }}, {{ .TokenHash }}, {{ .SiteURL }}, {{ .Email }}, {{ .NewEmail }},
{{ .RedirectTo }}, {{ .Data.<key> }}); other template actions are not interpreted."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from functions_py.emails import DEFAULT_FROM, write_maildir

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
    """Writes auth e-mails to `maildir` (Maildir layout); `auth` is the settings' auth section (templates) and
    `project_dir` what template paths are relative to."""

    def __init__(self, maildir: Path, sender: str = DEFAULT_FROM, *, auth: Any = None,
                 project_dir: Path | None = None) -> None:
        self.maildir = maildir
        self.sender = sender
        self.auth = auth
        self.project_dir = project_dir or Path.cwd()

    def _custom(self, kind: str) -> tuple[str | None, str | None]:
        if self.auth is None:
            return None, None
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
                values: dict[str, Any] | None = None) -> EmailMessage:
        subject, body = self._custom(kind)
        values = {"ConfirmationURL": link or "", "Token": otp or "", "Email": to, **(values or {})}
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = fill(subject, values) if subject else SUBJECTS[kind]
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<supakit-auth-{uuid.uuid4()}@localhost>"
        message["X-Supakit-Template"] = f"auth.{kind}"
        lines = [INTROS[kind], ""]
        if link:
            lines += [link, ""]
        if otp:
            lines += [f"Alternatively, enter the code: {otp}", ""]
        message.set_content("\n".join(lines))
        if body is not None:
            message.add_alternative(fill(body, values), subtype="html")
        return message

    async def send(self, kind: str, to: str, *, link: str | None = None, otp: str | None = None,
                   **values: Any) -> Path:
        """Write the `kind` mail to `to`; `values` fill the template (TokenHash, SiteURL, RedirectTo, NewEmail,
        Data)."""
        message = self.compose(kind, to, link=link, otp=otp, values=values)
        name = f"auth-{uuid.uuid4().hex}"
        return await asyncio.to_thread(write_maildir, message, self.maildir, name)  # type: ignore[arg-type]
