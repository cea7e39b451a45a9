"""Auth's e-mails go through the project's outbox (sql/0029, docs/auth.md "E-mail"): each is an `auth.<kind>` row in
internal.outbox_emails with its email.send job, committed with the one-time token, and delivered by the outbox's
delivery code before the request answers (no worker needed); the job then finds it sent. With SMTP down the request
still answers, the row stays queued with the error, and a real worker delivers it later through a real SMTP server."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller

from functions_py.embedded import free_port
from tests.api_harness import ANON_KEY, running_api
from tests.auth_helpers import NO_LIMITS, V2024, last_mail, mails, seed_users
from tests.test_email_handler import Recorder, deliver

OWNER = "owner@example.com"


@pytest.fixture
def stack(pg_server, template_db, tmp_path, monkeypatch):
    """A fresh database and a gateway on it; `start(settings)` runs the gateway, the maildir is tmp_path/mail."""
    for name in ("SUPAKIT_SMTP_HOST", "SUPAKIT_SMTP_PORT", "SUPAKIT_SMTP_STARTTLS", "SUPAKIT_SMTP_USER",
                 "SUPAKIT_SMTP_PASSWORD", "SUPAKIT_SMTP_FROM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPAKIT_MAILDIR", str(tmp_path / "mail"))  # the worker's (the gateway ignores the env)
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    seed_users(url)
    yield url, tmp_path
    pg_server.drop_database(name)


def post(api, path, body):
    return httpx.post(f"{api.url}/auth/v1{path}", json=body, headers={"apikey": ANON_KEY, **V2024})


def auth_rows(conn):
    return conn.execute("select id, to_address, template, status, attempts, last_error, job_id from "
                        "internal.outbox_emails where template like 'auth.%' order by id").fetchall()


def test_a_magic_link_is_an_outbox_row_delivered_before_the_request_answers(stack):
    url, data_dir = stack
    with running_api(url, settings=NO_LIMITS, data_dir=data_dir) as api, \
            psycopg.connect(url, autocommit=True) as conn:
        answer = post(api, "/otp", {"email": OWNER, "create_user": False})
        assert answer.status_code == 200, answer.text
        [(email_id, to, template, status, attempts, error, job_id)] = auth_rows(conn)
        assert (to, template, status, attempts, error) == (OWNER, "auth.magiclink", "sent", 1, None)
        assert job_id is not None, "queued with its email.send job, as every outbox e-mail"
        mail_file = data_dir / "mail" / "new" / f"email-{email_id}.eml"
        assert mail_file.exists(), "delivered by the outbox's own code, named after the row"
        subject, link, code = last_mail(data_dir, OWNER)
        assert subject == "Your Magic Link" and "/auth/v1/verify?token=" in link and len(code) == 6
        # the job, run later by a real worker, finds the row sent and sends nothing twice
        settled = deliver(conn, url, email_id)
        assert (settled["status"], settled["attempts"], settled["job_status"]) == ("sent", 1, "succeeded")
        assert len(mails(data_dir, OWNER)) == 1


def test_with_smtp_down_the_request_answers_and_a_worker_delivers_it_later(stack, monkeypatch):
    url, data_dir = stack
    port = free_port()  # nothing listens there yet
    smtp = {"mail.smtp_host": "127.0.0.1", "mail.smtp_port": port, "mail.smtp_starttls": False}
    with running_api(url, settings={**NO_LIMITS, **smtp}, data_dir=data_dir) as api, \
            psycopg.connect(url, autocommit=True) as conn:
        answer = post(api, "/recover", {"email": OWNER})
        assert (answer.status_code, answer.json()) == (200, {})
        [(email_id, _, template, status, attempts, error, _)] = auth_rows(conn)
        assert (template, status, attempts) == ("auth.recovery", "queued", 1)
        assert "could not talk to the SMTP server" in error
        recorder = Recorder()
        controller = Controller(recorder, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            monkeypatch.setenv("SUPAKIT_SMTP_HOST", "127.0.0.1")
            monkeypatch.setenv("SUPAKIT_SMTP_PORT", str(port))
            monkeypatch.setenv("SUPAKIT_SMTP_STARTTLS", "false")
            settled = deliver(conn, url, email_id)
        finally:
            controller.stop()
    assert (settled["status"], settled["job_status"], settled["attempts"]) == ("sent", "succeeded", 2)
    # the worker sends the seed's welcome mails too: the auth one is told by its template header
    [(recipients, message)] = [(r, m) for _, r, m in recorder.messages if m["X-Supakit-Template"] == "auth.recovery"]
    assert recipients == [OWNER] and message["Subject"] == "Reset Your Password"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "/auth/v1/verify?token=" in body and "type=recovery" in body


def test_an_auth_row_must_carry_its_composed_message(stack):
    url, _ = stack
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(psycopg.errors.CheckViolation) as refused:
        conn.execute("select internal.enqueue_email('a@example.com', 'auth.signup', '{}'::jsonb)")
    assert refused.value.diag.constraint_name == "auth_rows_carry_their_message"


@pytest.mark.parametrize("email", ["dev@localhost", "first.last+tag@sub.example.co"])
def test_an_address_gotrue_accepts_is_one_the_outbox_takes(stack, email):
    url, data_dir = stack
    with running_api(url, settings=NO_LIMITS, data_dir=data_dir) as api, \
            psycopg.connect(url, autocommit=True) as conn:
        answer = post(api, "/otp", {"email": email, "create_user": True})
        assert answer.status_code == 200, answer.text
        [(_, to, template, status, *_)] = auth_rows(conn)
        assert (to, template, status) == (email, "auth.magiclink", "sent")


@pytest.mark.parametrize("email", ["a@b@example.com", "tab\t@example.com", "<a>@example.com", "a@-example.com",
                                   "a@example..com", "@example.com", "a@"])
def test_an_address_gotrue_refuses_is_a_400_before_anything_is_written(stack, email):
    url, data_dir = stack
    with running_api(url, settings=NO_LIMITS, data_dir=data_dir) as api, \
            psycopg.connect(url, autocommit=True) as conn:
        answer = post(api, "/signup", {"email": email, "password": "a-Long-passw0rd"})
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "email_address_invalid", answer.text  # the 2024-01-01 error shape
        assert auth_rows(conn) == []
        assert conn.execute("select count(*) from auth.users where email = %s", (email,)).fetchone()[0] == 0
