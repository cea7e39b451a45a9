"""What a client needs to reach the local stack (`supakit status`, and the block `supakit up` prints): the URLs and
keys under the Supabase CLI's names (`supabase status -o env`, its internal/status/status.go)."""

from __future__ import annotations

from functions_py.config import Settings
from functions_py.db import is_local, redact
from functions_py.http.gateway import ApiKeys
from functions_py.tokens import LOCAL_JWT_SECRET

# The Supabase CLI's names (`supabase status -o env`, internal/status/status.go), so scripts written for it work.
STATUS_NAMES = ("API_URL", "REST_URL", "FUNCTIONS_URL", "DB_URL", "PUBLISHABLE_KEY", "SECRET_KEY", "ANON_KEY",
                "SERVICE_ROLE_KEY", "JWT_SECRET")


def status_values(settings: Settings, url: str) -> dict[str, str]:
    """API_URL, REST_URL, FUNCTIONS_URL, DB_URL and the keys, as `supabase status -o env` names them. The JWT
    secret only for a database on this machine (never a hosted project's). No dashboard runs locally yet, so no
    STUDIO_URL."""
    api = settings.api
    api_url = (api.external_url or f"http://{api.host}:{api.port}").rstrip("/")
    keys = ApiKeys.from_settings(settings)
    values = {"API_URL": api_url, "REST_URL": f"{api_url}/rest/v1", "FUNCTIONS_URL": f"{api_url}/functions/v1",
              "DB_URL": url if is_local(url) else redact(url), "PUBLISHABLE_KEY": keys.publishable,
              "SECRET_KEY": keys.secret, "ANON_KEY": keys.anon, "SERVICE_ROLE_KEY": keys.service_role}
    if is_local(url):
        values["JWT_SECRET"] = settings.jwt.secret or LOCAL_JWT_SECRET
    return values


def frontend_env(values: dict[str, str]) -> dict[str, str]:
    """The lines a frontend's `.env` needs (Next.js names; other frameworks rename the prefix)."""
    return {"NEXT_PUBLIC_SUPABASE_URL": values["API_URL"], "NEXT_PUBLIC_SUPABASE_ANON_KEY": values["ANON_KEY"]}


def dotenv_line(name: str, value: str) -> str:
    """`NAME="value"` as godotenv.Marshal writes it (what `supabase status -o env` prints)."""
    if value.isdigit():
        return f"{name}={value}"
    escaped = "".join({"\n": "\\n", "\r": "\\r"}.get(c, "\\" + c if c in '\\"!$`' else c) for c in value)
    return f'{name}="{escaped}"'
