"""Campaign opt-in/out; each change is a ``core.Consent`` record (MARKETING_TELEGRAM)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from django.utils.translation import gettext as _

from bots.bot_services import BotServices
from bots.models import TelegramAccount
from bots.routers.common import answer_callback, reply_text
from bots.sender import TelegramSender
from bots.services import BotServiceError
from bots.telegram.keyboards import CampaignOptOut, CampaignReply


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

    @router.callback_query(CampaignOptOut.filter())
    async def opt_out(
        query: CallbackQuery,
        callback_data: CampaignOptOut,
        account: TelegramAccount,
        services: BotServices,
        sender: TelegramSender,
    ) -> None:
        # One tap: the consent is withdrawn before the answer, whatever campaign it came from.
        await services.opt_out_of_campaign(account, callback_data.recipient_id)
        await answer_callback(sender, query, _("Unsubscribed: no more shop news here."))
        await reply_text(
            sender,
            query.from_user.id,
            _("You're unsubscribed: no more campaign messages. Order updates still reach you."),
        )

    @router.callback_query(CampaignReply.filter())
    async def reply_to_news(
        query: CallbackQuery,
        callback_data: CampaignReply,
        account: TelegramAccount,
        services: BotServices,
        sender: TelegramSender,
    ) -> None:
        try:
            conversation = await services.reply_to_campaign(account, callback_data.recipient_id)
        except BotServiceError as error:
            await answer_callback(sender, query, error.message[:200])
            return
        await answer_callback(sender, query)
        await reply_text(
            sender,
            account.chat_id,
            _("Write your message: it goes to %(shop)s. Send /bot to talk to the shop assistant.")
            % {"shop": conversation.artisan.name},
        )

    return router
