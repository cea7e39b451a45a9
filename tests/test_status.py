"""`supakit status`: the local stack's URLs and keys, with `-o env` as `supabase status -o env` prints them (names
from the Supabase CLI's internal/status/status.go) plus a frontend's `.env` block (issue 14, §1)."""

from __future__ import annotations

import json

from functions_py import tokens
from functions_py.config import LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY
from tests.cli import run_cli


def _env(stdout: str) -> dict[str, str]:
    pairs = {}
    for line in stdout.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value.strip('"')
    return pairs


def test_status_env_prints_the_supabase_cli_names_and_a_frontend_block(fresh_db):
    shown = run_cli("--database-url", fresh_db, "status", "-o", "env")
    assert shown.returncode == 0, shown.stderr
    env = _env(shown.stdout)
    assert env["API_URL"] == "http://127.0.0.1:54321"
    assert env["REST_URL"] == "http://127.0.0.1:54321/rest/v1"
    assert env["DB_URL"] == fresh_db
    assert env["ANON_KEY"] == tokens.api_key("anon", tokens.LOCAL_JWT_SECRET), "the Supabase CLI's local anon key"
    assert env["SERVICE_ROLE_KEY"] == tokens.api_key("service_role", tokens.LOCAL_JWT_SECRET)
    assert (env["PUBLISHABLE_KEY"], env["SECRET_KEY"]) == (LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY)
    assert env["JWT_SECRET"] == tokens.LOCAL_JWT_SECRET, "a local database: the JWT secret is shown"
    assert env["NEXT_PUBLIC_SUPABASE_URL"] == env["API_URL"]
    assert env["NEXT_PUBLIC_SUPABASE_ANON_KEY"] == env["ANON_KEY"]
    names = [line.partition("=")[0] for line in shown.stdout.splitlines()[:9]]
    assert names == sorted(names), "sorted, as godotenv.Marshal writes them"


def test_status_for_a_hosted_database_hides_the_jwt_secret_and_the_password():
    hosted = "postgresql://postgres:s3cret-pw@db.example.supabase.co:5432/postgres"
    shown = run_cli("--database-url", hosted, "status", "-o", "json",
                    env={"SUPAKIT_API_EXTERNAL_URL": "https://example.supabase.co"})
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    assert "JWT_SECRET" not in values, "the JWT secret is printed for a local database only"
    assert "s3cret-pw" not in shown.stdout
    assert values["REST_URL"] == "https://example.supabase.co/rest/v1"


def test_status_pretty_names_each_value(fresh_db):
    shown = run_cli("--database-url", fresh_db, "status")
    assert shown.returncode == 0, shown.stderr
    for label in ("API URL", "REST URL", "DB URL", "anon key", "publishable key", "service_role key", "secret key",
                  "JWT secret"):
        assert f"{label}:" in shown.stdout
