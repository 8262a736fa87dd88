"""/start, deep links, search → product cards, and bad input, through the real Dispatcher."""

from __future__ import annotations

import pytest
from aiogram import Bot

from bots.models import TelegramAccount
from commerce.models import ProductStatus
from conversations.models import Channel, Message, MessageKind
from tests.bots.support import (
    db_call,
    feed,
    keyboard,
    make_product,
    make_shop,
    sticker_update,
    texts,
)
from tests.standins.telegram_server import (
    TelegramBotApiStandIn,
    callback_query_update,
    message_update,
)

pytestmark = pytest.mark.django_db(transaction=True)
BUYER = 5150
GREETING = (
    "Hello! I'm the Atelier assistant. I can help you find handmade pieces, "
    "follow an order or reach an artisan."
)


@pytest.fixture
def product(artisan):
    make_shop(artisan)
    return make_product(artisan)


async def test_start_greets_with_menu_and_creates_a_guest_buyer(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    # When a new Telegram user sends /start (their app is in English)
    await feed(
        dispatcher,
        telegram_bot,
        message_update(chat_id=BUYER, text="/start", first_name="Lea", language_code="en"),
    )

    # Then they see the greeting with the main-menu buttons
    [greeting] = telegram_standin.sent_messages(BUYER)
    assert greeting["text"] == GREETING
    assert keyboard(greeting) == [
        [{"text": "Browse products", "callback_data": "b:/search_products"}],
        [{"text": "Track an order", "callback_data": "b:/order_status"}],
        [{"text": "Help", "callback_data": "b:/help"}],
    ]
    # And a guest buyer exists, speaking the Telegram app's language
    account = await db_call(TelegramAccount.objects.select_related("user").get)(
        telegram_user_id=BUYER
    )
    assert account.is_guest and account.user.is_guest
    assert account.user.email == f"tg-{BUYER}@telegram.invalid"
    assert account.user.preferred_language == "en"
    assert account.user.display_name == "Lea"
    # And the greeting is a bot message in the buyer's shop-bot conversation (Telegram channel)
    bot_message = await db_call(Message.objects.select_related("conversation").get)(
        kind=MessageKind.BOT
    )
    assert bot_message.conversation.channel == Channel.TELEGRAM
    assert bot_message.conversation.artisan_id is None


async def test_deep_link_to_a_product_shows_its_card(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, product
) -> None:
    await feed(
        dispatcher, telegram_bot, message_update(chat_id=BUYER, text=f"/start product_{product.pk}")
    )

    details, card = telegram_standin.sent_messages(BUYER)
    assert details["text"].splitlines()[:3] == [
        "Red wool scarf",
        "€35.00",
        "Soft merino, naturally dyed.",
    ]
    # The card is a photo with the product keyboard (details / ask / buy)
    assert card["caption"] == "Red wool scarf — €35.00\nby Ana's Looms"
    assert "photo" in card
    assert keyboard(card) == [
        [
            {"text": "Details", "callback_data": f"p:d:{product.pk}"},
            {"text": "Ask the artisan", "callback_data": f"p:a:{product.pk}"},
        ],
        [{"text": "Buy", "callback_data": f"p:b:{product.pk}"}],
    ]


@pytest.mark.parametrize("case", ["missing", "hidden"])
async def test_deep_link_to_a_missing_or_hidden_product_says_so(
    case, dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, product
) -> None:
    if case == "hidden":
        product.status = ProductStatus.HIDDEN
        await db_call(product.save)()
        product_id = product.pk
    else:
        product_id = 987654

    await feed(
        dispatcher, telegram_bot, message_update(chat_id=BUYER, text=f"/start product_{product_id}")
    )

    [answer] = telegram_standin.sent_messages(BUYER)
    assert answer["text"] == "Sorry, this piece is no longer available."


async def test_deep_link_to_an_artisan_shows_their_shop(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, artisan, product
) -> None:
    await feed(
        dispatcher, telegram_bot, message_update(chat_id=BUYER, text=f"/start artisan_{artisan.pk}")
    )

    intro, card = telegram_standin.sent_messages(BUYER)
    assert intro["text"] == "Ana's Looms\nHand-woven textiles\nBased in Oaxaca"
    assert card["text"] == "Ana's Looms\nHand-woven textiles\nOaxaca"
    buttons = [row[0] for row in keyboard(card)]
    assert [b["text"] for b in buttons] == [
        "See their pieces",
        "Talk to Ana Artisan",
        "Open the shop",
    ]
    assert buttons[2]["url"].endswith("/shop/anas-looms/")


async def test_deep_link_to_an_unknown_payload_greets_and_explains(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    await feed(dispatcher, telegram_bot, message_update(chat_id=BUYER, text="/start bogus_payload"))

    assert texts(telegram_standin, BUYER) == [GREETING, "That link doesn't lead anywhere any more."]


async def test_search_by_text_returns_product_cards_then_details_button(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, artisan, product
) -> None:
    # Given another piece that does not match
    await db_call(make_product)(artisan, title="Oak bowl", tags="bowl, wood", with_photo=False)

    # When the buyer asks in plain words
    await feed(
        dispatcher,
        telegram_bot,
        message_update(chat_id=BUYER, text="I'm looking for a red wool scarf"),
    )

    # Then the bot answers with the matching piece only, as a photo card
    intro, card = telegram_standin.sent_messages(BUYER)
    assert intro["text"] == "Here is what I found for “scarf wool red”:"
    assert card["caption"] == "Red wool scarf — €35.00\nby Ana's Looms"
    # And the buyer's words are stored in the conversation, from Telegram
    said = await db_call(Message.objects.get)(kind=MessageKind.TEXT)
    assert said.text == "I'm looking for a red wool scarf" and said.channel == Channel.TELEGRAM

    # When they press "Details" under the card
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(
            chat_id=BUYER, data=f"p:d:{product.pk}", message_id=card["message_id"]
        ),
    )

    # Then the press is answered and the details follow
    assert [c.params["callback_query_id"] for c in telegram_standin.calls_to("answerCallbackQuery")]
    assert texts(telegram_standin, BUYER)[2].startswith("Red wool scarf\n€35.00\n")


async def test_search_command_and_no_results(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, product
) -> None:
    await feed(
        dispatcher, telegram_bot, message_update(chat_id=BUYER, text="/search green ceramic vase")
    )

    [answer] = telegram_standin.sent_messages(BUYER)
    assert answer["text"].startswith("I found no pieces matching “")
    assert [row[0]["text"] for row in keyboard(answer)] == [
        "Browse everything",
        "Request a custom piece",
    ]


async def test_menu_button_press_runs_the_intent(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, product
) -> None:
    await feed(dispatcher, telegram_bot, message_update(chat_id=BUYER, text="/start"))
    [greeting] = telegram_standin.sent_messages(BUYER)

    # When the buyer presses "Browse products" (Telegram sends the message with its keyboard)
    press = callback_query_update(
        chat_id=BUYER, data="b:/search_products", message_id=greeting["message_id"]
    )
    press["callback_query"]["message"]["reply_markup"] = greeting["reply_markup"]
    await feed(dispatcher, telegram_bot, press)

    assert texts(telegram_standin, BUYER)[1:] == [
        "Here are some of our newest pieces:",
        "Red wool scarf — €35.00\nby Ana's Looms",
    ]
    # The press became the buyer's message (button title), carrying the intent
    pressed = await db_call(Message.objects.get)(kind=MessageKind.TEXT)
    assert pressed.text == "Browse products"
    assert pressed.payload == {"intent_payload": "/search_products"}


async def test_sticker_unknown_command_and_garbage_get_clear_replies(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    await feed(dispatcher, telegram_bot, sticker_update(chat_id=BUYER))
    await feed(dispatcher, telegram_bot, message_update(chat_id=BUYER, text="/frobnicate now"))
    await feed(dispatcher, telegram_bot, message_update(chat_id=BUYER, text="asdkjh qwe zzz"))

    assert texts(telegram_standin, BUYER) == [
        "Nice sticker! I can only read text, though. Tell me what you are looking for.",
        "I don't know the command /frobnicate. Send /help to see what I can do.",
        'Sorry, I didn\'t quite understand. Could you rephrase? Type "help" to see what I can do.',
    ]


async def test_stale_or_forged_button_data_is_answered_without_crash(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(chat_id=BUYER, data="p:zz:1", query_id="q-9"),
    )

    [answer] = telegram_standin.calls_to("answerCallbackQuery")
    assert answer.params == {"callback_query_id": "q-9", "text": "This button is no longer valid."}


async def test_stale_database_connections_are_closed_around_every_update(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, monkeypatch
) -> None:
    # Given the bot's connection-hygiene middleware is watched
    import bots.dispatcher

    calls: list[str] = []
    real_close = bots.dispatcher.close_old_connections

    def recording_close() -> None:
        calls.append("close")
        real_close()

    monkeypatch.setattr(bots.dispatcher, "close_old_connections", recording_close)

    # When one update is handled
    await feed(dispatcher, telegram_bot, message_update(chat_id=BUYER, text="/start"))

    # Then old connections were closed before and after it, and the buyer got the greeting
    assert calls == ["close", "close"]
    assert [m["text"] for m in telegram_standin.sent_messages(BUYER)] == [GREETING]
