"""Units of the Auth API that need no server: [auth] settings read from supabase/config.toml as the Supabase CLI
names them, GoTrue's redirect globs, password rules, error bodies, pagination links, the claim shape."""

from __future__ import annotations

import pytest

from functions_py.auth import admin, claims, passwords
from functions_py.auth.errors import AuthError, OAuthError, render
from functions_py.auth.flows import _glob
from functions_py.config import Settings, parse_duration_s
from functions_py.errors import ConfigError

CONFIG = """
[auth]
site_url = "http://localhost:5173"
additional_redirect_urls = ["https://app.example.com/**"]
jwt_expiry = 600
enable_anonymous_sign_ins = true
minimum_password_length = 8
password_requirements = "lower_upper_letters_digits"
refresh_token_reuse_interval = 5

[auth.email]
enable_confirmations = true
max_frequency = "1m"
otp_length = 8

[auth.rate_limit]
email_sent = 10

[auth.hook.custom_access_token]
enabled = true
uri = "pg-functions://postgres/public/hook"

[auth.email.template.invite]
subject = "Join us"
"""


def project(tmp_path, text):
    (tmp_path / "supabase").mkdir()
    (tmp_path / "sql").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text(text)
    return tmp_path


def test_auth_settings_come_from_config_toml_under_the_cli_names(tmp_path):
    settings = Settings.load(project_dir=project(tmp_path, CONFIG), environ={})
    auth = settings.auth
    assert auth.site_url == "http://localhost:5173"
    assert auth.additional_redirect_urls == ("https://app.example.com/**",)
    assert settings.jwt.expiry_s == 600
    assert auth.enable_anonymous_sign_ins is True and auth.enable_confirmations is True
    assert (auth.minimum_password_length, auth.password_requirements) == (8, "lower_upper_letters_digits")
    assert (auth.refresh_token_reuse_interval, auth.email_max_frequency_s, auth.otp_length) == (5, 60, 8)
    assert auth.rate_limit_email_sent == 10 and auth.rate_limit_token_refresh == 150
    assert auth.hook_custom_access_token_enabled is True
    assert auth.hook_custom_access_token_uri == "pg-functions://postgres/public/hook"
    assert auth.template_invite_subject == "Join us" and auth.template_recovery_subject is None


def test_environment_wins_over_config_toml(tmp_path):
    settings = Settings.load(project_dir=project(tmp_path, CONFIG),
                             environ={"GOTRUE_SITE_URL": "http://127.0.0.1:8080", "GOTRUE_RATE_LIMIT_EMAIL_SENT": "0"})
    assert settings.auth.site_url == "http://127.0.0.1:8080" and settings.auth.rate_limit_email_sent == 0
    assert settings.sources["auth.site_url"] == "env"


def test_a_bad_value_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="auth.password_requirements"):
        Settings.load(project_dir=project(tmp_path, '[auth]\npassword_requirements = "emoji"\n'), environ={})


@pytest.mark.parametrize(("raw", "seconds"), [("1s", 1), ("60s", 60), ("1m", 60), ("1h30m", 5400), (30, 30)])
def test_durations_as_the_cli_writes_them(raw, seconds):
    assert parse_duration_s(raw) == seconds


@pytest.mark.parametrize(("pattern", "url", "allowed"), [
    ("http://localhost:3000/**", "http://localhost:3000/a/b", True),
    ("http://localhost:3000/**", "http://localhost:3000.evil.com/", False),
    ("https://*.example.com", "https://app.example.com", True),
    ("https://*.example.com", "https://a.b.example.com", False),
    ("http://127.0.0.1:*/**", "http://127.0.0.1:5173/callback", True),
])
def test_redirect_globs_as_gotrue(pattern, url, allowed):
    assert bool(_glob(pattern).match(url)) is allowed


def test_password_rules_give_gotrue_reasons():
    weak = passwords.weakness("abc", 6, "lower_upper_letters_digits")
    assert weak.extra == {"weak_password": {"reasons": ["length", "characters"]}}
    assert weak.message.startswith("Password should be at least 6 characters.")
    assert passwords.weakness("Abcdef1", 6, "lower_upper_letters_digits") is None


def test_error_bodies_for_both_api_versions():
    error = AuthError(400, "invalid_credentials", "Invalid login credentials")
    new = render(error, {"X-Supabase-Api-Version": "2024-01-01"})
    assert new.body == b'{"code":"invalid_credentials","message":"Invalid login credentials"}'
    assert new.headers["x-supabase-api-version"] == "2024-01-01"
    legacy = render(error, {})
    assert legacy.body == b'{"code":400,"error_code":"invalid_credentials","msg":"Invalid login credentials"}'
    assert legacy.headers["x-sb-error-code"] == "invalid_credentials"
    assert render(OAuthError("invalid_request", "refresh_token required"), {}).body == \
        b'{"error":"invalid_request","error_description":"refresh_token required"}'
    assert render(OAuthError("invalid_request"), {}).body == b'{"error":"invalid_request"}', "omitempty"


def test_pagination_link_as_gotrue():
    assert admin.link_header("/admin/users", {"per_page": "2"}, 1, 2, 5) == \
        '</admin/users?page=2&per_page=2>; rel="next", </admin/users?page=3&per_page=2>; rel="last"'
    assert admin.link_header("/admin/users", {}, 1, 50, 0) == '</admin/users?page=0>; rel="last"'


def test_amr_newest_first_and_aal():
    entries = claims.amr_entries([("password", 100.2), ("totp", 100.7)])
    assert entries == [{"method": "totp", "timestamp": 100}, {"method": "password", "timestamp": 100}]
    assert claims.aal_for(["password", "totp"]) == "aal2" and claims.aal_for(["otp"]) == "aal1"
