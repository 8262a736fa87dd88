"""The bridge: a Telegram buyer and an artisan in the web inbox share one conversation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from aiogram import Bot
from django.utils import translation

from bots.models import TelegramAccount, TelegramDelivery
from commerce.models import Order, OrderStatus
from commerce.serializers import offer_url, pay_url
from commerce.services.offers import OfferLineInput, accept_offer, send_offer
from conversations.models import Channel, Conversation, Message, MessageKind
from conversations.services import post_message
from core.l10n import format_date
from tests.bots.support import (
    ask_artisan,
    db_call,
    feed,
    keyboard,
    make_product,
    make_shop,
    successful_payment_update,
    texts,
)
from tests.conftest import message_with_text
from tests.standins.telegram_server import (
    TelegramBotApiStandIn,
    callback_query_update,
    message_update,
    pre_checkout_query_update,
)

pytestmark = pytest.mark.django_db(transaction=True)
BUYER = 6160


@pytest.fixture
def product(artisan):
    make_shop(artisan)
    return make_product(artisan)


async def _ask_artisan(dispatcher, bot: Bot, product) -> Conversation:
    return await ask_artisan(dispatcher, bot, product, chat_id=BUYER)


async def test_ask_the_artisan_hands_the_conversation_over_and_messages_reach_the_inbox(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, artisan, product
) -> None:
    # When the buyer presses "Ask the artisan" under the scarf
    conversation = await _ask_artisan(dispatcher, telegram_bot, product)

    # Then the conversation now belongs to the artisan and the bot stepped back
    assert conversation.artisan_id == artisan.pk
    assert conversation.bot_active is False
    assert texts(telegram_standin, BUYER) == [
        "I've passed your message to Ana Artisan of Ana's Looms. They will answer you here. "
        "Send /bot to go back to the shop assistant."
    ]

    # When the buyer writes a question in Telegram
    await feed(
        dispatcher,
        telegram_bot,
        message_update(chat_id=BUYER, text="Could you make it 2 metres long?", message_id=41),
    )

    # Then it is a Telegram message in the conversation the artisan sees, and the bot is silent
    said = await db_call(
        lambda: list(
            Message.objects.filter(conversation=conversation, kind=MessageKind.TEXT).order_by("seq")
        )
    )()
    assert [(m.text, m.channel) for m in said] == [
        ("I'd like to ask about “Red wool scarf”.", Channel.TELEGRAM),
        ("Could you make it 2 metres long?", Channel.TELEGRAM),
    ]
    assert await db_call(conversation.participants.filter(user=artisan).exists)()
    assert len(telegram_standin.sent_messages(BUYER)) == 1  # no bot reply after handover

    # When the artisan answers from the web inbox
    await db_call(post_message)(conversation=conversation, author=artisan, text="Yes, 2 m is fine!")

    # Then the buyer reads it in Telegram, with the artisan's name
    assert texts(telegram_standin, BUYER)[-1] == "Ana Artisan: Yes, 2 m is fine!"


async def test_offer_card_reaches_telegram_with_a_pay_button(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, artisan, product
) -> None:
    conversation = await _ask_artisan(dispatcher, telegram_bot, product)

    offer = await db_call(send_offer)(
        artisan=artisan,
        conversation=conversation,
        lines=[OfferLineInput(description="Scarf, 2 m", unit_price=Decimal("60.00"))],
        currency="EUR",
        lead_time_days=10,
    )

    # Then the buyer reads the card in their language (English here), money with its currency
    card = telegram_standin.sent_messages(BUYER)[-1]
    valid_until = format_date(offer.expires_at, language="en")
    assert card["text"] == (
        "📝 Offer v1 — Awaiting answer\n"
        "• Scarf, 2 m: €60.00\n"
        "Total: €60.00\n"
        "Ready in 10 days\n"
        f"Valid until {valid_until}"
    )
    assert keyboard(card) == [
        [{"text": "Review the offer", "url": await db_call(offer_url)(offer)}]
    ]


async def test_french_recipient_reads_the_offer_card_and_milestones_in_french(
    dispatcher, telegram_bot: Bot, telegram_standin: TelegramBotApiStandIn, artisan, product
) -> None:
    # Given a buyer whose Telegram account speaks French
    conversation = await _ask_artisan(dispatcher, telegram_bot, product)
    account = await db_call(TelegramAccount.objects.select_related("user").get)(
        telegram_user_id=BUYER
    )
    account.user.preferred_language = "fr"
    await db_call(account.user.save)(update_fields=["preferred_language"])

    # When the artisan (whose own language does not matter) sends an offer with a deposit
    with translation.override("es"):
        offer = await db_call(send_offer)(
            artisan=artisan,
            conversation=conversation,
            lines=[OfferLineInput(description="Écharpe, 2 m", unit_price=Decimal("54.00"))],
            currency="EUR",
            lead_time_days=10,
            deposit_percent=50,
        )

    # Then the card is entirely French, amounts formatted the French way
    card = telegram_standin.sent_messages(BUYER)[-1]
    valid_until = format_date(offer.expires_at, language="fr")
    assert card["text"] == (
        "📝 Offre v1 — En attente de réponse\n"
        "• Écharpe, 2 m\xa0: 54,00\xa0€\n"
        "Total\xa0: 54,00\xa0€\n"
        "Acompte\xa0: 27,00\xa0€ (50\xa0%)\n"
        "Prêt dans 10\xa0jours\n"
        f"Valable jusqu’au {valid_until}"
    )
    assert keyboard(card)[0][0]["text"] == "Voir l’offre"
    for spanish in ("Oferta", "Esperando", "Total:", "días"):
        assert spanish not in card["text"]

    # When the buyer accepts, the acceptance is a short French line and the order card follows
    order = await db_call(accept_offer)(buyer=account.user, offer=offer)
    accepted, order_card = texts(telegram_standin, BUYER)[-2:]
    assert accepted == f"Offre v1 acceptée — commande {order.reference}"
    assert order_card.startswith(f"📦 Commande {order.reference} — En attente de paiement")
    assert "Total\xa0: 54,00\xa0€" in order_card
    assert keyboard(telegram_standin.sent_messages(BUYER)[-1])[0][0]["text"] == (
        "Payer l’acompte de 27,00\xa0€"
    )


async def test_buy_button_orders_sends_checkout_link_then_order_status_push(
    dispatcher,
    telegram_bot: Bot,
    telegram_standin: TelegramBotApiStandIn,
    telegram_settings,
    product,
) -> None:
    telegram_settings.TELEGRAM_PAYMENT_PROVIDER_TOKEN = "284685063:TEST:provider"

    # When the buyer presses "Buy" under the scarf
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(chat_id=BUYER, data=f"p:b:{product.pk}", query_id="q-buy"),
    )

    # Then an order exists and the checkout card arrives with the link and Telegram payment
    order = await db_call(Order.objects.get)()
    [ack] = telegram_standin.calls_to("answerCallbackQuery")
    assert ack.params == {"callback_query_id": "q-buy", "text": f"Order {order.reference} created."}
    checkout = telegram_standin.sent_messages(BUYER)[-1]
    assert checkout["text"].startswith(
        f"📦 Order {order.reference} — Waiting for payment\nTotal: €35.00"
    )
    assert keyboard(checkout) == [
        [{"text": "Pay €35.00", "url": await db_call(pay_url)(order)}],
        [{"text": "Pay in Telegram", "callback_data": f"pay:{order.reference}"}],
    ]

    # When they choose to pay in Telegram
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(chat_id=BUYER, data=f"pay:{order.reference}"),
    )

    # Then an invoice for exactly the amount due is sent
    [invoice_call] = telegram_standin.calls_to("sendInvoice")
    assert invoice_call.params["payload"] == f"order:{order.reference}:full"
    assert invoice_call.params["prices"] == [{"label": "Full", "amount": 3500}]
    assert invoice_call.params["currency"] == "EUR"
    assert invoice_call.params["provider_token"] == "284685063:TEST:provider"

    # When Telegram asks whether to charge (pre-checkout) — the right amount → ok
    await feed(
        dispatcher,
        telegram_bot,
        pre_checkout_query_update(
            user_id=BUYER,
            invoice_payload=f"order:{order.reference}:full",
            total_amount=3500,
            query_id="pcq-1",
        ),
    )
    [answer] = telegram_standin.calls_to("answerPreCheckoutQuery")
    assert answer.params == {"pre_checkout_query_id": "pcq-1", "ok": True}

    # When the payment succeeds
    await feed(
        dispatcher,
        telegram_bot,
        successful_payment_update(
            user_id=BUYER, invoice_payload=f"order:{order.reference}:full", total_amount=3500
        ),
    )

    # Then the order is paid, and the order-status push reached the chat before the thanks
    await db_call(order.refresh_from_db)()
    assert order.status == OrderStatus.PAID
    assert texts(telegram_standin, BUYER)[-2:] == [
        f"Order {order.reference}: Paid",
        "Payment received, thank you! You'll get updates about your order here.",
    ]
    push = telegram_standin.sent_messages(BUYER)[-2]
    assert keyboard(push)[0][0]["text"] == "Order details"


@pytest.mark.parametrize(
    ("payload_suffix", "amount", "error"),
    [
        ("full", 3400, "The amount changed since this invoice was sent; ask for a new one."),
        ("deposit", 3500, "This invoice is out of date; ask for a new one."),
    ],
)
async def test_pre_checkout_with_a_wrong_amount_or_stage_is_refused(
    payload_suffix, amount, error, dispatcher, telegram_bot: Bot, telegram_standin, product
) -> None:
    await feed(
        dispatcher, telegram_bot, callback_query_update(chat_id=BUYER, data=f"p:b:{product.pk}")
    )
    order = await db_call(Order.objects.get)()

    await feed(
        dispatcher,
        telegram_bot,
        pre_checkout_query_update(
            user_id=BUYER,
            invoice_payload=f"order:{order.reference}:{payload_suffix}",
            total_amount=amount,
            query_id="pcq-2",
        ),
    )

    [answer] = telegram_standin.calls_to("answerPreCheckoutQuery")
    assert answer.params == {"pre_checkout_query_id": "pcq-2", "ok": False, "error_message": error}


async def test_pre_checkout_for_someone_elses_order_is_refused(
    dispatcher, telegram_bot: Bot, telegram_standin, product
) -> None:
    # Given buyer A ordered
    await feed(
        dispatcher, telegram_bot, callback_query_update(chat_id=BUYER, data=f"p:b:{product.pk}")
    )
    order = await db_call(Order.objects.get)()

    # When buyer B's client presents an invoice payload for A's order
    await feed(dispatcher, telegram_bot, message_update(chat_id=7777, text="/start"))
    await feed(
        dispatcher,
        telegram_bot,
        pre_checkout_query_update(
            user_id=7777,
            invoice_payload=f"order:{order.reference}:full",
            total_amount=3500,
            query_id="pcq-3",
        ),
    )

    [answer] = telegram_standin.calls_to("answerPreCheckoutQuery")
    assert answer.params == {
        "pre_checkout_query_id": "pcq-3",
        "ok": False,
        "error_message": "This invoice is not valid any more.",
    }


async def test_order_lookup_shows_only_the_buyers_own_orders(
    dispatcher, telegram_bot: Bot, telegram_standin, product
) -> None:
    # Given buyer A has an order
    await feed(
        dispatcher, telegram_bot, callback_query_update(chat_id=BUYER, data=f"p:b:{product.pk}")
    )
    order = await db_call(Order.objects.get)()

    # When buyer B asks for it by reference (command and deep link)
    await feed(
        dispatcher, telegram_bot, message_update(chat_id=7778, text=f"/orders {order.reference}")
    )
    await feed(
        dispatcher,
        telegram_bot,
        message_update(chat_id=7778, text=f"/start order_{order.reference}"),
    )

    # Then B learns nothing about it
    expected = f"I can't find an order {order.reference} on your account. Check the reference?"
    assert texts(telegram_standin, 7778) == [expected, expected]

    # While A, asking the shop bot in their own words, sees its status
    await feed(
        dispatcher,
        telegram_bot,
        message_update(chat_id=BUYER, text=f"where is my order {order.reference.lower()}?"),
    )
    assert texts(telegram_standin, BUYER)[-1] == (
        f"Order {order.reference} (Red wool scarf): Waiting for payment. Still to pay: €35.00."
    )


async def test_messages_a_guest_sends_are_not_echoed_back(
    dispatcher, telegram_bot: Bot, telegram_standin, artisan, product
) -> None:
    conversation = await _ask_artisan(dispatcher, telegram_bot, product)
    before = len(telegram_standin.sent_messages(BUYER))

    await feed(
        dispatcher, telegram_bot, message_update(chat_id=BUYER, text="Thanks!", message_id=55)
    )

    assert len(telegram_standin.sent_messages(BUYER)) == before
    buyer_message = await db_call(message_with_text)("Thanks!", conversation=conversation)
    assert not await db_call(TelegramDelivery.objects.filter(message=buyer_message).exists)()


async def test_blocked_bot_marks_the_account_unreachable(
    dispatcher, telegram_bot: Bot, telegram_standin, artisan, product
) -> None:
    conversation = await _ask_artisan(dispatcher, telegram_bot, product)
    telegram_standin.block_chat(BUYER)

    await db_call(post_message)(conversation=conversation, author=artisan, text="Hello?")

    account = await db_call(TelegramAccount.objects.get)(telegram_user_id=BUYER)
    assert account.unreachable_since is not None
    delivery = await db_call(TelegramDelivery.objects.get)(
        message=await db_call(message_with_text)("Hello?")
    )
    assert delivery.status == "blocked"
