"""``/start`` (with deep links), ``/help``, ``/bot``, and account linking (``/link CODE``)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message
from django.utils.translation import gettext as _

from bots.bot_services import BotServices
from bots.models import TelegramAccount
from bots.routers.common import identity_from, reply_text
from bots.sender import TelegramSender
from bots.services import BotServiceError


def build_router() -> Router:
    router = Router(name="start")

    @router.message(CommandStart())
    async def start(
        message: Message, command: CommandObject, account: TelegramAccount, services: BotServices
    ) -> None:
        # Replies are bot messages in the shop-bot conversation; the bridge delivers them.
        await services.start_chat(account, command.args or "")

    @router.message(Command("help"))
    async def show_help(message: Message, account: TelegramAccount, services: BotServices) -> None:
        await services.run_command(account, "utter_help")

    @router.message(Command("bot"))
    async def back_to_bot(
        message: Message, account: TelegramAccount, services: BotServices, sender: TelegramSender
    ) -> None:
        await services.switch_to_shop_bot(account)
        await reply_text(
            sender,
            message.chat.id,
            _("You're talking to the shop assistant again. What are you looking for?"),
        )

    @router.message(Command("link"))
    async def link(
        message: Message, command: CommandObject, services: BotServices, sender: TelegramSender
    ) -> None:
        if not command.args:
            await reply_text(
                sender,
                message.chat.id,
                _(
                    "To link your Atelier account, create a code on your profile page and "
                    "send it here: /link YOURCODE"
                ),
            )
            return
        try:
            linked = await services.link_account(
                command.args.strip(), identity_from(message.from_user, message.chat)
            )
        except BotServiceError as error:
            await reply_text(sender, message.chat.id, error.message)
            return
        await reply_text(
            sender,
            message.chat.id,
            _("Done! This Telegram chat is now linked to your Atelier account (%(email)s).")
            % {"email": linked.user.email},
        )

    return router
