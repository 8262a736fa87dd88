"""Who is online: a per-user connection counter in the cache (Redis in production).

Counters expire unless refreshed by pings, so a crashed worker cannot leave someone
"online" forever.
"""

from __future__ import annotations

from django.core.cache import cache

PRESENCE_TTL = 90  # seconds; clients ping every 25-30 s


def _key(user_id: int) -> str:
    return f"presence:{user_id}"


def mark_online(user_id: int, *, refresh_only: bool = False) -> None:
    key = _key(user_id)
    if refresh_only:
        cache.touch(key, PRESENCE_TTL)
        return
    if not cache.add(key, 1, PRESENCE_TTL):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, PRESENCE_TTL)
        cache.touch(key, PRESENCE_TTL)


def mark_offline(user_id: int) -> bool:
    """Returns True when the user's last connection closed."""
    key = _key(user_id)
    try:
        remaining = cache.decr(key)
    except ValueError:
        return True
    if remaining <= 0:
        cache.delete(key)
        return True
    return False


def is_online(user_id: int) -> bool:
    return bool(cache.get(_key(user_id)))


def online_user_ids(user_ids: list[int]) -> list[int]:
    values = cache.get_many([_key(u) for u in user_ids])
    return [u for u in user_ids if values.get(_key(u))]
