"""Fixtures for Telegram bot tests: the Bot API stand-in, a Bot wired to it, a manual clock.

tests/conftest.py belongs to the lead; these fixtures live here so any test under
tests/bots/ can ask for ``telegram_standin`` / ``telegram_bot`` / ``manual_clock``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from aiogram import Bot

from bots.telegram.client import TelegramConfig, create_bot
from tests.standins.telegram_server import TelegramBotApiStandIn


class ManualClock:
    """Virtual time for the outbox: every sleep advances ``now`` instead of waiting.

    The outbox has a single scheduler that sleeps, so jumping time forward on each
    sleep replays a schedule of minutes in milliseconds, deterministically.
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self.start = start
        self._now = start
        self.sleeps: list[float] = []
        self.settle_ticks = 20

    def now(self) -> float:
        return self._now

    def elapsed(self) -> float:
        return self._now - self.start

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        # Let every runnable task (in-flight fake sends, their callbacks) finish first:
        # time may only jump while nothing else is happening. If the sleeper is woken
        # meanwhile, this sleep is cancelled and time does not move at all.
        for _ in range(self.settle_ticks):
            await asyncio.sleep(0)
        self._now += max(seconds, 0.0)


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def telegram_standin() -> Iterator[TelegramBotApiStandIn]:
    with TelegramBotApiStandIn() as standin:
        yield standin


@pytest.fixture
async def make_telegram_bot(
    telegram_standin: TelegramBotApiStandIn,
) -> AsyncIterator[Callable[..., Bot]]:
    """Factory for Bots built the production way (bots.telegram.client) but aimed at the
    stand-in; ``token=`` picks another token (e.g. an unknown one for 401 tests)."""
    bots: list[Bot] = []

    def make(*, token: str | None = None) -> Bot:
        bot = create_bot(
            config=TelegramConfig(
                bot_token=token or telegram_standin.token,
                api_base=telegram_standin.base_url,
                request_timeout=5.0,
            )
        )
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.session.close()


@pytest.fixture
def telegram_bot(make_telegram_bot: Callable[..., Bot]) -> Bot:
    return make_telegram_bot()
