"""Token-bucket rate limits (per person), kept in the cache (Redis in production).

The message service spends one token per new message (``MESSAGE_SEND_RATE``), so the
socket, the JSON API, the widget and Telegram share one budget per person.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.cache import cache

logger = logging.getLogger(__name__)

_RATE_RE = re.compile(r"^(\d+)/(\d*)([smh])$")


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:.1f}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rate:
    tokens: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE_RE.match(text.strip())
        if not match:
            raise ValueError(f"Rate {text!r} is not like '20/10s' or '5/m'.")
        count, amount, unit = match.groups()
        seconds = int(amount or 1) * {"s": 1, "m": 60, "h": 3600}[unit]
        return cls(int(count), float(seconds))


def consume_token(key: str, rate: str, *, now: float | None = None) -> None:
    """Take one token from ``key``'s bucket or raise RateLimited with the wait time.

    The bucket is a (tokens, updated_at) pair; refills continuously. Races between two
    sockets of one user may let one extra message through, which is acceptable here.
    """
    limit = Rate.parse(rate)
    now = time.time() if now is None else now
    cache_key = f"bucket:{key}"
    store = cache
    try:
        tokens, updated = store.get(cache_key, (float(limit.tokens), now))
    except Exception as error:  # redis.ConnectionError, TimeoutError, ...
        # Like core.security.Throttle: with the shared cache down, count in this process
        # (weaker, still limited) rather than refuse every message.
        logger.warning("Shared cache unavailable for rate limit %s: %s", key, error)
        store = _fallback_cache()
        tokens, updated = store.get(cache_key, (float(limit.tokens), now))
    refill = (now - updated) * (limit.tokens / limit.seconds)
    tokens = min(float(limit.tokens), tokens + refill)
    if tokens < 1:
        raise RateLimited((1 - tokens) * limit.seconds / limit.tokens)
    try:
        store.set(cache_key, (tokens - 1, now), int(limit.seconds) + 5)
    except Exception as error:
        logger.warning("Shared cache unavailable for rate limit %s: %s", key, error)
        _fallback_cache().set(cache_key, (tokens - 1, now), int(limit.seconds) + 5)


_local_buckets = None


def _fallback_cache():
    global _local_buckets
    if _local_buckets is None:
        from django.core.cache.backends.locmem import LocMemCache

        _local_buckets = LocMemCache("atelier-ratelimit-fallback", {})
    return _local_buckets


def check_send_rate(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Django system check: ``MESSAGE_SEND_RATE`` parses, so a typo refuses start-up
    (core/startup.py) instead of failing every message at send time."""
    try:
        rate = Rate.parse(str(settings.MESSAGE_SEND_RATE))
    except ValueError as error:
        return [checks.Error(f"MESSAGE_SEND_RATE: {error}", id="conversations.E001")]
    if rate.tokens < 1:
        return [
            checks.Error(
                "MESSAGE_SEND_RATE allows no message at all (0 per window).",
                id="conversations.E001",
            )
        ]
    return []
