"""Campaign opt-in/out; each change is a ``core.Consent`` record (MARKETING_TELEGRAM)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from django.utils.translation import gettext as _

from bots.bot_services import BotServices
from bots.models import TelegramAccount
from bots.routers.common import reply_text
from bots.sender import TelegramSender


def build_router() -> Router:
    router = Router(name="campaigns")

    @router.message(Command("subscribe"))
    async def subscribe(
        message: Message, account: TelegramAccount, services: BotServices, sender: TelegramSender
    ) -> None:
        await services.set_campaign_consent(account, True)
        await reply_text(
            sender,
            message.chat.id,
            _("You're subscribed to Atelier's campaigns here. Send /unsubscribe to stop."),
        )

    @router.message(Command("unsubscribe", "stop"))
    async def unsubscribe(
        message: Message, account: TelegramAccount, services: BotServices, sender: TelegramSender
    ) -> None:
        await services.set_campaign_consent(account, False)
        await reply_text(
            sender,
            message.chat.id,
            _("You're unsubscribed: no more campaign messages. Order updates still reach you."),
        )

    return router
