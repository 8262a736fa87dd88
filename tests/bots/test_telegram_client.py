"""bots.telegram.client: configuration, Bot construction, outbox transport."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiogram import Bot

from bots.telegram.client import (
    TELEGRAM_PRODUCTION_API_BASE,
    TelegramConfig,
    TelegramNotConfigured,
    create_bot,
    deliver_outbound,
    load_telegram_config,
)
from bots.telegram.outbox import OutboundPhoto, OutboundText, SentMessage
from tests.standins.telegram_server import TelegramBotApiStandIn


def test_config_defaults_when_settings_are_missing() -> None:
    config = load_telegram_config(SimpleNamespace())

    assert config == TelegramConfig(
        bot_token="", api_base=TELEGRAM_PRODUCTION_API_BASE, request_timeout=10.0
    )


def test_config_reads_django_settings_lazily(settings) -> None:
    settings.TELEGRAM_BOT_TOKEN = " 42:secret "
    settings.TELEGRAM_API_BASE = "http://127.0.0.1:8081"
    settings.TELEGRAM_REQUEST_TIMEOUT = 3

    config = load_telegram_config()

    assert config == TelegramConfig(
        bot_token="42:secret", api_base="http://127.0.0.1:8081", request_timeout=3.0
    )


def test_empty_token_raises_not_configured() -> None:
    with pytest.raises(TelegramNotConfigured, match="TELEGRAM_BOT_TOKEN is empty"):
        create_bot(config=load_telegram_config(SimpleNamespace(TELEGRAM_BOT_TOKEN="")))


def test_malformed_token_raises_not_configured() -> None:
    with pytest.raises(TelegramNotConfigured, match="malformed"):
        create_bot(config=TelegramConfig(bot_token="not-a-token"))


async def test_bot_uses_configured_api_base_and_timeout() -> None:
    bot = create_bot(
        config=TelegramConfig(
            bot_token="42:secret", api_base="http://127.0.0.1:9/", request_timeout=4.0
        )
    )

    assert bot.session.api.api_url(token=bot.token, method="getMe") == (
        "http://127.0.0.1:9/bot42:secret/getMe"
    )
    assert bot.session.timeout == 4.0
    await bot.session.close()


async def test_deliver_outbound_maps_requests_to_bot_methods(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    text = await deliver_outbound(
        telegram_bot, OutboundText(chat_id=11, text="<b>Hi</b>", parse_mode="HTML")
    )
    photo = await deliver_outbound(
        telegram_bot,
        OutboundPhoto(chat_id=11, photo_url="https://atelier.example/a.jpg", caption="Mug"),
    )

    assert text == SentMessage(chat_id=11, message_id=1)
    assert photo == SentMessage(chat_id=11, message_id=2)
    [send_message] = telegram_standin.calls_to("sendMessage")
    assert send_message.params["parse_mode"] == "HTML"
    [send_photo] = telegram_standin.calls_to("sendPhoto")
    assert send_photo.params["caption"] == "Mug"
