"""The edge ASGI app: Supabase-style edge functions (`/functions/v1/<name>`) for the work that needs secrets —
Stripe webhooks, checkout and portal sessions. `create_app` builds it; `supakit serve` runs it with uvicorn."""

from functions_py.http.app import EdgeSettings, create_app

__all__ = ["EdgeSettings", "create_app"]
