"""The `email.send` job: templates, the maildir, and SMTP against a real local SMTP server (aiosmtpd), run by a
real worker; the outbox row records every outcome."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from functions_py.emails import TEMPLATES, render
from functions_py.embedded import free_port
from functions_py.handlers.email import send
from functions_py.jobs.registry import Registry
from tests.test_worker import run_in_process

SECRET = "s3cret-never-logged"


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def mail_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("SUPAKIT_SMTP_HOST", "SUPAKIT_SMTP_PORT", "SUPAKIT_SMTP_USER", "SUPAKIT_SMTP_PASSWORD",
                 "SUPAKIT_SMTP_STARTTLS", "SUPAKIT_SMTP_FROM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPAKIT_MAILDIR", str(tmp_path / "mail"))
    return tmp_path / "mail"


class Recorder:
    """An SMTP server's message handler: keeps what it accepts; refuses `refused@` (550) and delays `later@` (451)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's API
        if address.startswith("refused@"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("later@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, envelope.rcpt_tos,
                              email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 Message accepted"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == b"mailer" and auth_data.password == SECRET.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch, mail_env: Path) -> Iterator[Recorder]:
    """A real SMTP server on localhost (no TLS; AUTH LOGIN/PLAIN allowed in clear for the test)."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=_authenticate,
                            auth_require_tls=False)
    controller.start()
    monkeypatch.setenv("SUPAKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SUPAKIT_SMTP_PORT", str(port))
    monkeypatch.setenv("SUPAKIT_SMTP_STARTTLS", "false")
    monkeypatch.setenv("SUPAKIT_SMTP_FROM", "Acme <no-reply@acme.test>")
    try:
        yield recorder
    finally:
        controller.stop()


def enqueue(conn: psycopg.Connection, to: str, template: str = "welcome",
            data: str = '{"organization_name": "Acme", "full_name": "Ada"}') -> int:
    return conn.execute("select internal.enqueue_email(%s, %s, %s::jsonb)", (to, template, data)).fetchone()[0]


def outbox(conn: psycopg.Connection, email_id: int) -> dict[str, Any]:
    row = conn.execute("select e.status, e.attempts, e.last_error, e.sent_at is not null, j.status::text, j.error"
                       " from internal.outbox_emails e join internal.jobs j on j.id = e.job_id where e.id = %s",
                       (email_id,)).fetchone()
    return dict(zip(("status", "attempts", "last_error", "sent", "job_status", "job_error"), row, strict=True))


def deliver(conn: psycopg.Connection, url: str, email_id: int) -> dict[str, Any]:
    """Run a real worker (email.send only) until the e-mail's job has left `running` after a first attempt."""
    registry = Registry()
    registry.register("email.send", send, timeout_s=30)

    def settled() -> bool:
        """the e-mail's job settled"""
        row = outbox(conn, email_id)
        return row["job_status"] in ("succeeded", "failed") or (row["job_status"] == "queued"
                                                                and row["attempts"] >= 1)

    run_in_process(url, registry, settled, timeout=20)
    return outbox(conn, email_id)


def test_without_smtp_the_email_is_written_to_the_maildir(conn, fresh_db, mail_env):
    email_id = enqueue(conn, "ada@example.com")
    row = deliver(conn, fresh_db, email_id)
    assert (row["status"], row["attempts"], row["sent"], row["job_status"]) == ("sent", 1, True, "succeeded")
    path = mail_env / "new" / f"email-{email_id}.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ada@example.com" and message["Subject"] == "Welcome to Acme"
    assert message["Message-ID"] == f"<supakit-email-{email_id}@localhost>"
    assert "Hello Ada," in message.get_content()
    assert list((mail_env / "tmp").iterdir()) == [], "written through tmp/, nothing left there"


def test_smtp_delivers_through_a_real_server_with_login(conn, fresh_db, smtp, monkeypatch):
    monkeypatch.setenv("SUPAKIT_SMTP_USER", "mailer")
    monkeypatch.setenv("SUPAKIT_SMTP_PASSWORD", SECRET)
    email_id = enqueue(conn, "bob@example.com", "payment_failed",
                       '{"organization_name": "Acme", "amount_due": 4900, "currency": "usd",'
                       ' "invoice_number": "INV-7", "hosted_invoice_url": "https://pay.example/i/7"}')
    row = deliver(conn, fresh_db, email_id)
    assert (row["status"], row["job_status"]) == ("sent", "succeeded")
    [(sender, recipients, message)] = smtp.messages
    assert (sender, recipients) == ("no-reply@acme.test", ["bob@example.com"])
    assert message["Subject"] == "Payment for Acme failed"
    body = message.get_content()
    assert "49.00 USD" in body and "(invoice INV-7)" in body and "https://pay.example/i/7" in body


def test_a_recipient_refused_with_5xx_fails_for_good(conn, fresh_db, smtp):
    email_id = enqueue(conn, "refused@example.com")
    row = deliver(conn, fresh_db, email_id)
    assert (row["status"], row["attempts"], row["job_status"]) == ("failed", 1, "failed")
    assert "550" in row["last_error"] and smtp.messages == []


def test_a_4xx_answer_is_retried_later(conn, fresh_db, smtp):
    email_id = enqueue(conn, "later@example.com")
    row = deliver(conn, fresh_db, email_id)
    assert (row["status"], row["attempts"], row["job_status"]) == ("queued", 1, "queued"), "queued for a retry"
    assert "451" in row["last_error"]


def test_a_rejected_login_fails_for_good_and_never_shows_the_password(conn, fresh_db, smtp, monkeypatch):
    monkeypatch.setenv("SUPAKIT_SMTP_USER", "mailer")
    monkeypatch.setenv("SUPAKIT_SMTP_PASSWORD", SECRET + "-wrong")
    email_id = enqueue(conn, "ada@example.com")
    row = deliver(conn, fresh_db, email_id)
    assert (row["status"], row["job_status"]) == ("failed", "failed")
    assert "SUPAKIT_SMTP_PASSWORD" in row["last_error"]
    assert SECRET not in row["last_error"] and SECRET not in row["job_error"]


def test_starttls_asked_of_a_server_without_it_fails_with_the_setting_to_change(conn, fresh_db, smtp, monkeypatch):
    monkeypatch.setenv("SUPAKIT_SMTP_STARTTLS", "true")
    email_id = enqueue(conn, "ada@example.com")
    row = deliver(conn, fresh_db, email_id)
    assert (row["status"], row["job_status"]) == ("failed", "failed")
    assert "SUPAKIT_SMTP_STARTTLS=false" in row["last_error"]


def test_an_unreachable_server_is_retried(conn, fresh_db, mail_env, monkeypatch):
    monkeypatch.setenv("SUPAKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SUPAKIT_SMTP_PORT", str(free_port()))  # nothing listens there
    email_id = enqueue(conn, "ada@example.com")
    row = deliver(conn, fresh_db, email_id)
    assert (row["status"], row["job_status"]) == ("queued", "queued")
    assert "SUPAKIT_SMTP_HOST" in row["last_error"]


def test_a_bad_smtp_port_fails_the_email_naming_the_variable(conn, fresh_db, mail_env, monkeypatch):
    monkeypatch.setenv("SUPAKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SUPAKIT_SMTP_PORT", "smtp")
    email_id = enqueue(conn, "ada@example.com")
    row = deliver(conn, fresh_db, email_id)
    assert (row["status"], row["job_status"]) == ("failed", "failed")
    assert "SUPAKIT_SMTP_PORT='smtp' is not a TCP port" in row["last_error"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_a_subject_and_a_body_without_placeholders(template):
    subject, body = render(template, {"organization_name": "Acme", "run_id": "r1", "plan_id": "pro",
                                      "status": "rolled_back", "error": "boom", "subdomain": "acme.example.com"})
    assert "Acme" in subject and "${" not in subject + body and body.endswith("\n")
