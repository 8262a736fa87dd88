"""aiogram's real Bot against the loopback Bot API stand-in: happy paths and errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, LabeledPrice

from bots.telegram.keyboards import product_card_keyboard
from tests.standins.telegram_server import (
    StandInLimits,
    TelegramBotApiStandIn,
    UploadedFile,
    WindowLimit,
)

BUYER_CHAT = 4242


async def test_get_me_reports_the_bot_behind_the_token(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    me = await telegram_bot.get_me()

    assert me.id == telegram_standin.bot_id
    assert me.is_bot is True
    assert me.username == "atelier_standin_bot"


async def test_send_message_records_exact_text_and_keyboard(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    # Given a product card keyboard
    keyboard = product_card_keyboard(product_id=7)

    # When the bot sends a message with it
    message = await telegram_bot.send_message(
        chat_id=BUYER_CHAT, text="Blue bowl, €35", reply_markup=keyboard
    )

    # Then aiogram gets a proper Message back and the stand-in holds the same content
    assert message.chat.id == BUYER_CHAT
    assert message.chat.type == "private"
    assert message.text == "Blue bowl, €35"
    assert message.reply_markup is not None
    assert message.reply_markup.model_dump(exclude_none=True) == keyboard.model_dump(
        exclude_none=True
    )
    [stored] = telegram_standin.sent_messages(BUYER_CHAT)
    assert stored["message_id"] == message.message_id
    assert stored["text"] == "Blue bowl, €35"
    assert stored["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Details", "callback_data": "p:d:7"},
                {"text": "Ask the artisan", "callback_data": "p:a:7"},
            ],
            [{"text": "Buy", "callback_data": "p:b:7"}],
        ]
    }
    [call] = telegram_standin.calls_to("sendMessage")
    assert call.params["chat_id"] == BUYER_CHAT  # decoded back to an int
    assert call.params["text"] == "Blue bowl, €35"


async def test_numeric_looking_text_stays_a_string(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    await telegram_bot.send_message(chat_id=BUYER_CHAT, text="42")

    assert telegram_standin.sent_messages(BUYER_CHAT)[0]["text"] == "42"


async def test_message_ids_increase_per_chat(telegram_bot: Bot) -> None:
    first = await telegram_bot.send_message(chat_id=BUYER_CHAT, text="one")
    second = await telegram_bot.send_message(chat_id=BUYER_CHAT, text="two")
    elsewhere = await telegram_bot.send_message(chat_id=BUYER_CHAT + 1, text="hi")

    assert (first.message_id, second.message_id, elsewhere.message_id) == (1, 2, 1)


async def test_send_photo_by_url_with_caption_and_keyboard(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    message = await telegram_bot.send_photo(
        chat_id=BUYER_CHAT,
        photo="https://atelier.example/media/bowl.jpg",
        caption="Hand-thrown bowl",
        reply_markup=product_card_keyboard(product_id=9),
    )

    assert message.caption == "Hand-thrown bowl"
    assert [size.width for size in message.photo] == [90, 320, 800]
    assert message.reply_markup is not None
    [call] = telegram_standin.calls_to("sendPhoto")
    assert call.params["photo"] == "https://atelier.example/media/bowl.jpg"


async def test_send_photo_upload_reaches_the_standin_as_a_file(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    jpeg = b"\xff\xd8\xff\xe0fake-jpeg-bytes"

    await telegram_bot.send_photo(
        chat_id=BUYER_CHAT, photo=BufferedInputFile(jpeg, filename="bowl.jpg")
    )

    [call] = telegram_standin.calls_to("sendPhoto")
    upload = call.params["photo"]
    assert isinstance(upload, UploadedFile)
    assert upload.filename == "bowl.jpg"
    assert upload.content == jpeg


async def test_send_invoice_returns_invoice_message(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    message = await telegram_bot.send_invoice(
        chat_id=BUYER_CHAT,
        title="Blue bowl",
        description="Hand-thrown stoneware bowl, 18 cm",
        payload="order:17",
        currency="EUR",
        prices=[LabeledPrice(label="Bowl", amount=3500), LabeledPrice(label="Post", amount=450)],
        provider_token="",
    )

    assert message.invoice is not None
    assert message.invoice.total_amount == 3950
    assert message.invoice.currency == "EUR"
    [call] = telegram_standin.calls_to("sendInvoice")
    assert call.params["prices"] == [
        {"label": "Bowl", "amount": 3500},
        {"label": "Post", "amount": 450},
    ]
    assert call.params["payload"] == "order:17"


async def test_edit_message_text_then_identical_edit_is_not_modified(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    sent = await telegram_bot.send_message(chat_id=BUYER_CHAT, text="Offer: €30")

    edited = await telegram_bot.edit_message_text(
        chat_id=BUYER_CHAT, message_id=sent.message_id, text="Offer: €28"
    )
    assert edited.text == "Offer: €28"
    assert telegram_standin.sent_messages(BUYER_CHAT)[0]["text"] == "Offer: €28"

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await telegram_bot.edit_message_text(
            chat_id=BUYER_CHAT, message_id=sent.message_id, text="Offer: €28"
        )


async def test_edit_reply_markup_and_missing_message(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    sent = await telegram_bot.send_message(
        chat_id=BUYER_CHAT, text="Bowl", reply_markup=product_card_keyboard(product_id=1)
    )

    await telegram_bot.edit_message_reply_markup(
        chat_id=BUYER_CHAT, message_id=sent.message_id, reply_markup=None
    )
    assert "reply_markup" not in telegram_standin.sent_messages(BUYER_CHAT)[0]

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await telegram_bot.edit_message_text(chat_id=BUYER_CHAT, message_id=999, text="x")


async def test_answers_and_chat_action_are_recorded(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    assert await telegram_bot.answer_callback_query("cbq-1", text="Added to cart") is True
    assert await telegram_bot.answer_pre_checkout_query("pcq-1", ok=True) is True
    assert await telegram_bot.send_chat_action(chat_id=BUYER_CHAT, action="typing") is True

    [callback] = telegram_standin.calls_to("answerCallbackQuery")
    assert callback.params == {"callback_query_id": "cbq-1", "text": "Added to cart"}
    [pre_checkout] = telegram_standin.calls_to("answerPreCheckoutQuery")
    assert pre_checkout.params["ok"] is True
    with pytest.raises(TelegramBadRequest, match="ERROR_MESSAGE_EMPTY"):
        await telegram_bot.answer_pre_checkout_query("pcq-2", ok=False)


async def test_empty_text_is_a_bad_request(telegram_bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await telegram_bot.send_message(chat_id=BUYER_CHAT, text="")


async def test_unknown_token_is_unauthorized(make_telegram_bot: Callable[..., Bot]) -> None:
    bot = make_telegram_bot(token="987654321:NotTheRightToken")

    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await bot.get_me()


async def test_unknown_chat_is_not_found(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    # Given a stand-in that knows only one chat
    telegram_standin.set_known_chats({BUYER_CHAT})

    await telegram_bot.send_message(chat_id=BUYER_CHAT, text="known")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await telegram_bot.send_message(chat_id=1, text="unknown")


async def test_blocked_chat_is_forbidden(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    telegram_standin.block_chat(BUYER_CHAT)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await telegram_bot.send_message(chat_id=BUYER_CHAT, text="hello?")
    assert telegram_standin.sent_messages(BUYER_CHAT) == []


async def test_forced_429_raises_retry_after_then_recovers(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    telegram_standin.force_retry_after(1, retry_after=7)

    with pytest.raises(TelegramRetryAfter) as raised:
        await telegram_bot.send_message(chat_id=BUYER_CHAT, text="hi")
    assert raised.value.retry_after == 7
    [refused] = telegram_standin.calls_to("sendMessage")
    assert refused.status == 429
    assert refused.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }

    await telegram_bot.send_message(chat_id=BUYER_CHAT, text="hi")
    assert [m["text"] for m in telegram_standin.sent_messages(BUYER_CHAT)] == ["hi"]


async def test_enforced_limits_refuse_a_second_message_within_a_second(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    telegram_standin.set_rate_limits(enforce=True)

    await telegram_bot.send_message(chat_id=BUYER_CHAT, text="first")
    with pytest.raises(TelegramRetryAfter) as raised:
        await telegram_bot.send_message(chat_id=BUYER_CHAT, text="second")
    # Another chat is unaffected by the first chat's window.
    await telegram_bot.send_message(chat_id=BUYER_CHAT + 1, text="other chat")

    assert raised.value.retry_after == 1


async def test_enforced_overall_limit(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    telegram_standin.set_rate_limits(
        enforce=True, limits=StandInLimits(overall=WindowLimit(3, 1.0))
    )
    for chat_id in (1, 2, 3):
        await telegram_bot.send_message(chat_id=chat_id, text="broadcast")

    with pytest.raises(TelegramRetryAfter):
        await telegram_bot.send_message(chat_id=4, text="broadcast")


async def test_group_limit_is_twenty_per_minute(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    telegram_standin.set_rate_limits(
        enforce=True, limits=StandInLimits(per_chat=WindowLimit(100, 1.0))
    )
    group = -100_123
    for number in range(20):
        await telegram_bot.send_message(chat_id=group, text=f"update {number}")

    with pytest.raises(TelegramRetryAfter) as raised:
        await telegram_bot.send_message(chat_id=group, text="one too many")
    assert 55 <= raised.value.retry_after <= 60


async def test_get_updates_serves_pushed_updates_and_confirms_by_offset(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    first = telegram_standin.push_update({"message": _text_message("hello")})
    telegram_standin.push_update({"message": _text_message("again")})

    updates = await telegram_bot.get_updates(timeout=1)
    assert [u.message.text for u in updates] == ["hello", "again"]
    assert updates[0].update_id == first

    confirmed = await telegram_bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert confirmed == []
    assert telegram_standin.pending_updates == 0


async def test_webhook_blocks_get_updates_until_deleted(
    telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn
) -> None:
    with pytest.raises(TelegramBadRequest, match="HTTPS URL"):
        await telegram_bot.set_webhook("http://insecure.example/hook")

    await telegram_bot.set_webhook("https://atelier.example/telegram/hook", secret_token="s3")
    assert telegram_standin.webhook_url == "https://atelier.example/telegram/hook"
    with pytest.raises(TelegramConflictError):
        await telegram_bot.get_updates(timeout=0)

    await telegram_bot.delete_webhook()
    assert await telegram_bot.get_updates(timeout=0) == []


async def test_callback_data_longer_than_64_bytes_is_refused(telegram_bot: Bot) -> None:
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "y" * 65}]]}

    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await telegram_bot.send_message(chat_id=BUYER_CHAT, text="t", reply_markup=markup)


def _text_message(text: str) -> dict:
    return {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": BUYER_CHAT, "type": "private"},
        "from": {"id": BUYER_CHAT, "is_bot": False, "first_name": "Ana"},
        "text": text,
    }
