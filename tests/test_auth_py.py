"""supabase-py 2.34.1's auth client (supabase_auth) over HTTP against the local Auth API: sign up, confirm from the
maildir, sign in, refresh, the user, sign out; magic link by code; recovery; anonymous linking; MFA to aal2; the
admin API; and the errors it raises for GoTrue's codes."""

from __future__ import annotations

import httpx
import pyotp
import pytest
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

from supabase import create_client
from tests.api_harness import ANON_KEY, SERVICE_KEY, running_api
from tests.auth_helpers import NO_LIMITS, click, last_mail, seed_users


@pytest.fixture(scope="module")
def api(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    seed_users(url)
    data_dir = tmp_path_factory.mktemp("auth-py")
    settings = {**NO_LIMITS, "auth.enable_confirmations": True, "auth.enable_anonymous_sign_ins": True}
    with running_api(url, settings=settings, data_dir=data_dir) as running:
        running.data_dir = data_dir
        yield running
    pg_server.drop_database(name)


def client(api, key=ANON_KEY):
    return create_client(api.url, key)


def test_sign_up_confirm_sign_in_refresh_and_sign_out(api):
    supabase = client(api)
    signed_up = supabase.auth.sign_up({"email": "py-user@example.com", "password": "py-password-1",
                                       "options": {"data": {"full_name": "Py User"}}})
    assert signed_up.session is None and signed_up.user.email == "py-user@example.com"
    with pytest.raises(AuthApiError) as early:
        supabase.auth.sign_in_with_password({"email": "py-user@example.com", "password": "py-password-1"})
    assert early.value.code == "email_not_confirmed"
    _, link, _ = last_mail(api.data_dir, "py-user@example.com")
    location = click(link).headers["location"]
    assert "?code=" in location, "supabase-py uses the PKCE flow: the link answers ?code="
    exchanged = supabase.auth.exchange_code_for_session({"auth_code": location.split("code=")[1]})
    assert exchanged.user.email_confirmed_at
    session = supabase.auth.sign_in_with_password({"email": "py-user@example.com", "password": "py-password-1"})
    assert session.user.user_metadata["full_name"] == "Py User"
    if httpx.get(f"{api.url}/rest/v1/", headers={"apikey": ANON_KEY}).status_code != 404:
        rows = supabase.table("profiles").select("id, full_name").execute().data
        assert {"id": session.user.id, "full_name": "Py User"} in rows, "RLS shows the user their own profile"
    refreshed = supabase.auth.refresh_session()
    assert refreshed.session.refresh_token != session.session.refresh_token
    assert supabase.auth.get_user().user.id == session.user.id
    supabase.auth.sign_out()
    with pytest.raises(AuthApiError) as gone:
        client(api).auth.refresh_session(refreshed.session.refresh_token)
    assert gone.value.code == "refresh_token_not_found"


def test_wrong_password_raises_invalid_credentials(api):
    with pytest.raises(AuthApiError) as failed:
        client(api).auth.sign_in_with_password({"email": "owner@example.com", "password": "wrong"})
    assert (failed.value.status, failed.value.code) == (400, "invalid_credentials")


def test_magic_link_code_and_recovery(api):
    supabase = client(api)
    supabase.auth.sign_in_with_otp({"email": "owner@example.com", "options": {"should_create_user": False}})
    _, _, code = last_mail(api.data_dir, "owner@example.com")
    verified = supabase.auth.verify_otp({"email": "owner@example.com", "token": code, "type": "email"})
    assert verified.user.email == "owner@example.com"
    recovering = client(api)
    recovering.auth.reset_password_for_email("client@example.com")
    _, link, _ = last_mail(api.data_dir, "client@example.com")
    code = click(link).headers["location"].split("code=")[1]
    recovering.auth.exchange_code_for_session({"auth_code": code})
    with pytest.raises(AuthWeakPasswordError):
        recovering.auth.update_user({"password": "1"})
    recovering.auth.update_user({"password": "py-new-password"})
    assert client(api).auth.sign_in_with_password({"email": "client@example.com",
                                                    "password": "py-new-password"}).user


def test_anonymous_then_link_email(api):
    supabase = client(api)
    anon = supabase.auth.sign_in_anonymously()
    assert anon.user.is_anonymous is True
    supabase.auth.update_user({"email": "py-anon@example.com"})
    _, _, code = last_mail(api.data_dir, "py-anon@example.com")
    linked = supabase.auth.verify_otp({"email": "py-anon@example.com", "token": code, "type": "email_change"})
    assert linked.user.email == "py-anon@example.com" and linked.user.is_anonymous is False


def test_mfa_enroll_verify_reaches_aal2(api):
    supabase = client(api)
    supabase.auth.sign_in_with_password({"email": "assistant@example.com", "password": "password"})
    factor = supabase.auth.mfa.enroll({"factor_type": "totp", "friendly_name": "py"})
    challenge = supabase.auth.mfa.challenge({"factor_id": factor.id})
    supabase.auth.mfa.verify({"factor_id": factor.id, "challenge_id": challenge.id,
                              "code": pyotp.TOTP(factor.totp.secret).now()})
    assert supabase.auth.mfa.get_authenticator_assurance_level().current_level == "aal2"


def test_admin_create_list_delete(api):
    admin = client(api, SERVICE_KEY).auth.admin
    created = admin.create_user({"email": "py-made@example.com", "password": "made-pass-1", "email_confirm": True})
    users = admin.list_users(page=1, per_page=50)
    assert any(user.id == created.user.id for user in users)
    admin.delete_user(created.user.id)
    with pytest.raises(AuthApiError) as gone:
        admin.get_user_by_id(created.user.id)
    assert gone.value.code == "user_not_found"
