"""@supabase/ssr's PKCE cookie flow in headless Chromium (Debian's `chromium`) against the local Auth API: a
server-rendered app asks for a magic link, the browser opens it from the maildir, Auth redirects to the app's
/auth/callback?code=…, the app exchanges the code with the verifier from its cookie and keeps the session in
cookies (tests/js/auth-ssr.mjs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api_harness import ANON_KEY, running_api
from tests.auth_helpers import NO_LIMITS, seed_users

JS_DIR = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    NODE is None or not CHROMIUM.exists() or not (JS_DIR / "node_modules" / "@supabase" / "ssr").is_dir(),
    reason="needs node, `npm ci` in tests/js and Debian's chromium (apt-get install -y chromium)")


def test_ssr_pkce_cookie_flow_in_chromium(pg_server, template_db, tmp_path):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    seed_users(url)
    settings = {**NO_LIMITS, "auth.additional_redirect_urls": ("http://127.0.0.1:*/**",)}
    try:
        with running_api(url, settings=settings, data_dir=tmp_path) as api:
            (tmp_path / "mail" / "new").mkdir(parents=True, exist_ok=True)
            done = subprocess.run([NODE, "auth-ssr.mjs"], cwd=JS_DIR, capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "SUPABASE_URL": api.url, "ANON_KEY": ANON_KEY,
                                       "MAIL_DIR": str(tmp_path / "mail" / "new"), "EMAIL": "owner@example.com"})
    finally:
        pg_server.drop_database(name)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stdout + done.stderr
    result = json.loads(lines[-1])
    assert "crash" not in result, result["crash"]
    assert result["login"] == "check your mail"
    assert result["verifierCookie"] is True, "the code verifier lives in a cookie"
    assert result["linkIsPkce"] is True
    assert result["finalUrl"] == "APP/me"
    assert result["me"] == {"email": "owner@example.com", "error": None}
    assert result["sessionCookie"] is True
