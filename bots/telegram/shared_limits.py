"""Telegram's rate limits shared by every process that sends for one bot, through Redis.

Each process keeps its own :class:`~bots.telegram.outbox.Outbox` (the per-chat queues,
the order, the in-process windows), but Telegram counts what the *bot* sends: two Celery
workers pacing themselves at 30 msg/s each send 60. So before every send the outbox asks
this module for a slot, and one Lua script decides atomically, for all processes:

- the sliding windows (30/s overall, 1/s per chat, 20/min per group) are sorted sets of
  send events, scored by Redis' own clock (``TIME``), so processes agree on time;
- a ``retry_after`` pause is a key with a TTL, per chat or for the whole bot, set only
  when it lengthens the pause that is already there (never shortened);
- a granted slot is recorded in the same script, so two processes never get the same one.

When Telegram has answered, the event is moved to the answer time (``settle``): the
server saw the request no later than that, so network jitter cannot squeeze two sends of
different processes into one server-side window. This is the same conservative rule as
the in-process :class:`~bots.telegram.ratelimit.Reservation`.

If Redis does not answer, the outbox goes on with its own in-process limits (logged):
a restart of Redis slows nothing down and loses nothing; at worst, for that moment, the
processes pace themselves independently and Telegram's 429s (honoured) do the rest.
"""

from __future__ import annotations

import itertools
import logging
import os
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from bots.telegram.ratelimit import TELEGRAM_PAID_BROADCAST, RateLimit

logger = logging.getLogger(__name__)

ChatId = int | str

# KEYS: 1 overall window, 2 chat window, 3 group window, 4 chat pause, 5 bot pause,
#       6 the window of every send (paid broadcasts included)
# ARGV: 1 member, 2 overall max, 3 overall ms, 4 chat max, 5 chat ms, 6 group max (0 = none),
#       7 group ms, 8 paid (1: skips the overall window), 9 every-send max, 10 every-send ms
# Returns {wait_ms, scope}: wait_ms 0 means granted and recorded; scope 1 chat, 2 bot.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local bot_wait = redis.call('PTTL', KEYS[5])
if bot_wait < 0 then bot_wait = 0 end
local chat_wait = redis.call('PTTL', KEYS[4])
if chat_wait < 0 then chat_wait = 0 end
local function window_wait(key, max, ms)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ms)
  local n = redis.call('ZCARD', key)
  if n < max then return 0 end
  local blocking = redis.call('ZRANGE', key, n - max, n - max, 'WITHSCORES')
  local wait = tonumber(blocking[2]) + ms - now
  if wait < 1 then wait = 1 end
  return wait
end
local paid = tonumber(ARGV[8]) == 1
local overall = window_wait(KEYS[6], tonumber(ARGV[9]), tonumber(ARGV[10]))
if not paid then
  local free = window_wait(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
  if free > overall then overall = free end
end
if overall > bot_wait then bot_wait = overall end
local chat = window_wait(KEYS[2], tonumber(ARGV[4]), tonumber(ARGV[5]))
if chat > chat_wait then chat_wait = chat end
local group_max = tonumber(ARGV[6])
if group_max > 0 then
  local group = window_wait(KEYS[3], group_max, tonumber(ARGV[7]))
  if group > chat_wait then chat_wait = group end
end
if bot_wait > 0 and bot_wait >= chat_wait then return {bot_wait, 2} end
if chat_wait > 0 then return {chat_wait, 1} end
if not paid then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
end
redis.call('ZADD', KEYS[6], now, ARGV[1])
redis.call('PEXPIRE', KEYS[6], tonumber(ARGV[10]) * 2)
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]) * 2)
if group_max > 0 then
  redis.call('ZADD', KEYS[3], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[7]) * 2)
end
return {0, 0}
"""

# KEYS: the windows the member was recorded in. ARGV: 1 member.
_SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', 'GT', now, ARGV[1])
end
return 1
"""

# KEYS: 1 the pause key. ARGV: 1 milliseconds. Lengthens, never shortens.
_PAUSE = """
local left = redis.call('PTTL', KEYS[1])
local wanted = tonumber(ARGV[1])
if left < wanted then
  redis.call('SET', KEYS[1], '1', 'PX', wanted)
  return wanted
end
return left
"""


@dataclass(frozen=True)
class Verdict:
    """The answer to "may this process send to that chat now?".

    ``wait`` seconds (0: granted, the slot is recorded); ``scope`` says whose limit is
    full: ``"chat"`` (hold this chat) or ``"bot"`` (hold every chat)."""

    wait: float
    scope: str = ""
    member: str = ""
    keys: tuple[str, ...] = ()

    @property
    def granted(self) -> bool:
        return self.wait <= 0


GRANTED_LOCALLY = Verdict(wait=0.0)


class SharedLimits(Protocol):
    async def acquire(self, chat_id: ChatId, *, group: bool, paid: bool = False) -> Verdict: ...

    async def settle(self, verdict: Verdict) -> None: ...

    async def pause(self, chat_id: ChatId | None, seconds: float) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class SharedPolicy:
    overall: RateLimit
    per_chat: RateLimit
    per_group: RateLimit
    paid_overall: RateLimit = TELEGRAM_PAID_BROADCAST


class RedisSharedLimits:
    """:class:`SharedLimits` on one Redis server; create and use it on one event loop."""

    def __init__(self, *, url: str, namespace: str, policy: SharedPolicy) -> None:
        self.url = url
        self.namespace = namespace
        self.policy = policy
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._members = itertools.count()
        self._process = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._failing = False

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as aioredis

            self._client = aioredis.from_url(
                self.url, socket_timeout=1.0, socket_connect_timeout=1.0
            )
            self._scripts = {
                "acquire": self._client.register_script(_ACQUIRE),
                "settle": self._client.register_script(_SETTLE),
                "pause": self._client.register_script(_PAUSE),
            }
        return self._client

    def _key(self, *parts: object) -> str:
        return ":".join([self.namespace, *(str(part) for part in parts)])

    def _trouble(self, what: str, error: Exception) -> None:
        # One warning per outage, not one per message.
        if not self._failing:
            logger.warning(
                "Telegram shared rate limits: Redis %s failed (%s); pacing in-process only",
                what,
                error,
            )
        self._failing = True

    async def acquire(self, chat_id: ChatId, *, group: bool, paid: bool = False) -> Verdict:
        keys = (
            self._key("window", "bot"),
            self._key("window", "chat", chat_id),
            self._key("window", "group", chat_id),
            self._key("pause", "chat", chat_id),
            self._key("pause", "bot"),
            self._key("window", "bot-all"),
        )
        member = f"{self._process}:{next(self._members)}"
        policy = self.policy
        try:
            self._redis()
            wait_ms, scope = await self._scripts["acquire"](
                keys=list(keys),
                args=[
                    member,
                    policy.overall.max_events,
                    int(policy.overall.per_seconds * 1000),
                    policy.per_chat.max_events,
                    int(policy.per_chat.per_seconds * 1000),
                    policy.per_group.max_events if group else 0,
                    int(policy.per_group.per_seconds * 1000),
                    1 if paid else 0,
                    policy.paid_overall.max_events,
                    int(policy.paid_overall.per_seconds * 1000),
                ],
            )
        except Exception as error:  # Redis down or restarting: go on in-process
            self._trouble("acquire", error)
            return GRANTED_LOCALLY
        if self._failing:
            logger.info("Telegram shared rate limits: Redis answers again")
            self._failing = False
        if int(wait_ms) > 0:
            return Verdict(wait=int(wait_ms) / 1000, scope="bot" if int(scope) == 2 else "chat")
        recorded = [keys[1], keys[5]]
        if not paid:
            recorded.append(keys[0])
        if group:
            recorded.append(keys[2])
        return Verdict(wait=0.0, member=member, keys=tuple(recorded))

    async def settle(self, verdict: Verdict) -> None:
        if not verdict.member:
            return
        try:
            await self._scripts["settle"](keys=list(verdict.keys), args=[verdict.member])
        except Exception as error:
            self._trouble("settle", error)

    async def pause(self, chat_id: ChatId | None, seconds: float) -> None:
        key = self._key("pause", "bot") if chat_id is None else self._key("pause", "chat", chat_id)
        try:
            self._redis()
            await self._scripts["pause"](keys=[key], args=[max(1, int(seconds * 1000))])
        except Exception as error:
            self._trouble("pause", error)

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                await client.aclose()
            except Exception:  # closing after an outage: nothing left to tell
                logger.debug("closing the shared-limits Redis client failed", exc_info=True)


def shared_limits_from_settings(*, bot_id: str, policy: SharedPolicy) -> SharedLimits | None:
    """The shared limits for this deployment: Redis at ``TELEGRAM_RATE_LIMIT_REDIS_URL``
    (default ``REDIS_URL``); None (in-process limits only) when neither is set."""
    from django.conf import settings

    url = getattr(settings, "TELEGRAM_RATE_LIMIT_REDIS_URL", "") or ""
    if not url:
        return None
    prefix = getattr(settings, "TELEGRAM_RATE_LIMIT_NAMESPACE", "") or "atelier:telegram"
    return RedisSharedLimits(url=url, namespace=f"{prefix}:{bot_id}", policy=policy)
