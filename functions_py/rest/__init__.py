"""The local PostgREST-compatible Data API behind the gateway's /rest/v1 (PostgREST v14.12's behaviour).

`service(context)` builds the gateway service: `start()` loads the schema cache and LISTENs on `pgrst` on a
dedicated connection (`NOTIFY pgrst, 'reload schema'` — sent by `supakit migrate` and by Supabase's DDL event
triggers — rebuilds the cache and swaps it whole); `app` is the ASGI app (app.py). Modules: schema_cache.py
(catalog → cache), query_params.py (URL grammar), plan.py (relationships, overloads), sql_builder.py (SQL),
preferences.py (Prefer), media.py (Accept), auth.py (JWT), errors.py (PostgREST's errors), openapi.py (`/`).
"""

from __future__ import annotations

from typing import Any


def service(context: Any) -> Any:
    """The /rest/v1 service for the gateway."""
    from functions_py.rest.server import RestService

    return RestService(context)
