"""Stripe settings, from the environment only (README, "Billing"). Secret values are never logged or printed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from functions_py.errors import ConfigError

DEFAULT_TOLERANCE_S = 300  # Stripe's default: a signature older than this is refused (replay protection)
# A webhook body larger than this is refused (413) before it is read. Stripe's events are a few kB; an invoice with
# hundreds of lines stays well under 1 MiB.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# A client must send its whole body within this many seconds (else 408): one holding a body open must not hold a
# server slot. Stripe sends its body at once.
DEFAULT_BODY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class StripeSettings:
    """STRIPE_SECRET_KEY (API calls), STRIPE_WEBHOOK_SECRET (webhook signatures), STRIPE_API_BASE (a different API
    host, e.g. the tests' local server), SUPAKIT_SITE_URL (default redirect target after checkout/portal).
    `max_body_bytes` and `body_timeout_s` bound what the billing functions read of a request body."""

    secret_key: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    api_base: str | None = None
    site_url: str = "http://localhost:3000"
    tolerance_s: int = DEFAULT_TOLERANCE_S
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S

    @classmethod
    def from_env(cls) -> StripeSettings:
        api_base = (os.environ.get("STRIPE_API_BASE") or "").rstrip("/") or None
        if api_base and not api_base.startswith(("http://", "https://")):
            raise ConfigError(f"STRIPE_API_BASE={api_base!r} is not an http(s) URL; unset it to use api.stripe.com.")
        return cls(secret_key=os.environ.get("STRIPE_SECRET_KEY") or None,
                   webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET") or None,
                   api_base=api_base, site_url=(os.environ.get("SUPAKIT_SITE_URL") or cls.site_url).rstrip("/"))

    def require_secret_key(self) -> str:
        """The API key, or ConfigError saying how to set it."""
        if not self.secret_key:
            raise ConfigError("STRIPE_SECRET_KEY is not set: export your Stripe secret key (sk_test_… or sk_live_…, "
                              "Dashboard → Developers → API keys) before using checkout, portal or sync.")
        return self.secret_key

    def require_webhook_secret(self) -> str:
        """The webhook signing secret, or ConfigError saying how to set it."""
        if not self.webhook_secret:
            raise ConfigError("STRIPE_WEBHOOK_SECRET is not set: export the endpoint's signing secret (whsec_…, from "
                              "the webhook endpoint in the Dashboard, or printed by `stripe listen`).")
        return self.webhook_secret
