"""One Telegram sender per process: a Bot and its rate-limited Outbox on their own loop.

Everything this process sends to Telegram goes through it — handler replies in the bot
process, Celery ``deliver_to_telegram`` tasks, offline notifications — so the outbox's
limits (30 msg/s overall, 1/s per chat, ``retry_after`` on 429) hold for the whole process.

Why a thread with its own event loop: the outbox is asyncio and must outlive any single
caller, while its callers are a mix of sync code (Celery tasks, ``post_message``
follow-ups running inline) and other event loops (aiogram handlers, Django async views).
Sync callers block on ``concurrent.futures``; async callers await ``asyncio.wrap_future``.

Limits across processes: each process has its own outbox, and with Redis configured
(``TELEGRAM_RATE_LIMIT_REDIS_URL``, default ``REDIS_URL``) every send also takes its slot in
windows all processes share (:mod:`bots.telegram.shared_limits`), so any number of workers
together keep to Telegram's limits; see docs/bots.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.methods import TelegramMethod

from bots.telegram.client import TelegramConfig, create_bot, load_telegram_config
from bots.telegram.invoices import BotRequest, invoice_deliverer
from bots.telegram.outbox import DeliveryReport, DeliveryStatus, Outbox, OutboxError, OutboxPolicy
from bots.telegram.shared_limits import SharedLimits, SharedPolicy, shared_limits_from_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

_FROM_SETTINGS = object()

# How long a caller waits for Telegram's answer; the message may still go out later
# (a long retry_after), the caller just stops waiting for the report.
DEFAULT_WAIT_SECONDS = 60.0


def default_policy() -> OutboxPolicy:
    """Telegram's published limits; with the paid-broadcast mode on, more sends in flight
    at once, so 1,000 msg/s is reachable at real network latencies."""
    from django.conf import settings

    if getattr(settings, "TELEGRAM_PAID_BROADCAST", False):
        return OutboxPolicy(max_in_flight=settings.TELEGRAM_PAID_BROADCAST_IN_FLIGHT)
    return OutboxPolicy()


class TelegramSender:
    """A Bot + Outbox owned by a background event loop thread (start/stop explicitly)."""

    def __init__(
        self,
        *,
        config: TelegramConfig,
        policy: OutboxPolicy | None = None,
        shared: SharedLimits | None | object = _FROM_SETTINGS,
    ) -> None:
        """``shared``: the limits every process shares (default: Redis per settings,
        see :mod:`bots.telegram.shared_limits`); ``None`` paces this process alone."""
        self.config = config
        self._policy = policy
        self._shared = shared
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._bot: Bot | None = None
        self._outbox: Outbox | None = None
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> TelegramSender:
        with self._lock:
            if self._thread is not None:
                return self
            # Validates the token before any thread exists (TelegramNotConfigured).
            bot = create_bot(config=self.config)
            ready = threading.Event()

            policy = self._policy or default_policy()
            shared = self._shared
            if shared is _FROM_SETTINGS:
                shared = shared_limits_from_settings(
                    bot_id=self.config.bot_token.split(":", 1)[0],
                    policy=SharedPolicy(
                        overall=policy.overall,
                        per_chat=policy.per_chat,
                        per_group=policy.per_group,
                        paid_overall=policy.paid_overall,
                    ),
                )

            def run() -> None:
                loop = asyncio.new_event_loop()
                asyncio.set_event_loop(loop)
                self._loop = loop
                self._outbox = Outbox(
                    deliver=invoice_deliverer(bot),
                    policy=policy,
                    shared=shared,  # type: ignore[arg-type]
                )
                ready.set()
                loop.run_forever()
                loop.close()

            self._bot = bot
            self._thread = threading.Thread(target=run, name="telegram-sender", daemon=True)
            self._thread.start()
            ready.wait(timeout=10)
        return self

    def stop(self, *, drain_seconds: float = 5.0) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return

            async def shutdown() -> None:
                if self._outbox is not None:
                    await self._outbox.close(drain=True, drain_seconds=drain_seconds)
                    await self._outbox.close_shared()
                if self._bot is not None:
                    await self._bot.session.close()

            try:
                asyncio.run_coroutine_threadsafe(shutdown(), loop).result(drain_seconds + 5)
            except Exception:  # shutting down: log and carry on
                logger.exception("Telegram sender did not shut down cleanly")
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            self._loop = self._thread = self._bot = self._outbox = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- sending ---------------------------------------------------------------------------

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the Telegram sender is not running; call start() first")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    async def _send_one(self, request: BotRequest) -> DeliveryReport:
        if self._outbox is None:
            raise RuntimeError("the Telegram sender is not running; call start() first")
        try:
            return await self._outbox.send_and_wait(request)  # type: ignore[arg-type]
        except OutboxError as error:
            return DeliveryReport(
                request=request,  # type: ignore[arg-type]
                status=DeliveryStatus.GAVE_UP,
                attempts=0,
                reason=str(error),
            )

    async def _send_in_order(self, requests: list[BotRequest]) -> list[DeliveryReport]:
        # Queued together, so one message's parts keep their order within the chat.
        futures = []
        for request in requests:
            try:
                futures.append(await self._outbox.send(request))  # type: ignore[union-attr,arg-type]
            except OutboxError as error:
                failed: asyncio.Future[DeliveryReport] = asyncio.get_running_loop().create_future()
                failed.set_result(
                    DeliveryReport(
                        request=request,  # type: ignore[arg-type]
                        status=DeliveryStatus.GAVE_UP,
                        attempts=0,
                        reason=str(error),
                    )
                )
                futures.append(failed)
        return [await future for future in futures]

    def submit(self, requests: list[BotRequest]) -> Future[list[DeliveryReport]]:
        """Queue ``requests`` (in order); the future resolves to their reports once
        Telegram has answered each (however long its flood waits last)."""
        if not requests:
            done: Future[list[DeliveryReport]] = Future()
            done.set_result([])
            return done
        return self._submit(self._send_in_order(list(requests)))

    def send(
        self, requests: list[BotRequest], *, wait_seconds: float = DEFAULT_WAIT_SECONDS
    ) -> list[DeliveryReport]:
        """Queue ``requests`` (in order) and block until Telegram answered each of them."""
        if not requests:
            return []
        return self._submit(self._send_in_order(list(requests))).result(wait_seconds)

    async def asend(
        self, requests: list[BotRequest], *, wait_seconds: float = DEFAULT_WAIT_SECONDS
    ) -> list[DeliveryReport]:
        if not requests:
            return []
        future = self._submit(self._send_in_order(list(requests)))
        return await asyncio.wait_for(asyncio.wrap_future(future), wait_seconds)

    async def _call(self, method: TelegramMethod[T]) -> T:
        if self._bot is None:
            raise RuntimeError("the Telegram sender is not running; call start() first")
        return await self._bot(method)

    async def acall(self, method: TelegramMethod[T], *, wait_seconds: float = 10.0) -> T:
        """A Bot API call that is not a chat message (answerCallbackQuery,
        answerPreCheckoutQuery): immediate, outside the message rate limits."""
        future = self._submit(self._call(method))
        return await asyncio.wait_for(asyncio.wrap_future(future), wait_seconds)

    def call(self, method: TelegramMethod[T], *, wait_seconds: float = 10.0) -> T:
        return self._submit(self._call(method)).result(wait_seconds)


_senders: dict[tuple[str, str], TelegramSender] = {}
_senders_lock = threading.Lock()


def get_sender(config: TelegramConfig | None = None) -> TelegramSender:
    """The process's running sender for ``config`` (default: from settings).

    Raises ``TelegramNotConfigured`` when no token is set.
    """
    config = config or load_telegram_config()
    key = (config.bot_token, config.api_base)
    with _senders_lock:
        sender = _senders.get(key)
        if sender is None or not sender.running:
            sender = TelegramSender(config=config).start()
            _senders[key] = sender
        return sender


def register_sender(sender: TelegramSender) -> None:
    """Make ``sender`` the one ``get_sender`` returns for its config (tests, bot process)."""
    with _senders_lock:
        _senders[(sender.config.bot_token, sender.config.api_base)] = sender


def stop_all_senders() -> None:
    with _senders_lock:
        senders = list(_senders.values())
        _senders.clear()
    for sender in senders:
        sender.stop()
