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
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

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


# One round trip, atomic, on the Redis every process shares: refill, then take ``cost``
# tokens (a negative cost gives them back). Returns "0" or the seconds to wait.
_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_second)
if cost > 0 and tokens < cost then
  return tostring((cost - tokens) / per_second)
end
tokens = math.min(capacity, tokens - cost)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return '0'
"""
_default_cache = cache
_script = None


def _bucket_script():
    """The token-bucket script on the default cache's Redis, or None (no Redis cache)."""
    global _script
    if cache is not _default_cache or not isinstance(caches["default"], RedisCache):
        return None
    if _script is None:
        import redis

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2.0, socket_timeout=2.0
        )
        _script = client.register_script(_BUCKET_LUA)
    return _script


def _take(key: str, limit: Rate, now: float, cost: int) -> float | None:
    """Run the bucket on Redis: seconds to wait (0 when taken), None when Redis is not used
    or unreachable (the caller counts in this process instead)."""
    script = _bucket_script()
    if script is None:
        return None
    try:
        waited = script(
            keys=[caches["default"].make_key(f"bucket:{key}")],
            args=[limit.tokens, limit.tokens / limit.seconds, now, cost, int(limit.seconds) + 5],
        )
    except Exception as error:  # redis.ConnectionError, TimeoutError, ...
        logger.warning("Shared cache unavailable for rate limit %s: %s", key, error)
        return None
    return float(waited)


def consume_token(key: str, rate: str, *, now: float | None = None) -> None:
    """Take one token from ``key``'s bucket or raise RateLimited with the wait time.

    The bucket is a (tokens, updated_at) pair; refills continuously. On Redis it is one
    atomic script call; on another cache (development) a get and a set, where two sockets of
    one person racing may let one extra message through, which is acceptable there.
    """
    waited = _spend(key, Rate.parse(rate), time.time() if now is None else now, 1)
    if waited > 0:
        raise RateLimited(waited)


def refund_token(key: str, rate: str, *, now: float | None = None) -> None:
    """Give one token back to ``key``'s bucket (an attempt that stored nothing new)."""
    _spend(key, Rate.parse(rate), time.time() if now is None else now, -1)


def _spend(key: str, limit: Rate, now: float, cost: int) -> float:
    """Refill ``key``'s bucket, then take ``cost`` tokens (a negative cost gives them back).
    Returns 0, or the seconds to wait when there are too few (nothing is taken then)."""
    waited = _take(key, limit, now, cost)
    if waited is not None:
        return waited
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
    if cost > 0 and tokens < cost:
        return (cost - tokens) * limit.seconds / limit.tokens
    state = (min(float(limit.tokens), tokens - cost), now)
    try:
        store.set(cache_key, state, int(limit.seconds) + 5)
    except Exception as error:
        logger.warning("Shared cache unavailable for rate limit %s: %s", key, error)
        _fallback_cache().set(cache_key, state, int(limit.seconds) + 5)
    return 0.0


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
