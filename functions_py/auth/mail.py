"""Auth's e-mails (confirmation, magic link, recovery, invite, email change, reauthentication), with GoTrue's
default subjects and the link and one-time code GoTrue's templates carry (internal/mailer/template.go).

Delivered straight to the local maildir (`<data dir>/mail/new/*.eml`, where the email.send job writes too), not
through the outbox: an auth mail must arrive while the developer clicks through sign-up, and queueing it would make
every sign-up depend on a running worker (docs/auth.md)."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
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


def action_link(api_url: str, token_hash: str, kind: str, redirect_to: str) -> str:
    """The link GoTrue mails: <api>/verify?token=<hash>&type=<kind>&redirect_to=<url>."""
    return f"{api_url}/verify?" + urlencode({"token": token_hash, "type": kind, "redirect_to": redirect_to})


class Mailer:
    """Writes auth e-mails to `maildir` (Maildir layout)."""

    def __init__(self, maildir: Path, sender: str = DEFAULT_FROM) -> None:
        self.maildir = maildir
        self.sender = sender

    def compose(self, kind: str, to: str, *, link: str | None, otp: str | None) -> EmailMessage:
        lines = [INTROS[kind], ""]
        if link:
            lines += [link, ""]
        if otp:
            lines += [f"Alternatively, enter the code: {otp}", ""]
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = SUBJECTS[kind]
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<supakit-auth-{uuid.uuid4()}@localhost>"
        message["X-Supakit-Template"] = f"auth.{kind}"
        message.set_content("\n".join(lines))
        return message

    async def send(self, kind: str, to: str, *, link: str | None = None, otp: str | None = None) -> Path:
        message = self.compose(kind, to, link=link, otp=otp)
        name = f"auth-{uuid.uuid4().hex}"
        return await asyncio.to_thread(write_maildir, message, self.maildir, name)  # type: ignore[arg-type]
