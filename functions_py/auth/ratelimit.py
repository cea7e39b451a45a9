"""GoTrue's rate limits (`[auth.rate_limit]`, internal/api/middleware.go): a token bucket per limit and key (the
client's IP address; the e-mail limit is one bucket for the whole instance, as GoTrue's is), in memory, refilled
continuously over the limit's period. Over the limit: 429 `over_request_rate_limit` or
`over_email_send_rate_limit`. A limit of 0 disables its bucket's check (tests and benchmarks)."""

from __future__ import annotations

import threading
import time

from functions_py.auth.errors import AuthError

HOUR, FIVE_MINUTES = 3600.0, 300.0


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, name: str, key: str, limit: int, period_s: float) -> bool:
        """Take one token from bucket (name, key) holding `limit` per `period_s`; False when it is empty."""
        if limit <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get((name, key), (float(limit), now))
            tokens = min(float(limit), tokens + (now - stamp) * limit / period_s)
            if tokens < 1.0:
                self._buckets[(name, key)] = (tokens, now)
                return False
            self._buckets[(name, key)] = (tokens - 1.0, now)
            return True

    def check(self, name: str, key: str, limit: int, period_s: float = FIVE_MINUTES) -> None:
        if not self.allow(name, key, limit, period_s):
            raise AuthError(429, "over_request_rate_limit", "Request rate limit reached")

    def check_email(self, limit: int) -> None:
        if not self.allow("email_sent", "*", limit, HOUR):
            raise AuthError(429, "over_email_send_rate_limit", "email rate limit exceeded")
