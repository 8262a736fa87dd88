"""Helpers and builders for bot-flow tests (fixtures: tests/bots/flows/conftest.py).

The flows run for real: aiogram Dispatcher ← real Update objects; handlers → services →
``post_message`` → (after commit, Celery eager) bot replies and Telegram delivery → the
process's TelegramSender (outbox) → the Bot API stand-in. Tests therefore use
``transactional_db``: follow-ups run on commit.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import uvicorn
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from asgiref.sync import sync_to_async
from django.core.files.base import ContentFile
from PIL import Image

from commerce.models import ArtisanProfile, Product
from commerce.services.catalog import (
    ProductInput,
    add_product_photo,
    create_product,
    save_artisan_profile,
)
from core.models import User
from tests.standins.telegram_server import TelegramBotApiStandIn

WEBHOOK_SECRET = "test-webhook-secret-123"  # noqa: S105 - a test value


async def feed(dispatcher: Dispatcher, bot: Bot, update: dict[str, Any]) -> Any:
    return await dispatcher.feed_update(bot, Update.model_validate(update, context={"bot": bot}))


async def ask_artisan(dispatcher: Dispatcher, bot: Bot, product: Product, *, chat_id: int):
    """The buyer in ``chat_id`` taps "Ask the artisan" on ``product``; returns the
    conversation their Telegram text now goes to."""
    from bots.models import TelegramAccount
    from conversations.models import Conversation
    from tests.standins.telegram_server import callback_query_update

    await feed(dispatcher, bot, callback_query_update(chat_id=chat_id, data=f"p:a:{product.pk}"))
    account = await db_call(TelegramAccount.objects.get)(telegram_user_id=chat_id)
    return await db_call(Conversation.objects.get)(pk=account.active_conversation_id)


def texts(standin: TelegramBotApiStandIn, chat_id: int) -> list[str]:
    """What the buyer sees in the chat: message texts and photo captions, in order."""
    return [m.get("text") or m.get("caption") or "" for m in standin.sent_messages(chat_id)]


def keyboard(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return (message.get("reply_markup") or {}).get("inline_keyboard") or []


def png_file(name: str = "piece.png") -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name=name)


def make_shop(artisan: User, **fields: Any) -> ArtisanProfile:
    defaults = {
        "shop_name": "Ana's Looms",
        "tagline": "Hand-woven textiles",
        "region": "Oaxaca",
        "country": "MX",
        "materials": "wool, cotton",
    }
    return save_artisan_profile(user=artisan, **{**defaults, **fields})


def make_product(artisan: User, *, with_photo: bool = True, **fields: Any) -> Product:
    defaults: dict[str, Any] = {
        "title": "Red wool scarf",
        "price": Decimal("35.00"),
        "currency": "EUR",
        "description": "Soft merino, naturally dyed.",
        "stock_quantity": 3,
        "tags": "scarf, wool, red",
    }
    product = create_product(artisan=artisan, fields=ProductInput(**{**defaults, **fields}))
    if with_photo:
        add_product_photo(artisan=artisan, product=product, image=png_file())
    return product


def successful_payment_update(
    *,
    user_id: int,
    invoice_payload: str,
    total_amount: int,
    currency: str = "EUR",
    charge_id: str = "tg-charge-1",
) -> dict[str, Any]:
    return {
        "update_id": int(time.time() * 1000) % 1_000_000_000,
        "message": {
            "message_id": 900,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Buyer"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Buyer", "language_code": "en"},
            "successful_payment": {
                "currency": currency,
                "total_amount": total_amount,
                "invoice_payload": invoice_payload,
                "telegram_payment_charge_id": charge_id,
                "provider_payment_charge_id": f"pi_{charge_id}",
            },
        },
    }


def sticker_update(*, chat_id: int, update_id: int | None = None) -> dict[str, Any]:
    return {
        "update_id": update_id or int(time.time() * 1000) % 1_000_000_000,
        "message": {
            "message_id": 77,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Buyer"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Buyer", "language_code": "en"},
            "sticker": {
                "file_id": "CAACAgIAAxk",
                "file_unique_id": "AgADcQ",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            },
        },
    }


db_call = sync_to_async


@contextmanager
def running_action_server(port: int = 0) -> Iterator[str]:
    """rasa_sdk's own app (what ``python -m rasa_sdk --actions nlu.actions`` serves) on a
    loopback port in this process (``port``, else a free one), so actions use the test
    database."""
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.executor import ActionExecutor
    from sanic import Sanic

    Sanic.test_mode = True  # several test modules each build the "rasa_sdk" app
    executor = ActionExecutor()
    executor.register_package("nlu.actions")
    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(executor), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the action server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
