"""The aiogram Dispatcher: feature routers, middlewares and injected services.

Handlers receive, as keyword arguments from the workflow data:

- ``services``: :class:`bots.bot_services.BotServices` (all database work),
- ``sender``: :class:`bots.sender.TelegramSender` (all outbound Bot API traffic),
- ``account``: the buyer's :class:`bots.models.TelegramAccount` (messages and button
  presses in private chats; created as a guest buyer on first contact).

Middlewares, outermost first: stale database connections are closed around every update
(the bot is a long-running process, like a request cycle without Django's request signals);
every update is handled once (``ProcessedUpdate`` by ``update_id``); each message/button
press runs with Django's language set to the buyer's language.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.types import TelegramObject, Update
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.utils import translation

from bots.bot_services import BotServices
from bots.models import ProcessedUpdate
from bots.routers import build_routers
from bots.routers.common import identity_from
from bots.sender import TelegramSender

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class CloseOldConnectionsMiddleware(BaseMiddleware):
    """Drop unusable or expired database connections before and after each update.

    Django does this around each HTTP request; a polling bot has no requests, so without it
    a connection broken by a database restart (or older than CONN_MAX_AGE) would fail every
    later update. Runs on the thread the services' ``sync_to_async`` calls use.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        await sync_to_async(close_old_connections)()
        try:
            return await handler(event, data)
        finally:
            await sync_to_async(close_old_connections)()


class OncePerUpdateMiddleware(BaseMiddleware):
    """Telegram re-delivers an update until it is acknowledged: act on each id once.

    The claim is released if handling fails, so the re-delivery gets another chance.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            raise TypeError(f"OncePerUpdateMiddleware wraps updates, got {type(event).__name__}")
        services: BotServices = data["services"]
        if not await services.claim_update(event.update_id):
            logger.info("Telegram update %s already handled; ignored", event.update_id)
            return None
        try:
            return await handler(event, data)
        except Exception:
            await sync_to_async(ProcessedUpdate.objects.filter(update_id=event.update_id).delete)()
            raise


class BuyerAccountMiddleware(BaseMiddleware):
    """Resolve the Telegram user to their account and speak their language."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        chat = data.get("event_chat")
        if user is None or user.is_bot:
            return None
        if chat is not None and chat.type != "private":
            return None  # the shop bot works in private chats only
        services: BotServices = data["services"]
        account = await services.account_for(identity_from(user, chat))
        data["account"] = account
        with translation.override(account.user.preferred_language or settings.LANGUAGE_CODE):
            return await handler(event, data)


def build_dispatcher(*, sender: TelegramSender, services: BotServices | None = None) -> Dispatcher:
    dispatcher = Dispatcher(services=services or BotServices(), sender=sender)
    dispatcher.update.outer_middleware(CloseOldConnectionsMiddleware())
    dispatcher.update.outer_middleware(OncePerUpdateMiddleware())
    dispatcher.message.outer_middleware(BuyerAccountMiddleware())
    dispatcher.callback_query.outer_middleware(BuyerAccountMiddleware())
    for router in build_routers():
        dispatcher.include_router(router)
    return dispatcher
