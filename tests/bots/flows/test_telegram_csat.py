"""CSAT on Telegram, through the real aiogram client and outbox against the Bot API stand-in:
when an order is delivered the buyer gets the question as its own message with five
buttons in their language (one ``TelegramDelivery``, sent once); a tap records the rating
(channel telegram), answers the button and edits that message; another tap changes it;
a tap from another Telegram account is refused politely and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.utils import translation

from bots.models import DeliveryState, TelegramAccount, TelegramDelivery
from commerce.models import CsatRating, Order, OrderStatus
from commerce.services.csat import csat_card_message
from commerce.services.orders import transition_order
from conversations.services import start_conversation
from tests.bots.support import feed, keyboard, make_shop, texts
from tests.conftest import make_user
from tests.standins.telegram_server import TelegramBotApiStandIn, callback_query_update

pytestmark = pytest.mark.django_db(transaction=True)

BUYER_CHAT = 7301
OTHER_CHAT = 7399


def tr(language: str, msgid: str, **params) -> str:
    """``msgid`` as a reader of ``language`` sees it (whatever the catalogs hold today)."""
    with translation.override(language):
        text = translation.gettext(msgid)
    return text % params if params else text


def _deliver(artisan, *, language: str) -> Order:
    """A buyer with a linked Telegram account whose shipped order is now delivered."""
    shop = make_shop(artisan)
    buyer = make_user(f"csat-{language}@example.com", preferred_language=language)
    TelegramAccount.objects.create(
        user=buyer, telegram_user_id=BUYER_CHAT, chat_id=BUYER_CHAT, is_guest=False
    )
    conversation = start_conversation(buyer=buyer, artisan=artisan, subject="A bowl")
    order = Order.objects.create(
        reference="AT-CSAT01",
        buyer=buyer,
        artisan=artisan,
        shop=shop,
        conversation=conversation,
        title="Bowl",
        total=Decimal("30.00"),
        amount_paid=Decimal("30.00"),
        currency="EUR",
        status=OrderStatus.SHIPPED,
    )
    return transition_order(order=order, to=OrderStatus.DELIVERED, actor=None)


def _question(standin: TelegramBotApiStandIn) -> dict:
    [message] = [
        m
        for m in standin.sent_messages(BUYER_CHAT)
        if any(b.get("callback_data", "").startswith("csat:") for row in keyboard(m) for b in row)
    ]
    return message


def _buttons(message: dict) -> list[dict]:
    return [button for row in keyboard(message) for button in row]


@pytest.mark.parametrize(
    ("language", "order_word"), [("fr", "Commande AT-CSAT01"), ("en", "Order AT-CSAT01")]
)
async def test_the_question_comes_once_in_the_buyers_language_and_a_tap_rates_and_edits_it(
    telegram_sender,
    telegram_standin: TelegramBotApiStandIn,
    dispatcher,
    telegram_bot,
    artisan,
    language,
    order_word,
):
    order = await sync_to_async(_deliver)(artisan, language=language)

    # Then the buyer got the question as its own message, once, through the delivery path
    question = _question(telegram_standin)
    assert order_word in question["text"]
    assert tr(language, "How did it go with this order?") in question["text"]
    buttons = _buttons(question)
    assert [b["text"] for b in buttons] == [
        tr(language, "%(score)s out of 5", score=n) for n in range(1, 6)
    ]
    assert [b["callback_data"] for b in buttons] == [f"csat:AT-CSAT01:{n}" for n in range(1, 6)]
    card = await sync_to_async(csat_card_message)(order)
    delivery = await sync_to_async(TelegramDelivery.objects.get)(message=card)
    assert delivery.status == DeliveryState.SENT
    assert delivery.telegram_message_ids == [question["message_id"]]

    # When the buyer taps "4"
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(
            chat_id=BUYER_CHAT,
            data=buttons[3]["callback_data"],
            message_id=question["message_id"],
            message_text=question["text"],
        ),
    )

    # Then the rating is recorded from Telegram, the tap answered, the message edited
    rating = await sync_to_async(CsatRating.objects.get)(order=order)
    assert (rating.score, rating.channel) == (4, "telegram")
    [answer] = telegram_standin.calls_to("answerCallbackQuery")
    assert answer.params["text"] == tr(language, "You rated this %(score)s out of 5", score=4)
    edited = _question(telegram_standin)
    assert edited["message_id"] == question["message_id"] and "edit_date" in edited
    assert tr(language, "You rated this %(score)s out of 5", score=4) in edited["text"]
    assert [b["text"] for b in _buttons(edited)][3] == "✓ " + tr(
        language, "%(score)s out of 5", score=4
    )
    # The web card shows the same answer (one source of facts)
    card = await sync_to_async(csat_card_message)(order)
    assert card.payload["score"] == 4

    # When she changes her mind and taps "5"
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(
            chat_id=BUYER_CHAT, data=buttons[4]["callback_data"], message_id=question["message_id"]
        ),
    )
    rating = await sync_to_async(CsatRating.objects.get)(order=order)
    assert rating.score == 5
    assert (
        tr(language, "You rated this %(score)s out of 5", score=5)
        in (_question(telegram_standin)["text"])
    )
    # Still one question message in the chat, never re-sent
    assert (
        len([t for t in texts(telegram_standin, BUYER_CHAT) if order_word in t and "⭐" in t]) == 1
    )


async def test_a_tap_from_another_telegram_account_is_refused_politely(
    telegram_sender, telegram_standin: TelegramBotApiStandIn, dispatcher, telegram_bot, artisan
):
    order = await sync_to_async(_deliver)(artisan, language="fr")
    question = _question(telegram_standin)
    stranger = await sync_to_async(make_user)("someone@example.com", preferred_language="fr")
    await sync_to_async(TelegramAccount.objects.create)(
        user=stranger, telegram_user_id=OTHER_CHAT, chat_id=OTHER_CHAT, is_guest=False
    )

    # When somebody else's account presses the buyer's button (a forged or forwarded one)
    await feed(
        dispatcher,
        telegram_bot,
        callback_query_update(chat_id=OTHER_CHAT, data=_buttons(question)[0]["callback_data"]),
    )

    # Then nothing is recorded, the press is answered with the refusal in their language,
    # and the buyer's message is untouched
    assert not await sync_to_async(CsatRating.objects.filter(order=order).exists)()
    [answer] = telegram_standin.calls_to("answerCallbackQuery")
    assert answer.params["text"] == tr(
        "fr", "Sorry, only the person who placed this order can rate it."
    )
    assert "edit_date" not in _question(telegram_standin)
    assert not telegram_standin.calls_to("editMessageText")


def test_an_answer_given_on_the_web_is_edited_into_the_telegram_question(
    telegram_sender, telegram_standin: TelegramBotApiStandIn, artisan
):
    from commerce.services.csat import rate_order

    order = _deliver(artisan, language="fr")
    question = _question(telegram_standin)
    sent_before = len(telegram_standin.sent_messages(BUYER_CHAT))

    # When the buyer answers on the web instead (the same card, another channel)
    rate_order(buyer=order.buyer, order=order, score=3, channel="web")

    # Then the Telegram question she already has shows that answer, in French
    edited = _question(telegram_standin)
    assert edited["message_id"] == question["message_id"] and "edit_date" in edited
    assert tr("fr", "You rated this %(score)s out of 5", score=3) in edited["text"]
    assert [b["text"] for b in _buttons(edited)][2] == "✓ " + tr(
        "fr", "%(score)s out of 5", score=3
    )
    assert len(telegram_standin.sent_messages(BUYER_CHAT)) == sent_before  # no new message
    assert len(telegram_standin.calls_to("editMessageText")) == 1

    # And the same answer again edits nothing more (no change, no call)
    rate_order(buyer=order.buyer, order=order, score=3, channel="web")
    assert len(telegram_standin.calls_to("editMessageText")) == 1


def test_a_refund_takes_the_buttons_off_the_telegram_question(
    telegram_sender, telegram_standin: TelegramBotApiStandIn, artisan
):
    from commerce.card_render import csat_strings

    order = _deliver(artisan, language="es")
    question = _question(telegram_standin)
    assert len(_buttons(question)) == 5

    transition_order(order=order, to=OrderStatus.REFUNDED, actor=artisan)

    [edited] = [
        m
        for m in telegram_standin.sent_messages(BUYER_CHAT)
        if m["message_id"] == question["message_id"]
    ]
    assert "edit_date" in edited and keyboard(edited) == []
    with translation.override("es"):
        closed = csat_strings()["closed"]
    assert closed in edited["text"]
    # Edited in place: the refund's own note may follow, but no second question
    questions = [
        m for m in telegram_standin.sent_messages(BUYER_CHAT) if "⭐" in (m.get("text") or "")
    ]
    assert len(questions) == 1
