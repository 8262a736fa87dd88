"""Telegram-native payments: an invoice request the outbox can queue like any message.

``OutboundInvoice`` joins the outbox's request types (the outbox only reads ``chat_id``);
:func:`invoice_deliverer` extends :func:`bots.telegram.client.deliver_outbound` with
``sendInvoice``. Amounts are integer minor units, as the Bot API wants them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, LabeledPrice

from bots.telegram.client import deliver_outbound
from bots.telegram.outbox import ChatId, DeliverFn, OutboundRequest, SentMessage


@dataclass(frozen=True)
class OutboundInvoice:
    chat_id: ChatId
    title: str  # 1-32 characters
    description: str  # 1-255 characters
    payload: str  # 1-128 bytes, returned in pre_checkout_query / successful_payment
    provider_token: str
    currency: str
    amount_minor: int
    label: str
    reply_markup: InlineKeyboardMarkup | None = None


BotRequest = OutboundRequest | OutboundInvoice


async def deliver_bot_request(bot: Bot, request: BotRequest) -> SentMessage:
    if not isinstance(request, OutboundInvoice):
        return await deliver_outbound(bot, request)
    message = await bot.send_invoice(
        chat_id=request.chat_id,
        title=request.title[:32],
        description=request.description[:255],
        payload=request.payload,
        provider_token=request.provider_token,
        currency=request.currency,
        prices=[LabeledPrice(label=request.label[:32], amount=request.amount_minor)],
        reply_markup=request.reply_markup,
    )
    return SentMessage(chat_id=message.chat.id, message_id=message.message_id)


def invoice_deliverer(bot: Bot) -> DeliverFn:
    """Like ``bot_deliverer`` but also sends :class:`OutboundInvoice` requests."""

    async def deliver(request: BotRequest) -> SentMessage:  # type: ignore[arg-type]
        return await deliver_bot_request(bot, request)

    return deliver  # type: ignore[return-value]
