"""Fixtures of the bot-flow tests: Telegram settings aimed at the stand-in, the process's
sender (outbox) and a real Dispatcher. See tests/bots/support.py for the helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiogram import Dispatcher

from bots.dispatcher import build_dispatcher
from bots.runtime import reset_bot_runtimes
from bots.sender import TelegramSender, get_sender, register_sender, stop_all_senders
from bots.telegram.client import load_telegram_config
from bots.telegram.outbox import OutboxPolicy
from bots.telegram.ratelimit import RateLimit
from tests.bots.support import WEBHOOK_SECRET
from tests.standins.telegram_server import TelegramBotApiStandIn


@pytest.fixture
def telegram_settings(settings, telegram_standin: TelegramBotApiStandIn):
    settings.TELEGRAM_BOT_TOKEN = telegram_standin.token
    settings.TELEGRAM_API_BASE = telegram_standin.base_url
    settings.TELEGRAM_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.TELEGRAM_PAYMENT_PROVIDER_TOKEN = ""
    settings.NLU_ENGINE = "embedded"
    return settings


# Flow tests send several messages to one chat in a row; the 1/s per-chat pacing is the
# outbox's business (tests/bots/test_telegram_outbox.py), not these tests'.
FAST_POLICY = OutboxPolicy(per_chat=RateLimit(max_events=100, per_seconds=1.0))


@pytest.fixture
def telegram_sender(telegram_settings) -> Iterator[TelegramSender]:
    sender = TelegramSender(config=load_telegram_config(), policy=FAST_POLICY).start()
    register_sender(sender)
    assert get_sender() is sender
    yield sender
    stop_all_senders()
    reset_bot_runtimes()


@pytest.fixture
def dispatcher(telegram_sender: TelegramSender) -> Dispatcher:
    return build_dispatcher(sender=telegram_sender)
