"""The custom access token hook ([auth.hook.custom_access_token], pg-functions://postgres/public/<fn>) run as
Supabase runs it: as supabase_auth_admin, with {user_id, claims, authentication_method}; its claims are signed."""

from __future__ import annotations

import httpx
import jwt
import psycopg
import pytest

from tests.api_harness import ANON_KEY, SECRET, running_api
from tests.auth_helpers import NO_LIMITS, V2024, seed_users

HOOK = """
create function public.custom_access_token_hook(event jsonb) returns jsonb
language plpgsql stable as $$
begin
  if event ->> 'authentication_method' = 'password' and (event -> 'claims' ->> 'email') = 'client@example.com' then
    return jsonb_build_object('error', jsonb_build_object('http_code', 403, 'message', 'clients may not sign in'));
  end if;
  return jsonb_build_object('claims', (event -> 'claims')
    || jsonb_build_object('user_role', 'member', 'method', event ->> 'authentication_method'));
end;
$$;
grant execute on function public.custom_access_token_hook(jsonb) to supabase_auth_admin;
revoke execute on function public.custom_access_token_hook(jsonb) from public, anon, authenticated;
"""


@pytest.fixture(scope="module")
def api(pg_server, template_db, tmp_path_factory):
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    seed_users(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(HOOK)
    settings = {**NO_LIMITS, "auth.hook_custom_access_token_enabled": True,
                "auth.hook_custom_access_token_uri": "pg-functions://postgres/public/custom_access_token_hook"}
    with running_api(url, settings=settings, data_dir=tmp_path_factory.mktemp("hook")) as running:
        yield running
    pg_server.drop_database(name)


def sign_in(api, email):
    return httpx.post(f"{api.url}/auth/v1/token?grant_type=password", headers={"apikey": ANON_KEY, **V2024},
                      json={"email": email, "password": "password"})


def test_the_hook_adds_claims_to_sign_in_and_refresh_tokens(api):
    session = sign_in(api, "owner@example.com").json()
    claims = jwt.decode(session["access_token"], SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert claims["user_role"] == "member" and claims["method"] == "password"
    refreshed = httpx.post(f"{api.url}/auth/v1/token?grant_type=refresh_token", headers={"apikey": ANON_KEY, **V2024},
                           json={"refresh_token": session["refresh_token"]}).json()
    again = jwt.decode(refreshed["access_token"], SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert again["method"] == "token_refresh" and again["user_role"] == "member"


def test_a_hook_error_answers_its_status_and_message(api):
    refused = sign_in(api, "client@example.com")
    assert refused.status_code == 403 and refused.json()["message"] == "clients may not sign in"
