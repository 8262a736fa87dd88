"""CSAT: the buyer's 1–5 answer to "How did it go with this order?", asked in the chat.

When an order becomes delivered, ``transition_order`` calls :func:`ask_for_rating`, which
posts one CSAT card into the order's conversation (``MessageKind.ORDER_UPDATE`` with the
facts ``{"card": "csat", "order": <reference>, "score": null}``; no prose — every reader's
client renders it in their own language, and the Telegram bridge sends it to a buyer on
Telegram as its own message with five buttons). :func:`rate_order` records the answer
(``CsatRating``, one per order) and brings that card up to date (``message.updated``), so
other tabs and the artisan's inbox redraw it. Reviews (stars and text on the order page) are
``commerce.services.reviews``; CSAT is the lighter in-chat question.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce.card_render import csat_closed, csat_strings
from commerce.errors import InvalidInput, NotAllowed
from commerce.models import CsatRating, Order, OrderStatus
from commerce.services.cards import order_card_message, post_card
from conversations.models import Message, MessageKind
from conversations.services import update_card
from core.models import User

CSAT_CARD = "csat"
SCORES = range(1, 6)
CHANNELS = ("web", "telegram")
RATEABLE = (OrderStatus.DELIVERED,)


def csat_card_payload(
    *, reference: str, score: int | None, closed: bool = False
) -> dict[str, object]:
    """The card's facts: which order, the buyer's answer (``None`` until they tap) and, once
    the order is refunded, ``closed`` (no more answers: clients draw no buttons)."""
    payload: dict[str, object] = {"card": CSAT_CARD, "order": reference, "score": score}
    if closed:
        payload["closed"] = True
    return payload


def csat_card_message(order: Order) -> Message | None:
    """The order's CSAT card in its conversation, if it was asked."""
    return order_card_message(order, card=CSAT_CARD)


def ask_for_rating(*, order: Order) -> Message | None:
    """Post the CSAT card once (a second call finds it); None without a conversation."""
    if order.conversation_id is None:
        return None
    existing = csat_card_message(order)
    if existing is not None:
        return existing
    rating = CsatRating.objects.filter(order=order).values_list("score", flat=True).first()
    return post_card(
        conversation=order.conversation,
        kind=MessageKind.ORDER_UPDATE,
        payload=csat_card_payload(reference=order.reference, score=rating),
    )


def _score(value: object) -> int:
    # A bool is an int in Python; True is not a score.
    if isinstance(value, bool) or not isinstance(value, int) or value not in SCORES:
        raise InvalidInput(_("Choose a score from 1 to 5."), field="score")
    return value


@transaction.atomic
def rate_order(*, buyer: User, order: Order, score: object, channel: str) -> CsatRating:
    """Record the buyer's answer. The same score again changes nothing (no write, no
    event); another score replaces the answer (``updated_at``, ``channel``)."""
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if order.buyer_id != buyer.pk:
        raise NotAllowed(_("Sorry, only the person who placed this order can rate it."))
    if order.status == OrderStatus.REFUNDED:
        raise InvalidInput(csat_strings()["closed"])  # the sentence the closed card shows
    if order.status not in RATEABLE:
        raise InvalidInput(_("You can rate an order once it has been delivered."))
    value = _score(score)
    if channel not in CHANNELS:
        raise InvalidInput(_("Unknown channel “%(channel)s”.") % {"channel": channel})
    rating = CsatRating.objects.filter(order=order).first()
    if rating is not None and rating.score == value:
        return rating  # idempotent: a double tap or a retry
    if rating is None:
        # The order row is locked, so no other tap can insert between the read and this.
        rating = CsatRating.objects.create(
            order=order, shop_id=order.shop_id, buyer=buyer, score=value, channel=channel
        )
    else:
        rating.score, rating.channel = value, channel
        rating.save(update_fields=["score", "channel", "updated_at"])
    message = csat_card_message(order)
    if message is not None:
        update_card(
            message=message,
            payload={
                **csat_card_payload(reference=order.reference, score=value),
                "updated_at": timezone.now().isoformat(),
            },
        )
    return rating


def close_rating(*, order: Order) -> None:
    """The order left the delivered state (a refund): its CSAT card shows no buttons any
    more, for every reader and tab (``message.updated``); a given answer stays shown."""
    message = csat_card_message(order)
    if message is None or csat_closed(message.payload or {}):
        return
    score = CsatRating.objects.filter(order=order).values_list("score", flat=True).first()
    update_card(
        message=message,
        payload={
            **csat_card_payload(reference=order.reference, score=score, closed=True),
            "updated_at": timezone.now().isoformat(),
        },
    )
