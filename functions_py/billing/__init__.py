"""Billing: Stripe webhook verification and ingest, checkout and portal sessions, subscription sync.

The database decides (sql/0011): events are stored and applied by `internal.receive_stripe_event`, entitlements
come from `internal.organization_plan`. This package only verifies, talks to Stripe, and calls those functions.
"""
