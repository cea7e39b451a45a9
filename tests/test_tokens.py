"""Supabase JWTs: verification as Supabase's services do it (HS256 secret, JWKS), and the local keys and tokens."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from functions_py import tokens
from functions_py.errors import ConfigError
from functions_py.postgrest import request
from tests import factories
from tests.cli import run_cli

SECRET = "a-test-secret-that-is-at-least-32-characters"
# The Supabase CLI's published local anon key (its docs and every local .env): ours must equal it byte for byte.
CLI_ANON_KEY = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4"
                "MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0")


def verifier(secret: str = SECRET, jwks_url: str | None = None) -> tokens.TokenVerifier:
    return tokens.TokenVerifier(tokens.TokenSettings(secret=secret, jwks_url=jwks_url))


def test_the_local_anon_key_is_the_supabase_cli_one():
    assert tokens.api_key("anon", tokens.LOCAL_JWT_SECRET) == CLI_ANON_KEY
    claims = verifier(tokens.LOCAL_JWT_SECRET).verify(tokens.api_key("service_role", tokens.LOCAL_JWT_SECRET))
    assert claims == {"iss": "supabase-demo", "role": "service_role", "exp": tokens.LOCAL_KEY_EXPIRY}


def test_a_user_token_carries_gotrue_claims_and_verifies():
    user = uuid.uuid4()
    claims = verifier().verify(tokens.user_token(user, SECRET, email="a@example.com", expires_in_s=60))
    assert (claims["sub"], claims["role"], claims["aud"], claims["email"]) == (str(user), "authenticated",
                                                                            "authenticated", "a@example.com")
    assert claims["exp"] - claims["iat"] == 60 and claims["aal"] == "aal1"


@pytest.mark.parametrize(("token", "reason"), [
    (None, "missing"),
    ("", "missing"),
    ("not-a-jwt", "malformed"),
    (tokens.user_token(uuid.uuid4(), "another-secret-that-is-at-least-32-chars"), "bad_signature"),
    (tokens.user_token(uuid.uuid4(), SECRET, now=time.time() - 7200), "expired"),
    (tokens.sign({"role": "anon"}, SECRET), "missing_claims"),  # no exp
    (tokens.sign({"sub": "x", "exp": int(time.time()) + 3600}, SECRET), "no_role"),
    (jwt.encode({"role": "anon", "exp": int(time.time()) + 60}, SECRET * 2, algorithm="HS512"),
     "unsupported_algorithm"),
    (jwt.encode({"role": "service_role", "exp": int(time.time()) + 60}, None, algorithm="none"),
     "unsupported_algorithm"),
])
def test_bad_tokens_are_refused_with_a_reason(token, reason):
    with pytest.raises(tokens.InvalidToken) as caught:
        verifier().verify(token)
    assert caught.value.reason == reason
    assert caught.value.message


def test_an_asymmetric_token_needs_a_jwks_url():
    key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode({"role": "authenticated", "exp": int(time.time()) + 60}, key, algorithm="ES256",
                       headers={"kid": "k1"})
    with pytest.raises(tokens.InvalidToken, match="SUPAKIT_JWKS_URL"):
        verifier().verify(token)


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, ec.EllipticCurvePrivateKey]]:
    """A JWKS endpoint on loopback publishing one ES256 key, as Supabase's /auth/v1/.well-known/jwks.json does."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "alg": "ES256", "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/auth/v1/.well-known/jwks.json", key
    server.shutdown()


def test_an_es256_token_verifies_against_the_jwks(jwks_server):
    url, key = jwks_server
    check = verifier(jwks_url=url)
    token = jwt.encode({"role": "authenticated", "sub": "u", "exp": int(time.time()) + 60}, key, algorithm="ES256",
                       headers={"kid": "k1"})
    assert check.verify(token)["sub"] == "u"
    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode({"role": "service_role", "exp": int(time.time()) + 60}, other, algorithm="ES256",
                        headers={"kid": "k1"})
    with pytest.raises(tokens.InvalidToken) as caught:
        check.verify(forged)
    assert caught.value.reason == "bad_signature"
    unknown = jwt.encode({"role": "anon", "exp": int(time.time()) + 60}, key, algorithm="ES256",
                         headers={"kid": "nope"})
    with pytest.raises(tokens.InvalidToken) as caught:
        check.verify(unknown)
    assert caught.value.reason == "unknown_key"
    assert check.verify(tokens.user_token("v", SECRET))["sub"] == "v"  # the HS256 secret still works alongside


def test_settings_refuse_a_short_secret_and_the_public_default_off_localhost(monkeypatch):
    monkeypatch.setenv("SUPAKIT_JWT_SECRET", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        tokens.TokenSettings.from_env()
    monkeypatch.delenv("SUPAKIT_JWT_SECRET")
    monkeypatch.delenv("SUPAKIT_JWKS_URL", raising=False)
    assert tokens.TokenSettings.from_env().secret_is_default
    with pytest.raises(ConfigError, match="SUPAKIT_JWT_SECRET"):
        tokens.TokenSettings.from_env(require_explicit=True)
    monkeypatch.setenv("SUPAKIT_JWT_SECRET", SECRET)
    assert tokens.TokenSettings.from_env(require_explicit=True).secret == SECRET


def test_cli_prints_keys_and_a_token_that_postgres_accepts_as_the_user(fresh_db: str, db_conn_for):
    keys = run_cli("auth", "keys", "--json", env={"DATABASE_URL": fresh_db})
    assert keys.returncode == 0, keys.stderr
    assert json.loads(keys.stdout)["anon_key"] == CLI_ANON_KEY
    user = db_conn_for(fresh_db)
    out = run_cli("auth", "token", user["email"].upper(), "--expires-in", "120", env={"DATABASE_URL": fresh_db})
    assert out.returncode == 0, out.stderr
    claims = verifier(tokens.LOCAL_JWT_SECRET).verify(out.stdout.strip())
    assert claims["sub"] == str(user["id"]) and claims["exp"] - claims["iat"] == 120
    with psycopg.connect(fresh_db) as conn, request(conn, role=claims["role"], claims=claims, method="GET") as cur:
        assert cur.execute("select auth.uid(), auth.jwt() ->> 'email'").fetchone() == (user["id"], user["email"])


def test_cli_token_for_an_unknown_user_or_bad_expiry_exits_2(fresh_db: str):
    missing = run_cli("auth", "token", "nobody@example.com", env={"DATABASE_URL": fresh_db})
    assert missing.returncode == 2 and "no user with e-mail" in missing.stderr
    bad = run_cli("auth", "token", "x@example.com", "--expires-in", "0", env={"DATABASE_URL": fresh_db})
    assert bad.returncode == 2 and "--expires-in" in bad.stderr


@pytest.fixture
def db_conn_for():
    def create(url: str) -> dict:
        user = uuid.uuid4()
        email = f"token-{user.hex[:8]}@example.com"
        with psycopg.connect(url, autocommit=True) as conn:
            factories.user(conn, email, user_id=user)
        return {"id": user, "email": email}
    return create
