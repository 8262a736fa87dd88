"""Outbound Telegram send queue that stays inside Telegram's rate limits.

Every message the platform pushes to Telegram (replies, notifications, broadcasts)
goes through one :class:`Outbox` per process and bot. It holds a FIFO per chat and
one scheduler task that picks, among the chats whose own window is open, the one that
has been ready longest, as soon as the global window allows. A chat that must wait
(its 1/s slot, a group's 20/min, a ``retry_after`` pause) simply is not picked, so it
never holds up other chats. At most one send per chat is in flight, which keeps the
per-chat order and makes a ``retry_after`` pause apply to what follows it.

Outcomes are reported, never raised: ``await (await outbox.send(request))`` gives a
:class:`DeliveryReport` whose status says whether Telegram accepted the message or
why it was not sent (blocked bot, unknown chat, rejected content, network or server
errors that outlasted ``max_attempts``). A 429 is never a reason to give up: the message
waits as long as Telegram asks, however often it asks; the pause holds the whole chat,
and the whole bot when several chats are told to wait at once.

Across processes: with ``shared`` limits (:mod:`bots.telegram.shared_limits`, Redis),
each send also takes a slot in the bot-wide windows every process shares, and a 429's
pause is published there, so N workers together stay inside Telegram's limits.

The transport is injected (``deliver``), normally :func:`bots.telegram.client.bot_deliverer`;
it raises aiogram's ``Telegram*`` exceptions, which is what the retry policy reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bots.telegram.ratelimit import (
    TELEGRAM_GROUP_CHAT,
    TELEGRAM_OVERALL,
    TELEGRAM_PAID_BROADCAST,
    TELEGRAM_PRIVATE_CHAT,
    Clock,
    MonotonicClock,
    RateLimit,
    Reservation,
    SlidingWindowLimiter,
)
from bots.telegram.shared_limits import SharedLimits, Verdict

if TYPE_CHECKING:
    from aiogram.types import InlineKeyboardMarkup

logger = logging.getLogger(__name__)

ChatId = int | str


@dataclass(frozen=True)
class OutboundText:
    """A text message to send to one chat."""

    chat_id: ChatId
    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    parse_mode: str | None = None
    # Sent with ``allow_paid_broadcast`` (charged in Stars): outside the free 30/s window,
    # inside the paid 1,000/s one. Only campaigns set it, and only when the operator
    # switched TELEGRAM_PAID_BROADCAST on.
    paid_broadcast: bool = False
    # A picture shown large above the text as its link preview (a text too long for a
    # photo's 1,024-character caption still carries its picture in one message).
    preview_image_url: str = ""


@dataclass(frozen=True)
class OutboundPhoto:
    """A photo (by public URL or Telegram file_id) with an optional caption."""

    chat_id: ChatId
    photo_url: str
    caption: str | None = None
    reply_markup: InlineKeyboardMarkup | None = None
    parse_mode: str | None = None
    paid_broadcast: bool = False


OutboundRequest = OutboundText | OutboundPhoto


@dataclass(frozen=True)
class SentMessage:
    """What Telegram answered for an accepted message."""

    chat_id: ChatId
    message_id: int


DeliverFn = Callable[[OutboundRequest], Awaitable[SentMessage]]


class DeliveryStatus(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the user blocked the bot / the bot left the group
    CHAT_NOT_FOUND = "chat_not_found"
    REJECTED = "rejected"  # Telegram refused the content (bad markup, too long, ...)
    GAVE_UP = "gave_up"  # network/server errors outlasted max_attempts (worth a later retry)
    CANCELLED = "cancelled"  # the outbox closed before the message went out


@dataclass(frozen=True)
class DeliveryReport:
    request: OutboundRequest
    status: DeliveryStatus
    attempts: int
    message_id: int | None = None
    reason: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is DeliveryStatus.SENT


class OutboxError(Exception):
    """Base class for requests the outbox refuses to accept."""


class OutboxFull(OutboxError):
    """Raised by :meth:`Outbox.send` when ``max_pending`` messages are already waiting."""


class OutboxClosed(OutboxError):
    """Raised by :meth:`Outbox.send` after :meth:`Outbox.close` was called."""


@dataclass(frozen=True)
class OutboxPolicy:
    overall: RateLimit = TELEGRAM_OVERALL
    # Every send, paid broadcasts included (those skip ``overall``).
    paid_overall: RateLimit = TELEGRAM_PAID_BROADCAST
    per_chat: RateLimit = TELEGRAM_PRIVATE_CHAT
    # On top of per_chat for negative ids (groups, supergroups) and @channel usernames.
    per_group: RateLimit = TELEGRAM_GROUP_CHAT
    max_pending: int = 10_000
    max_in_flight: int = 30
    # Network and server errors only: a 429 waits as often and as long as Telegram asks.
    max_attempts: int = 5
    network_backoff: float = 1.0
    # 429s for this many different chats within ``bot_wide_window`` seconds mean the bot
    # as a whole is over its limit: then every chat waits, not only the ones told so.
    bot_wide_chats: int = 2
    bot_wide_window: float = 1.0


def _is_paid(request: OutboundRequest) -> bool:
    return isinstance(request, OutboundText | OutboundPhoto) and request.paid_broadcast


def is_group_chat(chat_id: ChatId) -> bool:
    """Telegram gives groups/supergroups negative ids; channels are addressed by @name."""
    return isinstance(chat_id, str) or chat_id < 0


@dataclass
class _Job:
    request: OutboundRequest
    future: asyncio.Future[DeliveryReport]
    attempts: int = 0  # sends that failed on the network / server side count
    sends: int = 0
    flood_waits: int = 0
    reported: bool = False


@dataclass
class _ChatState:
    limiters: tuple[SlidingWindowLimiter, ...]
    queue: deque[_Job] = field(default_factory=deque)
    paused_until: float = 0.0
    busy: bool = False
    scheduled: bool = False


@dataclass(frozen=True)
class _Retry:
    delay: float
    reason: str


class Outbox:
    """Rate-limited, bounded, per-chat-fair outbound queue (one per bot and process)."""

    def __init__(
        self,
        *,
        deliver: DeliverFn,
        policy: OutboxPolicy | None = None,
        clock: Clock | None = None,
        shared: SharedLimits | None = None,
    ) -> None:
        self._deliver = deliver
        self.policy = policy or OutboxPolicy()
        self._clock: Clock = clock or MonotonicClock()
        self._shared = shared
        self._overall = SlidingWindowLimiter(self.policy.overall)
        self._overall_all = SlidingWindowLimiter(self.policy.paid_overall)
        # Bot-wide: no chat is sent to before this (a bot-wide 429, or the shared window).
        self._paused_until = 0.0
        self._recent_429s: dict[ChatId, float] = {}
        self._chats: dict[ChatId, _ChatState] = {}
        # (ready_at, sequence, chat_id): chats with queued work and nothing in flight.
        self._ready: list[tuple[float, int, ChatId]] = []
        self._sequence = itertools.count()
        self._pending = 0  # accepted and not yet reported
        self._in_flight: dict[asyncio.Task[None], _Job] = {}
        self._wakeup = asyncio.Event()
        self._scheduler: asyncio.Task[None] | None = None
        self._pause_tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._next_sweep = 0.0

    # ----------------------------------------------------------------- public API

    @property
    def pending(self) -> int:
        """Messages accepted and not yet reported (queued, paused or in flight)."""
        return self._pending

    async def send(self, request: OutboundRequest) -> asyncio.Future[DeliveryReport]:
        """Queue ``request``; the returned future resolves to its :class:`DeliveryReport`.

        Never waits for capacity: raises :class:`OutboxFull` when ``max_pending``
        messages are waiting and :class:`OutboxClosed` once closing.
        """
        if self._closing:
            msg = "the Telegram outbox is closed; no new messages are accepted"
            raise OutboxClosed(msg)
        if self._pending >= self.policy.max_pending:
            msg = (
                f"the Telegram outbox already holds {self._pending} messages "
                f"(max_pending={self.policy.max_pending}); try again later"
            )
            raise OutboxFull(msg)
        self._ensure_scheduler()
        job = _Job(request=request, future=asyncio.get_running_loop().create_future())
        state = self._chat_state(request.chat_id)
        state.queue.append(job)
        self._pending += 1
        self._schedule(request.chat_id, state, self._clock.now())
        self._wakeup.set()
        return job.future

    async def send_and_wait(self, request: OutboundRequest) -> DeliveryReport:
        """Queue ``request`` and wait for its report."""
        return await (await self.send(request))

    async def close(self, *, drain: bool = True, drain_seconds: float = 10.0) -> None:
        """Stop accepting messages, deliver what is queued (up to ``drain_seconds`` of
        real time when ``drain``), then report everything left as CANCELLED."""
        self._closing = True
        self._wakeup.set()
        if drain and self._scheduler is not None and not self._scheduler.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._scheduler), drain_seconds)
        in_flight = dict(self._in_flight)
        for task in in_flight:
            task.cancel()
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)
        for job in in_flight.values():
            # A task cancelled before its first step never ran its own handler.
            self._report(job, DeliveryStatus.CANCELLED, reason="outbox closed mid-send")
        if self._scheduler is not None and not self._scheduler.done():
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        for state in self._chats.values():
            while state.queue:
                self._report(
                    state.queue.popleft(),
                    DeliveryStatus.CANCELLED,
                    reason="outbox closed",
                )
        self._chats.clear()
        self._ready.clear()

    async def close_shared(self) -> None:
        """Close the shared limits' connection (the sender's shutdown, after ``close``)."""
        if self._pause_tasks:  # let published pauses reach Redis first
            await asyncio.wait(set(self._pause_tasks), timeout=2.0)
        if self._shared is not None:
            await self._shared.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---------------------------------------------------------------- scheduling

    def _ensure_scheduler(self) -> None:
        if self._scheduler is None or self._scheduler.done():
            self._scheduler = asyncio.get_running_loop().create_task(
                self._run(), name="telegram-outbox"
            )

    def _chat_state(self, chat_id: ChatId) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            limits = [self.policy.per_chat]
            if is_group_chat(chat_id):
                limits.append(self.policy.per_group)
            state = _ChatState(limiters=tuple(SlidingWindowLimiter(limit) for limit in limits))
            self._chats[chat_id] = state
        return state

    def _schedule(self, chat_id: ChatId, state: _ChatState, now: float) -> None:
        if state.busy or state.scheduled or not state.queue:
            return
        ready_at = max(
            state.paused_until, *(limiter.earliest_slot(now) for limiter in state.limiters)
        )
        heapq.heappush(self._ready, (ready_at, next(self._sequence), chat_id))
        state.scheduled = True

    async def _run(self) -> None:
        while True:
            if self._closing and self._pending == 0:
                return
            now = self._clock.now()
            if now >= self._next_sweep:
                self._sweep_idle_chats(now)
            if not self._ready or len(self._in_flight) >= self.policy.max_in_flight:
                await self._wait(None)
                continue
            ready_at, _, head = self._ready[0]
            if ready_at > now:
                await self._wait(ready_at - now)
                continue
            overall_at = max(self._overall_all.earliest_slot(now), self._paused_until)
            if not self._head_is_paid(head):
                overall_at = max(overall_at, self._overall.earliest_slot(now))
            if overall_at > now:
                await self._wait(overall_at - now)
                continue
            _, _, chat_id = heapq.heappop(self._ready)
            self._dispatch(chat_id, now)

    def _head_is_paid(self, chat_id: ChatId) -> bool:
        state = self._chats.get(chat_id)
        return bool(state and state.queue and _is_paid(state.queue[0].request))

    async def _wait(self, seconds: float | None) -> None:
        """Sleep until ``seconds`` pass (on the injected clock) or something changes."""
        # No await between the caller's decision and this clear, so no wake-up is lost.
        self._wakeup.clear()
        if seconds is None:
            await self._wakeup.wait()
            return
        woken = asyncio.ensure_future(self._wakeup.wait())
        slept = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait({woken, slept}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (woken, slept):
                waiter.cancel()

    def _dispatch(self, chat_id: ChatId, now: float) -> None:
        state = self._chats[chat_id]
        state.scheduled = False
        while state.queue and state.queue[0].future.done():
            # The caller cancelled its future: nothing to send, nobody to tell.
            self._report(state.queue.popleft(), DeliveryStatus.CANCELLED)
        if not state.queue:
            self._forget_if_idle(chat_id, state, now)
            return
        job = state.queue.popleft()
        state.busy = True
        paid = _is_paid(job.request)
        overall = (self._overall_all,) if paid else (self._overall_all, self._overall)
        reservations = (
            *(limiter.reserve(now) for limiter in state.limiters),
            *(limiter.reserve(now) for limiter in overall),
        )
        task = asyncio.get_running_loop().create_task(
            self._attempt(chat_id, job, reservations),
            name=f"telegram-outbox-send-{chat_id}",
        )
        self._in_flight[task] = job
        task.add_done_callback(self._send_finished)

    def _send_finished(self, task: asyncio.Task[None]) -> None:
        # Runs after the task is done, so the scheduler learns about the freed slot
        # only now; waking it earlier would let it see a stale in-flight count.
        self._in_flight.pop(task, None)
        self._wakeup.set()

    async def _attempt(
        self, chat_id: ChatId, job: _Job, reservations: tuple[Reservation, ...]
    ) -> None:
        state = self._chats[chat_id]
        verdict: Verdict | None = None
        try:
            if self._shared is not None:
                verdict = await self._shared.acquire(
                    chat_id, group=is_group_chat(chat_id), paid=_is_paid(job.request)
                )
                if not verdict.granted:
                    self._held_by_shared_limits(chat_id, state, job, reservations, verdict)
                    return
            job.sends += 1
            sent = await self._deliver(job.request)
        except asyncio.CancelledError:
            self._report(job, DeliveryStatus.CANCELLED, reason="outbox closed mid-send")
            raise
        except TelegramAPIError as error:
            self._handle_failure(chat_id, state, job, error)
        except Exception as error:
            # A bug in our own request building must not kill the scheduler.
            logger.exception("telegram outbox: unexpected error sending to chat %s", chat_id)
            self._report(job, DeliveryStatus.REJECTED, reason=f"{type(error).__name__}: {error}")
        else:
            self._report(job, DeliveryStatus.SENT, message_id=sent.message_id)
        finally:
            now = self._clock.now()
            for reservation in reservations:
                reservation.settle(now)
            if verdict is not None and verdict.granted and self._shared is not None:
                with contextlib.suppress(Exception):
                    await self._shared.settle(verdict)
            state.busy = False
            if chat_id in self._chats:
                self._schedule(chat_id, state, now)
                self._forget_if_idle(chat_id, state, now)
            self._wakeup.set()

    def _held_by_shared_limits(
        self,
        chat_id: ChatId,
        state: _ChatState,
        job: _Job,
        reservations: tuple[Reservation, ...],
        verdict: Verdict,
    ) -> None:
        # Another process has the slot: nothing was sent, so the local windows give theirs
        # back, and the job goes back to the head of its chat's queue.
        for reservation in reservations:
            reservation.cancel()
        until = self._clock.now() + verdict.wait
        if verdict.scope == "bot":
            self._paused_until = max(self._paused_until, until)
        else:
            state.paused_until = max(state.paused_until, until)
        state.queue.appendleft(job)

    def _pause_for_429(self, chat_id: ChatId, state: _ChatState, delay: float) -> None:
        now = self._clock.now()
        # The pause is Telegram's order for the chat, whatever becomes of this message:
        # what is queued behind it waits too, never less than asked.
        state.paused_until = max(state.paused_until, now + delay)
        horizon = now - self.policy.bot_wide_window
        self._recent_429s = {chat: at for chat, at in self._recent_429s.items() if at > horizon}
        self._recent_429s[chat_id] = now
        bot_wide = len(self._recent_429s) >= self.policy.bot_wide_chats
        if bot_wide:
            self._paused_until = max(self._paused_until, now + delay)
            logger.warning("telegram outbox: bot-wide flood wait of %.1fs", delay)
        if self._shared is not None:
            shared = self._shared
            self._publish_pause(shared.pause(chat_id, delay))
            if bot_wide:
                self._publish_pause(shared.pause(None, delay))

    def _publish_pause(self, call: Coroutine[Any, Any, None]) -> None:
        # The loop keeps only weak references to tasks: hold each until it is done, or
        # a collected task could drop the pause before every process has heard of it.
        task = asyncio.get_running_loop().create_task(call, name="telegram-outbox-pause")
        self._pause_tasks.add(task)
        task.add_done_callback(self._pause_tasks.discard)

    def _handle_failure(
        self, chat_id: ChatId, state: _ChatState, job: _Job, error: TelegramAPIError
    ) -> None:
        if isinstance(error, TelegramForbiddenError):
            self._drop_chat(chat_id, state, job, DeliveryStatus.BLOCKED, error.message)
            return
        if isinstance(error, TelegramBadRequest) and "chat not found" in error.message.lower():
            self._drop_chat(chat_id, state, job, DeliveryStatus.CHAT_NOT_FOUND, error.message)
            return
        retry = self._retry_for(job, error)
        if retry is None:
            logger.warning(
                "telegram outbox: chat %s rejected a message: %s",
                chat_id,
                error.message,
            )
            self._report(job, DeliveryStatus.REJECTED, reason=error.message)
            return
        if isinstance(error, TelegramRetryAfter):
            # Telegram only asks to wait: the message waits, however long, however often.
            job.flood_waits += 1
            self._pause_for_429(chat_id, state, retry.delay)
            logger.info(
                "telegram outbox: chat %s waits %.1fs (flood wait %d)",
                chat_id,
                retry.delay,
                job.flood_waits,
            )
            state.queue.appendleft(job)
            return
        job.attempts += 1
        if job.attempts >= self.policy.max_attempts:
            logger.warning(
                "telegram outbox: giving up on chat %s after %d attempts: %s",
                chat_id,
                job.attempts,
                retry.reason,
            )
            self._report(job, DeliveryStatus.GAVE_UP, reason=retry.reason)
            return
        logger.info(
            "telegram outbox: chat %s retries in %.1fs (%s)",
            chat_id,
            retry.delay,
            retry.reason,
        )
        state.paused_until = max(state.paused_until, self._clock.now() + retry.delay)
        state.queue.appendleft(job)

    def _retry_for(self, job: _Job, error: TelegramAPIError) -> _Retry | None:
        if isinstance(error, TelegramRetryAfter):
            return _Retry(
                delay=float(error.retry_after),
                reason=f"429 retry after {error.retry_after}s",
            )
        if isinstance(error, TelegramEntityTooLarge | TelegramMigrateToChat):
            return None  # resending the same request cannot succeed
        if isinstance(error, TelegramNetworkError | TelegramServerError):
            # ``attempts`` counts the earlier failures of this kind: 1×, 2×, 4× the base.
            delay = self.policy.network_backoff * 2**job.attempts
            return _Retry(delay=delay, reason=f"{type(error).__name__}: {error.message}")
        return None

    def _drop_chat(
        self,
        chat_id: ChatId,
        state: _ChatState,
        job: _Job,
        status: DeliveryStatus,
        reason: str,
    ) -> None:
        # Everything else queued for this chat would earn the same answer: drop it
        # now instead of spending rate-limit slots on it.
        dropped = [job, *state.queue]
        state.queue.clear()
        logger.warning(
            "telegram outbox: dropping %d message(s) for chat %s (%s): %s",
            len(dropped),
            chat_id,
            status.value,
            reason,
        )
        for each in dropped:
            self._report(each, status, reason=reason)

    def _forget_if_idle(self, chat_id: ChatId, state: _ChatState, now: float) -> None:
        # Broadcasts touch thousands of chats once; keep state only while it matters.
        if (
            not state.queue
            and not state.busy
            and state.paused_until <= now
            and all(limiter.is_idle(now) for limiter in state.limiters)
        ):
            del self._chats[chat_id]

    def _sweep_idle_chats(self, now: float) -> None:
        # A chat's window outlives its last send, so idle chats are collected in bulk
        # once per longest window rather than on every completion.
        for chat_id, state in list(self._chats.items()):
            self._forget_if_idle(chat_id, state, now)
        self._next_sweep = now + max(
            self.policy.per_chat.per_seconds, self.policy.per_group.per_seconds
        )

    def _report(self, job: _Job, status: DeliveryStatus, **details: Any) -> None:
        if job.reported:
            return
        job.reported = True
        self._pending -= 1
        if not job.future.done():
            job.future.set_result(
                DeliveryReport(request=job.request, status=status, attempts=job.sends, **details)
            )
