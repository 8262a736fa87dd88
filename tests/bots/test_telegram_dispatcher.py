"""The testing pattern for bot routers: real Updates into a real Dispatcher, replies
observed at the Bot API stand-in (see docs/telegram.md)."""

from __future__ import annotations

import asyncio

from aiogram import Bot, Dispatcher, F, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, Update

from bots.telegram.keyboards import ProductAction, ProductActionKind, product_card_keyboard
from tests.standins.telegram_server import (
    TelegramBotApiStandIn,
    callback_query_update,
    message_update,
)

BUYER = 5150


def build_dispatcher() -> Dispatcher:
    router = Router(name="ping")

    @router.message(Command("ping"))
    async def reply_pong(message: Message) -> None:
        await message.answer("pong")

    @router.message(Command("bowl"))
    async def show_bowl(message: Message) -> None:
        await message.answer("Blue bowl, €35", reply_markup=product_card_keyboard(product_id=12))

    @router.callback_query(ProductAction.filter(F.action == ProductActionKind.BUY))
    async def start_checkout(query: CallbackQuery, callback_data: ProductAction) -> None:
        await query.answer(f"Checkout for product {callback_data.product_id}")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


async def test_feed_update_ping_gets_pong(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    # Given a buyer's "/ping" as Telegram would deliver it
    update = Update.model_validate(
        message_update(chat_id=BUYER, text="/ping"), context={"bot": telegram_bot}
    )

    # When the dispatcher handles it
    await build_dispatcher().feed_update(telegram_bot, update)

    # Then the stand-in received exactly one reply, "pong", in the buyer's chat
    assert [m["text"] for m in telegram_standin.sent_messages(BUYER)] == ["pong"]
    [call] = telegram_standin.calls_to("sendMessage")
    assert call.params["chat_id"] == BUYER


async def test_button_press_is_decoded_and_answered(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    dispatcher = build_dispatcher()
    await dispatcher.feed_update(
        telegram_bot, Update.model_validate(message_update(chat_id=BUYER, text="/bowl"))
    )
    [card] = telegram_standin.sent_messages(BUYER)
    buy_button = card["reply_markup"]["inline_keyboard"][1][0]

    # When the buyer presses "Buy" under the card
    await dispatcher.feed_update(
        telegram_bot,
        Update.model_validate(
            callback_query_update(
                chat_id=BUYER,
                data=buy_button["callback_data"],
                message_id=card["message_id"],
                query_id="q-1",
            )
        ),
    )

    # Then the handler saw product 12 and answered the button press
    [answer] = telegram_standin.calls_to("answerCallbackQuery")
    assert answer.params == {"callback_query_id": "q-1", "text": "Checkout for product 12"}


async def test_unknown_callback_data_is_not_handled(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    result = await build_dispatcher().feed_update(
        telegram_bot,
        Update.model_validate(callback_query_update(chat_id=BUYER, data="p:zz:1")),
    )

    assert result is UNHANDLED
    assert telegram_standin.calls_to("answerCallbackQuery") == []


async def test_long_polling_through_get_updates(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    # Given an update waiting on the Bot API and a dispatcher polling it
    update_id = telegram_standin.push_update(message_update(chat_id=BUYER, text="/ping"))
    dispatcher = build_dispatcher()
    polling = asyncio.create_task(
        dispatcher.start_polling(
            telegram_bot, polling_timeout=1, handle_signals=False, close_bot_session=False
        )
    )

    # When the reply shows up, polling is stopped
    replies = await telegram_standin.wait_for_messages(BUYER, within_seconds=5)
    await dispatcher.stop_polling()
    await asyncio.wait_for(polling, timeout=5)

    # Then the update was handled once and every later poll confirmed it via offset
    assert [m["text"] for m in replies] == ["pong"]
    polls = telegram_standin.calls_to("getUpdates")
    assert polls[0].params.get("offset") is None
    assert all(poll.params["offset"] == update_id + 1 for poll in polls[1:])
