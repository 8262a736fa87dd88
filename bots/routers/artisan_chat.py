"""Talking: free text into the active conversation (shop bot or artisan), custom
requests, "Ask the artisan", and the bot's own inline buttons (``BotButton``: ``b:<payload>``)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from django.utils.translation import gettext as _

from bots.bot_services import BotServices
from bots.models import TelegramAccount
from bots.routers.common import answer_callback, reply_text
from bots.sender import TelegramSender
from bots.services import BotServiceError
from bots.telegram.keyboards import (
    BotButton,
    ProductAction,
    ProductActionKind,
    SwitchConversation,
)
from conversations.services import HubError


def _button_title(query: CallbackQuery) -> str | None:
    markup = getattr(query.message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or []:
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return None


def build_router() -> Router:
    router = Router(name="artisan_chat")

    @router.message(F.text & ~F.text.startswith("/"))
    async def text_message(
        message: Message, account: TelegramAccount, services: BotServices, sender: TelegramSender
    ) -> None:
        try:
            await services.incoming_text(
                account, message.text, client_id=f"tg-{message.chat.id}-{message.message_id}"
            )
        except HubError as error:
            await reply_text(sender, message.chat.id, error.message)

    @router.callback_query(ProductAction.filter(F.action == ProductActionKind.ASK_ARTISAN))
    async def ask_artisan(
        query: CallbackQuery,
        callback_data: ProductAction,
        account: TelegramAccount,
        services: BotServices,
        sender: TelegramSender,
    ) -> None:
        await answer_callback(sender, query)
        try:
            await services.ask_artisan(
                account, callback_data.product_id, client_id=f"tg-cb-{query.id}"
            )
        except (BotServiceError, HubError) as error:
            await reply_text(sender, account.chat_id, error.message)

    @router.callback_query(BotButton.filter())
    async def bot_button(
        query: CallbackQuery,
        callback_data: BotButton,
        account: TelegramAccount,
        services: BotServices,
        sender: TelegramSender,
    ) -> None:
        payload = callback_data.payload
        await answer_callback(sender, query)
        # The press becomes the buyer's message: its title as text, its payload as intent.
        try:
            await services.incoming_text(
                account,
                _button_title(query) or payload,
                client_id=f"tg-cb-{query.id}",
                intent=payload,
            )
        except HubError as error:
            await reply_text(sender, account.chat_id, error.message)

    @router.callback_query(SwitchConversation.filter())
    async def reply_in_conversation(
        query: CallbackQuery,
        callback_data: SwitchConversation,
        account: TelegramAccount,
        services: BotServices,
        sender: TelegramSender,
    ) -> None:
        try:
            conversation = await services.switch_conversation(
                account, callback_data.conversation_id
            )
        except BotServiceError as error:
            await answer_callback(sender, query, error.message[:200])
            return
        await answer_callback(sender, query)
        await reply_text(
            sender,
            account.chat_id,
            _("Your messages now go to “%(subject)s”. Send /bot to talk to the shop assistant.")
            % {"subject": conversation.subject or conversation.artisan.name},
        )

    return router
