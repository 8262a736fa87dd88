"""The CSAT buttons under "How did it go with this order?" (sent by bots/bridge.py when an
order is delivered): a tap records the answer, answers the button and edits that message
to show the chosen score; another tap changes it."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageText
from aiogram.types import CallbackQuery

from bots.bot_services import BotServices
from bots.bridge import csat_question
from bots.models import TelegramAccount
from bots.routers.common import answer_callback
from bots.sender import TelegramSender
from bots.services import BotServiceError
from bots.telegram.keyboards import CsatScore
from commerce.card_render import csat_strings

logger = logging.getLogger(__name__)


def build_router() -> Router:
    router = Router(name="csat")

    @router.callback_query(CsatScore.filter())
    async def rate(
        query: CallbackQuery,
        callback_data: CsatScore,
        account: TelegramAccount,
        services: BotServices,
        sender: TelegramSender,
    ) -> None:
        try:
            score = await services.rate_order(account, callback_data.reference, callback_data.score)
        except BotServiceError as error:
            # Someone else's order (a forwarded or forged button), or not deliverable yet.
            await answer_callback(sender, query, error.message[:200])
            return
        await answer_callback(sender, query, csat_strings()["rated"] % {"score": score})
        message = query.message
        if message is None:  # too old for Telegram to say which message it was
            return
        edited = csat_question(
            chat_id=message.chat.id, reference=callback_data.reference, score=score
        )
        try:
            await sender.acall(
                EditMessageText(
                    chat_id=edited.chat_id,
                    message_id=message.message_id,
                    text=edited.text,
                    reply_markup=edited.reply_markup,
                )
            )
        except TelegramAPIError as error:
            # The same score tapped again ("message is not modified"), or a message too old
            # to edit: the answer is recorded either way.
            logger.info("CSAT message not edited: %s", error)

    return router
