"""Linking, campaigns consent, replying in another conversation, webhook mode, polling."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiogram import Bot
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import AsyncClient

from bots.models import LinkCode, ProcessedUpdate, TelegramAccount
from bots.services import create_link_code
from commerce.models import Order
from conversations.services import post_message
from core.models import Consent
from tests.bots.support import (
    WEBHOOK_SECRET,
    db_call,
    feed,
    keyboard,
    make_product,
    make_shop,
    texts,
)
from tests.conftest import message_with_text
from tests.standins.telegram_server import (
    TelegramBotApiStandIn,
    callback_query_update,
    message_update,
)

pytestmark = pytest.mark.django_db(transaction=True)
BUYER = 8180
WEBHOOK = "/telegram/webhook/"


async def test_linking_with_a_one_time_code(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, buyer
) -> None:
    # Given the buyer created a code on their web profile
    link = await db_call(create_link_code)(user=buyer)

    # When they send it to the bot
    await feed(
        dispatcher, telegram_bot, message_update(chat_id=BUYER, text=f"/link {link.code.lower()}")
    )

    # Then their Telegram chat speaks for the web account
    account = await db_call(TelegramAccount.objects.select_related("user").get)(
        telegram_user_id=BUYER
    )
    assert account.user_id == buyer.pk and account.is_guest is False and account.linked_at
    assert texts(telegram_standin, BUYER) == [
        "Done! This Telegram chat is now linked to your Atelier account (buyer@example.com)."
    ]
    # And the code cannot be used again, by anyone
    await feed(dispatcher, telegram_bot, message_update(chat_id=9999, text=f"/link {link.code}"))
    assert texts(telegram_standin, 9999) == [
        "This code is invalid or expired. Create a new one on your Atelier profile page."
    ]
    assert (await db_call(LinkCode.objects.get)(pk=link.pk)).used_by_telegram_id == BUYER


async def test_link_without_code_explains_and_guessing_is_limited(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    await feed(dispatcher, telegram_bot, message_update(chat_id=BUYER, text="/link"))
    for attempt in range(6):
        await feed(
            dispatcher, telegram_bot, message_update(chat_id=BUYER, text=f"/link WRONG{attempt}")
        )

    shown = texts(telegram_standin, BUYER)
    assert shown[0] == (
        "To link your Atelier account, create a code on your profile page and send it here: /link YOURCODE"
    )
    assert (
        shown[1:6]
        == ["This code is invalid or expired. Create a new one on your Atelier profile page."] * 5
    )
    assert shown[6] == "Too many attempts. Try again in an hour."


async def test_campaign_opt_in_and_out_are_recorded_as_consent(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    await feed(dispatcher, telegram_bot, message_update(chat_id=BUYER, text="/subscribe"))
    await feed(dispatcher, telegram_bot, message_update(chat_id=BUYER, text="/unsubscribe"))
    # In words too: the dialogue's action records the same consent
    await feed(
        dispatcher, telegram_bot, message_update(chat_id=BUYER, text="subscribe me to your news")
    )

    account = await db_call(TelegramAccount.objects.get)(telegram_user_id=BUYER)
    decisions = await db_call(
        lambda: list(
            Consent.objects.filter(user_id=account.user_id)
            .order_by("created_at", "id")
            .values_list("purpose", "granted", "source")
        )
    )()
    assert decisions == [
        (Consent.Purpose.MARKETING_TELEGRAM, True, "telegram"),
        (Consent.Purpose.MARKETING_TELEGRAM, False, "telegram"),
        (Consent.Purpose.MARKETING_TELEGRAM, True, "telegram"),
    ]
    assert texts(telegram_standin, BUYER)[:2] == [
        "You're subscribed to Atelier's campaigns here. Send /unsubscribe to stop.",
        "You're unsubscribed: no more campaign messages. Order updates still reach you.",
    ]


async def test_artisan_message_in_another_conversation_offers_a_reply_button(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, artisan
) -> None:
    await db_call(make_shop)(artisan)
    product = await db_call(make_product)(artisan)
    # Given the guest bought the scarf (the order has its own conversation with the artisan)
    await feed(
        dispatcher, telegram_bot, callback_query_update(chat_id=BUYER, data=f"p:b:{product.pk}")
    )
    order = await db_call(Order.objects.select_related("conversation").get)()

    # When the artisan writes in the order's conversation
    await db_call(post_message)(
        conversation=order.conversation, author=artisan, text="Which colour?"
    )

    # Then it reaches Telegram with a button to answer there
    note = telegram_standin.sent_messages(BUYER)[-1]
    assert note["text"] == "Ana Artisan: Which colour?"
    assert keyboard(note) == [
        [{"text": "↩ Reply to Ana Artisan", "callback_data": f"c:{order.conversation_id}"}]
    ]

    # When they press it and answer
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(chat_id=BUYER, data=f"c:{order.conversation_id}"),
    )
    await feed(
        dispatcher, telegram_bot, message_update(chat_id=BUYER, text="Red please", message_id=70)
    )

    # Then the answer lands in the order's conversation
    answer = await db_call(message_with_text)("Red please")
    assert answer.conversation_id == order.conversation_id
    assert texts(telegram_standin, BUYER)[-1] == (
        f"Your messages now go to “Order {order.reference}: Red wool scarf”. "
        "Send /bot to talk to the shop assistant."
    )


async def test_reply_button_for_someone_elses_conversation_is_refused(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, artisan, buyer
) -> None:
    from conversations.services import start_conversation

    other = await db_call(start_conversation)(buyer=buyer, artisan=artisan)
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(chat_id=BUYER, data=f"c:{other.pk}", query_id="q-c"),
    )

    [answer] = telegram_standin.calls_to("answerCallbackQuery")
    assert answer.params == {
        "callback_query_id": "q-c",
        "text": "This conversation is closed or not yours.",
    }


# --- webhook mode -------------------------------------------------------------------------------------


async def test_forged_webhook_call_is_refused(telegram_sender, telegram_standin) -> None:
    client = AsyncClient()
    body = json.dumps(message_update(chat_id=BUYER, text="/start"))

    no_secret = await client.post(WEBHOOK, body, content_type="application/json")
    wrong = await client.post(
        WEBHOOK,
        body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
    )

    assert no_secret.status_code == 403 and wrong.status_code == 403
    assert telegram_standin.sent_messages(BUYER) == []
    assert not await db_call(TelegramAccount.objects.exists)()


async def test_webhook_handles_an_update_once_even_if_redelivered(
    telegram_sender, telegram_standin
) -> None:
    client = AsyncClient()
    body = json.dumps(message_update(chat_id=BUYER, text="/subscribe", update_id=424242))
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}

    first = await client.post(WEBHOOK, body, content_type="application/json", headers=headers)
    again = await client.post(WEBHOOK, body, content_type="application/json", headers=headers)

    assert first.status_code == 200 and again.status_code == 200
    assert texts(telegram_standin, BUYER) == [
        "You're subscribed to Atelier's campaigns here. Send /unsubscribe to stop."
    ]
    assert await db_call(Consent.objects.count)() == 1
    assert await db_call(ProcessedUpdate.objects.filter(update_id=424242).count)() == 1


async def test_webhook_rejects_a_body_that_is_not_an_update(telegram_sender) -> None:
    response = await AsyncClient().post(
        WEBHOOK,
        "[1, 2",
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    assert response.status_code == 400


async def test_webhook_without_configured_secret_refuses_everything(
    settings, telegram_sender
) -> None:
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    response = await AsyncClient().post(
        WEBHOOK,
        "{}",
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": ""},
    )
    assert response.status_code == 403


async def test_duplicate_update_through_the_dispatcher_is_processed_once(
    dispatcher, telegram_bot: Bot, telegram_standin
) -> None:
    update = message_update(chat_id=BUYER, text="/start", update_id=515151)
    await feed(dispatcher, telegram_bot, update)
    await feed(dispatcher, telegram_bot, update)

    assert len(telegram_standin.sent_messages(BUYER)) == 1


# --- polling mode -------------------------------------------------------------------------------------


def test_polling_command_explains_a_missing_token(settings) -> None:
    settings.TELEGRAM_BOT_TOKEN = ""
    with pytest.raises(CommandError, match="TELEGRAM_BOT_TOKEN is empty"):
        call_command("run_telegram_bot")


async def test_polling_dispatcher_answers_updates_from_get_updates(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    telegram_standin.push_update(message_update(chat_id=BUYER, text="/unsubscribe"))
    polling = asyncio.create_task(
        dispatcher.start_polling(
            telegram_bot, polling_timeout=1, handle_signals=False, close_bot_session=False
        )
    )
    replies = await telegram_standin.wait_for_messages(BUYER, within_seconds=5)
    await dispatcher.stop_polling()
    await asyncio.wait_for(polling, timeout=5)

    assert [m["text"] for m in replies] == [
        "You're unsubscribed: no more campaign messages. Order updates still reach you."
    ]
