"""Helpers shared by the feature routers: identities, replies through the outbox."""

from __future__ import annotations

from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, User

from bots.sender import TelegramSender
from bots.services import TelegramIdentity
from bots.telegram.outbox import OutboundText


def identity_from(user: User, chat: Chat | None) -> TelegramIdentity:
    return TelegramIdentity(
        telegram_user_id=user.id,
        chat_id=chat.id if chat is not None else user.id,
        username=user.username or "",
        first_name=user.first_name or "",
        language_code=user.language_code or "",
    )


async def reply_text(
    sender: TelegramSender,
    chat_id: int,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """A direct answer (not stored in a conversation), queued in the rate-limited outbox."""
    await sender.asend([OutboundText(chat_id=chat_id, text=text, reply_markup=reply_markup)])


async def answer_callback(
    sender: TelegramSender, query: CallbackQuery, text: str | None = None
) -> None:
    """Every button press must be answered, or the client shows a spinner for a while."""
    await sender.acall(AnswerCallbackQuery(callback_query_id=query.id, text=text))
