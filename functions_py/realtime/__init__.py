"""The local Realtime server (Supabase Realtime's protocol) and its parts; see docs/realtime.md."""

from functions_py.realtime.server import RealtimeServer, RealtimeSettings

__all__ = ["RealtimeServer", "RealtimeSettings"]
