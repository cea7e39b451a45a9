"""Asymmetric JWT signing keys (`[auth] signing_keys_path`, docs/auth.md "Signing keys"): Auth signs access tokens
with the file's signing key (ES256 or RS256, `kid` in the header), publishes the public keys at
/auth/v1/.well-known/jwks.json in GoTrue's shape, and every service behind the gateway (Auth, REST, Storage,
Functions, Realtime) accepts them, next to HS256 tokens signed with the JWT secret. supabase-py and supabase-js
(tests/js/auth-signing-keys.mjs: getClaims through the JWKS) sign in; PyJWT verifies the tokens through the published
JWKS; `supakit gen signing-key` writes and rotates the file."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from functions_py import tokens
from functions_py.errors import ConfigError
from supabase import create_client
from tests.api_harness import ANON_KEY, SECRET, running_api
from tests.auth_helpers import NO_LIMITS, V2024, seed_users
from tests.cli import run_cli

OWNER = "owner@example.com"
OWNER_ID = "11111111-1111-4111-8111-111111111111"


def rotated_out(key: dict) -> dict:
    return {**key, "key_ops": ["verify"]}


@pytest.fixture(scope="module")
def keyed(pg_server, template_db, tmp_path_factory):
    """A gateway whose signing keys file holds a rotated-out RS256 key and the ES256 key that signs."""
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name)
    seed_users(url)
    folder = tmp_path_factory.mktemp("signing-keys")
    old, current = tokens.generate_signing_key("RS256"), tokens.generate_signing_key("ES256")
    path = folder / "signing_keys.json"
    path.write_text(json.dumps([rotated_out(old), current]))
    with running_api(url, settings={**NO_LIMITS, "jwt.signing_keys_path": str(path)}, data_dir=folder,
                     realtime=True) as api:
        api.db_url, api.old, api.current = url, old, current
        yield api
    pg_server.drop_database(name)


def signed_in(api):
    supabase = create_client(api.url, ANON_KEY)
    session = supabase.auth.sign_in_with_password({"email": OWNER, "password": "password"}).session
    return supabase, session


def bearer(token):
    return {"apikey": ANON_KEY, "Authorization": f"Bearer {token}", **V2024}


def test_the_jwks_publishes_the_public_keys_in_gotrue_shape(keyed):
    answer = httpx.get(f"{keyed.url}/auth/v1/.well-known/jwks.json")  # an open route: no apikey
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    published = {key["kid"]: key for key in answer.json()["keys"]}
    assert set(published) == {keyed.old["kid"], keyed.current["kid"]}
    for kid, key in published.items():
        assert key["use"] == "sig" and key["key_ops"] == ["verify"], "public keys only verify, as GoTrue sets them"
        assert not set(key) & tokens.PRIVATE_MEMBERS, f"key {kid} leaks private material"
    assert published[keyed.current["kid"]]["kty"] == "EC" and published[keyed.current["kid"]]["crv"] == "P-256"
    assert published[keyed.old["kid"]]["alg"] == "RS256" and published[keyed.old["kid"]]["e"] == "AQAB"


def test_a_password_sign_in_is_es256_with_the_kid_and_verifies_through_the_jwks(keyed):
    _, session = signed_in(keyed)
    header = jwt.get_unverified_header(session.access_token)
    assert header == {"alg": "ES256", "kid": keyed.current["kid"], "typ": "JWT"}
    client = jwt.PyJWKClient(f"{keyed.url}/auth/v1/.well-known/jwks.json")
    key = client.get_signing_key_from_jwt(session.access_token)
    claims = jwt.decode(session.access_token, key.key, algorithms=["ES256"], audience="authenticated",
                        issuer=f"{keyed.url}/auth/v1")
    assert claims["sub"] == OWNER_ID and claims["role"] == "authenticated" and claims["session_id"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(session.access_token[:-4] + ("AAAA" if not session.access_token.endswith("AAAA") else "BBBB"),
                   key.key, algorithms=["ES256"], audience="authenticated")


def test_rest_storage_functions_and_auth_accept_the_asymmetric_token(keyed):
    supabase, session = signed_in(keyed)
    rows = supabase.table("tasks").select("id").execute().data
    hs256 = tokens.user_token(OWNER_ID, SECRET, email=OWNER)
    same = httpx.get(f"{keyed.url}/rest/v1/tasks?select=id", headers=bearer(hs256))
    assert rows and sorted(r["id"] for r in rows) == sorted(r["id"] for r in same.json()), \
        "RLS sees the same user through an ES256 token as through an HS256 one"
    assert supabase.storage.list_buckets() is not None
    assert supabase.auth.get_user(session.access_token).user.id == OWNER_ID
    function = httpx.post(f"{keyed.url}/functions/v1/billing-checkout", headers=bearer(session.access_token),
                          json={})
    assert function.status_code != 401, function.text
    refreshed = supabase.auth.refresh_session()
    assert jwt.get_unverified_header(refreshed.session.access_token)["kid"] == keyed.current["kid"]


def test_a_rotated_out_key_still_verifies_and_hs256_keeps_working(keyed):
    old_private = jwt.PyJWK(keyed.old).key
    claims = {"aud": "authenticated", "exp": int(time.time()) + 300, "iat": int(time.time()), "sub": OWNER_ID,
              "email": OWNER, "role": "authenticated", "session_id": str(uuid.uuid4()), "is_anonymous": False}
    old_token = jwt.encode(claims, old_private, algorithm="RS256", headers={"kid": keyed.old["kid"]})
    rest = httpx.get(f"{keyed.url}/rest/v1/tasks?select=id", headers=bearer(old_token))
    assert rest.status_code == 200 and rest.json(), rest.text
    hs256 = tokens.user_token(OWNER_ID, SECRET, email=OWNER)
    assert httpx.get(f"{keyed.url}/storage/v1/bucket", headers=bearer(hs256)).status_code == 200
    assert httpx.get(f"{keyed.url}/rest/v1/tasks?select=id", headers=bearer(hs256)).status_code == 200


def test_forged_and_unknown_key_tokens_are_refused_everywhere(keyed):
    claims = {"aud": "authenticated", "exp": int(time.time()) + 300, "sub": OWNER_ID, "role": "service_role"}
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": keyed.current["kid"]})
    unknown = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": "not-a-key-of-ours"})
    # the RS256 key's kid with ES256 in the header: the key decides the algorithm
    confused = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": keyed.old["kid"]})
    for token, message in ((forged, "JWT cryptographic operation failed"),
                           (unknown, "No suitable key or wrong key type"),
                           (confused, "No suitable key or wrong key type")):
        rest = httpx.get(f"{keyed.url}/rest/v1/tasks", headers=bearer(token))
        assert (rest.status_code, rest.json()["code"], rest.json()["message"]) == (401, "PGRST301", message)
        user = httpx.get(f"{keyed.url}/auth/v1/user", headers=bearer(token))
        assert (user.status_code, user.json()["code"]) == (403, "bad_jwt")
        storage = httpx.get(f"{keyed.url}/storage/v1/bucket", headers=bearer(token))
        assert storage.status_code in (400, 401, 403) and storage.status_code != 200
        function = httpx.post(f"{keyed.url}/functions/v1/billing-checkout", headers=bearer(token), json={})
        assert function.status_code == 401


def test_supakit_auth_token_signs_with_the_signing_key(keyed, tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([keyed.current]))
    out = run_cli("auth", "token", OWNER, env={"DATABASE_URL": keyed.db_url,
                                                "SUPAKIT_JWT_SIGNING_KEYS_PATH": str(path)})
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert jwt.get_unverified_header(token)["kid"] == keyed.current["kid"]
    assert httpx.get(f"{keyed.url}/rest/v1/tasks?select=id", headers=bearer(token)).json()


def test_gen_signing_key_writes_the_file_rotates_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "nested" / "signing_keys.json"
    env = {"SUPAKIT_JWT_SIGNING_KEYS_PATH": str(path)}
    first = run_cli("gen", "signing-key", env=env)
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "a private key file is readable by its owner only"
    [key] = json.loads(path.read_text())
    assert key["alg"] == "ES256" and key["kty"] == "EC" and key["key_ops"] == ["sign", "verify"] and key["d"]
    again = run_cli("gen", "signing-key", env=env)
    assert again.returncode != 0 and "--append" in again.stderr
    rotated = run_cli("gen", "signing-key", "--algorithm", "RS256", "--append", env=env)
    assert rotated.returncode == 0, rotated.stderr
    loaded = tokens.SigningKeys.load(path)
    assert [k.kid for k in loaded.keys][0] == key["kid"] and loaded.signing.algorithm == "RS256"
    assert not loaded.keys[0].signs, "the previous key only verifies after a rotation"
    replaced = run_cli("gen", "signing-key", "--force", env=env)
    assert replaced.returncode == 0 and len(json.loads(path.read_text())) == 1
    bad = run_cli("gen", "signing-key", "--algorithm", "HS256", env=env)
    assert bad.returncode != 0 and "RS256 or ES256" in bad.stderr


def test_gen_signing_key_without_a_path_prints_one_private_jwk():
    out = run_cli("gen", "signing-key", "--algorithm", "RS256")
    assert out.returncode == 0, out.stderr
    key = json.loads(out.stdout)
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and {"n", "e", "d", "p", "q", "dp", "dq", "qi"} <= set(key)
    assert "signing_keys_path" in out.stderr
    signed = jwt.encode({"role": "anon", "exp": int(time.time()) + 60}, jwt.PyJWK(key).key, algorithm="RS256")
    assert jwt.decode(signed, jwt.PyJWK(key).key.public_key(), algorithms=["RS256"])["role"] == "anon"


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("{not json", "is not JSON"),
    ("[]", "holds no keys"),
    ("[{\"kty\": \"oct\", \"kid\": \"h\", \"alg\": \"HS256\", \"k\": \"c2VjcmV0\", \"key_ops\": [\"sign\"]}]",
     "signing keys are RS256 or ES256"),
    ("ROTATED_ONLY", "has no signing key"),
    ("TWO_SIGNING", "2 signing keys"),
    ("NO_KID", "has no kid"),
    ("P384", "ES256 uses P-256"),
    ("PUBLIC_SIGNING", "no private part"),
])
def test_a_bad_signing_keys_file_is_refused_with_what_to_do(tmp_path, content, message):
    key = tokens.generate_signing_key("ES256")
    documents = {
        "ROTATED_ONLY": [rotated_out(key)],
        "TWO_SIGNING": [key, tokens.generate_signing_key("RS256")],
        "NO_KID": [{name: value for name, value in key.items() if name != "kid"}],
        "P384": [{**key, "crv": "P-384"}],
        "PUBLIC_SIGNING": [{name: value for name, value in key.items() if name != "d"}],
    }
    path = tmp_path / "keys.json"
    if content is not None:
        path.write_text(json.dumps(documents[content]) if content in documents else content)
    with pytest.raises(ConfigError, match=message):
        tokens.SigningKeys.load(path)


def test_the_setting_resolves_under_supabase_and_loads_with_the_gateway_keys(tmp_path):
    from tests.api_harness import api_settings

    settings = api_settings(54999, {"jwt.signing_keys_path": "./signing_keys.json"})
    assert settings.signing_keys_file == settings.project_dir / "supabase" / "signing_keys.json"
    key = tokens.generate_signing_key("ES256")
    path = tmp_path / "k.json"
    path.write_text(json.dumps(key))  # one bare JWK, as `gen signing-key` prints it, loads too
    configured = tokens.TokenSettings.from_settings(api_settings(54999, {"jwt.signing_keys_path": str(path)}))
    assert configured.signing_keys is not None and configured.signing_keys.signing.kid == key["kid"]
    token = configured.sign({"role": "authenticated", "exp": int(time.time()) + 60})
    assert tokens.TokenVerifier(configured).verify(token)["role"] == "authenticated"
    assert tokens.TokenVerifier(configured).verify(tokens.api_key("anon", SECRET))["role"] == "anon"


NODE = shutil.which("node")
JS_DIR = Path(__file__).resolve().parent / "js"
needs_node = pytest.mark.skipif(
    NODE is None or not (JS_DIR / "node_modules" / "@supabase" / "supabase-js").is_dir(),
    reason="needs node and `npm ci` in tests/js (make js-deps)")


@pytest.fixture(scope="module")
def js_run(keyed):
    done = subprocess.run([NODE, "auth-signing-keys.mjs"], cwd=JS_DIR, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SUPABASE_URL": keyed.url, "ANON_KEY": ANON_KEY})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stdout + done.stderr
    result = json.loads(lines[-1])
    assert "crash" not in result, result["crash"]
    return result


@needs_node
def test_supabase_js_get_claims_verifies_the_es256_token_through_the_jwks(keyed, js_run):
    assert js_run["signin"] is None
    assert js_run["header"] == {"alg": "ES256", "kid": keyed.current["kid"], "typ": "JWT"}
    assert js_run["claims"] == {"error": None, "sub": OWNER_ID, "kid": keyed.current["kid"]}
    # WebCrypto against the published key, not the GET /user fallback (that would answer bad_jwt)
    assert js_run["forged"]["name"] == "AuthInvalidJwtError" and js_run["forged"]["message"] == "Invalid JWT signature"


@needs_node
def test_supabase_js_reaches_rest_storage_functions_and_realtime_with_it(keyed, js_run):
    assert js_run["rest"]["error"] is None and js_run["rest"]["rows"] > 0
    assert js_run["storage"] == {"error": None, "isList": True}
    assert js_run["functions"]["status"] != 401
    assert js_run["realtime"] == "SUBSCRIBED"
    assert js_run["refresh"]["error"] is None and js_run["refresh"]["header"]["kid"] == keyed.current["kid"]
