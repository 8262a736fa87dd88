"""Rate-limit primitives for outbound Telegram traffic.

Telegram documents its limits as "N messages per W seconds" (about 30/s overall, 1/s
per private chat, 20/min per group) and answers anything faster with 429 + retry_after.
We enforce exactly that shape with a sliding window rather than a token bucket: a
bucket of capacity B refilling at N/W lets B + N messages through in one window, which
is the burst that earns the 429 we are trying to avoid.

Time comes from an injectable :class:`Clock` so tests can run minutes of schedule in
milliseconds and assert exact timings.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RateLimit:
    """At most ``max_events`` in any window of ``per_seconds`` seconds."""

    max_events: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.max_events < 1 or self.per_seconds <= 0:
            msg = f"a rate limit needs max_events >= 1 and per_seconds > 0, got {self}"
            raise ValueError(msg)


# Telegram's published guidance (core.telegram.org/bots/faq#my-bot-is-hitting-limits).
TELEGRAM_OVERALL = RateLimit(max_events=30, per_seconds=1.0)
TELEGRAM_PRIVATE_CHAT = RateLimit(max_events=1, per_seconds=1.0)
TELEGRAM_GROUP_CHAT = RateLimit(max_events=20, per_seconds=60.0)
# With ``allow_paid_broadcast`` (Bot API 7.11) a bot may send up to 1,000 msg/s, paying
# 0.1 Star per message: paid sends skip TELEGRAM_OVERALL, every send counts against this.
TELEGRAM_PAID_BROADCAST = RateLimit(max_events=1000, per_seconds=1.0)


class Clock(Protocol):
    """Monotonic time source plus the matching way to wait."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Reservation:
    """One counted event in a :class:`SlidingWindowLimiter`.

    A send is reserved when it starts and settled when Telegram answers: moving the
    event to the answer time is conservative (the server saw it no later than that), so
    the next send cannot land inside the server's window because of network jitter.
    """

    __slots__ = ("at", "cancelled")

    def __init__(self, at: float) -> None:
        self.at = at
        self.cancelled = False

    def settle(self, at: float) -> None:
        self.at = max(self.at, at)

    def cancel(self) -> None:
        """The send did not happen after all (another process held the shared slot):
        the event leaves the window."""
        self.cancelled = True


class SlidingWindowLimiter:
    """Exact "N per W seconds" limiter over the last N reservations."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._events: list[Reservation] = []

    def _prune(self, now: float) -> None:
        horizon = now - self.limit.per_seconds
        self._events = [
            event for event in self._events if event.at > horizon and not event.cancelled
        ]

    def earliest_slot(self, now: float) -> float:
        """Earliest time (>= now) at which one more event fits in the window."""
        self._prune(now)
        if len(self._events) < self.limit.max_events:
            return now
        times = sorted(event.at for event in self._events)
        # The event that must leave the window before another one fits.
        blocking = times[len(times) - self.limit.max_events]
        return max(now, blocking + self.limit.per_seconds)

    def reserve(self, now: float) -> Reservation:
        """Count one event at ``now``; callers check :meth:`earliest_slot` first."""
        reservation = Reservation(now)
        self._events.append(reservation)
        return reservation

    def is_idle(self, now: float) -> bool:
        """True when the window is empty, so the limiter can be forgotten."""
        self._prune(now)
        return not self._events
