"""Replies authored per locale (issue 15 item 2): a French and a Japanese Telegram user go
through a whole dialogue — /start, the menu buttons, a search, an order lookup, help, the
campaign opt-in and opt-out, an unknown command, a sticker, goodbye — and no English
reaches them: every reply, button and card is a translated string of ours. What artisans
wrote (the product's title, the shop's name) is theirs and is left out of the check."""

from __future__ import annotations

import re

import pytest
from aiogram import Bot

from tests.bots.support import feed, make_product, make_shop, sticker_update
from tests.standins.telegram_server import (
    TelegramBotApiStandIn,
    callback_query_update,
    message_update,
)

pytestmark = pytest.mark.django_db(transaction=True)

# Words of our English strings; none of them is also a French word we would write.
ENGLISH = re.compile(
    r"\b(the|you|your|and|order|orders|help|hello|welcome|browse|track|sorry|here|found|"
    r"pieces|products|details|ask|buy|artisan's|please|thank|thanks|what|which|send|"
    r"subscribed|unsubscribed|offers|news|see|soon|made|by|from|can|find|tell|looking)\b",
    re.IGNORECASE,
)


def _everything_shown(standin: TelegramBotApiStandIn, chat_id: int, *, theirs: list[str]) -> str:
    parts: list[str] = []
    for message in standin.sent_messages(chat_id):
        parts.append(message.get("text") or message.get("caption") or "")
        for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
            parts.extend(button.get("text", "") for button in row)
    shown = "\n".join(parts)
    for text in theirs:
        shown = shown.replace(text, "")
    # Commands are names, the same in every language ("Envoyez /help").
    return re.sub(r"/\w+", "", shown)


async def _press(dispatcher, bot, standin, chat_id: int, data: str) -> None:
    last = standin.sent_messages(chat_id)[-1]
    press = callback_query_update(chat_id=chat_id, data=data, message_id=last["message_id"])
    press["callback_query"]["message"]["reply_markup"] = last.get("reply_markup")
    press["callback_query"]["from"]["language_code"] = standin_language[chat_id]
    await feed(dispatcher, bot, press)


standin_language: dict[int, str] = {}


@pytest.fixture
def product(artisan):
    make_shop(artisan)
    return make_product(artisan)


@pytest.mark.parametrize(
    ("language", "chat_id", "typed"),
    [
        (
            "fr",
            8101,
            [
                "bonjour",
                "je cherche une écharpe en laine",
                "où en est ma commande AT-7K2Q9A ?",
                "je veux recevoir vos offres",
                "je ne veux plus recevoir vos offres",
                "aide",
                "/inconnu",
                "au revoir",
            ],
        ),
        ("ja", 8102, ["こんにちは", "/inconnu"]),
    ],
)
async def test_a_whole_dialogue_has_no_english(
    dispatcher,
    telegram_bot: Bot,
    telegram_standin: TelegramBotApiStandIn,
    product,
    language: str,
    chat_id: int,
    typed: list[str],
) -> None:
    standin_language[chat_id] = language

    said = iter(range(100, 200))

    async def say(text: str) -> None:
        await feed(
            dispatcher,
            telegram_bot,
            message_update(
                chat_id=chat_id, text=text, language_code=language, message_id=next(said)
            ),
        )

    await say("/start")
    # The menu, as a buyer taps through it
    await _press(dispatcher, telegram_bot, telegram_standin, chat_id, "b:/search_products")
    await _press(dispatcher, telegram_bot, telegram_standin, chat_id, "b:/order_status")
    await _press(dispatcher, telegram_bot, telegram_standin, chat_id, "b:/help")
    await _press(dispatcher, telegram_bot, telegram_standin, chat_id, "b:/subscribe_campaigns")
    await _press(dispatcher, telegram_bot, telegram_standin, chat_id, "b:/unsubscribe_campaigns")
    for text in typed:
        await say(text)
    sticker = sticker_update(chat_id=chat_id)
    sticker["message"]["from"]["language_code"] = language
    await feed(dispatcher, telegram_bot, sticker)

    shown = _everything_shown(
        telegram_standin,
        chat_id,
        theirs=[product.title, product.shop.shop_name, product.shop.tagline],
    )
    # Every typed line and press was answered (a reply per step at least)
    assert len(telegram_standin.sent_messages(chat_id)) >= 8 + len(typed)
    assert ENGLISH.findall(shown) == [], shown
    if language == "ja":
        # and it is Japanese, not an empty or code-only reply
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", shown)
