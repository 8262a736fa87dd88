"""Buying: the "Buy" button, checkout links, Telegram-native invoices and their payment.

``pre_checkout_query`` must be answered within 10 seconds or Telegram cancels the
payment: the handler does one database round trip (validate order, stage, currency,
amount) and answers directly, outside the message queue.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.methods import AnswerPreCheckoutQuery
from aiogram.types import CallbackQuery, Message, PreCheckoutQuery
from django.utils.translation import gettext as _

from bots.bot_services import BotServices
from bots.models import TelegramAccount
from bots.routers.common import answer_callback, reply_text
from bots.sender import TelegramSender
from bots.services import BotServiceError, payment_provider_token
from bots.telegram.invoices import OutboundInvoice
from bots.telegram.keyboards import (
    PayInTelegram,
    ProductAction,
    ProductActionKind,
    checkout_link_keyboard,
)

logger = logging.getLogger(__name__)


def build_router() -> Router:
    router = Router(name="checkout")

    @router.callback_query(ProductAction.filter(F.action == ProductActionKind.BUY))
    async def buy(
        query: CallbackQuery,
        callback_data: ProductAction,
        account: TelegramAccount,
        services: BotServices,
        sender: TelegramSender,
    ) -> None:
        outcome = await services.buy_product(account, callback_data.product_id)
        if outcome.order is not None:
            # The checkout card is posted into the order's conversation and bridged here.
            await answer_callback(
                sender,
                query,
                _("Order %(reference)s created.") % {"reference": outcome.order.reference},
            )
            return
        await answer_callback(sender, query)
        keyboard = (
            checkout_link_keyboard(checkout_url=outcome.product_url, label=_("Choose options"))
            if outcome.product_url
            else None
        )
        await reply_text(
            sender,
            query.from_user.id if query.message is None else query.message.chat.id,
            outcome.message,
            keyboard,
        )

    @router.callback_query(PayInTelegram.filter())
    async def pay_in_telegram(
        query: CallbackQuery,
        callback_data: PayInTelegram,
        account: TelegramAccount,
        services: BotServices,
        sender: TelegramSender,
    ) -> None:
        try:
            invoice = await services.invoice_for_order(account, callback_data.reference)
        except BotServiceError as error:
            await answer_callback(sender, query, error.message[:200])
            return
        await answer_callback(sender, query)
        await sender.asend(
            [
                OutboundInvoice(
                    chat_id=account.chat_id,
                    title=invoice.title,
                    description=invoice.description,
                    payload=invoice.payload,
                    provider_token=payment_provider_token(),
                    currency=invoice.currency,
                    amount_minor=invoice.amount_minor,
                    label=invoice.label,
                )
            ]
        )

    @router.pre_checkout_query()
    async def pre_checkout(
        query: PreCheckoutQuery, services: BotServices, sender: TelegramSender
    ) -> None:
        try:
            error = await services.check_pre_checkout(
                telegram_user_id=query.from_user.id,
                invoice_payload=query.invoice_payload,
                currency=query.currency,
                total_amount=query.total_amount,
            )
        except Exception:
            # Answer no rather than let Telegram time out with the buyer waiting.
            logger.exception("pre_checkout_query %s could not be validated", query.id)
            error = _("Payment is not possible right now. Please try again later.")
        if error is None:
            await sender.acall(AnswerPreCheckoutQuery(pre_checkout_query_id=query.id, ok=True))
        else:
            await sender.acall(
                AnswerPreCheckoutQuery(
                    pre_checkout_query_id=query.id, ok=False, error_message=error
                )
            )

    @router.message(F.successful_payment)
    async def paid(message: Message, services: BotServices, sender: TelegramSender) -> None:
        payment = message.successful_payment
        outcome = await services.record_payment(
            telegram_user_id=message.from_user.id,
            invoice_payload=payment.invoice_payload,
            currency=payment.currency,
            total_amount=payment.total_amount,
            telegram_payment_charge_id=payment.telegram_payment_charge_id,
            provider_payment_charge_id=payment.provider_payment_charge_id,
        )
        if outcome in ("paid", "duplicate", "already_succeeded"):
            text = _("Payment received, thank you! You'll get updates about your order here.")
        else:
            text = _("We received your payment and are checking it; we'll get back to you shortly.")
        await reply_text(sender, message.chat.id, text)

    return router
