"""postgres_changes for the local Realtime server: logical decoding of the `supabase_realtime` publication, with
Realtime's filters, column privileges and per-subscriber RLS (docs/realtime-changes.md)."""

from functions_py.realtime.changes.feed import ChangeFeed, ChangeFeedError, Deliver, Delivery
from functions_py.realtime.changes.subscriptions import SubscriptionError

__all__ = ["ChangeFeed", "ChangeFeedError", "Deliver", "Delivery", "SubscriptionError"]
