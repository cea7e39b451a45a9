"""The local Auth API (functions_py/auth) over HTTP as GoTrue answers: sign-up, the token grants, the user,
logout scopes, e-mail flows clicked from the maildir, the admin API, MFA, and GoTrue's errors for bad input."""

from __future__ import annotations

import re
import time

import httpx
import jwt
import pyotp
import pytest

from tests.api_harness import ANON_KEY, SECRET, running_api
from tests.auth_helpers import NO_LIMITS, V2024, click, fragment, last_mail, mails, seed_users


@pytest.fixture(scope="module")
def world(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    seed_users(url)
    data_dir = tmp_path_factory.mktemp("auth-data")
    settings = {**NO_LIMITS, "auth.enable_anonymous_sign_ins": True,
                "auth.additional_redirect_urls": ("http://localhost:3000/**",)}
    with running_api(url, settings=settings, data_dir=data_dir) as api:
        api.data_dir = data_dir
        api.db_url = url
        yield api
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def confirming(pg_server, template_db, tmp_path_factory):
    """A second stack with [auth.email] enable_confirmations = true."""
    name = pg_server.create_database(template=template_db)
    data_dir = tmp_path_factory.mktemp("auth-confirm")
    with running_api(pg_server.url(name), settings={**NO_LIMITS, "auth.enable_confirmations": True},
                     data_dir=data_dir) as api:
        api.data_dir = data_dir
        yield api
    pg_server.drop_database(name)


def post(api, path, body=None, *, token=None, headers=None, **kwargs):
    sent = {"apikey": ANON_KEY, **V2024, **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{api.url}/auth/v1{path}", json=body, headers=sent, **kwargs)


def get(api, path, *, token=None, **kwargs):
    sent = {"apikey": ANON_KEY, **V2024}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return httpx.get(f"{api.url}/auth/v1{path}", headers=sent, **kwargs)


def claims_of(token):
    return jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_aud": False})


def sign_in(api, email, password="password"):
    answer = post(api, "/token?grant_type=password", {"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return answer.json()


def refresh(api, token):
    return post(api, "/token?grant_type=refresh_token", {"refresh_token": token})


def test_the_seed_users_sign_in_with_password_and_get_gotrue_claims(world):
    session = sign_in(world, "owner@example.com")
    assert session["token_type"] == "bearer" and session["expires_in"] == 3600
    assert len(session["refresh_token"]) == 12
    claims = claims_of(session["access_token"])
    assert list(claims) == ["aud", "exp", "iat", "iss", "sub", "email", "phone", "app_metadata", "user_metadata",
                            "role", "aal", "amr", "session_id", "is_anonymous"]
    assert claims["iss"] == f"{world.url}/auth/v1"
    assert claims["sub"] == "11111111-1111-4111-8111-111111111111"
    assert claims["aal"] == "aal1" and claims["amr"][0]["method"] == "password"
    assert claims["role"] == "authenticated" and claims["is_anonymous"] is False
    assert session["expires_at"] == claims["exp"]
    user = get(world, "/user", token=session["access_token"]).json()
    assert user["email"] == "owner@example.com" and user["last_sign_in_at"]


def test_signup_with_autoconfirm_answers_a_session_and_writes_the_auth_tables(world):
    import psycopg

    answer = post(world, "/signup", {"email": "New.User@Example.com", "password": "hunter22",
                                     "data": {"full_name": "New User"}})
    assert answer.status_code == 200, answer.text
    session = answer.json()
    user = session["user"]
    assert user["email"] == "new.user@example.com" and user["email_confirmed_at"]
    assert user["app_metadata"] == {"provider": "email", "providers": ["email"]}
    assert user["user_metadata"]["full_name"] == "New User"
    assert user["identities"][0]["provider"] == "email"
    with psycopg.connect(world.db_url) as conn:
        hashed = conn.execute("select encrypted_password from auth.users where id = %s", (user["id"],)).fetchone()[0]
        sessions = conn.execute("select count(*) from auth.sessions where user_id = %s", (user["id"],)).fetchone()[0]
        profile = conn.execute("select full_name from public.profiles where id = %s", (user["id"],)).fetchone()
    assert hashed.startswith("$2") and hashed[4:6] == "10", "bcrypt at cost 10, as GoTrue"
    assert sessions == 1
    assert profile == ("New User",), "the profile trigger runs on GoTrue-shaped inserts"
    again = post(world, "/signup", {"email": "new.user@example.com", "password": "hunter22"})
    assert (again.status_code, again.json()["code"]) == (422, "user_already_exists")


def test_wrong_password_and_unknown_user_answer_the_same_invalid_credentials(world):
    wrong = post(world, "/token?grant_type=password", {"email": "owner@example.com", "password": "nope"})
    unknown = post(world, "/token?grant_type=password", {"email": "ghost@example.com", "password": "nope"})
    for answer in (wrong, unknown):
        assert answer.status_code == 400
        assert answer.json() == {"code": "invalid_credentials", "message": "Invalid login credentials"}
        assert answer.headers["x-sb-error-code"] == "invalid_credentials"
        assert answer.headers["x-supabase-api-version"] == "2024-01-01"


def test_token_grant_input_errors_as_gotrue(world):
    grant = post(world, "/token?grant_type=magic")
    assert grant.status_code == 400
    assert grant.json() == {"code": "invalid_credentials", "message": "unsupported_grant_type"}
    no_token = post(world, "/token?grant_type=refresh_token", {})
    assert no_token.status_code == 400
    assert no_token.json() == {"error": "invalid_request", "error_description": "refresh_token required"}
    nobody = post(world, "/token?grant_type=password", {"password": "password"})
    assert nobody.status_code == 400
    assert nobody.json() == {"code": "validation_failed", "message": "missing email or phone"}


def test_a_banned_user_is_told_so_before_the_password_is_checked(world):
    service = {"apikey": world.service_headers["apikey"], **V2024}
    created = httpx.post(f"{world.url}/auth/v1/admin/users", headers=service,
                         json={"email": "banned@example.com", "password": "hunter22", "email_confirm": True,
                               "ban_duration": "24h"})
    assert created.status_code == 200, created.text
    for password in ("hunter22", "wrong-one"):
        answer = post(world, "/token?grant_type=password", {"email": "banned@example.com", "password": password})
        assert answer.status_code == 400
        assert answer.json() == {"code": "user_banned", "message": "User is banned"}


def test_without_the_version_header_errors_use_the_legacy_body(world):
    answer = httpx.post(f"{world.url}/auth/v1/token?grant_type=password", headers={"apikey": ANON_KEY},
                        json={"email": "owner@example.com", "password": "nope"})
    assert answer.json() == {"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"}
    assert "x-supabase-api-version" not in answer.headers


def _age_session_tokens(api, session_id):
    """Move the session's refresh tokens an hour into the past: out of the 10 s reuse interval."""
    import psycopg

    with psycopg.connect(api.db_url, autocommit=True) as conn:
        conn.execute("update auth.refresh_tokens set updated_at = updated_at - interval '1 hour' where session_id = %s",
                     (session_id,))


def _active_tokens(api, session_id):
    import psycopg

    with psycopg.connect(api.db_url) as conn:
        return conn.execute("select count(*) from auth.refresh_tokens where session_id = %s and not revoked",
                            (session_id,)).fetchone()[0]


def test_refresh_rotates_and_the_parent_of_the_active_token_gets_it_back_at_any_time(world):
    first = sign_in(world, "manager@example.com")
    session_id = claims_of(first["access_token"])["session_id"]
    second = refresh(world, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert claims_of(second["access_token"])["session_id"] == session_id
    within = refresh(world, first["refresh_token"]).json()
    assert within["refresh_token"] == second["refresh_token"], "the current token returns, nothing new is issued"
    _age_session_tokens(world, session_id)
    late = refresh(world, first["refresh_token"])
    assert late.status_code == 200, late.text
    assert late.json()["refresh_token"] == second["refresh_token"], "the active token's parent: regardless of time"
    third = refresh(world, second["refresh_token"]).json()
    reused = refresh(world, first["refresh_token"])
    assert (reused.status_code, reused.json()["code"]) == (400, "refresh_token_already_used")
    assert _active_tokens(world, session_id) == 0, "reuse after the interval revokes the whole family"
    _age_session_tokens(world, session_id)
    revoked = refresh(world, third["refresh_token"])
    assert revoked.json()["code"] == "refresh_token_already_used"
    missing = refresh(world, "nosuchtoken1")
    assert missing.json() == {"code": "refresh_token_not_found",
                              "message": "Invalid Refresh Token: Refresh Token Not Found"}


def test_an_older_revoked_token_within_the_reuse_interval_rotates(world):
    first = sign_in(world, "client@example.com")
    session_id = claims_of(first["access_token"])["session_id"]
    second = refresh(world, first["refresh_token"]).json()
    third = refresh(world, second["refresh_token"]).json()
    again = refresh(world, first["refresh_token"])
    assert again.status_code == 200, again.text
    assert again.json()["refresh_token"] not in (first["refresh_token"], second["refresh_token"],
                                                 third["refresh_token"]), "a new token, as GoTrue's swap"
    assert claims_of(again.json()["access_token"])["session_id"] == session_id
    assert refresh(world, again.json()["refresh_token"]).status_code == 200


def test_logout_scopes(world):
    a, b, c = (sign_in(world, "client@example.com") for _ in range(3))
    assert post(world, "/logout?scope=others", token=a["access_token"]).status_code == 204
    assert get(world, "/user", token=a["access_token"]).status_code == 200
    gone = get(world, "/user", token=b["access_token"])
    assert (gone.status_code, gone.json()["code"]) == (403, "session_not_found")
    assert post(world, "/logout?scope=local", token=a["access_token"]).status_code == 204
    assert get(world, "/user", token=a["access_token"]).json()["code"] == "session_not_found"
    refreshed = post(world, "/token?grant_type=refresh_token", {"refresh_token": c["refresh_token"]})
    assert refreshed.json()["code"] == "refresh_token_not_found"
    bad = post(world, "/logout?scope=everything", token=a["access_token"])
    assert bad.json()["code"] == "validation_failed"
    import psycopg

    with psycopg.connect(world.db_url) as conn:
        actions = {row[0] for row in conn.execute(
            "select payload ->> 'action' from auth.audit_log_entries where payload ->> 'actor_username' = %s",
            ("client@example.com",))}
    assert {"login", "logout"} <= actions, "GoTrue's audit trail is written"


def test_bad_input_answers_gotrue_codes(world):
    bad_json = httpx.post(f"{world.url}/auth/v1/signup", content=b"{nope", headers={"apikey": ANON_KEY, **V2024})
    assert (bad_json.status_code, bad_json.json()["code"]) == (400, "bad_json")
    weak = post(world, "/signup", {"email": "weak@example.com", "password": "123"})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    assert weak.json()["weak_password"] == {"reasons": ["length"]}
    no_password = post(world, "/signup", {"email": "np@example.com"})
    assert no_password.status_code == 400
    assert no_password.json() == {"code": "validation_failed", "message": "Signup requires a valid password"}
    bad_email = post(world, "/signup", {"email": "not-an-email", "password": "hunter22"})
    assert bad_email.json()["code"] == "email_address_invalid"
    forged = jwt.encode({"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated",
                         "exp": int(time.time()) + 60}, "x" * 40, algorithm="HS256")
    answer = get(world, "/user", token=forged)
    assert (answer.status_code, answer.json()["code"]) == (403, "bad_jwt")
    no_bearer = httpx.get(f"{world.url}/auth/v1/user", headers={"Authorization": "Basic x", **V2024,
                                                                "apikey": ANON_KEY})
    assert (no_bearer.status_code, no_bearer.json()["code"]) == (401, "no_authorization")
    phone = post(world, "/signup", {"phone": "+15555550100", "password": "hunter22"})
    assert phone.json()["code"] == "phone_provider_disabled" and "SMS" in phone.json()["message"]
    oauth = httpx.get(f"{world.url}/auth/v1/authorize?provider=github", headers=V2024)
    assert oauth.status_code == 400 and "github" in oauth.json()["message"]


def test_settings_and_health(world):
    settings = get(world, "/settings").json()
    assert settings["external"]["email"] is True and settings["mailer_autoconfirm"] is True
    assert settings["external"]["anonymous_users"] is True and settings["disable_signup"] is False
    assert get(world, "/health").json()["name"] == "GoTrue"


def test_magic_link_clicked_from_the_maildir_redirects_with_tokens_in_the_fragment(world):
    assert post(world, "/otp", {"email": "owner@example.com"}).json() == {}
    subject, link, code = last_mail(world.data_dir, "owner@example.com")
    assert subject == "Your Magic Link" and code and len(code) == 6
    answer = click(link)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("http://127.0.0.1:3000#")
    values = fragment(location)
    assert values["type"] == "magiclink" and values["token_type"] == "bearer"
    assert claims_of(values["access_token"])["amr"][0]["method"] == "otp"
    again = click(link)
    assert "error_code=otp_expired" in again.headers["location"], "a link works once"


def test_otp_code_verifies_once_and_unknown_email_with_create_user_false_is_refused(world):
    post(world, "/otp", {"email": "assistant@example.com"})
    _, _, code = last_mail(world.data_dir, "assistant@example.com")
    session = post(world, "/verify", {"email": "assistant@example.com", "token": code, "type": "email"})
    assert session.status_code == 200 and session.json()["user"]["email"] == "assistant@example.com"
    reused = post(world, "/verify", {"email": "assistant@example.com", "token": code, "type": "email"})
    assert (reused.status_code, reused.json()["code"]) == (403, "otp_expired")
    refused = post(world, "/otp", {"email": "nobody@example.com", "create_user": False})
    assert refused.json()["code"] == "otp_disabled"


def test_recovery_then_password_change(world):
    post(world, "/signup", {"email": "forgetful@example.com", "password": "first-pass"})
    assert post(world, "/recover", {"email": "forgetful@example.com"}).json() == {}
    assert post(world, "/recover", {"email": "never-registered@example.com"}).json() == {}, "no enumeration"
    subject, link, _ = last_mail(world.data_dir, "forgetful@example.com")
    assert subject == "Reset Your Password"
    values = fragment(click(link + "&x=1").headers["location"].replace("&x=1", ""))
    assert values["type"] == "recovery"
    changed = httpx.put(f"{world.url}/auth/v1/user", json={"password": "second-pass"},
                        headers={"apikey": ANON_KEY, "Authorization": f"Bearer {values['access_token']}", **V2024})
    assert changed.status_code == 200, changed.text
    sign_in(world, "forgetful@example.com", "second-pass")


def test_a_password_change_ends_the_other_sessions_and_spends_outstanding_links(world):
    import psycopg

    post(world, "/signup", {"email": "changer@example.com", "password": "first-pass"})
    mine, other = (sign_in(world, "changer@example.com", "first-pass") for _ in range(2))
    assert post(world, "/recover", {"email": "changer@example.com"}).json() == {}
    _, recovery_link, _ = last_mail(world.data_dir, "changer@example.com")
    changed = httpx.put(f"{world.url}/auth/v1/user", json={"password": "second-pass"},
                        headers={"apikey": ANON_KEY, "Authorization": f"Bearer {mine['access_token']}", **V2024})
    assert changed.status_code == 200, changed.text
    refused = refresh(world, other["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["code"] == "refresh_token_not_found", "the other session and its tokens are gone"
    assert refresh(world, mine["refresh_token"]).status_code == 200, "the changer's own session goes on"
    values = fragment(click(recovery_link).headers["location"])
    assert values["error_code"] == "otp_expired", "a recovery link sent before the change no longer works"
    with psycopg.connect(world.db_url) as conn:
        left = conn.execute("select recovery_token, recovery_sent_at, (select count(*) from auth.one_time_tokens as t"
                            " where t.user_id = u.id) from auth.users as u where email = 'changer@example.com'"
                            ).fetchone()
    assert left == ("", None, 0)


def test_an_admin_password_reset_ends_every_session_of_the_user(world):
    service = {"apikey": world.service_headers["apikey"], **V2024}
    created = httpx.post(f"{world.url}/auth/v1/admin/users", headers=service,
                         json={"email": "reset@example.com", "password": "first-pass", "email_confirm": True})
    first, second = (sign_in(world, "reset@example.com", "first-pass") for _ in range(2))
    assert post(world, "/recover", {"email": "reset@example.com"}).json() == {}
    _, recovery_link, _ = last_mail(world.data_dir, "reset@example.com")
    reset = httpx.put(f"{world.url}/auth/v1/admin/users/{created.json()['id']}", headers=service,
                      json={"password": "second-pass"})
    assert reset.status_code == 200, reset.text
    for session in (first, second):
        assert refresh(world, session["refresh_token"]).json()["code"] == "refresh_token_not_found"
        assert get(world, "/user", token=session["access_token"]).json()["code"] == "session_not_found"
    assert fragment(click(recovery_link).headers["location"])["error_code"] == "otp_expired"
    sign_in(world, "reset@example.com", "second-pass")


def test_redirect_to_outside_the_allow_list_falls_back_to_the_site_url(world):
    post(world, "/otp?redirect_to=https://evil.example/steal", {"email": "manager@example.com"})
    _, link, _ = last_mail(world.data_dir, "manager@example.com")
    assert "evil.example" not in link
    post(world, "/otp?redirect_to=http://localhost:3000/welcome", {"email": "client@example.com"})
    _, link, _ = last_mail(world.data_dir, "client@example.com")
    assert click(link).headers["location"].startswith("http://localhost:3000/welcome#")


def test_pkce_signup_confirmation_answers_a_code_exchanged_for_a_session(confirming):
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    signed_up = post(confirming, "/signup", {"email": "pkce@example.com", "password": "hunter22",
                                             "code_challenge": challenge, "code_challenge_method": "s256"})
    assert signed_up.status_code == 200 and "access_token" not in signed_up.json()
    assert signed_up.json()["confirmation_sent_at"]
    early = post(confirming, "/token?grant_type=password", {"email": "pkce@example.com", "password": "hunter22"})
    assert early.json()["code"] == "email_not_confirmed"
    subject, link, _ = last_mail(confirming.data_dir, "pkce@example.com")
    assert subject == "Confirm Your Email" and "token=pkce_" in link
    location = click(link).headers["location"]
    code = location.split("code=")[1]
    wrong = post(confirming, "/token?grant_type=pkce", {"auth_code": code, "code_verifier": "x" * 50})
    assert (wrong.status_code, wrong.json()["code"]) == (400, "bad_code_verifier")
    session = post(confirming, "/token?grant_type=pkce", {"auth_code": code, "code_verifier": verifier})
    assert session.status_code == 200, session.text
    assert session.json()["user"]["email_confirmed_at"]


def test_anonymous_sign_in_then_link_an_email(world):
    anon = post(world, "/signup", {"data": {}}).json()
    assert anon["user"]["is_anonymous"] is True and claims_of(anon["access_token"])["is_anonymous"] is True
    no_email = httpx.put(f"{world.url}/auth/v1/user", json={"password": "hunter22"},
                         headers={"apikey": ANON_KEY, "Authorization": f"Bearer {anon['access_token']}", **V2024})
    assert (no_email.status_code, no_email.json()["code"]) == (422, "validation_failed")
    linked = httpx.put(f"{world.url}/auth/v1/user", json={"email": "was-anon@example.com"},
                       headers={"apikey": ANON_KEY, "Authorization": f"Bearer {anon['access_token']}", **V2024})
    assert linked.status_code == 200, linked.text
    assert linked.json()["email"] == "was-anon@example.com" and linked.json()["is_anonymous"] is False


def test_admin_api_lists_with_gotrue_pagination_creates_updates_and_deletes(world):
    service = {"apikey": world.service_headers["apikey"], **V2024}
    listed = httpx.get(f"{world.url}/auth/v1/admin/users?per_page=2", headers=service)
    assert listed.status_code == 200
    total = int(listed.headers["x-total-count"])
    pages = -(-total // 2)
    assert listed.headers["link"] == (f'</admin/users?page=2&per_page=2>; rel="next", '
                                      f'</admin/users?page={pages}&per_page=2>; rel="last"')
    assert len(listed.json()["users"]) == 2 and listed.json()["aud"] == "authenticated"
    created = httpx.post(f"{world.url}/auth/v1/admin/users", headers=service,
                         json={"email": "made@example.com", "password": "hunter22", "email_confirm": True,
                               "app_metadata": {"plan": "pro"}})
    assert created.status_code == 200, created.text
    user_id = created.json()["id"]
    assert created.json()["app_metadata"] == {"provider": "email", "providers": ["email"], "plan": "pro"}
    dup = httpx.post(f"{world.url}/auth/v1/admin/users", headers=service, json={"email": "made@example.com"})
    assert (dup.status_code, dup.json()["code"]) == (422, "email_exists")
    updated = httpx.put(f"{world.url}/auth/v1/admin/users/{user_id}", headers=service,
                        json={"user_metadata": {"nick": "m"}})
    assert updated.json()["user_metadata"]["nick"] == "m"
    as_user = httpx.get(f"{world.url}/auth/v1/admin/users", headers={
        "apikey": ANON_KEY, "Authorization": f"Bearer {sign_in(world, 'made@example.com', 'hunter22')['access_token']}",
        **V2024})
    assert (as_user.status_code, as_user.json()["code"]) == (403, "not_admin")
    soft = httpx.request("DELETE", f"{world.url}/auth/v1/admin/users/{user_id}", headers=service,
                         json={"should_soft_delete": True})
    assert soft.status_code == 200
    assert httpx.get(f"{world.url}/auth/v1/admin/users/{user_id}", headers=service).json()["deleted_at"]
    hard = httpx.request("DELETE", f"{world.url}/auth/v1/admin/users/{user_id}", headers=service)
    assert hard.status_code == 200
    assert httpx.get(f"{world.url}/auth/v1/admin/users/{user_id}", headers=service).json()["code"] == \
        "user_not_found"


def test_generate_link_and_invite(world):
    service = {"apikey": world.service_headers["apikey"], **V2024}
    link = httpx.post(f"{world.url}/auth/v1/admin/generate_link", headers=service,
                      json={"type": "magiclink", "email": "owner@example.com"}).json()
    assert link["verification_type"] == "magiclink" and len(link["email_otp"]) == 6
    assert click(link["action_link"]).status_code == 303
    invited = httpx.post(f"{world.url}/auth/v1/invite", headers=service, json={"email": "invitee@example.com"})
    assert invited.status_code == 200 and invited.json()["invited_at"]
    subject, action, _ = last_mail(world.data_dir, "invitee@example.com")
    assert subject == "You have been invited"
    assert fragment(click(action).headers["location"])["type"] == "invite"


def test_mfa_totp_enroll_challenge_verify_gives_aal2(world):
    session = sign_in(world, "owner@example.com")
    token = session["access_token"]
    factor = post(world, "/factors", {"factor_type": "totp", "friendly_name": "phone app"}, token=token).json()
    assert factor["type"] == "totp" and factor["totp"]["secret"] and factor["totp"]["uri"].startswith("otpauth://")
    challenge = post(world, f"/factors/{factor['id']}/challenge", token=token).json()
    wrong = post(world, f"/factors/{factor['id']}/verify", {"challenge_id": challenge["id"], "code": "000000"},
                 token=token)
    assert wrong.json()["code"] == "mfa_verification_failed"
    code = pyotp.TOTP(factor["totp"]["secret"]).now()
    verified = post(world, f"/factors/{factor['id']}/verify", {"challenge_id": challenge["id"], "code": code},
                    token=token)
    assert verified.status_code == 200, verified.text
    claims = claims_of(verified.json()["access_token"])
    assert claims["aal"] == "aal2" and claims["amr"][0]["method"] == "totp"
    assert verified.json()["user"]["factors"][0]["status"] == "verified"
    refreshed = post(world, "/token?grant_type=refresh_token", {"refresh_token": verified.json()["refresh_token"]})
    assert claims_of(refreshed.json()["access_token"])["aal"] == "aal2"
    aal1 = post(world, f"/factors/{factor['id']}", token=token)
    assert aal1.status_code in (404, 405)
    denied = httpx.delete(f"{world.url}/auth/v1/factors/{factor['id']}",
                          headers={"apikey": ANON_KEY, "Authorization": f"Bearer {token}", **V2024})
    assert denied.json()["code"] == "insufficient_aal"
    password_change = httpx.put(f"{world.url}/auth/v1/user", json={"password": "another-one"},
                                headers={"apikey": ANON_KEY, "Authorization": f"Bearer {token}", **V2024})
    assert (password_change.status_code, password_change.json()["code"]) == (401, "insufficient_aal"), \
        "with a verified factor, an aal1 session may not change the password"
    removed = httpx.delete(f"{world.url}/auth/v1/factors/{factor['id']}", headers={
        "apikey": ANON_KEY, "Authorization": f"Bearer {refreshed.json()['access_token']}", **V2024})
    assert removed.json() == {"id": factor["id"]}


def test_email_is_rate_limited_as_gotrue(pg_server, template_db, tmp_path):
    name = pg_server.create_database(template=template_db)
    try:
        settings = {**NO_LIMITS, "auth.rate_limit_email_sent": 2}
        with running_api(pg_server.url(name), settings=settings, data_dir=tmp_path) as api:
            for n in range(2):
                assert post(api, "/otp", {"email": f"r{n}@example.com"}).status_code == 200
            limited = post(api, "/otp", {"email": "r9@example.com"})
            assert (limited.status_code, limited.json()["code"]) == (429, "over_email_send_rate_limit")
    finally:
        pg_server.drop_database(name)


def test_config_toml_email_templates_replace_subject_and_body(pg_server, template_db, tmp_path):
    name = pg_server.create_database(template=template_db)
    body = tmp_path / "magic_link.html"
    body.write_text('<h2>Hi {{ .Data.full_name }}</h2><a href="{{ .ConfirmationURL }}">Log in</a> {{ .Token }}')
    try:
        seed_users(pg_server.url(name))
        settings = {**NO_LIMITS, "auth.template_magic_link_subject": "Sign in to {{ .SiteURL }}",
                    "auth.template_magic_link_content_path": str(body)}
        with running_api(pg_server.url(name), settings=settings, data_dir=tmp_path) as api:
            assert post(api, "/otp", {"email": "owner@example.com"}).status_code == 200
            message = mails(tmp_path, "owner@example.com")[-1]
    finally:
        pg_server.drop_database(name)
    assert message["Subject"] == "Sign in to http://127.0.0.1:3000"
    rendered = message.get_body(preferencelist=("html",)).get_content()
    assert "<h2>Hi Olivia Owner</h2>" in rendered and "/auth/v1/verify?token=" in rendered
    assert re.search(r"</a> \d{6}", rendered), "{{ .Token }} is the 6-digit code"


def test_resend_mails_a_fresh_confirmation(confirming):
    post(confirming, "/signup", {"email": "resend@example.com", "password": "hunter22"})
    _, first, _ = last_mail(confirming.data_dir, "resend@example.com")
    assert post(confirming, "/resend", {"type": "signup", "email": "resend@example.com"}).json() == {}
    _, second, _ = last_mail(confirming.data_dir, "resend@example.com")
    assert second != first
    assert "error_code=otp_expired" in click(first).headers["location"], "the resent token replaces the first"
    assert fragment(click(second).headers["location"])["type"] == "signup"
    bad = post(confirming, "/resend", {"type": "nonsense", "email": "resend@example.com"})
    assert bad.json()["code"] == "validation_failed"


def test_reauthentication_nonce_is_needed_for_an_old_session_with_secure_password_change(
        pg_server, template_db, tmp_path):
    import psycopg

    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    try:
        seed_users(url)
        with running_api(url, settings={**NO_LIMITS, "auth.secure_password_change": True}, data_dir=tmp_path) as api:
            session = sign_in(api, "owner@example.com")
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("update auth.sessions set created_at = now() - interval '25 hours'")
            headers = {"apikey": ANON_KEY, "Authorization": f"Bearer {session['access_token']}", **V2024}
            needed = httpx.put(f"{api.url}/auth/v1/user", json={"password": "changed-1"}, headers=headers)
            assert (needed.status_code, needed.json()["code"]) == (400, "reauthentication_needed")
            assert httpx.get(f"{api.url}/auth/v1/reauthenticate", headers=headers).json() == {}
            subject, link, nonce = last_mail(tmp_path, "owner@example.com")
            assert subject == "Confirm reauthentication" and link is None and nonce
            wrong = httpx.put(f"{api.url}/auth/v1/user", json={"password": "changed-1", "nonce": "000000"},
                              headers=headers)
            assert wrong.json()["code"] == "reauthentication_not_valid"
            done = httpx.put(f"{api.url}/auth/v1/user", json={"password": "changed-1", "nonce": nonce},
                             headers=headers)
            assert done.status_code == 200, done.text
            sign_in(api, "owner@example.com", "changed-1")
    finally:
        pg_server.drop_database(name)


def test_sign_ins_are_rate_limited_per_ip_as_gotrue(pg_server, template_db, tmp_path):
    name = pg_server.create_database(template=template_db)
    try:
        settings = {**NO_LIMITS, "auth.rate_limit_sign_in_sign_ups": 2}
        with running_api(pg_server.url(name), settings=settings, data_dir=tmp_path) as api:
            for _ in range(2):
                answer = post(api, "/token?grant_type=password", {"email": "x@example.com", "password": "nope"})
                assert answer.status_code == 400
            limited = post(api, "/token?grant_type=password", {"email": "x@example.com", "password": "nope"})
            assert (limited.status_code, limited.json()) == (429, {"code": "over_request_rate_limit",
                                                                   "message": "Request rate limit reached"})
    finally:
        pg_server.drop_database(name)


def test_email_change_is_confirmed_from_both_addresses(world):
    post(world, "/signup", {"email": "mover@example.com", "password": "hunter22"})
    session = sign_in(world, "mover@example.com", "hunter22")
    headers = {"apikey": ANON_KEY, "Authorization": f"Bearer {session['access_token']}", **V2024}
    changed = httpx.put(f"{world.url}/auth/v1/user", json={"email": "moved@example.com"}, headers=headers).json()
    assert changed["email"] == "mover@example.com" and changed["new_email"] == "moved@example.com"
    assert changed["email_change_sent_at"]
    _, to_new, _ = last_mail(world.data_dir, "moved@example.com")
    subject, to_old, _ = last_mail(world.data_dir, "mover@example.com")
    assert subject == "Confirm Email Change"
    half = click(to_new).headers["location"]
    assert "message=Confirmation+link+accepted" in half
    done = fragment(click(to_old).headers["location"])
    assert done["type"] == "email_change"
    assert get(world, "/user", token=done["access_token"]).json()["email"] == "moved@example.com"
    sign_in(world, "moved@example.com", "hunter22")
