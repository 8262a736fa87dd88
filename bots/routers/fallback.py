"""Everything no feature router took: unknown commands, stickers, media, stale buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from django.utils.translation import gettext as _

from bots.routers.common import answer_callback, reply_text
from bots.sender import TelegramSender


def build_router() -> Router:
    router = Router(name="fallback")

    @router.message(F.text.startswith("/"))
    async def unknown_command(message: Message, sender: TelegramSender) -> None:
        command = message.text.split(maxsplit=1)[0][:40]
        await reply_text(
            sender,
            message.chat.id,
            _("I don't know the command %(command)s. Send /help to see what I can do.")
            % {"command": command},
        )

    @router.message(F.sticker)
    async def sticker(message: Message, sender: TelegramSender) -> None:
        await reply_text(
            sender,
            message.chat.id,
            _("Nice sticker! I can only read text, though. Tell me what you are looking for."),
        )

    @router.message(F.photo)
    async def photo(message: Message, sender: TelegramSender) -> None:
        await reply_text(
            sender,
            message.chat.id,
            _(
                "I can't pass photos on from Telegram yet. Describe it in words, or send the "
                "photo from the chat on the Atelier website."
            ),
        )

    @router.message()
    async def unsupported(message: Message, sender: TelegramSender) -> None:
        await reply_text(
            sender,
            message.chat.id,
            _("I can only read text messages. Send /help to see what I can do."),
        )

    @router.callback_query()
    async def stale_button(query: CallbackQuery, sender: TelegramSender) -> None:
        await answer_callback(sender, query, _("This button is no longer valid."))

    return router
