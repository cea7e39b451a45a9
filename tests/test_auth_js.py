"""auth-js through supabase-js 2.119.2 (tests/js/auth-flows.mjs) against the local Auth API: sign up, confirm
from the maildir, sign in, RLS through /rest/v1 when the Data API is mounted, refresh, Realtime setAuth, sign out;
magic link; recovery; anonymous then link an e-mail; MFA to aal2; the admin API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api_harness import ANON_KEY, SERVICE_KEY, running_api
from tests.auth_helpers import NO_LIMITS, seed_users

JS_DIR = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (JS_DIR / "node_modules" / "@supabase" / "supabase-js").is_dir(),
    reason="needs node and `npm ci` in tests/js (make test installs them)")


@pytest.fixture(scope="module")
def result(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    seed_users(url)
    data_dir = tmp_path_factory.mktemp("auth-js")
    settings = {**NO_LIMITS, "auth.enable_confirmations": True, "auth.enable_anonymous_sign_ins": True}
    try:
        with running_api(url, settings=settings, data_dir=data_dir, realtime=True) as api:
            (data_dir / "mail" / "new").mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                [NODE, "auth-flows.mjs"], cwd=JS_DIR, capture_output=True, text=True, timeout=120,
                env={**os.environ, "SUPABASE_URL": api.url, "ANON_KEY": ANON_KEY, "SERVICE_KEY": SERVICE_KEY,
                     "MAIL_DIR": str(data_dir / "mail" / "new")})
            assert done.returncode == 0, done.stderr
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            assert lines, done.stdout + done.stderr
            yield json.loads(lines[-1])
    finally:
        pg_server.drop_database(name)


def test_the_js_run_did_not_crash(result):
    assert "crash" not in result, result.get("crash")


def test_sign_up_needs_the_mailed_link_then_signs_in(result):
    assert result["signup"]["error"] is None and result["signup"]["session"] is None
    assert result["early"]["code"] == "email_not_confirmed"
    assert result["confirm"] == {"subject": "Confirm Your Email", "status": 303, "type": "signup"}
    assert result["signin"]["error"] is None and result["signin"]["email"] == "js-user@example.com"


def test_rls_step_runs_or_is_skipped_cleanly(result):
    rls = result["rls"]
    assert "skipped" in rls or (rls["error"] is None and isinstance(rls["rows"], list))


def test_refresh_get_user_realtime_and_sign_out(result):
    assert result["refresh"] == {"error": None, "rotated": True, "sameUser": True}
    assert result["getUser"] == "Js User"
    assert result["realtime"] == "SUBSCRIBED", "Realtime accepts the access token Auth issued"
    assert result["signout"] is None
    assert result["afterSignout"]["code"] == "refresh_token_not_found"
    # auth-js turns GoTrue's 403 session_not_found into AuthSessionMissingError
    assert result["userAfterSignout"]["error"]["name"] == "AuthSessionMissingError"


def test_magic_link_code_signs_in_once(result):
    assert result["magic"] == {"error": None, "subject": "Your Magic Link", "email": "owner@example.com"}
    assert result["magicReuse"]["code"] == "otp_expired"


def test_recovery_sets_a_new_password_and_weak_ones_are_refused(result):
    assert result["recovery"] == {"type": "recovery", "error": None}
    assert result["weak"]["name"] == "AuthWeakPasswordError" and result["weak"]["reasons"] == ["length"]


def test_anonymous_user_links_an_email(result):
    assert result["anonymous"] == {"error": None, "isAnonymous": True}
    assert result["linked"] == {"error": None, "newEmail": "js-anon@example.com", "email": "js-anon@example.com",
                                "isAnonymous": False}


def test_mfa_reaches_aal2(result):
    assert result["mfa"]["error"] is None
    assert result["mfa"]["level"]["currentLevel"] == "aal2" and result["mfa"]["level"]["nextLevel"] == "aal2"
    assert result["mfa"]["totp"] == 1
    assert result["unenroll"] is None


def test_admin_api_through_auth_js(result):
    admin = result["admin"]
    assert admin["error"] is None
    assert admin["listed"] == 2 and admin["nextPage"] == 2 and admin["total"] >= 5
    assert admin["lastPage"] == -(-admin["total"] // 2)
    assert admin["gone"]["code"] == "user_not_found"
    assert admin["linkType"] == "magiclink" and admin["invited"] is True
